import assert from "node:assert/strict";
import {
  CONTINUATION_MARK,
  displaySafe,
  displayWidth,
  LINE_BREAK_MARK,
  TAB_WIDTH,
} from "../../core/client/text/text_safety.ts";
import { balanceBidi, FSI, openBidi, PDI } from "../../core/client/text/text_bidi.ts";

const FAMILY = "\u{1F469}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}"; // 👩‍👩‍👧‍👦
const RAINBOW_FLAG = "\u{1F3F3}\uFE0F\u200D\u{1F308}"; // 🏳️‍🌈
const SCOTLAND = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}"; // 🏴󠁧󠁢󠁳󠁣󠁴󠁿
const PERSIAN = "\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645"; // می‌خواهم, "I want"

/** True when `s` leaves no bidi control open and closes none it did not open. */
function _balanced(s: string): boolean {
  return openBidi(s).length === 0 && balanceBidi(s) === s;
}

Deno.test("displaySafe() keeps emoji ZWJ, modifier, flag and tag sequences intact", () => {
  for (
    const emoji of [FAMILY, RAINBOW_FLAG, SCOTLAND, "\u{1F44D}\u{1F3FD}", "\u{1F1EB}\u{1F1F7}"]
  ) {
    assert.equal(displaySafe(`hi ${emoji}!`), `hi ${emoji}!`);
  }
  assert.equal(displaySafe("\u2764\uFE0F 1\uFE0F\u20E3"), "\u2764\uFE0F 1\uFE0F\u20E3");
});

Deno.test("displaySafe() keeps Persian with its ZWNJ, in a first-strong isolate", () => {
  assert.equal(displaySafe(PERSIAN), FSI + PERSIAN + PDI);
  assert.equal(displayWidth(displaySafe(PERSIAN)), 7);
});

Deno.test("displaySafe() keeps combining marks and wide characters", () => {
  assert.equal(displaySafe("caf\u0065\u0301"), "caf\u0065\u0301");
  assert.equal(
    displaySafe("Ti\u1EBFng Vi\u1EC7t, \u6F22\u5B57, \uD55C\uAE00"),
    "Ti\u1EBFng Vi\u1EC7t, 漢字, 한글",
  );
});

Deno.test("displaySafe() leaves plain text as it was", () => {
  assert.equal(displaySafe("plain ✓ text, 100% [ok] <b>"), "plain ✓ text, 100% [ok] <b>");
  assert.equal(displaySafe(""), "");
});

Deno.test("displaySafe() expands tabs to the next multiple of TAB_WIDTH columns", () => {
  assert.equal(TAB_WIDTH, 4);
  assert.equal(displaySafe("tab\tok"), "tab ok");
  assert.equal(displaySafe("\tx"), "    x");
  assert.equal(displaySafe("ab\t\tc"), "ab      c");
  // Columns, not code units: 漢字 is 4 columns wide, é is 1.
  assert.equal(displaySafe("漢字\tx"), "漢字    x");
  assert.equal(displaySafe("e\u0301\tx"), "e\u0301   x");
  // Each line has its own tab stops.
  assert.equal(displaySafe("abcde\tx\ny\tz"), `abcde   x\n${CONTINUATION_MARK}y   z`);
});

Deno.test("displaySafe() removes escape and control sequences whole", () => {
  assert.equal(displaySafe("\x1b[2J\x1b[Hhi"), "hi");
  assert.equal(displaySafe("\x1b]0;pwned\x07hi"), "hi");
  assert.equal(displaySafe("\x1b]0;pwned\x1b\\hi"), "hi");
  assert.equal(displaySafe("\x1b[31;1mred\x1b[0m"), "red");
  assert.equal(displaySafe("a\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\b"), "alinkb");
  assert.equal(displaySafe("\x1bPq#0;2;0;0;0\x1b\\x"), "x"); // DCS (sixel)
  assert.equal(displaySafe("\x1b_payload\x9cx"), "x"); // APC ended by 8-bit ST
  assert.equal(displaySafe("\x9b2Jx"), "x"); // 8-bit CSI
  assert.equal(displaySafe("\x9d0;t\x07x"), "x"); // 8-bit OSC
  assert.equal(displaySafe("\x90q\x9cx"), "x"); // 8-bit DCS and ST
  assert.equal(displaySafe("a\x1bcb"), "ab"); // ESC c: full reset
  assert.equal(displaySafe("a\x1b(Bb"), "ab"); // ESC ( B: character set
  assert.equal(displaySafe("hi \x1b]0;no end"), "hi "); // unterminated: to the end
  assert.equal(displaySafe("end\x1b"), "end");
  const out = displaySafe("x\x1b[2J\x1b]0;t\x07\x9b1m\x1b");
  assert.equal(/\p{Cc}/u.test(out), false);
});

Deno.test("displaySafe() shows other controls as U+FFFD", () => {
  assert.equal(
    displaySafe("a\x07b\x08c\x00d\x7fe\x80f\x99"),
    "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDf\uFFFD",
  );
  assert.equal(displaySafe("pay 100\b\b\b999"), "pay 100\uFFFD\uFFFD\uFFFD999");
});

