/**
 * The load balancer: a small HTTP service that tells each new client which chat server
 * to connect to. It never proxies chat traffic; clients call `GET /assign`, get a
 * `ws://host:port/ws` URL and connect to that server directly, so the balancer is off the
 * hot path and a restart of it drops no connection.
 *
 * Servers write a load report (connected clients, event-loop lag) to the shared database
 * about every second; the balancer reads them from there and assigns only servers that
 * reported within the last 3 s. Strategies are in `strategy.ts`, the HTTP app in
 * `app.ts`.
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

import { type HttpListener, listenHttp } from "../ws/http_listener.ts";
import type { Store } from "../store/store.ts";
import { createBalancerApp } from "./app.ts";
import type { WebAssets } from "./web_client.ts";
import type { Strategy } from "./strategy.ts";

export {
  type Assignment,
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

/** Options of {@linkcode startBalancer}. */
export interface StartBalancerOptions {
  /** The balancing strategy. */
  readonly strategy: Strategy;
  /** TCP port to listen on; 0 picks a free port (see the returned `port`). */
  readonly port: number;
  /** Address to listen on; defaults to 127.0.0.1. */
  readonly host?: string;
  /** Where the servers and their load reports are read from. */
  readonly store: Pick<Store, "listServers">;
  /** Hand out `wss://` URLs (the chat servers use TLS). */
  readonly tls?: boolean;
  /** Aborting it stops the balancer, like `close()`. */
  readonly signal?: AbortSignal;
  /** The web client's files, served at `/` (see web_client.ts). */
  readonly web?: WebAssets;
}

/** A running balancer. */
export interface RunningBalancer {
  /** The port actually listened on. */
  readonly port: number;
  /** The address listened on. */
  readonly host: string;
  /** Stops accepting requests and resolves when in-flight ones are done. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the balancer on the bounded listener of `core/ws` (a head must arrive within 5 s,
 * connections per address are capped). Resolves once it listens; rejects if the address
 * cannot be bound (e.g. `Deno.errors.AddrInUse`).
 */
export function startBalancer(opts: StartBalancerOptions): Promise<RunningBalancer> {
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    return Promise.reject(
      new RangeError(`Expected port to be an integer from 0 to 65535, got ${opts.port}`),
    );
  }
  const host = opts.host ?? "127.0.0.1";
  const app = createBalancerApp({
    strategy: opts.strategy,
    source: () => opts.store.listServers(),
    tls: opts.tls,
    web: opts.web,
  });
  let listener: HttpListener;
  try {
    listener = listenHttp({
      hostname: host,
      port: opts.port,
      fetch: (req) => app.fetch(req),
      upgrade: (path) =>
        Response.json({ error: "not_found", message: `No WebSocket at ${path}` }, {
          status: 404,
        }),
    });
  } catch (err) {
    return Promise.reject(err);
  }
  let closing: Promise<void> | null = null;
  const close = () => {
    opts.signal?.removeEventListener("abort", onAbort);
    closing ??= listener.close(0);
    return closing;
  };
  const onAbort = () => void close();
  if (opts.signal?.aborted) void close();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });
  return Promise.resolve({ port: listener.port, host, close });
}
