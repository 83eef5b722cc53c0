/**
 * FastChat across separate hosts: a small network of Linux network namespaces joined by a
 * bridge (tests/helpers/netlab.ts), with PostgreSQL on one host, each of three servers on
 * its own host, the balancer on another and the clients on another. Addresses exist only
 * inside the namespaces; everything is torn down afterwards, also on failure.
 *
 * On it: real terminal clients chat end to end across hosts (direct, group, offline,
 * receipts); then, under load from a driver that reconnects and resends like a client, a
 * server host is cut off, two server hosts are partitioned from each other, a server hangs
 * (SIGSTOP for 10 s) and one is killed with SIGKILL. Nothing accepted may be lost or
 * duplicated, and the healthy servers must keep accepting every second.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { newClusterSecret } from "../core/cluster/secret.ts";
import { selfCommand } from "../core/cluster/self_command.ts";
import { type LocalPostgres, startLocalPostgres } from "../core/bench/local_postgres.ts";
import { ClientProc } from "./helpers/client_proc.ts";
import { type NetHost, NetLab, netlabUnavailable } from "./helpers/netlab.ts";

const _DRIVER = new URL("./helpers/chaos_driver.ts", import.meta.url).pathname;
const _SERVER_PORT = 7101;
const _BALANCER_PORT = 7100;

/** A process on a lab host, with its output kept for failure messages. */
class _HostProc {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  output = "";
  readonly done: Promise<Deno.CommandStatus>;
  constructor(name: string, command: Deno.Command) {
    this.name = name;
    this.child = command.spawn();
    const dec = new TextDecoder();
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const c of s) this.output = (this.output + dec.decode(c)).slice(-20_000);
    };
    const pumps = Promise.all([pump(this.child.stdout), pump(this.child.stderr)]);
    this.done = this.child.status.then(async (st) => {
      await pumps;
      return st;
    });
  }
  kill(sig: Deno.Signal): void {
    try {
      this.child.kill(sig);
    } catch {
      // gone
    }
  }
}

/** The chaos driver on the clients' host: commands in, events out. */
class _Driver {
  readonly child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #events: Record<string, unknown>[] = [];
  #wake: (() => void) | null = null;
  stderr = "";
  constructor(lab: NetLab, host: NetHost) {
    const child = lab.command(host.name, Deno.execPath(), ["run", "-A", _DRIVER], {
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.child = child;
    this.#writer = child.stdin.getWriter();
    (async () => {
      let buf = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) this.#events.push(JSON.parse(line));
          this.#wake?.();
        }
      }
    })();
    (async () => {
      for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr = (this.stderr + c).slice(-10_000);
      }
    })();
  }
  /** Sends a command and waits for the event `ev` it answers with. */
  async ask(cmd: Record<string, unknown>, ev: string, timeoutMs = 120_000) {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(cmd) + "\n"));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#events.findIndex((e) => e.ev === ev || e.ev === "fatal");
      if (i >= 0) {
        const e = this.#events.splice(i, 1)[0]!;
        if (e.ev === "fatal") throw new Error(`The driver failed: ${e.message}`);
        return e;
      }
      if (Date.now() > deadline) throw new Error(`No ${ev} from the driver; ${this.stderr}`);
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, 200);
      });
    }
  }
  async close(): Promise<void> {
    try {
      await this.#writer.write(new TextEncoder().encode('{"op":"quit"}\n'));
      await this.#writer.close();
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await this.child.status;
    clearTimeout(timer);
  }
}

