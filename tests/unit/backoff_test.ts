import assert from "node:assert/strict";
import { Backoff } from "../../core/async/backoff.ts";

Deno.test("Backoff.next() doubles up to the cap without jitter, and reset() starts over", () => {
  const b = new Backoff({ firstMs: 100, maxMs: 1_000, jitter: 0 });
  assert.deepEqual(Array.from({ length: 6 }, () => b.next()), [100, 200, 400, 800, 1_000, 1_000]);
  b.reset();
  assert.equal(b.next(), 100);
});

Deno.test("Backoff.next() with full jitter draws each delay from 0 to the capped ceiling", () => {
  const draws = [0, 0.5, 0.999, 0.25];
  let i = 0;
  const b = new Backoff({ firstMs: 1_000, maxMs: 4_000, random: () => draws[i++ % draws.length]! });
  // 1 - random() of 1 s, 2 s, 4 s, 4 s.
  assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [1_000, 1_000, 4, 3_000]);
});

Deno.test("Backoff spreads a crowd of reconnecting clients over the window", () => {
  // 10,000 clients on their third attempt (ceiling 4 s): no 400 ms slice holds over 15 %.
  const slices = new Array(10).fill(0);
  for (let c = 0; c < 10_000; c++) {
    const b = new Backoff({ firstMs: 1_000, maxMs: 15_000 });
    b.next();
    b.next();
    slices[Math.min(9, Math.floor(b.next() / 400))]++;
  }
  assert.ok(Math.max(...slices) < 1_500, `${slices}`);
});

Deno.test("Backoff with partial jitter keeps delays within its share", () => {
  const b = new Backoff({ firstMs: 100, maxMs: 2_000, jitter: 0.5, random: () => 0.999999 });
  assert.equal(b.next(), 50);
  assert.equal(b.next(), 100);
});

Deno.test("new Backoff() refuses negative, inverted or non-finite bounds and bad jitter", () => {
  assert.throws(() => new Backoff({ firstMs: -1, maxMs: 10 }), RangeError);
  assert.throws(() => new Backoff({ firstMs: 10, maxMs: 5 }), RangeError);
  assert.throws(() => new Backoff({ firstMs: 1, maxMs: Infinity }), RangeError);
  assert.throws(() => new Backoff({ firstMs: 1, maxMs: 2, jitter: 1.5 }), RangeError);
  assert.throws(() => new Backoff({ firstMs: 1, maxMs: 2, multiplier: 0.5 }), RangeError);
});
