/**
 * The full-screen client's state without a terminal: engine events becoming conversations,
 * unread counts and message states; the controller turning lines into commands.
 */

import assert from "node:assert/strict";
import { type ClientCommand, COMMAND_SPECS } from "../../core/client/engine/commands.ts";
import type { ClientEvent } from "../../core/client/engine/events.ts";
import { TUI_COMMANDS, TuiController } from "../../core/tui/controller.ts";
import { layoutLines } from "../../core/tui/layout.ts";
import {
  answerOf,
  applyEvent,
  awaitAnswer,
  cycle,
  initialView,
  select,
  setOnline,
  submitting,
  type ViewState,
} from "../../core/view/view_state.ts";

function _view(events: Parameters<typeof applyEvent>[1][], start = initialView("alice")) {
  return events.reduce((v: ViewState, e) => applyEvent(v, e, 1_000), start);
}

const _ready = { event: "ready", user: "alice", id: 1, server: 2 } as const;
const _msg = (
  from: string,
  fromId: number,
  text: string,
  id: number,
  group: number | null = null,
) =>
  ({
    event: "message",
    id,
    from: fromId,
    from_name: from,
    group,
    group_name: group === null ? null : "hikers",
    text,
    sent_at: 1_000,
  }) as const;

Deno.test("applyEvent() files messages by conversation and counts unread ones", () => {
  let v = _view([_ready, _msg("bob", 2, "hi", 10), _msg("carol", 3, "hey", 11, 7)]);
  assert.deepEqual(v.conversations.map((c) => [c.key, c.name, c.unread]), [
    ["*", "status", 0],
    ["@bob", "bob", 1],
    ["#7", "hikers", 1],
  ]);
  assert.equal(v.bell, 2);
  v = select(v, "@bob");
  assert.equal(v.conversations[1]!.unread, 0);
  v = applyEvent(v, _msg("bob", 2, "again", 12));
  assert.equal(v.conversations[1]!.unread, 0, "the open conversation does not count");
  assert.equal(v.bell, 2);
  assert.equal(cycle(v, 1).current, "#7");
  assert.equal(cycle(v, -1).current, "*");
  assert.equal(cycle(cycle(v, 1), 1).current, "*", "wraps around");
});

Deno.test("applyEvent() takes one of your messages from sending to delivered in place", () => {
  let v = select(
    _view([_ready, { event: "friend", user: "bob", id: 2, initiated_by: "me" }]),
    "@bob",
  );
  v = submitting(v, "@bob", "hello");
  v = applyEvent(v, { event: "sent", client_msg_id: "c1", to: "bob", group: null });
  const line = () => v.conversations[1]!.lines.at(-1)!;
  assert.equal(line().text, "hello");
  assert.equal(line().state, "sending");
  v = applyEvent(v, { event: "accepted", client_msg_id: "c1", id: 40 });
  assert.equal(line().state, "accepted");
  v = applyEvent(v, { event: "delivered", id: 40, to: 2, to_name: "bob" });
  assert.equal(line().state, "delivered");
  assert.deepEqual(line().deliveredTo, ["bob"]);
  assert.equal(v.conversations[1]!.lines.length, 1, "the message only, no new lines");
});

Deno.test("applyEvent() marks messages sent while offline as queued, and keeps one reconnect state", () => {
  let v = _view([_ready, { event: "connecting", attempt: 1, reason: "connection closed (1006)" }]);
  assert.equal(v.conn, "reconnecting");
  v = applyEvent(v, { event: "connecting", attempt: 2, reason: "fetch failed" });
  assert.equal(v.conn, "reconnecting");
  assert.equal(v.attempts, 2);
  assert.equal(v.conversations[0]!.lines.length, 1, "no line per attempt");
  v = submitting(v, "@bob", "later");
  v = applyEvent(v, { event: "sent", client_msg_id: "c2", to: "bob", group: null });
  assert.equal(v.conversations.find((c) => c.key === "@bob")!.lines.at(-1)!.state, "queued");
  v = applyEvent(v, { event: "reconnected", server: 3 });
  assert.equal(v.conn, "online");
  assert.equal(v.server, 3);
});

