import assert from "node:assert/strict";
import {
  fromBase64Url,
  fromUtf8,
  generateFernetKey,
  generateIdentityKeyPair,
  importRsaPrivateKey,
  importRsaPublicKey,
  rsaEncrypt,
  sign,
  toBase64Url,
  utf8,
  verify,
} from "../../core/crypto/mod.ts";
import { fernetEncrypt } from "../../core/crypto/fernet.ts";
import { LIMITS } from "../../core/protocol/limits.ts";
import {
  E2E_ERRORS,
  E2eError,
  type E2eErrorCode,
  fernetKeyId,
  FRIEND_KEY_LABEL,
  GROUP_KEY_LABEL,
  openDirect,
  openFriendKey,
  openGroup,
  openGroupKey,
  parseEnvelope,
  parseEnvelopeType,
  sealDirect,
  sealFriendKey,
  sealGroup,
  sealGroupKey,
} from "../../core/e2e/mod.ts";
import { envelopeSignedData } from "../../core/e2e/e2e_envelope.ts";

// ------------------------------------------------------------------------------------------
// Fixtures

const RSA_DIR = new URL("../testdata/rsa/", import.meta.url);
const BOB_RSA_PUBLIC = importRsaPublicKey(
  await Deno.readTextFile(new URL("rsa2048_spki_public.pem", RSA_DIR)),
);
const BOB_RSA_PRIVATE = importRsaPrivateKey(
  await Deno.readTextFile(new URL("rsa2048_pkcs8_private.pem", RSA_DIR)),
);
// Someone else's RSA key: the wrong private key for Bob's envelopes.
const OTHER_RSA_PRIVATE = importRsaPrivateKey(
  await Deno.readTextFile(new URL("rsa1024_pkcs8_private.pem", RSA_DIR)),
);

const ALICE = generateIdentityKeyPair();
const MALLORY = generateIdentityKeyPair();
const ALICE_ID = 1;
const BOB_ID = 2;
const CAROL_ID = 3;
const GROUP_ID = 7;
const OTHER_GROUP_ID = 8;
const NOW = 1_764_000_000_123;

const FRIEND_KEY = generateFernetKey();
const EPOCH1_KEY = generateFernetKey();
const EPOCH2_KEY = generateFernetKey();

