/**
 * What a benchmark run is configured with ({@linkcode BenchOptions}) and its bounds. The
 * command line that fills it in is `cmd/bench_args.ts`.
 *
 * @module
 */

import { STRATEGIES, type Strategy } from "../balancer/strategy.ts";
import type { StoreBackend } from "../store/open_store.ts";

/** A balancing strategy the benchmark can run: every one the balancer has. */
export type BenchStrategy = Strategy;

/** Every strategy, in the order `--strategy all` runs them. */
export const BENCH_STRATEGIES: readonly BenchStrategy[] = STRATEGIES;

/** The share of direct and group messages, as fractions that sum to 1. */
export interface MessageMix {
  /** Share of direct messages, 0 to 1. */
  readonly dm: number;
  /** Share of group messages, 0 to 1. */
  readonly group: number;
}

/** A validated benchmark configuration. */
export interface BenchOptions {
  /** Chat server processes per cluster. */
  readonly servers: number;
  /** Simulated clients (load mode). */
  readonly clients: number;
  /** Measured seconds, after the warm-up. */
  readonly durationS: number;
  /** Seconds of load before measuring (excluded from the statistics). */
  readonly warmupS: number;
  /** The strategies to run, each on its own cluster. */
  readonly strategies: readonly BenchStrategy[];
  /** The store backends to run every strategy on, in order. */
  readonly backends: readonly StoreBackend[];
  /**
   * A PostgreSQL server to benchmark on (a postgres:// URL whose user may create
   * databases); null: the benchmark starts a throw-away PostgreSQL of its own.
   */
  readonly pgUrl: string | null;
  /** How the messages divide between direct and group (`--mix`). */
  readonly mix: MessageMix;
  /** Members per group (the admin included). */
  readonly groupSize: number;
  /**
   * Open loop: total messages per second, one run (a fresh cluster per strategy and backend)
   * per rate, in this order; null for the closed loop.
   */
  readonly rates: readonly number[] | null;
  /** Closed loop: messages in flight per client. */
  readonly window: number;
  /** Plaintext bytes per message (each body is a real Fernet token of this much). */
  readonly messageBytes: number;
  /** Also measure the raw WebSocket echo ceiling. */
  readonly baseline: boolean;
  /** Idle-scale mode: open this many authenticated connections; null for load mode. */
  readonly connections: number | null;
  /**
   * Load generator processes: 1 runs the load in this process; more split the clients into
   * contiguous slices, one child process each (`gen_pool.ts`).
   */
  readonly generators: number;
  /** Print one JSON object on stdout instead of a table. */
  readonly json: boolean;
  /** Write an HTML report with SVG charts to this file. */
  readonly report: string | null;
}

/** Most rates one `--rate` list may hold (each is a cluster per strategy and backend). */
export const MAX_RATES = 12;
/** The lowest and highest open-loop rate, messages per second in total. */
export const RATE_RANGE = { min: 0.1, max: 1_000_000 } as const;

/** Most simulated clients or connections one generator process opens. */
export const MAX_CLIENTS = 10_000;
/** Most idle connections (`--connections`); the open-file limit is checked at run time too. */
export const MAX_CONNECTIONS = 50_000;

/** Most generator processes (`--generators`). */
export const MAX_GENERATORS = 8;
/**
 * The default `--generators` for `clients` simulated clients: one. On the 2-core machine two
 * generators at 1,000 clients and 1,000 msg/s used a third more CPU in all and did not shorten
 * the tail (the host is 96 % busy either way), so spreading is asked for, not assumed, and the
 * figures of earlier runs stay comparable.
 */
export function defaultGenerators(_clients: number): number {
  return 1;
}
