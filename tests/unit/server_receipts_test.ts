/**
 * Feature negotiation and batched receipts, on in-process servers: a connection that asks for
 * `receipt_batch` at login gets one `receipts` frame per event-loop turn carrying every
 * receipt of that turn, in order, each once; a connection that asks for nothing gets one
 * `delivered` frame per receipt, exactly as before features existed.
 */

import assert from "node:assert/strict";
import type {
  DeliveredFrame,
  ErrorFrame,
  GroupFrame,
  LoggedInFrame,
  Receipt,
  ReceiptsFrame,
  RegisteredFrame,
  ServerFrame,
} from "../../core/protocol/mod.ts";
import { FEATURES, LIMITS } from "../../core/protocol/mod.ts";
import { randomBytes, toBase64Url } from "../../core/crypto/bytes.ts";
import type { AckedDelivery } from "../../core/store/store.ts";
import { type FakeClient, InProcessCluster } from "../helpers/in_process.ts";

const _PASSWORD = "correct horse 1";
const _RSA_PUBLIC_KEY = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);

const _turns = (n: number) => new Promise((r) => setTimeout(r, n));

/** Another connection of a registered user on server `id`, logged in with `features`. */
async function _login(
  c: InProcessCluster,
  id: number,
  username: string,
  features?: string[],
): Promise<{ client: FakeClient; answer: LoggedInFrame }> {
  const client = c.connect(id);
  const answer = await client.request({
    type: "login",
    ref: 0,
    username,
    password: _PASSWORD,
    ...(features ? { features } : {}),
  });
  assert.equal(answer.type, "logged_in", JSON.stringify(answer));
  await client.waitFor((f) => f.type === "synced");
  return { client, answer: answer as LoggedInFrame };
}

const _receiptFrames = (c: FakeClient) =>
  c.frames.filter((f): f is ReceiptsFrame => f.type === "receipts");
const _deliveredFrames = (c: FakeClient) =>
  c.frames.filter((f): f is DeliveredFrame => f.type === "delivered");
const _asReceipt = ({ type: _t, ...r }: DeliveredFrame): Receipt => r;

Deno.test("registered and logged_in list the known features asked for, and only when asked", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const reg = c.connect(1);
    const registered = await reg.request({
      type: "register",
      ref: 0,
      username: "alice",
      password: _PASSWORD,
      rsa_public_key: _RSA_PUBLIC_KEY,
      identity_key: toBase64Url(randomBytes(32), false),
      features: ["zstd", FEATURES.receiptBatch, "from_the_future"],
    }) as RegisteredFrame;
    assert.equal(registered.type, "registered", JSON.stringify(registered));
    assert.deepEqual(registered.features, ["receipt_batch"]);

    // Nothing known asked for: an empty list, which still says the server knows the field.
    const none = await _login(c, 1, "alice", ["zstd"]);
    assert.deepEqual(none.answer.features, []);
    const empty = await _login(c, 1, "alice", []);
    assert.deepEqual(empty.answer.features, []);
    // No field asked: no field answered, the frame as before features existed.
    const old = await _login(c, 1, "alice");
    assert.deepEqual(Object.keys(old.answer).sort(), [
      "ref",
      "session_token",
      "type",
      "user_id",
      "username",
    ]);

    const resumed = c.connect(1);
    const answer = await resumed.request({
      type: "resume",
      ref: 0,
      session_token: registered.session_token,
      features: [FEATURES.receiptBatch],
    }) as LoggedInFrame;
    assert.equal(answer.type, "logged_in", JSON.stringify(answer));
    assert.deepEqual(answer.features, ["receipt_batch"]);
    assert.equal(answer.session_token, registered.session_token);

    // A malformed list is refused like any bad field, before anything is checked.
    const bad = c.connect(1);
    const refused = await bad.request({
      type: "login",
      ref: 0,
      username: "alice",
      password: _PASSWORD,
      features: ["Receipt-Batch"],
    }) as ErrorFrame;
    assert.equal(refused.type, "error");
    assert.equal(refused.code, "bad_frame");
    assert.match(refused.message, /Field "features" of a login frame/);
  } finally {
    await c.stop();
  }
});

