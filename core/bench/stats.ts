/**
 * The benchmark's arithmetic, pure so it is unit-tested: nearest-rank percentiles of
 * latency samples, the spread of a list (clients per server), rates and CPU percentages.
 *
 * @module
 */

/** Percentiles and extremes of latency samples, in milliseconds; null fields when empty. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

/** Minimum, maximum, mean and population standard deviation of a list. */
export interface Spread {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
}

/**
 * The nearest-rank `p`th percentile of values sorted in ascending order: the smallest value
 * with at least `p` percent of the values at or below it (`p` 0 is the minimum).
 *
 * @throws {RangeError} If `sorted` is empty or `p` is not in [0, 100].
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError("Expected at least one value, got none");
  if (!(p >= 0 && p <= 100)) throw new RangeError(`Expected p from 0 to 100, got ${p}`);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Summarizes latency samples (any order; not modified). */
export function summarizeLatencies(samples: ArrayLike<number>): LatencySummary {
  const n = samples.length;
  if (n === 0) return { count: 0, p50: null, p95: null, p99: null, max: null, mean: null };
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    count: n,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[n - 1]!,
    mean: sum / n,
  };
}

/**
 * The spread of `values`.
 *
 * @throws {RangeError} If `values` is empty.
 */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError("Expected at least one value, got none");
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  return { min, max, mean, stddev: Math.sqrt(sq / values.length) };
}

/** Events per second: `count` over `elapsedMs`; 0 when no time passed. */
export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
}

/**
 * CPU use as a percentage of one core: `ticks` of user + system time (at `ticksPerSecond`)
 * spent over `elapsedMs` of wall time. 200 means two cores busy.
 */
export function cpuPercent(ticks: number, ticksPerSecond: number, elapsedMs: number): number {
  if (!(elapsedMs > 0) || !(ticksPerSecond > 0)) return 0;
  return ((ticks / ticksPerSecond) * 1000 * 100) / elapsedMs;
}

/** Rounds to `digits` decimals (for reports), keeping null. */
export function round(value: number | null, digits = 1): number | null {
  if (value === null || !Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
