/**
 * The login throttle, driven by explicit clock values: free failures, doubling delays up to
 * a cap, success clearing a key, keys kept apart, and the longest wait winning.
 */

import assert from "node:assert/strict";
import { LoginThrottle } from "../core/server/throttle.ts";

const _T0 = 1_700_000_000_000;

Deno.test("LoginThrottle.retryAfter() is 0 for keys it has never seen", () => {
  const t = new LoginThrottle();
  assert.equal(t.retryAfter(["uid:1"], _T0), 0);
  assert.equal(t.retryAfter([], _T0), 0);
});

Deno.test("LoginThrottle.fail() allows three free failures by default", () => {
  const t = new LoginThrottle();
  for (let i = 0; i < 3; i++) {
    t.fail(["uid:1"], _T0);
    assert.equal(t.retryAfter(["uid:1"], _T0), 0, `after failure ${i + 1}`);
  }
  t.fail(["uid:1"], _T0);
  assert.equal(t.retryAfter(["uid:1"], _T0), 250);
});

Deno.test("LoginThrottle.fail() doubles the delay from 250 ms with each further failure", () => {
  const t = new LoginThrottle();
  const waits: number[] = [];
  let now = _T0;
  for (let i = 0; i < 10; i++) {
    t.fail(["uid:1"], now);
    waits.push(t.retryAfter(["uid:1"], now));
    now += 60_000; // each attempt after the previous block ran out
  }
  assert.deepEqual(waits, [0, 0, 0, 250, 500, 1_000, 2_000, 4_000, 8_000, 16_000]);
});

Deno.test("LoginThrottle.fail() caps the delay at 30 s", () => {
  const t = new LoginThrottle();
  let now = _T0;
  for (let i = 0; i < 10; i++, now += 60_000) t.fail(["uid:1"], now);
  t.fail(["uid:1"], now); // 11th failure: 250 * 2^7 = 32 s, capped
  assert.equal(t.retryAfter(["uid:1"], now), 30_000);
  for (let i = 0; i < 40; i++) t.fail(["uid:1"], now);
  assert.equal(t.retryAfter(["uid:1"], now), 30_000);
});

Deno.test("LoginThrottle.retryAfter() counts down with the clock", () => {
  const t = new LoginThrottle();
  for (let i = 0; i < 4; i++) t.fail(["uid:1"], _T0);
  assert.equal(t.retryAfter(["uid:1"], _T0), 250);
  assert.equal(t.retryAfter(["uid:1"], _T0 + 100), 150);
  assert.equal(t.retryAfter(["uid:1"], _T0 + 249), 1);
  assert.equal(t.retryAfter(["uid:1"], _T0 + 250), 0);
  assert.equal(t.retryAfter(["uid:1"], _T0 + 10_000), 0);
});

Deno.test("LoginThrottle.fail() counts failures while blocked too", () => {
  // The server refuses to check passwords while a key is blocked, but the throttle itself
  // counts every failure it is told about, blocked or not.
  const t = new LoginThrottle();
  for (let i = 0; i < 5; i++) t.fail(["uid:1"], _T0);
  assert.equal(t.retryAfter(["uid:1"], _T0), 500);
});

Deno.test("LoginThrottle.succeed() clears a key's failures", () => {
  const t = new LoginThrottle();
  for (let i = 0; i < 6; i++) t.fail(["uid:1"], _T0);
  assert.equal(t.retryAfter(["uid:1"], _T0), 1_000);
  t.succeed(["uid:1"]);
  assert.equal(t.retryAfter(["uid:1"], _T0), 0);
  // The count starts again: three free failures, then 250 ms.
  for (let i = 0; i < 3; i++) t.fail(["uid:1"], _T0);
  assert.equal(t.retryAfter(["uid:1"], _T0), 0);
  t.fail(["uid:1"], _T0);
  assert.equal(t.retryAfter(["uid:1"], _T0), 250);
});

Deno.test("LoginThrottle.succeed() clears only the keys it is given", () => {
  const t = new LoginThrottle();
  for (let i = 0; i < 4; i++) t.fail(["uid:1", "addr:10.0.0.1"], _T0);
  t.succeed(["uid:1"]);
  assert.equal(t.retryAfter(["uid:1"], _T0), 0);
  assert.equal(t.retryAfter(["addr:10.0.0.1"], _T0), 250);
  t.succeed(["unknown"]); // harmless
});

