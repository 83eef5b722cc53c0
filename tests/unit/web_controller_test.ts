/**
 * Tests of the web client's controller (web/web_controller.ts) without a page: a fake
 * engine records the commands it is given, and engine events are fed in by hand.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ClientCommand, COMMAND_SPECS } from "../../core/client/engine/commands.ts";
import type { ClientEvent } from "../../core/client/engine/events.ts";
import { HISTORY_PAGE, WebController, type WebEngine } from "../../web/web_controller.ts";

/**
 * An engine that records commands. Each `run()` answers with the next of `answers` (called
 * then, so a rejection is never left unhandled), or a resolved promise when none is left.
 */
class FakeEngine implements WebEngine {
  readonly ran: ClientCommand[] = [];
  readonly answers: (() => Promise<void>)[] = [];
  run(cmd: ClientCommand): Promise<void> {
    this.ran.push(cmd);
    return this.answers.shift()?.() ?? Promise.resolve();
  }
}

const READY: ClientEvent = { event: "ready", user: "alice", id: 1, server: 1 };
const FRIENDS: ClientEvent = {
  event: "friends",
  friends: [{ id: 2, user: "bob", verified_keys: true }],
};
const GROUPS: ClientEvent = {
  event: "groups",
  groups: [{
    id: 7,
    name: "team",
    admin: 1,
    members: [1, 2],
    epoch: 0,
    admin_name: "alice",
    member_names: ["alice", "bob"],
  }],
};

/** A controller for alice, logged in, with friend bob (`@bob`) and group team (`#7`). */
function _setup(): { ctl: WebController; engine: FakeEngine } {
  const engine = new FakeEngine();
  const ctl = new WebController("alice", engine);
  for (const e of [READY, FRIENDS, GROUPS]) ctl.onEvent(e);
  return { ctl, engine };
}

/** `open()` asks for history; drop those commands so a test sees only its own. */
async function _opened(key: string): Promise<{ ctl: WebController; engine: FakeEngine }> {
  const s = _setup();
  s.ctl.open(key);
  await s.ctl.idle();
  s.engine.ran.length = 0;
  return s;
}

Deno.test("submit() of plain text in a direct conversation sends single_message to that user", async () => {
  const { ctl, engine } = await _opened("@bob");
  ctl.submit("hello bob");
  await ctl.idle();
  assert.deepEqual(engine.ran, [{ name: "single_message", user: "bob", text: "hello bob" }]);
  assert.deepEqual(ctl.snapshot.view.outgoing, { conv: "@bob", text: "hello bob" });
});

Deno.test("submit() of plain text in a group sends group_message with the group ID", async () => {
  const { ctl, engine } = await _opened("#7");
  ctl.submit("hello team");
  await ctl.idle();
  assert.deepEqual(engine.ran, [{ name: "group_message", group: "7", text: "hello team" }]);
});

Deno.test("submit() of blank text does nothing", async () => {
  const { ctl, engine } = await _opened("@bob");
  ctl.submit("   ");
  await ctl.idle();
  assert.deepEqual(engine.ran, []);
});

Deno.test("submit() of /add_friend runs add_friend", async () => {
  const { ctl, engine } = await _opened("#7");
  ctl.submit("/add_friend carol");
  await ctl.idle();
  assert.deepEqual(engine.ran, [{ name: "add_friend", user: "carol" }]);
});

Deno.test("submit() of a malformed command shows an error notice and runs nothing", async () => {
  const { ctl, engine } = await _opened("@bob");
  ctl.submit("/msg");
  await ctl.idle();
  assert.deepEqual(engine.ran, []);
  const notice = ctl.snapshot.view.notice;
  assert.equal(notice?.error, true);
  assert.match(notice.text, /single_message: expected USER and TEXT/);
});

Deno.test("submit() on the status conversation treats the text as a command", async () => {
  const { ctl, engine } = _setup();
  assert.equal(ctl.snapshot.view.current, "*");
  ctl.submit("add_friend carol");
  await ctl.idle();
  assert.deepEqual(engine.ran, [{ name: "add_friend", user: "carol" }]);
});

Deno.test("open() asks for a conversation's history once, then not again", async () => {
  const { ctl, engine } = _setup();
  ctl.open("@bob");
  ctl.open("#7");
  ctl.open("@bob");
  ctl.open("#7");
  await ctl.idle();
  assert.equal(ctl.snapshot.view.current, "#7");
  assert.deepEqual(engine.ran, [
    { name: "history", target: "bob", count: HISTORY_PAGE },
    { name: "history", target: "7", count: HISTORY_PAGE },
  ]);
});

