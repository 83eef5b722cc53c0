/**
 * Waiting, for the client's retry loops: one abortable delay (the delays themselves come from
 * the shared `Backoff` in core/async/backoff.ts).
 *
 * @module
 */

import { type Clock, SYSTEM_CLOCK } from "../../async/clock.ts";

/** Resolves after `ms` on `clock`, or at once when `signal` aborts (never rejects). */
export function delay(
  ms: number,
  signal?: AbortSignal,
  clock: Clock = SYSTEM_CLOCK,
): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clock.clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = clock.setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Waits for `p` to settle, but at most `ms`; true if it settled in time. Never rejects, and
 * leaves no timer behind.
 */
export async function settledWithin(
  p: Promise<unknown>,
  ms: number,
  clock: Clock = SYSTEM_CLOCK,
): Promise<boolean> {
  let settled = false;
  const watched = p.then(() => settled = true, () => settled = true);
  const timeout = new AbortController();
  await Promise.race([watched, delay(ms, timeout.signal, clock)]);
  timeout.abort();
  return settled;
}
