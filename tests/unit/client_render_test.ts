import assert from "node:assert/strict";
import { clean, cleanLine, renderEvent, renderSafetyNumber } from "../../core/view/event_text.ts";
import { displayWidth } from "../../core/client/text/text_width.ts";
import { expandHome } from "../../core/client/deno/deno_files.ts";

Deno.test("clean() neutralises escape sequences, bidi overrides and fake new lines", () => {
  assert.equal(clean("\x1b[2J\x1b]0;pwned\x07hi"), "hi");
  assert.equal(clean("abc\u202Edef"), "\u2068abc\u202Edef\u202C\u2069");
  assert.equal(clean("hi\n[12:00] bank: send money"), "hi\n  ↳ [12:00] bank: send money");
  assert.equal(
    clean("hi\n  ✓ delivered to bob (message 7)"),
    "hi\n  ↳   ✓ delivered to bob (message 7)",
  );
  assert.equal(clean("tab\tok"), "tab ok");
  assert.equal(clean("plain ✓ text"), "plain ✓ text");
});

Deno.test("clean() keeps emoji sequences, ZWNJ and combining marks", () => {
  const family = "\u{1F469}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}";
  const rainbow = "\u{1F3F3}\uFE0F\u200D\u{1F308}";
  assert.equal(clean(`${family} ${rainbow} cafe\u0301`), `${family} ${rainbow} cafe\u0301`);
  const persian = "\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645";
  assert.equal(clean(persian), `\u2068${persian}\u2069`);
});

Deno.test("cleanLine() keeps a name on one line", () => {
  assert.equal(cleanLine("evil\nbob: hi"), "evil ↵ bob: hi");
  assert.equal(cleanLine("\x1b]0;t\x07name"), "name");
});

Deno.test("renderEvent() cleans group names and error messages too", () => {
  const g = renderEvent({
    event: "group",
    group: 1,
    name: "evil\x1b[2Jname",
    change: "created",
    user: 1,
    user_name: "alice",
    by: 1,
    members: [1, 2],
    admin: 1,
  })!;
  assert.equal(g.includes("\x1b"), false);
  const e = renderEvent({ event: "error", message: "bad \x1b]0;title\x07" })!;
  assert.equal(e.includes("\x1b") || e.includes("\x07"), false);
  const m = renderEvent({
    event: "message",
    id: 1,
    from: 2,
    from_name: "bob",
    group: 3,
    group_name: "x\u202Ey",
    text: "line1\nline2",
    sent_at: 0,
  })!;
  assert.match(m, /\u2068x\u202Ey\u202C\u2069\/bob: line1\n {2}↳ line2$/);
});

Deno.test("renderEvent() never lets a message start a line of its own", () => {
  const m = renderEvent({
    event: "message",
    id: 1,
    from: 2,
    from_name: "mallory",
    group: null,
    group_name: null,
    text: "hi\nbob: hi\r[12:00] bank: send money",
    sent_at: 0,
  })!;
  const lines = m.split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^\[\d\d:\d\d\] mallory: hi$/);
  assert.equal(lines[1], "  ↳ bob: hi");
  assert.equal(lines[2], "  ↳ [12:00] bank: send money");
});

Deno.test("renderEvent() aligns the groups table by columns, with wide names", () => {
  const t = renderEvent({
    event: "groups",
    groups: [
      { id: 1, name: "漢字", admin: 1, members: [1], epoch: 1 },
      { id: 2, name: "abcd", admin: 1, members: [1], epoch: 1 },
    ],
  })!;
  const [a, b] = t.split("\n");
  const column = (row: string) => displayWidth(row.slice(0, row.indexOf("admin")));
  assert.equal(column(a!), column(b!));
});

