/**
 * The chat server's front door: a TCP (or TLS) listener that reads each request head itself
 * so that abuse is bounded before anything is buffered. It closes connections that do not
 * send a whole head within a few seconds, caps connections per address, answers malformed
 * WebSocket upgrades with 400 and a reason, refuses upgrades from web pages of origins it
 * was not given with 403 (`origin.ts`), and hands accepted upgrades to
 * {@linkcode ServerSocket}s whose message limit is checked at each frame header. Plain HTTP
 * requests go to a fetch handler (the Hono app), one per connection.
 *
 * Why not `Deno.serve`: `Deno.upgradeWebSocket` buffers a whole frame of any size before
 * the application sees it, and has no per-connection limit or head timeout.
 *
 * @module
 */

import { headLength, HttpError, parseRequestHead, type RequestHead } from "./http_head.ts";
import { originAllowed, parseOrigin } from "./origin.ts";
import { type ByteStream, ServerSocket } from "./server_socket.ts";
import { checkUpgrade, switchingProtocols, wantsWebSocket } from "./upgrade.ts";

/** What an upgrade request is answered with: a refusal, or how to take the socket. */
export type UpgradeAnswer = Response | {
  /** The first message limit of the socket (it may be changed later). */
  readonly maxMessageBytes: number;
  /** Takes the socket: set its handlers; it starts right after. */
  accept(socket: ServerSocket): void;
};

/** Limits of the listener; see {@linkcode HTTP_LIMITS} for the defaults. */
export interface HttpLimits {
  /** Largest request head, bytes (431 beyond). */
  headBytes: number;
  /** Time from accept to a complete request head, milliseconds. */
  headTimeoutMs: number;
  /** Largest request body, bytes (413 beyond). */
  bodyBytes: number;
  /** Most open connections from one address; 0 for no cap. */
  maxConnsPerAddr: number;
  /** A WebSocket silent this long is pinged, milliseconds. */
  idlePingMs: number;
  /** A WebSocket silent this long is closed, milliseconds. */
  idleCloseMs: number;
}

/** Default limits. */
export const HTTP_LIMITS: HttpLimits = {
  headBytes: 16 * 1024,
  headTimeoutMs: 5_000,
  bodyBytes: 64 * 1024,
  maxConnsPerAddr: 1024,
  idlePingMs: 30_000,
  idleCloseMs: 60_000,
};

/** Options for {@linkcode listenHttp}. */
export interface HttpListenerOptions {
  hostname: string;
  port: number;
  /** Serve TLS with this PEM certificate and key. */
  tls?: { cert: string; key: string };
  /** Answers a plain HTTP request. */
  fetch(req: Request, remote: Deno.NetAddr): Response | Promise<Response>;
  /** Answers a well-formed WebSocket upgrade request for `path`. */
  upgrade(path: string, head: RequestHead, remote: Deno.NetAddr): UpgradeAnswer;
  limits?: Partial<HttpLimits>;
  /**
   * Origins of web pages that may open WebSockets here (each is serialized by
   * `parseOrigin`, which throws `OriginError` for a malformed one). An upgrade without an
   * `Origin` header (not a browser) is always let through; one with any other origin,
   * `null` included, is answered 403 before any WebSocket exists. Default: none.
   */
  allowedOrigins?: readonly string[];
  /** Called for each upgrade refused for its `origin` (the header as sent). */
  onOriginRefused?(origin: string, remote: Deno.NetAddr): void;
  /** Called with unexpected errors (a fetch handler that threw). */
  onError?(err: unknown): void;
}

/** A running listener. */
export interface HttpListener {
  readonly port: number;
  /** Open connections (HTTP and WebSocket). */
  readonly connections: number;
  /**
   * Stops accepting; WebSockets still open after `graceMs` (they were asked to close by
   * their owners) and plain requests are cut. Resolves when every connection is closed.
   */
  close(graceMs?: number): Promise<void>;
}

