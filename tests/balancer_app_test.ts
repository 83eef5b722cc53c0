import assert from "node:assert/strict";
import { createBalancerApp } from "../core/balancer/app.ts";
import type { BalancerAppOptions } from "../core/balancer/app.ts";
import { startBalancer } from "../core/balancer/mod.ts";
import type { ServerRecord } from "../core/store/store.ts";

const T0 = 1_700_000_000_000;

/** A fake store and clock the test controls. */
function _fixture(servers: ServerRecord[], over: Partial<BalancerAppOptions> = {}) {
  const state = { now: T0, servers, reads: 0, fail: false };
  const app = createBalancerApp({
    strategy: "round-robin",
    source: () => {
      state.reads++;
      if (state.fail) return Promise.reject(new Error("disk on fire"));
      return Promise.resolve(state.servers.map((s) => ({ ...s })));
    },
    now: () => state.now,
    ...over,
  });
  return { app, state };
}

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

async function _silenced<T>(fn: () => T | Promise<T>): Promise<T> {
  const orig = console.error;
  console.error = () => {};
  try {
    return await fn();
  } finally {
    console.error = orig;
  }
}

Deno.test("GET /assign returns the chosen server as JSON with its ws:// URL", async () => {
  const { app } = _fixture([_server(1), _server(2, { host: "chat2.example" })]);
  const res = await app.request("/assign");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.deepEqual(await res.json(), {
    id: 1,
    host: "127.0.0.1",
    port: 9001,
    url: "ws://127.0.0.1:9001/ws",
  });
  assert.deepEqual(await (await app.request("/assign")).json(), {
    id: 2,
    host: "chat2.example",
    port: 9002,
    url: "ws://chat2.example:9002/ws",
  });
});

Deno.test("GET /assign hands out wss:// URLs when tls is set", async () => {
  const { app } = _fixture([_server(1)], { tls: true });
  const body = await (await app.request("/assign")).json();
  assert.equal(body.url, "wss://127.0.0.1:9001/ws");
});

Deno.test("GET /assign returns 503 no_live_server when no server is live", async () => {
  const { app } = _fixture([_server(1, { reportedAt: 0 }), _server(2, { reportedAt: T0 - 3001 })]);
  const res = await app.request("/assign");
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "1");
  const body = await res.json();
  assert.equal(body.error, "no_live_server");
  assert.match(body.message, /^No live server is available; /);
});

Deno.test("GET /assign reuses the server list briefly but judges liveness at assignment time", async () => {
  const { app, state } = _fixture([_server(1, { reportedAt: T0 - 2900 }), _server(2)]);
  for (let i = 0; i < 10; i++) assert.equal((await app.request("/assign")).status, 200);
  assert.equal(state.reads, 1, "a burst within the cache window reads the store once");
  // 200 ms later the list is still cached, but server 1's report is now 3.1 s old.
  state.now = T0 + 200;
  for (let i = 0; i < 4; i++) {
    assert.equal((await (await app.request("/assign")).json()).id, 2);
  }
  assert.equal(state.reads, 1);
  // After the cache window the list is read again.
  state.now = T0 + 300;
  await app.request("/assign");
  assert.equal(state.reads, 2);
});

Deno.test("GET /assign returns 503 store_unavailable when the server list cannot be read", async () => {
  const { app, state } = _fixture([_server(1)]);
  state.fail = true;
  const res = await _silenced(() => app.request("/assign"));
  assert.equal(res.status, 503);
  assert.equal((await res.json()).error, "store_unavailable");
  // Failures are not cached: the next request reads again and succeeds.
  state.fail = false;
  assert.equal((await app.request("/assign")).status, 200);
  assert.equal(state.reads, 2);
});