Deno.test("open() of the status conversation or an unknown key asks for nothing", async () => {
  const { ctl, engine } = _setup();
  ctl.open("*");
  ctl.open("@nobody");
  await ctl.idle();
  assert.deepEqual(engine.ran, []);
  assert.equal(ctl.snapshot.view.current, "*");
});

Deno.test("onEvent() request adds a request, and no line, unread count or notice repeats it", () => {
  const { ctl } = _setup();
  ctl.open("@bob");
  const before = ctl.snapshot.view;
  ctl.onEvent({ event: "request", user: "eve", id: 5, text: null, messages: 0 });
  ctl.onEvent({ event: "request", user: "eve", id: 5, text: "hi", messages: 1 });
  ctl.onEvent({ event: "request", user: "mallory", id: 6, text: "yo", messages: 1 });
  assert.deepEqual(ctl.snapshot.requests, [
    { id: 5, user: "eve", text: "hi", messages: 1 },
    { id: 6, user: "mallory", text: "yo", messages: 1 },
  ]);
  assert.equal(ctl.snapshot.view, before, "the requests box is the one place");
  ctl.onEvent({ event: "contact_added", user: "eve", id: 5, messages: 1 });
  assert.deepEqual(ctl.snapshot.requests.map((r) => r.user), ["mallory"]);
  const words = ctl.snapshot.view.conversations.flatMap((c) => c.lines).map((l) => l.text);
  assert.deepEqual(words.filter((t) => /eve/.test(t)), ["You accepted eve; you can now chat"]);
});

Deno.test("onEvent() requests loaded at sign-in are not written out as a stale list", () => {
  const { ctl } = _setup();
  ctl.onEvent({ event: "requests", requests: [], blocked: [] });
  const words = ctl.snapshot.view.conversations.flatMap((c) => c.lines).map((l) => l.text);
  assert.ok(!words.includes("No requests."), words.join("\n"));
});

Deno.test("onEvent() request keeps a notice already shown", () => {
  const { ctl } = _setup();
  ctl.command("msg");
  const before = ctl.snapshot.view.notice;
  assert.notEqual(before, null);
  ctl.onEvent({ event: "request", user: "eve", id: 5, text: null, messages: 0 });
  assert.equal(ctl.snapshot.view.notice, before);
});

Deno.test("onEvent() requests replaces the requests and blocked lists", () => {
  const { ctl } = _setup();
  ctl.onEvent({ event: "request", user: "eve", id: 5, text: null, messages: 0 });
  ctl.onEvent({ event: "blocked", user: "troll", id: 9, dropped: 0 });
  ctl.onEvent({
    event: "requests",
    requests: [{ id: 6, user: "mallory", text: "yo", messages: 2, since: 1 }],
    blocked: [{ id: 10, user: "spam" }],
  });
  assert.deepEqual(ctl.snapshot.requests, [
    { id: 6, user: "mallory", text: "yo", messages: 2, since: 1 },
  ]);
  assert.deepEqual(ctl.snapshot.blocked, [{ id: 10, user: "spam" }]);
});

Deno.test("onEvent() contact_added removes the request", () => {
  const { ctl } = _setup();
  ctl.onEvent({ event: "request", user: "eve", id: 5, text: null, messages: 0 });
  ctl.onEvent({ event: "request", user: "mallory", id: 6, text: null, messages: 0 });
  ctl.onEvent({ event: "contact_added", user: "eve", id: 5, messages: 0 });
  assert.deepEqual(ctl.snapshot.requests.map((r) => r.user), ["mallory"]);
  assert.ok(ctl.snapshot.view.conversations.some((c) => c.key === "@eve"));
});

Deno.test("onEvent() blocked removes the request and adds the user to blocked", () => {
  const { ctl } = _setup();
  ctl.onEvent({ event: "request", user: "eve", id: 5, text: null, messages: 0 });
  ctl.onEvent({ event: "blocked", user: "eve", id: 5, dropped: 1 });
  ctl.onEvent({ event: "blocked", user: "eve", id: 5, dropped: 0 });
  assert.deepEqual(ctl.snapshot.requests, []);
  assert.deepEqual(ctl.snapshot.blocked, [{ id: 5, user: "eve" }]);
});

