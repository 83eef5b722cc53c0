/**
 * The balancer's HTTP app (Hono): clients ask `GET /assign` which chat server to connect
 * to; people open `GET /`, the web client (web_client.ts); operators read `GET /status`
 * (status page; also `GET /` asked for JSON), `GET /metrics` (Prometheus) and
 * `GET /healthz`. Kept free of `Deno.serve` and of the store, so tests drive it with
 * `app.request()` and a fake server list.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import type { ServerRecord } from "../store/store.ts";
import { serverUrl } from "../cluster/servers_file.ts";
import { WEB_SECURITY_HEADERS, type WebAssets, webCsp } from "./web_client.ts";
import {
  Balancer,
  isLive,
  LAG_WEIGHT,
  LIVE_WINDOW_MS,
  type RandomInt,
  type Strategy,
} from "./strategy.ts";

/** How long the server list is reused by default (milliseconds). */
export const DEFAULT_CACHE_MS = 250;

/** Options of {@linkcode createBalancerApp}. */
export interface BalancerAppOptions {
  /** The balancing strategy. */
  readonly strategy: Strategy;
  /** Reads the servers and their last load reports (normally `store.listServers`). */
  readonly source: () => Promise<ServerRecord[]>;
  /** Clock in Unix milliseconds; defaults to `Date.now`. */
  readonly now?: () => number;
  /** Hand out `wss://` URLs instead of `ws://`. */
  readonly tls?: boolean;
  /**
   * How long a fetched server list is reused (milliseconds, default
   * {@linkcode DEFAULT_CACHE_MS}), so a burst of `/assign` does not query the database per
   * request. Liveness is still judged at assignment time against `now`.
   */
  readonly cacheMs?: number;
  /** Random source for the `random` strategy. */
  readonly randomInt?: RandomInt;
  /** The web client's files (web_client.ts); without them `/` is the status page. */
  readonly web?: WebAssets;
}

/** The body of a successful `GET /assign`. */
export interface Assignment {
  /** The assigned server's ID, as in servers.txt. */
  readonly id: number;
  /** Its host, as in servers.txt. */
  readonly host: string;
  /** Its port, as in servers.txt. */
  readonly port: number;
  /** The WebSocket URL to connect to. */
  readonly url: string;
}

/** One server as the status page shows it. */
export interface ServerStatus {
  /** The server's ID, as in servers.txt. */
  readonly id: number;
  /** Its host, as in servers.txt. */
  readonly host: string;
  /** Its port, as in servers.txt. */
  readonly port: number;
  /** The WebSocket URL clients are sent to. */
  readonly url: string;
  /** Connected clients at the last report. */
  readonly clients: number;
  /** Event-loop lag in milliseconds at the last report. */
  readonly lagMs: number;
  /** Unix milliseconds of the last report; 0 if it never reported. */
  readonly reportedAt: number;
  /** Milliseconds since the last report; null if it never reported. */
  readonly reportAgeMs: number | null;
  /** True when it reported recently enough to be assigned (see `isLive`). */
  readonly live: boolean;
  /** Clients this balancer has assigned to the server since it started. */
  readonly assigned: number;
}

/** The JSON body of `GET /`. */
export interface BalancerStatus {
  /** The balancing strategy in use. */
  readonly strategy: Strategy;
  /** The balancer's clock when it answered, Unix milliseconds. */
  readonly now: number;
  /** How recent a report must be for its server to be live ({@linkcode LIVE_WINDOW_MS}). */
  readonly liveWindowMs: number;
  /** How many servers are live. */
  readonly live: number;
  /** Every server in servers.txt, live or not. */
  readonly servers: readonly ServerStatus[];
}

/**
 * The balancer's HTTP app as its users see it: a fetch handler. It is a Hono app; only
 * these two methods are promised, so Hono's types stay out of this module's API.
 */
export interface BalancerApp {
  /** Answers one request (what `Deno.serve` or a listener calls). */
  fetch(req: Request): Response | Promise<Response>;
  /** Answers a request for `input`, a path or URL, without a network (for tests). */
  request(input: string | Request | URL, init?: RequestInit): Response | Promise<Response>;
}

