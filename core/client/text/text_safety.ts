/**
 * Untrusted text made safe to print on a terminal without losing what the sender wrote.
 *
 * Whatever can fake the screen is neutralised:
 * - escape sequences (CSI such as `ESC [2J`, OSC such as `ESC ]0;title BEL`, DCS, SOS, PM,
 *   APC, in their 7-bit and 8-bit forms, and two-character escapes such as `ESC c`) are
 *   removed whole, so they can neither reach the terminal nor leave their parameters behind;
 * - other C0 and C1 controls (BEL, backspace, NUL, DEL, ...) become U+FFFD, so an overwrite
 *   trick shows as a visible mark;
 * - line breaks (LF, CR, CRLF, VT, FF, NEL, U+2028, U+2029: the newline functions of the
 *   Unicode Standard, section 5.8) can never start a line at column 0: each continuation line starts with
 *   {@linkcode CONTINUATION_MARK}, "  ↳ ", or the whole text stays on one line with
 *   {@linkcode LINE_BREAK_MARK}, " ↵ ", between its lines (`singleLine`);
 * - bidi controls are balanced per line (a closer without opener is dropped, a missing closer
 *   added, nesting deeper than `MAX_BIDI_DEPTH` dropped), and a line holding right-to-left letters or bidi controls is wrapped in a
 *   first-strong isolate (U+2068 ... U+2069), so it takes its direction from its own first
 *   letter and cannot reorder the name, time or anything else on the row; lines with neither
 *   are left-to-right already and stay byte-for-byte as sent;
 * - lone surrogates and noncharacters become U+FFFD; soft hyphens (terminals draw them one
 *   column wide, width tables count zero), the deprecated format characters U+206A-206F
 *   (they reshape digits and letters), U+FEFF and the interlinear annotation controls
 *   U+FFF9-FFFB (they can hide text) are dropped; tag characters (U+E0000 block) are kept only as the tail of an emoji tag sequence
 *   such as 🏴󠁧󠁢󠁳󠁣󠁴󠁿, elsewhere they would carry invisible text and are dropped; more than 30
 *   combining marks in a row are cut to 30 (the Stream-Safe Text Format limit of UAX #15),
 *   so one "character" cannot grow without bound.
 *
 * Everything else is kept: ZWJ and ZWNJ, variation selectors, emoji modifier, ZWJ, flag and
 * tag sequences, combining marks, wide characters. Tabs become spaces up to the next multiple
 * of {@linkcode TAB_WIDTH} columns, counted from the start of the line.
 *
 * The functions that measure and cut the result live in `text_width.ts` and are re-exported
 * here, so a renderer imports one module.
 *
 * @module
 */

import { balanceBidi, isolate } from "./text_bidi.ts";
import { displayWidth } from "./text_width.ts";

export { displayWidth, graphemes, padToWidth, truncateToWidth, wrapToWidth } from "./text_width.ts";

/** What begins each continuation line of a multi-line text. */
export const CONTINUATION_MARK = "  ↳ ";

/** What stands for a line break when text is kept on one line. */
export const LINE_BREAK_MARK = " ↵ ";

/** Tab stops are every this many columns from the start of a line. */
export const TAB_WIDTH = 4;

/** How `displaySafe` treats line breaks and bidi controls. */
export interface DisplaySafeOptions {
  /**
   * Keep everything on one line, with {@linkcode LINE_BREAK_MARK} for each line break: for
   * names, titles and status lines. Default false.
   */
  readonly singleLine?: boolean;
  /**
   * What starts each continuation line when `singleLine` is false; default
   * {@linkcode CONTINUATION_MARK}. A caller that indents continuation lines itself may pass
   * a shorter mark, but should keep one: indentation alone can imitate other output.
   */
  readonly continuation?: string;
  /**
   * Leave bidi controls as they are and add no isolate. Only for the user's own text while
   * they type it, where the result must keep the text's bidi controls one for one (the input
   * line maps cursor positions between the two); never for text from others.
   */
  readonly keepBidi?: boolean;
}

const _ESCAPE_SEQUENCE = new RegExp(
  [
    // Command strings (OSC, DCS, SOS, PM, APC) run to ST, BEL or, unterminated, the end.
    String.raw`(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[\s\S]*?(?:\x07|\x1b\\|\x9c|$)`,
    // Control sequences: CSI, parameter bytes, intermediate bytes, final byte.
    String.raw`(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?`,
    // Other escape sequences: ESC, intermediate bytes, final byte (or a lone ESC).
    String.raw`\x1b[\x20-\x2f]*[\x30-\x7e]?`,
  ].join("|"),
  "g",
);
const _LINE_BREAK = /\r\n|[\n\v\f\r\x85\u2028\u2029]/;
// deno-lint-ignore no-control-regex
const _CONTROL = /[\x00-\x08\x0e-\x1f\x7f-\x9f]|\p{Noncharacter_Code_Point}/gu;
const _DROPPED = /[\u00AD\u206A-\u206F\uFEFF\uFFF9-\uFFFB]/g;
/** An emoji tag sequence (UTS #51 ED-14a), kept whole, or any other tag character, dropped. */
const _TAGS =
  /\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?[\u{E0020}-\u{E007E}]+\u{E007F}|[\u{E0000}-\u{E007F}]/gu;
const _MARK_RUN = /([\p{Mn}\p{Me}]{30})[\p{Mn}\p{Me}]+/gu;

/**
 * `text` made safe to print on a terminal (see the module documentation for what changes).
 * Multi-line text comes back with "\n" between lines and each continuation line starting
 * with the continuation mark; with `singleLine` it has no line break at all.
 */
export function displaySafe(text: string, opts: DisplaySafeOptions = {}): string {
  const keepBidi = opts.keepBidi === true;
  const lines = text.toWellFormed().replace(_ESCAPE_SEQUENCE, "").split(_LINE_BREAK)
    .map((line) => _safeLine(line, keepBidi));
  return lines.join(
    opts.singleLine === true ? LINE_BREAK_MARK : `\n${opts.continuation ?? CONTINUATION_MARK}`,
  );
}

/** One line without line breaks or escape sequences, made safe. */
function _safeLine(line: string, keepBidi: boolean): string {
  let s = line.replace(_CONTROL, "\uFFFD").replace(_DROPPED, "")
    .replace(_TAGS, (m) => (m.length > 2 ? m : "")) // a lone tag is 2 code units
    .replace(_MARK_RUN, "$1");
  if (!keepBidi) s = balanceBidi(s);
  s = _expandTabs(s);
  return keepBidi ? s : isolate(s);
}

/** Tabs replaced by spaces up to the next multiple of TAB_WIDTH columns. */
function _expandTabs(line: string): string {
  if (!line.includes("\t")) return line;
  const [first, ...rest] = line.split("\t");
  let out = first!;
  let col = displayWidth(out);
  for (const part of rest) {
    const pad = TAB_WIDTH - (col % TAB_WIDTH);
    out += " ".repeat(pad) + part;
    col += pad + displayWidth(part);
  }
  return out;
}
