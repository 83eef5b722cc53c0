/**
 * A throw-away PostgreSQL server in a temporary directory, for tests and `fastchat bench`:
 * `initdb`, then `pg_ctl start` on a free port, and on `stop()` (or when this process ends,
 * even by SIGKILL) the server is stopped and its directory removed.
 *
 * PostgreSQL refuses to run as root, so when this process is root (tests in CI), the
 * server runs as the `postgres` user that Debian's package creates.
 *
 * @module
 */

import { join } from "node:path";
import postgres from "postgres";
import { freePort } from "../cluster/free_port.ts";

/** Where to look for PostgreSQL's programs, newest version first (Debian's layout). */
const _PG_ROOT = "/usr/lib/postgresql";

/** The environment variable that names PostgreSQL's `bin` directory instead. */
export const PG_BIN_ENV = "FASTCHAT_PG_BIN";

/** What {@linkcode startLocalPostgres} takes. */
export interface LocalPostgresOptions {
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default: a free one on 127.0.0.1). */
  readonly port?: number;
  /**
   * fsync at commit, as in production (default true). Tests turn it off to create
   * databases faster; benchmarks must keep it.
   */
  readonly durable?: boolean;
  /** `max_connections` (default 200). */
  readonly maxConnections?: number;
  /**
   * A command prefix for starting the server, e.g. `["ip", "netns", "exec", "db"]` to run it
   * inside a network namespace.
   */
  readonly wrap?: readonly string[];
}

/** A running throw-away PostgreSQL server. */
export interface LocalPostgres {
  readonly host: string;
  readonly port: number;
  /** The data directory's parent (removed by `stop()`). */
  readonly dir: string;
  /** A URL for database `db` (default `postgres`) as the superuser `fc`. */
  url(db?: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and removes its directory; harmless when repeated. */
  stop(): Promise<void>;
}

/** PostgreSQL's `bin` directory, or a clear Error saying how to install it. */
export async function postgresBinDir(): Promise<string> {
  const fromEnv = _env(PG_BIN_ENV);
  if (fromEnv) return fromEnv;
  const versions: number[] = [];
  try {
    for await (const e of Deno.readDir(_PG_ROOT)) {
      if (e.isDirectory && /^[0-9]+$/.test(e.name)) versions.push(Number(e.name));
    }
  } catch {
    // not installed
  }
  for (const v of versions.sort((a, b) => b - a)) {
    const bin = join(_PG_ROOT, String(v), "bin");
    if (await _exists(join(bin, "initdb"))) return bin;
  }
  throw new Error(
    `PostgreSQL is not installed: no ${_PG_ROOT}/*/bin/initdb; install Debian's ` +
      `postgresql package (npm run setup does) or set ${PG_BIN_ENV}`,
  );
}

/** Starts a throw-away PostgreSQL server; see {@linkcode LocalPostgres}. */
export async function startLocalPostgres(opts: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const bin = await postgresBinDir();
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? freePort();
  const dir = await Deno.makeTempDir({ prefix: "fastchat_pg_" });
  const data = join(dir, "data");
  const asUser = Deno.uid() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  let watchdog: Deno.ChildProcess | null = null;
  let stopped = false;

  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    _run([...asUser, join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], true);
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // already gone
    }
    try {
      watchdog?.kill("SIGKILL");
    } catch {
      // already gone
    }
  };

  try {
    if (asUser.length > 0) await _run(["chown", "postgres:postgres", dir]);
    await Deno.chmod(dir, 0o700);
    await _run([
      ...asUser,
      join(bin, "initdb"),
      "-D",
      data,
      "-A",
      "trust",
      "-U",
      "fc",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ]);
    // initdb's "trust" covers local sockets and loopback only; a server listening on another
    // address (a test host in a network namespace) also trusts its own subnet.
    await Deno.writeTextFile(join(data, "pg_hba.conf"), "host all all samenet trust\n", {
      append: true,
    });
    const settings = [
      `-p ${port}`,
      `-k ${dir}`,
      `-c listen_addresses=${host}`,
      `-c max_connections=${opts.maxConnections ?? 200}`,
      ...(opts.durable === false ? ["-c fsync=off", "-c full_page_writes=off"] : []),
    ].join(" ");
    await _run([
      ...(opts.wrap ?? []),
      ...asUser,
      join(bin, "pg_ctl"),
      "-D",
      data,
      "-o",
      settings,
      "-l",
      join(dir, "server.log"),
      "-w",
      "-t",
      "30",
      "start",
    ]);
    watchdog = _startWatchdog(data, dir);
    globalThis.addEventListener("unload", stopSync);
  } catch (err) {
    stopSync();
    const log = await Deno.readTextFile(join(dir, "server.log")).catch(() => "");
    throw new Error(
      `Could not start PostgreSQL on ${host}:${port}: ${(err as Error).message}` +
        (log ? `\n${log.slice(-2000)}` : ""),
      { cause: err },
    );
  }

  const url = (db = "postgres") => `postgres://fc@${_urlHost(host)}:${port}/${db}`;
  return {
    host,
    port,
    dir,
    url,
    async createDatabase(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
        throw new TypeError(
          `A database name must be 1 to 63 of a-z, 0-9 and _, starting with a letter or _, ` +
            `got "${name}"`,
        );
      }
      // Over the Unix socket: the server may listen on an address only a network namespace
      // can reach.
      const sql = postgres({
        path: join(dir, `.s.PGSQL.${port}`),
        user: "fc",
        database: "postgres",
        max: 1,
        onnotice: () => {},
      });
      try {
        await sql.unsafe(`CREATE DATABASE ${name}`);
      } finally {
        await sql.end({ timeout: 5 });
      }
      return url(name);
    },
    stop(): Promise<void> {
      globalThis.removeEventListener("unload", stopSync);
      stopSync();
      return Promise.resolve();
    },
  };
}

/**
 * A detached shell that stops the server and removes its directory once this process is
 * gone, however it ended (SIGKILL skips every handler in this process).
 */
function _startWatchdog(data: string, dir: string): Deno.ChildProcess {
  const script = `while kill -0 ${Deno.pid} 2>/dev/null; do sleep 1; done
pid=$(head -n 1 "${data}/postmaster.pid" 2>/dev/null)
[ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null
sleep 1
rm -rf "${dir}"`;
  const child = new Deno.Command("setsid", {
    args: ["sh", "-c", script],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  return child;
}

/** Runs a command; throws with its output when it fails (unless `sync`, which never throws). */
function _run(argv: string[], sync: true): void;
function _run(argv: string[]): Promise<void>;
function _run(argv: string[], sync = false): Promise<void> | void {
  const [cmd, ...args] = argv as [string, ...string[]];
  const command = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" });
  if (sync) {
    try {
      command.outputSync();
    } catch {
      // best effort on the way out
    }
    return;
  }
  return command.output().then((out) => {
    if (out.success) return;
    const text = new TextDecoder().decode(out.stderr) || new TextDecoder().decode(out.stdout);
    throw new Error(`${argv.join(" ")} failed (exit ${out.code}): ${text.trim().slice(-1000)}`);
  });
}

async function _exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function _env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

function _urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
