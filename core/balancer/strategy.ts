/**
 * How the balancer picks a chat server for a new client. Pure: no I/O, no clock; the
 * caller passes the server records and `now`, so every rule here is unit-testable.
 *
 * Only live servers are eligible: a server is live when its last load report is at most
 * {@linkcode LIVE_WINDOW_MS} old. A server that never reported (`reportedAt` 0) is dead.
 *
 * Strategies:
 * - `load`: the live server with the lowest {@linkcode loadScore}, counting clients
 *   assigned since its last report (see {@linkcode Balancer}).
 * - `random`: a uniformly random live server.
 * - `round-robin`: live servers in turn by ascending ID.
 *
 * @module
 */

import type { ServerRecord } from "../store/store.ts";

/** A balancing strategy name, as given to `fastchat balance --strategy`. */
export type Strategy = "load" | "random" | "round-robin";

/** Every strategy, in the order usage text lists them. */
export const STRATEGIES: readonly Strategy[] = ["load", "random", "round-robin"];

/** A server is live while its last report is at most this old (milliseconds). */
export const LIVE_WINDOW_MS = 3000;

/**
 * How many connected clients one millisecond of event-loop lag is worth in
 * {@linkcode loadScore}. Lag is the direct symptom of a saturated server (every frame it
 * handles waits that long), while a client count is only a proxy for work; 10 makes a
 * server lagging by 10 ms look as busy as one with 100 more clients, which steers new
 * clients away from a struggling host before its client count shows it.
 */
export const LAG_WEIGHT = 10;

/**
 * Lag up to this many milliseconds counts as none: timer jitter of 1-2 ms is normal on a
 * healthy server, and at {@linkcode LAG_WEIGHT} it would otherwise outweigh tens of clients
 * and send every new client to whichever server's timer happened to fire on time.
 */
export const LAG_DEAD_ZONE_MS = 2;

/** Returns a uniformly random integer in [0, n); injected for deterministic tests. */
export type RandomInt = (n: number) => number;

/** Returns true if `name` is one of the {@linkcode STRATEGIES}. */
export function isStrategy(name: string): name is Strategy {
  return (STRATEGIES as readonly string[]).includes(name);
}

/**
 * Returns true if `server` reported within {@linkcode LIVE_WINDOW_MS} of `now`. A report
 * from further in the future than the window is not trusted either: a server with a
 * fast clock would otherwise stay "live" long after it died.
 */
export function isLive(server: ServerRecord, now: number): boolean {
  if (!(server.reportedAt > 0)) return false;
  const age = now - server.reportedAt;
  return age <= LIVE_WINDOW_MS && age >= -LIVE_WINDOW_MS;
}

/**
 * The `load` strategy's score of a server (lower is less loaded):
 * `clients + LAG_WEIGHT × max(0, lagMs − LAG_DEAD_ZONE_MS)`, where `clients` should already include clients assigned
 * since the report (see {@linkcode Balancer}). Negative or non-finite inputs, which a
 * healthy server never reports, count as zero clients and as infinite lag respectively,
 * so a confused server is picked only if nothing better is live.
 */
export function loadScore(clients: number, lagMs: number): number {
  const c = Number.isFinite(clients) && clients > 0 ? clients : 0;
  const lag = Number.isFinite(lagMs) ? Math.max(0, lagMs - LAG_DEAD_ZONE_MS) : Infinity;
  return c + LAG_WEIGHT * lag;
}

/**
 * A uniformly random integer in [0, n) from `crypto.getRandomValues`, without modulo
 * bias: draws that fall in the incomplete last block of 2^32 are rejected and redrawn.
 */
export function randomInt(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 32) {
    throw new RangeError(`Expected n to be an integer from 1 to 2^32, got ${n}`);
  }
  const limit = 2 ** 32 - (2 ** 32 % n);
  const buf = new Uint32Array(1);
  while (true) {
    crypto.getRandomValues(buf);
    const x = buf[0]!;
    if (x < limit) return x % n;
  }
}

