/**
 * Tests of the balancer's web client routes (core/balancer/app.ts with the `web` option)
 * and of its Content-Security-Policy (core/balancer/web_client.ts), through
 * `app.request()` with a fake server list and small fake assets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createBalancerApp } from "../../core/balancer/app.ts";
import type { BalancerAppOptions } from "../../core/balancer/app.ts";
import {
  WEB_SECURITY_HEADERS,
  type WebAsset,
  type WebAssets,
  webCsp,
} from "../../core/balancer/web_client.ts";
import type { ServerRecord } from "../../core/store/store.ts";

const T0 = 1_700_000_000_000;
const _TEXT = new TextEncoder();

function _asset(type: string, body: string, etag: string): WebAsset {
  return { type, body: _TEXT.encode(body), etag };
}

const WEB: WebAssets = new Map([
  ["/", _asset("text/html; charset=utf-8", "<!doctype html><title>FastChat</title>", '"page1"')],
  ["/app.js", _asset("text/javascript; charset=utf-8", "console.log(1);", '"js1"')],
  ["/app.css", _asset("text/css; charset=utf-8", "body{margin:0}", '"css1"')],
  ["/sql-wasm.wasm", {
    type: "application/wasm",
    body: new Uint8Array([0, 0x61, 0x73, 0x6d]),
    etag: '"wasm1"',
  }],
]);

function _server(id: number, over: Partial<ServerRecord> = {}): ServerRecord {
  return {
    id,
    host: "127.0.0.1",
    port: 9000 + id,
    clients: 0,
    lagMs: 0,
    reportedAt: T0 - 100,
    ...over,
  };
}

/** An app over a fake server list (failing when `state.fail`), serving WEB by default. */
function _fixture(servers: ServerRecord[], over: Partial<BalancerAppOptions> = {}) {
  const state = { servers, fail: false };
  const app = createBalancerApp({
    strategy: "round-robin",
    source: () =>
      state.fail
        ? Promise.reject(new Error("disk on fire"))
        : Promise.resolve(state.servers.map((s) => ({ ...s }))),
    now: () => T0,
    web: WEB,
    ...over,
  });
  return { app, state };
}

/** A CSP as directive name to its sources. */
function _csp(header: string | null): Map<string, string[]> {
  assert.ok(header !== null, "no content-security-policy header");
  return new Map(
    header.split(";").map((d) => {
      const [name, ...sources] = d.trim().split(/\s+/);
      return [name!, sources];
    }),
  );
}

function _assertSecurityHeaders(res: Response): void {
  // The ones that matter most, spelled out: an entry dropped from the list is noticed.
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(res.headers.get("referrer-policy"), "no-referrer");
  assert.equal(res.headers.get("cross-origin-opener-policy"), "same-origin");
  for (const [name, value] of Object.entries(WEB_SECURITY_HEADERS)) {
    assert.equal(res.headers.get(name), value, name);
  }
}

