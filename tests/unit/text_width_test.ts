import assert from "node:assert/strict";
import {
  displayWidth,
  graphemes,
  narrowEmojiPresentation,
  padToWidth,
  truncateToWidth,
  wrapToWidth,
} from "../../core/client/text/text_width.ts";
import { balanceBidi, FSI, openBidi, PDI } from "../../core/client/text/text_bidi.ts";

const FAMILY = "\u{1F469}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}"; // 👩‍👩‍👧‍👦
const RAINBOW_FLAG = "\u{1F3F3}\uFE0F\u200D\u{1F308}"; // 🏳️‍🌈
const SCOTLAND = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}"; // 🏴󠁧󠁢󠁳󠁣󠁴󠁿
const PERSIAN = "\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645"; // می‌خواهم

interface BreakCase {
  readonly line: string;
  readonly text: string;
  /** The expected clusters. */
  readonly clusters: string[];
}

/** The test lines of tests/testdata/unicode/GraphemeBreakTest-13.0.0-excerpt.txt. */
function _breakCases(): BreakCase[] {
  const file = new URL("../testdata/unicode/GraphemeBreakTest-13.0.0-excerpt.txt", import.meta.url);
  return Deno.readTextFileSync(file).split("\n")
    .map((l) => l.split("#")[0]!.trim())
    .filter((l) => l !== "")
    .map((line) => {
      const clusters: string[] = [];
      let cur = "";
      for (const tok of line.split(/\s+/)) {
        if (tok === "÷") {
          if (cur !== "") clusters.push(cur);
          cur = "";
        } else if (tok !== "×") cur += String.fromCodePoint(parseInt(tok, 16));
      }
      return { line, text: clusters.join(""), clusters };
    });
}

/** Offsets of the cluster boundaries of `c`, 0 and the end included. */
function _bounds(c: BreakCase): Set<number> {
  const out = new Set([0]);
  let at = 0;
  for (const g of c.clusters) out.add(at += g.length);
  return out;
}

/** True when `s` leaves no bidi control open and closes none it did not open. */
function _balanced(s: string): boolean {
  return openBidi(s).length === 0 && balanceBidi(s) === s;
}

Deno.test("graphemes() splits the Unicode GraphemeBreakTest lines at their ÷ marks", () => {
  const cases = _breakCases();
  assert.equal(cases.length, 24);
  for (const c of cases) assert.deepEqual(graphemes(c.text), c.clusters, c.line);
});

Deno.test("displayWidth() counts columns per grapheme cluster", () => {
  assert.equal(displayWidth("hello"), 5);
  assert.equal(displayWidth(FAMILY), 2);
  assert.equal(displayWidth(RAINBOW_FLAG), 2);
  assert.equal(displayWidth(SCOTLAND), 2);
  assert.equal(displayWidth("\u{1F44D}\u{1F3FD}"), 2); // 👍🏽 with a skin tone
  assert.equal(displayWidth("\u{1F1EB}\u{1F1F7}"), 2); // 🇫🇷
  assert.equal(displayWidth("\u2764\uFE0F"), 2); // ❤️ (emoji presentation)
  assert.equal(displayWidth("e\u0301"), 1);
  assert.equal(displayWidth("漢字かなカナ"), 12);
  assert.equal(displayWidth("ＡＢ"), 4); // fullwidth Latin
  assert.equal(displayWidth("ｶﾅ"), 2); // halfwidth katakana
  assert.equal(displayWidth("한글"), 4);
  assert.equal(displayWidth(PERSIAN), 7); // 8 code points, ZWNJ takes no column
  assert.equal(displayWidth(`${FSI}abc${PDI}\u200B\u200D\u200C\uFE0F`), 3);
  assert.equal(displayWidth("  ↳ "), 4);
  assert.equal(displayWidth(""), 0);
});

Deno.test("padToWidth() pads by columns, not code units", () => {
  assert.equal(padToWidth("漢字", 6), "漢字  ");
  assert.equal(padToWidth(FAMILY, 3), `${FAMILY} `);
  assert.equal(padToWidth("toolong", 3), "toolong");
});

Deno.test("truncateToWidth() cuts between grapheme clusters only", () => {
  assert.equal(truncateToWidth("hello", 3), "hel");
  assert.equal(truncateToWidth("hello", 5), "hello");
  assert.equal(truncateToWidth("hello", 0), "");
  assert.equal(truncateToWidth(`ab${FAMILY}cd`, 3), "ab"); // the family would need 4
  assert.equal(truncateToWidth(`ab${FAMILY}cd`, 4), `ab${FAMILY}`);
  assert.equal(truncateToWidth(`${RAINBOW_FLAG}${RAINBOW_FLAG}`, 3), RAINBOW_FLAG);
  assert.equal(truncateToWidth("cafe\u0301!", 4), "cafe\u0301");
  assert.equal(truncateToWidth("漢字かな", 5), "漢字");
  for (const c of _breakCases()) {
    const bounds = _bounds(c);
    for (let cols = 0; cols <= displayWidth(c.text) + 1; cols++) {
      const cut = truncateToWidth(c.text, cols);
      assert.ok(bounds.has(cut.length) && c.text.startsWith(cut), `${c.line} at ${cols}`);
      assert.ok(displayWidth(cut) <= cols, `${c.line} at ${cols}`);
    }
  }
});