Deno.test("renderEvent() names people, quotes receipts and says one line per reconnect", () => {
  const ctx = { myId: 1, sentText: (id: string) => id === "c1" ? "hello there bob" : undefined };
  assert.equal(
    renderEvent({ event: "connecting", attempt: 1, reason: "connection closed (1006)" }, ctx),
    "Connection lost (connection closed (1006)); reconnecting…",
  );
  assert.equal(renderEvent({ event: "connecting", attempt: 2, reason: "fetch failed" }, ctx), null);
  assert.equal(
    renderEvent(
      { event: "delivered", id: 87, to: 2, to_name: "bob", client_msg_id: "c1" },
      ctx,
    ),
    "  ✓ delivered to bob: “hello there bob”",
  );
  assert.equal(
    renderEvent({ event: "delivered", id: 88, to: 2, to_name: "bob" }, ctx),
    "  ✓ delivered to bob: message 88",
  );
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
    member_names: ["bob", "carol"],
  };
  assert.equal(
    renderEvent({ ...group, change: "removed" as const }, ctx),
    "[group hikers] bob removed you; members: bob, carol",
  );
  assert.equal(
    renderEvent({ ...group, change: "added" as const }, ctx),
    "[group hikers] bob added you; members: bob, carol",
  );
  assert.equal(
    renderEvent({ ...group, change: "added" as const, user: 3, user_name: "carol" }, ctx),
    "[group hikers] carol was added; members: bob, carol",
  );
  assert.match(
    renderEvent({ event: "sent", client_msg_id: "c2", to: "bob", group: null, state: "queued" })!,
    /queued while offline: goes to bob when the connection is back/,
  );
  const history = renderEvent({
    event: "history",
    target: "bob",
    messages: [{
      id: 1,
      from: 2,
      from_name: "bob",
      text: "hi",
      sent_at: new Date(2026, 10, 27, 9, 5).getTime(),
      state: null,
      file: null,
    }],
  });
  assert.equal(history, "[2026-11-27 09:05] bob: hi");
});

Deno.test("expandHome() puts ~/ under $HOME and leaves other paths alone", () => {
  assert.equal(expandHome("~/photo.png", "/home/ann"), "/home/ann/photo.png");
  assert.equal(expandHome("~", "/home/ann"), "/home/ann");
  assert.equal(expandHome("~bob/x", "/home/ann"), "~bob/x");
  assert.equal(expandHome("./x", "/home/ann"), "./x");
  assert.equal(expandHome("~/x", ""), "~/x");
});

