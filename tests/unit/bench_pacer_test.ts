import assert from "node:assert/strict";
import { paceOpenLoop } from "../../core/bench/pacer.ts";

Deno.test("paceOpenLoop() takes senders round robin and stops when inactive", async () => {
  const senders: number[] = [];
  const lags: number[] = [];
  const timers: ReturnType<typeof setTimeout>[] = [];
  let active = true;
  const start = performance.now();
  paceOpenLoop({
    rate: 1_000,
    start,
    count: 3,
    active: () => active,
    timers,
    onSlot: (s, lag) => {
      senders.push(s);
      lags.push(lag);
    },
  });
  await new Promise((r) => setTimeout(r, 60));
  active = false;
  const made = senders.length;
  await new Promise((r) => setTimeout(r, 30));
  for (const t of timers) clearTimeout(t);
  assert.ok(made > 1, `expected several slots in 60 ms at 1,000/s, got ${made}`);
  assert.equal(senders.length, made, "slots were made after the pacer was stopped");
  assert.deepEqual(senders, senders.map((_, i) => i % 3));
  assert.ok(lags.every((l) => l >= 0), "a slot was made before it was due");
  // Never ahead of the schedule: slot n is due at start + n ms.
  assert.ok(made <= Math.ceil(performance.now() - start) + 1);
});

Deno.test("paceOpenLoop() rejects a rate or sender count that is not positive", () => {
  const base = { start: 0, active: () => false, timers: [], onSlot: () => {} };
  assert.throws(() => paceOpenLoop({ ...base, rate: 0, count: 1 }), RangeError);
  assert.throws(() => paceOpenLoop({ ...base, rate: Number.NaN, count: 1 }), RangeError);
  assert.throws(() => paceOpenLoop({ ...base, rate: 10, count: 0 }), /count must be a positive/);
});
