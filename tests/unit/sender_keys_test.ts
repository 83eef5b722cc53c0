import assert from "node:assert/strict";
import { prng, shuffle } from "../helpers/seeded.ts";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  acceptSenderKey,
  endSenderKey,
  newSenderKey,
  parseSenderKeyDistribution,
  parseSenderKeyMessage,
  parseSenderKeyState,
  SENDER_KEY_FERNET_INFO,
  SENDER_KEY_MAX_AGE_MS,
  SENDER_KEY_MAX_MESSAGES,
  SENDER_KEY_MAX_SKIP,
  SENDER_KEY_MAX_SKIPPED_KEYS,
  senderKeyDecrypt,
  senderKeyDistribution,
  senderKeyEncrypt,
  senderKeyNeedsReplacing,
  type SenderKeyState,
  serializeSenderKeyState,
} from "../../core/e2e/mod.ts";
import { E2eError, type E2eErrorCode } from "../../core/e2e/e2e_errors.ts";
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from "../../core/crypto/bytes.ts";
import { fernetDecrypt } from "../../core/crypto/fernet.ts";

const GROUP = 42;
const AD = utf8("fastchat group 42");
const T0 = 1_800_000_000_000;

function e2e(code: E2eErrorCode) {
  return (e: unknown) => e instanceof E2eError && e.code === code;
}

function edit(json: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ ...JSON.parse(json), ...fields });
}

function sender(now = T0) {
  return newSenderKey({ groupId: GROUP, user: 1, device: 7, now });
}

function send(state: SenderKeyState, text: string): string {
  return senderKeyEncrypt(state, utf8(text), AD);
}

function read(state: SenderKeyState, body: string): string {
  return fromUtf8(senderKeyDecrypt(state, body, AD));
}

/** Every 32-byte secret in a stored state: what an attacker holding a snapshot has. */
function secretsOf(snapshot: string): Uint8Array[] {
  const o = JSON.parse(snapshot);
  const out = [fromBase64Url(o.chain_key)];
  for (const s of o.skipped) out.push(fromBase64Url(s.mk));
  return out;
}

/**
 * True if any message key an attacker can derive from `secrets` (each as a message key, or as a
 * chain key followed for `steps` steps) opens the message's token.
 */
function attackerOpens(secrets: Uint8Array[], body: string, steps: number): boolean {
  const { ct } = parseSenderKeyMessage(body);
  const tryKey = (mk: Uint8Array) => {
    const key = toBase64Url(hkdf(sha256, mk, new Uint8Array(32), utf8(SENDER_KEY_FERNET_INFO), 32));
    try {
      fernetDecrypt(key, ct);
      return true;
    } catch {
      return false;
    }
  };
  for (const secret of secrets) {
    if (tryKey(secret)) return true;
    let ck = secret;
    for (let i = 0; i < steps; i++) {
      if (tryKey(hmac(sha256, ck, Uint8Array.of(1)))) return true;
      ck = hmac(sha256, ck, Uint8Array.of(2));
    }
  }
  return false;
}

Deno.test("a sender and three receivers read group messages in order and out of order", () => {
  const { state, distribution } = sender();
  const receivers = [0, 1, 2].map(() =>
    acceptSenderKey(distribution, { group: GROUP, user: 1, device: 7 }, T0)
  );
  const bodies = Array.from({ length: 12 }, (_, i) => send(state, `message ${i}`));
  // Receiver 0 in order, 1 in reverse, 2 shuffled.
  for (const [i, body] of bodies.entries()) assert.equal(read(receivers[0]!, body), `message ${i}`);
  for (let i = bodies.length - 1; i >= 0; i--) {
    assert.equal(read(receivers[1]!, bodies[i]!), `message ${i}`);
  }
  const random = prng(7);
  for (const i of shuffle([...bodies.keys()], random)) {
    assert.equal(read(receivers[2]!, bodies[i]!), `message ${i}`);
  }
  for (const r of receivers) assert.equal(r.skipped.size, 0);
  assert.equal(state.sent, 12);
  const envelope = JSON.parse(bodies[3]!);
  assert.deepEqual(Object.keys(envelope), ["v", "t", "group", "kid", "n", "ct", "sig"]);
  assert.equal(envelope.t, "sk");
  assert.equal(envelope.n, 3);
});

