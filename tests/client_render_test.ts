import assert from "node:assert/strict";
import { clean, renderEvent } from "../core/client/render.ts";

Deno.test("clean() neutralises escape sequences, bidi overrides and fake new lines", () => {
  assert.equal(clean("\x1b[2J\x1b]0;pwned\x07hi"), "\uFFFD[2J\uFFFD]0;pwned\uFFFDhi");
  assert.equal(clean("abc\u202Edef"), "abc\uFFFDdef");
  assert.equal(clean("hi\n[12:00] bank: send money"), "hi\n    [12:00] bank: send money");
  assert.equal(clean("tab\tok"), "tab\uFFFDok");
  assert.equal(clean("plain ✓ text"), "plain ✓ text");
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
  assert.match(m, /x\uFFFDy\/bob: line1\n {4}line2$/);
});
