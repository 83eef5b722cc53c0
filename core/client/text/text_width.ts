/**
 * How many terminal columns text takes, and cutting it to fit, one grapheme cluster at a
 * time (Unicode UAX #29, via `Intl.Segmenter`), so an emoji sequence, a flag, a letter with
 * its combining marks or a Hangul syllable is never split.
 *
 * The width of a cluster comes from `string-width`, the library Ink uses to lay out the
 * full-screen client, so our columns and Ink's always agree: East Asian Wide and Fullwidth
 * characters and emoji sequences (ZWJ, modifier, flag, keycap, tag) take 2 columns; combining
 * marks, ZWJ/ZWNJ, variation selectors and other default-ignorable characters take 0;
 * East Asian Ambiguous characters count as narrow (1), as in most Western-locale terminals.
 * It expects text already passed through `displaySafe` (no escape sequences, no tabs: those
 * would count as 0 columns).
 *
 * Terminals also differ on a character that is text by default made emoji by U+FE0F (variation
 * selector 16, "emoji presentation"): 🌤️ (U+1F324 U+FE0F), 🗺️, ☀️, ❤️. Most terminals
 * and tmux 3.4 and later draw them in 2 columns, as counted here; tmux 3.3 and older (checked
 * with tmux itself in `tests/tui_screen_test.ts`) give them the 1 column of the character
 * alone, so every such emoji would end its row one column short. For those terminals
 * {@linkcode narrowEmojiPresentation} drops the selector: the character is then drawn as text,
 * and the terminal and the count agree again.
 *
 * Terminals differ on emoji ZWJ sequences: modern ones (kitty, WezTerm, foot, Ghostty, iTerm2,
 * Windows Terminal) draw 👩‍👩‍👧‍👦 in 2 columns as counted here; older ones (xterm, some VTE
 * versions) draw each part separately and the row ends up wider than counted.
 *
 * @module
 */

import stringWidth from "string-width";
import { closeBidi, openBidi } from "./text_bidi.ts";

const _segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Spaces a line may break at (Unicode Zs without the no-break ones U+00A0, U+2007, U+202F). */
const _BREAKABLE_SPACE = /^[ \u1680\u2000-\u2006\u2008-\u200A\u205F\u3000]$/;
const _TRAILING_SPACES = /[ \u1680\u2000-\u2006\u2008-\u200A\u205F\u3000]+$/;

/** The grapheme clusters of `text` (UAX #29 extended grapheme clusters), in order. */
export function graphemes(text: string): string[] {
  return Array.from(_segmenter.segment(text), (s) => s.segment);
}

/** Terminal columns `text` takes on one row. */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

/**
 * `text` with each emoji presentation selector (U+FE0F) dropped from a cluster that is one
 * column wide without it and has no ZWJ (🌤️ becomes 🌤): for terminals that draw such
 * clusters in 1 column while {@linkcode displayWidth} counts 2. ZWJ sequences, keycaps (counted
 * 2 with or without the selector) and characters that are wide anyway are left as they are.
 */
export function narrowEmojiPresentation(text: string): string {
  if (!text.includes("\uFE0F")) return text;
  let out = "";
  for (const g of graphemes(text)) {
    if (!g.includes("\uFE0F") || g.includes("\u200D")) {
      out += g;
      continue;
    }
    const bare = g.replaceAll("\uFE0F", "");
    out += stringWidth(bare) === 1 ? bare : g;
  }
  return out;
}

/** `text` followed by spaces up to `cols` columns (unchanged when it is already that wide). */
export function padToWidth(text: string, cols: number): string {
  return text + " ".repeat(Math.max(0, Math.floor(cols) - displayWidth(text)));
}

/**
 * The longest start of `text` that fits in `cols` columns, cut between grapheme clusters.
 * When text had to be cut, `ellipsis` (default none) is put at the end within the `cols`.
 * Bidi controls left open by the cut (or by `text` itself) are closed, so the result cannot
 * reorder what is printed after it. A cluster wider than the room left is not split: it is
 * left out, and the result may be a column short.
 */
export function truncateToWidth(text: string, cols: number, ellipsis = ""): string {
  const limit = Math.max(0, Math.floor(cols));
  const mark = displayWidth(ellipsis) <= limit ? ellipsis : "";
  const room = limit - displayWidth(mark);
  let used = 0;
  let cut = -1;
  for (const { segment, index } of _segmenter.segment(text)) {
    used += _clusterWidth(segment);
    if (cut < 0 && used > room) cut = index;
    if (used > limit) {
      const kept = text.slice(0, cut);
      return kept + closeBidi(openBidi(kept)) + mark;
    }
  }
  return text + closeBidi(openBidi(text));
}

/**
 * `text` (one line) broken into rows of at most `cols` columns. Rows break at spaces, which
 * are dropped at the break; a word longer than a row is broken between grapheme clusters, and
 * so is text without spaces (CJK). Only a single cluster wider than `cols` makes a row wider.
 * Each row is bidi-balanced on its own: controls open at the end of a row are closed there and
 * opened again at the start of the next, since a terminal lays out every row by itself.
 */
export function wrapToWidth(text: string, cols: number): string[] {
  const width = Math.max(1, Math.floor(cols));
  const rows: string[] = [];
  let row = "";
  let used = 0;
  const breakRow = () => {
    rows.push(row.replace(_TRAILING_SPACES, ""));
    row = "";
    used = 0;
  };
  for (const t of _tokens(text)) {
    if (t.space) {
      if (used + t.width <= width && (used > 0 || rows.length === 0)) {
        row += t.text;
        used += t.width;
      } else if (used > 0) breakRow(); // spaces at a break are dropped
    } else if (used + t.width <= width) {
      row += t.text;
      used += t.width;
    } else if (t.width <= width) {
      breakRow();
      row = t.text;
      used = t.width;
    } else {
      // Longer than a row: break it between clusters, filling the current row first.
      for (const g of graphemes(t.text)) {
        const w = _clusterWidth(g);
        if (used + w > width && used > 0) breakRow();
        row += g;
        used += w;
      }
    }
  }
  rows.push(row);
  return _balanceRows(rows);
}

/** Width of one grapheme cluster, with a fast path for printable ASCII. */
function _clusterWidth(g: string): number {
  if (g.length === 1) {
    const c = g.charCodeAt(0);
    if (c >= 0x20 && c < 0x7f) return 1;
  }
  return stringWidth(g);
}

/** Runs of breakable spaces and runs of everything else, with their widths. */
function* _tokens(text: string): Generator<{ text: string; width: number; space: boolean }> {
  let cur = { text: "", width: 0, space: false };
  for (const { segment } of _segmenter.segment(text)) {
    const space = _BREAKABLE_SPACE.test(segment);
    if (cur.text !== "" && space !== cur.space) {
      yield cur;
      cur = { text: "", width: 0, space };
    }
    cur.space = space;
    cur.text += segment;
    cur.width += _clusterWidth(segment);
  }
  if (cur.text !== "") yield cur;
}

/** Closes the bidi controls open at the end of each row and reopens them on the next. */
function _balanceRows(rows: string[]): string[] {
  let open: string[] = [];
  return rows.map((r) => {
    const text = open.join("") + r;
    open = openBidi(text);
    return text + closeBidi(open);
  });
}
