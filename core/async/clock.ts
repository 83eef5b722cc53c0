/**
 * Time as a port: what reads the time or waits for it takes a {@linkcode Clock}, so tests
 * drive it with a fake one (tests/helpers/fake_clock.ts) instead of sleeping, and a test of
 * a 10 s deadline takes microseconds and never flakes on a loaded machine.
 *
 * @module
 */

/** A handle from {@linkcode Clock.setTimeout}, given back to {@linkcode Clock.clearTimeout}. */
export type TimerHandle = unknown;

/** The time and timers. */
export interface Clock {
  /** Unix time in milliseconds. */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer (a handle already fired or cancelled, or undefined, is ignored). */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `Date.now` and the runtime's timers. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as number | undefined),
};

/** A clock whose `now` is `now` and whose timers are the runtime's (for a clock function). */
export function clockWithNow(now: () => number): Clock {
  return { ...SYSTEM_CLOCK, now };
}