/** Options of {@linkcode Balancer}. */
export interface BalancerOptions {
  /** Random source for `random`; defaults to {@linkcode randomInt}. */
  readonly randomInt?: RandomInt;
}

interface _Pending {
  /** The `reportedAt` the count is relative to. */
  reportedAt: number;
  /** Clients assigned since that report. */
  assigned: number;
}

/**
 * A strategy with its state. {@linkcode Balancer.pick} both chooses and records the
 * assignment, so call it once per client actually sent to a server.
 *
 * State kept:
 * - `load`: clients assigned to each server since its last report. A report is a snapshot
 *   taken every second or so; without this count every join in a burst between two
 *   reports would go to the same "least loaded" server. The count resets when a newer
 *   report arrives, which by then includes (most of) those clients. Ties go to the lowest
 *   ID: deterministic, and the count breaks the tie for the next pick anyway.
 * - `round-robin`: the last assigned ID. The next pick is the first live server with a
 *   higher ID, wrapping to the lowest, so the rotation continues in order when servers
 *   die or come back instead of restarting or skipping.
 */
export class Balancer {
  /** The strategy in use. */
  readonly strategy: Strategy;
  readonly #randomInt: RandomInt;
  readonly #pending = new Map<number, _Pending>();
  #lastId: number | null = null;

  /** Creates a balancer; throws RangeError for an unknown strategy. */
  constructor(strategy: Strategy, options: BalancerOptions = {}) {
    if (!isStrategy(strategy)) {
      throw new RangeError(
        `Unknown strategy "${strategy}"; expected one of: ${STRATEGIES.join(", ")}`,
      );
    }
    this.strategy = strategy;
    this.#randomInt = options.randomInt ?? randomInt;
  }

  /**
   * Picks a live server from `servers` at time `now` and records the assignment; returns
   * null if none is live.
   */
  pick(servers: readonly ServerRecord[], now: number): ServerRecord | null {
    const live = servers.filter((s) => isLive(s, now)).sort((a, b) => a.id - b.id);
    if (live.length === 0) return null;
    switch (this.strategy) {
      case "load":
        return this.#pickLoad(live);
      case "random": {
        const i = this.#randomInt(live.length);
        const chosen = live[i];
        if (chosen === undefined) {
          throw new RangeError(`Expected randomInt(${live.length}) in range, got ${i}`);
        }
        return chosen;
      }
      case "round-robin": {
        const last = this.#lastId;
        const chosen = (last === null ? undefined : live.find((s) => s.id > last)) ?? live[0]!;
        this.#lastId = chosen.id;
        return chosen;
      }
    }
  }

  /**
   * Clients assigned to `server` since its report at `server.reportedAt` (0 once a newer
   * report has replaced the one the count was made against).
   */
  assignedSinceReport(server: ServerRecord): number {
    const p = this.#pending.get(server.id);
    return p !== undefined && p.reportedAt === server.reportedAt ? p.assigned : 0;
  }

  #pickLoad(live: readonly ServerRecord[]): ServerRecord {
    let best: ServerRecord | null = null;
    let bestScore = Infinity;
    for (const s of live) {
      const score = loadScore(s.clients + this.assignedSinceReport(s), s.lagMs);
      // Strict `<` over ascending IDs: ties keep the lowest ID.
      if (best === null || score < bestScore) {
        best = s;
        bestScore = score;
      }
    }
    const chosen = best!;
    this.#pending.set(chosen.id, {
      reportedAt: chosen.reportedAt,
      assigned: this.assignedSinceReport(chosen) + 1,
    });
    // Forget counts of servers that are gone, so the map stays as small as the cluster.
    if (this.#pending.size > live.length * 2) {
      const ids = new Set(live.map((s) => s.id));
      for (const id of this.#pending.keys()) if (!ids.has(id)) this.#pending.delete(id);
    }
    return chosen;
  }
}
