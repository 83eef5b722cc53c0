import assert from "node:assert/strict";
import { KeyWatch, ownKeysMatch } from "../../core/client/engine/key_watch.ts";
import { RequestError } from "../../core/client/engine/errors.ts";
import { generateIdentityKeyPair, toBase64Url } from "../../core/crypto/mod.ts";
import type { UserFrame } from "../../core/protocol/mod.ts";
import { eventLog } from "../helpers/client_fakes.ts";
import { FakeClock } from "../helpers/fake_clock.ts";

const RSA_DIR = new URL("../testdata/rsa/", import.meta.url);
const RSA_PUBLIC = Deno.readTextFileSync(new URL("rsa2048_spki_public.pem", RSA_DIR));
const RSA_PUBLIC_PKCS1 = Deno.readTextFileSync(new URL("rsa2048_pkcs1_public.pem", RSA_DIR));
const OTHER_PUBLIC = Deno.readTextFileSync(new URL("rsa1024_spki_public.pem", RSA_DIR));
const IDENTITY = toBase64Url(generateIdentityKeyPair().publicKey, false);
const OWN = { rsaPublicKey: RSA_PUBLIC, identityKey: IDENTITY };

function _user(over: Partial<UserFrame> = {}): UserFrame {
  return {
    type: "user",
    ref: 1,
    user_id: 1,
    username: "alice",
    rsa_public_key: RSA_PUBLIC,
    identity_key: IDENTITY,
    online: true,
    ...over,
  };
}

/** A watch whose directory answers with `published()`; counts friend refreshes. */
function _watch(published: () => UserFrame, intervalMs = 0) {
  const log = eventLog();
  const clock = new FakeClock();
  const state = { refreshes: 0, lookups: 0, connected: true };
  const watch = new KeyWatch({
    ks: { userId: 1, username: "alice" },
    own: OWN,
    friends: {
      lookup: () => {
        state.lookups++;
        return Promise.resolve(published());
      },
      refreshKeys: () => {
        state.refreshes++;
        return Promise.resolve();
      },
    },
    link: {
      get connected() {
        return state.connected;
      },
    },
    emit: log.emit,
    intervalMs,
    clock,
  });
  return { watch, events: log.events, state, clock };
}

Deno.test("ownKeysMatch() compares the keys in normal form, and the user", () => {
  assert.equal(ownKeysMatch(1, OWN, _user()), true);
  assert.equal(ownKeysMatch(1, OWN, _user({ rsa_public_key: RSA_PUBLIC_PKCS1 })), true);
  assert.equal(ownKeysMatch(1, OWN, _user({ identity_key: `${IDENTITY}=` })), true);
  assert.equal(ownKeysMatch(1, OWN, _user({ rsa_public_key: OTHER_PUBLIC })), false);
  assert.equal(
    ownKeysMatch(1, OWN, _user({ identity_key: toBase64Url(new Uint8Array(32), false) })),
    false,
  );
  assert.equal(ownKeysMatch(1, OWN, _user({ user_id: 2 })), false);
  assert.equal(ownKeysMatch(1, OWN, _user({ identity_key: "not a key" })), false);
});

Deno.test("KeyWatch.check() warns loudly once per different published key, then re-arms", async () => {
  let published = _user({ rsa_public_key: OTHER_PUBLIC });
  const t = _watch(() => published);
  await t.watch.check();
  await t.watch.check();
  const warnings = t.events.filter((e) => e.event === "own_keys_changed");
  assert.equal(warnings.length, 1, "the same keys are reported once");
  const w = warnings[0]!;
  assert.ok(w.event === "own_keys_changed");
  assert.equal(w.user, "alice");
  assert.match(w.message, /WARNING: the server publishes keys for you \(alice\)/);
  assert.equal(t.state.refreshes, 2, "contacts' keys are checked each time too");
  // Back to the right keys, then wrong again: reported again.
  published = _user();
  await t.watch.check();
  published = _user({ rsa_public_key: OTHER_PUBLIC });
  await t.watch.check();
  assert.equal(t.events.filter((e) => e.event === "own_keys_changed").length, 2);
});

Deno.test("KeyWatch.check() says nothing when the directory cannot answer", async () => {
  const log = eventLog();
  let refreshed = false;
  const watch = new KeyWatch({
    ks: { userId: 1, username: "alice" },
    own: OWN,
    friends: {
      lookup: () => Promise.reject(new RequestError("not_found", "No such user")),
      refreshKeys: () => {
        refreshed = true;
        return Promise.resolve();
      },
    },
    link: { connected: true },
    emit: log.emit,
  });
  await watch.check();
  assert.deepEqual(log.events, []);
  assert.equal(refreshed, true);
});

Deno.test("KeyWatch.start() checks periodically while connected, and stop() ends it", async () => {
  const t = _watch(() => _user(), 10);
  t.watch.start();
  try {
    await t.clock.advance(9);
    assert.equal(t.state.refreshes, 0, "not before the first interval");
    await t.clock.advance(21);
    assert.equal(t.state.refreshes, 3, "one check per interval");
    t.state.connected = false;
    await t.clock.advance(50);
    assert.equal(t.state.refreshes, 3, "no checks while offline");
  } finally {
    t.watch.stop();
  }
  t.state.connected = true;
  await t.clock.advance(50);
  assert.equal(t.state.refreshes, 3, "none after stop()");
  assert.equal(t.clock.pending, 0, "stop() leaves no timer");
  assert.deepEqual(t.events, []);
});

Deno.test("KeyWatch with an interval of 0 checks only when asked", async () => {
  const t = _watch(() => _user(), 0);
  t.watch.start();
  assert.equal(t.clock.pending, 0, "no timer");
  await t.clock.advance(60_000);
  assert.equal(t.state.lookups, 0);
  t.watch.stop();
});
