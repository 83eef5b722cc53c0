/**
 * Text measuring and cleaning for the screen: the shared Unicode-safe module, re-exported
 * for the full-screen client, with one property of the terminal applied: whether it draws
 * emoji presentation sequences (🌤️) 2 columns wide (see `emoji_width.ts`). Where it does not,
 * their selector is dropped from what is shown, so what Ink lays out and what the terminal
 * draws take the same columns.
 *
 * @module
 */

import {
  displaySafe as _displaySafe,
  type DisplaySafeOptions,
} from "../client/text/text_safety.ts";
import { narrowEmojiPresentation } from "../client/text/text_width.ts";

export {
  CONTINUATION_MARK,
  displayWidth,
  truncateToWidth,
  wrapToWidth,
} from "../client/text/text_safety.ts";

let _narrowEmoji = false;

/** Says whether the terminal draws emoji presentation sequences narrow; set once at start. */
export function setNarrowEmojiPresentation(narrow: boolean): void {
  _narrowEmoji = narrow;
}

/** `displaySafe` of `text_safety.ts`, fitted to this terminal's emoji widths. */
export function displaySafe(text: string, opts?: DisplaySafeOptions): string {
  const safe = _displaySafe(text, opts);
  return _narrowEmoji ? narrowEmojiPresentation(safe) : safe;
}