Deno.test("applyEvent() names people in group events and flags key changes loudly", () => {
  let v = _view([_ready]);
  const group = {
    event: "group" as const,
    group: 7,
    name: "hikers",
    user: 1,
    user_name: "alice",
    by: 2,
    members: [2, 3],
    admin: 2,
    by_name: "bob",
  };
  v = applyEvent(v, { ...group, change: "removed" as const });
  assert.equal(v.conversations[1]!.lines.at(-1)!.text, "You were removed from the group by bob");
  v = applyEvent(v, { ...group, change: "added" as const, user: 3, user_name: "carol" });
  assert.equal(v.conversations[1]!.lines.at(-1)!.text, "carol joined the group");
  v = applyEvent(v, {
    event: "key_changed",
    user: "bob",
    id: 2,
    safety_number: "1234",
    message: "bob's keys have changed",
  });
  const bob = v.conversations.find((c) => c.key === "@bob")!;
  assert.equal(bob.keyWarning, true);
  assert.equal(bob.lines.at(-1)!.kind, "warning");
  assert.equal(v.notice?.error, true);
});

Deno.test("applyEvent() shows one progress entry per transfer, gone when done", () => {
  let v = _view([_ready]);
  for (const done of [1, 5, 9]) {
    v = applyEvent(v, { event: "progress", what: "Sending a.bin to bob", done, total: 10 });
  }
  assert.deepEqual(v.transfers, [{ what: "Sending a.bin to bob", done: 9, total: 10 }]);
  v = applyEvent(v, { event: "progress", what: "Sending a.bin to bob", done: 10, total: 10 });
  assert.deepEqual(v.transfers, []);
});

class _Runner {
  readonly ran: ClientCommand[] = [];
  run(cmd: ClientCommand): Promise<void> {
    this.ran.push(cmd);
    return Promise.resolve();
  }
}

function _typeLine(c: TuiController, text: string): void {
  c.paste(text);
  c.act({ kind: "submit" }, 20, 0);
}

Deno.test("TuiController sends plain text to the open conversation and runs /commands", async () => {
  const runner = new _Runner();
  const c = new TuiController("alice", runner);
  c.onEvent(_ready);
  c.onEvent({ event: "friend", user: "bob", id: 2, initiated_by: "me" });
  c.onEvent({
    event: "groups",
    groups: [{ id: 7, name: "hikers", admin: 1, members: [1, 2], epoch: 1 }],
  });
  _typeLine(c, "add_friend carol"); // bare command on the status pane
  _typeLine(c, "/query bob");
  _typeLine(c, "hello there");
  _typeLine(c, "/fingerprint bob");
  c.act({ kind: "conversation", delta: 1 }, 20, 0);
  _typeLine(c, "to the group");
  _typeLine(c, "/bogus");
  await c.idle();
  assert.deepEqual(runner.ran, [
    { name: "add_friend", user: "carol" },
    { name: "history", target: "bob", count: 200 },
    { name: "single_message", user: "bob", text: "hello there" },
    { name: "fingerprint", user: "bob" },
    { name: "history", target: "7", count: 200 },
    { name: "group_message", group: "7", text: "to the group" },
  ]);
  assert.match(c.snapshot.view.notice!.text, /Unknown command "bogus"/);
  assert.deepEqual(c.snapshot.history.entries.at(-1), "/bogus");
});

Deno.test("TuiController keeps a pasted text whole, newlines included", async () => {
  const runner = new _Runner();
  const c = new TuiController("alice", runner);
  c.onEvent(_ready);
  c.onEvent({ event: "friend", user: "bob", id: 2, initiated_by: "me" });
  c.act({ kind: "conversation", delta: 1 }, 20, 0);
  const big = "first line\r\n" + "y".repeat(120_000) + "\nlast";
  c.paste(big);
  assert.equal(c.snapshot.line.text.length, big.length - 1, "CRLF becomes LF");
  c.act({ kind: "submit" }, 20, 0);
  await c.idle();
  const sent = runner.ran.find((r) => r.name === "single_message");
  assert.equal(sent?.name === "single_message" && sent.text, big.replace("\r\n", "\n"));
});

