/**
 * Real-process tests of `fastchat balance`: the balancer runs as a child process on a
 * temporary SQLite database, and this test plays the chat servers by writing their load
 * reports into that database, exactly as servers do.
 */

import assert from "node:assert/strict";
import { freePort } from "../core/cluster/free_port.ts";
import { join } from "node:path";
import { openSqliteStore, type SqliteStore } from "../core/store/sqlite/sqlite_store.ts";
import { until, untilAsync } from "./helpers/wait.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const HOST = "127.0.0.1";

/** A temp dir with servers.txt listing 3 servers and a database that knows them. */
async function _cluster(): Promise<
  { dir: string; servers: string; db: string; store: SqliteStore }
> {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_balance_test_" });
  const servers = join(dir, "servers.txt");
  const db = join(dir, "fastchat.db");
  const ids = [1, 2, 3];
  const ports = ids.map(() => freePort());
  await Deno.writeTextFile(
    servers,
    "# test cluster\n" + ids.map((id, i) => `${id} ${HOST} ${ports[i]}`).join("\n") + "\n",
  );
  const store = await openSqliteStore(db);
  for (const [i, id] of ids.entries()) {
    await store.upsertServer({ id, host: HOST, port: ports[i]! });
  }
  return { dir, servers, db, store };
}

/** Simulated chat servers: each live one writes a load report every 500 ms. */
class _Reporter {
  readonly loads = new Map<number, { clients: number; lagMs: number }>();
  readonly #store: SqliteStore;
  readonly #timer: ReturnType<typeof setInterval>;
  #paused = false;

  constructor(store: SqliteStore, loads: Record<number, { clients: number; lagMs: number }>) {
    this.#store = store;
    for (const [id, load] of Object.entries(loads)) this.loads.set(Number(id), load);
    this.#timer = setInterval(() => this.report(), 500);
  }

