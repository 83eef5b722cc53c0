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
}

/** Collects items and flushes them in batches, one flush at a time. */
export class Batcher<In, Out> {
  readonly #flush: (items: In[]) => Promise<Out[]>;
  readonly #maxItems: number;
  #queue: { item: In; resolve: (v: Out) => void; reject: (e: unknown) => void }[] = [];
  #running = false;
  #scheduled = false;

  /**
   * @param flush writes a batch and returns one result per item, in order.
   */
  constructor(flush: (items: In[]) => Promise<Out[]>, opts: Partial<BatcherOptions> = {}) {
    this.#flush = flush;
    this.#maxItems = opts.maxItems ?? 512;
    if (!Number.isSafeInteger(this.#maxItems) || this.#maxItems < 1) {
      throw new RangeError(`Expected maxItems to be a positive integer, got ${opts.maxItems}`);
    }
  }

  /** Items waiting for the next flush. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Queues an item; resolves with its result once its batch is committed. */
  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
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
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
