/**
 * Chat servers and web pages: a server started with allowed origins refuses upgrades from
 * any other page with 403 before a WebSocket exists, counts them in /metrics and logs them
 * sparingly, and still serves clients that send no Origin; its mesh links (which send none)
 * come up. `fastchat server` and `fastchat up` refuse a malformed `--allowed-origins`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serverCommand } from "../cmd/server.ts";
import { upCommand } from "../cmd/up.ts";
import { UsageError } from "../cmd/command.ts";
import { ProtocolClient } from "../core/client/transport/protocol_client.ts";
import { freePort } from "../core/cluster/free_port.ts";
import { randomBytes, toBase64Url } from "../core/crypto/bytes.ts";
import { createLogger } from "../core/log/logger.ts";
import { type RunningServer, startServer } from "../core/server/serve.ts";
import { openStore } from "../core/store/open_store.ts";
import { rawRequest, readResponseHead, upgradeRequest } from "./helpers/raw_ws.ts";
import { TEST_RSA_PUBLIC_KEY, until } from "./helpers/cluster.ts";

const _PAGE = "http://127.0.0.1:7100";

/** Two servers in this process on one temp SQLite database, allowing `_PAGE`. */
async function _twoServers() {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_origin_" });
  const store = await openStore(join(dir, "fastchat.db"));
  const servers = [1, 2].map((id) => ({ id, host: "127.0.0.1", port: freePort() }));
  const secret = randomBytes(32);
  const lines: string[] = [];
  const running: RunningServer[] = [];
  for (const self of servers) {
    running.push(
      await startServer({
        self,
        servers,
        store,
        secret,
        logger: createLogger("warn", {}, (line) => lines.push(line)),
        passwordCost: { N: 1024, r: 8, p: 1 },
        allowedOrigins: [_PAGE],
      }),
    );
  }
  return {
    running,
    lines,
    async stop() {
      for (const r of running) await r.close();
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The status of a WebSocket upgrade to `port` and `path` with `origin` (none if undefined). */
async function _upgradeStatus(port: number, path: string, origin?: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(upgradeRequest(path, { Origin: origin })));
    return (await readResponseHead(conn)).status;
  } finally {
    conn.close();
  }
}

Deno.test("a server refuses web pages of other origins with 403 and serves the allowed one and Origin-less clients", async () => {
  const s = await _twoServers();
  const clients: ProtocolClient[] = [];
  try {
    const [one, two] = s.running as [RunningServer, RunningServer];
    // The mesh dials with Deno's WebSocket, which sends no Origin: the links come up.
    await until(
      () => one.mesh.upPeers().length === 1 && two.mesh.upPeers().length === 1,
      "the mesh links",
    );

    const refused = await rawRequest(
      one.port,
      upgradeRequest("/ws", { Origin: "https://evil.example" }),
    );
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.match(refused.body, /origin "https:\/\/evil\.example" are not allowed/);
    for (const origin of ["null", "http://127.0.0.1:7101", "http://localhost:7100"]) {
      assert.equal(await _upgradeStatus(one.port, "/ws", origin), 403, origin);
    }
    assert.equal(await _upgradeStatus(one.port, "/peer", "https://evil.example"), 403);
    assert.equal(await _upgradeStatus(one.port, "/ws", _PAGE), 101);
    assert.equal(await _upgradeStatus(one.port, "/ws"), 101);

    // The terminal client sends no Origin; a message crosses the mesh.
    const users = [];
    for (const [name, server] of [["ann", one], ["ben", two]] as const) {
      const client = await ProtocolClient.connect(`ws://127.0.0.1:${server.port}/ws`);
      clients.push(client);
      const reg = await client.register(
        name,
        "password123",
        TEST_RSA_PUBLIC_KEY,
        toBase64Url(randomBytes(32), false),
      );
      users.push({ client, id: reg.user_id });
    }
    const got: string[] = [];
    users[1]!.client.onMessage = (m) => got.push(m.body);
    await users[0]!.client.send(users[1]!.id, "across the mesh");
    await until(() => got.length === 1, "the message");

    // Five refusals: counted each, logged once (the first), with no flood.
    const metrics = await (await fetch(`http://127.0.0.1:${one.port}/metrics`)).text();
    assert.match(metrics, /fastchat_origin_refused_total\{server="1"\} 5\n/);
    const logged = s.lines.filter((l) => l.includes("origin_refused"));
    assert.equal(logged.length, 1, logged.join("\n"));
    assert.match(
      logged[0]!,
      /WARN origin_refused server=1 origin=https:\/\/evil\.example addr=127\.0\.0\.1 refused=1$/,
    );
  } finally {
    for (const c of clients) await c.close();
    await s.stop();
  }
});

Deno.test("fastchat server and fastchat up refuse a malformed --allowed-origins as usage errors", async () => {
  const cases: [string, RegExp][] = [
    [
      "http://127.0.0.1:7100/",
      /^--allowed-origins: "http:\/\/127\.0\.0\.1:7100\/" is not an origin; expected scheme:\/\/host\[:port\]/,
    ],
    ["ws://chat.example.org", /^--allowed-origins: "ws:\/\/chat\.example\.org" has scheme "ws"/],
    ["http://ok.example,http://x:99999", /"http:\/\/x:99999" has port 99999/],
  ];
  for (const [list, message] of cases) {
    for (const [command, args] of [[serverCommand, ["--id", "1"]], [upCommand, []]] as const) {
      await assert.rejects(
        () => command.run([...args, "--allowed-origins", list]),
        (err: unknown) => {
          assert.ok(err instanceof UsageError, String(err));
          assert.match(err.message, message);
          return true;
        },
        `${command.name} ${list}`,
      );
    }
  }
});