Deno.test("setOnline() marks contacts online or offline by user ID", () => {
  let v = _view([_ready, { event: "friend", user: "bob", id: 2, initiated_by: "me" }]);
  assert.equal(v.conversations[1]!.online, null, "unknown until asked");
  v = setOnline(v, new Map([[2, true], [9, false]]));
  assert.equal(v.conversations[1]!.online, true);
  v = setOnline(v, new Map([[2, false]]));
  assert.equal(v.conversations[1]!.online, false);
  // The server stopped telling (bob blocked the user): unknown again, drawn as "@".
  v = setOnline(v, new Map([[2, null]]));
  assert.equal(v.conversations[1]!.online, null);
});

Deno.test("applyEvent() shows a safety number as a list of three rows of four 5-digit groups", () => {
  const v = _view([_ready, {
    event: "fingerprint",
    user: "bob",
    id: 2,
    safety_number: "238735319977598667074966780613481204359561106114896613795033",
  }]);
  const line = v.conversations.find((c) => c.key === v.current)!.lines.at(-1)!;
  // 40 columns: each row of groups fits whole, under the text, even in a narrow terminal.
  const rows = layoutLines([line], 40, "alice").slice(1).map((r) =>
    r.text.replace(/^\d\d:\d\d/, "HH:MM")
  );
  assert.deepEqual(rows, [
    "HH:MM * Safety number with bob:",
    "          • 23873 53199 77598 66707",
    "          • 49667 80613 48120 43595",
    "          • 61106 11489 66137 95033",
  ]);
});

/** A runner that answers some commands with engine events, as the real one does. */
class _AnsweringRunner extends _Runner {
  controller: TuiController | null = null;
  readonly answers = new Map<string, ClientEvent[]>();
  override run(cmd: ClientCommand): Promise<void> {
    for (const e of this.answers.get(cmd.name) ?? []) this.controller!.onEvent(e);
    return super.run(cmd);
  }
}

function _answering(): { c: TuiController; runner: _AnsweringRunner } {
  const runner = new _AnsweringRunner();
  const c = new TuiController("alice", runner);
  runner.controller = c;
  c.onEvent(_ready);
  return { c, runner };
}

const _lastText = (c: TuiController) =>
  c.snapshot.view.conversations.find((x) => x.key === c.snapshot.view.current)!.lines.at(-1)
    ?.text ?? "";