const _sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "FastChat runs across separate hosts and survives cuts, partitions, a hang and a kill",
  // Generous: several phases of seconds each, plus the drain.
  fn: async () => {
    const unavailable = await netlabUnavailable();
    if (unavailable !== null) throw new Error(`The multi-host test cannot run: ${unavailable}`);
    const lab = await NetLab.create({ hosts: ["db", "s1", "s2", "s3", "lb", "cl"] });
    const dir = await Deno.makeTempDir({ prefix: "fastchat_multihost_" });
    const procs: _HostProc[] = [];
    const clients: ClientProc[] = [];
    let pg: LocalPostgres | null = null;
    let driver: _Driver | null = null;
    try {
      const db = lab.host("db");
      pg = await startLocalPostgres({
        host: db.addr,
        port: 5432,
        wrap: ["ip", "netns", "exec", db.ns],
        durable: false,
      });
      const dbUrl = await pg.createDatabase("fastchat");
      const servers = [1, 2, 3].map((id) => ({ id, host: lab.host(`s${id}`) }));
      const serversFile = join(dir, "servers.txt");
      await Deno.writeTextFile(
        serversFile,
        servers.map((s) => `${s.id} ${s.host.addr} ${_SERVER_PORT}`).join("\n") + "\n",
      );
      const secretFile = join(dir, "cluster.secret");
      await Deno.writeTextFile(secretFile, newClusterSecret() + "\n", { mode: 0o600 });
      const startServer = (id: number) => {
        const { cmd, args } = selfCommand([
          "server",
          "--id",
          String(id),
          "--servers",
          serversFile,
          "--db",
          dbUrl,
          "--secret-file",
          secretFile,
          "--scrypt-n",
          "1024",
          // Every simulated user registers from one lab host's address.
          "--registrations-per-hour",
          "10000",
          "--log-level",
          "warn",
        ]);
        const p = new _HostProc(
          `server ${id}`,
          lab.command(`s${id}`, cmd, args, { stdout: "piped", stderr: "piped" }),
        );
        procs.push(p);
        return p;
      };
      const serverProcs = new Map(servers.map((s) => [s.id, startServer(s.id)]));
      const lb = lab.host("lb");
      const bal = selfCommand([
        "balance",
        "--strategy",
        "round-robin",
        "--host",
        lb.addr,
        "--port",
        String(_BALANCER_PORT),
        "--servers",
        serversFile,
        "--db",
        dbUrl,
      ]);
      procs.push(
        new _HostProc(
          "balancer",
          lab.command("lb", bal.cmd, bal.args, {
            stdout: "piped",
            stderr: "piped",
          }),
        ),
      );
      const balancerUrl = `http://${lb.addr}:${_BALANCER_PORT}`;
      const health = servers.map((s) => `http://${s.host.addr}:${_SERVER_PORT}/healthz`);

      driver = new _Driver(lab, lab.host("cl"));
      await driver.ask({ op: "wait_mesh", health, links: 2 }, "mesh");

      // 1. Real terminal clients on the clients' host chat across server hosts.
      const data = join(dir, "clients");
      const start = async (user: string) => {
        const p = new ClientProc(user, {
          balancer: balancerUrl,
          data,
          wrap: ["ip", "netns", "exec", lab.host("cl").ns],
        });
        clients.push(p);
        return [p, await p.waitFor("ready", undefined, 60_000)] as const;
      };
      const [alice, aliceReady] = await start("alice");
      const [bob, bobReady] = await start("bob");
      assert.notEqual(aliceReady.server, bobReady.server, "alice and bob are on different hosts");
      await alice.send("msg bob hello across hosts");
      // A first message from someone who is not a contact waits as a request.
      await bob.waitFor("request", (e) => e.text === "hello across hosts", 30_000);
      await bob.send("accept alice");
      await bob.waitFor("message", (e) => e.text === "hello across hosts", 30_000);
      await alice.waitFor("delivered", undefined, 30_000);
      // Carol registers, goes away, and gets the group's key and message when she returns.
      const [carol] = await start("carol");
      assert.equal((await carol.finish()).code, 0);
      await alice.send("create_group hikers bob carol");
      await bob.waitFor("group_key", undefined, 30_000);
      await alice.send("group_message hikers meet at the old mill");
      await bob.waitFor("message", (e) => e.text === "meet at the old mill", 30_000);
      const [carolAgain, carolReady] = await start("carol");
      // alice is a stranger to carol: her group is a request, accepted here.
      const asked = await carolAgain.waitFor("group_request", (e) => e.name === "hikers", 30_000);
      await carolAgain.send(`accept ${asked.group}`);
      await carolAgain.waitFor("message", (e) => e.text === "meet at the old mill", 30_000);
      assert.ok([1, 2, 3].includes(carolReady.server as number));
      for (const p of [alice, bob, carolAgain]) assert.equal((await p.finish()).code, 0, p.user);

      // 2. Under load: a cut, a partition, a hang and a kill.
      const ready = await driver.ask({
        op: "setup",
        balancers: [balancerUrl],
        users: 12,
        group: 6,
      }, "ready");
      const onServers = new Set((ready.users as { server: number }[]).map((u) => u.server));
      assert.deepEqual([...onServers].sort(), [1, 2, 3], "users on every server host");
      await driver.ask({ op: "load", perUserPerSecond: 5 }, "loading");
      // The waits below are the scenario itself, not waits for something: each fault is held
      // for seconds of real time under load (longer than the liveness windows, 3 s), then
      // lifted, and the driver's report checks what the clients got meanwhile.
      await _sleep(2_000);

      // A server host cut off from everything, then back.
      await lab.cut("s2");
      await _sleep(6_000);
      await lab.restore("s2");
      await _sleep(3_000);

      // Two server hosts that cannot reach each other but still reach the database and
      // the clients.
      await lab.partition("s1", "s3");
      await _sleep(6_000);
      await lab.heal("s1", "s3");
      await _sleep(3_000);

      // A hung server: the others keep accepting, every second.
      const hungFrom = (await driver.ask({ op: "mark" }, "mark")).second as number;
      serverProcs.get(2)!.kill("SIGSTOP");
      await _sleep(10_000);
      serverProcs.get(2)!.kill("SIGCONT");
      const hungTo = (await driver.ask({ op: "mark" }, "mark")).second as number;
      await _sleep(3_000);

      // kill -9 of a server process under load, then it comes back.
      serverProcs.get(3)!.kill("SIGKILL");
      await serverProcs.get(3)!.done;
      await _sleep(3_000);
      serverProcs.set(3, startServer(3));
      await _sleep(4_000);

      const report = await driver.ask({ op: "stop", drainMs: 60_000 }, "report", 180_000);
      const summary = JSON.stringify(
        { ...report, perServerSecond: undefined, perSecond: undefined },
      );
      assert.ok((report.accepted as number) > 1_000, `too little load: ${summary}`);
      assert.equal(report.unaccepted, 0, `messages never accepted: ${summary}`);
      assert.deepEqual(report.duplicates, [], `duplicated messages: ${summary}`);
      assert.deepEqual(report.lost, [], `lost messages: ${summary}`);
      const perSecond = report.perSecond as Record<string, number>;
      const quiet = [];
      for (let s = hungFrom + 1; s < hungTo; s++) if (!(perSecond[s]! > 0)) quiet.push(s);
      assert.deepEqual(quiet, [], `seconds without an accepted message during the hang`);
      const during = [];
      for (let s = hungFrom + 1; s < hungTo; s++) during.push(perSecond[s] ?? 0);
      console.log(`multi-host: ${summary}; accepted per second during the hang: ${during}`);
    } catch (err) {
      const logs = procs.map((p) => `--- ${p.name}\n${p.output.slice(-3000)}`).join("\n");
      throw new Error(`${(err as Error).message}\n${logs}\n--- driver\n${driver?.stderr ?? ""}`, {
        cause: err,
      });
    } finally {
      for (const c of clients) await c.kill().catch(() => {});
      await driver?.close().catch(() => {});
      for (const p of procs) p.kill("SIGCONT");
      for (const p of procs) p.kill("SIGTERM");
      await Promise.race([Promise.all(procs.map((p) => p.done)), _sleep(5_000)]);
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map((p) => p.done));
      await pg?.stop();
      await lab.destroy();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
