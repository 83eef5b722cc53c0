/**
 * The client's pacing and retry of storing requests (`core/client/engine/send_pacer.ts`), with a
 * fake clock: in order, within the send rate, sent again after `busy` or `rate_limited`,
 * and never retried past a refusal for good or a closed connection.
 */

import assert from "node:assert/strict";
import { RequestError } from "../../core/client/engine/errors.ts";
import { type PacerPorts, SendPacer } from "../../core/client/engine/send_pacer.ts";

/** A clock that moves only when the pacer sleeps, recording each sleep. */
function _fakePorts(random = 0): PacerPorts & { t: number; sleeps: number[] } {
  const ports = {
    t: 0,
    sleeps: [] as number[],
    now: () => ports.t,
    sleep: (ms: number) => {
      ports.sleeps.push(ms);
      ports.t += ms;
      return Promise.resolve();
    },
    random: () => random,
  };
  return ports;
}

Deno.test("SendPacer.run() sends in order and keeps a burst within the send rate", async () => {
  const ports = _fakePorts();
  const pacer = new SendPacer({ burst: 2, intervalMs: 100 }, ports);
  const sent: [string, number][] = [];
  const all = ["a", "b", "c", "d"].map((x) =>
    pacer.run(() => {
      sent.push([x, ports.t]);
      return Promise.resolve(x);
    }, () => true)
  );
  assert.deepEqual(await Promise.all(all), ["a", "b", "c", "d"]);
  // Two at once, then one every 100 ms.
  assert.deepEqual(sent, [["a", 0], ["b", 0], ["c", 100], ["d", 200]]);
  assert.equal(pacer.queued, 0);
});

Deno.test("SendPacer.run() sends a refused request again after retry_after_ms, before the next", async () => {
  const ports = _fakePorts(0.5);
  const pacer = new SendPacer({ burst: 100, intervalMs: 1 }, ports);
  const sent: string[] = [];
  let busyOnce = true;
  let limitedOnce = true;
  const a = pacer.run(() => {
    sent.push("a");
    if (busyOnce) {
      busyOnce = false;
      return Promise.reject(new RequestError("busy", "The server is busy", 400));
    }
    return Promise.resolve("a");
  }, () => true);
  const b = pacer.run(() => {
    sent.push("b");
    if (limitedOnce) {
      limitedOnce = false;
      return Promise.reject(new RequestError("rate_limited", "Slow down", 1_000));
    }
    return Promise.resolve("b");
  }, () => true);
  assert.deepEqual(await Promise.all([a, b]), ["a", "b"]);
  assert.deepEqual(sent, ["a", "a", "b", "b"], "nothing overtakes a refused request");
  // The server's wait plus 5 % (random 0.5 of the 10 % jitter).
  assert.deepEqual(ports.sleeps, [420, 1_050]);
});

Deno.test("SendPacer.run() passes on a refusal for good and goes on with the next request", async () => {
  const pacer = new SendPacer({ burst: 10, intervalMs: 1 }, _fakePorts());
  let calls = 0;
  const full = pacer.run(() => {
    calls++;
    return Promise.reject(new RequestError("recipient_full", "Too much waiting"));
  }, () => true);
  const next = pacer.run(() => Promise.resolve("next"), () => true);
  await assert.rejects(full, (e) => e instanceof RequestError && e.code === "recipient_full");
  assert.equal(calls, 1);
  assert.equal(await next, "next");
});

Deno.test("SendPacer.run() stops retrying once the connection is gone", async () => {
  const pacer = new SendPacer({ burst: 10, intervalMs: 1 }, _fakePorts());
  let alive = true;
  let calls = 0;
  const attempt = pacer.run(() => {
    calls++;
    alive = false; // the connection closes while the refusal is waited out
    return Promise.reject(new RequestError("busy", "The server is busy", 100));
  }, () => alive);
  await assert.rejects(attempt, (e) => e instanceof RequestError && e.code === "busy");
  assert.equal(calls, 1);
});
