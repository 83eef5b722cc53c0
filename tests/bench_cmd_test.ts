/**
 * `fastchat bench` as a user runs it: short real runs that check correctness, not speed.
 * Each run must exit 0 with one JSON object on stdout (progress on stderr), deliver
 * messages with none lost or duplicated, and leave nothing behind: every port its clusters
 * and echo server listened on is closed when it exits, also after SIGINT.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { selfCommand } from "../core/cluster/self_command.ts";
import { until } from "./helpers/cluster.ts";

/** A `fastchat bench` child with stdout and stderr kept apart. */
class _Bench {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly done: Promise<Deno.CommandStatus>;

  constructor(args: string[]) {
    const { cmd, args: full } = selfCommand(["bench", ...args]);
    this.child = new Deno.Command(cmd, {
      args: full,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (s: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
      const dec = new TextDecoder();
      for await (const chunk of s) this[key] += dec.decode(chunk, { stream: true });
    };
    const pumps = Promise.all([
      pump(this.child.stdout, "stdout"),
      pump(this.child.stderr, "stderr"),
    ]);
    // Bounded: a run that hangs is killed rather than hanging the suite.
    const timer = setTimeout(() => this.kill("SIGKILL"), 60_000);
    this.done = this.child.status.then(async (st) => {
      clearTimeout(timer);
      await pumps;
      return st;
    });
  }

  /** Sends a signal if the process is still running. */
  kill(sig: Deno.Signal): void {
    try {
      this.child.kill(sig);
    } catch {
      // already gone
    }
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

// deno-lint-ignore no-explicit-any
type _Json = any;

async function _run(args: string[]): Promise<_Json> {
  const bench = new _Bench(args);
  const status = await bench.done;
  assert.equal(
    status.code,
    0,
    `exit ${status.code}\nstdout:\n${bench.stdout}\nstderr:\n${bench.stderr}`,
  );
  let report: _Json;
  try {
    report = JSON.parse(bench.stdout);
  } catch {
    assert.fail(`stdout is not one JSON object:\n${bench.stdout}`);
  }
  assert.equal(report.ok, true, bench.stderr);
  assert.deepEqual(report.failures, []);
  assert.ok(Array.isArray(report.results));
  assert.ok("baseline_per_s" in report);
  for (const r of report.results) {
    assert.equal(r.lost, 0, `${r.strategy}: lost`);
    assert.equal(r.duplicated, 0, `${r.strategy}: duplicated`);
    assert.ok(r.deliveries > 0, `${r.strategy}: nothing delivered`);
    for (const key of ["p50_ms", "p99_ms"]) assert.equal(typeof r[key], "number", key);
    for (const port of [r.ports.balancer, ...r.ports.servers]) {
      assert.equal(await _listening(port), false, `${r.strategy}: port ${port} still listening`);
    }
  }
  return report;
}

Deno.test("fastchat bench --strategy all runs each strategy on its own cluster and stops it", async () => {
  const report = await _run([
    "--servers",
    "2",
    "--clients",
    "20",
    "--duration",
    "2",
    "--warmup",
    "0.5",
    "--strategy",
    "all",
    "--json",
  ]);
  assert.deepEqual(report.results.map((r: _Json) => r.strategy), ["load", "random", "round-robin"]);
  assert.equal(report.baseline_per_s, null);
  const ports = new Set<number>();
  for (const r of report.results) {
    assert.equal(r.mode, "load");
    assert.ok(r.delivered_per_s > 0 && r.accepted_per_s > 0);
    assert.ok(r.sent_direct > 0 && r.sent_group > 0, "both kinds of the mix were sent");
    assert.equal(r.deliveries, r.expected_deliveries);
    assert.equal(r.send_errors + r.unanswered + r.misrouted + r.disconnected, 0);
    assert.ok(r.p50_ms <= r.p99_ms && r.p99_ms <= r.max_ms);
    // Closed loop: every client got messages accepted in the window; the median is the middle.
    assert.equal(r.starved_clients, 0);
    assert.ok(r.accepted_per_client_min > 0);
    assert.ok(r.accepted_per_client_p50 >= r.accepted_per_client_min);
    assert.ok(r.accepted_per_client_p50 * 20 >= r.accepted_per_s * r.duration_s * 0.5);
    const counts = Object.values(r.clients_per_server) as number[];
    assert.equal(counts.length, 2);
    assert.equal(counts.reduce((a, b) => a + b, 0), 20);
    assert.equal(r.servers.length, 2);
    for (const s of r.servers) {
      assert.ok(s.cpu_percent > 0, "server CPU read from /proc");
      assert.ok(s.rss_mb > 0, "server RSS read from /proc");
    }
    for (const p of [r.ports.balancer, ...r.ports.servers]) ports.add(p);
  }
  assert.equal(ports.size, 9, "every strategy had its own cluster");
});

Deno.test("fastchat bench --backend both runs on SQLite and on its own PostgreSQL, then stops it", async () => {
  const report = await _run([
    "--servers",
    "2",
    "--clients",
    "20",
    "--duration",
    "2",
    "--warmup",
    "0.5",
    "--strategy",
    "round-robin",
    "--backend",
    "both",
    "--json",
  ]);
  assert.deepEqual(report.results.map((r: _Json) => r.backend), ["sqlite", "postgres"]);
  assert.deepEqual(report.config.backends, ["sqlite", "postgres"]);
  assert.match(report.config.postgres, /^postgres:\/\/fc@127\.0\.0\.1:\d+\/postgres$/);
  for (const r of report.results) {
    assert.ok(r.delivered_per_s > 0, `${r.backend} delivered`);
    assert.equal(r.deliveries, r.expected_deliveries, `${r.backend}: nothing lost`);
    assert.equal(r.lost + r.duplicated, 0);
  }
  // The throw-away PostgreSQL is gone with the benchmark.
  const pgPort = Number(new URL(report.config.postgres).port);
  assert.equal(await _listening(pgPort), false, "PostgreSQL still listens after the run");
});

Deno.test("fastchat bench --baseline measures the echo ceiling and writes the HTML report", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_bench_test_" });
  try {
    const file = join(dir, "report.html");
    const report = await _run([
      "--servers",
      "2",
      "--clients",
      "20",
      "--duration",
      "1.5",
      "--warmup",
      "0.5",
      "--baseline",
      "--json",
      "--report",
      file,
    ]);
    assert.ok(report.baseline_per_s > 0);
    assert.equal(report.baseline.lost, 0);
    assert.equal(await _listening(report.baseline.port), false, "echo server stopped");
    const r = report.results[0];
    assert.equal(
      r.baseline_ratio,
      Math.round((r.delivered_per_s / report.baseline_per_s) * 1000) / 1000,
    );
    const html = await Deno.readTextFile(file);
    assert.match(html, /^<!DOCTYPE html>/);
    assert.equal([...html.matchAll(/<svg /g)].length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fastchat bench --rate 50,200 runs each rate on its own cluster and draws the cost curve", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_bench_test_" });
  try {
    const file = join(dir, "report.html");
    const report = await _run([
      "--servers",
      "1",
      "--clients",
      "10",
      "--duration",
      "0.5",
      "--warmup",
      "0",
      "--rate",
      "50,200",
      "--json",
      "--report",
      file,
    ]);
    assert.deepEqual(report.config.rates, [50, 200]);
    assert.deepEqual(report.results.map((r: _Json) => r.rate), [50, 200], "in the order given");
    const balancers = new Set(report.results.map((r: _Json) => r.ports.balancer));
    assert.equal(balancers.size, 2, "each rate had its own cluster");
    for (const r of report.results) {
      assert.equal(r.load_model, "open");
      assert.equal(r.idle_window_s, 2);
      assert.equal(r.idle_clients, 10);
      for (const key of ["server_cpu_percent", "server_cpu_us_per_accepted"]) {
        assert.equal(typeof r[key], "number", `${r.rate}/s: ${key}`);
      }
      for (const key of ["idle_server_cpu_percent", "idle_cpu_us_per_client_s"]) {
        assert.equal(typeof r[key], "number", `${r.rate}/s: ${key}`);
      }
      assert.equal(typeof r.servers[0].idle_cpu_percent, "number");
    }
    const html = await Deno.readTextFile(file);
    assert.equal([...html.matchAll(/<svg /g)].length, 5, "3 bar charts and 2 cost curves");
    assert.match(html, /Server CPU per message by offered rate/);
    assert.match(html, /Cost curve \(srv CPU: all servers summed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fastchat bench --generators 2 drives the clients from two processes and still checks every delivery", async () => {
  const report = await _run([
    "--servers",
    "1",
    "--clients",
    "40",
    "--generators",
    "2",
    "--duration",
    "1",
    "--warmup",
    "0",
    "--json",
  ]);
  const r = report.results[0];
  assert.equal(r.generator_processes, 2);
  assert.equal(r.generator_process_cpu_percent.length, 3, "two generators and this process");
  assert.ok(r.generator_cpu_percent > 0, "gen CPU read from /proc");
  assert.equal(r.lost, 0);
  assert.equal(r.duplicated, 0);
  assert.equal(r.deliveries, r.expected_deliveries);
  assert.equal(r.send_errors + r.unanswered + r.misrouted + r.disconnected, 0);
  // Groups span both slices (user i joins group i mod 4): deliveries crossed processes.
  assert.ok(r.sent_direct > 0 && r.sent_group > 0, "both kinds of the mix were sent");
  assert.ok(r.delivered_per_s > 0 && r.accepted_per_s > 0);
  assert.ok(r.latency_samples > 0);
  assert.ok(r.p50_ms > 0 && r.p50_ms <= r.p99_ms && r.p99_ms <= r.max_ms, JSON.stringify(r));
  assert.ok(r.max_ms < 10_000, `max ${r.max_ms} ms: the clocks were not joined`);
  assert.ok(r.accept_p50_ms > 0 && r.accept_p50_ms <= r.accept_p99_ms);
  // Closed loop: every client in both slices had messages accepted in the window.
  assert.equal(r.starved_clients, 0);
  const counts = Object.values(r.clients_per_server) as number[];
  assert.equal(counts.reduce((a, b) => a + b, 0), 40, "every client connected in a generator");
  assert.equal(r.idle_clients, 40);
});

Deno.test("fastchat bench --connections holds connections in extra processes and reports memory and probe latency", async () => {
  // 500 connections stay in the benchmark (the probe pool), 150 go to one holder process.
  const report = await _run(["--servers", "2", "--connections", "650", "--json"]);
  const r = report.results[0];
  assert.equal(r.mode, "connections");
  assert.equal(r.connections, 650);
  assert.equal(r.generator_processes, 2);
  assert.equal(r.probes_sent, 200);
  assert.equal(r.deliveries, 200);
  assert.equal(r.lost, 0);
  assert.equal(r.disconnected, 0);
  assert.equal(typeof r.bytes_per_connection, "number");
  assert.ok(r.rss_after_mb > 0);
  assert.ok(r.generator_open_fds >= 650, `generator fds ${r.generator_open_fds}`);
  // Every connection, held here or in the holder, was assigned by the balancer.
  assert.equal(
    (Object.values(r.clients_per_server) as number[]).reduce((a, b) => a + b, 0),
    650,
  );
});

Deno.test("fastchat bench stops every process it started on SIGINT", async () => {
  const bench = new _Bench(["--servers", "2", "--clients", "20", "--duration", "30", "--json"]);
  try {
    // Past the 2 s warm-up, so the measured phase (and its /proc readings) is under way.
    await until(() => /load\/sqlite: 3 s, sent/.test(bench.stderr), "the measured load", 30_000);
    const up = /cluster up: balancer http:\/\/127\.0\.0\.1:(\d+), servers (.*)/.exec(bench.stderr);
    assert.ok(up, bench.stderr);
    const ports = [Number(up[1]), ...[...up[2]!.matchAll(/:(\d+)/g)].map((m) => Number(m[1]))];
    assert.equal(ports.length, 3);
    for (const p of ports) assert.equal(await _listening(p), true, `port ${p} before SIGINT`);
    bench.kill("SIGINT");
    const status = await bench.done;
    assert.equal(status.code, 130, bench.stderr);
    assert.equal(bench.stdout, "", "no report after a cancel");
    assert.match(bench.stderr, /cancelled; every process it started is stopped/);
    for (const p of ports) assert.equal(await _listening(p), false, `port ${p} after SIGINT`);
  } finally {
    bench.kill("SIGKILL");
    await bench.done;
  }
});

Deno.test("fastchat bench rejects bad options with exit code 2", async () => {
  const bench = new _Bench(["--clients", "1"]);
  assert.equal((await bench.done).code, 2);
  assert.match(bench.stderr, /--clients must be an integer from 2 to 10000, got "1"/);
});
