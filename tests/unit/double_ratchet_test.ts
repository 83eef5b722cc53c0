import assert from "node:assert/strict";
import { prng, shuffle } from "../helpers/seeded.ts";
import { x25519 } from "@noble/curves/ed25519.js";
import {
  endRatchetState,
  MAX_SKIP,
  MAX_SKIPPED_KEYS,
  parseRatchetMessage,
  parseRatchetState,
  ratchetDecrypt,
  ratchetEncrypt,
  ratchetInitAlice,
  ratchetInitBob,
  type RatchetState,
  serializeRatchetState,
} from "../../core/e2e/double_ratchet.ts";
import { skippedKeyId } from "../../core/e2e/ratchet_state.ts";
import { E2eError, type E2eErrorCode } from "../../core/e2e/e2e_errors.ts";
import { LIMITS } from "../../core/protocol/limits.ts";
import { equalBytes, fromUtf8, randomBytes, toBase64Url, utf8 } from "../../core/crypto/bytes.ts";

/** The associated data both sides agree on, e.g. the two devices' identities. */
const AD = utf8("fastchat device 7 of user 1 | device 2 of user 9");

function session(): { alice: RatchetState; bob: RatchetState } {
  const sk = randomBytes(32);
  const bobKeys = x25519.keygen();
  return { alice: ratchetInitAlice(sk, bobKeys.publicKey), bob: ratchetInitBob(sk, bobKeys) };
}

function send(from: RatchetState, text: string): string {
  return ratchetEncrypt(from, utf8(text), AD);
}

function read(to: RatchetState, envelope: string): string {
  return fromUtf8(ratchetDecrypt(to, envelope, AD));
}

function e2e(code: E2eErrorCode) {
  return (e: unknown) => e instanceof E2eError && e.code === code;
}

/** Rewrites fields of an envelope (JSON), keeping the rest. */
function edit(envelope: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ ...JSON.parse(envelope), ...fields });
}

Deno.test("a conversation both ways decrypts across several DH ratchet steps", () => {
  const { alice, bob } = session();
  const keys = new Set<string>();
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 3; i++) {
      const envelope = send(alice, `a${round}.${i}`);
      keys.add(JSON.parse(envelope).dh);
      assert.equal(read(bob, envelope), `a${round}.${i}`);
    }
    for (let i = 0; i < 2; i++) {
      const envelope = send(bob, `b${round}.${i}`);
      keys.add(JSON.parse(envelope).dh);
      assert.equal(read(alice, envelope), `b${round}.${i}`);
    }
  }
  // Each turn of the conversation brought a new ratchet key: 6 rounds, 2 senders.
  assert.equal(keys.size, 12);
  // The header counts messages in the chain and in the previous one.
  const envelope = parseRatchetMessage(send(alice, "last"));
  assert.deepEqual([envelope.header.pn, envelope.header.n], [3, 0]);
});

Deno.test("ratchetEncrypt() on the responder before the first message throws ratchet_not_ready", () => {
  const { alice, bob } = session();
  assert.throws(() => send(bob, "too early"), e2e("ratchet_not_ready"));
  assert.equal(read(bob, send(alice, "hi")), "hi");
  assert.equal(read(alice, send(bob, "now I can")), "now I can");
});

Deno.test("ratchetEncrypt() refuses a message too long for a body and changes nothing", () => {
  const { alice, bob } = session();
  const before = serializeRatchetState(alice);
  assert.throws(
    () => ratchetEncrypt(alice, new Uint8Array(LIMITS.bodyChars), AD),
    e2e("too_large"),
  );
  assert.equal(serializeRatchetState(alice), before);
  const big = randomBytes(100 * 1024);
  const envelope = ratchetEncrypt(alice, big, AD);
  assert.ok(envelope.length <= LIMITS.bodyChars);
  assert.ok(equalBytes(ratchetDecrypt(bob, envelope, AD), big));
});

