/**
 * Scenarios of acknowledgements written behind their receipts (`core/server/ack_log.ts`):
 * the sender gets one receipt per delivery however many connections of the recipient
 * acknowledge it, wherever they are, and a stopped server writes what it was holding.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ServerFrame } from "../../core/protocol/mod.ts";
import { type FakeClient, InProcessCluster, sendDirect } from "../helpers/in_process.ts";

const _isMessage = (id: number) => (f: ServerFrame) => f.type === "message" && f.msg_id === id;
const _receipts = (client: FakeClient, id: number) =>
  client.frames.filter((f) => f.type === "delivered" && f.msg_id === id).length;

Deno.test("one receipt per delivery when the recipient's connections on two servers and one server all acknowledge", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const bob1b = await c.login(1, "bob");
    const bob2 = await c.login(2, "bob");
    const id = await sendDirect(alice.client, bob.id, "to all of bob", "m1");
    for (const conn of [bob.client, bob1b, bob2]) await conn.waitFor(_isMessage(id));
    for (const conn of [bob.client, bob1b, bob2]) conn.write({ type: "ack", ids: [id] });
    await Promise.all([c.server(1).idle(), c.server(2).idle()]);
    await alice.client.waitFor((f) => f.type === "delivered" && f.msg_id === id);
    await c.network.settled();
    await Promise.all([c.server(1).idle(), c.server(2).idle()]);
    assert.equal(_receipts(alice.client, id), 1);
    assert.deepEqual(await c.store.pendingFor(bob.id, 0, 10), []);
  } finally {
    await c.stop();
  }
});

Deno.test("an ID acknowledged twice by the recipient's only connection gives one receipt", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const id = await sendDirect(alice.client, bob.id, "once", "m1");
    await bob.client.waitFor(_isMessage(id));
    bob.client.write({ type: "ack", ids: [id, id] });
    bob.client.write({ type: "ack", ids: [id] });
    await c.server(1).idle();
    await alice.client.waitFor((f) => f.type === "delivered" && f.msg_id === id);
    const ok = await bob.client.request({ type: "ack", ref: 3, ids: [id] });
    assert.equal(ok.type, "ok");
    assert.equal(_receipts(alice.client, id), 1);
  } finally {
    await c.stop();
  }
});

Deno.test("a server's idle() writes the acknowledgements its log holds, before their window ends", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const ids = [
      await sendDirect(alice.client, bob.id, "one", "m1"),
      await sendDirect(alice.client, bob.id, "two", "m2"),
    ];
    for (const id of ids) await bob.client.waitFor(_isMessage(id));
    bob.client.write({ type: "ack", ids });
    for (const id of ids) {
      await alice.client.waitFor((f) => f.type === "delivered" && f.msg_id === id);
    }
    await c.server(1).idle();
    assert.deepEqual(await c.store.pendingFor(bob.id, 0, 10), []);
    // A new connection of bob's is replayed nothing.
    const again = await c.login(1, "bob");
    const synced = again.frames.find((f) => f.type === "synced");
    assert.equal((synced as { pending: number }).pending, 0);
  } finally {
    await c.stop();
  }
});
