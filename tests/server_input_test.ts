/**
 * Bad input against a real server process, where it takes a real socket: binary frames,
 * frames refused at the WebSocket header and the close codes on the wire, a client posing
 * as a peer on /peer, and the HTTP endpoints. Every case gets its clear error and the server
 * keeps serving everyone else. Frame validation and the handlers' answers are tested
 * in-process in tests/unit/server_input_test.ts.
 */

import assert from "node:assert/strict";
import type { ProtocolClient } from "../core/client/transport/protocol_client.ts";
import { encode, type ErrorFrame, LIMITS } from "../core/protocol/mod.ts";
import { randomBytes, toBase64Url } from "../core/crypto/bytes.ts";
import { TestCluster, until } from "./helpers/cluster.ts";

/** Collects unsolicited error frames. */
function _errors(client: ProtocolClient): ErrorFrame[] {
  const out: ErrorFrame[] = [];
  client.onFrame = (f) => f.type === "error" && out.push(f);
  return out;
}

Deno.test("server answers a binary frame with bad_frame and keeps the connection", async () => {
  const c = await TestCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const errors = _errors(alice.client);
    alice.client.socket.send(new Uint8Array([0x7b, 0x7d]));
    await until(() => errors.length === 1, "the error frame");
    assert.equal(errors[0]!.code, "bad_frame");
    assert.match(errors[0]!.message, /Expected a text frame/);
    assert.ok((await alice.client.send(bob.id, "still here")).msg_id > 0);
  } finally {
    await c.stop();
  }
});

Deno.test("server closes a connection that sends an oversized frame with 1009", async () => {
  const c = await TestCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    alice.client.sendRaw(
      encode({
        type: "single_message",
        ref: 1,
        to: bob.id,
        client_msg_id: "big",
        body: "x".repeat(LIMITS.frameBytes + 1),
      }),
    );
    const closed = await alice.client.whenClosed;
    assert.equal(closed.code, 1009);
    // Everyone else is still served.
    const carol = await c.user(1, "carol");
    assert.ok((await carol.client.send(bob.id, "fine")).msg_id > 0);
  } finally {
    await c.stop();
  }
});

Deno.test("server closes a connection after repeated invalid frames with 1008", async () => {
  const c = await TestCluster.start(1);
  try {
    const client = await c.connect(1);
    for (let i = 0; i < LIMITS.invalidFrames; i++) client.sendRaw("nope");
    const closed = await client.whenClosed;
    assert.equal(closed.code, 1008);
  } finally {
    await c.stop();
  }
});

Deno.test("server rejects a client posing as a peer server on /peer", async () => {
  const c = await TestCluster.start(1);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${c.port(1)}/peer`);
    const closed = Promise.withResolvers<number>();
    const frames: { type: string; code?: string }[] = [];
    ws.onmessage = (ev) => {
      const f = JSON.parse(ev.data);
      frames.push(f);
      if (f.type !== "peer_challenge") return;
      ws.send(JSON.stringify({
        type: "peer_auth",
        server_id: 2,
        mac: toBase64Url(randomBytes(32), false),
        nonce: toBase64Url(randomBytes(32), false),
      }));
    };
    ws.onclose = (ev) => closed.resolve(ev.code);
    assert.equal(await closed.promise, 4001);
    assert.deepEqual(frames.map((f) => f.code ?? f.type), ["peer_challenge", "bad_peer_auth"]);
  } finally {
    await c.stop();
  }
});

Deno.test("server serves /healthz and Prometheus /metrics", async () => {
  const c = await TestCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    await alice.client.send(bob.id, "x");
    // A second connection of alice and one not logged in: `clients` counts users (documented).
    const again = await c.connect(1);
    await again.login("alice", "correct horse 1");
    await c.connect(1);
    const health = await (await fetch(`http://127.0.0.1:${c.port(1)}/healthz`)).json();
    assert.equal(health.status, "ok");
    assert.equal(health.server_id, 1);
    assert.equal(health.clients, 2);
    const res = await fetch(`http://127.0.0.1:${c.port(1)}/metrics`);
    assert.match(res.headers.get("content-type")!, /text\/plain/);
    const text = await res.text();
    assert.match(text, /# TYPE fastchat_connected_clients gauge/);
    assert.match(text, /fastchat_connected_clients\{server="1"\} 2/);
    assert.match(text, /fastchat_connections\{server="1"\} 4/);
    assert.match(text, /fastchat_messages_stored_total\{server="1"\} 1/);
    assert.match(text, /fastchat_peer_links\{server="1"\} 0/);
  } finally {
    await c.stop();
  }
});
