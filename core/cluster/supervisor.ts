/**
 * `fastchat up`: the local cluster. Starts the balancer and every server in the servers file
 * as child processes sharing one main database (embedded SQLite by default, or PostgreSQL),
 * waits until each answers its health check (and, for a few seconds at most, until the
 * servers have linked to each other), restarts a child that dies, and on shutdown
 * stops them all (SIGTERM, then SIGKILL after a grace period).
 *
 * One cluster per data directory and per port: it takes `DATA/up.lock` and checks every
 * port before it starts anything, and a child that exits during startup fails the start.
 * Once up, a child that exits, or cannot even be spawned (its executable being replaced
 * under it), is retried with backoff; children read EOF on stdin when the supervisor is
 * gone and stop (`until_stopped.ts`).
 *
 * @module
 */

import { join } from "node:path";
import { Backoff } from "../async/backoff.ts";
import type { ServerEntry } from "./servers_file.ts";
import { balancerOrigins } from "./balancer_origins.ts";
import { ClusterError } from "./cluster_error.ts";
import { lockDataDir } from "./data_dir_lock.ts";
import { assertPortsFree } from "./port_check.ts";
import { ensureClusterSecret } from "./secret.ts";
import { selfCommand } from "./self_command.ts";
import { SUPERVISED_ENV } from "./until_stopped.ts";

/**
 * glibc malloc settings for children, unless this process's environment sets them. A fixed
 * mmap threshold turns off glibc's dynamic one, which rises after the first large block is
 * freed (each password hash's 1 MiB of scrypt scratch) and from then on keeps such blocks
 * in the heap after they are freed: measured, 28.5 KB of server memory per idle connection
 * at 20,000 connections without it, 18.8 KB with it. Other allocators ignore the variable.
 */
export function childMallocEnv(): Record<string, string> {
  let set: string | undefined;
  try {
    set = Deno.env.get(_MMAP_THRESHOLD);
  } catch {
    return {}; // no --allow-env: leave the children's environment alone
  }
  return set === undefined ? { [_MMAP_THRESHOLD]: String(128 * 1024) } : {};
}

const _MMAP_THRESHOLD = "MALLOC_MMAP_THRESHOLD_";

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
  /** Each server's cap on connections per address (0 = none); the server's default otherwise. */
  maxConnsPerAddr?: number;
  /** Each server's send rate per user (0 = no limit); the server's default otherwise. */
  sendRate?: number;
  /**
   * Origins of web pages that may open WebSockets to the servers besides the balancer's own
   * (`balancerOrigins`), which every server is always given.
   */
  allowedOrigins?: readonly string[];
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
  host: string;
  port: number;
  healthUrl: string;
  process: Deno.ChildProcess | null;
  restarts: number;
  /** Delays before restarts: 0.5 s doubling to 10 s, no jitter (one supervisor, few children). */
  backoff: Backoff;
}

/**
 * Starts the cluster and resolves once every process is healthy. Before it starts anything
 * it takes the data directory's lock and checks every port; it fails at once with a
 * {@linkcode ClusterError} when another cluster holds either, and when a child cannot be
 * spawned or exits before the cluster is up (stopping the others).
 */
export async function startCluster(opts: ClusterOptions): Promise<RunningCluster> {
  const out = opts.print ?? ((l: string) => console.log(l));
  // Called from timers and exit handlers: a closed stdout must not throw out of them.
  const print = (line: string) => {
    try {
      out(line);
    } catch {
      // nowhere to say it
    }
  };
  await Deno.mkdir(opts.dataDir, { recursive: true });
  const lock = await lockDataDir(opts.dataDir);
  let children: _Child[];
  try {
    children = _children(opts);
    assertPortsFree(children.map((c) => ({ owner: c.name, host: c.host, port: c.port })));
    const secretFile = await ensureClusterSecret(join(opts.dataDir, "cluster.secret"));
    for (const c of children) if (c.serverId !== null) c.args.push("--secret-file", secretFile);
  } catch (err) {
    lock.release();
    throw err;
  }

  let stopping = false;
  let started = false;
  let startupError: ClusterError | null = null;
  const startupFailed = Promise.withResolvers<never>();
  startupFailed.promise.catch(() => {});
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const done = Promise.withResolvers<void>();

  const toStderr = opts.childStdout === "stderr";
  /** Spawns `child`; throws when the executable cannot be started. */
  const spawn = (child: _Child) => {
    const { cmd, args } = selfCommand(child.args);
    const proc = new Deno.Command(cmd, {
      args,
      // Held open and never written: the child reads EOF once this process is gone.
      stdin: "piped",
      stdout: toStderr ? "piped" : "inherit",
      stderr: "inherit",
      env: { [SUPERVISED_ENV]: "1", ...childMallocEnv() },
    }).spawn();
    const stdin = proc.stdin.getWriter();
    if (toStderr) void _copyToStderr(proc.stdout);
    child.process = proc;
    void proc.status.then((status) => {
      stdin.close().catch(() => {});
      if (child.process === proc) child.process = null;
      if (stopping) return;
      const how = `code ${status.code}${status.signal ? `, ${status.signal}` : ""}`;
      if (!started) {
        startupError ??= new ClusterError(
          "child_exited",
          `${child.name} exited during startup (${how}); stopped the cluster`,
        );
        startupFailed.reject(startupError);
        return;
      }
      const delay = _nextDelay(child);
      print(`fastchat up: ${child.name} exited (${how}); restarting in ${delay} ms`);
      restartLater(child, delay);
    });
  };
  /** Spawns `child` after `delay` ms; a failed spawn is printed and retried, never thrown. */
  const restartLater = (child: _Child, delay: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (stopping) return;
      try {
        spawn(child);
      } catch (err) {
        const next = _nextDelay(child);
        print(
          `fastchat up: could not start ${child.name} (${(err as Error).message}); ` +
            `retrying in ${next} ms`,
        );
        restartLater(child, next);
      }
    }, delay);
    timers.add(timer);
  };

  const stop = async () => {
    if (stopping) return done.promise;
    stopping = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const c of children) _signal(c.process, "SIGTERM");
    const grace = setTimeout(() => {
      for (const c of children) _signal(c.process, "SIGKILL");
    }, 5_000);
    await Promise.allSettled(children.map((c) => c.process?.status));
    clearTimeout(grace);
    lock.release();
    done.resolve();
  };

  const health = new AbortController();
  try {
    // Servers first, so the balancer's first look finds them reporting.
    for (const c of children) {
      try {
        spawn(c);
      } catch (err) {
        throw new ClusterError(
          "spawn_failed",
          `could not start ${c.name}: ${(err as Error).message}`,
        );
      }
    }
    const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
    await Promise.race([
      Promise.all(children.map((c) => _waitHealthy(c, deadline, health.signal))),
      startupFailed.promise,
    ]);
    if (startupError) throw startupError;
    // Best effort, briefly: the servers link to each other within moments of listening.
    // Waiting for it lets the first message cross servers at once, and puts the servers'
    // link-up lines (at --log-level info) before what the caller prints next.
    await Promise.race([
      _waitMeshed(children, Math.min(deadline, Date.now() + 5_000), health.signal),
      startupFailed.promise,
    ]);
    if (startupError) throw startupError;
    started = true;
  } catch (err) {
    health.abort();
    await stop();
    throw err;
  }
  return {
    balancerUrl: `http://${_httpHost(opts.balancerHost)}:${opts.balancerPort}`,
    db: _db(opts),
    stop,
    finished: done.promise,
    processes: () =>
      children.flatMap((c) =>
        c.process ? [{ name: c.name, serverId: c.serverId, pid: c.process.pid }] : []
      ),
  };
}

