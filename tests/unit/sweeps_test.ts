import assert from "node:assert/strict";
import { createLogger } from "../../core/log/logger.ts";
import {
  LOAD_REPORT_MS,
  REDELIVER_AFTER_MS,
  REDELIVER_EVERY_MS,
  REPUSH_AFTER_MS,
  SESSION_CHECK_MS,
  SETTLE_PER_SWEEP,
  startSweeps,
  type SweepTargets,
} from "../../core/server/sweeps.ts";
import { FakeClock } from "../helpers/fake_clock.ts";

function _targets() {
  const calls: string[] = [];
  let hold: Promise<void> | null = null;
  const targets: SweepTargets = {
    redeliver: async (age, repush) => {
      calls.push(`redeliver ${age} ${repush}`);
      if (hold) await hold;
      return 0;
    },
    checkSessions: () => {
      calls.push("check");
      return Promise.resolve(0);
    },
    settle: (limit) => {
      calls.push(`settle ${limit}`);
      return Promise.resolve();
    },
    reportLoad: (load, now) => {
      calls.push(`report ${load.clients} ${now}`);
      return Promise.reject(new Error("database away"));
    },
    connections: () => 3,
  };
  return { targets, calls, holdWith: (p: Promise<void> | null) => (hold = p) };
}

function _logger() {
  const lines: string[] = [];
  return { log: createLogger("info", {}, (l) => lines.push(l)), lines };
}

Deno.test("startSweeps() runs each sweep on its own period, on the clock it is given", async () => {
  const clock = new FakeClock();
  const t = _targets();
  const { log, lines } = _logger();
  const sweeps = startSweeps(t.targets, log, clock);
  try {
    await clock.advance(SESSION_CHECK_MS);
    const count = (prefix: string) => t.calls.filter((c) => c.startsWith(prefix)).length;
    assert.equal(count("redeliver"), SESSION_CHECK_MS / REDELIVER_EVERY_MS);
    assert.ok(t.calls.includes(`redeliver ${REDELIVER_AFTER_MS} ${REPUSH_AFTER_MS}`));
    assert.equal(count("settle"), count("redeliver"), "bodies settled after each sweep");
    assert.ok(t.calls.includes(`settle ${SETTLE_PER_SWEEP}`));
    assert.equal(count("check"), 1);
    assert.equal(count("report"), SESSION_CHECK_MS / LOAD_REPORT_MS);
    assert.ok(t.calls.includes(`report 3 ${clock.now()}`), "load at the clock's time");
    // A failed report is logged, and the next one still runs.
    assert.ok(lines.some((l) => l.includes("load_report_failed") && l.includes("database away")));
  } finally {
    sweeps.stop();
  }
});

Deno.test("startSweeps() skips a sweep's turn while its last run is still going", async () => {
  const clock = new FakeClock();
  const t = _targets();
  const held = Promise.withResolvers<void>();
  t.holdWith(held.promise);
  const sweeps = startSweeps(t.targets, _logger().log, clock);
  try {
    await clock.advance(5 * REDELIVER_EVERY_MS);
    assert.equal(t.calls.filter((c) => c.startsWith("redeliver")).length, 1, "one at a time");
    t.holdWith(null);
    held.resolve();
    await clock.advance(REDELIVER_EVERY_MS);
    assert.equal(t.calls.filter((c) => c.startsWith("redeliver")).length, 2, "then on again");
  } finally {
    sweeps.stop();
  }
});

Deno.test("Sweeps.stop() cancels every timer: nothing runs after it", async () => {
  const clock = new FakeClock();
  const t = _targets();
  const sweeps = startSweeps(t.targets, _logger().log, clock);
  await clock.advance(REDELIVER_EVERY_MS);
  sweeps.stop();
  assert.equal(clock.pending, 0);
  const before = t.calls.length;
  await clock.advance(10 * SESSION_CHECK_MS);
  assert.equal(t.calls.length, before);
});
