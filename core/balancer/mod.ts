/**
 * The load balancer: a small HTTP service that tells each new client which chat server
 * to connect to. It never proxies chat traffic; clients call `GET /assign`, get a
 * `ws://host:port/ws` URL and connect to that server directly, so the balancer is off the
 * hot path and a restart of it drops no connection.
 *
 * Servers write a load report (connected clients, event-loop lag) to the shared database
 * about every second; the balancer reads them from there and assigns only servers that
 * reported within the last 3 s. Strategies are in `strategy.ts`, the HTTP app in `app.ts`,
 * starting it on a listener in `start_balancer.ts`.
 *
 * @example Start a balancer
 * ```ts ignore
 * const balancer = await startBalancer({ strategy: "load", port: 7100, store });
 * // ... later
 * await balancer.close();
 * ```
 *
 * @module
 */

export {
  type Assignment,
  type BalancerApp,
  type BalancerAppOptions,
  type BalancerStatus,
  createBalancerApp,
  DEFAULT_CACHE_MS,
  type ServerStatus,
} from "./app.ts";
export {
  Balancer,
  type BalancerOptions,
  isLive,
  isStrategy,
  LAG_WEIGHT,
  LIVE_WINDOW_MS,
  loadScore,
  type RandomInt,
  randomInt,
  STRATEGIES,
  type Strategy,
} from "./strategy.ts";
export {
  type RunningBalancer,
  type ServerList,
  startBalancer,
  type StartBalancerOptions,
} from "./start_balancer.ts";
export type { WebAsset, WebAssets } from "./web_client.ts";

// Defined by the store, taken and returned by the API above.
export type { ServerRecord } from "../store/store.ts";
