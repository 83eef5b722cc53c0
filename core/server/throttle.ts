/**
 * In-memory token buckets, one per key, for limits that hold per server process: the send
 * rate (see `quotas.ts` for why that one is not in the database). The arithmetic is the
 * store's (`token_bucket.ts`); a bucket full again is the same as none, so records are
 * dropped once they are, and memory stays proportional to the keys active lately.
 *
 * @module
 */

import { type BucketShape, bucketTake, bucketWait } from "../store/token_bucket.ts";

/** Records kept before the first sweep drops the ones that are full again. */
const _SWEEP_AT = 10_000;

/** Token buckets of one shape, by key (a user ID, say). */
export class Throttle<K> {
  readonly #shape: BucketShape;
  /** Each key's theoretical arrival time (see `token_bucket.ts`). */
  readonly #tats = new Map<K, number>();
  /** The size at which the next sweep runs: twice what the last one left (amortized O(1)). */
  #sweepAt = _SWEEP_AT;

  /** Buckets of `shape`; RangeError unless its numbers are positive integers. */
  constructor(shape: BucketShape) {
    if (
      !Number.isSafeInteger(shape.burst) || shape.burst < 1 ||
      !Number.isSafeInteger(shape.intervalMs) || shape.intervalMs < 1
    ) {
      throw new RangeError(
        `A bucket needs a positive integer burst and intervalMs, got ${shape.burst} and ` +
          `${shape.intervalMs}`,
      );
    }
    this.#shape = shape;
  }

  /** Keys with a record (for tests of the sweep). */
  get size(): number {
    return this.#tats.size;
  }

  /**
   * Takes one attempt from `key`'s bucket at `now`: 0 when taken, else the milliseconds
   * until one would fit (nothing is taken then).
   */
  take(key: K, now: number): number {
    const tat = this.#tats.get(key) ?? 0;
    const wait = bucketWait(tat, now, this.#shape);
    if (wait > 0) return wait;
    if (this.#tats.size >= this.#sweepAt) this.#sweep(now);
    this.#tats.set(key, bucketTake(tat, now, this.#shape));
    return 0;
  }

  #sweep(now: number): void {
    for (const [key, tat] of this.#tats) if (tat <= now) this.#tats.delete(key);
    this.#sweepAt = Math.max(_SWEEP_AT, 2 * this.#tats.size);
  }
}