Deno.test("newSenderKey() makes the documented distribution message and acceptSenderKey() checks its sender", () => {
  const { state, distribution } = sender();
  const d = parseSenderKeyDistribution(distribution);
  assert.deepEqual(Object.keys(JSON.parse(distribution)), [
    "v",
    "t",
    "group",
    "user",
    "device",
    "kid",
    "iteration",
    "chain_key",
    "sign",
  ]);
  assert.equal(d.t, "sender_key");
  assert.equal(d.iteration, 0);
  assert.equal(fromBase64Url(d.kid).length, 8);
  assert.equal(d.chain_key, toBase64Url(state.chainKey, false));
  assert.throws(
    () => acceptSenderKey(distribution, { device: 8 }),
    e2e("sender_key_bad_distribution"),
  );
  assert.throws(
    () => acceptSenderKey(distribution, { group: 43 }),
    e2e("sender_key_bad_distribution"),
  );
  for (
    const bad of [
      "not json",
      edit(distribution, { v: 2 }),
      edit(distribution, { t: "sk" }),
      edit(distribution, { extra: 1 }),
      edit(distribution, { chain_key: d.chain_key.slice(1) }),
      edit(distribution, { chain_key: d.chain_key + "=" }),
      edit(distribution, { kid: "AAAA" }),
      edit(distribution, { iteration: -1 }),
      edit(distribution, { user: 0 }),
      edit(distribution, { sign: null }),
      JSON.stringify({ ...JSON.parse(distribution), iteration: undefined }),
    ]
  ) {
    assert.throws(() => acceptSenderKey(bad), e2e("sender_key_bad_distribution"), bad);
  }
  assert.throws(() => newSenderKey({ groupId: 0, user: 1, device: 1 }), RangeError);
});

Deno.test("senderKeyDecrypt() refuses a tampered ciphertext, iteration, group, associated data or signature", () => {
  const { state, distribution } = sender();
  const receiver = acceptSenderKey(distribution);
  send(state, "zero");
  const body = send(state, "one");
  const m = JSON.parse(body);
  const flipped = m.ct.slice(0, 50) + (m.ct[50] === "A" ? "B" : "A") + m.ct.slice(51);
  assert.throws(() => read(receiver, edit(body, { ct: flipped })), e2e("sender_key_bad_signature"));
  assert.throws(() => read(receiver, edit(body, { n: 0 })), e2e("sender_key_bad_signature"));
  assert.throws(() => read(receiver, edit(body, { n: 2 })), e2e("sender_key_bad_signature"));
  const sig = fromBase64Url(m.sig);
  sig[0]! ^= 1;
  assert.throws(
    () => read(receiver, edit(body, { sig: toBase64Url(sig, false) })),
    e2e("sender_key_bad_signature"),
  );
  assert.throws(
    () => senderKeyDecrypt(receiver, body, utf8("fastchat group 43")),
    e2e("sender_key_bad_signature"),
  );
  assert.throws(() => read(receiver, edit(body, { group: 43 })), e2e("sender_key_unknown"));
  assert.throws(
    () => read(receiver, edit(body, { kid: "AAAAAAAAAAA" })),
    e2e("sender_key_unknown"),
  );
  assert.throws(() => read(receiver, edit(body, { extra: 1 })), e2e("bad_envelope"));
  assert.throws(() => read(receiver, "{"), e2e("bad_envelope"));
  // Nothing above changed the receiver: the message still opens.
  assert.equal(read(receiver, body), "one");
});

Deno.test("a member holding the chain key cannot forge another member's messages", () => {
  const { state, distribution } = sender();
  const insider = acceptSenderKey(distribution);
  const victim = acceptSenderKey(distribution);
  // The insider makes its own chain and signing key and signs with those: the victim checks
  // the sender key's public key from the distribution, so the message is refused.
  const forger = parseSenderKeyState(
    edit(serializeSenderKeyState(newSenderKey({ groupId: GROUP, user: 1, device: 7 }).state), {
      kid: insider.kid,
      chain_key: toBase64Url(insider.chainKey, false),
    }),
  );
  const forged = send(forger, "pay the insider");
  assert.throws(() => read(victim, forged), e2e("sender_key_bad_signature"));
  assert.equal(read(victim, send(state, "real")), "real");
});

Deno.test("senderKeyDecrypt() refuses a replay: the message key is gone", () => {
  const { state, distribution } = sender();
  const receiver = acceptSenderKey(distribution);
  const a = send(state, "a");
  const b = send(state, "b");
  const c = send(state, "c");
  assert.equal(read(receiver, c), "c");
  assert.equal(read(receiver, a), "a");
  assert.throws(() => read(receiver, a), e2e("sender_key_replay"));
  assert.throws(() => read(receiver, c), e2e("sender_key_replay"));
  assert.equal(read(receiver, b), "b");
  assert.throws(() => read(receiver, b), e2e("sender_key_replay"));
  assert.equal(receiver.skipped.size, 0);
});

/** Advances our own sender key `k` messages without sending them (HMAC(ck, 0x02) per step). */
function advance(state: SenderKeyState, k: number): void {
  for (let i = 0; i < k; i++) state.chainKey = hmac(sha256, state.chainKey, Uint8Array.of(2));
  state.iteration += k;
  state.sent += k;
}

