/**
 * TLS: servers started with --tls-cert/--tls-key serve https:// and wss://, and their mesh
 * links run over wss:// (peers trust the test CA through DENO_CERT).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { newClusterSecret } from "../core/cluster/secret.ts";
import { freePort, Proc, until } from "./helpers/cluster.ts";

const TLS = new URL("./testdata/tls/", import.meta.url).pathname;

Deno.test("fastchat server with --tls-cert serves https and links peers over wss", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_tls_" });
  const ports = [freePort(), freePort()];
  const servers = join(dir, "servers.txt");
  await Deno.writeTextFile(servers, `1 127.0.0.1 ${ports[0]}\n2 127.0.0.1 ${ports[1]}\n`);
  const secret = join(dir, "cluster.secret");
  await Deno.writeTextFile(secret, newClusterSecret());
  const ca = await Deno.readTextFile(join(TLS, "ca.pem"));
  const client = Deno.createHttpClient({ caCerts: [ca] });
  const procs = [1, 2].map((id) =>
    new Proc(`server ${id}`, [
      "server",
      "--id",
      String(id),
      "--servers",
      servers,
      "--db",
      join(dir, "fastchat.db"),
      "--secret-file",
      secret,
      "--tls-cert",
      join(TLS, "server.pem"),
      "--tls-key",
      join(TLS, "server_key.pem"),
      "--log-level",
      "warn",
    ], { DENO_CERT: join(TLS, "ca.pem") })
  );
  try {
    const metrics = async (port: number) => {
      try {
        const res = await fetch(`https://127.0.0.1:${port}/metrics`, { client });
        return await res.text();
      } catch {
        return "";
      }
    };
    let m1 = "";
    let m2 = "";
    await until(
      () => {
        metrics(ports[0]!).then((t) => m1 = t);
        metrics(ports[1]!).then((t) => m2 = t);
        return /fastchat_peer_links\{server="1"\} 1/.test(m1) &&
          /fastchat_peer_links\{server="2"\} 1/.test(m2);
      },
      "both wss mesh links",
      20_000,
    );
    const health = await (await fetch(`https://127.0.0.1:${ports[0]}/healthz`, { client })).json();
    assert.equal(health.server_id, 1);
    // Plain HTTP is not served on a TLS port.
    const plain = await fetch(`http://127.0.0.1:${ports[0]}/healthz`, {
      signal: AbortSignal.timeout(3000),
    }).then(async (r) => {
      await r.body?.cancel();
      return r.status;
    }, () => "refused");
    assert.equal(plain, "refused");
  } finally {
    client.close();
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.done));
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fastchat server rejects --tls-cert without --tls-key", async () => {
  const p = new Proc("server", ["server", "--id", "1", "--tls-cert", join(TLS, "server.pem")]);
  assert.equal((await p.done).code, 2);
  assert.match(p.output, /--tls-cert and --tls-key go together/);
});
