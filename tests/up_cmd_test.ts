/**
 * `fastchat up` as a user runs it: a real process that starts the balancer and servers,
 * serves clients through the balancer, and stops every child on SIGTERM.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ProtocolClient } from "../core/client/protocol_client.ts";
import { randomBytes, toBase64Url } from "../core/crypto/bytes.ts";
import { freePort, Proc, TEST_RSA_PUBLIC_KEY, testEachBackend, until } from "./helpers/cluster.ts";
import { freshPostgresDatabase } from "./helpers/postgres.ts";
import { openStore } from "../core/store/open_store.ts";

async function _listening(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

testEachBackend(
  "fastchat up starts a working cluster and stops it all on SIGTERM",
  async (backend) => {
    const dir = await Deno.makeTempDir({ prefix: "fastchat_up_" });
    const db = backend === "postgres"
      ? await freshPostgresDatabase()
      : join(dir, "data", "fastchat.db");
    const ports = [freePort(), freePort(), freePort()];
    const balancerPort = freePort();
    const serversFile = join(dir, "servers.txt");
    await Deno.writeTextFile(
      serversFile,
      ports.map((p, i) => `${i + 1} 127.0.0.1 ${p}`).join("\n"),
    );
    const up = new Proc("fastchat up", [
      "up",
      "--servers",
      serversFile,
      "--data",
      join(dir, "data"),
      "--strategy",
      "round-robin",
      "--balancer-port",
      String(balancerPort),
      "--log-level",
      "warn",
      "--scrypt-n",
      "1024",
      ...(backend === "postgres" ? ["--db", db] : []),
    ]);
    const clients: ProtocolClient[] = [];
    try {
      await until(
        () => up.output.includes("Press Ctrl-C to stop."),
        "fastchat up to be ready",
        30_000,
      );
      assert.match(up.output, /FastChat is up: 3 server\(s\), strategy round-robin/);
      assert.ok(up.output.includes(`database  ${db}`), up.output);
      const secretInfo = await Deno.stat(join(dir, "data", "cluster.secret"));
      assert.equal(secretInfo.mode! & 0o777, 0o600);

      // Wait until every server has reported, then let the balancer place two users.
      const assigned: number[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await fetch(`http://127.0.0.1:${balancerPort}/assign`);
        assert.equal(res.status, 200);
        const a = await res.json();
        assert.equal(a.url, `ws://127.0.0.1:${a.port}/ws`);
        assigned.push(a.id);
      }
      assert.deepEqual(new Set(assigned), new Set([1, 2, 3]));

      const users = [];
      for (const name of ["ann", "ben"]) {
        const a = await (await fetch(`http://127.0.0.1:${balancerPort}/assign`)).json();
        const client = await ProtocolClient.connect(a.url);
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
      await users[0]!.client.send(users[1]!.id, "through up");
      await until(() => got.length === 1, "the message");
      assert.deepEqual(got, ["through up"]);
      const store = await openStore(db);
      try {
        assert.equal((await store.stats()).users, 2, "the users are in the chosen database");
      } finally {
        await store.close();
      }

      up.kill("SIGTERM");
      const status = await up.done;
      assert.equal(status.code, 0, up.output);
      assert.match(up.output, /FastChat stopped\./);
      // Children stopped cleanly: no error lines from any server or the balancer.
      assert.doesNotMatch(up.output, /fastchat (server|balance): /);
      assert.doesNotMatch(up.output, /exited \(code/);
      for (const port of [...ports, balancerPort]) {
        assert.equal(await _listening(port), false, `port ${port} still listening after stop`);
      }
    } finally {
      for (const c of clients) await c.close();
      up.kill("SIGKILL");
      await up.done;
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("fastchat up rejects a bad strategy and a malformed servers file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_up_" });
  try {
    const bad = new Proc("up", ["up", "--strategy", "fastest", "--data", dir]);
    assert.equal((await bad.done).code, 2);
    assert.match(bad.output, /--strategy must be one of load, random, round-robin/);
    const file = join(dir, "servers.txt");
    await Deno.writeTextFile(file, "1 127.0.0.1 7101\n2 127.0.0.1\n");
    const broken = new Proc("up", ["up", "--servers", file, "--data", dir]);
    assert.equal((await broken.done).code, 1);
    assert.match(broken.output, /servers\.txt:2: expected "ID HOST PORT" \(three fields\)/);
    assert.doesNotMatch(broken.output, /^\s+at /m, "no stack trace for an expected failure");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