Deno.test("displaySafe() turns lone surrogates and noncharacters into U+FFFD", () => {
  assert.equal(displaySafe("a\uD800b\uDC00c"), "a\uFFFDb\uFFFDc");
  assert.equal(displaySafe("\uFDD0\uFFFE\u{1FFFF}\u{10FFFF}"), "\uFFFD".repeat(4));
});

Deno.test("displaySafe() drops invisible format characters that hide or reshape text", () => {
  assert.equal(displaySafe("soft\u00ADhyphen \uFEFFbom \u206Eshape"), "softhyphen bom shape");
  assert.equal(displaySafe("a\uFFF9b\uFFFAc\uFFFBd"), "abcd");
  // Tag characters outside an emoji tag sequence would carry invisible text.
  assert.equal(displaySafe("ok\u{E0069}\u{E0067}\u{E006E}"), "ok");
  assert.equal(displaySafe(`${SCOTLAND}\u{E0041}`), SCOTLAND);
});

Deno.test("displaySafe() keeps 30 combining marks in a row and drops the rest", () => {
  const zalgo = "a" + "\u0301".repeat(500);
  assert.equal(displaySafe(zalgo), "a" + "\u0301".repeat(30));
  assert.equal(displaySafe("a\u0301\u0302\u0303"), "a\u0301\u0302\u0303");
});

Deno.test("displaySafe() neutralises a bidi override: balanced and isolated", () => {
  const out = displaySafe("abc\u202Edef");
  assert.equal(out, `${FSI}abc\u202Edef\u202C${PDI}`);
  assert.ok(_balanced(out));
  // A name printed after it is not reversed: every control is closed before it.
  assert.ok(_balanced(`[12:00] ${out} bob`));
});

Deno.test("displaySafe() drops bidi closers that would end the isolate early", () => {
  assert.equal(displaySafe("a\u2069\u202Cb\u202E"), `${FSI}ab\u202E\u202C${PDI}`);
  assert.equal(displaySafe("\u2067x\u202By"), `${FSI}\u2067x\u202By\u202C\u2069${PDI}`);
  for (const evil of ["\u2069\u2069\u202E", "\u202D\u2066\u202C", "\u061C\u200F\u202E\u2069"]) {
    assert.ok(_balanced(displaySafe(evil)), JSON.stringify(evil));
  }
});

Deno.test("displaySafe() keeps balanced bidi marks and isolates each line on its own", () => {
  assert.equal(displaySafe("\u2067שלום\u2069 hi"), `${FSI}\u2067שלום\u2069 hi${PDI}`);
  assert.equal(displaySafe("שלום\nhello"), `${FSI}שלום${PDI}\n${CONTINUATION_MARK}hello`);
  // An override opened on one line does not reach the next.
  assert.equal(
    displaySafe("\u202Eab\ncd"),
    `${FSI}\u202Eab\u202C${PDI}\n${CONTINUATION_MARK}cd`,
  );
});

Deno.test("displaySafe() starts every continuation line with the mark", () => {
  assert.equal(CONTINUATION_MARK, "  ↳ ");
  assert.equal(displaySafe("hi\nbob: hi"), "hi\n  ↳ bob: hi");
  assert.equal(
    displaySafe("hi\n[12:00] bank: send money"),
    "hi\n  ↳ [12:00] bank: send money",
  );
  for (const br of ["\n", "\r", "\r\n", "\v", "\f", "\x85", "\u2028", "\u2029"]) {
    assert.equal(displaySafe(`a${br}b`), "a\n  ↳ b", JSON.stringify(br));
  }
  assert.equal(displaySafe("a\n\nb\n"), "a\n  ↳ \n  ↳ b\n  ↳ ");
  assert.equal(displaySafe("a\nb", { continuation: "| " }), "a\n| b");
  // No line of the result starts at column 0 except the first.
  const out = displaySafe("x\r\n\u2028y\rz\n\x85w");
  assert.ok(out.split("\n").slice(1).every((l) => l.startsWith(CONTINUATION_MARK)));
});

Deno.test("displaySafe() with singleLine keeps everything on one line", () => {
  assert.equal(LINE_BREAK_MARK, " ↵ ");
  assert.equal(displaySafe("alice\nbob: hi", { singleLine: true }), "alice ↵ bob: hi");
  assert.equal(displaySafe("a\r\nb\u2029c", { singleLine: true }), "a ↵ b ↵ c");
  assert.equal(displaySafe("a\x1b[2J\tb", { singleLine: true }), "a   b");
});

Deno.test("displaySafe() with keepBidi leaves bidi controls alone and adds no isolate", () => {
  const typed = "abc\u202Edef \u05D0";
  assert.equal(displaySafe(typed, { singleLine: true, keepBidi: true }), typed);
  // The cleaned start of the text is a start of the cleaned text (the input line relies on it).
  const text = "a\tb\u202Ec\x07d e";
  const full = displaySafe(text, { singleLine: true, keepBidi: true });
  for (let i = 0; i <= text.length; i++) {
    const before = displaySafe(text.slice(0, i), { singleLine: true, keepBidi: true });
    assert.ok(full.startsWith(before), `${i}`);
  }
});
