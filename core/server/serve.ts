/**
 * Starts a chat server: opens its listener (`core/ws`, optionally TLS) first, so a
 * server that cannot own its port touches nothing shared; then clears presence left by an
 * earlier crash, joins the mesh, and reports its load (open connections, event-loop lag) to
 * the shared database twice a second for the balancer. Until that setup is done, `/ws` and
 * `/healthz` answer 503. WebSocket upgrades from web pages are let through only for the
 * configured origins (`core/ws/origin.ts`); refusals are counted and logged sparingly.
 *
 * @module
 */

import type { ServerEntry } from "../cluster/servers_file.ts";
import type { Logger } from "../log/logger.ts";
import { WsMesh } from "../mesh/ws_mesh.ts";
import type { Store } from "../store/store.ts";
import { type HttpLimits, listenHttp } from "../ws/http_listener.ts";
import { createServerApp } from "./app.ts";
import { ChatServer, type PasswordCost } from "./chat_server.ts";
import type { Quotas } from "./quotas.ts";
import { SparseLog } from "./sparse_log.ts";
import { startSweeps, type Sweeps } from "./sweeps.ts";
import { SYSTEM_CLOCK } from "../async/clock.ts";

/** At most one `origin_refused` log line per this many milliseconds. */
export const ORIGIN_LOG_EVERY_MS = 5_000;

/** What `startServer` needs. */
export interface StartServerOptions {
  /** This server's entry from servers.txt. */
  self: ServerEntry;
  /** Every server in servers.txt (this one included). */
  servers: readonly ServerEntry[];
  store: Store;
  /** The cluster secret (at least 32 bytes). */
  secret: Uint8Array;
  logger: Logger;
  /** Serve https/wss with this PEM certificate and key. */
  tls?: { cert: string; key: string };
  /** Listen on this address instead of the entry's host (e.g. 0.0.0.0). */
  listenHost?: string;
  passwordCost?: PasswordCost;
  /** Listener limits (head timeout, connections per address...); defaults otherwise. */
  httpLimits?: Partial<HttpLimits>;
  /** Time a connection has to log in, milliseconds (default `LIMITS.loginWithinMs`). */
  loginTimeoutMs?: number;
  /** Rate limits, pending bounds and expiry (`quotas.ts`); the defaults where not given. */
  quotas?: Partial<Quotas>;
  /**
   * Origins of web pages that may open WebSockets (`parseOrigins`; a malformed one throws
   * `OriginError`). Clients that send no `Origin` (not browsers) may always connect.
   * Default: none, so no web page can.
   */
  allowedOrigins?: readonly string[];
}

/** A running chat server. */
export interface RunningServer {
  readonly chat: ChatServer;
  readonly mesh: WsMesh;
  readonly port: number;
  /** Stops accepting, closes every connection and the mesh; the store stays open. */
  close(): Promise<void>;
}

/**
 * Starts a chat server. Throws `Deno.errors.AddrInUse` (before any database write) when its
 * port is taken.
 */
export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const { self, store, logger } = opts;
  const log = logger.with({ server: self.id });
  let sweeps: Sweeps | null = null;
  const lagMs = () => sweeps?.lagMs ?? 0;
  const chat = new ChatServer({
    id: self.id,
    store,
    logger: log,
    passwordCost: opts.passwordCost,
    loginTimeoutMs: opts.loginTimeoutMs,
    quotas: opts.quotas,
    lagMs,
  });
  const mesh = new WsMesh({
    selfId: self.id,
    peers: opts.servers,
    secret: opts.secret,
    logger: log,
    tls: opts.tls !== undefined,
    events: chat,
  });
  chat.attachMesh(mesh);

  let ready = false;
  const routes = createServerApp(chat, mesh, {
    lagMs: () => Math.round(lagMs() * 10) / 10,
    ready: () => ready,
  });
  const refusals = new SparseLog(ORIGIN_LOG_EVERY_MS);
  const listener = listenHttp({
    hostname: opts.listenHost ?? self.host.replace(/^\[|\]$/g, ""),
    port: self.port,
    tls: opts.tls,
    fetch: (req, remote) => routes.app.fetch(req, { remoteAddr: remote }),
    upgrade: (path, _head, remote) => routes.upgrade(path, remote),
    limits: opts.httpLimits,
    allowedOrigins: opts.allowedOrigins,
    onOriginRefused: (origin, remote) => {
      chat.metrics.originRefused++;
      const count = refusals.note();
      if (count !== null) {
        log.warn("origin_refused", {
          origin: origin.length > 100 ? `${origin.slice(0, 100)}...` : origin,
          addr: remote.hostname,
          refused: count,
        });
      }
    },
    onError: (err) => log.error("http_error", { error: String(err) }),
  });
  const port = listener.port;

  try {
    // Only now, owning the port: a second copy of this server fails above instead of
    // wiping the running one's presence.
    await store.upsertServer(self);
    await store.clearServerPresence(self.id);
  } catch (err) {
    await listener.close(0);
    throw err;
  }

  sweeps = startSweeps(
    {
      redeliver: (ageMs, repushMs) => chat.redeliver(ageMs, repushMs),
      checkSessions: () => chat.checkSessions(),
      settle: (limit) => store.settle(limit),
      reportLoad: (load, now) => store.reportLoad(self.id, load, now),
      connections: () => chat.connectionCount,
    },
    log,
    SYSTEM_CLOCK,
  );
  await sweeps.reportNow();

  mesh.start();
  ready = true;
  log.info("server_listening", {
    url: `${opts.tls ? "wss" : "ws"}://${self.host}:${port}/ws`,
    peers: opts.servers.length - 1,
  });

  let closed = false;
  return {
    chat,
    mesh,
    port,
    async close() {
      if (closed) return;
      closed = true;
      ready = false;
      sweeps?.stop();
      mesh.close();
      chat.closeAll();
      // Sockets were asked to close (4002); give their close handshakes a moment, and let
      // frames already being handled finish.
      await Promise.all([listener.close(1_000), chat.idle()]);
      await store.clearServerPresence(self.id).catch(() => {});
      log.info("server_stopped");
    },
  };
}