Deno.test("messages out of order within a chain all decrypt", () => {
  const { alice, bob } = session();
  const sent = [0, 1, 2, 3, 4].map((i) => send(alice, `m${i}`));
  for (const i of [4, 1, 0, 3, 2]) assert.equal(read(bob, sent[i]!), `m${i}`);
  assert.equal(bob.skipped.size, 0);
});

Deno.test("messages out of order across chains all decrypt", () => {
  const { alice, bob } = session();
  const a0 = send(alice, "a0");
  const a1 = send(alice, "a1");
  assert.equal(read(bob, a0), "a0");
  const b0 = send(bob, "b0");
  const b1 = send(bob, "b1");
  assert.equal(read(alice, b1), "b1");
  const a2 = send(alice, "a2");
  const a3 = send(alice, "a3");
  // a3 is in Alice's second chain; reading it first keeps a1 (first chain, pn = 2) and a2.
  assert.equal(read(bob, a3), "a3");
  assert.equal(bob.skipped.size, 2);
  const b2 = send(bob, "b2");
  assert.equal(read(alice, b2), "b2");
  assert.equal(read(bob, a1), "a1");
  assert.equal(read(alice, b0), "b0");
  assert.equal(read(bob, a2), "a2");
  assert.equal(bob.skipped.size, 0);
  assert.equal(alice.skipped.size, 0);
});

Deno.test("a chain may skip MAX_SKIP message keys and no more", () => {
  const { alice, bob } = session();
  const sent = Array.from({ length: MAX_SKIP + 2 }, (_, i) => send(alice, `m${i}`));
  const before = serializeRatchetState(bob);
  assert.throws(() => read(bob, sent[MAX_SKIP + 1]!), e2e("ratchet_too_many_skipped"));
  // The refusal changed nothing.
  assert.equal(serializeRatchetState(bob), before);
  assert.equal(read(bob, sent[MAX_SKIP]!), `m${MAX_SKIP}`);
  assert.equal(bob.skipped.size, MAX_SKIP);
  assert.equal(read(bob, sent[MAX_SKIP + 1]!), `m${MAX_SKIP + 1}`);
  for (const i of shuffle([...Array(MAX_SKIP).keys()], prng(7))) {
    assert.equal(read(bob, sent[i]!), `m${i}`);
  }
  assert.equal(bob.skipped.size, 0);
});

Deno.test("the previous chain may also skip MAX_SKIP keys and no more", () => {
  const { alice, bob } = session();
  assert.equal(read(bob, send(alice, "a0")), "a0");
  assert.equal(read(alice, send(bob, "b0")), "b0");
  // Alice's second chain: Bob reads its first message only, then she moves to a third.
  const second = Array.from({ length: MAX_SKIP + 2 }, (_, i) => send(alice, `a${i + 1}`));
  assert.equal(read(bob, second[0]!), "a1");
  assert.equal(read(alice, send(bob, "b1")), "b1");
  const next = send(alice, "third chain");
  assert.equal(parseRatchetMessage(next).header.pn, MAX_SKIP + 2);
  // Reading it would keep the MAX_SKIP + 1 unread keys of the second chain.
  assert.throws(() => read(bob, next), e2e("ratchet_too_many_skipped"));
  assert.equal(read(bob, second[MAX_SKIP]!), `a${MAX_SKIP + 1}`);
  assert.equal(read(bob, next), "third chain");
});

Deno.test("at most MAX_SKIPPED_KEYS skipped keys are kept, the oldest dropped", () => {
  const { alice, bob } = session();
  const first: string[] = [];
  // Three chains of Alice's, each read only at its last message: 1000 + 1000 + 1 skipped.
  for (const length of [MAX_SKIP + 1, MAX_SKIP + 1, 2]) {
    const chain = Array.from({ length }, (_, i) => send(alice, `m${i}`));
    if (first.length === 0) first.push(...chain);
    assert.equal(read(bob, chain[length - 1]!), `m${length - 1}`);
    assert.equal(read(alice, send(bob, "turn")), "turn");
  }
  assert.equal(bob.skipped.size, MAX_SKIPPED_KEYS);
  assert.throws(() => read(bob, first[0]!), e2e("ratchet_replay"));
  assert.equal(read(bob, first[1]!), "m1");
});