/** The child processes to run (servers first); `--secret-file` is added later. */
function _children(opts: ClusterOptions): _Child[] {
  const common = ["--servers", opts.serversFile, "--db", _db(opts)];
  // Pages the balancer serves (the web client) may connect to every server.
  const origins = new Set([
    ...balancerOrigins(opts.balancerHost, opts.balancerPort),
    ...(opts.allowedOrigins ?? []),
  ]);
  const children: _Child[] = opts.servers.map((s) => ({
    name: `server ${s.id}`,
    serverId: s.id,
    args: [
      "server",
      "--id",
      String(s.id),
      ...common,
      "--log-level",
      opts.logLevel,
      "--allowed-origins",
      [...origins].join(","),
      ...(opts.scryptN ? ["--scrypt-n", String(opts.scryptN)] : []),
      ...(opts.maxConnsPerAddr !== undefined
        ? ["--max-conns-per-addr", String(opts.maxConnsPerAddr)]
        : []),
      ...(opts.sendRate !== undefined ? ["--send-rate", String(opts.sendRate)] : []),
    ],
    host: s.host,
    port: s.port,
    healthUrl: `http://${_httpHost(s.host)}:${s.port}/healthz`,
    process: null,
    restarts: 0,
    backoff: _restartBackoff(),
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
      "--log-level",
      opts.logLevel,
      ...common,
    ],
    host: opts.balancerHost,
    port: opts.balancerPort,
    healthUrl: `http://${_httpHost(opts.balancerHost)}:${opts.balancerPort}/healthz`,
    process: null,
    restarts: 0,
    backoff: _restartBackoff(),
  });
  return children;
}

function _db(opts: ClusterOptions): string {
  return opts.db ?? join(opts.dataDir, "fastchat.db");
}

/** Counts a restart of `child` and returns how long to wait before it: 0.5 s doubling to 10 s. */
function _nextDelay(child: _Child): number {
  child.restarts++;
  return child.backoff.next();
}

function _restartBackoff(): Backoff {
  return new Backoff({ firstMs: 500, maxMs: 10_000, jitter: 0 });
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

async function _waitHealthy(child: _Child, deadline: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    if (signal.aborted) return;
    try {
      const res = await fetch(child.healthUrl, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(1_000)]),
      });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new ClusterError(
        "unhealthy",
        `${child.name} did not become healthy at ${child.healthUrl} in time`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until every server reports a link to each other server, or until `deadline`. */
async function _waitMeshed(
  children: readonly _Child[],
  deadline: number,
  signal: AbortSignal,
): Promise<void> {
  const servers = children.filter((c) => c.serverId !== null);
  const linked = async (c: _Child) => {
    try {
      const res = await fetch(c.healthUrl, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(1_000)]),
      });
      const body = await res.json() as { peer_links?: number };
      return body.peer_links === servers.length - 1;
    } catch {
      return false;
    }
  };
  let waiting = servers;
  while (waiting.length > 0 && !signal.aborted && Date.now() < deadline) {
    const done = await Promise.all(waiting.map(linked));
    waiting = waiting.filter((_, i) => !done[i]);
    if (waiting.length > 0) await new Promise((r) => setTimeout(r, 50));
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
