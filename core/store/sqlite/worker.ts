/**
 * The worker behind {@linkcode SqliteWorkerStore}: it opens a {@linkcode SqliteStore} on the
 * first call (`open`) and runs every later call on it, in arrival order, replying in batches.
 * node:sqlite is synchronous, so on a server's own thread every write transaction, and the
 * fsync of its commit, stopped the event loop (15–30 ms at a time under load); here they stop
 * only this thread. Glue only: the store's logic is `sqlite_store.ts`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { SqliteStore, type SqliteStoreOptions } from "./sqlite_store.ts";
import { errorToData, STORE_METHODS, type WorkerCall, type WorkerReply } from "./worker_calls.ts";

let _store: SqliteStore | null = null;
let _replies: WorkerReply[] = [];
let _flushScheduled = false;

self.onmessage = (ev: MessageEvent<WorkerCall[]>) => {
  // Every call of the batch starts in order before any settles, as on the caller's thread:
  // writes join the store's queue in that order and commit together.
  for (const call of ev.data) {
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(_run(call));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (value) => _reply({ id: call.id, ok: true, value }),
      (err) => _reply({ id: call.id, ok: false, error: errorToData(err) }),
    );
  }
};

function _run(call: WorkerCall): unknown {
  if (call.method === "open") {
    if (_store !== null) throw new Error("The database worker is already open");
    const [path, opts] = call.args as [string, SqliteStoreOptions];
    return SqliteStore.open(path, opts).then((store) => {
      _store = store;
      return null;
    });
  }
  if (_store === null) throw new Error("The database worker is not open");
  // Only the store's own methods, named in the typed table, can be called.
  if (!(STORE_METHODS as readonly string[]).includes(call.method)) {
    throw new TypeError(`The store has no method "${call.method}"`);
  }
  const method = _store[call.method] as (...args: unknown[]) => unknown;
  return method.apply(_store, call.args);
}

/** Queues a reply; the replies of one turn go back in one message. */
function _reply(reply: WorkerReply): void {
  _replies.push(reply);
  if (_flushScheduled) return;
  _flushScheduled = true;
  queueMicrotask(() => {
    _flushScheduled = false;
    const batch = _replies;
    _replies = [];
    self.postMessage(batch);
  });
}
