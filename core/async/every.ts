/**
 * A periodic timer on a {@linkcode Clock}: the clock has only one-shot timers (all a fake
 * clock needs to model), so a repeating check re-arms itself after each run.
 *
 * @module
 */

import type { Clock, TimerHandle } from "./clock.ts";

/** Stops a periodic timer (calling it again does nothing). */
export type StopTimer = () => void;

/** Calls `fn` every `ms` milliseconds on `clock` until the returned function is called. */
export function every(clock: Clock, ms: number, fn: () => void): StopTimer {
  let stopped = false;
  let handle: TimerHandle;
  const tick = () => {
    if (stopped) return;
    // Re-armed before the call, so a throwing `fn` does not end the timer.
    handle = clock.setTimeout(tick, ms);
    fn();
  };
  handle = clock.setTimeout(tick, ms);
  return () => {
    stopped = true;
    clock.clearTimeout(handle);
  };
}