Deno.test("onEvent() unblocked removes the user from blocked", () => {
  const { ctl } = _setup();
  ctl.onEvent({ event: "blocked", user: "eve", id: 5, dropped: 0 });
  ctl.onEvent({ event: "blocked", user: "troll", id: 9, dropped: 0 });
  ctl.onEvent({ event: "unblocked", user: "eve", id: 5 });
  assert.deepEqual(ctl.snapshot.blocked, [{ id: 9, user: "troll" }]);
});

Deno.test("onEvent() groups fills group details with admin and member names", () => {
  const { ctl } = _setup();
  assert.deepEqual(ctl.snapshot.groups.get(7), {
    id: 7,
    name: "team",
    admin: 1,
    adminName: "alice",
    members: [{ id: 1, name: "alice" }, { id: 2, name: "bob" }],
  });
  assert.ok(ctl.snapshot.view.conversations.some((c) => c.key === "#7" && c.kind === "group"));
});

Deno.test("onEvent() groups without names shows #ID instead", () => {
  const { ctl } = _setup();
  ctl.onEvent({
    event: "groups",
    groups: [{ id: 8, name: "old", admin: 3, members: [3, 1], epoch: null }],
  });
  assert.deepEqual(ctl.snapshot.groups.get(8), {
    id: 8,
    name: "old",
    admin: 3,
    adminName: "#3",
    members: [{ id: 3, name: "#3" }, { id: 1, name: "#1" }],
  });
  assert.ok(ctl.snapshot.groups.has(7), "the groups known before stay");
});

function _groupEvent(
  change: Extract<ClientEvent, { event: "group" }>["change"],
  user: number,
  members: number[],
): ClientEvent {
  return {
    event: "group",
    group: 7,
    name: "team",
    change,
    user,
    user_name: user === 1 ? "alice" : "bob",
    by: 1,
    members,
    admin: 1,
    admin_name: "alice",
    member_names: members.map((m) => m === 1 ? "alice" : "bob"),
  };
}

Deno.test("onEvent() group removed of someone else updates the group's members", () => {
  const { ctl } = _setup();
  ctl.onEvent(_groupEvent("removed", 2, [1]));
  assert.deepEqual(ctl.snapshot.groups.get(7)?.members, [{ id: 1, name: "alice" }]);
});

Deno.test("onEvent() group removed of myself drops the group", () => {
  const { ctl } = _setup();
  ctl.onEvent(_groupEvent("removed", 1, [2]));
  assert.equal(ctl.snapshot.groups.has(7), false);
});

Deno.test("onEvent() group left by myself drops the group", () => {
  const { ctl } = _setup();
  ctl.onEvent(_groupEvent("left", 1, [2]));
  assert.equal(ctl.snapshot.groups.has(7), false);
});

Deno.test("onEvent() group deleted drops the group", () => {
  const { ctl } = _setup();
  ctl.onEvent(_groupEvent("deleted", 2, []));
  assert.equal(ctl.snapshot.groups.has(7), false);
});

Deno.test("onEvent() fingerprint and verified set safety; closeSafety() clears it", () => {
  const { ctl } = _setup();
  assert.equal(ctl.snapshot.safety, null);
  ctl.onEvent({ event: "fingerprint", user: "bob", id: 2, safety_number: "12345 67890" });
  assert.deepEqual(ctl.snapshot.safety, { user: "bob", number: "12345 67890", verified: false });
  ctl.onEvent({ event: "verified", user: "bob", id: 2, safety_number: "12345 67890" });
  assert.deepEqual(ctl.snapshot.safety, { user: "bob", number: "12345 67890", verified: true });
  ctl.closeSafety();
  assert.equal(ctl.snapshot.safety, null);
});

Deno.test("sendFile() on the status conversation shows an error notice and runs nothing", async () => {
  const { ctl, engine } = _setup();
  await ctl.sendFile("/tmp/photo.png");
  await ctl.idle();
  assert.deepEqual(engine.ran, []);
  assert.deepEqual(ctl.snapshot.view.notice, {
    text: "Open a conversation to send a file to",
    error: true,
  });
});

Deno.test("sendFile() in a group sends send_file with the group ID as target", async () => {
  const { ctl, engine } = await _opened("#7");
  await ctl.sendFile("/tmp/photo.png");
  assert.deepEqual(engine.ran, [{ name: "send_file", target: "7", path: "/tmp/photo.png" }]);
});

