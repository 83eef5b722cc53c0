/**
 * Write-behind of acknowledgements. When a connection acknowledges messages the server
 * pushed to it, the sender's receipt needs nothing from the database (the server knows who
 * sent what it pushed), so the removal of the deliveries can wait a few milliseconds and
 * share one write with the other acknowledgements of that window. At moderate load this
 * turns one store transaction per acknowledgement into one per window, and takes the
 * acknowledgement's commit off the receipt's path.
 *
 * Nothing is promised away by waiting: an acknowledgement lost before it is written (the
 * server stopped, the disk failed) only leaves the delivery pending, so the message comes
 * again at the next login, and clients drop repeats by message ID. The one promise kept
 * with care is the single receipt per delivery: whoever acknowledges outside this log first
 * calls {@linkcode AckLog.flush} and waits for it (see `delivery.ts`).
 *
 * @module
 */

import { type Clock, SYSTEM_CLOCK, type TimerHandle } from "../async/clock.ts";

/** How an {@linkcode AckLog} waits and how much it holds. */
export interface AckLogOptions {
  /** How long the first acknowledgement of a window waits for others, ms (default 10). */
  readonly delayMs: number;
  /** Message IDs that make the log write at once (default 512). */
  readonly maxIds: number;
  /** Timers (tests pass a fake one). */
  readonly clock: Clock;
}

/** Writes a user's acknowledged message IDs (a store's `ackDeliveries`). */
export type AckWriter = (userId: number, ids: readonly number[]) => Promise<unknown>;

/** Acknowledgements waiting to be written, per user; see the module documentation. */
export class AckLog {
  readonly #write: AckWriter;
  readonly #onError: (err: unknown, userId: number, ids: readonly number[]) => void;
  readonly #delayMs: number;
  readonly #maxIds: number;
  readonly #clock: Clock;
  #queued = new Map<number, number[]>();
  #count = 0;
  #timer: TimerHandle | undefined;
  /** The writes started by the last flush, settled or not. */
  #inFlight: Promise<void> = Promise.resolve();
  #writing = 0;

  /**
   * A log that writes with `write`; a write that fails is reported to `onError` (its
   * deliveries stay pending: see the module documentation).
   */
  constructor(
    write: AckWriter,
    onError: (err: unknown, userId: number, ids: readonly number[]) => void,
    opts: Partial<AckLogOptions> = {},
  ) {
    this.#write = write;
    this.#onError = onError;
    this.#delayMs = opts.delayMs ?? 10;
    this.#maxIds = opts.maxIds ?? 512;
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    if (!(this.#delayMs >= 0)) throw new RangeError(`Expected delayMs ≥ 0, got ${opts.delayMs}`);
    if (!Number.isSafeInteger(this.#maxIds) || this.#maxIds < 1) {
      throw new RangeError(`Expected maxIds to be a positive integer, got ${opts.maxIds}`);
    }
  }

  /** Message IDs queued and not yet handed to the writer. */
  get queued(): number {
    return this.#count;
  }

  /**
   * Queues `ids` acknowledged by `userId`. Resolves at once, unless the log is full while a
   * write is still running: then it resolves when that write is done, so a client that
   * acknowledges faster than the store writes is slowed down, not buffered without bound.
   */
  add(userId: number, ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    const list = this.#queued.get(userId);
    if (list === undefined) this.#queued.set(userId, [...ids]);
    else list.push(...ids);
    this.#count += ids.length;
    if (this.#count < this.#maxIds) {
      this.#timer ??= this.#clock.setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#delayMs);
      return Promise.resolve();
    }
    const busy = this.#writing > 0 ? this.#inFlight : null;
    const flushed = this.flush();
    return busy === null ? Promise.resolve() : busy.then(() => flushed);
  }

  /**
   * Hands everything queued to the writer now (one call per user, all in this turn, so a
   * store that batches a turn's calls writes them in one transaction). Resolves once those
   * writes and every earlier one are done; never rejects (see `onError`).
   */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#count === 0) return this.#inFlight;
    const batch = this.#queued;
    this.#queued = new Map();
    this.#count = 0;
    const writes = [...batch].map(([userId, ids]) => {
      this.#writing++;
      return this.#write(userId, ids).then(
        () => {},
        (err) => this.#onError(err, userId, ids),
      ).finally(() => this.#writing--);
    });
    const before = this.#inFlight;
    this.#inFlight = Promise.all([before, ...writes]).then(() => {});
    return this.#inFlight;
  }
}