/** Starts listening; throws `Deno.errors.AddrInUse` when the port is taken. */
export function listenHttp(opts: HttpListenerOptions): HttpListener {
  const limits: HttpLimits = { ...HTTP_LIMITS, ...opts.limits };
  const allowedOrigins: ReadonlySet<string> = new Set((opts.allowedOrigins ?? []).map(parseOrigin));
  const listener = opts.tls
    ? Deno.listenTls({ hostname: opts.hostname, port: opts.port, ...opts.tls })
    : Deno.listen({ hostname: opts.hostname, port: opts.port });
  const port = (listener.addr as Deno.NetAddr).port;
  const perAddr = new Map<string, number>();
  /** Connections still being answered (before a WebSocket takes one over). */
  const conns = new Set<Deno.Conn>();
  /** Open WebSockets, each with its remote address (for the per-address count). */
  const sockets = new Map<ServerSocket, string>();
  const handling = new Set<Promise<void>>();
  let closing = false;
  // One function for every socket's end, rather than a promise and a closure per socket.
  const socketEnded = (socket: ServerSocket) => {
    const host = sockets.get(socket);
    if (host === undefined) return;
    sockets.delete(socket);
    _release(perAddr, host);
  };

  const idleSweep = setInterval(() => {
    const now = performance.now();
    for (const s of sockets.keys()) {
      const idle = now - s.lastReadAt;
      if (idle >= limits.idleCloseMs) s.abort();
      else if (idle >= limits.idlePingMs) s.ping();
    }
  }, Math.min(5_000, limits.idlePingMs / 2));

  const serveOne = async (conn: Deno.Conn) => {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const host = remote.hostname;
    const count = (perAddr.get(host) ?? 0) + 1;
    perAddr.set(host, count);
    conns.add(conn);
    let handedOver = false;
    try {
      if (limits.maxConnsPerAddr > 0 && count > limits.maxConnsPerAddr) {
        await _respondError(
          conn,
          new HttpError(
            429,
            `Too many connections from your address (at most ${limits.maxConnsPerAddr})`,
          ),
        );
        return;
      }
      _noDelay(conn);
      const read = await _readHead(conn, limits);
      if (read === null) return;
      const { head, rest } = read;
      const path = head.target.split("?")[0]!;
      if (wantsWebSocket(head)) {
        const key = checkUpgrade(head);
        const origin = head.headers.get("origin");
        if (!originAllowed(origin, allowedOrigins)) {
          // Cross-site WebSocket hijacking: a page elsewhere must not ride on the user's
          // network position. Counted and logged by the owner, answered here.
          opts.onOriginRefused?.(origin!, remote);
          await _writeResponse(conn, _originRefusal(origin!), head.method);
          return;
        }
        const answer = closing
          ? _jsonResponse(503, "going_away", "The server is shutting down")
          : opts.upgrade(path, head, remote);
        if (answer instanceof Response) {
          await _writeResponse(conn, answer, head.method);
          return;
        }
        await _writeAll(conn, _encoder.encode(switchingProtocols(key)));
        const socket = new ServerSocket(conn as ByteStream, {
          maxMessageBytes: answer.maxMessageBytes,
          initial: rest.length > 0 ? rest : undefined,
          onEnded: socketEnded,
        });
        // From here the socket owns the connection and its place in the per-address count.
        conns.delete(conn);
        sockets.set(socket, host);
        handedOver = true;
        answer.accept(socket);
        socket.start();
        return;
      }
      const body = await _readBody(conn, head, rest, limits);
      const url = `${opts.tls ? "https" : "http"}://${
        head.headers.get("host") ?? "localhost"
      }${head.target}`;
      let res: Response;
      try {
        res = await opts.fetch(
          new Request(url, {
            method: head.method,
            headers: [...head.headers].filter(([k]) => !_HOP_BY_HOP.has(k)),
            body: body && head.method !== "GET" && head.method !== "HEAD" ? body : undefined,
          }),
          remote,
        );
      } catch (err) {
        opts.onError?.(err);
        res = _jsonResponse(500, "internal", "The server failed");
      }
      await _writeResponse(conn, res, head.method);
    } catch (err) {
      if (err instanceof HttpError) await _respondError(conn, err).catch(() => {});
      // Other errors: the client went away or sent garbage TLS; nothing to answer.
    } finally {
      if (!handedOver) {
        conns.delete(conn);
        _release(perAddr, host);
        try {
          conn.close();
        } catch {
          // closed by the head timeout already
        }
      }
    }
  };

  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) {
        if (closing) {
          conn.close();
          continue;
        }
        const p = serveOne(conn);
        handling.add(p);
        void p.finally(() => handling.delete(p));
      }
    } catch {
      // the listener was closed
    }
  })();

  return {
    port,
    get connections() {
      return conns.size + sockets.size;
    },
    async close(graceMs = 1_000) {
      if (closing) return;
      closing = true;
      clearInterval(idleSweep);
      try {
        listener.close();
      } catch {
        // already closed
      }
      await acceptLoop;
      const deadline = Date.now() + graceMs;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const s of [...sockets.keys()]) s.abort();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed meanwhile
        }
      }
      await Promise.allSettled(handling);
    },
  };
}

const _HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade"]);
const _encoder = new TextEncoder();