Deno.test("GET / serves the web page with a CSP naming exactly the servers' origins", async () => {
  const { app } = _fixture([
    _server(2, { host: "chat2.example" }),
    _server(1),
    _server(3, { reportedAt: 0 }), // Not live now, but may be soon: still allowed.
  ]);
  const res = await app.request("/", { headers: { accept: "text/html" } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(res.headers.get("etag"), '"page1"');
  assert.equal(res.headers.get("cache-control"), "no-cache");
  assert.equal(await res.text(), "<!doctype html><title>FastChat</title>");
  const csp = _csp(res.headers.get("content-security-policy"));
  assert.deepEqual(csp.get("connect-src"), [
    "'self'",
    "ws://127.0.0.1:9001",
    "ws://127.0.0.1:9003",
    "ws://chat2.example:9002",
  ]);
  assert.deepEqual(csp.get("script-src"), ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(csp.get("default-src"), ["'none'"]);
  assert.deepEqual(csp.get("frame-ancestors"), ["'none'"]);
  assert.equal(
    res.headers.get("content-security-policy"),
    webCsp(["ws://127.0.0.1:9001/ws", "ws://127.0.0.1:9003/ws", "ws://chat2.example:9002/ws"]),
  );
  _assertSecurityHeaders(res);
});

Deno.test("GET / names wss:// origins in the CSP when tls is set", async () => {
  const { app } = _fixture([_server(1)], { tls: true });
  const res = await app.request("/");
  assert.deepEqual(_csp(res.headers.get("content-security-policy")).get("connect-src"), [
    "'self'",
    "wss://127.0.0.1:9001",
  ]);
});

Deno.test("GET / still answers the status JSON when asked for JSON", async () => {
  const { app } = _fixture([_server(1), _server(2)]);
  for (
    const [url, init] of [
      ["/", { headers: { accept: "application/json" } }],
      ["/?format=json", undefined],
    ] as const
  ) {
    const res = await app.request(url, init);
    assert.equal(res.status, 200, url);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal(res.headers.get("content-security-policy"), null);
    const body = await res.json();
    assert.equal(body.strategy, "round-robin");
    assert.deepEqual(body.servers.map((s: { id: number }) => s.id), [1, 2]);
  }
});

Deno.test("GET /status answers the status page as HTML, or JSON when asked", async () => {
  const { app } = _fixture([_server(1, { clients: 42 })]);
  const html = await app.request("/status", { headers: { accept: "text/html" } });
  assert.equal(html.status, 200);
  assert.match(html.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(await html.text(), /<h1>FastChat balancer<\/h1>/);
  for (
    const [url, init] of [
      ["/status", { headers: { accept: "application/json" } }],
      ["/status?format=json", undefined],
    ] as const
  ) {
    const res = await app.request(url, init);
    assert.equal(res.status, 200, url);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const body = await res.json();
    assert.equal(body.servers[0].clients, 42);
  }
});

Deno.test("GET of each asset serves it with its content type, ETag and security headers", async () => {
  const { app } = _fixture([_server(1)]);
  for (const [path, asset] of WEB) {
    const res = await app.request(path, { headers: { accept: "*/*" } });
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("content-type"), asset.type, path);
    assert.equal(res.headers.get("etag"), asset.etag, path);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), asset.body, path);
    _assertSecurityHeaders(res);
    // Only the page carries the CSP that names the servers.
    assert.equal(res.headers.has("content-security-policy"), path === "/", path);
  }
});

Deno.test("GET of an asset with if-none-match of its ETag answers 304 without a body", async () => {
  const { app } = _fixture([_server(1)]);
  for (const [path, asset] of WEB) {
    const res = await app.request(path, { headers: { "if-none-match": asset.etag } });
    assert.equal(res.status, 304, path);
    assert.equal(res.body, null, path);
    assert.equal(res.headers.get("etag"), asset.etag, path);
    const stale = await app.request(path, { headers: { "if-none-match": '"old"' } });
    assert.equal(stale.status, 200, path);
    await stale.body?.cancel();
  }
});

Deno.test("GET / still loads the page when the server list cannot be read", async () => {
  const { app, state } = _fixture([_server(1)]);
  state.fail = true;
  const res = await app.request("/");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "<!doctype html><title>FastChat</title>");
  assert.deepEqual(_csp(res.headers.get("content-security-policy")).get("connect-src"), [
    "'self'",
  ]);
  _assertSecurityHeaders(res);
});

Deno.test("GET / without the web option is the status page as before", async () => {
  const { app } = _fixture([_server(1)], { web: undefined });
  const res = await app.request("/", { headers: { accept: "text/html" } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  assert.equal(res.headers.get("content-security-policy"), null);
  assert.match(await res.text(), /<h1>FastChat balancer<\/h1>/);
  const asset = await app.request("/app.js");
  assert.equal(asset.status, 404);
  await asset.body?.cancel();
});

Deno.test("webCsp() ignores URLs that are not ws:// or wss://", () => {
  const csp = _csp(webCsp([
    "http://evil.example:80/",
    "https://evil.example/",
    "javascript:alert(1)",
    "not a url",
    "ws://chat.example:9001/ws",
  ]));
  assert.deepEqual(csp.get("connect-src"), ["'self'", "ws://chat.example:9001"]);
});

Deno.test("webCsp() dedupes and sorts the origins", () => {
  const csp = _csp(webCsp([
    "wss://b.example:9002/ws",
    "ws://a.example:9001/ws",
    "wss://b.example:9002/other",
    "ws://a.example:9001/ws",
  ]));
  assert.deepEqual(csp.get("connect-src"), [
    "'self'",
    "ws://a.example:9001",
    "wss://b.example:9002",
  ]);
});

Deno.test("webCsp() with no servers allows connections to 'self' only", () => {
  const header = webCsp([]);
  assert.match(header, /(^|; )connect-src 'self'(;|$)/);
  const csp = _csp(header);
  assert.deepEqual(csp.get("connect-src"), ["'self'"]);
  assert.deepEqual(csp.get("default-src"), ["'none'"]);
  assert.deepEqual(csp.get("script-src"), ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(csp.get("frame-ancestors"), ["'none'"]);
});
