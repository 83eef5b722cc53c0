/**
 * Real-process cluster fixtures for tests: free ports on 127.0.0.1, a temporary data dir,
 * `fastchat server` and `fastchat balance` child processes on either store backend (a
 * SQLite file, or a fresh database on the test suite's PostgreSQL), and registered protocol
 * clients. Everything started here is stopped by `stop()`.
 *
 * @module
 */

import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import postgres from "postgres";
import type { StoreBackend } from "../../core/store/open_store.ts";
import { postgresBinDir } from "../../core/bench/local_postgres.ts";
import { freshPostgresDatabase, testPostgres } from "./postgres.ts";
import { ProtocolClient } from "../../core/client/transport/protocol_client.ts";
import { randomBytes, toBase64Url } from "../../core/crypto/bytes.ts";
import { newClusterSecret } from "../../core/cluster/secret.ts";
import { selfCommand } from "../../core/cluster/self_command.ts";

/** A public key for test users (registration checks the key; generating one is slow). */
export const TEST_RSA_PUBLIC_KEY = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);

export { freePort } from "../../core/cluster/free_port.ts";
import { freePort } from "../../core/cluster/free_port.ts";

/** A started `fastchat` child process with its captured output. */
export class Proc {
  readonly child: Deno.ChildProcess;
  readonly name: string;
  output = "";
  /** True once the process has exited. */
  exited = false;
  readonly done: Promise<Deno.CommandStatus>;

  constructor(name: string, args: string[], env: Record<string, string> = {}) {
    this.name = name;
    const { cmd, args: full } = selfCommand(args);
    this.child = new Deno.Command(cmd, {
      args: full,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    const dec = new TextDecoder();
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s) this.output += dec.decode(chunk, { stream: true });
    };
    const pumps = Promise.all([pump(this.child.stdout), pump(this.child.stderr)]);
    this.done = this.child.status.then(async (st) => {
      this.exited = true;
      await pumps;
      return st;
    });
  }

  /** Sends a signal if the process is still running. */
  kill(sig: Deno.Signal = "SIGTERM"): void {
    try {
      this.child.kill(sig);
    } catch {
      // already gone
    }
  }
}

