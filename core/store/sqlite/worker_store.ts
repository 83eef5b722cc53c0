/**
 * The main database on SQLite, run in a worker thread: a {@linkcode Store} that forwards each
 * call to a {@linkcode SqliteStore} in `worker.ts` and resolves with its answer.
 *
 * Why: node:sqlite is synchronous. On a server's own thread each write transaction, and the
 * fsync of its commit, stopped the event loop for 15–30 ms at a time under load, so sockets
 * went unread meanwhile and, with one saturated server, send→`accepted` p99 was 14–31 times
 * its p50 (PostgreSQL, whose commits wait on a socket, 1.7 times). In the worker they stop only
 * the worker. The calls of one event-loop turn go in one message and start there in the same
 * order, so the store's group commit and its ordering promises are unchanged; the replies of
 * one turn come back in one message too.
 *
 * Errors keep their type and code (`worker_calls.ts`). If the worker dies, every call waiting
 * and every later call fails with StoreError `unavailable`.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { SqliteStoreOptions } from "./sqlite_store.ts";
import { type Store, STORE_ERRORS, StoreError } from "../store.ts";
import {
  errorFromData,
  STORE_METHODS,
  type StoreMethod,
  type WorkerCall,
  type WorkerReply,
} from "./worker_calls.ts";

/**
 * Opens the SQLite database at `path` in a new worker (see the module documentation);
 * rejects as {@linkcode SqliteStore.open} would, and then no worker is left running.
 */
export async function openSqliteWorkerStore(
  path: string,
  opts: SqliteStoreOptions = {},
): Promise<SqliteWorkerStore> {
  const store = new SqliteWorkerStore();
  try {
    await store.open(path, opts);
  } catch (err) {
    store.terminate();
    throw err;
  }
  return store;
}

/**
 * A {@linkcode Store} whose SQLite connection lives in a worker; see the module documentation.
 * Every store method is forwarded by the constructor from {@linkcode STORE_METHODS} (typed
 * against `Store`), not written out one by one.
 */
export interface SqliteWorkerStore extends Omit<Store, "close"> {}
/** See the interface of the same name. */
export class SqliteWorkerStore implements Store {
  readonly #worker: Worker;
  readonly #pending = new Map<number, PromiseWithResolvers<unknown>>();
  #nextId = 1;
  #outbox: WorkerCall[] = [];
  #flushScheduled = false;
  /** Why calls fail from now on; null while the worker runs. */
  #dead: StoreError | null = null;

  /** Starts the worker; {@linkcode openSqliteWorkerStore} also opens the database in it. */
  constructor() {
    for (const method of STORE_METHODS) {
      if (method === "close") continue;
      Object.defineProperty(this, method, {
        value: (...args: Parameters<Store[typeof method]>) => this.#send(method, args),
      });
    }
    this.#worker = new Worker(new URL("./worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (ev: MessageEvent<WorkerReply[]>) => {
      for (const reply of ev.data) {
        const call = this.#pending.get(reply.id);
        if (call === undefined) continue;
        this.#pending.delete(reply.id);
        if (reply.ok) call.resolve(reply.value);
        else call.reject(errorFromData(reply.error));
      }
    };
    this.#worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.#fail(`The database worker failed: ${ev.message}`);
    };
  }

  /** Opens the database at `path` in the worker; the first call, and only once. */
  open(path: string, opts: SqliteStoreOptions = {}): Promise<void> {
    return this.#send("open", [path, opts]) as Promise<void>;
  }

  /** Runs store method `method` in the worker with `args`; resolves with its result. */
  call<M extends StoreMethod>(method: M, ...args: Parameters<Store[M]>): ReturnType<Store[M]> {
    return this.#send(method, args) as ReturnType<Store[M]>;
  }

  /** Closes the database, then stops the worker. */
  async close(): Promise<void> {
    if (this.#dead !== null) return;
    try {
      await this.call("close");
    } finally {
      this.terminate();
    }
  }

  /** Stops the worker at once; calls still waiting fail with StoreError `unavailable`. */
  terminate(): void {
    this.#worker.terminate();
    this.#fail("The database is closed");
  }

  #fail(why: string): void {
    this.#dead ??= new StoreError(STORE_ERRORS.unavailable, why);
    for (const call of this.#pending.values()) call.reject(this.#dead);
    this.#pending.clear();
  }

  #send(method: WorkerCall["method"], args: WorkerCall["args"]): Promise<unknown> {
    if (this.#dead !== null) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    const call = Promise.withResolvers<unknown>();
    this.#pending.set(id, call);
    this.#outbox.push({ id, method, args } as WorkerCall);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // The calls of this event-loop turn leave together, in order. While earlier calls are
      // still in the worker, wait for the end of the turn (a macrotask), so every socket
      // read of the turn joins: at saturation, a third fewer messages of 12 calls each. With
      // nothing in flight, go at once: a quiet server should not add a turn to a message's
      // latency.
      if (this.#pending.size > 1) setImmediate(() => this.#flush());
      else queueMicrotask(() => this.#flush());
    }
    return call.promise;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#outbox;
    this.#outbox = [];
    if (this.#dead !== null) return;
    try {
      this.#worker.postMessage(batch);
    } catch {
      // Some argument cannot be cloned: send the calls one by one, so only its call fails.
      for (const call of batch) {
        try {
          this.#worker.postMessage([call]);
        } catch (err) {
          const p = this.#pending.get(call.id);
          this.#pending.delete(call.id);
          p?.reject(new TypeError(`Arguments of ${call.method}() cannot be sent: ${err}`));
        }
      }
    }
  }
}
