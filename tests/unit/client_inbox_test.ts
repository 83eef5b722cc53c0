import assert from "node:assert/strict";
import { ClientError, ConnectionClosedError } from "../../core/client/engine/errors.ts";
import { type Handled, Inbox, KEY_WAIT_MS } from "../../core/client/engine/inbox.ts";
import type { MessageFrame } from "../../core/protocol/mod.ts";
import { eventLog, MemoryKeystore } from "../helpers/client_fakes.ts";

function _msg(id: number, from = 2): MessageFrame {
  return {
    type: "message",
    msg_id: id,
    kind: "direct",
    from,
    group_id: null,
    body: "sealed",
    sent_at: 1,
    client_msg_id: `c-${id}`,
  };
}

/** An inbox over fakes; `handle` decides per message. */
function _inbox(
  handle: (m: MessageFrame) => Promise<Handled>,
  names?: (m: MessageFrame) => { from: string; group: string | null },
) {
  const ks = new MemoryKeystore(1, "alice");
  const log = eventLog();
  const acks: number[] = [];
  const reshown: number[] = [];
  const state = { connected: true, stopping: false, now: 1_000_000 };
  const inbox = new Inbox({
    ks,
    handle,
    reshow: (id) => void reshown.push(id),
    ack: (ids) => void acks.push(...ids),
    emit: log.emit,
    connected: () => state.connected,
    stopping: () => state.stopping,
    now: () => state.now,
    ...(names ? { names } : {}),
  });
  return { inbox, ks, events: log.events, acks, reshown, state };
}

Deno.test("Inbox.receive() handles messages one at a time, in order, acking each after", async () => {
  const order: string[] = [];
  const t = _inbox(async (m) => {
    order.push(`start ${m.msg_id}`);
    await new Promise((r) => setTimeout(r, m.msg_id === 1 ? 20 : 0));
    order.push(`end ${m.msg_id}`);
    return "done";
  });
  t.inbox.receive(_msg(1));
  t.inbox.receive(_msg(2));
  assert.deepEqual(t.acks, [], "nothing is acked before it is handled");
  await t.inbox.idle();
  assert.deepEqual(order, ["start 1", "end 1", "start 2", "end 2"]);
  assert.deepEqual(t.acks, [1, 2]);
  assert.deepEqual([...t.ks.seen], [1, 2]);
});

Deno.test("Inbox parks a message until a key arrives, unacked, and ignores its redelivery", async () => {
  let haveKey = false;
  let handled = 0;
  const t = _inbox(() => {
    handled++;
    return Promise.resolve(haveKey ? "done" : "wait");
  });
  t.inbox.receive(_msg(5));
  await t.inbox.idle();
  assert.equal(t.inbox.parked, 1);
  assert.deepEqual(t.acks, []);
  t.inbox.receive(_msg(5)); // the server delivers it again meanwhile
  await t.inbox.idle();
  assert.equal(handled, 1, "a parked message is not handled again on redelivery");
  haveKey = true;
  t.inbox.retryParked();
  await t.inbox.idle();
  assert.equal(t.inbox.parked, 0);
  assert.deepEqual(t.acks, [5]);
});

Deno.test("Inbox.expireParked() reports, acks and drops messages whose key never came", async () => {
  const t = _inbox(() => Promise.resolve("wait"));
  t.inbox.receive({ ..._msg(7, 3), kind: "group", group_id: 4 });
  await t.inbox.idle();
  t.state.now += KEY_WAIT_MS;
  t.inbox.expireParked();
  assert.equal(t.inbox.parked, 1, "not before its time is up");
  t.state.now += 1;
  t.inbox.expireParked();
  assert.equal(t.inbox.parked, 0);
  assert.deepEqual(t.acks, [7]);
  assert.deepEqual(t.events, [{
    event: "error",
    code: "no_key",
    message: "Cannot decrypt message 7 from #3 in group 4: you do not have its key",
  }]);
});

Deno.test("Inbox names the sender and the group in what it reports, when it can", async () => {
  const names = (m: MessageFrame) => ({
    from: m.from === 3 ? "bob" : `#${m.from}`,
    group: m.group_id === null ? null : '"Trip"',
  });
  const t = _inbox(() => Promise.resolve("wait"), names);
  t.inbox.receive({ ..._msg(7, 3), kind: "group", group_id: 4 });
  await t.inbox.idle();
  t.state.now += KEY_WAIT_MS + 1;
  t.inbox.expireParked();
  assert.equal(
    (t.events[0] as { message: string }).message,
    'Cannot decrypt message 7 from bob in group "Trip": you do not have its key',
  );
  const r = _inbox(() => Promise.reject(new ClientError("bad_message", "Unexpected key")), names);
  r.inbox.receive(_msg(9, 3));
  await r.inbox.idle();
  assert.equal(
    (r.events[0] as { message: string }).message,
    "Message 9 from bob rejected: Unexpected key",
  );
});