Deno.test("decrypting a message twice throws ratchet_replay, whichever way its key was kept", () => {
  const { alice, bob } = session();
  const a0 = send(alice, "a0");
  const a1 = send(alice, "a1");
  const a2 = send(alice, "a2");
  assert.equal(read(bob, a0), "a0");
  assert.throws(() => read(bob, a0), e2e("ratchet_replay"));
  // A skipped key is deleted once used.
  assert.equal(read(bob, a2), "a2");
  assert.equal(read(bob, a1), "a1");
  assert.throws(() => read(bob, a1), e2e("ratchet_replay"));
  // A message of a chain that the DH ratchet has since replaced.
  assert.equal(read(alice, send(bob, "b0")), "b0");
  assert.equal(read(bob, send(alice, "a3")), "a3");
  assert.throws(() => read(bob, a2), e2e("ratchet_replay"));
  assert.equal(read(alice, send(bob, "still fine")), "still fine");
});

Deno.test("a tampered header or body is refused and changes nothing", () => {
  const { alice, bob } = session();
  assert.equal(read(bob, send(alice, "a0")), "a0");
  assert.equal(read(alice, send(bob, "b0")), "b0");
  const envelope = send(alice, "secret");
  const before = serializeRatchetState(bob);
  const parsed = JSON.parse(envelope);
  const ct: string = parsed.ct;
  const flipped = ct.slice(0, 50) + (ct[50] === "A" ? "B" : "A") + ct.slice(51);
  const cases: [string, E2eErrorCode][] = [
    // pn does not change the key of this message: the binding catches it.
    [edit(envelope, { pn: parsed.pn + 1 }), "ratchet_bad_header"],
    [edit(envelope, { n: 1 }), "ratchet_bad_message"],
    [edit(envelope, { dh: toBase64Url(x25519.keygen().publicKey, false) }), "ratchet_bad_message"],
    [edit(envelope, { ct: flipped }), "ratchet_bad_message"],
    [edit(envelope, { extra: 1 }), "bad_envelope"],
    [edit(envelope, { n: -1 }), "bad_envelope"],
    [edit(envelope, { n: 2 ** 32 }), "bad_envelope"],
    [edit(envelope, { v: 2 }), "bad_envelope"],
    [edit(envelope, { t: "dm" }), "bad_envelope"],
    [edit(envelope, { dh: parsed.dh.slice(0, 42) + "B" }), "bad_envelope"],
    [edit(envelope, { ct: ct.slice(0, -4) + "!!!!" }), "bad_envelope"],
    [edit(envelope, { dh: toBase64Url(new Uint8Array(32), false) }), "ratchet_bad_message"],
    ["not json", "bad_envelope"],
  ];
  for (const [body, code] of cases) {
    assert.throws(() => read(bob, body), e2e(code), `expected ${code} for ${body}`);
    assert.equal(serializeRatchetState(bob), before);
  }
  // Other associated data (another pair of devices) is refused too.
  assert.throws(() => ratchetDecrypt(bob, envelope, utf8("other")), e2e("ratchet_bad_header"));
  assert.equal(read(bob, envelope), "secret");
});

Deno.test("a state serialized mid-conversation continues after parsing, skipped keys included", () => {
  const { alice, bob } = session();
  const held = send(alice, "held back");
  assert.equal(read(bob, send(alice, "a1")), "a1");
  assert.equal(read(alice, send(bob, "b0")), "b0");
  const aliceText = serializeRatchetState(alice);
  const bobText = serializeRatchetState(bob);
  assert.equal(serializeRatchetState(parseRatchetState(bobText)), bobText);
  endRatchetState(alice);
  endRatchetState(bob);
  assert.ok(alice.rk.every((b) => b === 0));
  assert.throws(() => send(alice, "x"), TypeError);
  assert.throws(() => serializeRatchetState(bob), TypeError);
  const alice2 = parseRatchetState(aliceText);
  const bob2 = parseRatchetState(bobText);
  assert.equal(read(bob2, send(alice2, "after restore")), "after restore");
  assert.equal(read(alice2, send(bob2, "both ways")), "both ways");
  assert.equal(read(bob2, held), "held back");
});

