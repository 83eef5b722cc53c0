/**
 * `fastchat up`: the local cluster. Starts the balancer and every server in the servers file
 * as child processes sharing one main database (embedded SQLite by default, or PostgreSQL), waits until each answers its
 * health check, restarts a child that dies, and on shutdown stops them all (SIGTERM, then
 * SIGKILL after a grace period).
 *
 * @module
 */

import { join } from "node:path";
import type { ServerEntry } from "./servers_file.ts";
import { ensureClusterSecret } from "./secret.ts";
import { selfCommand } from "./self_command.ts";

/** What the cluster runs. */
export interface ClusterOptions {
  servers: readonly ServerEntry[];
  serversFile: string;
  /** Where the cluster secret lives, and the SQLite database unless `db` says otherwise. */
  dataDir: string;
  /** The main database (a SQLite path or a postgres:// URL); default `DATA/fastchat.db`. */
  db?: string;
  strategy: string;
  balancerHost: string;
  balancerPort: number;
  logLevel: string;
  /** scrypt N for new passwords (tests use a small one). */
  scryptN?: number;
  /** Milliseconds to wait for every process to become healthy. */
  startTimeoutMs?: number;
  /** Where progress lines go (default: stdout). */
  print?: (line: string) => void;
  /**
   * Where the children's stdout goes: `"inherit"` (default) or `"stderr"`, copied to this
   * process's stderr so its own stdout stays clean (the benchmark's `--json`).
   */
  childStdout?: "inherit" | "stderr";
}

/** A child process of the cluster as it runs now. */
export interface ClusterProcess {
  /** `server N` or `balancer`. */
  readonly name: string;
  /** The server's ID; null for the balancer. */
  readonly serverId: number | null;
  /** The OS process ID (for /proc readings). */
  readonly pid: number;
}

/** A running cluster. */
export interface RunningCluster {
  readonly balancerUrl: string;
  /** The main database the children use (a SQLite path or a PostgreSQL URL). */
  readonly db: string;
  /** Stops every child; resolves when all have exited. */
  stop(): Promise<void>;
  /** Resolves when the cluster has stopped. */
  readonly finished: Promise<void>;
  /** The children running now (a restarted child shows its new PID). */
  processes(): ClusterProcess[];
}

interface _Child {
  name: string;
  serverId: number | null;
  args: string[];
  healthUrl: string;
  process: Deno.ChildProcess | null;
  restarts: number;
}

/** Starts the cluster and resolves once every process is healthy. */
export async function startCluster(opts: ClusterOptions): Promise<RunningCluster> {
  const print = opts.print ?? ((l: string) => console.log(l));
  await Deno.mkdir(opts.dataDir, { recursive: true });
  const db = opts.db ?? join(opts.dataDir, "fastchat.db");
  const secretFile = await ensureClusterSecret(join(opts.dataDir, "cluster.secret"));
  const common = ["--servers", opts.serversFile, "--db", db];
  const children: _Child[] = opts.servers.map((s) => ({
    name: `server ${s.id}`,
    serverId: s.id,
    args: [
      "server",
      "--id",
      String(s.id),
      ...common,
      "--secret-file",
      secretFile,
      "--log-level",
      opts.logLevel,
      ...(opts.scryptN ? ["--scrypt-n", String(opts.scryptN)] : []),
    ],
    healthUrl: `http://${_httpHost(s.host)}:${s.port}/healthz`,
    process: null,
    restarts: 0,
  }));
  children.push({
    name: "balancer",
    serverId: null,
    args: [
      "balance",
      "--strategy",
      opts.strategy,
      "--host",
      opts.balancerHost,
      "--port",
      String(opts.balancerPort),
      ...common,
    ],
    healthUrl: `http://${_httpHost(opts.balancerHost)}:${opts.balancerPort}/healthz`,
    process: null,
    restarts: 0,
  });

  let stopping = false;
  const done = Promise.withResolvers<void>();
  const exits: Promise<unknown>[] = [];

  const toStderr = opts.childStdout === "stderr";
  const spawn = (child: _Child) => {
    const { cmd, args } = selfCommand(child.args);
    const proc = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: toStderr ? "piped" : "inherit",
      stderr: "inherit",
    }).spawn();
    if (toStderr) void _copyToStderr(proc.stdout);
    child.process = proc;
    const exited = proc.status.then((status) => {
      if (child.process === proc) child.process = null;
      if (stopping) return;
      child.restarts++;
      const delay = Math.min(10_000, 500 * 2 ** Math.min(child.restarts - 1, 5));
      print(
        `fastchat up: ${child.name} exited (code ${status.code}${
          status.signal ? `, ${status.signal}` : ""
        }); restarting in ${delay} ms`,
      );
      setTimeout(() => {
        if (!stopping) spawn(child);
      }, delay);
    });
    exits.push(exited);
  };

  const stop = async () => {
    if (stopping) return done.promise;
    stopping = true;
    for (const c of children) _signal(c.process, "SIGTERM");
    const grace = setTimeout(() => {
      for (const c of children) _signal(c.process, "SIGKILL");
    }, 5_000);
    await Promise.allSettled(children.map((c) => c.process?.status));
    clearTimeout(grace);
    done.resolve();
  };

  // Servers first, so the balancer's first look finds them reporting.
  for (const c of children) spawn(c);
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  try {
    for (const c of children) await _waitHealthy(c, deadline);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    balancerUrl: `http://${_httpHost(opts.balancerHost)}:${opts.balancerPort}`,
    db,
    stop,
    finished: done.promise,
    processes: () =>
      children.flatMap((c) =>
        c.process ? [{ name: c.name, serverId: c.serverId, pid: c.process.pid }] : []
      ),
  };
}

async function _copyToStderr(stream: ReadableStream<Uint8Array>): Promise<void> {
  try {
    for await (const chunk of stream) {
      let rest = chunk;
      while (rest.length > 0) rest = rest.subarray(Deno.stderr.writeSync(rest));
    }
  } catch {
    // the child is gone
  }
}

async function _waitHealthy(child: _Child, deadline: number): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(child.healthUrl, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${child.name} did not become healthy at ${child.healthUrl} in time`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function _signal(proc: Deno.ChildProcess | null, sig: Deno.Signal): void {
  try {
    proc?.kill(sig);
  } catch {
    // already exited
  }
}

function _httpHost(host: string): string {
  return host === "0.0.0.0" ? "127.0.0.1" : host;
}
