/**
 * The chat server's logic in one process: several `ChatServer`s over a fake mesh, fake
 * client connections, one store. No sockets, so the cases that are hard to stage with real
 * processes (a user moving between servers mid-stream, a link cut while a message is in
 * flight, a peer that stops answering) run exactly and fast.
 */

import assert from "node:assert/strict";
import type { MessageFrame, ServerFrame } from "../core/protocol/mod.ts";
import { type FakeClient, InProcessCluster } from "./helpers/in_process.ts";

const _isMessage = (id: number) => (f: ServerFrame) => f.type === "message" && f.msg_id === id;

async function _send(client: FakeClient, to: number, body: string, cmid: string) {
  const acc = await client.request({
    type: "single_message",
    ref: 0,
    client_msg_id: cmid,
    to,
    body,
  });
  assert.equal(acc.type, "accepted", JSON.stringify(acc));
  return (acc as { msg_id: number }).msg_id;
}

Deno.test("ChatServer pushes a message to every connection of the recipient on every server", async () => {
  const c = await InProcessCluster.start(3);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const bob3 = c.connect(3);
    await bob3.request({ type: "login", ref: 0, username: "bob", password: "correct horse 1" });
    await bob3.waitFor((f) => f.type === "synced");
    const bob2b = c.connect(2);
    await bob2b.request({ type: "login", ref: 0, username: "bob", password: "correct horse 1" });
    await bob2b.waitFor((f) => f.type === "synced");
    const id = await _send(alice.client, bob.id, "to every device", "m1");
    for (const conn of [bob.client, bob2b, bob3]) {
      const m = await conn.waitFor(_isMessage(id)) as MessageFrame;
      assert.equal(m.body, "to every device");
    }
    // Older connections were never closed by the newer logins.
    assert.ok(bob.client.open && bob2b.open && bob3.open);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer keeps delivering to a user's remaining connection after another closes", async () => {
  const c = await InProcessCluster.start(3);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const bob3 = c.connect(3);
    await bob3.request({ type: "login", ref: 0, username: "bob", password: "correct horse 1" });
    await bob3.waitFor((f) => f.type === "synced");
    bob3.close();
    await new Promise((r) => setTimeout(r, 20)); // the offline news reaches server 1
    const id = await _send(alice.client, bob.id, "still here?", "m1");
    await bob.client.waitFor(_isMessage(id), 2_000);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer sends a delivered receipt to every connection of the sender", async () => {
  const c = await InProcessCluster.start(3);
  try {
    const alice = await c.user(1, "alice");
    const alice3 = c.connect(3);
    await alice3.request({ type: "login", ref: 0, username: "alice", password: "correct horse 1" });
    await alice3.waitFor((f) => f.type === "synced");
    const bob = await c.user(2, "bob");
    const id = await _send(alice.client, bob.id, "hi", "m1");
    await bob.client.waitFor(_isMessage(id));
    bob.client.write({ type: "ack", ids: [id] });
    for (const conn of [alice.client, alice3]) {
      const d = await conn.waitFor((f) => f.type === "delivered" && f.msg_id === id);
      assert.deepEqual(d, { type: "delivered", msg_id: id, client_msg_id: "m1", to: bob.id });
    }
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer loses nothing while a user moves between servers mid-stream", async () => {
  const c = await InProcessCluster.start(3);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const token = (bob.client.frames.find((f) => f.type === "registered") as {
      session_token: string;
    }).session_token;
    const sent: number[] = [];
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) sent.push(await _send(alice.client, bob.id, `m${i}`, `m${i}`));
    })();
    await new Promise((r) => setTimeout(r, 30));
    // Bob leaves server 2 and comes back on server 3 while alice keeps sending.
    bob.client.close();
    await new Promise((r) => setTimeout(r, 10));
    const moved = c.connect(3);
    await moved.request({ type: "resume", ref: 0, session_token: token });
    await moved.waitFor((f) => f.type === "synced");
    await new Promise((r) => setTimeout(r, 30));
    sending = false;
    await sender;
    await new Promise((r) => setTimeout(r, 30)); // the last pushes cross the mesh
    // Without any redelivery sweep: everything alice sent reached bob before or after the
    // move, by push or by replay.
    const got = new Set([...bob.client.messageIds(), ...moved.messageIds()]);
    const missing = sent.filter((id) => !got.has(id));
    assert.ok(sent.length > 20, `alice sent ${sent.length} messages`);
    assert.deepEqual(missing, [], `lost in the move: ${missing.join(", ")}`);
    // Those that reached the new connection came in acceptance order.
    const after = moved.messageIds();
    assert.deepEqual(after, [...after].sort((a, b) => a - b));
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer routes nothing over a cut link; the sweep delivers from the database", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    c.network.cut(1, 2);
    const id = await _send(alice.client, bob.id, "across the cut", "m1");
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(bob.client.messageIds(), [], "nothing crossed the cut link");
    // Server 2's redelivery sweep finds the delivery in the database.
    assert.equal(await c.server(2).redeliver(0), 1);
    await bob.client.waitFor(_isMessage(id));
    // Once healed, routing resumes: server 1 learns bob's presence again.
    c.network.link(1, 2);
    await new Promise((r) => setTimeout(r, 10));
    const id2 = await _send(alice.client, bob.id, "after the heal", "m2");
    await bob.client.waitFor(_isMessage(id2), 1_000);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer does not stall when a peer hangs, and a login waits for it at most briefly", async () => {
  const c = await InProcessCluster.start(3, { presenceBarrierMs: 200 });
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const carol = await c.user(3, "carol");
    c.network.stall(2);
    // Users on healthy servers are unaffected.
    const id = await _send(alice.client, carol.id, "to carol", "m1");
    await carol.client.waitFor(_isMessage(id), 1_000);
    const toBob = await _send(alice.client, bob.id, "to bob", "m2");
    // A login on server 1 waits for server 2's acknowledgement no longer than the barrier.
    const started = performance.now();
    const dan = await c.user(1, "dan");
    const waited = performance.now() - started;
    assert.ok(waited < 1_000, `the login waited ${waited.toFixed(0)} ms for a hung peer`);
    const toDan = await _send(carol.client, dan.id, "to dan", "m3");
    await dan.client.waitFor(_isMessage(toDan), 1_000);
    // When server 2 runs again, bob gets what waited for him.
    c.network.resume(2);
    await bob.client.waitFor(_isMessage(toBob), 1_000);
  } finally {
    c.network.resume(2);
    await c.stop();
  }
});

Deno.test("ChatServer delivers a message sent right after a login on another server live", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    // The login returns only after server 1 has applied bob's presence: the very next
    // message is pushed, not left for the sweep.
    const bob = await c.user(2, "bob");
    const id = await _send(alice.client, bob.id, "first", "m1");
    await bob.client.waitFor(_isMessage(id), 500);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer forgets a peer's users when its link goes down", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const bob = await c.user(2, "bob");
    assert.deepEqual([...c.server(1).presence.remoteServers(bob.id)], [2]);
    c.network.cut(1, 2);
    assert.equal(c.server(1).presence.remoteServers(bob.id).size, 0);
    c.network.link(1, 2);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual([...c.server(1).presence.remoteServers(bob.id)], [2]);
    bob.client.close();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(c.server(1).presence.remoteServers(bob.id).size, 0);
  } finally {
    await c.stop();
  }
});