const _ROUTES = ["/", "/assign", "/healthz", "/metrics", "/status"] as const;
const _NO_STORE = { "cache-control": "no-store" };

/**
 * Creates the balancer app. It keeps its strategy state and counters, so create one per
 * balancer process.
 */
export function createBalancerApp(opts: BalancerAppOptions): BalancerApp {
  const now = opts.now ?? Date.now;
  const tls = opts.tls ?? false;
  const cacheMs = opts.cacheMs ?? DEFAULT_CACHE_MS;
  if (!(cacheMs >= 0)) {
    throw new RangeError(`Expected cacheMs to be a number >= 0, got ${cacheMs}`);
  }
  const balancer = new Balancer(opts.strategy, { randomInt: opts.randomInt });
  const assignedTotal = new Map<number, number>();
  let unavailableTotal = 0;
  let storeErrorsTotal = 0;

  // One fetch at a time: concurrent requests share the in-flight promise.
  let cached: { at: number; servers: Promise<ServerRecord[]> } | null = null;
  const servers = (): Promise<ServerRecord[]> => {
    const t = now();
    if (cached !== null && t - cached.at < cacheMs && t >= cached.at) return cached.servers;
    const entry = { at: t, servers: opts.source() };
    cached = entry;
    // Never cache a failure: the next request retries.
    entry.servers.catch(() => {
      if (cached === entry) cached = null;
    });
    return entry.servers;
  };

  const app = new Hono();

  app.get("/assign", async (c) => {
    if (c.req.method === "HEAD") {
      // HEAD must not have side effects, and every answer here is an assignment.
      return _methodNotAllowed(c, _allowed("/assign"));
    }
    let list: ServerRecord[];
    try {
      list = await servers();
    } catch (err) {
      storeErrorsTotal++;
      return _storeUnavailable(c, err);
    }
    const chosen = balancer.pick(list, now());
    if (chosen === null) {
      unavailableTotal++;
      return c.json(
        {
          error: "no_live_server",
          message: `No live server is available; none reported its load in the last ${
            LIVE_WINDOW_MS / 1000
          } s. Retry shortly.`,
        },
        503,
        { ..._NO_STORE, "retry-after": "1" },
      );
    }
    assignedTotal.set(chosen.id, (assignedTotal.get(chosen.id) ?? 0) + 1);
    const body: Assignment = {
      id: chosen.id,
      host: chosen.host,
      port: chosen.port,
      url: serverUrl(chosen, tls),
    };
    return c.json(body, 200, _NO_STORE);
  });

  const statusPage = async (c: Context) => {
    let list: ServerRecord[];
    try {
      list = await servers();
    } catch (err) {
      storeErrorsTotal++;
      return _storeUnavailable(c, err);
    }
    const status = _status(opts.strategy, list, now(), tls, assignedTotal);
    c.header("vary", "accept");
    c.header("cache-control", "no-store");
    return _wantsJson(c) ? c.json(status) : c.html(_renderHtml(status));
  };
  app.get("/status", statusPage);

  const web = opts.web;
  app.get("/", async (c) => {
    // Scripts and older tools ask `/` for the status as JSON; people get the web client.
    if (web === undefined || _wantsJson(c)) return await statusPage(c);
    return await _webAsset(c, web, "/", servers, tls);
  });
  if (web !== undefined) {
    for (const path of web.keys()) {
      if (path === "/") continue;
      app.get(path, (c) => _webAsset(c, web, path, servers, tls));
    }
  }

  app.get("/healthz", (c) => c.text("ok", 200, _NO_STORE));

  app.get("/metrics", async (c) => {
    let list: ServerRecord[] = [];
    let storeOk = true;
    try {
      list = await servers();
    } catch {
      storeOk = false;
      storeErrorsTotal++;
    }
    const text = _metrics({
      strategy: opts.strategy,
      servers: list,
      now: now(),
      storeOk,
      assignedTotal,
      unavailableTotal,
      storeErrorsTotal,
    });
    return c.text(text, 200, {
      ..._NO_STORE,
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });

  for (const path of _ROUTES) {
    app.options(path, (c) => {
      c.header("allow", _allowed(path));
      return c.body(null, 204);
    });
    app.all(path, (c) => _methodNotAllowed(c, _allowed(path)));
  }

  app.notFound((c) =>
    c.json(
      {
        error: "not_found",
        message: `No route for ${c.req.method} ${c.req.path}; expected one of: ${
          _ROUTES.join(", ")
        }.`,
      },
      404,
    )
  );

  app.onError((err, c) => {
    console.error("balancer: unexpected error:", err);
    return c.json({ error: "internal", message: "The balancer failed; retry shortly." }, 500);
  });

  return app;
}

/** Serves one embedded file of the web client, with its security headers. */
async function _webAsset(
  c: Context,
  web: WebAssets,
  path: string,
  servers: () => Promise<ServerRecord[]>,
  tls: boolean,
): Promise<Response> {
  const asset = web.get(path)!;
  const headers: Record<string, string> = {
    ...WEB_SECURITY_HEADERS,
    "content-type": asset.type,
    etag: asset.etag,
    // The page names the cluster's servers in its CSP: always fresh. Its files are
    // revalidated by ETag, so a new build is picked up at once.
    "cache-control": "no-cache",
  };
  if (path === "/") {
    let list: ServerRecord[] = [];
    try {
      list = await servers();
    } catch {
      // The page still loads; it asks /assign, which says what is wrong.
    }
    headers["content-security-policy"] = webCsp(list.map((s) => serverUrl(s, tls)));
  }
  if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304, headers);
  return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, headers);
}

