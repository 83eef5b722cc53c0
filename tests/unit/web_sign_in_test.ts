/**
 * The page's sign-in state (web/sign_in.ts): progress shows only while signing in, and
 * signing out leaves nothing of the session behind.
 */

import assert from "node:assert/strict";
import {
  busyText,
  errorText,
  signedOut,
  signInReducer,
  type SignInState,
} from "../../web/sign_in.ts";

const _release = () => {};

function _signedIn(): SignInState<string> {
  let s = signInReducer(signedOut<string>(), { type: "start", busy: "Unlocking your keystore" });
  s = signInReducer(s, { type: "signed_in", session: "alice's session", release: _release });
  return s;
}

Deno.test("signInReducer() shows progress while signing in", () => {
  let s = signInReducer(signedOut<string>(), { type: "start", busy: "Generating your keys" });
  assert.equal(busyText(s), "Generating your keys");
  s = signInReducer(s, { type: "progress", busy: "Connecting (attempt 1)" });
  assert.equal(busyText(s), "Connecting (attempt 1)");
  assert.equal(errorText(s), null);
});

Deno.test("signInReducer() ignores a session's progress once signed in", () => {
  const s = _signedIn();
  const after = signInReducer(s, { type: "progress", busy: "Sending photo.bin (204800 bytes)" });
  assert.equal(after, s);
  assert.equal(busyText(after), null);
});

Deno.test("signInReducer() signed_out returns a fresh form, with no progress or error", () => {
  let s = _signedIn();
  s = signInReducer(s, { type: "progress", busy: "Sending photo.bin (204800 bytes)" });
  s = signInReducer(s, { type: "signed_out" });
  assert.deepEqual(s, { phase: "out", error: null });
  assert.equal(busyText(s), null);
  assert.equal(errorText(s), null);
});

Deno.test("signInReducer() failed shows the error and ends the progress", () => {
  let s = signInReducer(signedOut<string>(), { type: "start", busy: "Unlocking your keystore" });
  s = signInReducer(s, { type: "failed", error: "Wrong password for alice; try again." });
  assert.equal(busyText(s), null);
  assert.equal(errorText(s), "Wrong password for alice; try again.");
  s = signInReducer(s, { type: "start", busy: "Unlocking your keystore" });
  assert.equal(errorText(s), null, "a new attempt clears the old error");
});

Deno.test("signInReducer() keeps a running session on a late start or failure", () => {
  const s = _signedIn();
  assert.equal(signInReducer(s, { type: "start", busy: "x" }), s);
  assert.equal(signInReducer(s, { type: "failed", error: "x" }), s);
});
