/**
 * `fastchat up` as a user runs it: a real process that starts the balancer and servers,
 * serves clients through the balancer, lets the balancer's web pages (and the origins given
 * to it) open WebSockets to the servers, and stops every child on SIGTERM. A second `up` on
 * the same data directory or ports refuses at once; children stop when `up` is killed; and
 * the cluster survives its Deno binary being replaced (and missing for a while) under it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ProtocolClient } from "../core/client/transport/protocol_client.ts";
import { CHILD_PERMISSIONS } from "../core/cluster/self_command.ts";
import { randomBytes, toBase64Url } from "../core/crypto/bytes.ts";
import { freePort, Proc, TEST_RSA_PUBLIC_KEY, testEachBackend, until } from "./helpers/cluster.ts";
import { freshPostgresDatabase } from "./helpers/postgres.ts";
import { openStore } from "../core/store/open_store.ts";
import { readResponseHead, upgradeRequest } from "./helpers/raw_ws.ts";
import { untilAsync } from "./helpers/wait.ts";

/** The status of a WebSocket upgrade to a server on `port` with `origin` (none if undefined). */
async function _upgradeStatus(port: number, origin?: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(upgradeRequest("/ws", { Origin: origin })));
    return (await readResponseHead(conn)).status;
  } finally {
    conn.close();
  }
}

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
      "--allowed-origins",
      "https://chat.example.org",
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

      // Every server lets pages from the balancer (and the origin given to up) connect,
      // refuses other pages with 403, and serves clients that send no Origin.
      for (const port of ports) {
        for (
          const origin of [
            `http://127.0.0.1:${balancerPort}`,
            `http://localhost:${balancerPort}`,
            "https://chat.example.org",
            undefined,
          ]
        ) {
          assert.equal(await _upgradeStatus(port, origin), 101, `${port} ${origin}`);
        }
        for (const origin of ["https://evil.example", `http://127.0.0.1:${port}`, "null"]) {
          assert.equal(await _upgradeStatus(port, origin), 403, `${port} ${origin}`);
        }
      }

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
    const origin = new Proc("up", ["up", "--allowed-origins", "chat.example.org", "--data", dir]);
    assert.equal((await origin.done).code, 2);
    assert.match(
      origin.output,
      /fastchat up: --allowed-origins: "chat\.example\.org" is not an origin; expected scheme:\/\/host\[:port\]/,
    );
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

/** A temp dir with a servers file of `n` free ports, a data dir path and a balancer port. */
async function _setup(n: number) {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_up_" });
  const ports = Array.from({ length: n }, () => freePort());
  const serversFile = join(dir, "servers.txt");
  await Deno.writeTextFile(serversFile, ports.map((p, i) => `${i + 1} 127.0.0.1 ${p}`).join("\n"));
  return { dir, ports, serversFile, data: join(dir, "data"), balancerPort: freePort() };
}

function _upArgs(c: { serversFile: string; data: string; balancerPort: number }): string[] {
  return [
    "up",
    "--servers",
    c.serversFile,
    "--data",
    c.data,
    "--strategy",
    "round-robin",
    "--balancer-port",
    String(c.balancerPort),
    "--log-level",
    "warn",
    "--scrypt-n",
    "1024",
  ];
}

/** What the tests need of a started `up`: {@linkcode Proc} or {@linkcode _ExeProc}. */
interface _Up {
  readonly child: Deno.ChildProcess;
  readonly output: string;
  readonly exited: boolean;
}

/** `fastchat up` run by a given executable (a copy of deno), output captured like `Proc`. */
class _ExeProc implements _Up {
  readonly child: Deno.ChildProcess;
  output = "";
  exited = false;
  readonly done: Promise<Deno.CommandStatus>;

