/**
 * Slows repeated failed logins, per username and per address. After a few free failures
 * each further failure doubles the wait (capped), so guessing passwords online is slow while
 * a user who mistypes twice notices nothing. State is per server process; a success clears
 * the username's record.
 *
 * @module
 */

/** Throttle tuning. */
export interface ThrottleOptions {
  /** Failures allowed before any delay. */
  freeFailures: number;
  /** First delay, milliseconds; doubles with each further failure. */
  baseDelayMs: number;
  /** Largest delay, milliseconds. */
  maxDelayMs: number;
  /** Records idle this long are forgotten, milliseconds. */
  forgetAfterMs: number;
}

const _DEFAULTS: ThrottleOptions = {
  freeFailures: 3,
  baseDelayMs: 250,
  maxDelayMs: 30_000,
  forgetAfterMs: 15 * 60_000,
};

interface _Record {
  failures: number;
  blockedUntil: number;
  lastAt: number;
}

/** Tracks failed logins by key (e.g. `user:alice`, `addr:127.0.0.1`). */
export class LoginThrottle {
  readonly #opts: ThrottleOptions;
  readonly #records = new Map<string, _Record>();

  constructor(opts: Partial<ThrottleOptions> = {}) {
    this.#opts = { ..._DEFAULTS, ...opts };
  }

  /** Milliseconds the caller must still wait before trying any of `keys`; 0 if none. */
  retryAfter(keys: readonly string[], now: number): number {
    let wait = 0;
    for (const k of keys) {
      const r = this.#live(k, now);
      if (r && r.blockedUntil > now) wait = Math.max(wait, r.blockedUntil - now);
    }
    return wait;
  }

  /** Records a failure for each key. */
  fail(keys: readonly string[], now: number): void {
    this.#sweep(now);
    for (const k of keys) {
      const r = this.#live(k, now) ?? { failures: 0, blockedUntil: 0, lastAt: now };
      r.failures++;
      r.lastAt = now;
      const over = r.failures - this.#opts.freeFailures;
      if (over > 0) {
        const delay = Math.min(this.#opts.maxDelayMs, this.#opts.baseDelayMs * 2 ** (over - 1));
        r.blockedUntil = now + delay;
      }
      this.#records.set(k, r);
    }
  }

  /** Clears the records of `keys` after a success. */
  succeed(keys: readonly string[]): void {
    for (const k of keys) this.#records.delete(k);
  }

  /** A key's record, unless it has been idle long enough to be forgotten. */
  #live(key: string, now: number): _Record | undefined {
    const r = this.#records.get(key);
    if (r && now - r.lastAt > this.#opts.forgetAfterMs) {
      this.#records.delete(key);
      return undefined;
    }
    return r;
  }

  #sweep(now: number): void {
    if (this.#records.size < 10_000) return;
    for (const [k, r] of this.#records) {
      if (now - r.lastAt > this.#opts.forgetAfterMs) this.#records.delete(k);
    }
  }
}