Deno.test("sendFile() in a direct conversation sends send_file to the user", async () => {
  const { ctl, engine } = await _opened("@bob");
  await ctl.sendFile("/tmp/photo.png");
  assert.deepEqual(engine.ran, [{ name: "send_file", target: "bob", path: "/tmp/photo.png" }]);
});

Deno.test("run() runs commands in order even when the first is slow", async () => {
  const { ctl, engine } = _setup();
  const slow = Promise.withResolvers<void>();
  engine.answers.push(() => slow.promise);
  const done: string[] = [];
  const first = ctl.run({ name: "friends" }).then(() => done.push("friends"));
  const second = ctl.run({ name: "groups" }).then(() => done.push("groups"));
  // Let every ready microtask run: the second must still wait for the first.
  await new Promise<void>((r) => setTimeout(r, 0));
  assert.deepEqual(engine.ran, [{ name: "friends" }]);
  assert.deepEqual(done, []);
  slow.resolve();
  await Promise.all([first, second]);
  assert.deepEqual(engine.ran, [{ name: "friends" }, { name: "groups" }]);
  assert.deepEqual(done, ["friends", "groups"]);
});

Deno.test("run() turns a failed command into an error notice and runs the next", async () => {
  const { ctl, engine } = _setup();
  engine.answers.push(() => Promise.reject(new Error("not connected")));
  await ctl.run({ name: "friends" });
  assert.deepEqual(ctl.snapshot.view.notice, { text: "not connected", error: true });
  await ctl.run({ name: "groups" });
  assert.deepEqual(engine.ran, [{ name: "friends" }, { name: "groups" }]);
});

Deno.test("subscribe() calls the listener on change; the unsubscribe function stops it", () => {
  const { ctl } = _setup();
  let calls = 0;
  const unsubscribe = ctl.subscribe(() => calls++);
  const before = ctl.snapshot;
  ctl.onEvent({ event: "unblocked", user: "eve", id: 5 });
  assert.equal(calls, 1);
  assert.notEqual(ctl.snapshot, before, "a change makes a new snapshot");
  ctl.clearNotice();
  assert.equal(calls, 2);
  unsubscribe();
  ctl.closeSafety();
  ctl.onEvent({ event: "unblocked", user: "eve", id: 5 });
  assert.equal(calls, 2);
});

Deno.test("WebController.onEvent() keeps where received files were saved, live and from history", () => {
  const { ctl } = _setup();
  ctl.onEvent({
    event: "file",
    id: 40,
    from: 2,
    from_name: "bob",
    group: null,
    name: "a.txt",
    path: "received/alice/a.txt",
    size: 3,
    sha256: "00",
  });
  ctl.onEvent({
    event: "history",
    target: "bob",
    messages: [
      {
        id: 41,
        from: 2,
        from_name: "bob",
        text: "",
        sent_at: 1,
        state: null,
        file: "received/alice/b (1).bin",
      },
      { id: 42, from: 2, from_name: "bob", text: "hi", sent_at: 2, state: null, file: null },
    ],
  });
  assert.deepEqual([...ctl.snapshot.files], [
    [40, "received/alice/a.txt"],
    [41, "received/alice/b (1).bin"],
  ]);
});

Deno.test("submit() of /help writes every command the parser accepts into the open conversation", async () => {
  const { ctl, engine } = await _opened("@bob");
  ctl.submit("/help");
  await ctl.idle();
  assert.deepEqual(engine.ran, [], "answered without the engine");
  const text = ctl.snapshot.view.conversations.find((c) => c.key === "@bob")!.lines
    .map((l) => l.text).join("\n");
  for (const [name, spec] of Object.entries(COMMAND_SPECS)) {
    assert.ok(text.includes(spec.usage), `${name} missing from /help`);
  }
});

Deno.test("submit() of the next line clears the notice", async () => {
  const { ctl } = await _opened("@bob");
  ctl.submit("/msg");
  assert.notEqual(ctl.snapshot.view.notice, null);
  ctl.submit("/friends");
  await ctl.idle();
  assert.equal(ctl.snapshot.view.notice, null);
});