  /** Writes a report for every running server now. */
  async report(): Promise<void> {
    if (this.#paused) return;
    const at = Date.now();
    for (const [id, load] of this.loads) {
      await this.#store.reportLoad(id, load, at);
    }
  }

  /** The server stops reporting, as if it crashed. */
  stop(id: number): void {
    this.loads.delete(id);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

/** A `fastchat balance` child process. */
class _Balancer {
  readonly #child: Deno.ChildProcess;
  readonly #out: Promise<void>;
  readonly #err: Promise<void>;
  #exited: Deno.CommandStatus | null = null;
  readonly #status: Promise<Deno.CommandStatus>;
  stdout = "";
  stderr = "";

  constructor(args: string[]) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "balance", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#out = this.#collect(this.#child.stdout, (t) => this.stdout += t);
    this.#err = this.#collect(this.#child.stderr, (t) => this.stderr += t);
    this.#status = this.#child.status.then((s) => this.#exited = s);
  }

  async #collect(stream: ReadableStream<Uint8Array>, add: (t: string) => void): Promise<void> {
    for await (const t of stream.pipeThrough(new TextDecoderStream())) add(t);
  }

  /** Waits for the "listening" line and returns the port it names. */
  async listening(strategy: string): Promise<number> {
    const re = new RegExp(
      `^balancer listening on http://127\\.0\\.0\\.1:(\\d+) strategy=${strategy}$`,
      "m",
    );
    try {
      await until(
        () => re.test(this.stdout) || this.#exited !== null,
        "the listening line",
        20_000,
      );
    } catch {
      // timed out: reported below with the output
    }
    const m = re.exec(this.stdout);
    if (m) return Number(m[1]);
    throw new Error(`Balancer did not start; stdout: ${this.stdout}; stderr: ${this.stderr}`);
  }

  /** Sends `signal` and waits for the process and its output to end. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    if (this.#exited === null) this.#child.kill(signal);
    const timer = setTimeout(() => {
      if (this.#exited === null) this.#child.kill("SIGKILL");
    }, 5000);
    try {
      const status = await this.#status;
      await Promise.all([this.#out, this.#err]);
      return status;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function _assign(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${HOST}:${port}/assign`);
  return { status: res.status, body: await res.json() };
}

async function _assignIds(port: number, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await _assign(port);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    ids.push(r.body.id as number);
  }
  return ids;
}

async function _status(
  port: number,
): Promise<{ live: number; servers: Record<string, unknown>[] }> {
  const res = await fetch(`http://${HOST}:${port}/`, { headers: { accept: "application/json" } });
  assert.equal(res.status, 200);
  return await res.json();
}

/** Runs `fn` with a temp cluster, optional reporter and a balancer child; cleans up always. */
async function _withBalancer(
  strategy: string,
  loads: Record<number, { clients: number; lagMs: number }> | null,
  fn: (ctx: { port: number; reporter: _Reporter | null; balancer: _Balancer }) => Promise<void>,
  stopSignal: Deno.Signal = "SIGTERM",
): Promise<void> {
  const { dir, servers, db, store } = await _cluster();
  let reporter: _Reporter | null = null;
  let balancer: _Balancer | null = null;
  try {
    if (loads !== null) {
      reporter = new _Reporter(store, loads);
      await reporter.report();
    }
    const port = freePort();
    balancer = new _Balancer([
      "--strategy",
      strategy,
      "--port",
      String(port),
      "--host",
      HOST,
      "--servers",
      servers,
      "--db",
      db,
    ]);
    assert.equal(await balancer.listening(strategy), port);
    await fn({ port, reporter, balancer });
    const status = await balancer.stop(stopSignal);
    assert.equal(status.code, 0, `exit status after ${stopSignal}; stderr: ${balancer.stderr}`);
  } finally {
    reporter?.close();
    await balancer?.stop("SIGKILL");
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const _IDLE = { clients: 0, lagMs: 0 };

Deno.test("fastchat balance --strategy round-robin rotates, skips a silent server, 503s when all are silent", async () => {
  await _withBalancer(
    "round-robin",
    { 1: _IDLE, 2: _IDLE, 3: _IDLE },
    async ({ port, reporter }) => {
      assert.deepEqual(await _assignIds(port, 6), [1, 2, 3, 1, 2, 3]);

      // Server 2 stops reporting; servers 1 and 3 go on until it counts as dead (3 s).
      reporter!.stop(2);
      await untilAsync(async () => (await _status(port)).live === 2, "server 2 counted dead");
      const ids = await _assignIds(port, 6);
      assert.ok(!ids.includes(2), `stale server 2 was assigned: ${ids}`);
      assert.deepEqual([...new Set(ids)].sort(), [1, 3]);
      const mid = await _status(port);
      assert.deepEqual(mid.servers.map((s) => s.live), [true, false, true]);

      // Then 1 and 3 stop too, until every report is older than 3 s.
      reporter!.stop(1);
      reporter!.stop(3);
      await untilAsync(async () => (await _status(port)).live === 0, "every server counted dead");
      const r = await _assign(port);
      assert.equal(r.status, 503);
      assert.equal(r.body.error, "no_live_server");
      assert.equal((await _status(port)).live, 0);
    },
  );
});

Deno.test("fastchat balance --strategy load picks the least loaded server, weighs lag, spreads a burst", async () => {
  const loads = {
    1: { clients: 50, lagMs: 0 },
    2: { clients: 5, lagMs: 0 },
    3: { clients: 30, lagMs: 0 },
  };
  await _withBalancer("load", loads, async ({ port, reporter }) => {
    // 5 + 10 assigned stays below 30.
    assert.deepEqual(await _assignIds(port, 10), Array(10).fill(2));

    // Server 2 starts lagging 100 ms: score 5 + 1000, so server 3 (30) is now the least loaded.
    reporter!.loads.set(2, { clients: 5, lagMs: 100 });
    await reporter!.report();
    await untilAsync(
      async () => (await _status(port)).servers[1]!.lagMs === 100,
      "the balancer to see the new report",
      3_000,
    );
    // No new reports during the burst, so only the balancer's own count changes the order.
    reporter!.pause();
    const burst = await _assignIds(port, 25);
    reporter!.resume();
    const count = (id: number) => burst.filter((x) => x === id).length;
    assert.equal(burst[0], 3);
    assert.equal(count(2), 0);
    assert.ok(count(3) >= 20, `server 3 got ${count(3)} of ${burst}`);
    assert.ok(count(1) >= 2, `server 1 got ${count(1)} of ${burst}`);
  });
});

Deno.test("fastchat balance --strategy random covers every live server", async () => {
  await _withBalancer("random", { 1: _IDLE, 2: _IDLE, 3: _IDLE }, async ({ port }) => {
    const ids = await _assignIds(port, 300);
    for (const id of [1, 2, 3]) {
      const n = ids.filter((x) => x === id).length;
      // Mean 100, standard deviation ~8.
      assert.ok(n >= 50 && n <= 150, `server ${id} got ${n} of 300`);
    }
  });
});

Deno.test("fastchat balance lists servers that never reported and answers 503, then exits 0 on SIGINT", async () => {
  await _withBalancer("load", null, async ({ port }) => {
    const status = await _status(port);
    assert.equal(status.live, 0);
    assert.deepEqual(status.servers.map((s) => [s.id, s.live, s.reportAgeMs]), [
      [1, false, null],
      [2, false, null],
      [3, false, null],
    ]);
    const r = await _assign(port);
    assert.equal(r.status, 503);
    assert.equal(r.body.error, "no_live_server");
    const health = await fetch(`http://${HOST}:${port}/healthz`);
    assert.equal(await health.text(), "ok");
  }, "SIGINT");
});

async function _run(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "balance", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("fastchat balance with a bad or missing --strategy exits 2 listing the strategies", async () => {
  for (const args of [["--strategy", "fastest"], [], ["--strategy"]]) {
    const r = await _run(...args);
    assert.equal(r.code, 2, `args ${args}`);
    assert.match(r.stderr, /^fastchat balance: /);
    if (args.length !== 1) assert.match(r.stderr, /--strategy .*one of load, random, round-robin/);
    assert.equal(r.stdout, "");
  }
});

Deno.test("fastchat balance with a bad --port or unknown option exits 2", async () => {
  for (const args of [["--port", "99999"], ["--port", "x"], ["--bogus"], ["extra"]]) {
    const r = await _run("--strategy", "load", ...args);
    assert.equal(r.code, 2, `args ${args}: ${r.stderr}`);
    assert.match(r.stderr, /^fastchat balance: /);
  }
});

Deno.test("fastchat balance with a missing servers file exits 1 naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_balance_test_" });
  try {
    const missing = join(dir, "nope.txt");
    const r = await _run("--strategy", "load", "--servers", missing, "--db", join(dir, "db"));
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`${missing}: file not found`), r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fastchat balance --help prints its usage and exits 0", async () => {
  const r = await _run("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: fastchat balance --strategy STRATEGY/);
  assert.match(r.stdout, /round-robin/);
});
