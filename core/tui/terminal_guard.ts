/**
 * Puts the terminal back the way the shell had it, whatever way the full-screen client
 * ends. Ink draws on the alternate screen and leaves it when it unmounts; this guard covers
 * the ways out that never reach the unmount: a signal (SIGTERM, SIGHUP, SIGINT sent by
 * `kill`), an error thrown outside the client's own `try`, `Deno.exit()`. Restoring means
 * leaving the alternate screen, showing the cursor and turning raw mode off.
 *
 * @module
 */

import process from "node:process";

/** Leave the alternate screen (the shell's screen comes back) and show the cursor. */
export const RESTORE_SCREEN = "\x1b[?1049l\x1b[?25h";

/** The signals that end the full-screen client the way quitting does. */
export const QUIT_SIGNALS: readonly Deno.Signal[] = ["SIGTERM", "SIGHUP", "SIGINT"];

/** A terminal to restore; `active` says whether the full screen is still up. */
export interface TerminalGuard {
  /** Resolves when a quit signal arrives. */
  readonly signalled: Promise<Deno.Signal>;
  /** Marks the screen restored by Ink (nothing left to do). */
  restored(): void;
  /** Restores the terminal now unless done already; safe to call more than once. */
  restore(): void;
  /** Removes the signal and error listeners. */
  dispose(): void;
}

/**
 * Watches for quit signals and crashes while the full screen is up. `write` writes to the
 * terminal synchronously (the process may be about to end).
 */
export function guardTerminal(
  write: (text: string) => void,
  setRaw: (raw: boolean) => void,
): TerminalGuard {
  let up = true;
  const signalled = Promise.withResolvers<Deno.Signal>();
  const onSignal: Record<string, () => void> = {};
  for (const sig of QUIT_SIGNALS) {
    onSignal[sig] = () => signalled.resolve(sig);
    Deno.addSignalListener(sig, onSignal[sig]!);
    // Also as a Node listener: Ink's cursor handling (signal-exit) kills the process again
    // with the signal when it sees no Node listener but its own, and a Deno listener does
    // not count there; the session then dies without quitting (exit 143 for SIGTERM).
    process.on(sig, onSignal[sig]!);
  }
  const restore = () => {
    if (!up) return;
    up = false;
    write(RESTORE_SCREEN);
    try {
      setRaw(false);
    } catch {
      // stdin is gone or was never a terminal
    }
  };
  // A crash must not leave the shell on a blank screen with no cursor; the error is still
  // reported (the default handling goes on).
  const onCrash = () => restore();
  globalThis.addEventListener("error", onCrash);
  globalThis.addEventListener("unhandledrejection", onCrash);
  globalThis.addEventListener("unload", onCrash);
  return {
    signalled: signalled.promise,
    restored: () => {
      up = false;
    },
    restore,
    dispose: () => {
      for (const sig of QUIT_SIGNALS) {
        Deno.removeSignalListener(sig, onSignal[sig]!);
        process.off(sig, onSignal[sig]!);
      }
      globalThis.removeEventListener("error", onCrash);
      globalThis.removeEventListener("unhandledrejection", onCrash);
      globalThis.removeEventListener("unload", onCrash);
    },
  };
}
