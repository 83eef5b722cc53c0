/**
 * The session handshake (core/e2e/pqxdh.ts, core/e2e/prekeys.ts; issue 22): both sides derive
 * the same SK, every signature and prekey ID is checked, one-time prekeys are used once, and
 * SK depends on every one of its secrets (X25519, ML-KEM-768 and RSA), so breaking one
 * primitive is not enough. The classical part is also checked against python3-x3dh in
 * tests/x3dh_interop_test.ts.
 */

import assert from "node:assert/strict";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import {
  concat,
  fromBase64Url,
  generateIdentityKeyPair,
  importRsaPrivateKey,
  importRsaPublicKey,
  randomBytes,
  rsaDecrypt,
  sign,
  toBase64Url,
  utf8,
} from "../../core/crypto/mod.ts";
import { E2eError, type E2eErrorCode } from "../../core/e2e/e2e_errors.ts";
import {
  makePrekeys,
  MAX_ONE_TIME_PREKEYS,
  parsePrekeyBundle,
  parsePrekeySecrets,
  prekeySignedBytes,
  serializePrekeyBundle,
  serializePrekeySecrets,
  verifyPrekeyBundle,
} from "../../core/e2e/prekeys.ts";
import {
  acceptSession,
  deriveSessionKey,
  type InitialMessage,
  initiateSession,
  parseInitialMessage,
  PQXDH_INFO,
  PQXDH_RSA_LABEL,
  serializeInitialMessage,
  sessionAssociatedData,
  sessionIdentity,
} from "../../core/e2e/pqxdh.ts";

const _rsa = (name: string) =>
  Deno.readTextFileSync(new URL(`../testdata/rsa/${name}`, import.meta.url));
// Bob's device RSA key: the published RSA-2048 test pair (these tests are not about RSA).
const BOB_RSA_PUBLIC = importRsaPublicKey(_rsa("rsa2048_spki_public.pem"));
const BOB_RSA_PRIVATE = importRsaPrivateKey(_rsa("rsa2048_pkcs8_private.pem"));
const OTHER_RSA_PUBLIC = importRsaPublicKey(_rsa("rsa1024_spki_public.pem"));

// The tests below edit parsed wire JSON freely, field by field.
// deno-lint-ignore no-explicit-any
type _Json = Record<string, any>;

function _devices(opts: { opks?: number; pqopks?: number } = {}) {
  const aliceSign = generateIdentityKeyPair();
  const bobSign = generateIdentityKeyPair();
  const alice = makePrekeys(aliceSign.secretKey, { user: 1, device: 1, opks: 1 });
  const bob = makePrekeys(bobSign.secretKey, {
    user: 2,
    device: 3,
    opks: opts.opks ?? 3,
    pqopks: opts.pqopks ?? 0,
  });
  return { aliceSign, bobSign, alice, bob };
}