Deno.test("truncateToWidth() puts the ellipsis inside the width, only when it cuts", () => {
  assert.equal(truncateToWidth("hello world", 6, "…"), "hello…");
  assert.equal(truncateToWidth("hello", 5, "…"), "hello");
  assert.equal(truncateToWidth("漢字かな", 6, "…"), "漢字…");
  assert.equal(truncateToWidth("hello", 0, "…"), "");
});

Deno.test("truncateToWidth() closes bidi controls the cut leaves open", () => {
  const isolated = `${FSI}${PERSIAN}${PDI}`;
  const cut = truncateToWidth(isolated, 3);
  assert.equal(cut, `${FSI}${PERSIAN.slice(0, 4)}${PDI}`); // ZWNJ belongs to the 2nd cluster
  assert.ok(_balanced(cut));
  assert.ok(_balanced(truncateToWidth("ab\u202Ecd", 10)));
});

Deno.test("wrapToWidth() breaks at spaces and drops them at the break", () => {
  assert.deepEqual(wrapToWidth("the quick brown fox", 10), ["the quick", "brown fox"]);
  assert.deepEqual(wrapToWidth("the quick brown fox", 9), ["the quick", "brown fox"]);
  assert.deepEqual(wrapToWidth("a  b", 1), ["a", "b"]);
  assert.deepEqual(wrapToWidth("  indented text", 20), ["  indented text"]);
  assert.deepEqual(wrapToWidth("", 10), [""]);
  assert.deepEqual(wrapToWidth("no\u00A0break here", 8), ["no\u00A0break", "here"]);
});

Deno.test("wrapToWidth() breaks long words and CJK between clusters", () => {
  assert.deepEqual(wrapToWidth("abcdefghij", 4), ["abcd", "efgh", "ij"]);
  assert.deepEqual(wrapToWidth("漢字かなカナ", 5), ["漢字", "かな", "カナ"]);
  assert.deepEqual(wrapToWidth(`${FAMILY}${FAMILY}${FAMILY}`, 5), [FAMILY + FAMILY, FAMILY]);
  const e = "e\u0301";
  assert.deepEqual(wrapToWidth(`see ${e.repeat(4)}`, 5), ["see", e.repeat(4)]);
  assert.deepEqual(wrapToWidth(`see ${e.repeat(6)}`, 5), [`see ${e}`, e.repeat(5)]);
  // A cluster wider than the row still gets a row of its own.
  assert.deepEqual(wrapToWidth("a漢b", 1), ["a", "漢", "b"]);
});

Deno.test("wrapToWidth() keeps rows within the width and cuts only at cluster bounds", () => {
  const text =
    `Hello ${FAMILY} and ${RAINBOW_FLAG}, ${PERSIAN} 漢字かなカナ supercalifragilistic e\u0301`;
  for (let cols = 2; cols <= 40; cols++) {
    const rows = wrapToWidth(text, cols);
    for (const r of rows) assert.ok(displayWidth(r) <= cols, `${cols}: ${r}`);
    assert.equal(rows.join("").replace(/ /g, ""), text.replace(/ /g, ""), `${cols}`);
  }
  for (const c of _breakCases()) {
    if (/[\r\n ]/.test(c.text)) continue;
    const bounds = _bounds(c);
    for (let cols = 1; cols <= displayWidth(c.text); cols++) {
      let at = 0;
      for (const r of wrapToWidth(c.text, cols)) {
        at += r.length;
        assert.ok(bounds.has(at), `${c.line} at ${cols}`);
      }
    }
  }
});

Deno.test("wrapToWidth() closes and reopens bidi controls on every row", () => {
  const text =
    `${FSI}\u05E9\u05DC\u05D5\u05DD \u05E2\u05D5\u05DC\u05DD \u05D2\u05D3\u05D5\u05DC${PDI}`;
  const rows = wrapToWidth(text, 5);
  assert.deepEqual(rows, [
    `${FSI}\u05E9\u05DC\u05D5\u05DD${PDI}`,
    `${FSI}\u05E2\u05D5\u05DC\u05DD${PDI}`,
    `${FSI}\u05D2\u05D3\u05D5\u05DC${PDI}`,
  ]);
  for (const r of wrapToWidth("ab \u202Ecd ef gh\u202C ij", 3)) assert.ok(_balanced(r), r);
});

Deno.test("displayWidth() counts an emoji presentation sequence (character + U+FE0F) as 2", () => {
  // 🌤️ and 🗺️ are text by default (1 column); the selector makes them emoji.
  assert.equal(displayWidth("\u{1F324}"), 1);
  assert.equal(displayWidth("\u{1F324}\uFE0F"), 2);
  assert.equal(displayWidth("\u{1F5FA}\uFE0F"), 2);
  assert.equal(displayWidth("☀️ sunny"), 8);
  assert.equal(displayWidth("1\uFE0F\u20E3"), 2);
});

Deno.test("narrowEmojiPresentation() drops the selector where the character alone is narrow", () => {
  assert.equal(narrowEmojiPresentation("\u{1F324}\uFE0F sunny"), "\u{1F324} sunny");
  assert.equal(displayWidth(narrowEmojiPresentation("\u{1F324}\uFE0F \u{1F5FA}\uFE0F")), 3);
  // Wide anyway, or a ZWJ sequence: unchanged.
  for (const kept of ["\u{1F600}\uFE0F", "1\uFE0F\u20E3", "🏳️‍🌈", "👩‍👩‍👧‍👦", "plain text", "😀"]) {
    assert.equal(narrowEmojiPresentation(kept), kept);
  }
});