  constructor(cmd: string, args: string[]) {
    this.child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .spawn();
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
}

async function _ready(up: _Up): Promise<void> {
  await until(
    () => up.output.includes("Press Ctrl-C to stop.") || up.exited,
    "fastchat up to be ready",
    30_000,
  );
  assert.ok(!up.exited, `fastchat up exited early:\n${up.output}`);
}

/** The process's exit status, or a failure if it still runs after `ms`. */
async function _exitWithin(p: Proc, ms: number): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${p.name} still running after ${ms} ms:\n${p.output}`)),
      ms,
    );
  });
  try {
    return await Promise.race([p.done, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks an async condition every 100 ms until it holds; throws naming `what` after `ms`. */
function _eventually(cond: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  return untilAsync(cond, what, ms, 100);
}

async function _healthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, {
      signal: AbortSignal.timeout(1_000),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** The live child processes of `pid` by role (`server N`, `balancer`), read from /proc. */
async function _children(pid: number): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for await (const e of Deno.readDir("/proc")) {
    if (!/^[0-9]+$/.test(e.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${e.name}/stat`);
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(ppid) !== pid || state === "Z") continue;
      const args = (await Deno.readTextFile(`/proc/${e.name}/cmdline`)).split("\0");
      const id = args.indexOf("--id");
      found.set(id >= 0 ? `server ${args[id + 1]}` : "balancer", Number(e.name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** True while `pid` runs and its command line mentions `marker` (so a reused PID is not it). */
async function _running(pid: number, marker: string): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    return (await Deno.readTextFile(`/proc/${pid}/cmdline`)).includes(marker);
  } catch {
    return false;
  }
}

/** SIGKILLs `up` and every process in `pids` (or its current children) still running. */
async function _killAll(up: _Up, marker: string, pids: Iterable<number> = []): Promise<void> {
  const all = new Set(pids);
  if (!up.exited) { for (const pid of (await _children(up.child.pid)).values()) all.add(pid); }
  try {
    up.child.kill("SIGKILL");
  } catch {
    // gone
  }
  for (const pid of all) {
    if (await _running(pid, marker)) Deno.kill(pid, "SIGKILL");
  }
  await up.child.status;
}

async function _user(balancerPort: number, name: string, clients: ProtocolClient[]) {
  const a = await (await fetch(`http://127.0.0.1:${balancerPort}/assign`)).json();
  const client = await ProtocolClient.connect(a.url);
  clients.push(client);
  const reg = await client.register(
    name,
    "password123",
    TEST_RSA_PUBLIC_KEY,
    toBase64Url(randomBytes(32), false),
  );
  return { client, id: reg.user_id, server: a.id as number };
}

Deno.test("fastchat up refuses at once when another up holds the data directory, and the running cluster keeps working", async () => {
  const c = await _setup(2);
  const first = new Proc("first up", _upArgs(c));
  let second: Proc | null = null;
  const clients: ProtocolClient[] = [];
  try {
    await _ready(first);
    // Two users on the two servers (round-robin), once both servers have reported.
    await _eventually(
      async () => {
        const res = await fetch(`http://127.0.0.1:${c.balancerPort}/`, {
          headers: { accept: "application/json" },
        });
        return (await res.json()).live === 2;
      },
      "both servers to report",
      10_000,
    );
    const ann = await _user(c.balancerPort, "ann", clients);
    const ben = await _user(c.balancerPort, "ben", clients);
    assert.notEqual(ann.server, ben.server, "the users are on different servers");

    second = new Proc("second up", _upArgs(c));
    const status = await _exitWithin(second, 10_000);
    assert.equal(status.code, 1, second.output);
    assert.equal(
      second.output,
      `fastchat up: the data directory ${c.data} is in use by another fastchat up ` +
        `(pid ${first.child.pid}, lock ${c.data}/up.lock)\n`,
    );

    // The first cluster did not notice: every process healthy, nothing restarted, and a
    // message between its servers still arrives.
    for (const port of [...c.ports, c.balancerPort]) assert.ok(await _healthy(port), `${port}`);
    const got: string[] = [];
    ben.client.onMessage = (m) => got.push(m.body);
    await ann.client.send(ben.id, "still here");
    await until(() => got.length === 1, "the message");
    assert.deepEqual(got, ["still here"]);
    assert.doesNotMatch(first.output, /exited|could not start/);

    first.kill("SIGTERM");
    assert.equal((await first.done).code, 0, first.output);
  } finally {
    for (const cl of clients) await cl.close();
    if (second) await _killAll(second, c.dir);
    await _killAll(first, c.dir);
    await first.done;
    await Deno.remove(c.dir, { recursive: true });
  }
});

