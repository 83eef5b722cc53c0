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
