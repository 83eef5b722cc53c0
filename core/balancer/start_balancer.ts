/**
 * Starting a balancer process's HTTP service: the app of `app.ts` on a bounded listener.
 *
 * @module
 */

import { type HttpListener, listenHttp } from "../ws/http_listener.ts";
import type { ServerRecord } from "../store/store.ts";
import { createBalancerApp } from "./app.ts";
import type { WebAssets } from "./web_client.ts";
import type { Strategy } from "./strategy.ts";

/** Options of {@linkcode startBalancer}. */
export interface StartBalancerOptions {
  /** The balancing strategy. */
  readonly strategy: Strategy;
  /** TCP port to listen on; 0 picks a free port (see the returned `port`). */
  readonly port: number;
  /** Address to listen on; defaults to 127.0.0.1. */
  readonly host?: string;
  /** Where the servers and their load reports are read from (a `Store` will do). */
  readonly store: ServerList;
  /** Hand out `wss://` URLs (the chat servers use TLS). */
  readonly tls?: boolean;
  /** Aborting it stops the balancer, like `close()`. */
  readonly signal?: AbortSignal;
  /** The web client's files, served at `/` (see web_client.ts). */
  readonly web?: WebAssets;
}

/** What the balancer reads servers from: the one method of the `Store` it needs. */
export interface ServerList {
  /** Every server in servers.txt with its last load report. */
  listServers(): Promise<ServerRecord[]>;
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
