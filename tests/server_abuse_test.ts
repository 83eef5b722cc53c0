/**
 * A chat server under abuse from raw sockets: huge frame headers, connections that never
 * send a request or never log in, too many connections from one address, malformed
 * WebSocket upgrades. Real sockets against a real server process (memory is measured on
 * it), or against a server started in this process when a test needs short timeouts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort } from "../core/cluster/free_port.ts";
import { ProtocolClient } from "../core/client/transport/protocol_client.ts";
import { randomBytes, toBase64Url } from "../core/crypto/bytes.ts";
import { createLogger } from "../core/log/logger.ts";
import { LIMITS } from "../core/protocol/limits.ts";
import { type RunningServer, startServer, type StartServerOptions } from "../core/server/serve.ts";
import { openStore } from "../core/store/open_store.ts";
import type { Store } from "../core/store/store.ts";
import { acceptValue } from "../core/ws/upgrade.ts";
import { TEST_RSA_PUBLIC_KEY, TestCluster, until } from "./helpers/cluster.ts";
import {
  maskedFrame,
  maskedHeader,
  rawRequest,
  RawWebSocket,
  rssBytes,
  upgradeRequest,
} from "./helpers/raw_ws.ts";

/** A one-server cluster in this process, on a temp SQLite database. */
async function _inProcess(
  extra: Partial<StartServerOptions> = {},
): Promise<{ server: RunningServer; port: number; stop(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_abuse_" });
  const store: Store = await openStore(join(dir, "fastchat.db"));
  const port = freePort();
  const self = { id: 1, host: "127.0.0.1", port };
  const server = await startServer({
    self,
    servers: [self],
    store,
    secret: randomBytes(32),
    logger: createLogger("error"),
    passwordCost: { N: 1024, r: 8, p: 1 },
    ...extra,
  });
  return {
    server,
    port,
    async stop() {
      await server.close();
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function _register(client: ProtocolClient, name: string) {
  return client.register(
    name,
    "password123",
    TEST_RSA_PUBLIC_KEY,
    toBase64Url(randomBytes(32), false),
  );
}

/** Resolves when the TCP connection is closed by the other end (or rejects after `ms`). */
async function _closedWithin(conn: Deno.Conn, ms: number): Promise<number> {
  const start = performance.now();
  const buf = new Uint8Array(1024);
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // closed
    }
  }, ms);
  try {
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
    }
  } finally {
    clearTimeout(timer);
  }
  const took = performance.now() - start;
  if (took >= ms - 5) throw new Error(`The server kept the connection open for ${ms} ms`);
  try {
    conn.close();
  } catch {
    // closed
  }
  return took;
}

Deno.test("server refuses over-limit frames at their header and holds no memory for them", async () => {
  const c = await TestCluster.start(1);
  const sockets: RawWebSocket[] = [];
  try {
    const pid = c.servers.get(1)!.child.pid;
    const before = await rssBytes(pid);
    // Eight strangers, each starting a 48 MiB frame and sending 1 MiB of it.
    for (let i = 0; i < 8; i++) sockets.push(await RawWebSocket.open(c.port(1)));
    const closes = await Promise.all(sockets.map(async (ws) => {
      assert.ok((await ws.readFrame())?.opcode === 0x1, "welcome first");
      await ws.write(maskedHeader(0x1, 48 * 1024 * 1024));
      await ws.write(new Uint8Array(1024 * 1024));
      return ws.readClose();
    }));
    for (const close of closes) {
      assert.equal(close?.code, 1009);
      assert.match(close!.reason, new RegExp(`Message over ${LIMITS.loginFrameBytes} bytes`));
    }
    // Before login even a frame well under the general limit is too big.
    const stranger = await RawWebSocket.open(c.port(1));
    sockets.push(stranger);
    await stranger.readFrame();
    await stranger.write(maskedFrame(0x1, new Uint8Array(LIMITS.loginFrameBytes + 1).fill(0x20)));
    assert.equal((await stranger.readClose())?.code, 1009);
    // On /peer the same 16 KiB bound holds before authentication (documented).
    const poser = await RawWebSocket.open(c.port(1), "/peer");
    sockets.push(poser);
    assert.equal((await poser.readFrame())?.opcode, 0x1, "peer_challenge first");
    await poser.write(maskedFrame(0x1, new Uint8Array(LIMITS.loginFrameBytes + 1).fill(0x20)));
    const peerClose = await poser.readClose();
    assert.equal(peerClose?.code, 1009);
    assert.equal(peerClose?.reason, `Message over ${LIMITS.loginFrameBytes} bytes`);
    const grew = (await rssBytes(pid)) - before;
    console.log(`server RSS grew ${(grew / 1e6).toFixed(1)} MB under 8 x 48 MiB frame headers`);
    assert.ok(grew < 24e6, `server RSS grew ${grew} bytes`);

    // A logged-in user gets the full limit: a frame of 100 KiB is an ordinary bad frame...
    const client = await c.connect(1);
    await _register(client, "alice");
    const errors: string[] = [];
    client.onFrame = (f) => f.type === "error" && errors.push(f.code);
    client.sendRaw(" ".repeat(100 * 1024));
    await until(() => errors.length === 1, "an error for a big but allowed frame");
    assert.deepEqual(errors, ["bad_json"]);
    // ...and the server still serves.
    assert.equal(
      (await fetch(`${c.url(1).replace("ws", "http").replace("/ws", "")}/healthz`)).status,
      200,
    );
  } finally {
    for (const s of sockets) s.close();
    await c.stop();
  }
});

