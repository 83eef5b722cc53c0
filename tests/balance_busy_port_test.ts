/**
 * `fastchat balance` on a port another process holds: it must fail before it writes to the
 * shared database, so a second cluster's balancer leaves the running one's data alone.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort } from "../core/cluster/free_port.ts";
import { selfCommand } from "../core/cluster/self_command.ts";
import { openSqliteStore } from "../core/store/sqlite/sqlite_store.ts";

Deno.test("fastchat balance on a port in use exits 1 and writes no server to the database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_balance_test_" });
  const held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (held.addr as Deno.NetAddr).port;
    const servers = join(dir, "servers.txt");
    await Deno.writeTextFile(servers, `7 127.0.0.1 ${freePort()}\n`);
    const db = join(dir, "fastchat.db");
    const { cmd, args } = selfCommand([
      "balance",
      "--strategy",
      "load",
      "--port",
      String(port),
      "--servers",
      servers,
      "--db",
      db,
    ]);
    const out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.match(
      stderr,
      new RegExp(`^fastchat balance: cannot listen on 127\\.0\\.0\\.1:${port}: `),
    );
    const store = await openSqliteStore(db);
    try {
      assert.deepEqual(await store.listServers(), [], "no server registered");
    } finally {
      await store.close();
    }
  } finally {
    held.close();
    await Deno.remove(dir, { recursive: true });
  }
});