Deno.test("renderEvent() words requests, blocking, refused files and verification", () => {
  assert.equal(
    renderEvent({ event: "request", user: "bob", id: 2, text: null, messages: 1 }),
    'bob (#2) is not a contact and wants to talk to you: "accept bob" to talk, "block bob" to refuse.',
  );
  assert.equal(
    renderEvent({ event: "request", user: "bob", id: 2, text: "hi\n[12:00] x", messages: 2 }),
    'Request from bob (#2): “hi ↵ [12:00] x” ("accept bob" to talk, "block bob" to refuse).',
  );
  assert.equal(
    renderEvent({ event: "contact_added", user: "bob", id: 2, messages: 2 }),
    "You accepted bob (#2); you can now chat; their waiting 2 messages follow.",
  );
  assert.equal(
    renderEvent({ event: "blocked", user: "bob", id: 2, dropped: 0 }),
    "Blocked bob (#2): what they send is dropped.",
  );
  assert.match(
    renderEvent({ event: "unblocked", user: "bob", id: 2 })!,
    /Unblocked bob \(#2\); a new message from them is a request/,
  );
  assert.equal(
    renderEvent({
      event: "requests",
      requests: [{ id: 2, user: "bob", text: "hello", messages: 3, since: 0 }],
      blocked: [{ id: 3, user: "mallory" }],
    }),
    "Requests (accept USER, or block USER):\n" +
      "  bob                  #2  3 messages: “hello”\n" +
      "Blocked: mallory",
  );
  assert.equal(
    renderEvent({ event: "requests", requests: [], blocked: [] }),
    "No requests.",
  );
  assert.equal(
    renderEvent({
      event: "file_refused",
      from: 2,
      from_name: "bob",
      group: null,
      group_name: null,
      name: "a\x1b[2Jb.png",
      size: 10,
      reason: "not_contact",
      limit: 5,
      message: "a\x1b[2Jb.png from bob (10 bytes) was not saved",
    }),
    "[file not saved] ab.png from bob (10 bytes) was not saved",
  );
  assert.equal(
    renderEvent({ event: "file_limit", bytes: 25 * 1024 * 1024 }),
    "Files from contacts are saved up to 25.0 MiB.",
  );
  assert.match(
    renderEvent({ event: "verified", user: "bob", id: 2, safety_number: "1".repeat(60) })!,
    /^bob \(#2\) is verified \(safety number 11111 11111 /,
  );
  const own = renderEvent({ event: "own_keys_changed", user: "a", id: 1, message: "WARNING: x" });
  assert.match(own!, /!!!!\n!! WARNING: x\n!!!!/);
  assert.equal(
    renderEvent({
      event: "friends",
      friends: [
        { id: 2, user: "bob", verified_keys: true, verified: true },
        { id: 3, user: "carol", verified_keys: false, verified: false },
      ],
    }),
    "  bob                  #2  verified\n  carol                #3  KEYS CHANGED",
  );
});

Deno.test("renderEvent() confirms a message the server stored, before any receipt", () => {
  const ctx = { sentText: (id: string) => id === "c1" ? "see you at nine" : undefined };
  assert.equal(
    renderEvent({ event: "accepted", client_msg_id: "c1", id: 5 }, ctx),
    "  ✓ on the server: “see you at nine”",
  );
  assert.equal(renderEvent({ event: "accepted", client_msg_id: "file-1", id: 6 }, ctx), null);
});

const _DIGITS = "238735319977598667074966780613481204359561106114896613795033";

Deno.test("renderEvent() shows safety numbers as three lines of four 5-digit groups", () => {
  assert.equal(
    renderEvent({ event: "fingerprint", user: "bob", id: 2, safety_number: _DIGITS }),
    "Safety number with bob (#2):\n" +
      "  23873 53199 77598 66707\n  49667 80613 48120 43595\n  61106 11489 66137 95033\n" +
      "Compare it with theirs in person or on a call; if it matches, nobody is in between.",
  );
  const changed = renderEvent({
    event: "key_changed",
    user: "bob",
    id: 2,
    safety_number: _DIGITS,
    message: "bob's keys have changed",
  })!;
  assert.match(
    changed,
    /\n!! New safety number:\n!! {3}23873 53199 77598 66707\n!! {3}49667 80613 48120 43595\n!! {3}61106 11489 66137 95033\n!!!!/,
  );
  assert.equal(
    renderEvent({ event: "verified", user: "bob", id: 2, safety_number: _DIGITS }),
    "bob (#2) is verified (safety number 23873 53199 77598 66707 49667 80613 48120 43595 " +
      "61106 11489 66137 95033); a change of their keys will be flagged.",
  );
});

Deno.test("renderSafetyNumber() shows a malformed number as it is, made safe to print", () => {
  assert.equal(renderSafetyNumber(_DIGITS, 4).split("\n").length, 3);
  assert.equal(renderSafetyNumber("1234"), "1234");
  assert.equal(renderSafetyNumber("12\x1b[2J34"), "1234");
});

Deno.test("renderEvent() counts messages in words: 1 message, 2 messages", () => {
  const requests = (messages: number) =>
    renderEvent({
      event: "requests",
      requests: [{ id: 2, user: "bob", text: "hi", messages, since: 0 }],
      blocked: [],
    })!;
  assert.match(requests(1), /#2 {2}1 message: “hi”/);
  assert.match(requests(2), /#2 {2}2 messages: “hi”/);
  assert.match(
    renderEvent({ event: "contact_added", user: "bob", id: 2, messages: 1 })!,
    /their waiting 1 message follow/,
  );
  assert.match(
    renderEvent({ event: "blocked", user: "bob", id: 2, dropped: 1 })!,
    /; 1 waiting message dropped\.$/,
  );
});

Deno.test("renderEvent() confirms accept, and says nothing of a key they sent", () => {
  assert.equal(
    renderEvent({ event: "contact_added", user: "erin", id: 5, messages: 0 }),
    "You accepted erin (#5); you can now chat.",
  );
  assert.equal(renderEvent({ event: "friend", user: "erin", id: 5, initiated_by: "them" }), null);
  assert.equal(
    renderEvent({ event: "friend", user: "bob", id: 2, initiated_by: "me" }),
    "You added bob (#2); you can message them now.",
  );
});
