/**
 * Waiting, for the client's retry loops: one abortable delay (the delays themselves come from
 * the shared `Backoff` in core/async/backoff.ts).
 *
 * @module
 */

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
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
 * Waits for `p` to settle, but at most `ms`; true if it settled in time. Never rejects, and
 * leaves no timer behind.
 */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  const watched = p.then(() => settled = true, () => settled = true);
  const timeout = new AbortController();
  await Promise.race([watched, delay(ms, timeout.signal)]);
  timeout.abort();
  return settled;
}
