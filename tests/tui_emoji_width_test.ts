/** Which terminals draw emoji presentation sequences (🌤️) 2 columns wide. */

import assert from "node:assert/strict";
import { drawsEmojiPresentationWide } from "../core/tui/emoji_width.ts";

Deno.test("drawsEmojiPresentationWide() is false in tmux up to 3.3, true from 3.4 and outside tmux", () => {
  const inTmux = (v: string | null) => drawsEmojiPresentationWide({ tmux: true, tmuxVersion: v });
  assert.equal(inTmux("3.3a"), false);
  assert.equal(inTmux("tmux 3.2"), false);
  assert.equal(inTmux("2.9"), false);
  assert.equal(inTmux("3.4"), true);
  assert.equal(inTmux("3.5a"), true);
  assert.equal(inTmux("next-3.6"), true);
  assert.equal(inTmux("4.0"), true);
  assert.equal(inTmux(null), true, "an unknown version is taken as a current one");
  assert.equal(drawsEmojiPresentationWide({ tmux: false, tmuxVersion: null }), true);
});
