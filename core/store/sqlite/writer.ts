/**
 * The SQLite store's writer: every write transaction of one process goes through it, in
 * order. Three mechanisms, each for a reason:
 *
 * - **Group commit.** Every write queued while the previous transaction was waiting for the
 *   lock or committing runs in the next single transaction (up to
 *   `MAX_WRITES_PER_TRANSACTION`), so the fsync and the cross-process lock are paid once per
 *   batch instead of once per ack, presence change or message batch.
 * - **Savepoints.** Each write runs in its own `SAVEPOINT`, so one that fails rolls back alone
 *   and only its caller sees the error; the others in the batch commit.
 * - **The writer lock file**, `PATH-writer.lock`, locked (flock) around every write
 *   transaction. Waiting for it is asynchronous, so a process waiting for another's write
 *   keeps serving its clients, and the kernel hands the lock over as soon as it is released,
 *   so writers take turns. SQLite's own busy handler polls with growing sleeps while blocking
 *   the event loop: under sustained writes from three processes it starved one for over two
 *   seconds. Past `busyTimeoutMs` the write falls back on SQLite's locking (`busy_timeout`),
 *   and then fails with StoreError `unavailable`.
 *
 * - **The flush outside the lock** (`wal_sync.ts`). With a {@linkcode WalSync}, the
 *   connection commits with `synchronous=NORMAL` and the writer flushes the WAL itself: after
 *   releasing the lock, so other processes commit while the flush runs, unless the
 *   transaction carried many writes (load), in which case it keeps the lock through the flush
 *   as the fsync inside `COMMIT` did, so that every process's writes gather meanwhile. A
 *   durable write's caller hears back after the flush; a write queued as not durable (an
 *   acknowledgement, a clean-up: lost in a power cut, it is simply done again) right after
 *   its commit. Without a `WalSync` (an in-memory database, or a connection left in
 *   `synchronous=FULL`), every commit is as durable as the connection makes it.
 *
 * Transactions start with `BEGIN IMMEDIATE`, so the write lock is taken up front and two
 * processes never both hold read snapshots and then deadlock upgrading them; the writes in
 * them never `await`, so they stay short.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { STORE_ERRORS, StoreError } from "../store.ts";
import { MAX_WRITES_PER_TRANSACTION } from "../validate.ts";
import { isBusyError, unavailableError } from "./failures.ts";
import type { WalSync } from "./wal_sync.ts";

/**
 * Writes in one transaction (they queued while it waited for the lock) that make the writer
 * hold the lock through its flush: the sign of load (see `#drain`).
 */
const _LOADED_BATCH = 8;

/** One write's outcome in its transaction. */
type _Result = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A queued write and how to answer its caller. */
interface _Item {
  fn: () => unknown;
  durable: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Runs one process's writes to a SQLite database: queued, batched, under the writer lock. */
export class SqliteWriter {
  readonly #db: DatabaseSync;
  readonly #busyTimeoutMs: number;
  /** Flushes the WAL after durable commits; null when commits need no flush of ours. */
  readonly #wal: WalSync | null;
  /** `PATH-writer.lock`: taken around each write transaction; null for `:memory:`. */
  readonly #lockFile: Deno.FsFile | null;
  readonly #st: {
    beginImmediate: StatementSync;
    commit: StatementSync;
    rollback: StatementSync;
    savepoint: StatementSync;
    releaseSavepoint: StatementSync;
    rollbackSavepoint: StatementSync;
  };
  /** The pending or granted request for the writer lock, if any. */
  #flock: Promise<boolean> | null = null;
  /** Whether a write is waiting for `#flock` (false once it timed out). */
  #flockWanted = false;
  /** Settles when this process's queued writes are done. */
  #writes: Promise<unknown> = Promise.resolve();
  readonly #queue: _Item[] = [];
  #draining = false;

