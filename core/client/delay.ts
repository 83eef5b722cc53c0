/**
 * Waiting, for the client's retry loops: one abortable delay and one capped backoff, instead
 * of a hand-rolled copy in each loop.
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

/** Delays that double from `first` up to `max`: 1 s, 2 s, 4 s... */
export class Backoff {
  readonly #first: number;
  readonly #max: number;
  #next: number;

  constructor(first: number, max: number) {
    this.#first = first;
    this.#max = max;
    this.#next = first;
  }

  /** The delay to wait now; the following one is twice as long (capped). */
  next(): number {
    const now = this.#next;
    this.#next = Math.min(this.#max, this.#next * 2);
    return now;
  }

  /** Starts again from the first delay (after a success). */
  reset(): void {
    this.#next = this.#first;
  }
}