Deno.test("GET / returns every server's status as JSON when asked for JSON", async () => {
  const servers = [
    _server(2, { clients: 7, lagMs: 3, reportedAt: T0 - 1500 }),
    _server(1, { clients: 4, lagMs: 1 }),
    _server(3, { reportedAt: 0 }),
  ];
  const { app } = _fixture(servers, { strategy: "load" });
  await app.request("/assign");
  for (const init of [{ headers: { accept: "application/json" } }, undefined]) {
    const res = await app.request(init ? "/" : "/?format=json", init);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const body = await res.json();
    assert.equal(body.strategy, "load");
    assert.equal(body.now, T0);
    assert.equal(body.liveWindowMs, 3000);
    assert.equal(body.live, 2);
    assert.deepEqual(body.servers.map((s: { id: number }) => s.id), [1, 2, 3]);
    assert.deepEqual(body.servers[1], {
      id: 2,
      host: "127.0.0.1",
      port: 9002,
      url: "ws://127.0.0.1:9002/ws",
      clients: 7,
      lagMs: 3,
      reportedAt: T0 - 1500,
      reportAgeMs: 1500,
      live: true,
      assigned: 0,
    });
    assert.equal(body.servers[0].assigned, 1);
    assert.equal(body.servers[2].live, false);
    assert.equal(body.servers[2].reportAgeMs, null);
  }
});

Deno.test("GET / returns an HTML page for browsers with the same data", async () => {
  const servers = [_server(1, { clients: 42, lagMs: 5 }), _server(2, { reportedAt: 0 })];
  const { app } = _fixture(servers);
  const res = await app.request("/", {
    headers: { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  const html = await res.text();
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /Strategy: <strong>round-robin<\/strong>/);
  assert.match(html, /Live servers: 1 of 2/);
  assert.match(
    html,
    /<td>1<\/td><td>127\.0\.0\.1:9001<\/td><td>42<\/td><td>5<\/td><td>0\.1 s ago<\/td><td>live<\/td>/,
  );
  assert.match(html, /<td>2<\/td><td>127\.0\.0\.1:9002<\/td>.*<td>never<\/td><td>dead<\/td>/);
  // Plain curl (Accept: */*) gets HTML too.
  const curl = await app.request("/", { headers: { accept: "*/*" } });
  assert.match(curl.headers.get("content-type") ?? "", /^text\/html/);
});

Deno.test("GET / escapes server host names in HTML", async () => {
  const { app } = _fixture([_server(1, { host: "<script>x</script>" })]);
  const html = await (await app.request("/")).text();
  assert.ok(!html.includes("<script>"));
  assert.match(html, /&lt;script&gt;/);
});

Deno.test("GET /healthz returns 200 ok", async () => {
  const { app } = _fixture([]);
  const res = await app.request("/healthz");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ok");
});

Deno.test("GET /metrics returns Prometheus text with assignments, 503s and live servers", async () => {
  const servers = [_server(1, { clients: 3, lagMs: 2 }), _server(2), _server(3, { reportedAt: 0 })];
  const { app, state } = _fixture(servers);
  for (let i = 0; i < 3; i++) await app.request("/assign");
  state.servers = [_server(1, { reportedAt: 0 })];
  state.now = T0 + 1000;
  assert.equal((await app.request("/assign")).status, 503);
  const res = await app.request("/metrics");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  assert.ok(text.endsWith("\n"));
  const lines = text.split("\n").filter((l) => l !== "");
  // Every line is a comment or `name{labels} value`.
  for (const l of lines) {
    assert.match(
      l,
      /^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[0-9.e+]+|\w+(\{[^}]*\})? [+-]?Inf|NaN)$/,
      l,
    );
  }
  assert.ok(lines.includes("# TYPE fastchat_balancer_assignments_total counter"));
  assert.ok(
    lines.includes('fastchat_balancer_assignments_total{server="1",strategy="round-robin"} 2'),
  );
  assert.ok(
    lines.includes('fastchat_balancer_assignments_total{server="2",strategy="round-robin"} 1'),
  );
  assert.ok(lines.includes('fastchat_balancer_unavailable_total{strategy="round-robin"} 1'));
  assert.ok(lines.includes("# TYPE fastchat_balancer_live_servers gauge"));
  assert.ok(lines.includes("fastchat_balancer_live_servers 0"));
  assert.ok(lines.includes("fastchat_balancer_store_up 1"));
});

