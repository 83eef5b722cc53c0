/**
 * Group flush of SQLite's write-ahead log, outside the write lock.
 *
 * With `synchronous=FULL`, SQLite fsyncs the WAL inside `COMMIT`, while the transaction still
 * holds the database's one write lock, so every process waits for every other process's
 * fsync. Measured with three servers at 1,000 messages/s: each transaction held the lock
 * 2.1 ms (p50), the lock was busy all the time, and a message waited 15 ms to be accepted.
 *
 * So the connection runs with `synchronous=NORMAL` (a commit appends its frames to the WAL
 * and returns) and the writer, after releasing the lock, calls {@linkcode WalSync.sync} and
 * only then tells the callers of durable writes that they are done. The frames are on disk
 * once `fdatasync` of the WAL file returns: SQLite's recovery replays every frame up to the
 * last valid commit (frames carry checksums), and a checkpoint, which copies frames into the
 * database and may then restart the log, fsyncs the WAL before and the database after it
 * even with `NORMAL` (https://www.sqlite.org/wal.html, "Performance Considerations";
 * https://www.sqlite.org/pragma.html#pragma_synchronous). One flush covers every frame
 * written before it started, from any process, so while one runs the next is shared by every
 * commit that comes meanwhile: a group commit that gathers at any load and never holds the
 * lock.
 *
 * What changes: a committed transaction is visible to readers (other processes) a flush
 * before it is durable, as with PostgreSQL's `synchronous_commit = off` for that moment.
 * Nothing the server says depends on it: `accepted` and live pushes wait for the flush;
 * only a replay or sweep in another process could read such a message in that instant, and
 * only a power cut in the same instant would then lose it.
 *
 * @module
 */

/** What a flush needs of the WAL file: Deno's `FsFile.syncData` (fdatasync) and `close`. */
export interface SyncableFile {
  syncData(): Promise<void>;
  close(): void;
}

/** Flushes one WAL file, one flush at a time, each shared by every caller that waits. */
export class WalSync {
  readonly #file: SyncableFile;
  /** The flush running now, if any. */
  #running: Promise<void> | null = null;
  /** The flush that starts when the running one ends, shared by everyone who asked since. */
  #next: Promise<void> | null = null;

  /** Flushes `file`, the database's `-wal` file. */
  constructor(file: SyncableFile) {
    this.#file = file;
  }

  /**
   * Resolves once everything written to the WAL before this call is on disk; rejects if the
   * flush failed. A flush already running may have started before the caller's commit, so
   * the caller waits for the next one, which starts as soon as the running one ends.
   */
  sync(): Promise<void> {
    if (this.#running === null) return this.#run();
    this.#next ??= this.#running.then(
      () => this.#startNext(),
      () => this.#startNext(),
    );
    return this.#next;
  }

  /** Waits for the flushes asked for, then closes the file. */
  async close(): Promise<void> {
    await Promise.allSettled([this.#running, this.#next]);
    this.#file.close();
  }

  #startNext(): Promise<void> {
    this.#next = null;
    return this.#run();
  }

  #run(): Promise<void> {
    const flush = this.#file.syncData();
    this.#running = flush;
    const done = () => {
      if (this.#running === flush) this.#running = null;
    };
    flush.then(done, done);
    return flush;
  }
}
