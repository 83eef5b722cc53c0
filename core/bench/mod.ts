/**
 * `fastchat bench`: the load benchmark of a whole cluster. Public API of `core/bench/`:
 *
 * - {@linkcode BenchOptions}: what a run is configured with (the command line that fills
 *   it in is `cmd/bench_args.ts`);
 * - {@linkcode runBench}: runs every strategy (and the baseline) and returns a
 *   {@linkcode BenchReport};
 * - {@linkcode renderTextReport}, {@linkcode renderHtmlReport}: the table and the HTML
 *   report with SVG charts;
 * - {@linkcode serveEcho}: the baseline's echo server (the hidden `--echo-server` mode);
 * - {@linkcode holdConnections}: a connection holder of idle-scale mode (the hidden
 *   `--hold` mode).
 *
 * @module
 */

export { BenchCancelled } from "./async_util.ts";
export {
  BENCH_STRATEGIES,
  type BenchOptions,
  type BenchStrategy,
  MAX_CLIENTS,
  MAX_CONNECTIONS,
  MAX_RATES,
  type MessageMix,
  RATE_RANGE,
} from "./options.ts";
export {
  type BaselineSummary,
  type BenchIo,
  type BenchReport,
  type IdleStrategyResult,
  type LoadStrategyResult,
  type ResultBase,
  runBench,
  type ServerProcessResult,
} from "./run_bench.ts";
export { renderTextReport } from "./report_text.ts";
export { renderHtmlReport } from "./report_svg.ts";
export { serveEcho } from "./echo_server.ts";
export { holdConnections, type HolderLine, type HoldOptions } from "./conn_holder.ts";

// Defined by the store: which database a run used.
export type { StoreBackend } from "../store/open_store.ts";
