/**
 * Admission control's decision (`core/server/admission.ts`): pure, so every bound and the
 * fair share are checked exactly, with the numbers a server would read.
 */

import assert from "node:assert/strict";
import {
  type AdmissionState,
  admit,
  BUSY_RETRY_MAX_MS,
  BUSY_RETRY_MIN_MS,
  checkAdmissionLimits,
  DEFAULT_ADMISSION,
} from "../../core/server/admission.ts";

/** Bounds of the tests' own, so the defaults may change. */
const _LIMITS = {
  queueDelayMs: 300,
  queuedMessages: 4_096,
  lagMs: 300,
  outboundBytes: 4 * 1024 * 1024,
};
const _idle: AdmissionState = { queueDelayMs: 0, queued: 0, activeSenders: 0, lagMs: 0 };
const _light = { queued: 0, outboundBytes: 0 };

Deno.test("admit() admits a message while every signal is under its bound", () => {
  assert.equal(admit(_LIMITS, _idle, _light), null);
  const loaded = { queueDelayMs: 140, queued: 900, activeSenders: 300, lagMs: 40 };
  assert.equal(admit(_LIMITS, loaded, { queued: 8, outboundBytes: 1024 }), null);
});

Deno.test("admit() refuses every sender once the store queue's delay passes its bound", () => {
  const state = { ..._idle, queueDelayMs: 420, queued: 50, activeSenders: 50 };
  const verdict = admit(_LIMITS, state, _light);
  assert.deepEqual(verdict, { reason: "queue", retryAfterMs: 420 });
});

Deno.test("admit() refuses once the queue holds its most messages, however young", () => {
  const state = { ..._idle, queued: _LIMITS.queuedMessages, activeSenders: 1 };
  assert.equal(admit(_LIMITS, state, _light)?.reason, "queue");
  assert.equal(admit(_LIMITS, { ...state, queued: state.queued - 1 }, _light), null);
});

Deno.test("admit() refuses on event-loop lag and on the sender's own unread output", () => {
  assert.deepEqual(admit(_LIMITS, { ..._idle, lagMs: 900 }, _light), {
    reason: "lag",
    retryAfterMs: 900,
  });
  const slowReader = { queued: 0, outboundBytes: _LIMITS.outboundBytes + 1 };
  assert.equal(admit(_LIMITS, _idle, slowReader)?.reason, "outbound");
});

Deno.test("admit() past half the delay bound slows a heavy sender before a light one", () => {
  // 10 senders hold 40 messages: 4 each on average.
  const state = { queueDelayMs: 200, queued: 40, activeSenders: 10, lagMs: 0 };
  assert.equal(
    admit(_LIMITS, state, { queued: 6, outboundBytes: 0 })?.reason,
    "fair_share",
  );
  assert.equal(
    admit(_LIMITS, state, { queued: 4, outboundBytes: 0 })?.reason,
    "fair_share",
  );
  assert.equal(admit(_LIMITS, state, { queued: 3, outboundBytes: 0 }), null);
  assert.equal(admit(_LIMITS, state, { queued: 0, outboundBytes: 0 }), null);
  // Under half the bound, nobody is.
  assert.equal(
    admit(_LIMITS, { ...state, queueDelayMs: 100 }, { queued: 6, outboundBytes: 0 }),
    null,
  );
});

Deno.test("admit() keeps retry_after_ms within its bounds", () => {
  const short = admit(
    { ..._LIMITS, queueDelayMs: 1 },
    { ..._idle, queueDelayMs: 2 },
    _light,
  );
  assert.equal(short?.retryAfterMs, BUSY_RETRY_MIN_MS);
  const long = admit(_LIMITS, { ..._idle, lagMs: 60_000 }, _light);
  assert.equal(long?.retryAfterMs, BUSY_RETRY_MAX_MS);
});

Deno.test("checkAdmissionLimits() refuses a bound that is not a positive number", () => {
  assert.throws(() => checkAdmissionLimits({ ...DEFAULT_ADMISSION, lagMs: 0 }), RangeError);
  assert.throws(
    () => checkAdmissionLimits({ ...DEFAULT_ADMISSION, queueDelayMs: Number.NaN }),
    /queueDelayMs must be a positive number, got NaN/,
  );
  assert.deepEqual(checkAdmissionLimits(DEFAULT_ADMISSION), DEFAULT_ADMISSION);
});
