/**
 * The full-screen client's terminal guard (`core/tui/terminal_guard.ts`).
 */

import assert from "node:assert/strict";
import process from "node:process";
import { guardTerminal, QUIT_SIGNALS, RESTORE_SCREEN } from "../../core/tui/terminal_guard.ts";

Deno.test("guardTerminal() listens as Node does too, so Ink's signal-exit does not kill the process again", () => {
  const before = QUIT_SIGNALS.map((s) => process.listenerCount(s));
  const written: string[] = [];
  const guard = guardTerminal((t) => void written.push(t), () => {});
  try {
    // signal-exit re-raises a signal when Node listeners are only its own: ours must count.
    assert.deepEqual(QUIT_SIGNALS.map((s) => process.listenerCount(s)), before.map((n) => n + 1));
    guard.restore();
    guard.restore();
    assert.deepEqual(written, [RESTORE_SCREEN], "restored once");
  } finally {
    guard.dispose();
  }
  assert.deepEqual(QUIT_SIGNALS.map((s) => process.listenerCount(s)), before);
});
