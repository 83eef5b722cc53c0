/**
 * Delays between retries, for every retry loop in FastChat (the client's reconnect and
 * server assignment, the mesh's redial, the local cluster's restarts, the send pacer's
 * waits): exponential backoff capped at a maximum, with jitter so that many clients refused
 * or cut off together do not come back together.
 *
 * "Full jitter" draws each delay uniformly from [0, capped exponential], which spreads a
 * crowd over the whole window (Brooker, "Exponential Backoff And Jitter", AWS Architecture
 * Blog, 2015; the same as Deno std's `@std/async` retry with `jitter: 1`). Without it, 50,000
 * clients of a server that died would reconnect in lockstep, at 1 s, 2 s, 4 s...
 *
 * Pure: the randomness is a parameter, so tests get exact delays.
 *
 * @module
 */

/** How a {@linkcode Backoff} grows. */
export interface BackoffOptions {
  /** The first delay (before jitter), milliseconds; at least 0. */
  readonly firstMs: number;
  /** The largest delay (before jitter), milliseconds; at least `firstMs`. */
  readonly maxMs: number;
  /** Growth per attempt (default 2). */
  readonly multiplier?: number;
  /**
   * Share of each delay that is random: 0 for none, 1 (the default) for full jitter, where a
   * delay is uniform in [0, d]; 0.1 keeps it in [0.9 d, d].
   */
  readonly jitter?: number;
  /** A number uniform in [0, 1) (default `Math.random`). */
  readonly random?: () => number;
}

/** Delays that grow from `firstMs` to `maxMs`, each with jitter; see the module documentation. */
export class Backoff {
  readonly #opts: Required<BackoffOptions>;
  #base: number;

  /** Throws `RangeError` for negative delays, `maxMs < firstMs`, or jitter outside [0, 1]. */
  constructor(opts: BackoffOptions) {
    const { firstMs, maxMs, multiplier = 2, jitter = 1, random = Math.random } = opts;
    if (!(firstMs >= 0) || !(maxMs >= firstMs) || !Number.isFinite(maxMs)) {
      throw new RangeError(
        `Expected 0 <= firstMs <= maxMs (finite), got firstMs ${firstMs} and maxMs ${maxMs}`,
      );
    }
    if (!(multiplier >= 1)) throw new RangeError(`Expected multiplier >= 1, got ${multiplier}`);
    if (!(jitter >= 0 && jitter <= 1)) {
      throw new RangeError(`Expected jitter from 0 to 1, got ${jitter}`);
    }
    this.#opts = { firstMs, maxMs, multiplier, jitter, random };
    this.#base = firstMs;
  }

  /** The delay to wait now, in whole milliseconds; the next one's ceiling grows. */
  next(): number {
    const { maxMs, multiplier, jitter, random } = this.#opts;
    const base = this.#base;
    this.#base = Math.min(maxMs, base * multiplier);
    return Math.round(base * (1 - jitter * random()));
  }

  /** Starts again from the first delay (after a success). */
  reset(): void {
    this.#base = this.#opts.firstMs;
  }
}
