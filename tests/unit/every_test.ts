import assert from "node:assert/strict";
import { every } from "../../core/async/every.ts";
import { delay, settledWithin } from "../../core/client/transport/delay.ts";
import { FakeClock } from "../helpers/fake_clock.ts";

Deno.test("every() calls back once per period until stopped, and leaves no timer", async () => {
  const clock = new FakeClock();
  const at: number[] = [];
  const start = clock.now();
  const stop = every(clock, 10, () => at.push(clock.now() - start));
  await clock.advance(35);
  assert.deepEqual(at, [10, 20, 30]);
  stop();
  stop(); // twice is fine
  await clock.advance(100);
  assert.deepEqual(at, [10, 20, 30]);
  assert.equal(clock.pending, 0);
});

Deno.test("every() goes on after a callback throws", async () => {
  const clock = new FakeClock();
  let calls = 0;
  const stop = every(clock, 5, () => {
    calls++;
    throw new Error("boom");
  });
  // FakeClock lets a timer's error through; the next period is armed before the call.
  for (let i = 0; i < 3; i++) await assert.rejects(clock.advance(5), /boom/);
  assert.equal(calls, 3);
  stop();
});

Deno.test("delay() and settledWithin() wait on the clock they are given", async () => {
  const clock = new FakeClock();
  let done = false;
  const d = delay(1_000, undefined, clock).then(() => done = true);
  await clock.advance(999);
  assert.equal(done, false);
  await clock.advance(1);
  await d;
  const never = new Promise(() => {});
  const within = settledWithin(never, 50, clock);
  await clock.advance(50);
  assert.equal(await within, false);
  assert.equal(clock.pending, 0, "no timer left behind");
});
