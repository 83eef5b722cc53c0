import assert from "node:assert/strict";
import { paceOpenLoop } from "../../core/bench/pacer.ts";
import { FakeClock } from "../helpers/fake_clock.ts";

Deno.test("paceOpenLoop() takes senders round robin and stops when inactive", async () => {
  const clock = new FakeClock();
  const senders: number[] = [];
  const lags: number[] = [];
  let active = true;
  const start = clock.now();
  paceOpenLoop({
    rate: 1_000,
    start,
    count: 3,
    active: () => active,
    timers: [],
    clock,
    onSlot: (s, lag) => {
      senders.push(s);
      lags.push(lag);
    },
  });
  assert.equal(senders.length, 1, "slot 0 is due at the start");
  await clock.advance(60);
  // At 1,000/s slot n is due at start + n ms: slots 0 to 60, each on time.
  assert.equal(senders.length, 61);
  assert.deepEqual(senders, senders.map((_, i) => i % 3));
  assert.ok(lags.every((l) => l === 0), `lags ${lags}`);
  active = false;
  await clock.advance(30);
  assert.equal(senders.length, 61, "slots were made after the pacer was stopped");
  assert.equal(clock.pending, 0, "a stopped pacer sets no more timers");
});

Deno.test("paceOpenLoop() catches up on the slots a late timer missed", () => {
  const clock = new FakeClock();
  const lags: number[] = [];
  paceOpenLoop({
    rate: 1_000,
    start: clock.now() - 10, // 10 ms behind already
    count: 1,
    active: () => lags.length < 11,
    timers: [],
    clock,
    onSlot: (_, lag) => lags.push(lag),
  });
  assert.deepEqual(lags, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
});

Deno.test("paceOpenLoop() rejects a rate or sender count that is not positive", () => {
  const base = { start: 0, active: () => false, timers: [], onSlot: () => {} };
  assert.throws(() => paceOpenLoop({ ...base, rate: 0, count: 1 }), RangeError);
  assert.throws(() => paceOpenLoop({ ...base, rate: Number.NaN, count: 1 }), RangeError);
  assert.throws(() => paceOpenLoop({ ...base, rate: 10, count: 0 }), /count must be a positive/);
});
