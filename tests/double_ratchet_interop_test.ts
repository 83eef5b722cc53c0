/**
 * Live interop of core/e2e/double_ratchet.ts with an independent implementation: Debian's
 * python3-doubleratchet 1.0.3, configured with FastChat's parameters in
 * tests/python/double_ratchet_peer.py (X25519; KDF_RK = HKDF-SHA-256 with info
 * "fastchat-ratchet-v1 root"; KDF_CK = HMAC-SHA-256 with 0x01 / 0x02; the AEAD replaced by the
 * Fernet step with the header binding; MAX_SKIP 1000; 2000 skipped keys kept). Both are given
 * the same shared secret and Bob's initial ratchet key pair; the session is started by either
 * side, and messages go both ways, in and out of order.
 *
 * Every parameter of ours is expressible there. What the library does differently, and is
 * therefore not tested across the two:
 * - Its initiator must encrypt the first message in the same call that creates the session
 *   (`encrypt_initial_message`); ours creates the state first. Same result on the wire.
 * - When a new ratchet key says the previous chain had more than MAX_SKIP unread messages,
 *   it warns, skips none of their keys and carries on; ours refuses the message
 *   (`ratchet_too_many_skipped`), as Signal's specification does. Within one chain both refuse.
 * - It has no list of retired chains: a replayed message from a replaced chain fails there as
 *   an authentication failure, here as `ratchet_replay`. Both refuse it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { x25519 } from "@noble/curves/ed25519.js";
import {
  MAX_SKIP,
  ratchetDecrypt,
  ratchetEncrypt,
  ratchetInitAlice,
  ratchetInitBob,
  type RatchetState,
} from "../core/e2e/double_ratchet.ts";
import { E2eError } from "../core/e2e/e2e_errors.ts";
import { fromBase64Url, fromUtf8, randomBytes, toBase64Url, utf8 } from "../core/crypto/bytes.ts";
import { type PythonPeer, startPythonPeer } from "./helpers/python_peer.ts";

const AD = utf8("fastchat device 7 of user 1 | device 2 of user 9");
const b64 = (bytes: Uint8Array) => toBase64Url(bytes, false);

interface Answer {
  envelope?: string;
  plaintext?: string;
  error?: string;
}

/** Our side and the Python side of one session. */
class Pair {
  constructor(readonly ours: RatchetState, readonly python: PythonPeer) {}

  send(text: string): string {
    return ratchetEncrypt(this.ours, utf8(text), AD);
  }

  read(envelope: string): string {
    return fromUtf8(ratchetDecrypt(this.ours, envelope, AD));
  }

  async pythonSend(text: string): Promise<string> {
    const answer = await this.python.request<Answer>({
      op: "encrypt",
      ad: b64(AD),
      plaintext: b64(utf8(text)),
    });
    return answer.envelope!;
  }

  async pythonRead(envelope: string): Promise<string> {
    const answer = await this.python.request<Answer>({ op: "decrypt", ad: b64(AD), envelope });
    if (answer.error !== undefined) throw new Error(`Python refused the message: ${answer.error}`);
    return fromUtf8(fromBase64Url(answer.plaintext!));
  }
}

/** A session where our side is Alice (the initiator) and Python is Bob. */
async function oursFirst(): Promise<Pair> {
  const sk = randomBytes(32);
  const bob = x25519.keygen();
  const ours = ratchetInitAlice(sk, bob.publicKey);
  const python = startPythonPeer("double_ratchet_peer.py");
  const pair = new Pair(ours, python);
  const first = pair.send("hello from Deno");
  const answer = await python.request<Answer>({
    op: "init_bob",
    sk: b64(sk),
    bob_priv: b64(bob.secretKey),
    ad: b64(AD),
    envelope: first,
  });
  assert.equal(fromUtf8(fromBase64Url(answer.plaintext!)), "hello from Deno");
  return pair;
}

/** A session where Python is Alice (the initiator) and our side is Bob. */
async function pythonFirst(): Promise<Pair> {
  const sk = randomBytes(32);
  const bob = x25519.keygen();
  const python = startPythonPeer("double_ratchet_peer.py");
  const answer = await python.request<Answer>({
    op: "init_alice",
    sk: b64(sk),
    bob_pub: b64(bob.publicKey),
    ad: b64(AD),
    plaintext: b64(utf8("hello from Python")),
  });
  const pair = new Pair(ratchetInitBob(sk, bob), python);
  assert.equal(pair.read(answer.envelope!), "hello from Python");
  return pair;
}