function _allowed(path: string): string {
  return path === "/assign" ? "GET, OPTIONS" : "GET, HEAD, OPTIONS";
}

function _methodNotAllowed(c: Context, allow: string): Response {
  return c.json(
    {
      error: "method_not_allowed",
      message: `Method ${c.req.method} is not allowed on ${c.req.path}; expected ${allow}.`,
    },
    405,
    { allow },
  );
}

function _storeUnavailable(c: Context, err: unknown): Response {
  console.error("balancer: reading the server list failed:", err);
  return c.json(
    {
      error: "store_unavailable",
      message: "The server list could not be read from the database. Retry shortly.",
    },
    503,
    { ..._NO_STORE, "retry-after": "1" },
  );
}

function _wantsJson(c: Context): boolean {
  const format = c.req.query("format");
  if (format === "json") return true;
  if (format === "html") return false;
  const accept = c.req.header("accept") ?? "";
  return accept.includes("application/json") && !accept.includes("text/html");
}

function _status(
  strategy: Strategy,
  list: readonly ServerRecord[],
  now: number,
  tls: boolean,
  assignedTotal: ReadonlyMap<number, number>,
): BalancerStatus {
  const servers = [...list].sort((a, b) => a.id - b.id).map((s): ServerStatus => ({
    id: s.id,
    host: s.host,
    port: s.port,
    url: serverUrl(s, tls),
    clients: s.clients,
    lagMs: s.lagMs,
    reportedAt: s.reportedAt,
    reportAgeMs: s.reportedAt > 0 ? now - s.reportedAt : null,
    live: isLive(s, now),
    assigned: assignedTotal.get(s.id) ?? 0,
  }));
  return {
    strategy,
    now,
    liveWindowMs: LIVE_WINDOW_MS,
    live: servers.filter((s) => s.live).length,
    servers,
  };
}

const _ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function _esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => _ESCAPES[ch]!);
}

function _age(ms: number | null): string {
  if (ms === null) return "never";
  if (ms < 0) return `${(-ms / 1000).toFixed(1)} s in the future`;
  return `${(ms / 1000).toFixed(1)} s ago`;
}