Deno.test("parseRatchetState() is strict", () => {
  const { alice, bob } = session();
  const a0 = send(alice, "a0");
  send(alice, "a1");
  read(bob, send(alice, "a2"));
  read(bob, a0);
  const good = JSON.parse(serializeRatchetState(bob));
  const bad: unknown[] = [
    "not json",
    42,
    JSON.stringify([]),
    { ...good, extra: 1 },
    { ...good, v: 2 },
    (({ rk: _, ...rest }) => rest)(good),
    { ...good, rk: good.rk.slice(0, 42) },
    { ...good, rk: good.rk.slice(0, 42) + "B" },
    { ...good, ns: -1 },
    { ...good, nr: 1.5 },
    { ...good, cks: null },
    { ...good, dhr: null },
    { ...good, skipped: [...good.skipped, good.skipped[0]] },
    { ...good, skipped: [{ ...good.skipped[0], extra: 1 }] },
    { ...good, retired: [good.dhr, good.dhr] },
    { ...good, skipped: Array(MAX_SKIPPED_KEYS + 1).fill(good.skipped[0]) },
  ];
  for (const value of bad) {
    const text = typeof value === "string" || typeof value === "number"
      ? value
      : JSON.stringify(value);
    assert.throws(() => parseRatchetState(text), e2e("ratchet_bad_state"), String(text));
  }
  assert.equal(parseRatchetState(JSON.stringify(good)).skipped.size, 1);
});

/**
 * Plays a random conversation: turns of random length, each side reading what it receives
 * in a random order, some messages held back for later. Calls `observe` after every step.
 */
function converse(
  random: () => number,
  turns: number,
  observe: (step: { alice: RatchetState; bob: RatchetState; log: Sent[] }) => void,
): { alice: RatchetState; bob: RatchetState; log: Sent[] } {
  const { alice, bob } = session();
  const log: Sent[] = [];
  const inbox: { alice: Sent[]; bob: Sent[] } = { alice: [], bob: [] };
  const world = { alice, bob, log };
  for (let turn = 0; turn < turns; turn++) {
    const from = turn % 2 === 0 ? "alice" : "bob";
    const to = from === "alice" ? "bob" : "alice";
    // The sender first reads (most of) what it has, in a random order.
    const pending = shuffle(inbox[from], random);
    inbox[from] = [];
    for (const m of pending) {
      // Hold some back for later, once the reader can send (the responder needs one first).
      if (random() < 0.2 && world[from].cks !== undefined) {
        inbox[from].push(m);
        continue;
      }
      assert.equal(read(world[from], m.envelope), m.text);
      m.read = true;
      observe(world);
    }
    const count = 1 + Math.floor(random() * 4);
    for (let i = 0; i < count; i++) {
      const text = `${from} ${turn}.${i}`;
      const sent: Sent = {
        from,
        text,
        envelope: send(world[from], text),
        read: false,
        senderPeer: world[from].dhr?.slice(),
      };
      log.push(sent);
      inbox[to].push(sent);
      observe(world);
    }
  }
  return world;
}

interface Sent {
  from: "alice" | "bob";
  text: string;
  envelope: string;
  read: boolean;
  /** The sender's DHr when it sent: the peer key its sending chain was derived with. */
  senderPeer: Uint8Array | undefined;
}

