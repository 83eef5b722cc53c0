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

/** Most message bodies one sweep clears (see `Store.settle`). */
const _SETTLE_PER_SWEEP = 20_000;

/** At most one `origin_refused` log line per this many milliseconds. */
export const ORIGIN_LOG_EVERY_MS = 5_000;

/** How often load is reported, milliseconds (the balancer treats 3 s of silence as dead). */
export const LOAD_REPORT_MS = 500;

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
  let lagMs = 0;
  const chat = new ChatServer({
    id: self.id,
    store,
    logger: log,
    passwordCost: opts.passwordCost,
    loginTimeoutMs: opts.loginTimeoutMs,
    quotas: opts.quotas,
    lagMs: () => lagMs,
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
    lagMs: () => Math.round(lagMs * 10) / 10,
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

  const timers: ReturnType<typeof setInterval>[] = [];
  try {
    // Only now, owning the port: a second copy of this server fails above instead of
    // wiping the running one's presence.
    await store.upsertServer(self);
    await store.clearServerPresence(self.id);
  } catch (err) {
    await listener.close(0);
    throw err;
  }

  let expected = performance.now() + 100;
  timers.push(setInterval(() => {
    const now = performance.now();
    // Smooth so one long pause does not flip the balancer's choice for long.
    lagMs = lagMs * 0.7 + Math.max(0, now - expected) * 0.3;
    expected = now + 100;
  }, 100));
  const report = async () => {
    try {
      await store.reportLoad(
        self.id,
        // Open connections, not only logged-in clients: one still registering is load too,
        // and the balancer forgets its own count of assignments at each report.
        { clients: chat.connectionCount, lagMs: Math.round(lagMs) },
        Date.now(),
      );
    } catch (err) {
      log.warn("load_report_failed", { error: (err as Error).message });
    }
  };
  await report();
  timers.push(setInterval(report, LOAD_REPORT_MS));
  let sweeping = false;
  timers.push(setInterval(async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      const n = await chat.redeliver(REDELIVER_AFTER_MS, REPUSH_AFTER_MS);
      if (n > 0) log.info("redelivered", { messages: n });
      // Bodies nobody still needs are cleared (one server at a time does the work).
      await store.settle(_SETTLE_PER_SWEEP);
    } catch (err) {
      log.warn("redelivery_failed", { error: (err as Error).message });
    } finally {
      sweeping = false;
    }
  }, REDELIVER_EVERY_MS));

  timers.push(setInterval(() => {
    chat.checkSessions().then((n) => {
      if (n > 0) log.info("sessions_ended", { connections: n });
    }, (err) => log.warn("session_check_failed", { error: (err as Error).message }));
  }, SESSION_CHECK_MS));

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
      for (const t of timers) clearInterval(t);
      mesh.close();
      chat.closeAll();
      // Sockets were asked to close (4002); give their close handshakes a moment.
      await listener.close(1_000);
      await store.clearServerPresence(self.id).catch(() => {});
      log.info("server_stopped");
    },
  };
}
