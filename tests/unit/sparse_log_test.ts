/** `SparseLog`: one line per interval for an event strangers can repeat, with its count. */

import assert from "node:assert/strict";
import { SparseLog } from "../../core/server/sparse_log.ts";

Deno.test("SparseLog lets the first event through, then one per interval with the count", () => {
  let now = 1_000;
  const log = new SparseLog(5_000, () => now);
  assert.equal(log.note(), 1, "the first is logged");
  for (let i = 0; i < 1_000; i++) {
    now += 1;
    assert.equal(log.note(), null, "a flood within the interval is not");
  }
  now = 6_000;
  assert.equal(log.note(), 1_001, "the next line counts the skipped ones and itself");
  now = 10_999;
  assert.equal(log.note(), null);
  now = 60_000;
  assert.equal(log.note(), 2);
});