/** Polls `url` until it answers 200, or throws after `timeoutMs`. */
export async function waitHealthy(url: string, proc?: Proc, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  proc?.done.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${proc!.name} exited early:\n${proc!.output}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not healthy after ${timeoutMs} ms\n${proc?.output ?? ""}`);
}

export { until } from "./wait.ts";

// The suite's PostgreSQL starts when the first test module loads, so no test owns it.
await testPostgres();

/** Both store backends, for tests that run once on each. */
export const BACKENDS: readonly StoreBackend[] = ["sqlite", "postgres"];

/** Registers one test per store backend, named `${name} (${backend})`. */
export function testEachBackend(
  name: string,
  fn: (backend: StoreBackend) => Promise<void>,
): void {
  for (const backend of BACKENDS) Deno.test(`${name} (${backend})`, () => fn(backend));
}

/** What {@linkcode TestCluster.start} takes. */
export interface TestClusterOptions {
  /** Start a balancer with this strategy. */
  balancer?: string;
  /** The main database (default sqlite). */
  backend?: StoreBackend;
  /**
   * Servers' `--send-rate`: 0 (the default here) for none, as stress tests send as fast as
   * the server answers; "default" for the rate a real server applies.
   */
  sendRate?: number | "default";
}

/** A test cluster of N servers (and optionally a balancer) as real processes. */
export class TestCluster {
  readonly dir: string;
  readonly ports: number[];
  readonly serversFile: string;
  /** The main database as `openStore()` takes it: a SQLite path or a PostgreSQL URL. */
  readonly db: string;
  readonly backend: StoreBackend;
  readonly secretFile: string;
  readonly servers = new Map<number, Proc>();
  balancer: Proc | null = null;
  balancerPort = 0;
  readonly #clients: ProtocolClient[] = [];
  #sendRate: number | "default" = 0;

  private constructor(dir: string, ports: number[], backend: StoreBackend, db: string) {
    this.dir = dir;
    this.ports = ports;
    this.serversFile = join(dir, "servers.txt");
    this.backend = backend;
    this.db = db;
    this.secretFile = join(dir, "cluster.secret");
  }

  /**
   * Creates the files for `n` servers, starts them all, and waits until each is healthy and
   * linked to every other.
   */
  static async start(n: number, opts: TestClusterOptions = {}): Promise<TestCluster> {
    const dir = await Deno.makeTempDir({ prefix: "fastchat_test_" });
    const ports = Array.from({ length: n }, () => freePort());
    const backend = opts.backend ?? "sqlite";
    const db = backend === "postgres" ? await freshPostgresDatabase() : join(dir, "fastchat.db");
    const c = new TestCluster(dir, ports, backend, db);
    c.#sendRate = opts.sendRate ?? 0;
    // Known before the servers start, so they let pages served by the balancer connect.
    if (opts.balancer) c.balancerPort = freePort();
    await Deno.writeTextFile(
      c.serversFile,
      "# test cluster\n" + ports.map((p, i) => `${i + 1} 127.0.0.1 ${p}`).join("\n") + "\n",
    );
    await Deno.writeTextFile(c.secretFile, newClusterSecret() + "\n", { mode: 0o600 });
    try {
      for (let i = 1; i <= n; i++) c.startServer(i);
      for (let i = 1; i <= n; i++) await c.waitServer(i);
      await c.waitMesh();
      if (opts.balancer) await c.startBalancer(opts.balancer);
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  /** Starts (or restarts) server `id`. */
  startServer(id: number): Proc {
    const p = new Proc(`server ${id}`, [
      "server",
      "--id",
      String(id),
      "--servers",
      this.serversFile,
      "--db",
      this.db,
      "--secret-file",
      this.secretFile,
      "--scrypt-n",
      "1024",
      // Stress tests send as fast as the server answers; quotas are tested in process.
      ...(this.#sendRate === "default" ? [] : ["--send-rate", String(this.#sendRate)]),
      "--log-level",
      "warn",
      ...(this.balancerPort === 0 ? [] : [
        "--allowed-origins",
        `http://127.0.0.1:${this.balancerPort},http://localhost:${this.balancerPort}`,
      ]),
    ]);
    this.servers.set(id, p);
    return p;
  }

  /** Waits until server `id` answers /healthz. */
  waitServer(id: number): Promise<void> {
    return waitHealthy(`http://127.0.0.1:${this.port(id)}/healthz`, this.servers.get(id));
  }

  /** Waits until every running server is linked to every other one. */
  async waitMesh(timeoutMs = 10_000): Promise<void> {
    const want = this.ports.length - 1;
    const deadline = Date.now() + timeoutMs;
    for (const [id, proc] of this.servers) {
      if (proc.exited) continue;
      for (;;) {
        try {
          const res = await fetch(`http://127.0.0.1:${this.port(id)}/healthz`);
          const body = await res.json() as { peer_links?: number };
          if (body.peer_links === want) break;
        } catch {
          // not yet
        }
        if (Date.now() > deadline) throw new Error(`server ${id} did not link to its peers`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /**
   * Runs raw SQL on the cluster's database, as a misbehaving server could (tests only).
   * Parameters are written `$1`, `$2`, ... for both backends.
   */
  async query(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    if (this.backend === "postgres") {
      const pg = postgres(this.db, { max: 1, onnotice: () => {} });
      try {
        // deno-lint-ignore no-explicit-any
        return [...await pg.unsafe(sql, params as any[])];
      } finally {
        await pg.end();
      }
    }
    const raw = new DatabaseSync(this.db);
    // The servers write to the same file: wait for their lock rather than fail at once.
    raw.exec("PRAGMA busy_timeout = 10000");
    try {
      // deno-lint-ignore no-explicit-any
      return raw.prepare(sql.replace(/\$(\d+)/g, "?$1")).all(...params as any[]) as Record<
        string,
        unknown
      >[];
    } finally {
      raw.close();
    }
  }

  /**
   * Everything the database holds, as text to search: every byte of the SQLite files (the
   * database and its WAL), or a `pg_dump` of the PostgreSQL database's data.
   */
  async databaseText(): Promise<string> {
    if (this.backend === "postgres") {
      const out = await new Deno.Command(join(await postgresBinDir(), "pg_dump"), {
        args: ["--data-only", "--dbname", this.db],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
      return new TextDecoder().decode(out.stdout);
    }
    let text = "";
    for await (const entry of Deno.readDir(this.dir)) {
      if (entry.name.startsWith("fastchat.db")) {
        text += new TextDecoder("latin1").decode(await Deno.readFile(join(this.dir, entry.name)));
      }
    }
    return text;
  }

  /** Starts the balancer with a strategy. */
  async startBalancer(strategy: string): Promise<void> {
    if (this.balancerPort === 0) this.balancerPort = freePort();
    this.balancer = new Proc("balancer", [
      "balance",
      "--strategy",
      strategy,
      "--port",
      String(this.balancerPort),
      "--servers",
      this.serversFile,
      "--db",
      this.db,
    ]);
    await waitHealthy(`http://127.0.0.1:${this.balancerPort}/healthz`, this.balancer);
  }

  /** Server `id`'s port. */
  port(id: number): number {
    return this.ports[id - 1]!;
  }

  /** Server `id`'s client URL. */
  url(id: number): string {
    return `ws://127.0.0.1:${this.port(id)}/ws`;
  }

  /** Kills server `id` with a signal and waits for it to exit. */
  async kill(id: number, sig: Deno.Signal = "SIGKILL"): Promise<void> {
    const p = this.servers.get(id);
    if (!p) return;
    p.kill(sig);
    await p.done;
  }

  /** Connects a protocol client to server `id` (closed by `stop()`). */
  async connect(id: number, autoAck = true): Promise<ProtocolClient> {
    const c = await ProtocolClient.connect(this.url(id), { autoAck });
    this.#clients.push(c);
    return c;
  }

  /** Registers a new user on server `id` and returns the logged-in client. */
  async user(id: number, username: string, password = "correct horse 1") {
    const client = await this.connect(id);
    const reg = await client.register(
      username,
      password,
      TEST_RSA_PUBLIC_KEY,
      toBase64Url(randomBytes(32), false),
    );
    return { client, id: reg.user_id, token: reg.session_token };
  }

  /**
   * Stops every client and process, and removes the temp dir. Throws if a process that was
   * still running did not exit cleanly (code 0) on SIGTERM within 5 s.
   */
  async stop(): Promise<void> {
    await Promise.allSettled(this.#clients.map((c) => c.close()));
    // Every frame a server sent these clients obeyed the protocol it documents.
    const invalid = this.#clients.flatMap((c) => c.invalidFrames);
    const procs = [...this.servers.values(), ...(this.balancer ? [this.balancer] : [])];
    const running = procs.filter((p) => !p.exited);
    for (const p of running) p.kill("SIGTERM");
    const timer = setTimeout(() => running.forEach((p) => p.kill("SIGKILL")), 5000);
    const statuses = await Promise.all(running.map((p) => p.done));
    clearTimeout(timer);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    if (invalid.length > 0) {
      throw new Error(`The server sent frames that break the protocol: ${invalid.join("; ")}`);
    }
    const unclean = running.filter((_, i) => statuses[i]!.code !== 0);
    if (unclean.length > 0) {
      throw new Error(
        `Not stopped cleanly: ${unclean.map((p) => `${p.name}\n${p.output}`).join("\n")}`,
      );
    }
  }
}
