/**
 * Requests sent but not yet answered (messages, keys), so the client can wait for them
 * before it exits: what the user sent should reach the server first.
 *
 * @module
 */

/** A set of promises in flight. */
export class Tracker {
  readonly #pending = new Set<Promise<unknown>>();

  /** Tracks `p` until it settles; returns it unchanged. */
  track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    const done = () => this.#pending.delete(p);
    p.then(done, done);
    return p;
  }

  /** How many are in flight. */
  get size(): number {
    return this.#pending.size;
  }

  /** Resolves when everything in flight now has settled (never rejects). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}
