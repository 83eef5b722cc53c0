/**
 * The Origin check of WebSocket upgrades (`core/ws/origin.ts`): configured origins are
 * validated and serialized, an upgrade without Origin or with an allowed one passes, and
 * anything else is refused. Pure functions, then the listener on a real socket.
 */

import assert from "node:assert/strict";
import { freePort } from "../core/cluster/free_port.ts";
import { listenHttp } from "../core/ws/http_listener.ts";
import { originAllowed, OriginError, parseOrigin, parseOrigins } from "../core/ws/origin.ts";
import { rawRequest, readResponseHead, upgradeRequest } from "./helpers/raw_ws.ts";

Deno.test("parseOrigin serializes origins: lower case, no default port", () => {
  const cases: [string, string][] = [
    ["http://127.0.0.1:7100", "http://127.0.0.1:7100"],
    ["HTTP://LocalHost:7100", "http://localhost:7100"],
    ["https://Chat.Example.org", "https://chat.example.org"],
    ["http://chat.example.org:80", "http://chat.example.org"],
    ["https://chat.example.org:443", "https://chat.example.org"],
    ["http://chat.example.org:443", "http://chat.example.org:443"],
    ["https://chat.example.org:80", "https://chat.example.org:80"],
    ["http://[0:0::1]:7100", "http://[::1]:7100"],
    ["http://xn--bcher-kva.example", "http://xn--bcher-kva.example"],
  ];
  for (const [text, want] of cases) assert.equal(parseOrigin(text), want, text);
});

Deno.test("parseOrigin refuses anything but http(s)://host[:port], naming it", () => {
  const cases: [string, RegExp][] = [
    ["ftp://example.org", /"ftp:\/\/example\.org" has scheme "ftp"; expected http or https/],
    ["ws://example.org", /has scheme "ws"; expected http or https/],
    ["http://example.org/", /"http:\/\/example\.org\/" is not an origin; expected scheme:\/\//],
    ["http://example.org/chat", /is not an origin; expected .*no path, query or fragment/],
    ["http://example.org?x=1", /is not an origin/],
    ["http://example.org#top", /is not an origin/],
    ["http://user@example.org", /is not an origin/],
    ["example.org", /is not an origin/],
    ["http://", /is not an origin/],
    ["http://exa mple.org", /is not an origin/],
    ["http://a..b", /is not an origin/],
    ["http://example.org:", /is not an origin/],
    ["http://example.org:0", /has port 0; expected a port from 1 to 65535/],
    ["http://example.org:70000", /has port 70000; expected a port from 1 to 65535/],
    ["http://[::1", /is not an origin/],
    ["http://999.0.0.1", /has a malformed host/],
    ["null", /"null" is not an origin/],
    ["", /"" is not an origin/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseOrigin(text), (err: unknown) => {
      assert.ok(err instanceof OriginError, text);
      assert.equal(err.origin, text);
      assert.match(err.message, message);
      return true;
    });
  }
});

Deno.test("parseOrigins splits a comma-separated list, trims, drops repeats and blanks", () => {
  assert.deepEqual(parseOrigins(""), []);
  assert.deepEqual(
    parseOrigins(" http://127.0.0.1:7100 , https://chat.example.org:443,,HTTP://127.0.0.1:7100,"),
    ["http://127.0.0.1:7100", "https://chat.example.org"],
  );
  assert.throws(
    () => parseOrigins("http://127.0.0.1:7100,http://evil.example/x"),
    /"http:\/\/evil\.example\/x" is not an origin/,
  );
});

Deno.test("originAllowed lets through no Origin and the configured ones, nothing else", () => {
  const allowed = new Set(parseOrigins("http://127.0.0.1:7100,https://chat.example.org"));
  assert.equal(originAllowed(undefined, allowed), true, "no Origin: not a browser");
  assert.equal(originAllowed(undefined, new Set()), true);
  assert.equal(originAllowed("http://127.0.0.1:7100", allowed), true);
  assert.equal(originAllowed("https://chat.example.org", allowed), true);
  assert.equal(originAllowed("https://chat.example.org:443", allowed), true);
  for (
    const origin of [
      "http://127.0.0.1:7101",
      "https://127.0.0.1:7100",
      "http://localhost:7100",
      "http://chat.example.org",
      "https://evil.example",
      "https://chat.example.org.evil.example",
      "null",
      "",
      "http://127.0.0.1:7100, https://chat.example.org",
      "http://127.0.0.1:7100/",
    ]
  ) {
    assert.equal(originAllowed(origin, allowed), false, origin);
  }
  assert.equal(originAllowed("http://127.0.0.1:7100", new Set()), false, "none by default");
});

/** A listener whose upgrades are accepted and closed at once; records origin refusals. */
function _listener(allowedOrigins?: string[]) {
  const refused: string[] = [];
  const listener = listenHttp({
    hostname: "127.0.0.1",
    port: freePort(),
    fetch: () => new Response("Not found", { status: 404 }),
    upgrade: () => ({ maxMessageBytes: 1024, accept: (socket) => void socket.close(1000) }),
    allowedOrigins,
    onOriginRefused: (origin) => refused.push(origin),
  });
  return { listener, refused };
}

/** The status of an upgrade to `port` with `origin` (none when undefined). */
async function _upgradeStatus(port: number, origin: string | undefined): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(upgradeRequest("/ws", { Origin: origin })));
    return (await readResponseHead(conn)).status;
  } finally {
    conn.close();
  }
}

Deno.test("the listener answers 403 in plain text to an upgrade from an origin not allowed", async () => {
  const { listener, refused } = _listener(["HTTP://127.0.0.1:7100"]);
  try {
    const res = await rawRequest(
      listener.port,
      upgradeRequest("/ws", { Origin: "https://evil.example" }),
    );
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(res.headers.get("connection"), "close");
    assert.match(
      res.body,
      /^WebSocket connections from origin "https:\/\/evil\.example" are not allowed/,
    );
    assert.ok(!res.headers.has("sec-websocket-accept"), "no WebSocket was established");
    assert.equal(
      (await rawRequest(listener.port, upgradeRequest("/ws", { Origin: "null" }))).status,
      403,
    );
    assert.deepEqual(refused, ["https://evil.example", "null"]);

    assert.equal(await _upgradeStatus(listener.port, "http://127.0.0.1:7100"), 101);
    assert.equal(await _upgradeStatus(listener.port, undefined), 101);
    assert.equal(refused.length, 2, "accepted upgrades are not counted");
  } finally {
    await listener.close(0);
  }
});

Deno.test("the listener lets no web page connect by default, and still lets Origin-less clients", async () => {
  const { listener, refused } = _listener();
  try {
    assert.equal(await _upgradeStatus(listener.port, "http://127.0.0.1:7100"), 403);
    assert.equal(await _upgradeStatus(listener.port, undefined), 101);
    // Deno's WebSocket (the terminal client's and the mesh's) sends no Origin.
    const ws = new WebSocket(`ws://127.0.0.1:${listener.port}/ws`);
    const closed = new Promise<number>((resolve) => ws.onclose = (e) => resolve(e.code));
    const opened = await new Promise<boolean>((resolve) => {
      ws.onopen = () => resolve(true);
      ws.onerror = () => resolve(false);
    });
    assert.ok(opened, "a Deno WebSocket connects");
    assert.equal(await closed, 1000);
    assert.deepEqual(refused, ["http://127.0.0.1:7100"]);
  } finally {
    await listener.close(0);
  }
});

Deno.test("the listener refuses to start with a malformed allowed origin", () => {
  assert.throws(() => _listener(["http://127.0.0.1:7100/"]), OriginError);
});