Deno.test("fastchat up refuses at once, naming the port, when another cluster listens on its ports", async () => {
  const c = await _setup(2);
  const first = new Proc("first up", _upArgs(c));
  const others: Proc[] = [];
  const dirs = [c.dir];
  try {
    await _ready(first);
    // Same servers, another data directory: server 1's port is the first one taken.
    const sameServers = { ...c, data: join(c.dir, "data2") };
    const second = new Proc("second up", _upArgs(sameServers));
    others.push(second);
    assert.equal((await _exitWithin(second, 10_000)).code, 1, second.output);
    assert.equal(
      second.output,
      `fastchat up: port ${c.ports[0]} (server 1, 127.0.0.1) is in use; ` +
        "is another cluster running?\n",
    );
    // It wrote no secret and no database: it stopped before touching anything.
    assert.deepEqual([...Deno.readDirSync(sameServers.data)].map((e) => e.name), ["up.lock"]);

    // Free server ports, the first cluster's balancer port.
    const elsewhere = await _setup(1);
    dirs.push(elsewhere.dir);
    const third = new Proc("third up", _upArgs({ ...elsewhere, balancerPort: c.balancerPort }));
    others.push(third);
    assert.equal((await _exitWithin(third, 10_000)).code, 1, third.output);
    assert.match(
      third.output,
      new RegExp(
        `^fastchat up: port ${c.balancerPort} \\(balancer, 127\\.0\\.0\\.1\\) is in use; ` +
          "is another cluster running\\?\n$",
      ),
    );
    for (const p of others) assert.doesNotMatch(p.output, /FastChat is up/);

    for (const port of [...c.ports, c.balancerPort]) assert.ok(await _healthy(port), `${port}`);
    assert.doesNotMatch(first.output, /exited|could not start/);
    first.kill("SIGTERM");
    assert.equal((await first.done).code, 0, first.output);
  } finally {
    for (const p of others) await _killAll(p, "fastchat_up_");
    await _killAll(first, c.dir);
    await first.done;
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fastchat up's children stop within seconds when up is killed with SIGKILL", async () => {
  const c = await _setup(2);
  const up = new Proc("up", _upArgs(c));
  let pids: number[] = [];
  try {
    await _ready(up);
    pids = [...(await _children(up.child.pid)).values()];
    assert.equal(pids.length, 3, "two servers and the balancer");
    // Children get a fixed glibc mmap threshold, so freed scrypt scratch goes back to the OS.
    for (const pid of pids) {
      const environ = (await Deno.readTextFile(`/proc/${pid}/environ`)).split("\0");
      assert.ok(environ.includes("MALLOC_MMAP_THRESHOLD_=131072"), `environment of ${pid}`);
    }

    up.kill("SIGKILL");
    await up.child.status;
    await _eventually(
      async () => {
        for (const port of [...c.ports, c.balancerPort]) if (await _listening(port)) return false;
        for (const pid of pids) if (await _running(pid, c.dir)) return false;
        return true;
      },
      "every child to exit",
      10_000,
    );
    await up.done; // the output pipes close once the last child is gone
    assert.match(up.output, /server 1 stopping: its supervisor \(fastchat up\) is gone/);
    assert.match(up.output, /balance: stopping: its supervisor \(fastchat up\) is gone/);
  } finally {
    await _killAll(up, c.dir, pids);
    await up.done;
    await Deno.remove(c.dir, { recursive: true });
  }
});

/** Writes the deno binary to `path` anew, as `npm ci` does: a new file, mode 755. */
async function _install(real: string, path: string): Promise<void> {
  await Deno.copyFile(real, `${path}.new`);
  await Deno.chmod(`${path}.new`, 0o755);
  await Deno.rename(`${path}.new`, path);
}

Deno.test("fastchat up restarts a killed server after its deno binary was replaced, and retries while it is missing", async () => {
  const c = await _setup(2);
  const repo = fileURLToPath(new URL("../", import.meta.url));
  const real = await Deno.realPath(join(repo, "node_modules/.bin/deno"));
  const copy = join(c.dir, "deno");
  await _install(real, copy);
  const up = new _ExeProc(copy, [
    "run",
    "--quiet",
    `--config=${join(repo, "deno.json")}`,
    ...CHILD_PERMISSIONS,
    join(repo, "main.ts"),
    ..._upArgs(c),
  ]);
  const seen = new Set<number>();
  const children = async () => {
    const now = await _children(up.child.pid);
    for (const pid of now.values()) seen.add(pid);
    return now;
  };
  /** Waits until `role` runs as a new child of `up` (not `old`) and its port is healthy. */
  const back = async (role: string, old: number, port: number) => {
    await _eventually(
      async () => {
        if (up.exited) throw new Error(`fastchat up died:\n${up.output}`);
        const pid = (await children()).get(role);
        return pid !== undefined && pid !== old && await _healthy(port);
      },
      `${role} to come back`,
      20_000,
    );
  };
  try {
    await _ready(up);
    const before = await children();
    assert.equal(before.size, 3);

    // npm ci under the running cluster: the binary is unlinked and written anew. up's own
    // executable now reads "<copy> (deleted)"; the restart must run the new file.
    await Deno.remove(copy);
    await _install(real, copy);
    Deno.kill(before.get("server 1")!, "SIGKILL");
    await back("server 1", before.get("server 1")!, c.ports[0]!);
    const now = await children();
    assert.equal(await Deno.readLink(`/proc/${now.get("server 1")}/exe`), copy);
    assert.equal(now.get("server 2"), before.get("server 2"), "server 2 untouched");
    assert.equal(now.get("balancer"), before.get("balancer"), "balancer untouched");

    // The binary is missing for a while: the failed spawn is printed and retried.
    await Deno.remove(copy);
    Deno.kill(before.get("server 2")!, "SIGKILL");
    await until(
      () => /fastchat up: could not start server 2 \(.+\); retrying in \d+ ms/.test(up.output),
      "the failed spawn to be reported",
      15_000,
    );
    assert.ok(!up.exited, up.output);
    await _install(real, copy);
    await back("server 2", before.get("server 2")!, c.ports[1]!);
    const after = await children();
    assert.equal(after.get("server 1"), now.get("server 1"), "server 1 untouched");
    assert.equal(after.get("balancer"), before.get("balancer"), "balancer untouched");
    assert.ok(await _healthy(c.balancerPort));

    up.child.kill("SIGTERM");
    assert.equal((await up.done).code, 0, up.output);
    assert.match(up.output, /FastChat stopped\./);
  } finally {
    await _killAll(up, c.dir, seen);
    await up.done;
    await Deno.remove(c.dir, { recursive: true });
  }
});

Deno.test("fastchat up fails at once, naming the child, when one exits during startup", async () => {
  const c = await _setup(2);
  // A database path under a regular file: every child fails to create it and exits 1.
  await Deno.writeTextFile(join(c.dir, "file"), "");
  const up = new Proc("up", [..._upArgs(c), "--db", join(c.dir, "file", "fastchat.db")]);
  try {
    assert.equal((await _exitWithin(up, 15_000)).code, 1, up.output);
    assert.match(
      up.output,
      /\nfastchat up: (server \d|balancer) exited during startup \(code 1\); stopped the cluster\n$/,
    );
    assert.doesNotMatch(up.output, /FastChat is up|restarting/);
    for (const port of [...c.ports, c.balancerPort]) assert.equal(await _listening(port), false);
  } finally {
    await _killAll(up, c.dir);
    await up.done;
    await Deno.remove(c.dir, { recursive: true });
  }
});

/** Waits until every server of `c` reports links to all the others. */
async function _meshed(c: { ports: number[] }): Promise<void> {
  await _eventually(
    async () => {
      for (const port of c.ports) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/healthz`);
          if ((await res.json()).peer_links !== c.ports.length - 1) return false;
        } catch {
          return false;
        }
      }
      return true;
    },
    "every server to link to the others",
    10_000,
  );
}

Deno.test("fastchat up prints its summary last, with each process's PID, and its children's start-up lines stay quiet", async () => {
  const c = await _setup(3);
  // The default log level: no --log-level.
  const args = _upArgs(c).filter((a, i, all) =>
    a !== "--log-level" && all[i - 1] !== "--log-level"
  );
  const up = new Proc("up", args);
  let pids: number[] = [];
  try {
    await _ready(up);
    await _meshed(c);
    const children = await _children(up.child.pid);
    pids = [...children.values()];
    const lines = up.output.trimEnd().split("\n");
    const start = lines.indexOf(`FastChat is up: 3 server(s), strategy round-robin`);
    assert.ok(start >= 1, up.output);
    assert.equal(lines[start - 1], "", "a blank line sets the summary apart");
    const summary = lines.slice(start);
    assert.equal(summary.at(-1), "Press Ctrl-C to stop.", "the summary is the last thing printed");
    // Nothing else: no routine start-up lines from the children, no peer_link_closed.
    assert.deepEqual(lines.slice(0, start - 1), [], up.output);
    assert.doesNotMatch(up.output, /peer_link_closed|INFO|balancer listening/);
    const base = `http://127.0.0.1:${c.balancerPort}`;
    assert.ok(summary.includes(`  web       ${base}/  (open it in a browser to chat)`), up.output);
    assert.ok(
      summary.includes(
        `  balancer  ${base}  pid ${children.get("balancer")}  ` +
          `(clients ask GET ${base}/assign; status at /status)`,
      ),
      up.output,
    );
    for (const [i, port] of c.ports.entries()) {
      const pid = children.get(`server ${i + 1}`);
      assert.ok(pid !== undefined && await _running(pid, c.dir), `server ${i + 1} runs`);
      assert.ok(
        summary.includes(`  server ${i + 1}  ws://127.0.0.1:${port}/ws  pid ${pid}`),
        up.output,
      );
    }
    assert.ok(summary.includes(`  data      ${c.data}`), up.output);
    assert.ok(summary.includes(`  database  ${join(c.data, "fastchat.db")}`), up.output);

    // A clean stop is quiet too: peers shutting down are not warnings.
    up.kill("SIGTERM");
    assert.equal((await up.done).code, 0, up.output);
    assert.deepEqual(up.output.trimEnd().split("\n").slice(lines.length), ["FastChat stopped."]);
  } finally {
    await _killAll(up, c.dir, pids);
    await up.done;
    await Deno.remove(c.dir, { recursive: true });
  }
});

Deno.test("fastchat up --verbose shows the children's events but no peer_link_closed while the cluster starts", async () => {
  const c = await _setup(3);
  const args = _upArgs(c).filter((a, i, all) =>
    a !== "--log-level" && all[i - 1] !== "--log-level"
  );
  const up = new Proc("up", [...args, "--verbose"]);
  try {
    await _ready(up);
    await _meshed(c);
    // Each server logs its own link to each peer once: 3 servers x 2 peers.
    await until(() => up.output.match(/ INFO peer_up /g)?.length === 6, "every peer_up line");
    assert.match(up.output, / INFO server_listening server=1 /);
    assert.match(up.output, /balancer listening on /);
    assert.doesNotMatch(up.output, /peer_link_closed|peer_down|WARN|ERROR/);
    assert.match(up.output, /\nFastChat is up: 3 server\(s\)/);
    up.kill("SIGTERM");
    assert.equal((await up.done).code, 0, up.output);
  } finally {
    await _killAll(up, c.dir);
    await up.done;
    await Deno.remove(c.dir, { recursive: true });
  }
});
