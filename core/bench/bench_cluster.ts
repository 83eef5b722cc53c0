/**
 * The cluster one benchmark strategy runs against: a temporary directory with servers.txt
 * (free ports on 127.0.0.1) and the main database (a SQLite file there, or a fresh
 * PostgreSQL database), and `fastchat up`'s supervisor starting
 * the balancer and N servers as child processes. Users register with scrypt N=1024, so
 * registration is cheap; it is not what the benchmark measures. `stop()` stops every child
 * and removes the directory.
 *
 * @module
 */

import { join } from "node:path";
import type { ServerEntry } from "../cluster/servers_file.ts";
import { type ClusterProcess, startCluster } from "../cluster/supervisor.ts";
import { BENCH_HOST, freePort } from "./async_util.ts";
import type { BenchStrategy } from "./options.ts";

/** The password-hashing cost benchmark users are registered with. */
export const BENCH_SCRYPT_N = 1024;

/** A running benchmark cluster. */
export interface BenchCluster {
  readonly strategy: BenchStrategy;
  readonly balancerUrl: string;
  readonly balancerPort: number;
  readonly servers: readonly ServerEntry[];
  /** The children now (to read their CPU and memory in /proc). */
  processes(): ClusterProcess[];
  /** Stops every child and removes the temporary directory; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts a balancer with `strategy` and `servers` chat servers on a fresh database. */
export async function startBenchCluster(opts: {
  servers: number;
  strategy: BenchStrategy;
  /** The main database; a SQLite file in the temporary directory when omitted. */
  db?: string;
  progress: (line: string) => void;
}): Promise<BenchCluster> {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_bench_" });
  const removeDir = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  const servers: ServerEntry[] = Array.from(
    { length: opts.servers },
    (_, i) => ({ id: i + 1, host: BENCH_HOST, port: freePort() }),
  );
  const serversFile = join(dir, "servers.txt");
  const balancerPort = freePort();
  let running;
  try {
    await Deno.writeTextFile(
      serversFile,
      "# fastchat bench\n" + servers.map((s) => `${s.id} ${s.host} ${s.port}`).join("\n") + "\n",
    );
    running = await startCluster({
      servers,
      serversFile,
      dataDir: join(dir, "data"),
      db: opts.db,
      strategy: opts.strategy,
      balancerHost: BENCH_HOST,
      balancerPort,
      logLevel: "warn",
      scryptN: BENCH_SCRYPT_N,
      // Every simulated client comes from 127.0.0.1.
      maxConnsPerAddr: 0,
      // It measures throughput: every client sends as fast as the cluster answers.
      sendRate: 0,
      print: opts.progress,
      childStdout: "stderr",
    });
  } catch (err) {
    await removeDir();
    throw err;
  }
  let stopped: Promise<void> | null = null;
  return {
    strategy: opts.strategy,
    balancerUrl: running.balancerUrl,
    balancerPort,
    servers,
    processes: () => running.processes(),
    stop: () => stopped ??= running.stop().then(removeDir),
  };
}
