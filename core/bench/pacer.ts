/**
 * The open-loop schedule shared by the load generator and the echo baseline: `rate` sends
 * per second in total, spread evenly over time and, round robin, over `count` senders.
 *
 * @module
 */

import { type Clock, SYSTEM_CLOCK, type TimerHandle } from "../async/clock.ts";

/** The runtime's timers with `performance.now()`: a schedule must not jump with the wall clock. */
export const MONOTONIC_CLOCK: Clock = { ...SYSTEM_CLOCK, now: () => performance.now() };

/** Options for {@linkcode paceOpenLoop}. */
export interface PaceOptions {
  /** Sends per second in total. */
  rate: number;
  /** `clock.now()` at which slot 0 is due. */
  start: number;
  /** Senders, taken round robin. */
  count: number;
  /** False once sending should stop; checked before each tick. */
  active: () => boolean;
  /**
   * Where the pacer's timers go, so the caller can clear them (with `clock.clearTimeout`)
   * when the run ends.
   */
  timers: TimerHandle[];
  /** The clock (default {@linkcode MONOTONIC_CLOCK}); tests pass a fake one. */
  clock?: Clock;
  /**
   * Called for every slot that is due, in order, with the sender's index and how many
   * milliseconds after its slot time the call is made (the generator's own lateness).
   */
  onSlot: (sender: number, lagMs: number) => void;
}

/**
 * Runs the schedule: each tick makes every slot that is due, then sleeps until the next
 * one (at most 5 ms, so a late timer is caught up on soon).
 */
export function paceOpenLoop(opts: PaceOptions): void {
  if (!(opts.rate > 0) || !Number.isFinite(opts.rate)) {
    throw new RangeError(`rate must be a positive number, got ${opts.rate}`);
  }
  if (!Number.isSafeInteger(opts.count) || opts.count < 1) {
    throw new RangeError(`count must be a positive integer, got ${opts.count}`);
  }
  const clock = opts.clock ?? MONOTONIC_CLOCK;
  const interval = 1000 / opts.rate;
  let issued = 0;
  const tick = () => {
    if (!opts.active()) return;
    const now = clock.now();
    const due = Math.floor((now - opts.start) / interval) + 1;
    while (issued < due) {
      const lag = now - (opts.start + issued * interval);
      const sender = issued % opts.count;
      issued++;
      opts.onSlot(sender, lag);
    }
    const wait = opts.start + issued * interval - clock.now();
    opts.timers.push(clock.setTimeout(tick, Math.max(0, Math.min(5, wait))));
  };
  tick();
}
