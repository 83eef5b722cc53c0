/**
 * Keeps a database image stored after changes: the browser keystore lives in memory
 * (sql.js) and is written whole to IndexedDB shortly after each change, coalescing a burst
 * of changes into one write. `persisted()` resolves once everything changed so far is
 * stored, so the engine acknowledges a message to the server only after it is on disk.
 *
 * @module
 */

/** The database being persisted: a change counter and its image. */
export interface ImageSource {
  /** Increases with every change. */
  readonly changes: number;
  /** The whole database as bytes. */
  export(): Uint8Array;
}

/** Writes the image somewhere durable; resolves once it is stored. */
export type ImageSink = (bytes: Uint8Array) => Promise<void>;

/** See the module documentation. */
export class ImagePersister {
  readonly #src: ImageSource;
  readonly #sink: ImageSink;
  readonly #delayMs: number;
  readonly #onError: (err: Error) => void;
  #saved: number;
  #writing: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param delayMs How long a change waits for more before the image is written.
   * @param onError Hears a failed background write (it is retried at the next change).
   */
  constructor(
    src: ImageSource,
    sink: ImageSink,
    { delayMs = 30, onError = () => {} }: { delayMs?: number; onError?: (err: Error) => void } = {},
  ) {
    if (!(delayMs >= 0)) throw new RangeError(`Expected delayMs >= 0, got ${delayMs}`);
    this.#src = src;
    this.#sink = sink;
    this.#delayMs = delayMs;
    this.#onError = onError;
    this.#saved = src.changes;
  }

  /** True when changes are not stored yet. */
  get dirty(): boolean {
    return this.#src.changes !== this.#saved;
  }

  /** Notes that the source may have changed: a write follows shortly. */
  touch(): void {
    if (!this.dirty || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.persisted().catch((err) => this.#onError(err as Error));
    }, this.#delayMs);
  }

  /** Resolves once every change made so far is stored; rejects if the write failed. */
  async persisted(): Promise<void> {
    while (this.#writing !== null) await this.#writing.catch(() => {});
    if (!this.dirty) return;
    const target = this.#src.changes;
    const bytes = this.#src.export();
    const write = this.#sink(bytes).then(() => {
      this.#saved = target;
    });
    this.#writing = write;
    try {
      await write;
    } finally {
      this.#writing = null;
    }
    // Changes made while writing get their own write.
    if (this.dirty) return this.persisted();
  }

  /** Stops the pending timer (the caller persists first if it wants to keep changes). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Wraps `target` so every method call is followed by `persister.touch()`, and adds
 * `persisted()`: the keystore's API stays synchronous while its image is written behind it.
 */
export function persisting<T extends object>(
  target: T,
  persister: ImagePersister,
): T & { persisted(): Promise<void> } {
  return new Proxy(target, {
    get(t, prop) {
      if (prop === "persisted") return () => persister.persisted();
      // Closing waits for the last image to be stored, then closes the database.
      if (prop === "close") {
        return () => {
          persister.stop();
          void persister.persisted().catch(() => {}).finally(() =>
            (Reflect.get(t, prop, t) as () => void).call(t)
          );
        };
      }
      const value = Reflect.get(t, prop, t);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const out = value.apply(t, args);
        persister.touch();
        if (out instanceof Promise) void out.then(() => persister.touch(), () => {});
        return out;
      };
    },
  }) as T & { persisted(): Promise<void> };
}
