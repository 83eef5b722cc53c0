/**
 * A log line for an event that strangers can repeat at will (an upgrade refused for its
 * origin, say): written at most once per interval, carrying how many events it stands for,
 * so a flood of them costs a line every few seconds instead of one each.
 *
 * @module
 */

/** Lets one event in a burst through to the log, and counts the rest. */
export class SparseLog {
  readonly #everyMs: number;
  readonly #now: () => number;
  #lastAt = -Infinity;
  #count = 0;

  /** At most one line per `everyMs` milliseconds, timed by `now`. */
  constructor(everyMs: number, now: () => number = Date.now) {
    this.#everyMs = everyMs;
    this.#now = now;
  }

  /**
   * Counts one event. Returns null when it should not be logged; otherwise how many events
   * this line stands for (this one and those skipped since the last line).
   */
  note(): number | null {
    this.#count++;
    const now = this.#now();
    if (now - this.#lastAt < this.#everyMs) return null;
    const count = this.#count;
    this.#lastAt = now;
    this.#count = 0;
    return count;
  }
}