function _expectCode(fn: () => unknown, code: E2eErrorCode): E2eError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof E2eError, `expected an E2eError, got ${err}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  throw new assert.AssertionError({
    message: `expected an E2eError "${code}", nothing was thrown`,
  });
}

function _handshake(d: ReturnType<typeof _devices>, opkId?: number | null, pqId?: number) {
  const bundle = verifyPrekeyBundle(
    parsePrekeyBundle(serializePrekeyBundle(d.bob.bundle)),
    d.bobSign.publicKey,
  );
  return initiateSession({
    myIdentity: sessionIdentity(d.alice.secrets),
    bundle,
    opkId,
    pqId,
    recipientRsaPublicKey: BOB_RSA_PUBLIC,
  });
}

function _accept(
  d: ReturnType<typeof _devices>,
  initialMessage: InitialMessage | string,
  secrets = d.bob.secrets,
) {
  return acceptSession({
    mySecrets: secrets,
    initialMessage,
    senderIdentity: { user: 1, device: 1, signingPublicKey: d.aliceSign.publicKey },
    rsaPrivateKey: BOB_RSA_PRIVATE,
  });
}

function _tamper(message: InitialMessage, field: keyof InitialMessage): string {
  const bytes = fromBase64Url(message[field] as string);
  bytes[5]! ^= 0x01;
  return serializeInitialMessage({ ...message, [field]: toBase64Url(bytes, false) });
}

Deno.test("initiateSession() and acceptSession() derive the same SK and AD with a one-time prekey", () => {
  const d = _devices();
  const a = _handshake(d);
  assert.deepStrictEqual(a.initialMessage.opk_id, d.bob.bundle.opks[0]!.id);
  const b = _accept(d, serializeInitialMessage(a.initialMessage));
  assert.deepStrictEqual(a.sk.length, 32);
  assert.deepStrictEqual(b.sk, a.sk);
  assert.deepStrictEqual(b.ad, a.ad);
  assert.deepStrictEqual(b.usedOpkId, d.bob.bundle.opks[0]!.id);
  assert.deepStrictEqual(b.usedPqId, d.bob.bundle.pqspk.id);
  // The initiator's first ratchet key is the responder's signed prekey.
  assert.deepStrictEqual(a.theirSignedPrekey, b.mySignedPrekey.publicKey);
  assert.deepStrictEqual(a.theirSignedPrekey, fromBase64Url(d.bob.bundle.spk.key));
});

Deno.test("A session without a one-time prekey (the last resort) derives the same SK", () => {
  const d = _devices({ opks: 0 });
  const a = _handshake(d);
  assert.deepStrictEqual(a.initialMessage.opk_id, null);
  const b = _accept(d, a.initialMessage);
  assert.deepStrictEqual(b.sk, a.sk);
  assert.deepStrictEqual(b.usedOpkId, null);
  // The last resort may be used again: nothing was deleted.
  assert.deepStrictEqual(b.secrets.opks.length, 0);
  assert.deepStrictEqual(_accept(d, _handshake(d).initialMessage, b.secrets).usedOpkId, null);
});

Deno.test("A one-time ML-KEM prekey is used once, the signed one stays", () => {
  const d = _devices({ pqopks: 2 });
  const pqopk = d.bob.bundle.pqopks![0]!.id;
  const a = _handshake(d);
  assert.deepStrictEqual(a.initialMessage.pqpk_id, pqopk);
  const b = _accept(d, a.initialMessage);
  assert.deepStrictEqual(b.sk, a.sk);
  assert.deepStrictEqual(b.secrets.pqopks.map((p) => p.id), [d.bob.bundle.pqopks![1]!.id]);
  _expectCode(
    () => _accept(d, _handshake(d, null, pqopk).initialMessage, b.secrets),
    "prekey_used",
  );
  const last = _handshake(d, null, d.bob.bundle.pqspk.id);
  assert.deepStrictEqual(_accept(d, last.initialMessage, b.secrets).sk, last.sk);
});

Deno.test("AD is Encode(IK_A) || Encode(IK_B) || the two devices' (user, device) IDs", () => {
  const d = _devices();
  const a = _handshake(d);
  const ikA = fromBase64Url(d.alice.bundle.ik);
  const ikB = fromBase64Url(d.bob.bundle.ik);
  const ids = new Uint8Array(24);
  const view = new DataView(ids.buffer);
  view.setBigUint64(0, 1n);
  view.setUint32(8, 1);
  view.setBigUint64(12, 2n);
  view.setUint32(20, 3);
  const expected = concat(new Uint8Array([5]), ikA, new Uint8Array([5]), ikB, ids);
  assert.deepStrictEqual(a.ad, expected);
  assert.deepStrictEqual(
    sessionAssociatedData({ user: 1, device: 1, ik: ikA }, { user: 2, device: 3, ik: ikB }),
    expected,
  );
});

Deno.test("A one-time prekey is used once: a replayed initial message is refused as prekey_used", () => {
  const d = _devices();
  const a = _handshake(d);
  const b = _accept(d, a.initialMessage);
  assert.deepStrictEqual(
    b.secrets.opks.map((p) => p.id),
    d.bob.secrets.opks.slice(1).map((p) => p.id),
  );
  _expectCode(() => _accept(d, a.initialMessage, b.secrets), "prekey_used");
  // The secrets survive their keystore round trip without the used prekey.
  const stored = parsePrekeySecrets(serializePrekeySecrets(b.secrets));
  _expectCode(() => _accept(d, a.initialMessage, stored), "prekey_used");
});

Deno.test("acceptSession() refuses prekey IDs this device never made", () => {
  const d = _devices();
  const a = _handshake(d).initialMessage;
  const next = d.bob.secrets.next_id;
  _expectCode(() => _accept(d, { ...a, opk_id: next }), "unknown_prekey");
  _expectCode(() => _accept(d, { ...a, spk_id: next + 7 }), "unknown_prekey");
  _expectCode(() => _accept(d, { ...a, pqpk_id: next }), "unknown_prekey");
  // An ID of another kind is not a prekey of this kind.
  _expectCode(() => _accept(d, { ...a, spk_id: d.bob.bundle.opks[1]!.id }), "unknown_prekey");
});

Deno.test("verifyPrekeyBundle() refuses a forged or altered signature", () => {
  const d = _devices({ pqopks: 1 });
  const mallory = generateIdentityKeyPair();
  _expectCode(() => verifyPrekeyBundle(d.bob.bundle, mallory.publicKey), "bad_prekeys");
  const json = JSON.parse(serializePrekeyBundle(d.bob.bundle));
  const fresh = x25519.keygen().publicKey;
  // Each signed key swapped for another: the old signature no longer verifies.
  for (
    const change of [
      (b: _Json) => b.ik = toBase64Url(fresh, false),
      (b: _Json) => b.spk.key = toBase64Url(fresh, false),
      (b: _Json) => b.spk.id += 1000,
      (b: _Json) => b.pqspk.sig = b.spk.sig,
      (b: _Json) => b.pqopks[0].sig = b.pqspk.sig,
      (b: _Json) => b.device = 4,
      (b: _Json) => b.user = 9,
    ]
  ) {
    const altered = structuredClone(json);
    change(altered);
    const bundle = parsePrekeyBundle(JSON.stringify(altered));
    _expectCode(() => verifyPrekeyBundle(bundle, d.bobSign.publicKey), "bad_prekeys");
  }
  // An unverified bundle is never used.
  assert.throws(
    () =>
      initiateSession({
        myIdentity: sessionIdentity(d.alice.secrets),
        bundle: parsePrekeyBundle(serializePrekeyBundle(d.bob.bundle)),
        recipientRsaPublicKey: BOB_RSA_PUBLIC,
      }),
    TypeError,
  );
});

Deno.test("A signature over one kind of prekey does not pass for another kind (domain separation)", () => {
  const bytes = fromBase64Url(_devices().bob.bundle.spk.key);
  const spk = prekeySignedBytes("spk", 2, 3, 5, bytes);
  assert.notDeepStrictEqual(spk, prekeySignedBytes("pqopk", 2, 3, 5, bytes));
  assert.notDeepStrictEqual(spk, prekeySignedBytes("spk", 2, 4, 5, bytes));
  const ids = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 5]);
  assert.deepStrictEqual(
    spk,
    concat(utf8("fastchat-prekey-v1\0spk\0"), ids, bytes),
  );
});

Deno.test("parsePrekeyBundle() is strict", () => {
  const good = JSON.parse(serializePrekeyBundle(_devices().bob.bundle));
  const bad: [string, (b: _Json) => unknown][] = [
    ["extra field", (b) => b.extra = 1],
    ["missing field", (b) => delete b.iksig],
    ["wrong version", (b) => b.v = 2],
    ["wrong type", (b) => b.t = "prekey"],
    ["short key", (b) => b.ik = b.ik.slice(0, 42)],
    ["padded key", (b) => b.ik = b.ik + "="],
    ["non-canonical key", (b) => b.ik = b.ik.slice(0, 42) + "B"],
    ["KEM key of the wrong size", (b) => b.pqspk.key = b.spk.key],
    ["ID zero", (b) => b.spk.id = 0],
    ["ID too large", (b) => b.opks[0].id = 2 ** 32],
    ["duplicate IDs", (b) => b.opks[1].id = b.opks[0].id],
    ["extra field in a prekey", (b) => b.opks[0].sig = b.spk.sig],
    ["too many one-time prekeys", (b) => b.opks = Array(MAX_ONE_TIME_PREKEYS + 1).fill(b.opks[0])],
    ["user as a string", (b) => b.user = "2"],
  ];
  for (const [name, change] of bad) {
    const altered = structuredClone(good);
    change(altered);
    const err = _expectCode(() => parsePrekeyBundle(JSON.stringify(altered)), "bad_prekeys");
    assert.ok(err.message.length > 0, name);
  }
  _expectCode(() => parsePrekeyBundle("{"), "bad_prekeys");
  _expectCode(() => parsePrekeyBundle("[]"), "bad_prekeys");
});

Deno.test("parseInitialMessage() is strict", () => {
  const d = _devices();
  const good = _handshake(d).initialMessage;
  assert.deepStrictEqual(parseInitialMessage(serializeInitialMessage(good)), good);
  const bad: Record<string, unknown>[] = [
    { ...good, extra: 1 },
    { ...good, v: 2 },
    { ...good, t: "x3dh" },
    { ...good, opk_id: 0 },
    { ...good, opk_id: undefined },
    { ...good, kem_ct: good.ek },
    { ...good, rsa_ct: good.ek },
    { ...good, ik: good.ik + "=" },
  ];
  for (const m of bad) {
    _expectCode(() => parseInitialMessage(JSON.stringify(m)), "bad_handshake");
  }
});

Deno.test("A swapped identity key is refused; one re-signed by another device is refused too", () => {
  const d = _devices();
  const a = _handshake(d).initialMessage;
  const mallory = makePrekeys(generateIdentityKeyPair().secretKey, { user: 1, device: 1, opks: 0 });
  _expectCode(
    () => _accept(d, { ...a, ik: mallory.bundle.ik }),
    "bad_handshake",
  );
  _expectCode(
    () => _accept(d, { ...a, ik: mallory.bundle.ik, iksig: mallory.bundle.iksig }),
    "bad_handshake",
  );
  // The identity key of a device given as another device of the same user.
  _expectCode(
    () =>
      acceptSession({
        mySecrets: d.bob.secrets,
        initialMessage: a,
        senderIdentity: { user: 1, device: 2, signingPublicKey: d.aliceSign.publicKey },
        rsaPrivateKey: BOB_RSA_PRIVATE,
      }),
    "bad_handshake",
  );
});

Deno.test("A tampered ek or kem_ct gives another SK; a tampered rsa_ct does not open", () => {
  const d = _devices();
  const a = _handshake(d);
  assert.notDeepStrictEqual(_accept(d, _tamper(a.initialMessage, "ek")).sk, a.sk);
  // ML-KEM rejects implicitly: decapsulation "succeeds" with another secret.
  assert.notDeepStrictEqual(_accept(d, _tamper(a.initialMessage, "kem_ct")).sk, a.sk);
  _expectCode(() => _accept(d, _tamper(a.initialMessage, "rsa_ct")), "bad_handshake");
  // R wrapped to another device's RSA key does not open either.
  const bundle = verifyPrekeyBundle(d.bob.bundle, d.bobSign.publicKey);
  const wrongRsa = initiateSession({
    myIdentity: sessionIdentity(d.alice.secrets),
    bundle,
    recipientRsaPublicKey: OTHER_RSA_PUBLIC,
  });
  _expectCode(() => _accept(d, wrongRsa.initialMessage), "bad_handshake");
});

Deno.test("Two handshakes to the same bundle give different SKs (fresh ephemeral key, SS and R)", () => {
  const d = _devices({ opks: 0 });
  assert.notDeepStrictEqual(_handshake(d).sk, _handshake(d).sk);
});

Deno.test("deriveSessionKey() is HKDF-SHA-256(0^32, F || DH1..DH4 || SS || R, PQXDH_INFO)", () => {
  const dh = [randomBytes(32), randomBytes(32), randomBytes(32), randomBytes(32)];
  const ss = randomBytes(32);
  const r = randomBytes(32);
  const ikm = concat(new Uint8Array(32).fill(0xff), ...dh, ss, r);
  assert.deepStrictEqual(
    deriveSessionKey({ dh, ss, r }),
    hkdf(sha256, ikm, new Uint8Array(32), utf8(PQXDH_INFO), 32),
  );
  assert.deepStrictEqual(PQXDH_INFO, "fastchat-pqxdh-v1 X25519 ML-KEM-768 RSA-OAEP-2048 SHA-256");
});

Deno.test("Property: replacing any one secret (a DH output, SS or R) changes SK, so breaking one primitive is not enough", () => {
  for (let round = 0; round < 20; round++) {
    const dh = Array.from({ length: round % 2 === 0 ? 4 : 3 }, () => randomBytes(32));
    const ss = randomBytes(32);
    const r = randomBytes(32);
    const sk = deriveSessionKey({ dh, ss, r });
    // An attacker who broke X25519 knows every DH output but not SS or R, and so on.
    for (let i = 0; i < dh.length; i++) {
      const guess = dh.map((x, j) => j === i ? randomBytes(32) : x);
      assert.notDeepStrictEqual(deriveSessionKey({ dh: guess, ss, r }), sk, `DH${i + 1}`);
    }
    assert.notDeepStrictEqual(deriveSessionKey({ dh, ss: randomBytes(32), r }), sk, "SS");
    assert.notDeepStrictEqual(deriveSessionKey({ dh, ss, r: randomBytes(32) }), sk, "R");
    // Dropping DH4 (claiming no one-time prekey) is not the same key either.
    if (dh.length === 4) {
      assert.notDeepStrictEqual(deriveSessionKey({ dh: dh.slice(0, 3), ss, r }), sk);
    }
  }
});

Deno.test("Property: in a real handshake, an attacker who broke two of X25519, ML-KEM and RSA still lacks SK", () => {
  const d = _devices();
  const a = _handshake(d);
  const msg = a.initialMessage;
  // Rebuild every secret from Bob's keys, as an attacker who broke all three primitives could.
  const bobIk = fromBase64Url(d.bob.secrets.ik);
  const spk = fromBase64Url(d.bob.secrets.spk.priv);
  const opk = fromBase64Url(d.bob.secrets.opks[0]!.priv);
  const ikA = fromBase64Url(msg.ik);
  const ek = fromBase64Url(msg.ek);
  const dh = [
    x25519.getSharedSecret(spk, ikA),
    x25519.getSharedSecret(bobIk, ek),
    x25519.getSharedSecret(spk, ek),
    x25519.getSharedSecret(opk, ek),
  ];
  const kemSecret = ml_kem768.keygen(fromBase64Url(d.bob.secrets.pqspk.seed)).secretKey;
  const ss = ml_kem768.decapsulate(fromBase64Url(msg.kem_ct), kemSecret);
  const r = rsaDecrypt(BOB_RSA_PRIVATE, fromBase64Url(msg.rsa_ct), "oaep", utf8(PQXDH_RSA_LABEL));
  assert.deepStrictEqual(deriveSessionKey({ dh, ss, r }), a.sk);
  // Missing any one of the three, the rest do not give SK.
  const otherDh = dh.map(() => randomBytes(32));
  assert.notDeepStrictEqual(deriveSessionKey({ dh: otherDh, ss, r }), a.sk, "X25519 not broken");
  assert.notDeepStrictEqual(
    deriveSessionKey({ dh, ss: randomBytes(32), r }),
    a.sk,
    "ML-KEM not broken",
  );
  assert.notDeepStrictEqual(
    deriveSessionKey({ dh, ss, r: randomBytes(32) }),
    a.sk,
    "RSA not broken",
  );
});

Deno.test("makePrekeys() keeps the identity key it is given and continues the ID counter", () => {
  const sign = generateIdentityKeyPair();
  const first = makePrekeys(sign.secretKey, { user: 5, device: 2, opks: 2 });
  const identity = sessionIdentity(first.secrets).ik;
  const next = makePrekeys(sign.secretKey, {
    user: 5,
    device: 2,
    opks: 2,
    identity,
    firstId: first.secrets.next_id,
  });
  assert.deepStrictEqual(next.bundle.ik, first.bundle.ik);
  assert.deepStrictEqual(next.bundle.spk.id, first.secrets.next_id);
  verifyPrekeyBundle(next.bundle, sign.publicKey);
  assert.throws(() => makePrekeys(sign.secretKey, { user: 5, device: 2, opks: 101 }), RangeError);
});

Deno.test("A low-order X25519 key is refused: an ek of zero, or a signed bundle's prekey", () => {
  const d = _devices();
  const a = _handshake(d).initialMessage;
  const zero = toBase64Url(new Uint8Array(32), false);
  _expectCode(() => _accept(d, { ...a, ek: zero }), "bad_handshake");
  // A device that signs a low-order prekey (a malicious or broken one) is refused at use.
  const json = JSON.parse(serializePrekeyBundle(d.bob.bundle));
  const bytes = new Uint8Array(32);
  json.spk.key = zero;
  json.spk.sig = toBase64Url(
    sign(d.bobSign.secretKey, prekeySignedBytes("spk", 2, 3, json.spk.id, bytes)),
    false,
  );
  const bundle = verifyPrekeyBundle(parsePrekeyBundle(JSON.stringify(json)), d.bobSign.publicKey);
  _expectCode(
    () =>
      initiateSession({
        myIdentity: sessionIdentity(d.alice.secrets),
        bundle,
        recipientRsaPublicKey: BOB_RSA_PUBLIC,
      }),
    "bad_prekeys",
  );
});

Deno.test("parsePrekeySecrets() round-trips and is strict", () => {
  const { bob } = _devices({ pqopks: 1 });
  const text = serializePrekeySecrets(bob.secrets);
  assert.deepStrictEqual(parsePrekeySecrets(text), bob.secrets);
  const good = JSON.parse(text);
  const bad: ((s: _Json) => unknown)[] = [
    (s) => s.extra = 1,
    (s) => delete s.next_id,
    (s) => s.next_id = s.spk.id,
    (s) => s.opks[0].id = s.spk.id,
    (s) => s.pqspk.seed = s.spk.priv,
    (s) => s.t = "prekeys",
  ];
  for (const change of bad) {
    const altered = structuredClone(good);
    change(altered);
    _expectCode(() => parsePrekeySecrets(JSON.stringify(altered)), "bad_prekeys");
  }
});
