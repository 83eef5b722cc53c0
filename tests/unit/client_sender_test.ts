import assert from "node:assert/strict";
import { fernetKeyId, openDirect } from "../../core/e2e/mod.ts";
import {
  ClientError,
  ConnectionClosedError,
  RequestError,
} from "../../core/client/engine/errors.ts";
import { Sender } from "../../core/client/engine/sender.ts";
import { Tracker } from "../../core/client/engine/tracker.ts";
import type { RequestFrame } from "../../core/client/transport/protocol_client.ts";
import { generateFernetKey, generateIdentityKeyPair } from "../../core/crypto/mod.ts";
import {
  type Answer,
  eventLog,
  FakeConn,
  FakeLink,
  MemoryKeystore,
} from "../helpers/client_fakes.ts";

/** A sender for alice (#1) with friend bob (#2) and group "team" (#10) over a fake link. */
function _sender(answer: Answer) {
  const ks = new MemoryKeystore(1, "alice");
  const friendKey = generateFernetKey();
  const bob = ks.befriend(2, "bob", friendKey);
  ks.friendKeys.set(2, { ...ks.friendKeys.get(2)!, kid: fernetKeyId(friendKey) });
  const team = ks.join(10, "team", [1, 2], generateFernetKey());
  const identity = generateIdentityKeyPair();
  const conn = new FakeConn(answer);
  const link = new FakeLink(conn);
  const log = eventLog();
  const tracker = new Tracker();
  const sender = new Sender({
    ks,
    link,
    emit: log.emit,
    identitySecret: identity.secretKey,
    tracker,
    inboxIdle: () => Promise.resolve(),
  });
  return { sender, ks, bob, team, identity, conn, link, events: log.events, friendKey, tracker };
}

let _nextId = 100;
function _accept(frame: RequestFrame) {
  const id = (frame as { client_msg_id?: string }).client_msg_id;
  return { type: "accepted", ref: 1, client_msg_id: id, msg_id: _nextId++, duplicate: false };
}

Deno.test("Sender.sendDirect() stores, reports sent then accepted, and seals for the friend", async () => {
  const t = _sender(_accept);
  await t.sender.sendDirect(t.bob, "hello bob");
  const [sent, accepted] = t.events;
  assert.equal(sent?.event, "sent");
  if (sent?.event !== "sent" || accepted?.event !== "accepted") throw new Error("order");
  assert.deepEqual(
    { ...sent, client_msg_id: "" },
    {
      event: "sent",
      client_msg_id: "",
      to: "bob",
      group: null,
      to_id: 2,
      text: "hello bob",
      state: "sending",
    },
  );
  assert.equal(accepted.client_msg_id, sent.client_msg_id);
  const stored = t.ks.outgoingByMsgId(accepted.id)!;
  assert.equal(stored.state, "accepted");
  assert.equal(stored.clientMsgId, sent.client_msg_id);
  const frame = t.conn.requests[0] as { type: string; to: number; body: string };
  assert.equal(frame.type, "single_message");
  assert.equal(frame.to, 2);
  const opened = openDirect(frame.body, {
    fromId: 1,
    toId: 2,
    keysByKid: () => t.friendKey,
    senderIdentityPublic: t.identity.publicKey,
    clientMsgId: sent.client_msg_id,
  });
  assert.deepEqual(opened.kind === "text" ? opened.text : null, "hello bob");
});

Deno.test("Sender keeps a message typed offline queued and sends it with its ID later", async () => {
  const t = _sender(_accept);
  t.link.conn = null;
  await t.sender.sendGroup(t.team, "typed offline");
  const sent = t.events[0]!;
  assert.ok(sent.event === "sent" && sent.state === "queued" && sent.group === 10);
  assert.equal(t.ks.queued().length, 1);
  assert.equal(t.conn.requests.length, 0);
  t.link.conn = t.conn;
  await t.sender.flushQueued();
  assert.equal(t.ks.queued().length, 0);
  const frame = t.conn.requests[0] as { type: string; group_id: number; client_msg_id: string };
  assert.equal(frame.type, "group_message");
  assert.equal(frame.client_msg_id, sent.client_msg_id);
  assert.deepEqual(t.events.at(-1), {
    event: "accepted",
    client_msg_id: sent.client_msg_id,
    id: t.ks.messages[0]!.msgId,
  });
});

Deno.test("Sender leaves a message queued, unreported, when the connection drops mid-send", async () => {
  const t = _sender(() => {
    t.conn.closed = true;
    throw new ConnectionClosedError("Connection closed (1006)");
  });
  await t.sender.sendDirect(t.bob, "lost in transit");
  assert.deepEqual(t.events.map((e) => e.event), ["sent"]);
  assert.equal(t.ks.queued().length, 1);
});

