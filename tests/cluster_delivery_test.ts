/**
 * Delivery through a real three-server cluster: processes on 127.0.0.1, real sockets.
 */

import assert from "node:assert/strict";
import type { MessageFrame } from "../core/protocol/mod.ts";
import type { DeliveredFrame } from "../core/protocol/mod.ts";
import { TestCluster, testEachBackend, until } from "./helpers/cluster.ts";

/** The ref of an ack that asks to be answered once applied (above any request's ref here). */
const _ACK_REF = 1_000_000;

testEachBackend(
  "cluster delivers direct messages across servers with a delivered receipt",
  async (backend) => {
    const c = await TestCluster.start(3, { backend });
    try {
      const alice = await c.user(1, "alice");
      const bob = await c.user(2, "bob");
      const got: MessageFrame[] = [];
      const receipts: DeliveredFrame[] = [];
      bob.client.onMessage = (m) => got.push(m);
      alice.client.onDelivered = (d) => receipts.push(d);
      const acc = await alice.client.send(bob.id, "ciphertext-1", "m1");
      assert.equal(acc.client_msg_id, "m1");
      assert.equal(acc.duplicate, false);
      await until(() => got.length === 1, "bob to receive the message");
      assert.equal(got[0]!.from, alice.id);
      assert.equal(got[0]!.body, "ciphertext-1");
      assert.equal(got[0]!.kind, "direct");
      assert.equal(got[0]!.msg_id, acc.msg_id);
      assert.equal(got[0]!.group_id, null);
      await until(() => receipts.length === 1, "alice to get the delivered receipt");
      assert.deepEqual(receipts[0], {
        type: "delivered",
        msg_id: acc.msg_id,
        client_msg_id: "m1",
        to: bob.id,
      });
    } finally {
      await c.stop();
    }
  },
);

testEachBackend("cluster fans a group message out to members on every server", async (backend) => {
  const c = await TestCluster.start(3, { backend });
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const carol = await c.user(3, "carol");
    const dan = await c.user(3, "dan");
    const inbox = new Map<number, MessageFrame[]>();
    for (const u of [alice, bob, carol, dan]) {
      inbox.set(u.id, []);
      u.client.onMessage = (m) => inbox.get(u.id)!.push(m);
    }
    const g = await alice.client.request({
      type: "create_group",
      name: "team",
      members: [bob.id, carol.id, dan.id],
    });
    assert.equal(g.group.admin, alice.id);
    assert.deepEqual(g.group.members, [alice.id, bob.id, carol.id, dan.id].sort((a, b) => a - b));
    // Everyone learns of the group through a stored group_event.
    for (const u of [alice, bob, carol, dan]) {
      await until(
        () => inbox.get(u.id)!.some((m) => m.kind === "group_event"),
        `user ${u.id} to get the created event`,
      );
    }
    const created = JSON.parse(inbox.get(bob.id)!.find((m) => m.kind === "group_event")!.body);
    assert.equal(created.event, "created");
    assert.equal(created.group.id, g.group.id);

    const acc = await alice.client.groupSend(g.group.id, "group-ct");
    for (const u of [bob, carol, dan]) {
      await until(
        () => inbox.get(u.id)!.some((m) => m.msg_id === acc.msg_id),
        `user ${u.id} to get the group message`,
      );
      const m = inbox.get(u.id)!.find((m) => m.msg_id === acc.msg_id)!;
      assert.equal(m.kind, "group");
      assert.equal(m.group_id, g.group.id);
      assert.equal(m.from, alice.id);
    }
    // The sender does not get its own message back: a push of it would come before the
    // answer to a later request on the same connection.
    await alice.client.request({ type: "ping" });
    assert.equal(inbox.get(alice.id)!.some((m) => m.msg_id === acc.msg_id), false);
  } finally {
    await c.stop();
  }
});

