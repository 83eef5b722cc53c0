/**
 * Tests of the write-behind of acknowledgements on its own (fake clock): a window gathers
 * them, a full log writes at once and slows its callers while a write runs, a failed write
 * is reported, and `flush()` writes what waits and resolves after every earlier write.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AckLog } from "../../core/server/ack_log.ts";
import { FakeClock } from "../helpers/fake_clock.ts";

function _log(opts: { delayMs?: number; maxIds?: number } = {}) {
  const clock = new FakeClock();
  const writes: [number, number[]][] = [];
  const errors: string[] = [];
  let gate: Promise<void> | null = null;
  const log = new AckLog(
    async (userId, ids) => {
      writes.push([userId, [...ids]]);
      if (gate !== null) await gate;
      if (userId === 666) throw new Error("disk full");
    },
    (err, userId, ids) => errors.push(`${userId}:${ids.join(",")}:${(err as Error).message}`),
    { clock, ...opts },
  );
  return { clock, writes, errors, log, hold: (p: Promise<void> | null) => gate = p };
}

Deno.test("AckLog.add() gathers a window's acknowledgements into one write per user", async () => {
  const { clock, writes, log } = _log({ delayMs: 10 });
  await log.add(1, [5]);
  await log.add(2, [6]);
  await clock.advance(4);
  await log.add(1, [7, 8]);
  assert.deepEqual(writes, [], "nothing is written before the window ends");
  assert.equal(log.queued, 4);
  await clock.advance(6);
  assert.deepEqual(writes, [[1, [5, 7, 8]], [2, [6]]]);
  assert.equal(log.queued, 0);
  assert.equal(clock.pending, 0);
  // The next acknowledgement opens a new window.
  await log.add(1, [9]);
  await clock.advance(10);
  assert.deepEqual(writes.at(-1), [1, [9]]);
});

Deno.test("AckLog.flush() writes at once and resolves after every earlier write", async () => {
  const { clock, writes, log, hold } = _log();
  const gate = Promise.withResolvers<void>();
  hold(gate.promise);
  await log.add(1, [1]);
  const first = log.flush();
  await log.add(1, [2]);
  let done = false;
  const second = log.flush().then(() => done = true);
  assert.deepEqual(writes, [[1, [1]], [1, [2]]]);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(done, false, "the writes are still running");
  gate.resolve();
  await Promise.all([first, second]);
  assert.equal(done, true);
  assert.equal(clock.pending, 0, "the window's timer was cancelled");
  // Nothing queued: flush() still waits for what runs, then resolves.
  await log.flush();
});

Deno.test("AckLog.add() writes a full log at once and makes callers wait while a write runs", async () => {
  const { writes, log, hold } = _log({ maxIds: 3 });
  const gate = Promise.withResolvers<void>();
  hold(gate.promise);
  await log.add(1, [1, 2]);
  assert.deepEqual(writes, []);
  // The third ID fills the log: written now; no write was running, so no wait.
  await log.add(2, [3]);
  assert.deepEqual(writes, [[1, [1, 2]], [2, [3]]]);
  await log.add(1, [4, 5]);
  let waited = false;
  const slow = log.add(1, [6]).then(() => waited = true);
  assert.deepEqual(writes.at(-1), [1, [4, 5, 6]], "written at once");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(waited, false, "the caller waits for the running write");
  gate.resolve();
  await slow;
  assert.equal(waited, true);
});

Deno.test("AckLog reports a failed write and goes on", async () => {
  const { writes, errors, log } = _log();
  await log.add(666, [1]);
  await log.add(2, [2]);
  await log.flush();
  assert.deepEqual(errors, ["666:1:disk full"]);
  assert.deepEqual(writes, [[666, [1]], [2, [2]]]);
  await log.add(2, [3]);
  await log.flush();
  assert.deepEqual(writes.at(-1), [2, [3]]);
});

Deno.test("new AckLog() refuses a bad window or bound", () => {
  const write = () => Promise.resolve();
  assert.throws(() => new AckLog(write, () => {}, { delayMs: -1 }), RangeError);
  assert.throws(() => new AckLog(write, () => {}, { delayMs: NaN }), RangeError);
  assert.throws(() => new AckLog(write, () => {}, { maxIds: 0 }), RangeError);
  assert.throws(() => new AckLog(write, () => {}, { maxIds: 1.5 }), RangeError);
});
