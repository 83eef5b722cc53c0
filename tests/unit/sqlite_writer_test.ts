/**
 * Tests of the SQLite store's writer on its own: the writes queued together share one
 * transaction, and a write that fails rolls back alone.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { StoreError } from "../../core/store/store.ts";
import { WalSync } from "../../core/store/sqlite/wal_sync.ts";
import { SqliteWriter } from "../../core/store/sqlite/writer.ts";
import { until } from "../helpers/wait.ts";

Deno.test("SqliteWriter.write() runs the writes queued together in one transaction; a failing one rolls back alone", async () => {
  const db = new DatabaseSync(":memory:");
  db.exec("CREATE TABLE t (x INTEGER UNIQUE)");
  const writer = new SqliteWriter(db, null, 1000);
  const seen: string[] = [];
  const insert = (x: number, tag: string) =>
    writer.write(() => {
      seen.push(`run ${tag} in transaction: ${db.isTransaction}`);
      db.prepare("INSERT INTO t (x) VALUES (?)").run(x);
      return tag;
    }).then(
      (v) => seen.push(`resolved ${v}`),
      (e: unknown) => seen.push(`rejected ${tag}: ${e instanceof Error ? "error" : e}`),
    );
  await Promise.all([insert(1, "a"), insert(1, "b"), insert(2, "c")]);
  // All three ran before any caller heard back: one commit answered them all.
  assert.deepEqual(seen, [
    "run a in transaction: true",
    "run b in transaction: true",
    "run c in transaction: true",
    "resolved a",
    "rejected b: error",
    "resolved c",
  ]);
  const rows = db.prepare("SELECT x FROM t ORDER BY x").all().map((r) => r["x"]);
  assert.deepEqual(rows, [1, 2]);
  await writer.close();
  assert.equal(db.isTransaction, false);
  db.close();
});

Deno.test("SqliteWriter.write() answers a durable write after the WAL flush that follows its commit, others at once", async () => {
  const db = new DatabaseSync(":memory:");
  db.exec("CREATE TABLE t (x INTEGER)");
  const flushes: PromiseWithResolvers<void>[] = [];
  let closed = false;
  const wal = new WalSync({
    syncData: () => {
      const f = Promise.withResolvers<void>();
      flushes.push(f);
      return f.promise;
    },
    close: () => closed = true,
  });
  const writer = new SqliteWriter(db, null, 1000, wal);
  const seen: string[] = [];
  const write = (tag: string, durable: boolean) =>
    writer.write(() => db.prepare("INSERT INTO t (x) VALUES (1)").run(), durable).then(
      () => seen.push(tag),
      (e: unknown) =>
        seen.push(`${tag} failed: ${(e as StoreError).code} ${(e as StoreError).retryable}`),
    );
  const ack = write("ack", false);
  const msg = write("message", true);
  await ack;
  assert.deepEqual(seen, ["ack"], "the ack did not wait for the flush");
  assert.equal(flushes.length, 1, "one flush after the commit");
  // An idle writer commits a new write at once, while the flush runs; its own flush is the
  // next one, which starts when the running one ends.
  const rows = () => db.prepare("SELECT count(*) AS n FROM t").get()!["n"];
  const msg2 = write("message 2", true);
  await until(() => rows() === 3, "message 2 committed during the first flush");
  assert.equal(flushes.length, 1);
  flushes[0]!.resolve();
  await msg;
  assert.deepEqual(seen, ["ack", "message"]);
  await until(() => flushes.length === 2, "the second flush");
  flushes[1]!.reject(new Error("EIO"));
  await msg2;
  assert.deepEqual(seen, ["ack", "message", "message 2 failed: unavailable true"]);
  // A loaded writer (8 writes queued behind one transaction) holds on through the flush, as the
  // fsync inside COMMIT did: a write that comes meanwhile commits after it.
  const load = Array.from({ length: 8 }, (_, i) => write(`load ${i}`, true));
  await until(() => flushes.length === 3, "the third flush");
  assert.equal(rows(), 11);
  const after = write("after the load", true);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(rows(), 11, "the next write waits for the flush");
  flushes[2]!.resolve();
  await Promise.all(load);
  await until(() => rows() === 12, "the next write committed after the flush");
  await until(() => flushes.length === 4, "its own flush");
  flushes[3]!.resolve();
  await after;
  assert.deepEqual(seen.slice(-2), ["load 7", "after the load"]);
  // A write that fails is answered at once: it has nothing to flush.
  await writer.write(() => {
    throw new RangeError("bad");
  }).catch((e: unknown) => seen.push(`threw ${(e as Error).name}`));
  assert.equal(seen.at(-1), "threw RangeError");
  assert.equal(flushes.length, 4);
  await writer.close();
  assert.equal(closed, true);
  db.close();
});