Deno.test("senderKeyDecrypt() refuses a message too far ahead and keeps at most the documented skipped keys", () => {
  const { state, distribution } = sender();
  const receiver = acceptSenderKey(distribution);
  const first = send(state, "m0");
  advance(state, SENDER_KEY_MAX_SKIP + 1);
  const tooFar = send(state, "too far");
  assert.throws(() => read(receiver, tooFar), e2e("sender_key_too_far"));
  assert.equal(receiver.iteration, 0);
  // Exactly MAX_SKIP ahead is fine; three such jumps keep at most MAX_SKIPPED_KEYS keys.
  const jumper = parseSenderKeyState(serializeSenderKeyState(sender().state));
  const fresh = acceptSenderKey(senderKeyDistribution(jumper));
  // Message 0 from a copy, so the first jump skips its key too.
  const m0 = send(parseSenderKeyState(serializeSenderKeyState(jumper)), "m0");
  for (let j = 1; j <= 3; j++) {
    advance(jumper, SENDER_KEY_MAX_SKIP);
    assert.equal(read(fresh, send(jumper, `jump ${j}`)), `jump ${j}`);
  }
  assert.equal(fresh.iteration, 3 * (SENDER_KEY_MAX_SKIP + 1));
  assert.equal(fresh.skipped.size, SENDER_KEY_MAX_SKIPPED_KEYS);
  assert.throws(() => read(fresh, m0), e2e("sender_key_replay"));
  assert.equal(read(receiver, first), "m0");
});

Deno.test("a receiver that joined at iteration k cannot read messages before k", () => {
  const { state, distribution } = sender();
  const early = acceptSenderKey(distribution);
  const before = [send(state, "m0"), send(state, "m1"), send(state, "m2")];
  const late = acceptSenderKey(senderKeyDistribution(state));
  assert.equal(late.first, 3);
  const after = send(state, "m3");
  for (const body of before) assert.throws(() => read(late, body), e2e("sender_key_too_old"));
  assert.equal(read(late, after), "m3");
  assert.equal(read(early, before[1]!), "m1");
  assert.equal(read(early, after), "m3");
  // The late receiver's secrets cannot open the earlier messages either.
  const secrets = secretsOf(serializeSenderKeyState(late));
  for (const body of before) assert.equal(attackerOpens(secrets, body, 5), false);
});

Deno.test("senderKeyNeedsReplacing() says so after 100 messages or 7 days", () => {
  const { state } = sender(T0);
  assert.equal(SENDER_KEY_MAX_MESSAGES, 100);
  assert.equal(SENDER_KEY_MAX_AGE_MS, 7 * 24 * 60 * 60 * 1000);
  for (let i = 0; i < SENDER_KEY_MAX_MESSAGES - 1; i++) send(state, "x");
  assert.equal(senderKeyNeedsReplacing(state, T0 + 1000), false);
  send(state, "the 100th");
  assert.equal(senderKeyNeedsReplacing(state, T0 + 1000), true);
  const young = sender(T0).state;
  assert.equal(senderKeyNeedsReplacing(young, T0 + SENDER_KEY_MAX_AGE_MS - 1), false);
  assert.equal(senderKeyNeedsReplacing(young, T0 + SENDER_KEY_MAX_AGE_MS), true);
  const received = acceptSenderKey(sender().distribution);
  assert.throws(() => senderKeyNeedsReplacing(received, T0), TypeError);
  assert.throws(() => senderKeyEncrypt(received, utf8("x"), AD), TypeError);
  assert.throws(() => senderKeyDecrypt(young, send(young, "x"), AD), TypeError);
});

Deno.test("serializeSenderKeyState() and parseSenderKeyState() round-trip, strictly", () => {
  const { state, distribution } = sender();
  const receiver = acceptSenderKey(distribution, {}, T0);
  const bodies = [send(state, "a"), send(state, "b"), send(state, "c")];
  assert.equal(read(receiver, bodies[2]!), "c");
  const ownCopy = parseSenderKeyState(serializeSenderKeyState(state));
  const copy = parseSenderKeyState(serializeSenderKeyState(receiver));
  assert.equal(serializeSenderKeyState(copy), serializeSenderKeyState(receiver));
  assert.equal(read(copy, bodies[0]!), "a");
  assert.equal(read(copy, send(ownCopy, "d")), "d");
  const stored = serializeSenderKeyState(receiver);
  const ownStored = serializeSenderKeyState(state);
  for (
    const bad of [
      "[]",
      edit(stored, { v: 2 }),
      edit(stored, { extra: 1 }),
      edit(stored, { own: true }),
      edit(stored, { sent: 1 }),
      edit(stored, { first: 4 }),
      edit(stored, { skipped: [{ n: 5, mk: JSON.parse(stored).chain_key }] }),
      edit(stored, { skipped: [...JSON.parse(stored).skipped, JSON.parse(stored).skipped[0]] }),
      edit(stored, { chain_key: "abc" }),
      edit(ownStored, { sign_secret: JSON.parse(stored).chain_key }),
      edit(ownStored, { own: false }),
      edit(ownStored, { sent: 0 }),
    ]
  ) {
    assert.throws(() => parseSenderKeyState(bad), e2e("sender_key_bad_state"), bad);
  }
});

