/**
 * ChatClient put together on injected ports: a fake dialer (no sockets, no server), a
 * keystore in a temporary directory, files in memory. Each part has tests of its own; this
 * checks they are wired to each other.
 */

import assert from "node:assert/strict";
import { ChatClient } from "../../core/client/engine/chat_client.ts";
import type { ClientEvent } from "../../core/client/engine/events.ts";
import { createKeystoreFile } from "../../core/client/deno/keystore_file.ts";
import type { RequestFrame } from "../../core/client/transport/protocol_client.ts";
import { generateIdentityKeyPair, toBase64Url } from "../../core/crypto/mod.ts";
import { FakeDialer, MemoryFiles } from "../helpers/client_fakes.ts";
import { FakeClock } from "../helpers/fake_clock.ts";
import { until, untilValue } from "../helpers/wait.ts";

const _rsa = (name: string) =>
  Deno.readTextFile(new URL(`../testdata/rsa/${name}`, import.meta.url));
const _RSA_PRIVATE = await _rsa("rsa2048_pkcs8_private.pem");
const _RSA_PUBLIC = await _rsa("rsa2048_spki_public.pem");
const _BOB_IDENTITY = toBase64Url(generateIdentityKeyPair().publicKey, false);
const _ALICE = generateIdentityKeyPair();

let _msgId = 1000;

/** The fake server's answers: alice is #1, bob is #2. */
function _answer(frame: RequestFrame): unknown {
  switch (frame.type) {
    case "resume":
      return { type: "logged_in", ref: 1, user_id: 1, username: "alice", session_token: "tok" };
    case "ping":
      return { type: "pong", ref: 1, server_id: 1 };
    case "lookup":
      // alice's own entry (checked at each login) shows her keys.
      return frame.user_id === 1
        ? {
          type: "user",
          ref: 1,
          user_id: 1,
          username: "alice",
          rsa_public_key: _RSA_PUBLIC,
          identity_key: toBase64Url(_ALICE.publicKey, false),
        }
        : {
          type: "user",
          ref: 1,
          user_id: 2,
          username: "bob",
          rsa_public_key: _RSA_PUBLIC,
          identity_key: _BOB_IDENTITY,
        };
    case "key":
    case "single_message":
      return {
        type: "accepted",
        ref: 1,
        client_msg_id: frame.client_msg_id,
        msg_id: _msgId++,
        duplicate: false,
      };
    default:
      throw new Error(`Unexpected ${frame.type}`);
  }
}

Deno.test("ChatClient on injected ports: sends, reports receipts, resends after a reconnect", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_engine_" });
  const identity = _ALICE;
  const ks = await createKeystoreFile(`${dir}/keystore.db`, {
    password: "pw-of-alice",
    account: {
      userId: 1,
      username: "alice",
      rsaPrivateKey: _RSA_PRIVATE,
      rsaPublicKey: _RSA_PUBLIC,
      identitySecretKey: identity.secretKey,
      identityPublicKey: toBase64Url(identity.publicKey, false),
      sessionToken: "tok",
    },
    scrypt: { N: 1024 },
  });
  const dialer = new FakeDialer(_answer);
  const events: ClientEvent[] = [];
  const clock = new FakeClock();
  const client = new ChatClient({
    clock,
    balancerUrls: "http://unused.invalid",
    saveDir: `${dir}/files`,
    username: "alice",
    password: "pw-of-alice",
    emit: (e) => void events.push(e),
    dialer,
    keystore: { open: () => Promise.resolve(ks), create: () => Promise.reject(new Error("no")) },
    files: new MemoryFiles(),
  });
  try {
    await client.start();
    assert.deepEqual(events.at(-1), { event: "ready", user: "alice", id: 1, server: 1 });

    await client.run({ name: "single_message", user: "bob", text: "hello bob" });
    assert.deepEqual(dialer.conns[0]!.requests.map((r) => r.type), [
      "resume",
      "ping",
      "lookup", // her own published keys
      "lookup",
      "key",
      "single_message",
    ]);
    assert.equal(events.some((e) => e.event === "own_keys_changed"), false);
    const sent = events.find((e) => e.event === "sent")!;
    const accepted = events.find((e) => e.event === "accepted")!;
    assert.ok(sent.event === "sent" && accepted.event === "accepted");
    assert.equal(sent.state, "sending");
    assert.equal(accepted.client_msg_id, sent.client_msg_id);

    dialer.conns[0]!.handlers!.onDelivered({
      type: "delivered",
      msg_id: accepted.id,
      client_msg_id: sent.client_msg_id,
      to: 2,
    });
    assert.deepEqual(events.at(-1), {
      event: "delivered",
      id: accepted.id,
      to: 2,
      to_name: "bob",
      client_msg_id: sent.client_msg_id,
      group: null,
      group_name: null,
    });

    // The server goes away; what is typed meanwhile goes out after the reconnect.
    dialer.failures = 1;
    dialer.conns[0]!.drop(1006);
    await client.run({ name: "single_message", user: "bob", text: "while away" });
    const queued = events.at(-1)!;
    assert.ok(queued.event === "sent" && queued.state === "queued");
    // The first attempt failed; the next waits out its backoff on the client's clock.
    assert.equal(dialer.conns.length, 1, "no second attempt before the backoff");
    const reconnecting = clock.pending;
    await clock.advance(15_000);
    await until(() => dialer.conns.length === 2, "the second attempt");
    assert.ok(clock.pending < reconnecting, "the backoff was a timer of the client's clock");
    const resent = await untilValue(
      () => events.find((e) => e.event === "accepted" && e.client_msg_id === queued.client_msg_id),
      "the queued message accepted after the reconnect",
      5_000,
    );
    assert.ok(resent.event === "accepted");
    assert.ok(events.some((e) => e.event === "reconnected" && e.server === 2));
    assert.equal(await client.drain(1_000), true);
  } finally {
    await client.close();
    await Deno.remove(dir, { recursive: true });
  }
});