function _renderHtml(s: BalancerStatus): string {
  const rows = s.servers.map((v) =>
    `<tr class="${v.live ? "live" : "dead"}"><td>${v.id}</td><td>${_esc(v.host)}:${v.port}</td>` +
    `<td>${v.clients}</td><td>${v.lagMs}</td><td>${_age(v.reportAgeMs)}</td>` +
    `<td>${v.live ? "live" : "dead"}</td><td>${v.assigned}</td></tr>`
  ).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="2">
<title>FastChat balancer</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; }
table { border-collapse: collapse; }
th, td { padding: 0.3rem 0.8rem; border-bottom: 1px solid #ddd; text-align: left; }
tr.dead { color: #999; }
tr.live td:nth-child(6) { color: #080; font-weight: bold; }
</style>
</head>
<body>
<h1>FastChat balancer</h1>
<p>Strategy: <strong>${_esc(s.strategy)}</strong>. Live servers: ${s.live} of ${s.servers.length}.
A server is live if it reported within ${s.liveWindowMs / 1000} s.
Load score = clients + ${LAG_WEIGHT} &times; lag (ms).</p>
<table>
<thead><tr><th>ID</th><th>Address</th><th>Clients</th><th>Lag (ms)</th><th>Last report</th><th>State</th><th>Assigned</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p><a href="/?format=json">JSON</a> &middot; <a href="/metrics">metrics</a></p>
</body>
</html>
`;
}

interface _MetricsInput {
  strategy: Strategy;
  servers: readonly ServerRecord[];
  now: number;
  storeOk: boolean;
  assignedTotal: ReadonlyMap<number, number>;
  unavailableTotal: number;
  storeErrorsTotal: number;
}

function _metrics(m: _MetricsInput): string {
  const strategy = `strategy="${m.strategy}"`;
  const ids = new Set<number>([...m.servers.map((s) => s.id), ...m.assignedTotal.keys()]);
  const sorted = [...ids].sort((a, b) => a - b);
  const lines = [
    "# HELP fastchat_balancer_assignments_total Clients assigned to each server.",
    "# TYPE fastchat_balancer_assignments_total counter",
    ...sorted.map((id) =>
      `fastchat_balancer_assignments_total{server="${id}",${strategy}} ${
        m.assignedTotal.get(id) ?? 0
      }`
    ),
    "# HELP fastchat_balancer_unavailable_total Assign requests answered 503: no live server.",
    "# TYPE fastchat_balancer_unavailable_total counter",
    `fastchat_balancer_unavailable_total{${strategy}} ${m.unavailableTotal}`,
    "# HELP fastchat_balancer_store_errors_total Failed reads of the server list.",
    "# TYPE fastchat_balancer_store_errors_total counter",
    `fastchat_balancer_store_errors_total ${m.storeErrorsTotal}`,
    "# HELP fastchat_balancer_live_servers Servers that reported within the live window.",
    "# TYPE fastchat_balancer_live_servers gauge",
    `fastchat_balancer_live_servers ${m.servers.filter((s) => isLive(s, m.now)).length}`,
    "# HELP fastchat_balancer_servers Servers known to the database.",
    "# TYPE fastchat_balancer_servers gauge",
    `fastchat_balancer_servers ${m.servers.length}`,
    "# HELP fastchat_balancer_store_up 1 if the last read of the server list succeeded.",
    "# TYPE fastchat_balancer_store_up gauge",
    `fastchat_balancer_store_up ${m.storeOk ? 1 : 0}`,
  ];
  const byId = [...m.servers].sort((a, b) => a.id - b.id);
  lines.push(
    "# HELP fastchat_server_clients Connected clients at the server's last report.",
    "# TYPE fastchat_server_clients gauge",
    ...byId.map((s) => `fastchat_server_clients{server="${s.id}"} ${_num(s.clients)}`),
    "# HELP fastchat_server_lag_ms Event-loop lag in milliseconds at the last report.",
    "# TYPE fastchat_server_lag_ms gauge",
    ...byId.map((s) => `fastchat_server_lag_ms{server="${s.id}"} ${_num(s.lagMs)}`),
    "# HELP fastchat_server_live 1 if the server reported within the live window.",
    "# TYPE fastchat_server_live gauge",
    ...byId.map((s) => `fastchat_server_live{server="${s.id}"} ${isLive(s, m.now) ? 1 : 0}`),
  );
  return lines.join("\n") + "\n";
}

function _num(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  return String(x);
}