Deno.test("Sender marks a refused message failed and reports it with its client ID", async () => {
  const t = _sender(() => {
    throw new RequestError("forbidden", "Bob does not take messages");
  });
  await t.sender.sendDirect(t.bob, "too much");
  const sent = t.events[0]!;
  assert.equal(sent.event, "sent");
  assert.deepEqual(t.events[1], {
    event: "error",
    message: "Bob does not take messages",
    code: "forbidden",
    client_msg_id: (sent as { client_msg_id: string }).client_msg_id,
  });
  assert.equal(t.ks.messages[0]!.state, "failed");
  assert.equal(t.ks.queued().length, 0);
});

Deno.test("Sender.flushQueued() stops at a retryable refusal and keeps the rest queued", async () => {
  let calls = 0;
  const t = _sender(() => {
    calls++;
    throw new RequestError("rate_limited", "Slow down", 1_000);
  });
  t.link.conn = null;
  await t.sender.sendDirect(t.bob, "one");
  await t.sender.sendDirect(t.bob, "two");
  t.link.conn = t.conn;
  await t.sender.flushQueued();
  assert.equal(calls, 1, "the first retryable refusal stops the flush");
  assert.equal(t.ks.queued().length, 2);
  assert.equal(t.events.filter((e) => e.event === "error").length, 0);
});

Deno.test("Sender refuses to encrypt to a friend whose keys changed, storing nothing", async () => {
  const t = _sender(_accept);
  t.ks.changed.add(2);
  await assert.rejects(
    t.sender.sendDirect(t.bob, "hi"),
    (err: unknown) => err instanceof ClientError && err.code === "keys_changed",
  );
  assert.equal(t.ks.messages.length, 0);
  assert.deepEqual(t.events, []);
});

Deno.test("Sender.delivered() reports a receipt with the client ID and the group's name", async () => {
  const t = _sender(_accept);
  await t.sender.sendGroup(t.team, "hello team");
  const accepted = t.events.find((e) => e.event === "accepted")!;
  if (accepted.event !== "accepted") throw new Error("no accepted event");
  t.sender.delivered({ type: "delivered", msg_id: accepted.id, client_msg_id: null, to: 2 });
  t.sender.delivered({ type: "delivered", msg_id: 99_999, client_msg_id: null, to: 2 });
  assert.deepEqual(t.events.filter((e) => e.event === "delivered"), [{
    event: "delivered",
    id: accepted.id,
    to: 2,
    to_name: "bob",
    client_msg_id: accepted.client_msg_id,
    group: 10,
    group_name: "team",
  }]);
});

Deno.test("Sender.drain() waits for unanswered requests, bounded", async () => {
  const answer = Promise.withResolvers<unknown>();
  const t = _sender(() => answer.promise);
  const sending = t.sender.sendDirect(t.bob, "slow");
  assert.equal(await t.sender.drain(50), false, "not accepted within the bound");
  answer.resolve(_accept({ type: "single_message", to: 2, body: "", client_msg_id: "x" }));
  await sending;
  assert.equal(await t.sender.drain(1_000), true);
});

Deno.test("Sender.resend() sends a message refused with recipient_full again, under its ID", async () => {
  let full = true;
  const t = _sender((frame) => {
    if (full) {
      throw new RequestError(
        "recipient_full",
        "User 2 has too many undelivered messages; nothing was stored",
      );
    }
    return _accept(frame);
  });
  await t.sender.sendDirect(t.bob, "see you at 8");
  const first = t.events[0]!;
  if (first.event !== "sent") throw new Error("sent first");
  assert.deepEqual(t.events.map((e) => e.event), ["sent", "error"]);
  assert.equal(t.ks.failed().length, 1, "failed, and its text kept");

  // Refused again: failed again, with the reason.
  assert.equal(await t.sender.resend(t.ks.failed()), 1);
  assert.deepEqual(t.events.slice(2).map((e) => e.event), ["sent", "error"]);
  assert.equal(t.ks.failed().length, 1);

  // Bob has room now: the same message, the same client ID, accepted.
  full = false;
  t.events.length = 0;
  assert.equal(await t.sender.resend(t.ks.failed()), 1);
  assert.deepEqual(t.events, [
    {
      event: "sent",
      client_msg_id: first.client_msg_id,
      to: "bob",
      group: null,
      to_id: 2,
      text: "see you at 8",
      state: "sending",
    },
    { event: "accepted", client_msg_id: first.client_msg_id, id: t.ks.messages[0]!.msgId },
  ]);
  const frames = t.conn.requests as { client_msg_id: string; body: string }[];
  assert.equal(frames.length, 3);
  assert.ok(frames.every((f) => f.client_msg_id === first.client_msg_id));
  const opened = openDirect(frames[2]!.body, {
    fromId: 1,
    toId: 2,
    keysByKid: () => t.friendKey,
    senderIdentityPublic: t.identity.publicKey,
    clientMsgId: first.client_msg_id,
  });
  assert.equal(opened.kind === "text" ? opened.text : null, "see you at 8");
  assert.deepEqual(t.ks.failed(), []);
  assert.equal(t.ks.outgoing(first.client_msg_id)?.state, "accepted");
  // Nothing failed is left: a second resend sends nothing.
  assert.equal(await t.sender.resend([t.ks.outgoing(first.client_msg_id)!]), 0);
  assert.equal(t.conn.requests.length, 3);
});