/** Reads until the head ends; null if the client left or the head timer fired first. */
async function _readHead(
  conn: Deno.Conn,
  limits: HttpLimits,
): Promise<{ head: RequestHead; rest: Uint8Array } | null> {
  let buf = new Uint8Array(2048);
  let end = 0;
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // gone
    }
  }, limits.headTimeoutMs);
  try {
    for (;;) {
      const length = headLength(buf.subarray(0, end), limits.headBytes);
      if (length !== null) {
        return { head: parseRequestHead(buf.subarray(0, length)), rest: buf.slice(length, end) };
      }
      if (end === buf.length) {
        const bigger = new Uint8Array(Math.min(buf.length * 2, limits.headBytes + 2048));
        bigger.set(buf);
        buf = bigger;
      }
      let n: number | null;
      try {
        n = await conn.read(buf.subarray(end));
      } catch {
        return null; // reset, or closed by the timer
      }
      if (n === null) return null;
      end += n;
    }
  } finally {
    clearTimeout(timer);
  }
}

async function _readBody(
  conn: Deno.Conn,
  head: RequestHead,
  rest: Uint8Array,
  limits: HttpLimits,
): Promise<Uint8Array<ArrayBuffer> | null> {
  if (head.headers.has("transfer-encoding")) {
    throw new HttpError(411, "Send a Content-Length instead of a chunked body");
  }
  const raw = head.headers.get("content-length");
  if (raw === undefined) return rest.length > 0 ? rest.slice() : null;
  if (!/^\d{1,10}$/.test(raw)) throw new HttpError(400, `Bad Content-Length "${raw}"`);
  const length = Number(raw);
  if (length > limits.bodyBytes) {
    throw new HttpError(413, `The request body must be at most ${limits.bodyBytes} bytes`);
  }
  const body = new Uint8Array(length);
  let got = Math.min(rest.length, length);
  body.set(rest.subarray(0, got));
  while (got < length) {
    const n = await conn.read(body.subarray(got));
    if (n === null) throw new HttpError(400, "The request body ended early");
    got += n;
  }
  return body;
}

const _REASONS: Record<number, string> = {
  200: "OK",
  204: "No Content",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  411: "Length Required",
  413: "Content Too Large",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/** Writes `res` with `Connection: close` (one request per connection). */
async function _writeResponse(conn: Deno.Conn, res: Response, method: string): Promise<void> {
  const body = new Uint8Array(await res.arrayBuffer());
  let head = `HTTP/1.1 ${res.status} ${_REASONS[res.status] ?? (res.statusText || "Status")}\r\n`;
  for (const [k, v] of res.headers) {
    if (k === "content-length" || k === "connection" || k === "transfer-encoding") continue;
    head += `${k}: ${v}\r\n`;
  }
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  const headBytes = _encoder.encode(head);
  const out = new Uint8Array(headBytes.length + (method === "HEAD" ? 0 : body.length));
  out.set(headBytes);
  if (method !== "HEAD") out.set(body, headBytes.length);
  await _writeAll(conn, out);
}

function _jsonResponse(status: number, error: string, message: string): Response {
  return Response.json({ error, message }, { status });
}

/** The 403 for an upgrade from a page whose origin is not allowed: plain text. */
function _originRefusal(origin: string): Response {
  const shown = origin.length > 100 ? `${origin.slice(0, 100)}...` : origin;
  return new Response(
    `WebSocket connections from origin "${shown}" are not allowed; this server accepts ` +
      "only the origins it was configured with (--allowed-origins)\n",
    { status: 403, headers: { "content-type": "text/plain; charset=utf-8" } },
  );
}

async function _respondError(conn: Deno.Conn, err: HttpError): Promise<void> {
  const code = err.status === 429
    ? "too_many_connections"
    : err.status >= 500
    ? "unsupported"
    : "bad_request";
  const res = _jsonResponse(err.status, code, err.message);
  for (const [k, v] of Object.entries(err.headers)) res.headers.set(k, v);
  await _writeResponse(conn, res, "GET");
}

async function _writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

function _release(perAddr: Map<string, number>, host: string): void {
  const n = (perAddr.get(host) ?? 1) - 1;
  if (n <= 0) perAddr.delete(host);
  else perAddr.set(host, n);
}

/** Turns Nagle's algorithm off: chat frames are small and must leave at once. */
function _noDelay(conn: Deno.Conn): void {
  const tcp = conn as Partial<Deno.TcpConn>;
  try {
    tcp.setNoDelay?.(true);
  } catch {
    // not a TCP connection (or already closed)
  }
}
