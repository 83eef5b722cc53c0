/**
 * Untrusted text made safe and measured for a terminal: {@linkcode displaySafe} strips
 * escape sequences and other controls, balances bidi controls and isolates right-to-left
 * runs (`text_bidi.ts`), and marks line breaks so a message cannot pass for another line;
 * {@linkcode displayWidth}, {@linkcode padToWidth}, {@linkcode truncateToWidth} and
 * {@linkcode wrapToWidth} count terminal columns by grapheme (`text_width.ts`). Pure
 * functions over strings, usable in a browser too.
 *
 * @example Show a name in a 20-column field
 * ```ts
 * import { displaySafe, padToWidth } from "./mod.ts";
 *
 * const cell = padToWidth(displaySafe("ali\x1b[2Jce", { singleLine: true }), 20);
 * ```
 *
 * @module
 */

export {
  CONTINUATION_MARK,
  displaySafe,
  type DisplaySafeOptions,
  LINE_BREAK_MARK,
  TAB_WIDTH,
} from "./text_safety.ts";
export {
  displayWidth,
  graphemes,
  narrowEmojiPresentation,
  padToWidth,
  truncateToWidth,
  wrapToWidth,
} from "./text_width.ts";
export {
  balanceBidi,
  closeBidi,
  FSI,
  isolate,
  MAX_BIDI_DEPTH,
  openBidi,
  PDI,
} from "./text_bidi.ts";
