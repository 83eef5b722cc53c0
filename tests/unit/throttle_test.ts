/**
 * The in-memory token buckets of the send rate, and the bucket arithmetic they share with
 * the store, driven by explicit clock values.
 */

import assert from "node:assert/strict";
import { Throttle } from "../../core/server/throttle.ts";
import { bucketRefund, bucketTake, bucketWait } from "../../core/store/token_bucket.ts";

const _T0 = 1_700_000_000_000;

Deno.test("bucketWait() lets exactly the burst through at one instant", () => {
  const shape = { burst: 4, intervalMs: 250 };
  let tat = 0;
  const waits: number[] = [];
  for (let i = 0; i < 6; i++) {
    const wait = bucketWait(tat, _T0, shape);
    waits.push(wait);
    if (wait === 0) tat = bucketTake(tat, _T0, shape);
  }
  assert.deepEqual(waits, [0, 0, 0, 0, 250, 250]);
  assert.equal(tat, _T0 + 4 * 250);
});

Deno.test("bucketRefund() gives one attempt back, and a bucket full again is as good as new", () => {
  const shape = { burst: 2, intervalMs: 1_000 };
  const tat = bucketTake(bucketTake(0, _T0, shape), _T0, shape);
  assert.equal(bucketWait(tat, _T0, shape), 1_000);
  assert.equal(bucketWait(bucketRefund(tat, shape), _T0, shape), 0);
  assert.equal(bucketWait(tat, _T0 + 2_000, shape), 0);
  assert.equal(bucketTake(tat, _T0 + 5_000, shape), _T0 + 6_000, "a full bucket starts at now");
});

Deno.test("Throttle.take() grants the burst, then one attempt per interval", () => {
  const t = new Throttle<number>({ burst: 3, intervalMs: 20 });
  assert.deepEqual([1, 2, 3, 4].map(() => t.take(7, _T0)), [0, 0, 0, 20]);
  assert.equal(t.take(7, _T0 + 19), 1);
  assert.equal(t.take(7, _T0 + 20), 0);
  assert.equal(t.take(7, _T0 + 20), 20);
  // Sustained: one every interval, never more.
  let granted = 0;
  for (let ms = 21; ms <= 1_020; ms++) if (t.take(7, _T0 + ms) === 0) granted++;
  assert.equal(granted, 50);
});

Deno.test("Throttle keeps keys apart", () => {
  const t = new Throttle<number>({ burst: 1, intervalMs: 1_000 });
  assert.equal(t.take(1, _T0), 0);
  assert.equal(t.take(1, _T0), 1_000);
  assert.equal(t.take(2, _T0), 0);
});

Deno.test("Throttle forgets buckets that are full again once it holds many", () => {
  const t = new Throttle<number>({ burst: 1, intervalMs: 10 });
  for (let k = 0; k < 10_000; k++) t.take(k, _T0);
  assert.equal(t.size, 10_000);
  t.take(-1, _T0 + 10);
  assert.equal(t.size, 1, "every old bucket was full again, so none is kept");
  // A key still waiting is kept.
  const u = new Throttle<number>({ burst: 1, intervalMs: 1_000_000 });
  for (let k = 0; k < 10_000; k++) u.take(k, _T0);
  u.take(-1, _T0 + 10);
  assert.equal(u.size, 10_001);
  assert.equal(u.take(0, _T0 + 10), 999_990);
});

Deno.test("Throttle refuses a bucket that is not positive integers", () => {
  assert.throws(() => new Throttle({ burst: 0, intervalMs: 1 }), RangeError);
  assert.throws(() => new Throttle({ burst: 1, intervalMs: 0.5 }), RangeError);
});