Deno.test("property: a snapshot of Bob taken after message n cannot decrypt any message before n", () => {
  let checked = 0;
  let excluded = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const random = prng(seed);
    const snapshots: { text: string; before: { m: Sent; read: boolean }[] }[] = [];
    converse(random, 10, ({ bob, log }) => {
      if (random() >= 0.15) return;
      // "Before n": every message of Alice's sent before the last one Bob has read.
      const fromAlice = log.filter((m) => m.from === "alice");
      let last = -1;
      fromAlice.forEach((m, i) => {
        if (m.read) last = i;
      });
      const before = fromAlice.slice(0, last + 1).map((m) => ({ m, read: m.read }));
      snapshots.push({ text: serializeRatchetState(bob), before });
    });
    for (const snapshot of snapshots) {
      const held = parseRatchetState(snapshot.text);
      for (const { m, read: wasRead } of snapshot.before) {
        const { header } = parseRatchetMessage(m.envelope);
        const copy = parseRatchetState(snapshot.text);
        if (!wasRead && held.skipped.has(skippedKeyId(header.dh, header.n))) {
          // Skipped and its key still held: the one exception, and it does decrypt.
          assert.equal(read(copy, m.envelope), m.text);
          excluded++;
          continue;
        }
        assert.throws(
          () => read(copy, m.envelope),
          (e) => e instanceof E2eError,
          `seed ${seed}: a later snapshot decrypted "${m.text}"`,
        );
        checked++;
      }
    }
  }
  assert.ok(checked > 50, `only ${checked} messages were checked`);
  assert.ok(excluded > 0, "no schedule skipped a message, so the exception was never exercised");
});

Deno.test("property: a snapshot of Alice cannot decrypt messages after the next DH step with fresh keys", () => {
  let healed = 0;
  let compromised = 0;
  for (let seed = 100; seed < 112; seed++) {
    const random = prng(seed);
    let snapshot: string | undefined;
    let snapshotAt = 0;
    const { log } = converse(random, 12, ({ alice, log }) => {
      if (snapshot === undefined && log.length > 2 && random() < 0.1) {
        snapshot = serializeRatchetState(alice);
        snapshotAt = log.length;
      }
    });
    if (snapshot === undefined) continue;
    const stolen = parseRatchetState(snapshot);
    const stolenDh = stolen.dhs.publicKey;
    // The attacker reads Bob's messages with a copy of Alice's state, and Alice's with a
    // mirror of her sending chain (as a receiving chain), each in the order they were sent.
    const asAlice = parseRatchetState(snapshot);
    const mirror = _mirror(stolen);
    const after = log.slice(snapshotAt);
    // Alice's keys made after the snapshot: fresh randomness the attacker does not hold.
    const fresh = new Set(
      after.filter((m) => m.from === "alice").map((m) => JSON.parse(m.envelope).dh as string)
        .filter((dh) => dh !== toBase64Url(stolenDh, false)),
    );
    for (const m of after) {
      let opened = false;
      try {
        read(m.from === "bob" ? asAlice : mirror, m.envelope);
        opened = true;
      } catch (e) {
        assert.ok(e instanceof E2eError);
      }
      const dh = JSON.parse(m.envelope).dh as string;
      const isHealed = m.from === "alice"
        ? fresh.has(dh)
        : m.senderPeer !== undefined && fresh.has(toBase64Url(m.senderPeer, false));
      if (isHealed) {
        assert.equal(opened, false, `seed ${seed}: the attacker read "${m.text}" after healing`);
        healed++;
      } else if (opened) {
        compromised++;
      }
    }
    assert.ok(equalBytes(stolen.dhs.publicKey, stolenDh));
  }
  assert.ok(healed > 20, `only ${healed} healed messages were checked`);
  // The attack model is not vacuous: before healing, the snapshot does read messages.
  assert.ok(compromised > 0, "the attacker never read a message, so the test proves nothing");
});

/** An attacker's receiving state that follows the victim's sending chain from a snapshot. */
function _mirror(victim: RatchetState): RatchetState {
  const decoy = x25519.keygen();
  const state = ratchetInitBob(randomBytes(32), decoy);
  if (victim.cks === undefined) return state;
  state.dhr = victim.dhs.publicKey.slice();
  state.ckr = victim.cks.slice();
  state.nr = victim.ns;
  state.cks = randomBytes(32);
  return state;
}