testEachBackend(
  "cluster keeps messages for an offline user and delivers them in order on login",
  async (backend) => {
    const c = await TestCluster.start(3, { backend });
    try {
      const alice = await c.user(1, "alice");
      const bob = await c.user(2, "bob", "bobs password");
      await bob.client.close();
      const ids: number[] = [];
      for (let i = 0; i < 20; i++) {
        ids.push(
          (await alice.client.send(bob.id, `offline-${i}`)).msg_id,
        );
      }
      // Bob returns on another server, by username and password.
      const again = await c.connect(3);
      const got: MessageFrame[] = [];
      let synced = -1;
      again.onMessage = (m) => got.push(m);
      again.onSynced = (s) => synced = s.pending;
      await again.login("bob", "bobs password");
      await until(() => synced >= 0, "the synced frame");
      assert.equal(synced, 20);
      assert.deepEqual(got.map((m) => m.msg_id), ids);
      assert.deepEqual(got.map((m) => m.body), ids.map((_, i) => `offline-${i}`));
      // Acked messages are not delivered again on the next login. Acks are applied off the
      // connection's chain; one with a ref is answered once applied (ids acked twice are fine).
      const applied = new Promise<void>((r) =>
        again.onFrame = (f) => void (f.type === "ok" && f.ref === _ACK_REF && r())
      );
      again.sendRaw(JSON.stringify({ type: "ack", ids, ref: _ACK_REF }));
      await applied;
      await again.close();
      const third = await c.connect(1);
      let synced2 = -1;
      third.onSynced = (s) => synced2 = s.pending;
      await third.resume(bob.token);
      await until(() => synced2 >= 0, "the second synced frame");
      assert.equal(synced2, 0);
    } finally {
      await c.stop();
    }
  },
);

testEachBackend(
  "cluster suppresses duplicates when a client resends the same client message ID",
  async (backend) => {
    const c = await TestCluster.start(2, { backend });
    try {
      const alice = await c.user(1, "alice");
      const bob = await c.user(2, "bob");
      const got: MessageFrame[] = [];
      bob.client.onFrame = (f) => f.type === "message" && got.push(f);
      const first = await alice.client.send(bob.id, "hello", "same-id");
      const second = await alice.client.send(bob.id, "hello", "same-id");
      assert.equal(second.msg_id, first.msg_id);
      assert.equal(second.duplicate, true);
      await until(() => got.length >= 1, "the message");
      // One sender's messages reach a recipient in order (PROTOCOL.md, "Order"): a second
      // copy would come before a later message.
      const later = await alice.client.send(bob.id, "later", "other-id");
      await until(() => got.some((m) => m.msg_id === later.msg_id), "the later message");
      assert.deepEqual(got.map((m) => m.msg_id), [first.msg_id, later.msg_id], "got it once");
    } finally {
      await c.stop();
    }
  },
);

testEachBackend(
  "cluster delivers a group key frame with each member's own body on every server",
  async (backend) => {
    const c = await TestCluster.start(3, { backend });
    try {
      const alice = await c.user(1, "alice");
      const bob = await c.user(2, "bob");
      const carol = await c.user(3, "carol");
      const got = new Map<number, MessageFrame[]>([[bob.id, []], [carol.id, []]]);
      for (const u of [bob, carol]) {
        u.client.onMessage = (m) => m.kind === "key" && got.get(u.id)!.push(m);
      }
      const g = await alice.client.request({
        type: "create_group",
        name: "keys",
        members: [bob.id, carol.id],
      });
      const acc = await alice.client.request({
        type: "key",
        client_msg_id: "gk1",
        group_id: g.group.id,
        keys: { [bob.id]: "wrapped-for-bob", [carol.id]: "wrapped-for-carol" },
      });
      await until(() => got.get(bob.id)!.length === 1 && got.get(carol.id)!.length === 1, "keys");
      for (const [uid, body] of [[bob.id, "wrapped-for-bob"], [carol.id, "wrapped-for-carol"]]) {
        const m = got.get(uid as number)![0]!;
        assert.equal(m.msg_id, acc.msg_id);
        assert.equal(m.body, body);
        assert.equal(m.group_id, g.group.id);
        assert.equal(m.from, alice.id);
      }
    } finally {
      await c.stop();
    }
  },
);

testEachBackend(
  "cluster keeps pushing to a user's open connection after another on a second server closes",
  async (backend) => {
    const c = await TestCluster.start(3, { backend });
    try {
      const alice = await c.user(1, "alice");
      const bob = await c.user(2, "bob", "bobs password");
      const bob3 = await c.connect(3);
      await bob3.login("bob", "bobs password");
      const on2: MessageFrame[] = [];
      const on3: MessageFrame[] = [];
      bob.client.onMessage = (m) => on2.push(m);
      bob3.onMessage = (m) => on3.push(m);
      const first = await alice.client.send(bob.id, "to both");
      await until(() => on2.length === 1 && on3.length === 1, "both connections to get it");
      assert.equal(on2[0]!.msg_id, first.msg_id);
      assert.equal(on3[0]!.msg_id, first.msg_id);
      await bob3.close(); // resolves once the closing handshake is done: the server knows
      const second = await alice.client.send(bob.id, "after the other closed");
      await until(() => on2.length === 2, "the open connection to keep receiving", 3_000);
      assert.equal(on2[1]!.msg_id, second.msg_id);
    } finally {
      await c.stop();
    }
  },
);