Deno.test("Inbox leaves a message unacked when the connection fails while handling it", async () => {
  let fail = true;
  const t = _inbox(() => {
    if (fail) return Promise.reject(new ConnectionClosedError("Connection closed (1006)"));
    return Promise.resolve("done");
  });
  t.inbox.receive(_msg(8));
  await t.inbox.idle();
  assert.deepEqual(t.acks, []);
  assert.deepEqual(t.events, [], "a connection failure is not the message's fault");
  fail = false;
  t.inbox.receive(_msg(8)); // redelivered after the reconnect
  await t.inbox.idle();
  assert.deepEqual(t.acks, [8]);
});

Deno.test("Inbox rejects a bad message with its error code and acks it", async () => {
  const t = _inbox(() => Promise.reject(new ClientError("bad_message", "Unexpected key")));
  t.inbox.receive(_msg(9, 6));
  await t.inbox.idle();
  assert.deepEqual(t.acks, [9]);
  assert.deepEqual(t.events, [{
    event: "error",
    message: "Message 9 from #6 rejected: Unexpected key",
    code: "bad_message",
  }]);
  t.inbox.receive(_msg(9, 6));
  await t.inbox.idle();
  assert.equal(t.events.length, 1, "a rejected message is not reported twice");
  assert.deepEqual(t.acks, [9, 9], "its redelivery is acked again");
});

Deno.test("Inbox shows a message another client of the keystore stored, without handling it", async () => {
  let handled = 0;
  const t = _inbox(() => {
    handled++;
    return Promise.resolve("done");
  });
  t.ks.addIncoming({
    msgId: 11,
    clientMsgId: "c-11",
    kind: "direct",
    peerId: 2,
    senderId: 2,
    text: "hi",
    sentAt: 1,
  });
  t.inbox.receive(_msg(11));
  await t.inbox.idle();
  assert.equal(handled, 0);
  assert.deepEqual(t.reshown, [11]);
  assert.deepEqual(t.acks, [11]);
});

Deno.test("Inbox acks nothing once the client is stopping", async () => {
  const t = _inbox(() => Promise.resolve("done"));
  t.state.stopping = true;
  t.inbox.receive(_msg(12));
  await t.inbox.idle();
  assert.deepEqual(t.acks, []);
});

Deno.test("Inbox.replay() handles kept messages again, in order, without acking them", async () => {
  const handled: number[] = [];
  const t = _inbox((m) => {
    handled.push(m.msg_id);
    return Promise.resolve("done");
  });
  t.inbox.receive(_msg(1));
  await t.inbox.idle();
  assert.deepEqual(t.acks, [1]);
  // 1 was seen this session already; a replay handles it anyway.
  const again = await t.inbox.replay([_msg(1), _msg(2)]);
  assert.deepEqual(again, []);
  assert.deepEqual(handled, [1, 1, 2]);
  assert.deepEqual(t.acks, [1], "replayed messages were acknowledged when kept");
});

Deno.test("Inbox.replay() reports messages to try again later, and parks those waiting for a key", async () => {
  let haveKey = false;
  const t = _inbox((m) => {
    if (m.msg_id === 1) return Promise.reject(new ConnectionClosedError("gone"));
    return Promise.resolve(m.msg_id === 2 && !haveKey ? "wait" : "done");
  });
  assert.deepEqual(await t.inbox.replay([_msg(1), _msg(2)]), [1]);
  assert.equal(t.inbox.parked, 1);
  haveKey = true;
  t.inbox.retryParked();
  await t.inbox.idle();
  assert.equal(t.inbox.parked, 0);
  assert.deepEqual(t.acks, [], "a parked replayed message is not acknowledged either");
  assert.deepEqual(t.events, []);
});

Deno.test("Inbox.replay() of a message still being handled handles it again once that pass ends", async () => {
  // The user accepts a request in the very turn its message is being kept (the command and
  // the message's crypto finish together): the replay must not be swallowed by that pass.
  const handled: number[] = [];
  let replayed: Promise<number[]> | null = null;
  const t = _inbox(async (m) => {
    handled.push(m.msg_id);
    await Promise.resolve();
    if (replayed === null) replayed = t.inbox.replay([m]);
    return "done";
  });
  t.inbox.receive(_msg(7));
  await t.inbox.idle();
  assert.ok(replayed !== null);
  assert.deepEqual(await replayed, []);
  assert.deepEqual(handled, [7, 7], "kept once, then handled again by the replay");
  assert.deepEqual(t.acks, [7], "acknowledged once, when kept");
});
