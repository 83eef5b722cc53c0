/**
 * Group commit: requests that arrive while a write is in progress (or within the same
 * event-loop turn) are written together in one transaction, so the cost of a durable
 * commit (an fsync) is shared by every message in the batch instead of paid per message.
 * Each caller's promise resolves only after its batch is committed.
 *
 * @module
 */

import { setImmediate } from "node:timers";

/** Batching limits. */
export interface BatcherOptions {
  /** Most items in one flush. */
  maxItems: number;
  /** Clock for {@linkcode Batcher.sojournMs}, milliseconds (tests); `performance.now` by default. */
  now: () => number;
}

/** Collects items and flushes them in batches, one flush at a time. */
export class Batcher<In, Out> {
  readonly #flush: (items: In[]) => Promise<Out[]>;
  readonly #maxItems: number;
  readonly #now: () => number;
  #queue: { item: In; at: number; resolve: (v: Out) => void; reject: (e: unknown) => void }[] = [];
  #running = false;
  #scheduled = false;
  /** Items in the flush being written, and when that flush started. */
  #flushing = 0;
  #flushStartedAt = 0;

  /**
   * @param flush writes a batch and returns one result per item, in order.
   */
  constructor(flush: (items: In[]) => Promise<Out[]>, opts: Partial<BatcherOptions> = {}) {
    this.#flush = flush;
    this.#maxItems = opts.maxItems ?? 512;
    this.#now = opts.now ?? (() => performance.now());
    if (!Number.isSafeInteger(this.#maxItems) || this.#maxItems < 1) {
      throw new RangeError(`Expected maxItems to be a positive integer, got ${opts.maxItems}`);
    }
  }

  /** Items waiting for the next flush. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Items waiting for a flush or in the flush being written. */
  get queued(): number {
    return this.#queue.length + this.#flushing;
  }

  /**
   * How long the oldest item still unanswered has waited, milliseconds (0 when none): the
   * age of the flush being written, or of the oldest item queued behind it. A new item
   * waits at least about this long, so it is the queue's delay as admission control sees it
   * (CoDel's sojourn time), measured, not estimated from counts.
   */
  sojournMs(): number {
    const now = this.#now();
    let oldest = this.#flushing > 0 ? this.#flushStartedAt : Infinity;
    const head = this.#queue[0];
    if (head !== undefined && head.at < oldest) oldest = head.at;
    return oldest === Infinity ? 0 : Math.max(0, now - oldest);
  }

  /** Queues an item; resolves with its result once its batch is committed. */
  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#queue.push({ item, at: this.#now(), resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#running || this.#scheduled) return;
    this.#scheduled = true;
    // A macrotask lets every frame already received in this turn join the batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxItems);
        this.#flushing = batch.length;
        // The flush's age counts from its oldest item's arrival: that is what it has waited.
        this.#flushStartedAt = batch[0]!.at;
        try {
          const results = await this.#flush(batch.map((b) => b.item));
          if (results.length !== batch.length) {
            throw new Error(
              `Batch flush returned ${results.length} results for ${batch.length} items`,
            );
          }
          batch.forEach((b, i) => b.resolve(results[i]!));
        } catch (err) {
          for (const b of batch) b.reject(err);
        } finally {
          this.#flushing = 0;
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