/** A conversation both ways over several DH steps, each side reading out of order. */
async function converse(pair: Pair): Promise<void> {
  for (let round = 0; round < 4; round++) {
    const ours = [0, 1, 2, 3].map((i) => pair.send(`deno ${round}.${i}`));
    for (const i of [2, 0, 3, 1]) {
      assert.equal(await pair.pythonRead(ours[i]!), `deno ${round}.${i}`);
    }
    const theirs: string[] = [];
    for (let i = 0; i < 3; i++) theirs.push(await pair.pythonSend(`python ${round}.${i}`));
    for (const i of [1, 2, 0]) assert.equal(pair.read(theirs[i]!), `python ${round}.${i}`);
  }
}

Deno.test("a session started here talks both ways with python3-doubleratchet, in and out of order", async () => {
  const pair = await oursFirst();
  try {
    await converse(pair);
    // Across chains: Python holds our message back over a DH step and reads it later.
    const late = pair.send("late");
    const now = pair.send("now");
    assert.equal(await pair.pythonRead(now), "now");
    assert.equal(pair.read(await pair.pythonSend("reply")), "reply");
    const next = pair.send("next chain");
    assert.equal(await pair.pythonRead(next), "next chain");
    assert.equal(await pair.pythonRead(late), "late");
    // Both refuse a replay.
    await assert.rejects(pair.pythonRead(late), /DuplicateMessageException|Authentication/);
  } finally {
    await pair.python.close();
  }
});

Deno.test("a session started by python3-doubleratchet talks both ways with ours, in and out of order", async () => {
  const pair = await pythonFirst();
  try {
    await converse(pair);
    // Across chains: we hold Python's message back over a DH step and read it later.
    const late = await pair.pythonSend("late");
    const now = await pair.pythonSend("now");
    assert.equal(pair.read(now), "now");
    assert.equal(await pair.pythonRead(pair.send("reply")), "reply");
    const next = await pair.pythonSend("next chain");
    assert.equal(pair.read(next), "next chain");
    assert.equal(pair.read(late), "late");
    assert.throws(
      () => pair.read(late),
      (e) => e instanceof E2eError && e.code === "ratchet_replay",
    );
  } finally {
    await pair.python.close();
  }
});

Deno.test("both implementations skip MAX_SKIP keys in a chain and refuse one more", async () => {
  const pair = await pythonFirst();
  try {
    const theirs: string[] = [];
    for (let i = 0; i <= MAX_SKIP + 1; i++) theirs.push(await pair.pythonSend(`p${i}`));
    assert.throws(
      () => pair.read(theirs[MAX_SKIP + 1]!),
      (e) => e instanceof E2eError && e.code === "ratchet_too_many_skipped",
    );
    assert.equal(pair.read(theirs[MAX_SKIP]!), `p${MAX_SKIP}`);
    assert.equal(pair.read(theirs[3]!), "p3");
    const ours = Array.from({ length: MAX_SKIP + 2 }, (_, i) => pair.send(`d${i}`));
    await assert.rejects(pair.pythonRead(ours[MAX_SKIP + 1]!), /DoSProtectionException/);
    assert.equal(await pair.pythonRead(ours[MAX_SKIP]!), `d${MAX_SKIP}`);
    assert.equal(await pair.pythonRead(ours[7]!), "d7");
  } finally {
    await pair.python.close();
  }
});

Deno.test("python3-doubleratchet refuses our messages with a tampered header, and we refuse its", async () => {
  const pair = await oursFirst();
  try {
    const envelope = pair.send("bound");
    const parsed = JSON.parse(envelope);
    // Python and we both see the altered pn through the binding inside the Fernet token.
    const altered = JSON.stringify({ ...parsed, pn: parsed.pn + 1 });
    await assert.rejects(pair.pythonRead(altered), /AuthenticationFailedException/);
    assert.equal(await pair.pythonRead(envelope), "bound");
    const theirs = JSON.parse(await pair.pythonSend("bound too"));
    assert.throws(
      () => pair.read(JSON.stringify({ ...theirs, pn: theirs.pn + 1 })),
      (e) => e instanceof E2eError && e.code === "ratchet_bad_header",
    );
    assert.equal(pair.read(JSON.stringify(theirs)), "bound too");
  } finally {
    await pair.python.close();
  }
});
