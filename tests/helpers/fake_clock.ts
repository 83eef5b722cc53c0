/**
 * A fake {@linkcode Clock} for tests: time stands still until the test moves it, and timers
 * fire in due order as it does, so a deadline is tested by saying how much time passes.
 *
 * @module
 */

import type { Clock, TimerHandle } from "../../core/async/clock.ts";

interface _Timer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/** See the module documentation. */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: _Timer[] = [];

  /** Starts at `start` Unix milliseconds (default: a fixed day, 2026-01-01). */
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.#nextId++, due: this.#now + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in due order
   * (ties in the order they were set), with time at each one's due moment. After each, the
   * real event loop turns once, so that what the timer started (promises, in-process I/O)
   * runs before the next one fires, as it would have with real time between them.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#timers
        .filter((t) => t.due <= target)
        .sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (next === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.due;
      next.fn();
      await new Promise((r) => setTimeout(r, 0));
    }
    this.#now = target;
  }
}