/** Asserts that `fn` throws an E2eError with `code` (and a message matching `message`). */
function assertE2e(fn: () => unknown, code: E2eErrorCode, message?: RegExp): E2eError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof E2eError, `expected E2eError(${code}), got ${caught}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

/** Returns `body` with its JSON changed by `edit`. */
function edit(body: string, fn: (o: Record<string, unknown>) => void): string {
  const o = JSON.parse(body) as Record<string, unknown>;
  fn(o);
  return JSON.stringify(o);
}

/** Flips one bit of a base64url field (padded when `padded`), keeping it valid base64. */
function flipField(body: string, field: string, padded = false, at = 10): string {
  return edit(body, (o) => {
    const bytes = fromBase64Url(o[field] as string);
    bytes[at] = bytes[at]! ^ 0x01;
    o[field] = toBase64Url(bytes, padded);
  });
}

/** Signs `fields` as the e2e layer does, for envelopes a malicious sender builds by hand. */
function signAs(
  secret: Uint8Array,
  t: "friend_key" | "dm" | "group_key" | "gm",
  fields: (string | number)[],
): string {
  return toBase64Url(sign(secret, envelopeSignedData(t, fields)), false);
}

const friendCtx = {
  fromId: ALICE_ID,
  toId: BOB_ID,
  recipientRsaPrivate: BOB_RSA_PRIVATE,
  senderIdentityPublic: ALICE.publicKey,
};

function sealFriend(): string {
  return sealFriendKey({
    fromId: ALICE_ID,
    toId: BOB_ID,
    fernetKey: FRIEND_KEY,
    recipientRsaPublic: BOB_RSA_PUBLIC,
    senderIdentitySecret: ALICE.secretKey,
    now: NOW,
  });
}

function keysByKid(kid: string): string | undefined {
  return kid === fernetKeyId(FRIEND_KEY) ? FRIEND_KEY : undefined;
}

const dmCtx = {
  fromId: ALICE_ID,
  toId: BOB_ID,
  keysByKid,
  senderIdentityPublic: ALICE.publicKey,
};

function sealDm(plaintext = "hello bob"): string {
  return sealDirect({
    fromId: ALICE_ID,
    toId: BOB_ID,
    fernetKey: FRIEND_KEY,
    plaintext,
    senderIdentitySecret: ALICE.secretKey,
    now: NOW,
  });
}

const groupKeyCtx = {
  fromId: ALICE_ID,
  toId: BOB_ID,
  recipientRsaPrivate: BOB_RSA_PRIVATE,
  senderIdentityPublic: ALICE.publicKey,
};

function sealGk(epoch = 2, key = EPOCH2_KEY): string {
  return sealGroupKey({
    fromId: ALICE_ID,
    toId: BOB_ID,
    groupId: GROUP_ID,
    epoch,
    fernetKey: key,
    recipientRsaPublic: BOB_RSA_PUBLIC,
    senderIdentitySecret: ALICE.secretKey,
  });
}

const groupKeys = new Map([[1, EPOCH1_KEY], [2, EPOCH2_KEY]]);
const gmCtx = {
  fromId: ALICE_ID,
  groupId: GROUP_ID,
  keyForEpoch: (epoch: number) => groupKeys.get(epoch),
  senderIdentityPublic: ALICE.publicKey,
};

function sealGm(plaintext = "hello group", epoch = 2, key = EPOCH2_KEY): string {
  return sealGroup({
    fromId: ALICE_ID,
    groupId: GROUP_ID,
    epoch,
    fernetKey: key,
    plaintext,
    senderIdentitySecret: ALICE.secretKey,
    now: NOW,
  });
}

// ------------------------------------------------------------------------------------------
// Key IDs and signed data

Deno.test("fernetKeyId is 11 base64url chars of SHA-256(raw key)[0..8]", async () => {
  const key = generateFernetKey();
  const raw = fromBase64Url(key);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw.slice().buffer));
  const kid = fernetKeyId(key);
  assert.equal(kid, toBase64Url(digest.subarray(0, 8), false));
  assert.match(kid, /^[A-Za-z0-9_-]{11}$/);
  assert.notEqual(fernetKeyId(generateFernetKey()), kid);
  assert.throws(() => fernetKeyId("not a key"), RangeError);
  assert.throws(() => fernetKeyId(42 as unknown as string), TypeError);
});

Deno.test("envelopeSignedData is the documented canonical string", () => {
  assert.equal(
    fromUtf8(envelopeSignedData("dm", [1, 2, "kid", "ct"])),
    "fastchat-e2e-v1\ndm\n1\n2\nkid\nct",
  );
  assert.equal(
    fromUtf8(envelopeSignedData("gm", [5, 7, 0, "k", "c"])),
    "fastchat-e2e-v1\ngm\n5\n7\n0\nk\nc",
  );
  assert.throws(() => envelopeSignedData("dm", ["a\nb"]), TypeError);
  assert.throws(() => envelopeSignedData("dm", [1.5]), TypeError);
  assert.throws(() => envelopeSignedData("xx" as "dm", []), TypeError);
});

Deno.test("a dm's signature covers routing IDs and fields in the documented order", () => {
  const body = sealDm();
  const env = JSON.parse(body);
  // The last line is the client message ID (empty when none was given).
  const data = utf8(`fastchat-e2e-v1\ndm\n${ALICE_ID}\n${BOB_ID}\n${env.kid}\n${env.ct}\n`);
  assert.ok(verify(ALICE.publicKey, data, fromBase64Url(env.sig)));
});

// ------------------------------------------------------------------------------------------
// Friend keys

Deno.test("friend_key: round trip", () => {
  const body = sealFriend();
  const env = JSON.parse(body);
  assert.deepEqual(Object.keys(env), ["v", "t", "kid", "wrapped", "ts", "sig"]);
  assert.equal(env.v, 1);
  assert.equal(env.t, "friend_key");
  assert.equal(env.kid, fernetKeyId(FRIEND_KEY));
  assert.equal(env.ts, NOW);
  assert.equal(fromBase64Url(env.wrapped).length, 256);
  assert.equal(env.sig.length, 86);
  assert.equal(parseEnvelopeType(body), "friend_key");
  assert.deepEqual(openFriendKey(body, friendCtx), {
    fernetKey: FRIEND_KEY,
    kid: fernetKeyId(FRIEND_KEY),
    ts: NOW,
  });
});

Deno.test("friend_key: defaults ts to the current time", () => {
  const before = Date.now();
  const body = sealFriendKey({
    fromId: ALICE_ID,
    toId: BOB_ID,
    fernetKey: FRIEND_KEY,
    recipientRsaPublic: BOB_RSA_PUBLIC,
    senderIdentitySecret: ALICE.secretKey,
  });
  const { ts } = openFriendKey(body, friendCtx);
  assert.ok(ts >= before && ts <= Date.now());
});

Deno.test("friend_key: any change to a signed field fails the signature", () => {
  const body = sealFriend();
  const other = fernetKeyId(generateFernetKey());
  const cases: [string, string][] = [
    ["flipped wrapped", flipField(body, "wrapped")],
    ["flipped sig", flipField(body, "sig")],
    ["changed kid", edit(body, (o) => (o.kid = other))],
    ["changed ts", edit(body, (o) => (o.ts = NOW + 1))],
  ];
  for (const [name, tampered] of cases) {
    assert.notEqual(tampered, body, name);
    assertE2e(() => openFriendKey(tampered, friendCtx), "bad_signature");
  }
});

Deno.test("friend_key: re-addressed or re-attributed envelopes fail the signature", () => {
  const body = sealFriend();
  assertE2e(() => openFriendKey(body, { ...friendCtx, toId: CAROL_ID }), "bad_signature");
  assertE2e(() => openFriendKey(body, { ...friendCtx, fromId: CAROL_ID }), "bad_signature");
  assertE2e(
    () => openFriendKey(body, { ...friendCtx, senderIdentityPublic: MALLORY.publicKey }),
    "bad_signature",
  );
});

Deno.test("friend_key: the signature is checked before any RSA decryption", () => {
  const tampered = flipField(sealFriend(), "wrapped");
  // A private key that would make rsaDecrypt throw TypeError if it were ever reached.
  const bogus = {} as typeof BOB_RSA_PRIVATE;
  assertE2e(
    () => openFriendKey(tampered, { ...friendCtx, recipientRsaPrivate: bogus }),
    "bad_signature",
  );
});

Deno.test("friend_key: the wrong recipient private key gives bad_key", () => {
  assertE2e(
    () => openFriendKey(sealFriend(), { ...friendCtx, recipientRsaPrivate: OTHER_RSA_PRIVATE }),
    "bad_key",
    /does not unwrap/,
  );
});

Deno.test("friend_key: a signed key that does not match its kid gives bad_key", () => {
  const key = generateFernetKey();
  const wrapped = toBase64Url(
    rsaEncrypt(BOB_RSA_PUBLIC, utf8(key), "oaep", utf8(FRIEND_KEY_LABEL)),
    false,
  );
  const kid = fernetKeyId(FRIEND_KEY); // not the wrapped key's
  const sig = signAs(ALICE.secretKey, "friend_key", [ALICE_ID, BOB_ID, kid, wrapped, NOW]);
  const body = JSON.stringify({ v: 1, t: "friend_key", kid, wrapped, ts: NOW, sig });
  assertE2e(() => openFriendKey(body, friendCtx), "bad_key", /key ID/);
});

Deno.test("friend_key: a signed wrapped value that is not a Fernet key gives bad_key", () => {
  for (const text of ["not a fernet key", FRIEND_KEY.slice(0, 43) + "A", "\u00ff"]) {
    const wrapped = toBase64Url(
      rsaEncrypt(BOB_RSA_PUBLIC, utf8(text), "oaep", utf8(FRIEND_KEY_LABEL)),
      false,
    );
    const kid = fernetKeyId(FRIEND_KEY);
    const sig = signAs(ALICE.secretKey, "friend_key", [ALICE_ID, BOB_ID, kid, wrapped, NOW]);
    const body = JSON.stringify({ v: 1, t: "friend_key", kid, wrapped, ts: NOW, sig });
    assertE2e(() => openFriendKey(body, friendCtx), "bad_key", /not a Fernet key/);
  }
});

Deno.test("friend_key: a group key's wrapped value cannot pass as a friend key (labels)", () => {
  const gk = JSON.parse(sealGk(2, FRIEND_KEY));
  const sig = signAs(ALICE.secretKey, "friend_key", [
    ALICE_ID,
    BOB_ID,
    gk.kid,
    gk.wrapped,
    NOW,
  ]);
  const body = JSON.stringify({
    v: 1,
    t: "friend_key",
    kid: gk.kid,
    wrapped: gk.wrapped,
    ts: NOW,
    sig,
  });
  assertE2e(() => openFriendKey(body, friendCtx), "bad_key", /does not unwrap/);
});

// ------------------------------------------------------------------------------------------
// Direct messages

Deno.test("dm: round trip of text, including empty and non-ASCII", () => {
  for (const text of ["hello bob", "", 'héllo 👋 \u0000 "quoted" \n new line', "x".repeat(5000)]) {
    const body = sealDm(text);
    const env = JSON.parse(body);
    assert.deepEqual(Object.keys(env), ["v", "t", "kid", "ct", "sig"]);
    assert.equal(env.t, "dm");
    assert.equal(env.kid, fernetKeyId(FRIEND_KEY));
    assert.equal(parseEnvelopeType(body), "dm");
    assert.deepEqual(openDirect(body, dmCtx), {
      kind: "text",
      text,
      ts: NOW,
      kid: fernetKeyId(FRIEND_KEY),
    });
  }
});

Deno.test("dm: the same text seals differently each time (random IV)", () => {
  assert.notEqual(sealDm("same"), sealDm("same"));
});

Deno.test("dm: any change to a signed field fails the signature", () => {
  const body = sealDm();
  const cases: [string, string][] = [
    ["flipped ct", flipField(body, "ct", true, 40)],
    ["flipped ct MAC", flipField(body, "ct", true, 80)],
    ["flipped sig", flipField(body, "sig", false, 0)],
    ["flipped sig S", flipField(body, "sig", false, 40)],
    ["changed kid", edit(body, (o) => (o.kid = fernetKeyId(EPOCH1_KEY)))],
    ["ct of another dm", edit(body, (o) => (o.ct = JSON.parse(sealDm("other")).ct))],
  ];
  for (const [name, tampered] of cases) {
    assert.notEqual(tampered, body, name);
    assertE2e(() => openDirect(tampered, dmCtx), "bad_signature");
  }
});

Deno.test("dm: re-addressed, re-attributed or reflected envelopes fail the signature", () => {
  const body = sealDm();
  assertE2e(() => openDirect(body, { ...dmCtx, toId: CAROL_ID }), "bad_signature");
  assertE2e(() => openDirect(body, { ...dmCtx, fromId: CAROL_ID }), "bad_signature");
  assertE2e(
    () => openDirect(body, { ...dmCtx, fromId: BOB_ID, toId: ALICE_ID }),
    "bad_signature",
  );
  assertE2e(
    () => openDirect(body, { ...dmCtx, senderIdentityPublic: MALLORY.publicKey }),
    "bad_signature",
  );
});

Deno.test("dm: the signature is checked before any key lookup or decryption", () => {
  let lookups = 0;
  const tampered = flipField(sealDm(), "ct", true, 40);
  assertE2e(
    () =>
      openDirect(tampered, {
        ...dmCtx,
        keysByKid: () => {
          lookups++;
          return FRIEND_KEY;
        },
      }),
    "bad_signature",
  );
  assert.equal(lookups, 0);
});

Deno.test("dm: an unknown kid gives no_key; a key with another kid gives bad_key", () => {
  const body = sealDm();
  const err = assertE2e(
    () => openDirect(body, { ...dmCtx, keysByKid: () => undefined }),
    "no_key",
    /Cannot decrypt/,
  );
  assert.equal(err.details.kid, fernetKeyId(FRIEND_KEY));
  assertE2e(
    () => openDirect(body, { ...dmCtx, keysByKid: () => EPOCH1_KEY }),
    "bad_key",
    /key ID/,
  );
});

Deno.test("dm: validly signed but undecryptable or malformed content gives bad_content", () => {
  const kid = fernetKeyId(FRIEND_KEY);
  const build = (ct: string) => {
    const sig = signAs(ALICE.secretKey, "dm", [ALICE_ID, BOB_ID, kid, ct, ""]);
    return JSON.stringify({ v: 1, t: "dm", kid, ct, sig });
  };
  // Encrypted under another key while naming FRIEND_KEY's kid.
  const wrongKey = build(fernetEncrypt(EPOCH1_KEY, utf8('{"text":"x","ts":1}')));
  assertE2e(() => openDirect(wrongKey, dmCtx), "bad_content", /does not decrypt/);
  const inner = [
    "not json",
    "[1]",
    '{"text":"x"}',
    '{"text":1,"ts":1}',
    '{"text":"x","ts":-1}',
    '{"text":"x","ts":1,"extra":true}',
    '{"ts":1}',
    '{"file":{},"data":"","ts":1}',
  ];
  for (const json of inner) {
    const body = build(fernetEncrypt(FRIEND_KEY, utf8(json)));
    assertE2e(() => openDirect(body, dmCtx), "bad_content", /Decrypted message is invalid/);
  }
  const notUtf8 = build(fernetEncrypt(FRIEND_KEY, new Uint8Array([0xff, 0xfe])));
  assertE2e(() => openDirect(notUtf8, dmCtx), "bad_content", /UTF-8/);
});

Deno.test("dm: a text too long for one body is refused with too_large", () => {
  // 140,000 characters of JSON: about 186,700 after base64, below the limit.
  const fits = sealDm("a".repeat(140_000));
  assert.ok(fits.length <= LIMITS.bodyChars);
  assertE2e(() => sealDm("a".repeat(150_000)), "too_large", /send long content as a file/);
});

Deno.test("dm: bad arguments throw TypeError or RangeError", () => {
  const good = {
    fromId: ALICE_ID,
    toId: BOB_ID,
    fernetKey: FRIEND_KEY,
    plaintext: "x",
    senderIdentitySecret: ALICE.secretKey,
  };
  assert.throws(() => sealDirect({ ...good, fromId: 0 }), RangeError);
  assert.throws(() => sealDirect({ ...good, toId: 1.5 }), RangeError);
  assert.throws(() => sealDirect({ ...good, fernetKey: "short" }), RangeError);
  assert.throws(
    () => sealDirect({ ...good, senderIdentitySecret: new Uint8Array(31) }),
    RangeError,
  );
  assert.throws(() => sealDirect({ ...good, now: -1 }), RangeError);
  assert.throws(() => sealDirect({ ...good, plaintext: 5 as unknown as string }), TypeError);
  assert.throws(() => openDirect(sealDm(), { ...dmCtx, toId: -2 }), RangeError);
  assert.throws(
    () => openDirect(sealDm(), { ...dmCtx, keysByKid: null as unknown as typeof keysByKid }),
    TypeError,
  );
  assert.throws(
    () => openDirect(sealDm(), { ...dmCtx, senderIdentityPublic: new Uint8Array(33) }),
    RangeError,
  );
});

// ------------------------------------------------------------------------------------------
// Group keys

Deno.test("group_key: round trip", () => {
  const body = sealGk();
  const env = JSON.parse(body);
  assert.deepEqual(Object.keys(env), ["v", "t", "group", "epoch", "kid", "wrapped", "sig"]);
  assert.equal(env.t, "group_key");
  assert.equal(env.group, GROUP_ID);
  assert.equal(env.epoch, 2);
  assert.equal(parseEnvelopeType(body), "group_key");
  assert.deepEqual(openGroupKey(body, groupKeyCtx), {
    groupId: GROUP_ID,
    epoch: 2,
    fernetKey: EPOCH2_KEY,
    kid: fernetKeyId(EPOCH2_KEY),
  });
  // Epoch 0 is allowed.
  assert.equal(openGroupKey(sealGk(0, EPOCH1_KEY), groupKeyCtx).epoch, 0);
});

Deno.test("group_key: any change to a signed field fails the signature", () => {
  const body = sealGk();
  const cases: [string, string][] = [
    ["flipped wrapped", flipField(body, "wrapped", false, 100)],
    ["flipped sig", flipField(body, "sig")],
    ["changed kid", edit(body, (o) => (o.kid = fernetKeyId(EPOCH1_KEY)))],
    ["changed epoch", edit(body, (o) => (o.epoch = 3))],
    ["changed group", edit(body, (o) => (o.group = OTHER_GROUP_ID))],
  ];
  for (const [name, tampered] of cases) {
    assert.notEqual(tampered, body, name);
    assertE2e(() => openGroupKey(tampered, groupKeyCtx), "bad_signature");
  }
});

Deno.test("group_key: re-addressed envelopes fail the signature", () => {
  const body = sealGk();
  assertE2e(() => openGroupKey(body, { ...groupKeyCtx, toId: CAROL_ID }), "bad_signature");
  assertE2e(() => openGroupKey(body, { ...groupKeyCtx, fromId: CAROL_ID }), "bad_signature");
});

Deno.test("group_key: the wrong recipient private key gives bad_key", () => {
  assertE2e(
    () => openGroupKey(sealGk(), { ...groupKeyCtx, recipientRsaPrivate: OTHER_RSA_PRIVATE }),
    "bad_key",
  );
});

Deno.test("group_key: a friend key's wrapped value cannot pass as a group key (labels)", () => {
  const fk = JSON.parse(sealFriend());
  const fields = [ALICE_ID, BOB_ID, GROUP_ID, 1, fk.kid, fk.wrapped];
  const sig = signAs(ALICE.secretKey, "group_key", fields);
  const body = JSON.stringify({
    v: 1,
    t: "group_key",
    group: GROUP_ID,
    epoch: 1,
    kid: fk.kid,
    wrapped: fk.wrapped,
    sig,
  });
  assertE2e(() => openGroupKey(body, groupKeyCtx), "bad_key");
  assert.equal(GROUP_KEY_LABEL, "fastchat group key");
});

// ------------------------------------------------------------------------------------------
// Group messages

Deno.test("gm: round trip", () => {
  const body = sealGm();
  const env = JSON.parse(body);
  assert.deepEqual(Object.keys(env), ["v", "t", "group", "epoch", "kid", "ct", "sig"]);
  assert.equal(env.group, GROUP_ID);
  assert.equal(env.epoch, 2);
  assert.equal(parseEnvelopeType(body), "gm");
  assert.deepEqual(openGroup(body, gmCtx), {
    kind: "text",
    text: "hello group",
    ts: NOW,
    epoch: 2,
    kid: fernetKeyId(EPOCH2_KEY),
  });
  // Old epochs stay readable for members who hold them.
  const old = openGroup(sealGm("old", 1, EPOCH1_KEY), gmCtx);
  assert.equal(old.kind === "text" && old.text, "old");
  assert.equal(old.epoch, 1);
});

Deno.test("gm: any change to a signed field fails the signature", () => {
  const body = sealGm();
  const cases: [string, string][] = [
    ["flipped ct", flipField(body, "ct", true, 30)],
    ["flipped sig", flipField(body, "sig", false, 63)],
    ["changed kid", edit(body, (o) => (o.kid = fernetKeyId(EPOCH1_KEY)))],
    ["changed epoch", edit(body, (o) => (o.epoch = 1))],
    ["changed group", edit(body, (o) => (o.group = OTHER_GROUP_ID))],
  ];
  for (const [name, tampered] of cases) {
    assert.notEqual(tampered, body, name);
    assertE2e(() => openGroup(tampered, gmCtx), "bad_signature");
  }
});

Deno.test("gm: replayed into another group or re-attributed fails the signature", () => {
  const body = sealGm();
  // Replayed as is into another group the sender is also in.
  assertE2e(() => openGroup(body, { ...gmCtx, groupId: OTHER_GROUP_ID }), "bad_signature");
  // Replayed with the envelope's group rewritten to match.
  const rewritten = edit(body, (o) => (o.group = OTHER_GROUP_ID));
  assertE2e(() => openGroup(rewritten, { ...gmCtx, groupId: OTHER_GROUP_ID }), "bad_signature");
  // Envelope's group changed but delivered in the original group.
  assertE2e(() => openGroup(rewritten, gmCtx), "bad_signature");
  // Attributed to another member.
  assertE2e(() => openGroup(body, { ...gmCtx, fromId: CAROL_ID }), "bad_signature");
});

Deno.test("gm: an envelope naming another group than it arrived in gives bad_signature", () => {
  const kid = fernetKeyId(EPOCH2_KEY);
  const ct = fernetEncrypt(EPOCH2_KEY, utf8('{"text":"x","ts":1}'));
  const sig = signAs(ALICE.secretKey, "gm", [ALICE_ID, GROUP_ID, 2, kid, ct, ""]);
  const body = JSON.stringify({ v: 1, t: "gm", group: OTHER_GROUP_ID, epoch: 2, kid, ct, sig });
  assertE2e(() => openGroup(body, gmCtx), "bad_signature", /names group 8 but arrived in group 7/);
});

Deno.test("gm: a removed member (epoch 1 key only) cannot open an epoch 2 message", () => {
  const removed = { ...gmCtx, keyForEpoch: (e: number) => (e === 1 ? EPOCH1_KEY : undefined) };
  assert.equal(openGroup(sealGm("before", 1, EPOCH1_KEY), removed).epoch, 1);
  const err = assertE2e(
    () => openGroup(sealGm("after removal", 2, EPOCH2_KEY), removed),
    "no_key",
    /^Cannot decrypt: you do not have the key for epoch 2$/,
  );
  assert.deepEqual(err.details, { group: GROUP_ID, epoch: 2, kid: fernetKeyId(EPOCH2_KEY) });
});

Deno.test("gm: a key for the epoch with another kid gives bad_key", () => {
  assertE2e(
    () => openGroup(sealGm(), { ...gmCtx, keyForEpoch: () => EPOCH1_KEY }),
    "bad_key",
    /epoch 2/,
  );
});

Deno.test("gm: the signature is checked before any key lookup", () => {
  let lookups = 0;
  assertE2e(
    () =>
      openGroup(flipField(sealGm(), "ct", true, 30), {
        ...gmCtx,
        keyForEpoch: () => {
          lookups++;
          return EPOCH2_KEY;
        },
      }),
    "bad_signature",
  );
  assert.equal(lookups, 0);
});

Deno.test("gm: bad arguments throw", () => {
  const good = {
    fromId: ALICE_ID,
    groupId: GROUP_ID,
    epoch: 1,
    fernetKey: EPOCH1_KEY,
    plaintext: "x",
    senderIdentitySecret: ALICE.secretKey,
  };
  assert.throws(() => sealGroup({ ...good, groupId: 0 }), RangeError);
  assert.throws(() => sealGroup({ ...good, epoch: -1 }), RangeError);
  assert.throws(() => sealGroup({ ...good, epoch: 0.5 }), RangeError);
  assert.throws(
    () => openGroup(sealGm(), { ...gmCtx, keyForEpoch: 1 as unknown as () => undefined }),
    TypeError,
  );
});

// ------------------------------------------------------------------------------------------
// Envelope validation

Deno.test("malformed envelopes give bad_envelope saying what is wrong", () => {
  const dm = sealDm();
  const gm = sealGm();
  const cases: [string, string, RegExp][] = [
    ["not JSON", "hello", /not valid JSON/],
    ["empty", "", /not valid JSON/],
    ["array", "[1]", /JSON object/],
    ["null", "null", /JSON object/],
    ["no version", edit(dm, (o) => delete o.v), /no version/],
    ["version 2", edit(dm, (o) => (o.v = 2)), /Unsupported envelope version 2/],
    ["version string", edit(dm, (o) => (o.v = "1")), /Unsupported envelope version "1"/],
    ["no type", edit(dm, (o) => delete o.t), /no string type/],
    ["unknown type", edit(dm, (o) => (o.t = "dm2")), /Unknown envelope type "dm2"/],
    ["extra field", edit(dm, (o) => (o.extra = 1)), /Unknown field "extra"/],
    ["missing field", edit(dm, (o) => delete o.ct), /Missing field "ct"/],
    ["kid too short", edit(dm, (o) => (o.kid = "abc")), /Field "kid"/],
    ["kid bad alphabet", edit(dm, (o) => (o.kid = "abcdefghij+")), /Field "kid"/],
    ["kid non-canonical", edit(dm, (o) => (o.kid = "AAAAAAAAAAB")), /Field "kid"/],
    ["kid number", edit(dm, (o) => (o.kid = 12345678901)), /Field "kid"/],
    ["sig padded", edit(dm, (o) => (o.sig = (o.sig as string) + "==")), /Field "sig"/],
    ["sig short", edit(dm, (o) => (o.sig = (o.sig as string).slice(1))), /Field "sig"/],
    ["ct not padded", edit(dm, (o) => (o.ct = (o.ct as string).slice(1))), /Field "ct"/],
    ["ct bad alphabet", edit(dm, (o) => (o.ct = "+".repeat(100))), /Field "ct"/],
    ["ct short", edit(dm, (o) => (o.ct = "A".repeat(96))), /Field "ct"/],
    ["epoch negative", edit(gm, (o) => (o.epoch = -1)), /Field "epoch"/],
    ["epoch fraction", edit(gm, (o) => (o.epoch = 1.5)), /Field "epoch"/],
    ["epoch string", edit(gm, (o) => (o.epoch = "2")), /Field "epoch"/],
    ["group zero", edit(gm, (o) => (o.group = 0)), /Field "group"/],
    ["group unsafe", edit(gm, (o) => (o.group = 2 ** 53)), /Field "group"/],
    ["too long", " ".repeat(LIMITS.bodyChars + 1), /too long/],
  ];
  for (const [name, body, message] of cases) {
    const err = assertE2e(() => openDirect(body, dmCtx), "bad_envelope");
    if (name.startsWith("epoch") || name.startsWith("group")) {
      assertE2e(() => openGroup(body, gmCtx), "bad_envelope", message);
    } else {
      assert.match(err.message, message, name);
    }
  }
  const fk = sealFriend();
  assertE2e(
    () => openFriendKey(edit(fk, (o) => (o.ts = -5)), friendCtx),
    "bad_envelope",
    /Field "ts"/,
  );
  assertE2e(
    () => openFriendKey(edit(fk, (o) => (o.wrapped = "AAAA")), friendCtx),
    "bad_envelope",
    /Field "wrapped"/,
  );
  assertE2e(
    () => openDirect(42 as unknown as string, dmCtx),
    "bad_envelope",
    /must be a string/,
  );
});

Deno.test("an envelope of another type gives bad_envelope naming both", () => {
  assertE2e(() => openDirect(sealGm(), dmCtx), "bad_envelope", /Expected a "dm".*got "gm"/);
  assertE2e(() => openGroup(sealDm(), gmCtx), "bad_envelope", /Expected a "gm".*got "dm"/);
  assertE2e(() => openFriendKey(sealGk(), friendCtx), "bad_envelope", /"friend_key"/);
  assertE2e(() => openGroupKey(sealFriend(), groupKeyCtx), "bad_envelope", /"group_key"/);
});

Deno.test("parseEnvelopeType and parseEnvelope", () => {
  assert.equal(parseEnvelopeType("not json"), null);
  assert.equal(parseEnvelopeType("[]"), null);
  assert.equal(parseEnvelopeType('{"v":2,"t":"dm"}'), null);
  assert.equal(parseEnvelopeType('{"v":1,"t":"nope"}'), null);
  assert.equal(parseEnvelopeType('{"v":1,"t":"dm"}'), "dm");
  assert.equal(parseEnvelopeType(42 as unknown as string), null);
  const gm = parseEnvelope(sealGm());
  assert.equal(gm.t, "gm");
  assert.equal(gm.t === "gm" && gm.epoch, 2);
  assertE2e(() => parseEnvelope('{"v":1,"t":"gm"}'), "bad_envelope", /Missing field/);
});

Deno.test("E2E_ERRORS lists every code and E2eError carries one", () => {
  assert.deepEqual(Object.keys(E2E_ERRORS).sort(), [
    "bad_content",
    "bad_device_list",
    "bad_envelope",
    "bad_file",
    "bad_handover",
    "bad_handshake",
    "bad_key",
    "bad_link_code",
    "bad_prekeys",
    "bad_signature",
    "device_list_fork",
    "device_list_gap",
    "device_list_rollback",
    "device_name_taken",
    "last_device",
    "link_failed",
    "no_key",
    "prekey_used",
    "ratchet_bad_header",
    "ratchet_bad_message",
    "ratchet_bad_state",
    "ratchet_not_ready",
    "ratchet_replay",
    "ratchet_too_many_skipped",
    "sender_key_bad_distribution",
    "sender_key_bad_message",
    "sender_key_bad_signature",
    "sender_key_bad_state",
    "sender_key_replay",
    "sender_key_too_far",
    "sender_key_too_old",
    "sender_key_unknown",
    "too_large",
    "too_many_devices",
    "unknown_prekey",
  ]);
  const err = new E2eError("no_key", "Cannot decrypt", { epoch: 3 });
  assert.ok(err instanceof Error);
  assert.equal(err.name, "E2eError");
  assert.equal(err.code, "no_key");
  assert.equal(err.details.epoch, 3);
  assert.deepEqual(new E2eError("bad_key", "x").details, {});
});

Deno.test("openDirect() and openGroup() reject an envelope replayed under another client message ID", () => {
  const dm = sealDirect({
    fromId: ALICE_ID,
    toId: BOB_ID,
    fernetKey: FRIEND_KEY,
    plaintext: "pay bob 10",
    senderIdentitySecret: ALICE.secretKey,
    clientMsgId: "m-1",
  });
  const ctx = {
    fromId: ALICE_ID,
    toId: BOB_ID,
    keysByKid: () => FRIEND_KEY,
    senderIdentityPublic: ALICE.publicKey,
  };
  const opened = openDirect(dm, { ...ctx, clientMsgId: "m-1" });
  assert.equal(opened.kind === "text" && opened.text, "pay bob 10");
  for (const other of ["m-2", ""]) {
    assert.throws(
      () => openDirect(dm, { ...ctx, clientMsgId: other }),
      (e: unknown) => e instanceof E2eError && e.code === "bad_signature",
    );
  }
  const gm = sealGroup({
    fromId: ALICE_ID,
    groupId: GROUP_ID,
    epoch: 1,
    fernetKey: EPOCH1_KEY,
    plaintext: "meet at 8",
    senderIdentitySecret: ALICE.secretKey,
    clientMsgId: "g-1",
  });
  const gctx = {
    fromId: ALICE_ID,
    groupId: GROUP_ID,
    keyForEpoch: () => EPOCH1_KEY,
    senderIdentityPublic: ALICE.publicKey,
  };
  assert.equal(openGroup(gm, { ...gctx, clientMsgId: "g-1" }).epoch, 1);
  assert.throws(
    () => openGroup(gm, { ...gctx, clientMsgId: "g-2" }),
    (e: unknown) => e instanceof E2eError && e.code === "bad_signature",
  );
});