Deno.test("GET /metrics reports live servers and server load gauges", async () => {
  const { app } = _fixture([_server(1, { clients: 3, lagMs: 2 }), _server(2, { reportedAt: 0 })]);
  const text = await (await app.request("/metrics")).text();
  assert.match(text, /^fastchat_balancer_live_servers 1$/m);
  assert.match(text, /^fastchat_server_clients\{server="1"\} 3$/m);
  assert.match(text, /^fastchat_server_lag_ms\{server="1"\} 2$/m);
  assert.match(text, /^fastchat_server_live\{server="2"\} 0$/m);
});

Deno.test("unknown routes return 404 JSON", async () => {
  const { app } = _fixture([_server(1)]);
  const res = await app.request("/nope");
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.equal(body.error, "not_found");
  assert.match(body.message, /No route for GET \/nope; expected one of: \/, \/assign/);
});

Deno.test("other methods on known routes return 405 JSON with an Allow header", async () => {
  const { app, state } = _fixture([_server(1)]);
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    const res = await app.request("/assign", { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get("allow"), "GET, OPTIONS");
    assert.equal((await res.json()).error, "method_not_allowed");
  }
  const post = await app.request("/metrics", { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD, OPTIONS");
  assert.equal(state.reads, 0, "no method other than GET reads or assigns");
});

Deno.test("HEAD /assign is refused without assigning; HEAD on other routes works", async () => {
  const { app } = _fixture([_server(1), _server(2)]);
  const head = await app.request("/assign", { method: "HEAD" });
  assert.equal(head.status, 405);
  assert.equal(head.body, null);
  // The rotation did not advance.
  assert.equal((await (await app.request("/assign")).json()).id, 1);
  for (const path of ["/", "/healthz", "/metrics"]) {
    const res = await app.request(path, { method: "HEAD" });
    assert.equal(res.status, 200, path);
    assert.equal(res.body, null);
  }
});

Deno.test("OPTIONS on a known route returns 204 with an Allow header", async () => {
  const { app } = _fixture([_server(1)]);
  const res = await app.request("/assign", { method: "OPTIONS" });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("allow"), "GET, OPTIONS");
});

Deno.test("createBalancerApp() rejects a negative cacheMs with a RangeError", () => {
  assert.throws(
    () => createBalancerApp({ strategy: "load", source: () => Promise.resolve([]), cacheMs: -1 }),
    RangeError,
  );
});

Deno.test("startBalancer() on port 0 listens on a free port on 127.0.0.1 and closes", async () => {
  const store = { listServers: () => Promise.resolve([_server(7, { reportedAt: Date.now() })]) };
  const balancer = await startBalancer({ strategy: "load", port: 0, store });
  try {
    assert.equal(balancer.host, "127.0.0.1");
    assert.ok(balancer.port > 0);
    const res = await fetch(`http://127.0.0.1:${balancer.port}/assign`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).id, 7);
  } finally {
    await balancer.close();
    await balancer.close();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${balancer.port}/healthz`));
});

Deno.test("startBalancer() stops when its signal is aborted", async () => {
  const ac = new AbortController();
  const store = { listServers: () => Promise.resolve([]) };
  const balancer = await startBalancer({ strategy: "random", port: 0, store, signal: ac.signal });
  const res = await fetch(`http://127.0.0.1:${balancer.port}/healthz`);
  assert.equal(await res.text(), "ok");
  ac.abort();
  await balancer.close();
  await assert.rejects(fetch(`http://127.0.0.1:${balancer.port}/healthz`));
});

Deno.test("startBalancer() rejects a bad port with a RangeError and a taken one with AddrInUse", async () => {
  const store = { listServers: () => Promise.resolve([]) };
  await assert.rejects(startBalancer({ strategy: "load", port: 70000, store }), RangeError);
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (l.addr as Deno.NetAddr).port;
    await assert.rejects(startBalancer({ strategy: "load", port, store }), Deno.errors.AddrInUse);
  } finally {
    l.close();
  }
});
