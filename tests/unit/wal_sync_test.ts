/**
 * Tests of the WAL flush on its own: one flush at a time, a caller that comes while one runs
 * waits for the next, which every such caller shares, and a failure reaches its callers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { WalSync } from "../../core/store/sqlite/wal_sync.ts";

function _file() {
  const flushes: PromiseWithResolvers<void>[] = [];
  let closed = false;
  const file = {
    syncData: () => {
      const f = Promise.withResolvers<void>();
      flushes.push(f);
      return f.promise;
    },
    close: () => void (closed = true),
  };
  return { file, flushes, closed: () => closed };
}

const _tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("WalSync.sync() shares the next flush among every caller that comes while one runs", async () => {
  const { file, flushes } = _file();
  const wal = new WalSync(file);
  const done: string[] = [];
  const a = wal.sync().then(() => done.push("a"));
  assert.equal(flushes.length, 1);
  // b and c committed after the running flush began: it may not cover them.
  const b = wal.sync().then(() => done.push("b"));
  const c = wal.sync().then(() => done.push("c"));
  assert.equal(flushes.length, 1, "one flush at a time");
  flushes[0]!.resolve();
  await a;
  await _tick();
  assert.deepEqual(done, ["a"]);
  assert.equal(flushes.length, 2, "the next flush started when the first ended");
  flushes[1]!.resolve();
  await Promise.all([b, c]);
  assert.deepEqual(done, ["a", "b", "c"]);
  // Idle again: the next caller starts a flush of its own at once.
  void wal.sync();
  assert.equal(flushes.length, 3);
  flushes[2]!.resolve();
});

Deno.test("WalSync.sync() rejects the callers of a flush that failed, and the next flush still runs", async () => {
  const { file, flushes } = _file();
  const wal = new WalSync(file);
  const first = wal.sync();
  const second = wal.sync();
  flushes[0]!.reject(new Error("EIO"));
  await assert.rejects(first, /EIO/);
  await _tick();
  assert.equal(flushes.length, 2);
  flushes[1]!.resolve();
  await second;
});

Deno.test("WalSync.close() waits for the flushes asked for, then closes the file", async () => {
  const { file, flushes, closed } = _file();
  const wal = new WalSync(file);
  void wal.sync();
  void wal.sync();
  const closing = wal.close();
  await _tick();
  assert.equal(closed(), false);
  flushes[0]!.resolve();
  await _tick();
  flushes[1]!.resolve();
  await closing;
  assert.equal(closed(), true);
});