Deno.test("server closes connections that send no request head within 5 s", async () => {
  const c = await TestCluster.start(1);
  try {
    const silent = await Promise.all(
      Array.from({ length: 20 }, () => Deno.connect({ hostname: "127.0.0.1", port: c.port(1) })),
    );
    // A slow client: a byte a second never finishes its head in time either.
    const slow = await Deno.connect({ hostname: "127.0.0.1", port: c.port(1) });
    const request = new TextEncoder().encode(upgradeRequest());
    let i = 0;
    const drip = setInterval(() => {
      slow.write(request.subarray(i, i + 1)).catch(() => {});
      i++;
    }, 500);
    try {
      const times = await Promise.all([...silent, slow].map((conn) => _closedWithin(conn, 9_000)));
      for (const t of times) assert.ok(t >= 4_000, `closed after ${t} ms, before the timeout`);
    } finally {
      clearInterval(drip);
    }
    const res = await rawRequest(c.port(1), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(res.status, 200);
  } finally {
    await c.stop();
  }
});

Deno.test("server closes WebSockets that do not log in in time, and keeps logged-in ones", async () => {
  const s = await _inProcess({ loginTimeoutMs: 400 });
  const clients: ProtocolClient[] = [];
  try {
    const url = `ws://127.0.0.1:${s.port}/ws`;
    // The browser-like client answers pings, which must not keep it alive.
    const idle = new WebSocket(url);
    const closed = new Promise<CloseEvent>((r) => idle.onclose = r);
    const user = await ProtocolClient.connect(url);
    clients.push(user);
    await _register(user, "bob");
    const ev = await closed;
    assert.equal(ev.code, 1008);
    assert.match(ev.reason, /Log in within/);
    // Real time on purpose: the logged-in client's own 400 ms deadline (it connected after
    // the idle one) must pass on the server's timers. chat_server_test covers the same rule
    // on a fake clock.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await user.lookup("bob")).type, "user", "the logged-in client is still served");
  } finally {
    for (const cl of clients) await cl.close();
    await s.stop();
  }
});

Deno.test("server caps connections per address and answers 429 beyond", async () => {
  const s = await _inProcess({ httpLimits: { maxConnsPerAddr: 3 } });
  const held: RawWebSocket[] = [];
  try {
    for (let i = 0; i < 3; i++) held.push(await RawWebSocket.open(s.port));
    const refused = await rawRequest(s.port, upgradeRequest());
    assert.equal(refused.status, 429);
    assert.match(
      JSON.parse(refused.body).message,
      /Too many connections from your address \(at most 3\)/,
    );
    held.pop()!.close();
    await until(() => s.server.chat.connectionCount === 2, "the server to see the close");
    const again = await RawWebSocket.open(s.port);
    held.push(again);
  } finally {
    for (const h of held) h.close();
    await s.stop();
  }
});

Deno.test("server answers malformed WebSocket upgrades with 400 and a reason", async () => {
  const s = await _inProcess();
  try {
    const cases: [string, RegExp][] = [
      [upgradeRequest("/ws", { "Sec-WebSocket-Key": undefined }), /Sec-WebSocket-Key is missing/],
      [upgradeRequest("/ws", { "Sec-WebSocket-Key": "not-a-key" }), /16 bytes in base64/],
      [upgradeRequest("/ws", { "Sec-WebSocket-Version": "12" }), /must be 13, got "12"/],
      [upgradeRequest("/ws", { Connection: "close" }), /Connection: Upgrade/],
      [upgradeRequest("/ws", {}, "POST"), /must be a GET/],
      ["GET /ws HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", /no name/],
    ];
    for (const [request, message] of cases) {
      const res = await rawRequest(s.port, request);
      assert.equal(res.status, 400, request);
      const body = JSON.parse(res.body);
      assert.equal(body.error, "bad_request");
      assert.match(body.message, message);
    }
    const version = await rawRequest(
      s.port,
      upgradeRequest("/ws", { "Sec-WebSocket-Version": "8" }),
    );
    assert.equal(version.headers.get("sec-websocket-version"), "13");
    const plain = await rawRequest(s.port, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(plain.status, 426);
    const missing = await rawRequest(s.port, upgradeRequest("/nowhere"));
    assert.equal(missing.status, 404);

    const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
    await conn.write(new TextEncoder().encode(upgradeRequest("/ws")));
    const buf = new Uint8Array(4096);
    const n = (await conn.read(buf))!;
    const head = new TextDecoder().decode(buf.subarray(0, n));
    assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.ok(head.includes(`Sec-WebSocket-Accept: ${acceptValue("dGhlIHNhbXBsZSBub25jZQ==")}`));
    conn.close();
  } finally {
    await s.stop();
  }
});
