/**
 * Small helpers the benchmark's phases share: free ports on 127.0.0.1, sleeps and waits that
 * end early when the run is cancelled (Ctrl-C), and a concurrency-limited map, so no phase
 * can outlive a cancel or open more than a bounded number of things at once.
 *
 * @module
 */

/** The only address the benchmark uses. */
export const BENCH_HOST = "127.0.0.1";

/** Thrown when the run is cancelled (SIGINT or SIGTERM). */
export class BenchCancelled extends Error {
  /** Stable code for callers. */
  readonly code = "cancelled";
  constructor() {
    super("The benchmark was cancelled");
    this.name = "BenchCancelled";
  }
}

export { freePort } from "../cluster/free_port.ts";

/** Throws {@linkcode BenchCancelled} if `signal` is aborted. */
export function checkCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new BenchCancelled();
}

/** Waits `ms` milliseconds, or less if `signal` aborts (then it resolves, not throws). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Polls `cond` every `everyMs` until it is true (resolves true), `timeoutMs` passes
 * (resolves false) or `signal` aborts (throws {@linkcode BenchCancelled}).
 */
export async function waitFor(
  cond: () => boolean,
  timeoutMs: number,
  signal: AbortSignal,
  everyMs = 20,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    checkCancelled(signal);
    if (Date.now() >= deadline) return false;
    await sleep(everyMs, signal);
  }
  return true;
}

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight and resolves with the
 * results in order. Stops starting new calls once one fails or `signal` aborts, waits for
 * those in flight, then rethrows the first failure.
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  concurrency: number,
  signal: AbortSignal,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      if (signal.aborted) {
        failure ??= { err: new BenchCancelled() };
        return;
      }
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure !== null) throw (failure as { err: unknown }).err;
  return out;
}