Deno.test("a sender with receipt_batch gets a group's receipts of one turn in one receipts frame", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice"); // asked for nothing: delivered frames
    const batched = await _login(c, 1, "alice", [FEATURES.receiptBatch]);
    const members = [];
    for (const name of ["bob", "carol", "dan", "erin"]) members.push(await c.user(1, name));
    const g = await alice.client.request({
      type: "create_group",
      ref: 0,
      name: "team",
      members: members.map((m) => m.id),
    }) as GroupFrame;
    assert.equal(g.type, "group", JSON.stringify(g));
    // Let the creation events (server-made: no receipts) arrive first.
    await _turns(30);
    const before = batched.client.frames.length;
    const beforeOld = alice.client.frames.length;

    // Hold every ack's result until all are applied, so they come back in one turn (as the
    // acks of one busy moment do).
    const release = Promise.withResolvers<void>();
    const real = c.store.ackDeliveries.bind(c.store);
    let applied = 0;
    c.store.ackDeliveries = async (userId: number, ids: readonly number[]) => {
      const done: AckedDelivery[] = await real(userId, ids);
      if (++applied === members.length) release.resolve();
      await release.promise;
      return done;
    };
    const sent = await batched.client.request({
      type: "group_message",
      ref: 0,
      client_msg_id: "g-1",
      group_id: g.group.id,
      body: "hello team",
    });
    assert.equal(sent.type, "accepted", JSON.stringify(sent));
    const msgId = (sent as { msg_id: number }).msg_id;
    for (const m of members) {
      await m.client.waitFor((f) => f.type === "message" && f.msg_id === msgId);
      m.client.write({ type: "ack", ids: [msgId] });
    }
    await alice.client.waitFor(() =>
      _deliveredFrames(alice.client).filter((d) => d.msg_id === msgId).length === members.length
    );
    await _turns(30); // anything late would show now

    // The connection without the feature: one delivered frame per member, as before.
    const old = alice.client.frames.slice(beforeOld);
    assert.equal(old.length, members.length);
    assert.ok(old.every((f) => f.type === "delivered"));
    assert.deepEqual(
      old.map((f) => (f as DeliveredFrame).to).sort((a, b) => a - b),
      members.map((m) => m.id).sort((a, b) => a - b),
    );
    // The connection with it: exactly one frame, the same receipts in the same order.
    const got = batched.client.frames.slice(before).filter((f) =>
      f.type === "receipts" || f.type === "delivered"
    );
    assert.equal(got.length, 1, JSON.stringify(got));
    assert.equal(got[0]!.type, "receipts");
    assert.deepEqual(
      (got[0] as ReceiptsFrame).items,
      (old as DeliveredFrame[]).map(_asReceipt),
    );
    for (const item of (got[0] as ReceiptsFrame).items) {
      assert.equal(item.msg_id, msgId);
      assert.equal(item.client_msg_id, "g-1");
    }
  } finally {
    await c.stop();
  }
});

Deno.test("receipts from peers are batched too, each receipt once, and split at LIMITS.receiptItems", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const batched = await _login(c, 1, "alice", [FEATURES.receiptBatch]);
    const bob = await c.user(2, "bob");
    // What a peer's peer_batch brings in one turn: more receipts than one frame may carry.
    const n = LIMITS.receiptItems + 1;
    for (let i = 1; i <= n; i++) {
      c.server(1).onFrame(2, {
        type: "peer_delivered",
        sender_id: alice.id,
        msg_id: 1_000_000 + i, // not a real message's ID: told apart from the one below
        client_msg_id: i % 2 === 0 ? `m-${i}` : null,
        to: bob.id,
      });
    }
    // The plain connection got its delivered frames at once; the batched one waits a turn.
    assert.equal(_deliveredFrames(alice.client).length, n);
    assert.equal(_receiptFrames(batched.client).length, 0);
    await batched.client.waitFor(() => _receiptFrames(batched.client).length === 2);
    await _turns(20);
    const frames = _receiptFrames(batched.client);
    assert.deepEqual(frames.map((f) => f.items.length), [LIMITS.receiptItems, 1]);
    assert.deepEqual(
      frames.flatMap((f) => f.items),
      _deliveredFrames(alice.client).map(_asReceipt),
    );
    assert.deepEqual(frames.flatMap((f) => f.items).map((r) => r.msg_id).slice(0, 3), [
      1_000_001,
      1_000_002,
      1_000_003,
    ]);
    assert.equal(_deliveredFrames(batched.client).length, 0);

    // A real receipt across the mesh: bob on server 2 acks a direct message.
    const sent = await batched.client.request({
      type: "single_message",
      ref: 0,
      client_msg_id: "d-1",
      to: bob.id,
      body: "hi bob",
    });
    const msgId = (sent as { msg_id: number }).msg_id;
    await bob.client.waitFor((f) => f.type === "message" && f.msg_id === msgId);
    bob.client.write({ type: "ack", ids: [msgId] });
    const r = await batched.client.waitFor((f) =>
      f.type === "receipts" && f.items.some((i) => i.msg_id === msgId)
    ) as ReceiptsFrame;
    assert.deepEqual(r.items, [{ msg_id: msgId, client_msg_id: "d-1", to: bob.id }]);
    const plain = await alice.client.waitFor((f) => f.type === "delivered" && f.msg_id === msgId);
    assert.deepEqual(plain, { type: "delivered", msg_id: msgId, client_msg_id: "d-1", to: bob.id });
  } finally {
    await c.stop();
  }
});

Deno.test("a connection that closes before the flush gets no receipts, and a failed login enables nothing", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const batched = await _login(c, 1, "alice", [FEATURES.receiptBatch]);
    c.server(1).onFrame(2, {
      type: "peer_delivered",
      sender_id: alice.id,
      msg_id: 1,
      client_msg_id: null,
      to: 9,
    });
    batched.client.close();
    await _turns(20);
    assert.equal(_receiptFrames(batched.client).length, 0);
    assert.equal(_deliveredFrames(alice.client).length, 1);

    // Features asked for by a login that failed are not kept for the next attempt.
    const retry = c.connect(1);
    const failed = await retry.request({
      type: "login",
      ref: 0,
      username: "alice",
      password: "wrong password",
      features: [FEATURES.receiptBatch],
    }) as ServerFrame;
    assert.equal(failed.type, "error");
    const ok = await retry.request({
      type: "login",
      ref: 0,
      username: "alice",
      password: _PASSWORD,
    }) as LoggedInFrame;
    assert.equal(ok.type, "logged_in");
    assert.equal("features" in ok, false);
    await retry.waitFor((f) => f.type === "synced");
    c.server(1).onFrame(2, {
      type: "peer_delivered",
      sender_id: alice.id,
      msg_id: 2,
      client_msg_id: null,
      to: 9,
    });
    await _turns(20);
    assert.deepEqual(_deliveredFrames(retry).map((d) => d.msg_id), [2]);
    assert.equal(_receiptFrames(retry).length, 0);
  } finally {
    await c.stop();
  }
});