  /**
   * A writer on `db`, an open connection it shares with the store's readers; `lockFile` is
   * the open `PATH-writer.lock` (null for an in-memory database, which no other process
   * sees). The writer closes `lockFile` in {@linkcode SqliteWriter.close}. With `wal`, `db`
   * must be in `synchronous=NORMAL` and durable writes wait for `wal`'s flush.
   */
  constructor(
    db: DatabaseSync,
    lockFile: Deno.FsFile | null,
    busyTimeoutMs: number,
    wal: WalSync | null = null,
  ) {
    this.#db = db;
    this.#lockFile = lockFile;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#wal = wal;
    this.#st = {
      beginImmediate: db.prepare("BEGIN IMMEDIATE"),
      commit: db.prepare("COMMIT"),
      rollback: db.prepare("ROLLBACK"),
      savepoint: db.prepare("SAVEPOINT write_item"),
      releaseSavepoint: db.prepare("RELEASE write_item"),
      rollbackSavepoint: db.prepare("ROLLBACK TO write_item"),
    };
  }

  /**
   * Runs `fn` in a `BEGIN IMMEDIATE` transaction (its savepoint rolled back if it throws),
   * after this process's earlier writes and while holding the cross-process writer lock.
   * Resolves once the transaction committed and, unless `durable` is false, its commit is
   * on disk (see the module documentation).
   */
  write<T>(fn: () => T, durable = true): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, durable, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#draining) this.#writes = this.#drain();
    });
  }

  /** Waits for the writes already queued (and their flush), then closes the files. */
  async close(): Promise<void> {
    await this.#writes;
    await this.#wal?.close();
    this.#lockFile?.close();
  }

  /** Runs the queue in batches, one transaction each (see the module's "Group commit"). */
  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const locked = await this.#lockWriters();
        const batch = this.#queue.splice(0, MAX_WRITES_PER_TRANSACTION);
        let results: _Result[];
        try {
          results = this.#commit(batch);
        } catch (err) {
          if (locked) this.#unlockWriters();
          // The transaction itself failed (busy, disk full): every write in it failed.
          const error = isBusyError(err) ? unavailableError(err, this.#busyTimeoutMs) : err;
          for (const item of batch) item.reject(error);
          continue;
        }
        const flushed = this.#wal !== null && batch.some((item, i) =>
            item.durable && results[i]!.ok
          )
          ? this.#wal.sync()
          : null;
        // Under load (many writes queued while this transaction waited for the lock), it is held
        // through the flush, as the fsync inside COMMIT held it: every process's writes queue
        // meanwhile and commit in fewer, bigger transactions (released first, at saturation
        // the transactions got smaller and the throughput fell by up to 15 %). Otherwise it
        // is released first, so other processes commit while this flush runs (held, at 1,000
        // msg/s a transaction kept the lock 2.1 ms and a message waited 15 ms for `accepted`).
        if (flushed !== null && batch.length >= _LOADED_BATCH) {
          await flushed.catch(() => {});
        }
        if (locked) this.#unlockWriters();
        batch.forEach((item, i) => {
          const r = results[i]!;
          if (!r.ok) item.reject(r.error);
          else if (flushed === null || !item.durable) item.resolve(r.value);
          else flushed.then(() => item.resolve(r.value), (err) => item.reject(_flushError(err)));
        });
      }
    } finally {
      this.#draining = false;
    }
  }

  /**
   * Runs `batch` in one `BEGIN IMMEDIATE` transaction, each write in its own savepoint, and
   * commits; returns each write's outcome. Throws (after rolling back) if the transaction
   * itself failed.
   */
  #commit(batch: readonly _Item[]): _Result[] {
    const results: _Result[] = [];
    this.#st.beginImmediate.run();
    try {
      for (const item of batch) {
        this.#st.savepoint.run();
        try {
          const value = item.fn();
          this.#st.releaseSavepoint.run();
          results.push({ ok: true, value });
        } catch (error) {
          this.#st.rollbackSavepoint.run();
          this.#st.releaseSavepoint.run();
          results.push({ ok: false, error });
        }
      }
      this.#st.commit.run();
    } catch (err) {
      if (this.#db.isTransaction) this.#st.rollback.run();
      throw err;
    }
    return results;
  }

  /**
   * Waits, without blocking the event loop, for the writer lock file; true once held. After
   * `busyTimeoutMs` it gives up and returns false, and the write falls back on SQLite's own
   * locking (which waits up to the same timeout, then fails with "database is locked").
   */
  async #lockWriters(): Promise<boolean> {
    const file = this.#lockFile;
    if (file === null) return false;
    if (this.#flock === null) {
      const request: Promise<boolean> = file.lock(true).then(
        () => {
          if (this.#flockWanted) return true;
          // Granted after its waiter gave up: let the other processes have it.
          this.#flock = null;
          _unlock(file);
          return false;
        },
        () => {
          this.#flock = null;
          return false;
        },
      );
      this.#flock = request;
    }
    this.#flockWanted = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#busyTimeoutMs);
    });
    try {
      return await Promise.race([this.#flock, timeout]);
    } finally {
      clearTimeout(timer);
      this.#flockWanted = false;
    }
  }

  #unlockWriters(): void {
    this.#flock = null;
    if (this.#lockFile !== null) _unlock(this.#lockFile);
  }
}

/**
 * The error for a durable write whose flush failed: it committed, but may not survive a power
 * cut. Retryable: a message saved again under its client ID is recognised, not stored twice.
 */
function _flushError(err: unknown): StoreError {
  return new StoreError(
    STORE_ERRORS.unavailable,
    `The database log could not be flushed to disk (${(err as Error)?.message ?? err}); ` +
      "the write may be lost in a power cut: try again",
    { cause: err },
  );
}

/** Releases a lock file's lock; a file already closed has no lock left to release. */
function _unlock(file: Deno.FsFile): void {
  try {
    file.unlockSync();
  } catch (err) {
    if (!(err instanceof Deno.errors.BadResource)) throw err;
  }
}