Deno.test("WebController.onEvent() gives file lines their name and size, never only a path", () => {
  const { ctl } = _setup();
  ctl.onEvent({
    event: "file",
    id: 40,
    from: 2,
    from_name: "bob",
    group: null,
    name: "photo.bin",
    path: "received/alice/photo.bin",
    size: 204_800,
    sha256: "00",
  });
  ctl.onEvent({
    event: "sent",
    client_msg_id: "file-abc",
    to: "bob",
    group: null,
    text: "[file] notes.txt",
    state: "accepted",
    file: { name: "notes.txt", size: 3 },
  });
  ctl.onEvent({
    event: "history",
    target: "bob",
    messages: [
      {
        id: 41,
        from: 2,
        from_name: "bob",
        text: "[file] b (1).bin",
        sent_at: 1,
        state: null,
        file: "received/alice/b (1).bin",
        file_name: "b (1).bin",
        file_size: 2048,
      },
      {
        id: 43,
        from: 1,
        from_name: "alice",
        text: "[file] mine.bin",
        sent_at: 2,
        state: "delivered",
        file: "picked/1/mine.bin",
        file_name: "mine.bin",
        file_size: 10,
      },
      { id: 42, from: 2, from_name: "bob", text: "hi", sent_at: 3, state: null, file: null },
    ],
  });
  const lines = ctl.snapshot.view.conversations.find((c) => c.key === "@bob")!.lines;
  assert.deepEqual(lines.map((l) => [l.kind, l.file ?? null]), [
    ["in", { name: "b (1).bin", size: 2048, path: "received/alice/b (1).bin" }],
    ["out", { name: "mine.bin", size: 10, path: null }],
    ["in", null],
    ["in", { name: "photo.bin", size: 204_800, path: "received/alice/photo.bin" }],
    ["out", { name: "notes.txt", size: 3, path: null }],
  ]);
});

Deno.test("command() quit leaves the chat once the commands before it ran", async () => {
  const { ctl, engine } = _setup();
  let left = 0;
  ctl.onLeave = () => left++;
  ctl.command("friends");
  ctl.command("quit");
  await ctl.idle();
  await Promise.resolve();
  assert.equal(left, 1);
  assert.deepEqual(engine.ran.map((c) => c.name), ["friends"], "quit is not an engine command");
});

Deno.test("command() logout leaves the chat once the engine logged out, not when it failed", async () => {
  const { ctl, engine } = _setup();
  let left = 0;
  ctl.onLeave = () => left++;
  engine.answers.push(() => Promise.reject(new Error("Not connected")));
  ctl.command("logout");
  await ctl.idle();
  await Promise.resolve();
  assert.equal(left, 0, "still signed in after a failed logout");
  engine.answers.push(() => {
    ctl.onEvent({ event: "logged_out" });
    return Promise.resolve();
  });
  ctl.command("/logout");
  await ctl.idle();
  await Promise.resolve();
  assert.equal(left, 1);
});

Deno.test("command() send_file with a typed path explains the File… button, runs nothing", async () => {
  const { ctl, engine } = await _opened("@bob");
  ctl.command("send_file bob notes.txt");
  await ctl.idle();
  assert.deepEqual(engine.ran, []);
  assert.match(ctl.snapshot.view.notice?.text ?? "", /"File…" button/);
  assert.equal(ctl.snapshot.view.notice?.error, true);
});

Deno.test("onEvent() group_request lists a group request until it is joined or declined", () => {
  const { ctl } = _setup();
  const request: ClientEvent = {
    event: "group_request",
    group: 8,
    name: "Trip",
    by: 5,
    by_name: "mallory",
    admin: 5,
    admin_name: "mallory",
    members: [1, 5],
    member_names: ["alice", "mallory"],
  };
  ctl.onEvent(request);
  assert.deepEqual(ctl.snapshot.groupRequests, [{ id: 8, name: "Trip", by: 5, byName: "mallory" }]);
  assert.equal(ctl.snapshot.view.notice, null, "shown with its buttons, not as a notice");
  ctl.onEvent({ ...request, event: "group_joined", messages: 0 });
  assert.deepEqual(ctl.snapshot.groupRequests, []);
  assert.deepEqual(ctl.snapshot.groups.get(8)?.members.map((m) => m.name), ["alice", "mallory"]);
  ctl.onEvent(request);
  ctl.onEvent({ event: "group_declined", group: 8, name: "Trip", by: 5, by_name: "mallory" });
  assert.deepEqual(ctl.snapshot.groupRequests, []);
  ctl.onEvent({
    event: "requests",
    requests: [],
    blocked: [],
    groups: [{ id: 9, name: "Work", by: 6, by_name: "eve", since: 1 }],
  });
  assert.deepEqual(ctl.snapshot.groupRequests, [{ id: 9, name: "Work", by: 6, byName: "eve" }]);
});
