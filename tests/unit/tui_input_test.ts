/**
 * The full-screen client's input logic without a terminal: line editing by grapheme and by
 * word, history, Tab completion and the key bindings.
 */

import assert from "node:assert/strict";
import { complete } from "../../core/tui/completion.ts";
import { keyAction, splitTyped } from "../../core/tui/keymap.ts";
import {
  backspace,
  deleteForward,
  deleteWordBack,
  type EditorState,
  EMPTY_HISTORY,
  EMPTY_LINE,
  end,
  historyDown,
  historyUp,
  home,
  insert,
  killToEnd,
  killToStart,
  left,
  remember,
  right,
  wordLeft,
  wordRight,
} from "../../core/tui/line_editor.ts";

const _at = (text: string, cursor = text.length): EditorState => ({ text, cursor });

Deno.test("insert() and the cursor moves keep grapheme clusters whole", () => {
  const family = "👩‍👩‍👧‍👦";
  let s = insert(EMPTY_LINE, `a${family}e\u0301b`);
  assert.equal(s.cursor, s.text.length);
  s = left(s); // before "b"
  s = left(s); // before "é" (e + combining acute)
  assert.equal(s.text.slice(s.cursor), "e\u0301b");
  s = left(s); // before the whole family
  assert.equal(s.text.slice(s.cursor), `${family}e\u0301b`);
  s = backspace(s); // deletes "a"
  assert.equal(s.text, `${family}e\u0301b`);
  assert.equal(s.cursor, 0);
  s = deleteForward(s); // deletes the family in one go
  assert.equal(s.text, "e\u0301b");
  s = right(s);
  assert.equal(s.cursor, 2);
  assert.deepEqual(home(s).cursor, 0);
  assert.deepEqual(end(s).cursor, 3);
});

Deno.test("word moves and deletes stop at word starts and ends", () => {
  const s = _at("hello brave  new world");
  assert.equal(wordLeft(s).cursor, "hello brave  new ".length);
  assert.equal(wordLeft(wordLeft(s)).cursor, "hello brave  ".length);
  assert.equal(wordRight(_at(s.text, 0)).cursor, "hello".length);
  assert.equal(wordRight(_at(s.text, 5)).cursor, "hello brave".length);
  assert.deepEqual(deleteWordBack(s), _at("hello brave  new ", "hello brave  new ".length));
  assert.deepEqual(killToStart(_at(s.text, 6)), _at("brave  new world", 0));
  assert.deepEqual(killToEnd(_at(s.text, 5)), _at("hello", 5));
  // Persian with a zero-width non-joiner is one word, not split at the ZWNJ.
  const fa = _at("می‌خواهم بروم");
  assert.equal(wordLeft(fa).cursor, "می‌خواهم ".length);
  assert.equal(wordLeft(wordLeft(fa)).cursor, 0);
});

Deno.test("historyUp() and historyDown() walk sent lines and come back to the draft", () => {
  let h = remember(remember(remember(EMPTY_HISTORY, "one"), "two"), "two");
  h = remember(h, "   ");
  assert.deepEqual(h.entries, ["one", "two"], "no blanks, no repeats");
  let line = _at("draft");
  [h, line] = historyUp(h, line);
  assert.equal(line.text, "two");
  [h, line] = historyUp(h, line);
  assert.equal(line.text, "one");
  [h, line] = historyUp(h, line);
  assert.equal(line.text, "one", "stops at the oldest");
  [h, line] = historyDown(h, line);
  [h, line] = historyDown(h, line);
  assert.deepEqual(line, _at("draft"));
  [h, line] = historyDown(h, line);
  assert.deepEqual(line, _at("draft"));
});

Deno.test("complete() fills commands first, names after, and lists ambiguous ones", () => {
  const source = {
    commands: ["add_friend", "add_member", "accept_key", "query", "quit"],
    names: ["bob", "bobby", "hikers"],
  };
  assert.deepEqual(complete(_at("/qu"), source).line, _at("/qu"), "query and quit share qu");
  assert.deepEqual(complete(_at("/qu"), source).candidates, ["query", "quit"]);
  assert.deepEqual(complete(_at("/que"), source).line, _at("/query "));
  assert.deepEqual(complete(_at("add_m"), source).line, _at("add_member "));
  assert.deepEqual(complete(_at("/add_member hik"), source).line, _at("/add_member hikers "));
  const bob = complete(_at("/msg bo"), source);
  assert.deepEqual(bob.line, _at("/msg bob"));
  assert.deepEqual(bob.candidates, ["bob", "bobby"]);
  // Completing in the middle keeps what follows the cursor.
  assert.deepEqual(complete({ text: "/msg hi there", cursor: 7 }, source).line, {
    text: "/msg hikers  there",
    cursor: 12,
  });
  assert.deepEqual(complete(_at("/msg zed"), source).candidates, []);
});

Deno.test("keyAction() maps editing keys, history, switching and quitting", () => {
  const line = _at("hello world");
  const edit = (input: string, key: Record<string, boolean>) => {
    const a = keyAction(input, key, line);
    assert.equal(a.kind, "edit", `${input} ${JSON.stringify(key)}`);
    return a.kind === "edit" ? a.edit(line) : line;
  };
  assert.equal(edit("a", { ctrl: true }).cursor, 0);
  assert.equal(edit("", { leftArrow: true, ctrl: true }).cursor, 6);
  assert.equal(edit("w", { ctrl: true }).text, "hello ");
  assert.equal(edit("u", { ctrl: true }).text, "");
  assert.equal(edit("", { backspace: true }).text, "hello worl");
  assert.equal(edit("x", {}).text, "hello worldx");
  assert.equal(edit("\t", {}).text, "hello world    ");
  assert.deepEqual(keyAction("", { upArrow: true }, line), { kind: "history", direction: -1 });
  assert.deepEqual(keyAction("n", { ctrl: true }, line), { kind: "conversation", delta: 1 });
  assert.deepEqual(keyAction("3", { meta: true }, line), { kind: "jump", index: 3 });
  assert.deepEqual(keyAction("", { pageUp: true }, line), { kind: "scroll", pages: 1 });
  assert.deepEqual(keyAction("", { return: true }, line), { kind: "submit" });
  assert.deepEqual(keyAction("", { tab: true }, line), { kind: "complete" });
  assert.deepEqual(keyAction("c", { ctrl: true }, line), { kind: "quit" });
  assert.deepEqual(keyAction("d", { ctrl: true }, EMPTY_LINE), { kind: "quit" });
  // An unrecognised escape sequence is never typed into a message.
  assert.deepEqual(keyAction("\x1b[1;9A", {}, line), { kind: "none" });
  assert.deepEqual(keyAction("\x01", {}, line), { kind: "none" });
});

Deno.test("splitTyped() turns Tab and Enter inside a typed chunk into key presses", () => {
  assert.deepEqual(splitTyped("/fingerp\t"), [
    { input: "/fingerp", key: {} },
    { input: "", key: { tab: true } },
  ]);
  assert.deepEqual(splitTyped("hi\rthere"), [
    { input: "hi", key: {} },
    { input: "", key: { return: true } },
    { input: "there", key: {} },
  ]);
  assert.deepEqual(splitTyped("plain"), [{ input: "plain", key: {} }]);
});