Deno.test("LoginThrottle keeps keys independent", () => {
  const t = new LoginThrottle();
  for (let i = 0; i < 5; i++) t.fail(["uid:1"], _T0);
  t.fail(["uid:2"], _T0);
  assert.equal(t.retryAfter(["uid:1"], _T0), 500);
  assert.equal(t.retryAfter(["uid:2"], _T0), 0);
  assert.equal(t.retryAfter(["name:uid:1"], _T0), 0);
  for (let i = 0; i < 3; i++) t.fail(["uid:2"], _T0);
  assert.equal(t.retryAfter(["uid:2"], _T0), 250);
  assert.equal(t.retryAfter(["uid:1"], _T0), 500);
});

Deno.test("LoginThrottle.fail() records a failure for every key given", () => {
  const t = new LoginThrottle();
  for (let i = 0; i < 4; i++) t.fail(["uid:1", "addr:a"], _T0);
  assert.equal(t.retryAfter(["uid:1"], _T0), 250);
  assert.equal(t.retryAfter(["addr:a"], _T0), 250);
});

Deno.test("LoginThrottle.retryAfter() is the longest wait over the keys", () => {
  const t = new LoginThrottle();
  for (let i = 0; i < 4; i++) t.fail(["a"], _T0); // 250 ms
  for (let i = 0; i < 7; i++) t.fail(["b"], _T0); // 2 s
  assert.equal(t.retryAfter(["a", "b"], _T0), 2_000);
  assert.equal(t.retryAfter(["b", "a"], _T0), 2_000);
  assert.equal(t.retryAfter(["a", "c"], _T0), 250);
  assert.equal(t.retryAfter(["a", "b"], _T0 + 1_000), 1_000);
  assert.equal(t.retryAfter(["a", "b"], _T0 + 2_000), 0);
});

Deno.test("LoginThrottle takes custom free failures, base delay and cap", () => {
  // The server's per-address throttle: 20 free failures.
  const addr = new LoginThrottle({ freeFailures: 20 });
  for (let i = 0; i < 20; i++) addr.fail(["addr:a"], _T0);
  assert.equal(addr.retryAfter(["addr:a"], _T0), 0);
  addr.fail(["addr:a"], _T0);
  assert.equal(addr.retryAfter(["addr:a"], _T0), 250);

  const t = new LoginThrottle({ freeFailures: 0, baseDelayMs: 100, maxDelayMs: 350 });
  const waits: number[] = [];
  for (let i = 0; i < 4; i++) {
    t.fail(["k"], _T0);
    waits.push(t.retryAfter(["k"], _T0));
  }
  assert.deepEqual(waits, [100, 200, 350, 350]);
});

Deno.test("LoginThrottle forgets idle records once it holds many", () => {
  const t = new LoginThrottle({ forgetAfterMs: 1_000 });
  for (let i = 0; i < 3; i++) t.fail(["old"], _T0);
  for (let i = 0; i < 10_000; i++) t.fail([`filler:${i}`], _T0 + 500);
  // A failure after "old" has been idle longer than forgetAfterMs sweeps it away, so its
  // next failure is a first (free) one rather than a fourth.
  t.fail(["trigger"], _T0 + 1_200);
  t.fail(["old"], _T0 + 1_200);
  assert.equal(t.retryAfter(["old"], _T0 + 1_200), 0);
});

Deno.test("LoginThrottle forgets failures idle longer than forgetAfterMs", () => {
  const t = new LoginThrottle({
    freeFailures: 1,
    baseDelayMs: 100,
    maxDelayMs: 1_000,
    forgetAfterMs: 10_000,
  });
  t.fail(["addr:x"], 0);
  t.fail(["addr:x"], 1);
  assert.ok(t.retryAfter(["addr:x"], 2) > 0);
  // Long after the last failure, the record is gone: the next failure is a free one again.
  assert.equal(t.retryAfter(["addr:x"], 20_000), 0);
  t.fail(["addr:x"], 20_000);
  assert.equal(t.retryAfter(["addr:x"], 20_001), 0);
});
