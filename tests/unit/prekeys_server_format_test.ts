/**
 * Prekeys as the server keeps them (`core/e2e/prekeys.ts`): a bundle split into its text
 * without one-time prekeys and each one-time prekey on its own, put back together from a
 * fetch, still verifying; and refills of one-time prekeys with fresh IDs.
 */

import assert from "node:assert/strict";
import { generateIdentityKeyPair } from "../../core/crypto/mod.ts";
import {
  addOneTimePrekeys,
  E2eError,
  joinBundleFromServer,
  makePrekeys,
  parsePrekeySecrets,
  serializePrekeySecrets,
  splitBundleForServer,
  verifyPrekeyBundle,
} from "../../core/e2e/mod.ts";

function _made(pqopks = 0) {
  const sign = generateIdentityKeyPair();
  return { sign, ...makePrekeys(sign.secretKey, { user: 7, device: 2, opks: 3, pqopks }) };
}

Deno.test("splitBundleForServer() keeps the bundle without one-time prekeys and each of them apart", () => {
  const { bundle } = _made(1);
  const split = splitBundleForServer(bundle);
  const kept = JSON.parse(split.bundle);
  assert.deepEqual(kept.opks, []);
  assert.equal("pqopks" in kept, false);
  assert.equal(kept.spk.id, bundle.spk.id);
  assert.deepEqual(split.oneTime.map((t) => JSON.parse(t)), [
    ...bundle.opks.map((p) => ({ kind: "opk", ...p })),
    ...bundle.pqopks!.map((p) => ({ kind: "pqopk", ...p })),
  ]);
});

Deno.test("joinBundleFromServer() puts back a bundle with one one-time prekey of either kind, or none, and it verifies", () => {
  const { bundle, sign } = _made(1);
  const split = splitBundleForServer(bundle);
  const withOpk = verifyPrekeyBundle(
    joinBundleFromServer(split.bundle, split.oneTime[1]!),
    sign.publicKey,
  );
  assert.deepEqual(withOpk.opks, [bundle.opks[1]]);
  assert.equal(withOpk.pqopks, undefined);
  const withPq = verifyPrekeyBundle(
    joinBundleFromServer(split.bundle, split.oneTime[3]!),
    sign.publicKey,
  );
  assert.deepEqual(withPq.opks, []);
  assert.deepEqual(withPq.pqopks, bundle.pqopks);
  const none = verifyPrekeyBundle(joinBundleFromServer(split.bundle, null), sign.publicKey);
  assert.deepEqual(none.opks, []);
});

Deno.test("joinBundleFromServer() refuses malformed or misplaced one-time prekeys", () => {
  const { bundle } = _made();
  const split = splitBundleForServer(bundle);
  const opk = JSON.parse(split.oneTime[0]!);
  const bad = [
    [split.bundle, JSON.stringify({ ...opk, kind: "spk" })],
    [split.bundle, JSON.stringify({ ...opk, extra: 1 })],
    [split.bundle, JSON.stringify({ ...opk, key: "AAAA" })],
    [split.bundle, JSON.stringify({ ...opk, id: bundle.spk.id })], // clashes with the spk's ID
    [split.bundle, "not json"],
    [JSON.stringify(bundle), null], // the server's bundle carries no one-time prekeys
  ] as const;
  for (const [b, one] of bad) {
    assert.throws(
      () => joinBundleFromServer(b, one),
      (e) => e instanceof E2eError && e.code === "bad_prekeys",
      `${one}`,
    );
  }
});

Deno.test("addOneTimePrekeys() adds one-time prekeys with fresh IDs and keeps the rest", () => {
  const { secrets, sign } = _made();
  const added = addOneTimePrekeys(sign.secretKey, secrets, 5);
  assert.deepEqual(added.oneTime.map((p) => p.id), [6, 7, 8, 9, 10]);
  assert.equal(added.secrets.next_id, 11);
  assert.deepEqual(added.secrets.opks.slice(0, 3), secrets.opks);
  assert.deepEqual(added.secrets.opks.slice(3).map((p) => p.id), [6, 7, 8, 9, 10]);
  assert.deepEqual(
    { ...added.secrets, opks: [], next_id: 0 },
    { ...secrets, opks: [], next_id: 0 },
  );
  // The secrets round-trip through the keystore's text.
  assert.deepEqual(parsePrekeySecrets(serializePrekeySecrets(added.secrets)), added.secrets);
  assert.throws(
    () => addOneTimePrekeys(generateIdentityKeyPair().secretKey, secrets, 5),
    RangeError,
    "another device's signing key",
  );
  assert.throws(() => addOneTimePrekeys(sign.secretKey, secrets, 101), RangeError);
});