Deno.test("endSenderKey() zeroes the state's secrets and it can no longer be used", () => {
  const { state, distribution } = sender();
  const receiver = acceptSenderKey(distribution);
  const body = send(state, "a");
  send(state, "b");
  read(receiver, send(state, "c"));
  const chainKey = receiver.chainKey;
  const signSecret = state.signSecret!;
  endSenderKey(receiver);
  endSenderKey(state);
  endSenderKey(state);
  assert.ok(chainKey.every((b) => b === 0));
  assert.ok(signSecret.every((b) => b === 0));
  assert.equal(receiver.skipped.size, 0);
  assert.throws(() => read(receiver, body), TypeError);
  assert.throws(() => send(state, "d"), TypeError);
  assert.throws(() => serializeSenderKeyState(state), TypeError);
});

Deno.test("property: a receiver's snapshot after message n cannot decrypt the messages before n it read", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const random = prng(seed);
    const { state, distribution } = sender();
    const receiver = acceptSenderKey(distribution);
    const count = 5 + Math.floor(random() * 20);
    const bodies = Array.from({ length: count }, (_, i) => send(state, `m${i}`));
    // Deliver a random subset in random order; the rest stay unread (their keys kept).
    const delivered = shuffle([...bodies.keys()], random).filter(() => random() < 0.7);
    for (const i of delivered) assert.equal(read(receiver, bodies[i]!), `m${i}`);
    const snapshot = serializeSenderKeyState(receiver);
    const secrets = secretsOf(snapshot);
    // The attacker's derivation is the documented one: the state before reading opens all.
    const before = secretsOf(serializeSenderKeyState(acceptSenderKey(distribution)));
    assert.equal(attackerOpens(before, bodies[count - 1]!, count), true);
    for (const i of delivered) {
      const copy = parseSenderKeyState(snapshot);
      assert.throws(() => read(copy, bodies[i]!), e2e("sender_key_replay"), `seed ${seed}`);
      assert.equal(attackerOpens(secrets, bodies[i]!, count), false, `seed ${seed}, message ${i}`);
    }
    for (const i of bodies.keys()) {
      if (!delivered.includes(i)) {
        assert.equal(read(parseSenderKeyState(snapshot), bodies[i]!), `m${i}`);
      }
    }
  }
});

Deno.test("property: after the sender replaces its key, old state snapshots (even the sender's own) cannot decrypt under the new key", () => {
  for (let seed = 1; seed <= 10; seed++) {
    const random = prng(seed);
    const old = sender();
    const receiver = acceptSenderKey(old.distribution);
    const oldCount = 1 + Math.floor(random() * 10);
    for (let i = 0; i < oldCount; i++) read(receiver, send(old.state, `old ${i}`));
    const oldSnapshots = [serializeSenderKeyState(old.state), serializeSenderKeyState(receiver)];
    const fresh = sender();
    assert.notEqual(fresh.state.kid, old.state.kid);
    const newReceiver = acceptSenderKey(fresh.distribution);
    const bodies = Array.from(
      { length: 1 + Math.floor(random() * 10) },
      (_, i) => send(fresh.state, `new ${i}`),
    );
    for (const snapshot of oldSnapshots) {
      const secrets = secretsOf(snapshot);
      for (const body of bodies) {
        assert.equal(attackerOpens(secrets, body, 50), false, `seed ${seed}`);
        const asReceiver = parseSenderKeyState(
          edit(snapshot, { own: false, sign_secret: null, sent: 0, first: 0 }),
        );
        assert.throws(() => read(asReceiver, body), e2e("sender_key_unknown"));
        // Even relabelled with the new key's public ID and signing key, the old chain does not
        // lead to the new message keys.
        const relabelled = parseSenderKeyState(
          edit(snapshot, {
            own: false,
            sign_secret: null,
            sent: 0,
            first: 0,
            kid: fresh.state.kid,
            sign: toBase64Url(fresh.state.signPublic, false),
          }),
        );
        relabelled.iteration = 0;
        assert.throws(() => read(relabelled, body), e2e("sender_key_bad_message"), `seed ${seed}`);
      }
    }
    for (const [i, body] of bodies.entries()) assert.equal(read(newReceiver, body), `new ${i}`);
  }
});
