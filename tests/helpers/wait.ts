/**
 * Waiting in tests for a condition, never for a fixed time: `until` polls a condition until
 * it holds (or fails after a timeout naming what it waited for). Pure: no processes, no
 * sockets, so in-process tests import it without starting anything.
 *
 * @module
 */

/** Resolves once `cond()` is true; throws `Timed out waiting for WHAT` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  await untilValue(() => (cond() ? true : undefined), what, timeoutMs);
}

/** Resolves with the first value `find()` returns that is not undefined. */
export async function untilValue<T>(
  find: () => T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = find();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    // A macrotask: lets timers, sockets and other processes' answers in.
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Like {@linkcode until}, for a condition that must be awaited (an HTTP status page, a
 * query): asks again every `everyMs` until it holds.
 */
export async function untilAsync(
  cond: () => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
