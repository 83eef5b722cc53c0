/**
 * Admission control's appointments (`core/server/admission_control.ts`), on a fake clock:
 * refusals queue in arrival order at the rate the store commits, a sender back on time is
 * admitted ahead of new messages, and no sender who never returns leaves the server idle.
 */

import assert from "node:assert/strict";
import type { AdmissionState } from "../../core/server/admission.ts";
import { AdmissionControl } from "../../core/server/admission_control.ts";

const _LIMITS = { queueDelayMs: 1_000, queuedMessages: 4_096, lagMs: 300, outboundBytes: 1 << 22 };
const _sender = { queued: 0, outboundBytes: 0 };
const _over: AdmissionState = { queueDelayMs: 1_500, queued: 900, activeSenders: 300, lagMs: 0 };
const _busy: AdmissionState = { queueDelayMs: 600, queued: 700, activeSenders: 300, lagMs: 0 };
const _quiet: AdmissionState = { queueDelayMs: 100, queued: 20, activeSenders: 10, lagMs: 0 };

/** Control on a fake clock that has measured a commit rate of 2 messages a millisecond. */
function _control() {
  const clock = { t: 0 };
  const ac = new AdmissionControl(_LIMITS, () => clock.t);
  for (let i = 0; i < 40; i++) {
    ac.committed(500);
    clock.t += 250;
  }
  ac.committed(0); // closes the last period
  return { ac, clock };
}

Deno.test("AdmissionControl measures the store's commit rate", () => {
  const { ac } = _control();
  assert.ok(Math.abs(ac.commitRatePerS - 2_000) < 50, String(ac.commitRatePerS));
});

Deno.test("AdmissionControl.check() gives refused messages slots in arrival order, spaced by the commit rate", () => {
  const { ac } = _control();
  const waits = ["a", "b", "c"].map((k) => ac.check(_over, _sender, k)?.retryAfterMs);
  assert.deepEqual(waits, [50, 51, 51]); // 0.5 ms apart, rounded; the first at least 50 ms
  const many = Array.from({ length: 1_000 }, (_, i) => ac.check(_over, _sender, `m${i}`)!);
  const last = many.at(-1)!.retryAfterMs;
  assert.ok(
    Math.abs(last - 551) <= 2,
    `1,003 messages at 2 a ms: about 500 ms of queue, got ${last}`,
  );
  assert.equal(ac.appointments, 1_003);
});

Deno.test("AdmissionControl.check() admits a sender back on time ahead of new messages", () => {
  const { ac, clock } = _control();
  assert.equal(ac.check(_over, _sender, "a")?.reason, "queue");
  assert.equal(ac.check(_over, _sender, "b")?.reason, "queue");
  clock.t += 20;
  assert.deepEqual(
    ac.check(_busy, _sender, "a"),
    { reason: "queue", retryAfterMs: 50 },
    "early: the same slot",
  );
  clock.t += 40;
  // On time: in, though the queue is still past half its bound; a new message is not.
  assert.equal(ac.check(_busy, _sender, "a"), null);
  assert.equal(ac.check(_busy, _sender, "new")?.reason, "queue");
  assert.equal(ac.appointments, 2);
});

Deno.test("AdmissionControl.check() lets new messages in when the queue has room to spare", () => {
  const { ac } = _control();
  ac.check(_over, _sender, "a"); // a sender who may never come back
  assert.equal(ac.check(_quiet, _sender, "new"), null);
});

Deno.test("AdmissionControl.check() refuses on lag without an appointment, and forgets stale ones", () => {
  const { ac, clock } = _control();
  assert.equal(ac.check({ ..._quiet, lagMs: 900 }, _sender, "x")?.reason, "lag");
  assert.equal(ac.appointments, 0);
  ac.check(_over, _sender, "a");
  clock.t += 6_000;
  ac.committed(0);
  assert.equal(ac.appointments, 0, "not kept within 5 s of its slot");
});
