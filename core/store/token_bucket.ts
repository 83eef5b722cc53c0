/**
 * Token buckets as the generic cell rate algorithm (GCRA): a bucket of `burst` attempts that
 * refills one attempt every `intervalMs` is one number, its "theoretical arrival time" (TAT):
 * the time at which the bucket would be full again. An empty record (or a TAT in the past) is
 * a full bucket. Taking an attempt moves the TAT one interval later; the attempt fits when the
 * new TAT is at most `burst` intervals ahead of now. All integer milliseconds, so a bucket
 * grants exactly `burst` attempts at one instant.
 *
 * The SQLite store and the server's in-memory send limiter compute with these functions; the
 * PostgreSQL store does the same sums in SQL (`postgres/functions.ts`).
 *
 * @module
 */

/** A bucket's shape: `burst` at once, one more every `intervalMs`. */
export interface BucketShape {
  /** Attempts allowed at once (the bucket's size). */
  readonly burst: number;
  /** Milliseconds in which one attempt comes back. */
  readonly intervalMs: number;
}

/**
 * Milliseconds until one attempt fits in a bucket whose TAT is `tat` (0 for a bucket never
 * used or full again); 0 when it fits now.
 */
export function bucketWait(tat: number, now: number, shape: BucketShape): number {
  return Math.max(0, Math.max(tat, now) + shape.intervalMs - now - shape.burst * shape.intervalMs);
}

/** The TAT after taking one attempt at `now` (call only when {@linkcode bucketWait} is 0). */
export function bucketTake(tat: number, now: number, shape: BucketShape): number {
  return Math.max(tat, now) + shape.intervalMs;
}

/** The TAT after giving one attempt back; at or before `now` means the bucket is full. */
export function bucketRefund(tat: number, shape: BucketShape): number {
  return tat - shape.intervalMs;
}
