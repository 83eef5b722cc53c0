/**
 * Tests of the SQLite store's writer on its own: the writes queued together share one
 * transaction, and a write that fails rolls back alone.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteWriter } from "../../core/store/sqlite/writer.ts";

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

Deno.test("SqliteWriter.write() skips the fsync only for a transaction of writes that are not durable", async () => {
  const dir = Deno.makeTempDirSync();
  const db = new DatabaseSync(`${dir}/w.db`);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("CREATE TABLE t (x INTEGER)");
  const writer = new SqliteWriter(db, null, 1000);
  // What `synchronous` is while each write runs, hence at its commit: 2 FULL, 1 NORMAL.
  const mode = (durable: boolean) =>
    writer.write(() => {
      db.prepare("INSERT INTO t (x) VALUES (1)").run();
      return (db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous;
    }, durable);
  assert.equal(await mode(false), 1);
  assert.equal(await mode(true), 2);
  assert.equal(await mode(false), 1);
  // One durable write makes the whole shared transaction durable.
  assert.deepEqual(await Promise.all([mode(false), mode(true), mode(false)]), [2, 2, 2]);
  await writer.close();
  db.close();

  // A database opened for throwaway data (`fsync` false) never goes back to FULL.
  const db2 = new DatabaseSync(`${dir}/n.db`);
  db2.exec("PRAGMA journal_mode = WAL");
  db2.exec("PRAGMA synchronous = NORMAL");
  const writer2 = new SqliteWriter(db2, null, 1000, false);
  const seen = await writer2.write(
    () => (db2.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous,
  );
  assert.equal(seen, 1);
  await writer2.close();
  db2.close();
  Deno.removeSync(dir, { recursive: true });
});
