/**
 * A chat server's periodic work, on an injected {@linkcode Clock}: the event-loop lag
 * measurement, the load report the balancer reads, the redelivery sweep (with the pending
 * expiry and the clearing of bodies nobody needs), and the session check. Each repeats on its
 * own period; a sweep still running when its next turn comes is skipped, never doubled.
 * `serve.ts` starts them on the system clock; tests drive them with a fake one.
 *
 * @module
 */

import type { Clock, TimerHandle } from "../async/clock.ts";
import type { Logger } from "../log/logger.ts";

/**
 * How often the redelivery sweep runs; how old a pending message must be before it looks at
 * it; and how long a push may stay unacknowledged on a connection before it is pushed again.
 */
export const REDELIVER_EVERY_MS = 1_000;
export const REDELIVER_AFTER_MS = 2_000;
export const REPUSH_AFTER_MS = 10_000;

/**
 * How often a server checks that its connections' sessions still exist: a logout on a peer
 * it could not hear from, or an expiry, closes them within this time.
 */
export const SESSION_CHECK_MS = 10_000;

/** How often load is reported, milliseconds (the balancer treats 3 s of silence as dead). */
export const LOAD_REPORT_MS = 500;

/** How often the event loop's lag is sampled, milliseconds. */
export const LAG_SAMPLE_MS = 100;

/** Most message bodies one sweep clears (see `Store.settle`). */
export const SETTLE_PER_SWEEP = 20_000;

/** What the sweeps act on: the chat server and the store, as far as they need them. */
export interface SweepTargets {
  /** Pushes again what waits too long; resolves with how many messages it pushed. */
  redeliver(ageMs: number, repushMs: number): Promise<number>;
  /** Closes connections whose session ended; resolves with how many. */
  checkSessions(): Promise<number>;
  /** Clears up to `limit` bodies nobody needs any more. */
  settle(limit: number): Promise<unknown>;
  /** Writes this server's load for the balancer. */
  reportLoad(load: { clients: number; lagMs: number }, now: number): Promise<void>;
  /** Open connections now (load). */
  connections(): number;
}

/** The running sweeps. */
export interface Sweeps {
  /** The event loop's smoothed lag, milliseconds. */
  readonly lagMs: number;
  /** Reports load at once (also done every {@linkcode LOAD_REPORT_MS}). */
  reportNow(): Promise<void>;
  /** Stops every sweep (one running finishes, none starts). */
  stop(): void;
}

/** Starts the sweeps; see the module documentation. */
export function startSweeps(targets: SweepTargets, log: Logger, clock: Clock): Sweeps {
  const timers = new Set<TimerHandle>();
  let stopped = false;
  let lagMs = 0;

  /** Runs `fn` every `ms`, skipping a turn while the last run is still going. */
  const every = (ms: number, fn: () => Promise<void> | void) => {
    let running = false;
    const tick = () => {
      timers.delete(handle);
      if (stopped) return;
      handle = clock.setTimeout(tick, ms);
      timers.add(handle);
      if (running) return;
      running = true;
      Promise.resolve().then(fn).finally(() => running = false);
    };
    let handle = clock.setTimeout(tick, ms);
    timers.add(handle);
  };

  let expected = clock.now() + LAG_SAMPLE_MS;
  every(LAG_SAMPLE_MS, () => {
    const now = clock.now();
    // Smoothed, so one long pause does not flip the balancer's choice for long.
    lagMs = lagMs * 0.7 + Math.max(0, now - expected) * 0.3;
    expected = now + LAG_SAMPLE_MS;
  });

  const report = async () => {
    try {
      // Open connections, not only logged-in clients: one still registering is load too,
      // and the balancer forgets its own count of assignments at each report.
      await targets.reportLoad(
        { clients: targets.connections(), lagMs: Math.round(lagMs) },
        clock.now(),
      );
    } catch (err) {
      log.warn("load_report_failed", { error: (err as Error).message });
    }
  };
  every(LOAD_REPORT_MS, report);

  every(REDELIVER_EVERY_MS, async () => {
    try {
      const n = await targets.redeliver(REDELIVER_AFTER_MS, REPUSH_AFTER_MS);
      if (n > 0) log.info("redelivered", { messages: n });
      // Bodies nobody still needs are cleared (one server at a time does the work).
      await targets.settle(SETTLE_PER_SWEEP);
    } catch (err) {
      log.warn("redelivery_failed", { error: (err as Error).message });
    }
  });

  every(SESSION_CHECK_MS, async () => {
    try {
      const n = await targets.checkSessions();
      if (n > 0) log.info("sessions_ended", { connections: n });
    } catch (err) {
      log.warn("session_check_failed", { error: (err as Error).message });
    }
  });

  return {
    get lagMs() {
      return lagMs;
    },
    reportNow: report,
    stop() {
      stopped = true;
      for (const t of timers) clock.clearTimeout(t);
      timers.clear();
    },
  };
}