Deno.test("TuiController writes /friends and /groups answers into the open conversation", async () => {
  const { c, runner } = _answering();
  const friends: ClientEvent = {
    event: "friends",
    friends: [{ id: 2, user: "bob", verified_keys: true, verified: true }],
  };
  const groups: ClientEvent = {
    event: "groups",
    groups: [{ id: 7, name: "hikers", admin: 1, members: [1, 2], epoch: 3 }],
  };
  runner.answers.set("friends", [friends]).set("groups", [groups]);
  // Loaded at login: the side list fills, nothing is written out.
  c.onEvent(friends);
  c.onEvent(groups);
  assert.deepEqual(c.snapshot.view.conversations.map((x) => x.key), ["*", "@bob", "#7"]);
  assert.equal(c.snapshot.view.conversations[0]!.lines.length, 1, "only the login line");

  _typeLine(c, "friends");
  await c.idle();
  assert.match(_lastText(c), /bob\s+#2\s+verified/);
  _typeLine(c, "/query bob");
  _typeLine(c, "/groups");
  await c.idle();
  assert.equal(c.snapshot.view.current, "@bob");
  assert.match(_lastText(c), /#7 hikers\s+admin #1, members 1, 2, key epoch 3/);
  assert.deepEqual(c.snapshot.view.awaiting, []);
});

Deno.test("TuiController writes /history of another or unknown conversation where you are", async () => {
  const { c, runner } = _answering();
  runner.answers.set("history", [{
    event: "history",
    target: "bob",
    messages: [{
      id: 5,
      from: 2,
      from_name: "bob",
      text: "old news",
      sent_at: 1_000,
      state: null,
      file: null,
    }],
  }]);
  _typeLine(c, "/history bob 5");
  await c.idle();
  assert.deepEqual(runner.ran, [{ name: "history", target: "bob", count: 5 }]);
  assert.match(_lastText(c), /bob: old news/);
  runner.answers.set("history", [{ event: "history", target: "carol", messages: [] }]);
  _typeLine(c, "/h carol");
  await c.idle();
  assert.match(_lastText(c), /No messages with carol/);
});

Deno.test("TuiController /help writes every command the parser accepts", () => {
  const { c } = _answering();
  _typeLine(c, "/help");
  const text = c.snapshot.view.conversations[0]!.lines.map((l) => l.text).join("\n");
  for (const [name, spec] of Object.entries(COMMAND_SPECS)) {
    assert.ok(text.includes(spec.usage), `${name} missing from /help`);
    assert.match(text, new RegExp(`(^|\\s)${name}(\\s|$)`, "m"), name);
  }
  for (const own of TUI_COMMANDS) assert.match(text, new RegExp(`\\b${own}\\b`), own);
});

Deno.test("TuiController clears the notice at the next command", async () => {
  const { c } = _answering();
  _typeLine(c, "/bogus");
  assert.match(c.snapshot.view.notice!.text, /Unknown command/);
  c.onEvent({ event: "error", message: 'No friend or group "bob"' });
  assert.match(c.snapshot.view.notice!.text, /No friend or group/);
  _typeLine(c, "/query bob");
  await c.idle();
  assert.equal(c.snapshot.view.notice, null);
  assert.equal(c.snapshot.view.current, "@bob");
});

Deno.test("applyEvent() drops a request notice once that request is accepted or blocked", () => {
  const request = (user: string, id: number): ClientEvent => ({
    event: "request",
    user,
    id,
    text: "hi",
    messages: 1,
  });
  let v = _view([_ready, request("mallory", 6)]);
  assert.match(v.notice!.text, /mallory wants to talk/);
  v = applyEvent(v, { event: "contact_added", user: "someone", id: 9, messages: 0 });
  assert.match(v.notice!.text, /mallory/, "another user's answer keeps it");
  v = applyEvent(v, { event: "contact_added", user: "mallory", id: 6, messages: 1 });
  assert.equal(v.notice, null);
  v = applyEvent(v, request("eve", 8));
  v = applyEvent(v, { event: "blocked", user: "eve", id: 8, dropped: 1 });
  assert.equal(v.notice, null);
});

Deno.test("applyEvent() writes a list out only when it was asked for, once", () => {
  const friends: ClientEvent = { event: "friends", friends: [] };
  let v = _view([_ready, friends]);
  assert.equal(v.conversations[0]!.lines.length, 1, "loaded, not asked: no line");
  v = applyEvent(awaitAnswer(v, "friends"), friends, 1_000);
  assert.equal(v.conversations[0]!.lines.at(-1)!.text, "No friends yet: add_friend USER");
  assert.deepEqual(v.awaiting, []);
  v = applyEvent(v, friends, 1_000);
  assert.equal(v.conversations[0]!.lines.length, 2, "the next, unasked list is not written");
});

Deno.test("applyEvent() writes the requests list only when asked: one loaded at login goes stale", () => {
  const none: ClientEvent = { event: "requests", requests: [], blocked: [] };
  let v = _view([_ready, none]);
  assert.deepEqual(v.conversations[0]!.lines.map((l) => l.text), ["Logged in as alice"]);
  assert.equal(answerOf("requests"), "requests");
  v = applyEvent(awaitAnswer(v, "requests"), none, 1_000);
  assert.equal(v.conversations[0]!.lines.at(-1)!.text, "No requests.");
});

Deno.test("applyEvent() leaves the server to the status bar: a reconnect changes it", () => {
  const v = _view([_ready, { event: "reconnected", server: 3 }]);
  assert.equal(v.server, 3);
  assert.doesNotMatch(
    v.conversations.flatMap((c) => c.lines).map((l) => l.text).join("\n"),
    /server/,
  );
});

Deno.test("applyEvent() shows one line for a request, with its text once it comes", () => {
  const request = (text: string | null, messages: number): ClientEvent => ({
    event: "request",
    user: "erin",
    id: 5,
    text,
    messages,
  });
  let v = _view([_ready, request(null, 0), request("hello", 1)]);
  const lines = () => v.conversations[0]!.lines.filter((l) => /erin wants/.test(l.text));
  assert.deepEqual(lines().map((l) => l.text), [
    'erin wants to talk to you: "hello" (/accept erin or /block erin)',
  ]);
  assert.equal(v.conversations[0]!.unread, 0, "the status pane is open: nothing unread");
  v = applyEvent(v, { event: "blocked", user: "erin", id: 5, dropped: 1 });
  v = applyEvent(v, { event: "unblocked", user: "erin", id: 5 });
  v = applyEvent(v, request("sorry", 1));
  assert.equal(lines().length, 2, "a later request is a new line");
});

Deno.test("applyEvent() confirms accept with one line where it was typed", () => {
  let v = _view([_ready, {
    event: "request",
    user: "erin",
    id: 5,
    text: "hi",
    messages: 1,
  }]);
  const status = () => v.conversations[0]!.lines.length;
  const before = status();
  v = applyEvent(v, { event: "contact_added", user: "erin", id: 5, messages: 1 });
  v = applyEvent(v, { event: "friend", user: "erin", id: 5, initiated_by: "them" });
  assert.equal(status(), before + 1);
  assert.equal(v.conversations[0]!.lines.at(-1)!.text, "You accepted erin; you can now chat");
  const erin = v.conversations.find((c) => c.key === "@erin")!;
  assert.deepEqual(erin.lines, [], "no line about it in erin's conversation");
});

Deno.test("applyEvent() writes verify, accept_key and add_friend answers where they were typed", () => {
  let v = _view([_ready, { event: "friend", user: "bob", id: 2, initiated_by: "me" }]);
  v = applyEvent(v, { event: "verified", user: "bob", id: 2, safety_number: "1".repeat(60) });
  v = applyEvent(v, { event: "key_accepted", user: "bob", id: 2 });
  assert.equal(v.current, "*");
  assert.deepEqual(v.conversations[0]!.lines.slice(-3).map((l) => l.text), [
    "You added bob; you can write to them now",
    "You verified bob's keys (✓ in the list)",
    "You accepted bob's new keys",
  ]);
  const bob = v.conversations.find((c) => c.key === "@bob")!;
  assert.deepEqual(bob.lines, []);
  assert.equal(bob.verified, true, "still marked in the list");
});

Deno.test("applyEvent() says who added you to a group, by its name", () => {
  let v = _view([_ready]);
  v = applyEvent(v, {
    event: "group",
    group: 7,
    name: "Trip",
    change: "created",
    user: 2,
    user_name: "bob",
    by: 2,
    by_name: "bob",
    members: [1, 2],
    admin: 2,
  });
  const trip = v.conversations.find((c) => c.key === "#7")!;
  assert.equal(trip.name, "Trip");
  assert.equal(trip.lines.at(-1)!.text, 'bob added you to group "Trip"');
  assert.equal(v.notice?.text, 'bob added you to group "Trip"');
});

Deno.test("applyEvent() shows a group request on the status pane until it is answered", () => {
  const request = {
    event: "group_request" as const,
    group: 7,
    name: "Trip",
    by: 5,
    by_name: "mallory",
    admin: 5,
    admin_name: "mallory",
    members: [1, 5],
    member_names: ["alice", "mallory"],
  };
  let v = _view([_ready, request]);
  assert.equal(v.conversations.some((c) => c.key === "#7"), false, "not a conversation yet");
  const line = v.conversations[0]!.lines.at(-1)!;
  assert.match(line.text, /^mallory \(not a contact\) added you to group "Trip"; /);
  assert.match(line.text, /\/accept Trip, \/leave_group Trip or \/block mallory/);
  assert.equal(v.notice?.text, line.text);
  v = applyEvent(v, { ...request, event: "group_joined", messages: 2 });
  assert.equal(v.notice, null, "answered");
  const trip = v.conversations.find((c) => c.key === "#7")!;
  assert.equal(trip.lines.at(-1)!.text, 'You joined group "Trip" (mallory added you)');

  v = _view([_ready, request]);
  v = applyEvent(v, { event: "group_declined", group: 7, name: "Trip", by: 5, by_name: "mallory" });
  assert.equal(v.notice, null);
  assert.equal(v.conversations.some((c) => c.key === "#7"), false);
  assert.match(v.conversations[0]!.lines.at(-1)!.text, /You declined group "Trip"/);
});

Deno.test("applyEvent() shows receipts from group members by name", () => {
  let v = _view([_ready]);
  v = applyEvent(v, {
    event: "sent",
    client_msg_id: "c1",
    to: "Trip",
    group: 7,
    text: "hi all",
    state: "sending",
  });
  v = applyEvent(v, { event: "accepted", client_msg_id: "c1", id: 40 });
  for (const [to, name] of [[2, "bob"], [3, "carol"]] as const) {
    v = applyEvent(v, { event: "delivered", id: 40, to, to_name: name, group: 7 });
  }
  const line = v.conversations.find((c) => c.key === "#7")!.lines.at(-1)!;
  assert.deepEqual(line.deliveredTo, ["bob", "carol"]);
});

Deno.test("applyEvent() shows a refused message failed with its reason, and resent in place", () => {
  const sent = {
    event: "sent",
    client_msg_id: "c-1",
    to: "bob",
    group: null,
    to_id: 2,
    text: "see you at 8",
    state: "sending",
  } as const;
  let v = _view([_ready, { event: "friend", user: "bob", id: 2, initiated_by: "me" }, sent, {
    event: "error",
    message: "User 2 has too many undelivered messages",
    code: "recipient_full",
    client_msg_id: "c-1",
  }]);
  const lines = () => v.conversations.find((c) => c.key === "@bob")!.lines;
  assert.equal(lines().length, 1);
  assert.equal(lines()[0]!.state, "failed");
  const row = () => layoutLines(lines(), 100, "alice")[1]!.text.slice(6);
  assert.equal(
    row(),
    "you: see you at 8 ✗ not sent: User 2 has too many undelivered messages (/resend)",
  );
  v = applyEvent(v, sent, 2_000);
  assert.equal(lines().length, 1, "the same line, not a new one");
  assert.equal(row(), "you: see you at 8 …");
  v = applyEvent(v, { event: "accepted", client_msg_id: "c-1", id: 40 }, 2_000);
  assert.equal(row(), "you: see you at 8 ✓");
});

Deno.test("TuiController: /resend in a conversation resends that conversation's failed messages", () => {
  const runner = new _Runner();
  const c = new TuiController("alice", runner);
  c.onEvent(_ready);
  c.onEvent({ event: "friend", user: "bob", id: 2, initiated_by: "me" });
  c.onEvent({
    event: "groups",
    groups: [{ id: 7, name: "hikers", admin: 1, members: [1, 2], epoch: 1 }],
  });
  _typeLine(c, "resend"); // on the status pane: every conversation
  _typeLine(c, "/query bob");
  _typeLine(c, "/resend");
  _typeLine(c, "/resend 2");
  _typeLine(c, "/query hikers");
  _typeLine(c, "/resend");
  return c.idle().then(() => {
    assert.deepEqual(runner.ran.filter((r) => r.name === "resend"), [
      { name: "resend", target: null, index: null },
      { name: "resend", target: "bob", index: null },
      { name: "resend", target: "bob", index: 2 },
      { name: "resend", target: "7", index: null },
    ]);
  });
});

Deno.test("applyEvent() keeps one line for a failed message both live and in the history", () => {
  const failed = {
    id: null,
    from: 1,
    from_name: "alice",
    text: "see you at 8",
    sent_at: 900,
    state: "failed",
    file: null,
    client_msg_id: "c-1",
  };
  let v = _view([_ready, { event: "friend", user: "bob", id: 2, initiated_by: "me" }, {
    event: "sent",
    client_msg_id: "c-1",
    to: "bob",
    group: null,
    to_id: 2,
    text: "see you at 8",
    state: "sending",
  }, { event: "error", message: "Bob is full", client_msg_id: "c-1" }]);
  v = select(v, "@bob");
  v = applyEvent(v, { event: "history", target: "bob", messages: [failed] }, 1_000);
  const lines = () => v.conversations.find((c) => c.key === "@bob")!.lines;
  assert.equal(lines().length, 1);
  assert.equal(lines()[0]!.state, "failed");
  // Resent: the history's line is the one that goes back to sending.
  v = applyEvent(v, { event: "accepted", client_msg_id: "c-1", id: 41 }, 1_000);
  assert.deepEqual(lines().map((l) => [l.state, l.msgId]), [["accepted", 41]]);
});
