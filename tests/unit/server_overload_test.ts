/**
 * An overloaded server degrades predictably (`admission.ts`, `client_session.ts`): past a
 * bound it answers new messages `busy` with a wait instead of queueing them, stores nothing
 * and takes nothing from the sender's rate; and its redelivery sweep pushes again only what
 * a connection, not the server, left unacknowledged. In process, with the lag and the clock
 * under the test's control.
 */

import assert from "node:assert/strict";
import type { ErrorFrame, MessageFrame, ServerFrame } from "../../core/protocol/mod.ts";
import { type FakeClient, InProcessCluster } from "../helpers/in_process.ts";

const _isMessage = (id: number) => (f: ServerFrame) => f.type === "message" && f.msg_id === id;

async function _send(client: FakeClient, to: number, cmid: string): Promise<ServerFrame> {
  return await client.request({
    type: "single_message",
    ref: 0,
    client_msg_id: cmid,
    to,
    body: "x",
  });
}

Deno.test("ChatServer answers busy with retry_after_ms while its event loop lags, and stores nothing", async () => {
  let lag = 0;
  const c = await InProcessCluster.start(1, {
    lagMs: () => lag,
    quotas: { send: { burst: 1, intervalMs: 60_000 } },
  });
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    lag = 900;
    const refused = await _send(alice.client, bob.id, "m1") as ErrorFrame;
    assert.equal(refused.type, "error");
    assert.equal(refused.code, "busy");
    assert.equal(refused.retry_after_ms, 900);
    assert.match(refused.message, /busy; nothing was stored; send it again in 900 ms/);
    assert.equal(c.server(1).metrics.busy, 1);
    // A group change is a storing frame too.
    const group = await alice.client.request({
      type: "create_group",
      ref: 0,
      name: "g",
      members: [],
    });
    assert.equal((group as ErrorFrame).code, "busy");
    lag = 0;
    // The same message again is accepted: the refusal took nothing from the send rate (1).
    const accepted = await _send(alice.client, bob.id, "m1");
    assert.equal(accepted.type, "accepted", JSON.stringify(accepted));
    assert.equal(
      (accepted as { duplicate: boolean }).duplicate,
      false,
      "nothing was stored before",
    );
    await bob.client.waitFor(_isMessage((accepted as { msg_id: number }).msg_id));
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer answers busy to a sender that does not read what it is sent", async () => {
  const c = await InProcessCluster.start(1, { admission: { outboundBytes: 1000 } });
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    alice.client.bufferedAmount = 1001;
    const refused = await _send(alice.client, bob.id, "m1") as ErrorFrame;
    assert.equal(refused.code, "busy");
    alice.client.bufferedAmount = 0;
    assert.equal((await _send(alice.client, bob.id, "m1")).type, "accepted");
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer keeps a connection's messages in arrival order while their reads overlap", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const g = await alice.client.request({
      type: "create_group",
      ref: 0,
      name: "g",
      members: [bob.id],
    }) as { group: { id: number } };
    // Group messages read the group's members; direct ones do not. Interleaved, they must
    // still be stored (and numbered) in the order they were sent.
    for (let i = 0; i < 20; i++) {
      alice.client.write(
        i % 2 === 0
          ? {
            type: "group_message",
            ref: 100 + i,
            client_msg_id: `c${i}`,
            group_id: g.group.id,
            body: `${i}`,
          }
          : {
            type: "single_message",
            ref: 100 + i,
            client_msg_id: `c${i}`,
            to: bob.id,
            body: `${i}`,
          },
      );
    }
    await alice.client.waitFor((f) => f.type === "accepted" && f.ref === 119);
    const accepted = alice.client.frames.filter((f) => f.type === "accepted" && f.ref >= 100);
    assert.deepEqual(
      accepted.map((f) => "ref" in f && f.ref),
      Array.from({ length: 20 }, (_, i) => 100 + i),
    );
    const ids = accepted.map((f) => (f as { msg_id: number }).msg_id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "message IDs follow arrival order");
    // A message to a group the sender is not in still fails alone, in its place.
    alice.client.write({
      type: "group_message",
      ref: 200,
      client_msg_id: "x",
      group_id: 999,
      body: "x",
    });
    alice.client.write({
      type: "single_message",
      ref: 201,
      client_msg_id: "y",
      to: bob.id,
      body: "y",
    });
    const bad = await alice.client.waitFor((f) => "ref" in f && f.ref === 200) as ErrorFrame;
    assert.equal(bad.code, "not_found");
    assert.equal((await alice.client.waitFor((f) => "ref" in f && f.ref === 201)).type, "accepted");
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer's sweep pushes nothing again while the server lags, and recovers a dropped ack after", async () => {
  let lag = 0;
  const clock = { t: Date.now() };
  const c = await InProcessCluster.start(1, { lagMs: () => lag, now: () => clock.t });
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const first = await _send(alice.client, bob.id, "m1") as { msg_id: number };
    await bob.client.waitFor(_isMessage(first.msg_id));
    clock.t += 1;
    const second = await _send(alice.client, bob.id, "m2") as { msg_id: number };
    await bob.client.waitFor(_isMessage(second.msg_id));
    bob.client.write({ type: "ack", ref: 1, ids: [second.msg_id] });
    await bob.client.waitFor((f) => f.type === "ok" && f.ref === 1);
    clock.t += 60_000;
    lag = 500; // behind: whatever it has not read may hold the acknowledgement
    assert.equal(await c.server(1).redeliver(0, 10_000), 0);
    lag = 0;
    assert.equal(await c.server(1).redeliver(0, 10_000), 1, "its ack was dropped: pushed again");
    const copies = bob.client.frames.filter((f) =>
      f.type === "message" && f.msg_id === first.msg_id
    );
    assert.equal(copies.length, 2);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer's sweep recovers the one ack a client dropped, not the ones it sent late", async () => {
  const clock = { t: Date.now() };
  const c = await InProcessCluster.start(1, { now: () => clock.t });
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const acc = await _send(alice.client, bob.id, `m${i}`) as { msg_id: number };
      await bob.client.waitFor(_isMessage(acc.msg_id));
      ids.push(acc.msg_id);
      clock.t += 1_000;
    }
    // bob drops the first message's ack, acks the second, and is slow with the third.
    clock.t += 9_000;
    bob.client.write({ type: "ack", ref: 7, ids: [ids[1]!] });
    await bob.client.waitFor((f) => f.type === "ok" && f.ref === 7);
    assert.equal(await c.server(1).redeliver(0, 10_000), 1);
    const pushes = bob.client.frames.filter((f): f is MessageFrame => f.type === "message");
    assert.deepEqual(pushes.map((m) => m.msg_id), [ids[0], ids[1], ids[2], ids[0]]);
  } finally {
    await c.stop();
  }
});
