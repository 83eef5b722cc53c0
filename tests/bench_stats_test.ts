/**
 * The benchmark's pure parts: percentiles and spreads, option and mix parsing (with the
 * messages bad input gets), /proc parsers, group sizing, the text table and the SVG
 * charts of the HTML report.
 */

import assert from "node:assert/strict";
import { cpuMicrosPer, perClientFairness } from "../core/bench/run_bench.ts";
import type { BenchOptions } from "../core/bench/options.ts";
import { parseBenchArgs, parseMix, parseRates } from "../cmd/bench_args.ts";
import { UsageError } from "../cmd/command.ts";
import {
  cpuPercent,
  percentile,
  perSecond,
  spread,
  summarizeLatencies,
} from "../core/bench/stats.ts";
import {
  parseMachineCpu,
  parseOpenFileLimit,
  parseProcStat,
  parseProcStatus,
  parseTailOutput,
} from "../core/bench/proc_stats.ts";
import { groupCount } from "../core/bench/bench_users.ts";
import { parsePrometheus, serverCounters } from "../core/bench/server_metrics.ts";
import {
  barChartSvg,
  lineChartSvg,
  niceCeiling,
  renderHtmlReport,
} from "../core/bench/report_svg.ts";
import { renderTable, renderTextReport } from "../core/bench/report_text.ts";
import type { BenchReport, LoadStrategyResult } from "../core/bench/run_bench.ts";

function _options(args: string[]): BenchOptions {
  const line = parseBenchArgs(args);
  assert.equal(line.kind, "run");
  return (line as { options: BenchOptions }).options;
}

function _usage(args: string[], message: RegExp): void {
  assert.throws(() => parseBenchArgs(args), (err: unknown) => {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${err}`);
    assert.equal(err.code, "usage");
    assert.match(err.message, message);
    return true;
  });
}

Deno.test("percentile uses the nearest rank", () => {
  const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(percentile(sorted, 50), 5);
  assert.equal(percentile(sorted, 90), 9);
  assert.equal(percentile(sorted, 95), 10);
  assert.equal(percentile(sorted, 99), 10);
  assert.equal(percentile(sorted, 100), 10);
  assert.equal(percentile(sorted, 0), 1);
  assert.equal(percentile([42], 99), 42);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(hundred, 99), 99);
  assert.equal(percentile(hundred, 99.5), 100);
});

Deno.test("percentile rejects no values and p outside 0 to 100", () => {
  assert.throws(() => percentile([], 50), RangeError);
  assert.throws(() => percentile([1], -1), /p from 0 to 100/);
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => percentile([1], NaN), RangeError);
});

Deno.test("summarizeLatencies sorts a copy and reports percentiles, max and mean", () => {
  const samples = [9, 1, 5, 3, 7, 2, 8, 4, 6, 10];
  const s = summarizeLatencies(samples);
  assert.deepEqual(s, { count: 10, p50: 5, p95: 10, p99: 10, max: 10, mean: 5.5 });
  assert.deepEqual(samples, [9, 1, 5, 3, 7, 2, 8, 4, 6, 10], "input untouched");
  // Numeric order, not string order.
  assert.equal(summarizeLatencies([100, 20, 3]).p50, 20);
  assert.deepEqual(summarizeLatencies([]), {
    count: 0,
    p50: null,
    p95: null,
    p99: null,
    max: null,
    mean: null,
  });
});

Deno.test("spread gives min, max, mean and population standard deviation", () => {
  assert.deepEqual(spread([2, 4, 4, 4, 5, 5, 7, 9]), { min: 2, max: 9, mean: 5, stddev: 2 });
  assert.deepEqual(spread([3]), { min: 3, max: 3, mean: 3, stddev: 0 });
  assert.throws(() => spread([]), RangeError);
});

Deno.test("perSecond and cpuPercent turn counts into rates", () => {
  assert.equal(perSecond(500, 2_000), 250);
  assert.equal(perSecond(5, 0), 0);
  // 150 ticks at 100 Hz over 3 s is half a core.
  assert.equal(cpuPercent(150, 100, 3_000), 50);
  assert.equal(cpuPercent(400, 100, 2_000), 200);
  assert.equal(cpuPercent(10, 100, 0), 0);
});

Deno.test("parseBenchArgs gives the documented defaults", () => {
  const o = _options([]);
  assert.equal(o.servers, 3);
  assert.equal(o.clients, 200);
  assert.equal(o.durationS, 10);
  assert.equal(o.warmupS, 2);
  assert.deepEqual(o.strategies, ["load"]);
  assert.deepEqual(o.backends, ["sqlite"]);
  assert.equal(o.pgUrl, null);
  assert.deepEqual(o.mix, { dm: 0.8, group: 0.2 });
  assert.equal(o.groupSize, 10);
  assert.equal(o.rates, null);
  assert.equal(o.window, 8);
  assert.equal(o.messageBytes, 200);
  assert.equal(o.baseline, false);
  assert.equal(o.connections, null);
  assert.equal(o.json, false);
  assert.equal(o.report, null);
});

Deno.test("parseBenchArgs reads every option", () => {
  const o = _options([
    "--servers",
    "2",
    "--clients",
    "50",
    "--duration",
    "1.5",
    "--warmup",
    "0",
    "--strategy",
    "all",
    "--mix",
    "dm=1,group=3",
    "--group-size",
    "5",
    "--rate",
    "2500",
    "--message-bytes",
    "64",
    "--baseline",
    "--json",
    "--report",
    "out.html",
  ]);
  assert.equal(o.servers, 2);
  assert.equal(o.clients, 50);
  assert.equal(o.durationS, 1.5);
  assert.equal(o.warmupS, 0);
  assert.deepEqual(o.strategies, ["load", "random", "round-robin"]);
  assert.deepEqual(o.mix, { dm: 0.25, group: 0.75 });
  assert.equal(o.groupSize, 5);
  assert.deepEqual(o.rates, [2500]);
  assert.equal(o.messageBytes, 64);
  assert.equal(o.baseline, true);
  assert.equal(o.json, true);
  assert.equal(o.report, "out.html");
  assert.equal(_options(["--connections", "10000"]).connections, 10000);
  assert.deepEqual(_options(["--strategy", "round-robin"]).strategies, ["round-robin"]);
  assert.deepEqual(_options(["--backend", "both"]).backends, ["sqlite", "postgres"]);
  const pg = _options(["--backend", "postgres", "--db", "postgres://fc@db.example/x"]);
  assert.deepEqual(pg.backends, ["postgres"]);
  assert.equal(pg.pgUrl, "postgres://fc@db.example/x");
});

Deno.test("parseBenchArgs rejects bad values with what was expected", () => {
  _usage(["--servers", "0"], /--servers must be an integer from 1 to 32, got "0"/);
  _usage(["--clients", "1"], /--clients must be an integer from 2 to 10000, got "1"/);
  _usage(["--clients", "ten"], /--clients must be an integer .* got "ten"/);
  _usage(["--clients", "-5"], /--clients/);
  _usage(["--duration", "0"], /--duration must be a number from 0.1 to 3600, got "0"/);
  _usage(["--duration", "1e3"], /--duration must be a number/);
  _usage(["--warmup", "-1"], /--warmup/);
  _usage(
    ["--strategy", "fastest"],
    /--strategy must be one of load, random, round-robin, all, got "fastest"/,
  );
  _usage(["--group-size", "1"], /--group-size must be an integer from 2 to 256/);
  _usage(["--group-size", "300"], /--group-size must be an integer from 2 to 256/);
  _usage(
    ["--clients", "5", "--group-size", "10"],
    /--group-size must be at most --clients \(5\)/,
  );
  _usage(["--rate", "0"], /--rate must be a number from 0.1/);
  _usage(["--window", "0"], /--window must be an integer from 1 to 1024/);
  _usage(["--rate", "100", "--window", "4"], /exclude each other/);
  _usage(["--rate", "100,1000", "--window", "4"], /exclude each other/);
  _usage(["--message-bytes", "0"], /--message-bytes must be an integer from 1 to 65536/);
  _usage(["--connections", "1"], /--connections must be an integer from 2/);
  _usage(["--connections", "100", "--baseline"], /does not apply with --connections/);
  _usage(["--report", ""], /--report needs a file name/);
  _usage(["--backend", "mysql"], /--backend must be one of sqlite, postgres, both, got "mysql"/);
  _usage(["--backend", "postgres", "--db", "db.sqlite"], /--db must be a postgres:\/\/ URL/);
  _usage(["--db", "postgres://x/y"], /--db applies to PostgreSQL; add --backend postgres/);
  _usage(["--nope"], /Unknown option '--nope'/);
  _usage(["extra"], /Unexpected argument "extra"; expected options only/);
  _usage(["--echo-server", "0"], /--echo-server must be a port from 1 to 65535, got "0"/);
  _usage(["--echo-server", "8080", "--json"], /--echo-server runs alone/);
});

Deno.test("parseBenchArgs recognizes --help and the hidden echo-server mode", () => {
  assert.deepEqual(parseBenchArgs(["--help"]), { kind: "help" });
  assert.deepEqual(parseBenchArgs(["-h"]), { kind: "help" });
  assert.deepEqual(parseBenchArgs(["--echo-server", "4100"]), { kind: "echo_server", port: 4100 });
});

Deno.test("parseMix normalizes shares and rejects malformed mixes", () => {
  assert.deepEqual(parseMix("dm=80,group=20"), { dm: 0.8, group: 0.2 });
  assert.deepEqual(parseMix("group=1"), { dm: 0, group: 1 });
  assert.deepEqual(parseMix(" dm = 3 , group = 1 "), { dm: 0.75, group: 0.25 });
  assert.deepEqual(parseMix("dm=0.5,group=0.5"), { dm: 0.5, group: 0.5 });
  for (
    const [text, re] of [
      ["dm=80,file=20", /unknown kind "file"; expected dm or group/],
      ["dm=1,dm=2", /names "dm" twice/],
      ["dm=0,group=0", /share above 0/],
      ["dm", /KIND=SHARE pairs/],
      ["dm=-1", /KIND=SHARE pairs/],
      ["", /KIND=SHARE pairs/],
    ] as const
  ) {
    assert.throws(() => parseMix(text), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, re);
      return true;
    });
  }
});

Deno.test("parseProcStat adds utime and stime even when the name has spaces and parens", () => {
  const line = "1234 (deno (worker) 1) S 1 1234 1234 0 -1 4194560 5000 0 0 0 " +
    "250 75 0 0 20 0 12 0 100 1000000 5000 18446744073709551615\n";
  assert.equal(parseProcStat(line), 325);
  assert.throws(() => parseProcStat("garbage"), TypeError);
});

Deno.test("parseProcStatus reads VmRSS and VmHWM in bytes", () => {
  const text = "Name:\tdeno\nVmPeak:\t 999 kB\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t9\n";
  assert.deepEqual(parseProcStatus(text), { rssBytes: 1024 * 1024, peakBytes: 2048 * 1024 });
  assert.throws(() => parseProcStatus("Name:\tdeno\n"), /VmRSS/);
});

Deno.test("parseMachineCpu sums busy states and keeps iowait apart", () => {
  const text = "cpu  100 5 50 1000 20 3 7 0 0 0\ncpu0 50 2 25 500 10 1 3 0 0 0\nintr 1 2\n";
  assert.deepEqual(parseMachineCpu(text), { busy: 165, iowait: 20, total: 1185 });
  assert.throws(() => parseMachineCpu("intr 1 2\n"), TypeError);
});

Deno.test("parseOpenFileLimit reads the soft limit", () => {
  const text = "Limit                     Soft Limit           Hard Limit           Units\n" +
    "Max open files            20000                40000                files\n";
  assert.equal(parseOpenFileLimit(text), 20000);
  assert.equal(parseOpenFileLimit("Max open files  unlimited  unlimited  files\n"), null);
  assert.equal(parseOpenFileLimit(""), null);
});

Deno.test("parseTailOutput splits tail -v output by file", () => {
  const out = "==> /proc/1/stat <==\n1 (a) S 0\n\n==> /proc/2/stat <==\n2 (b) R 1\n";
  const m = parseTailOutput(out, ["/proc/1/stat", "/proc/2/stat", "/proc/3/stat"]);
  assert.deepEqual([...m.entries()], [["/proc/1/stat", "1 (a) S 0\n"], [
    "/proc/2/stat",
    "2 (b) R 1\n",
  ]]);
});

Deno.test("parsePrometheus and serverCounters read the counters the report shows", () => {
  const text = "# HELP fastchat_redelivered_total Pushed again.\n" +
    "# TYPE fastchat_redelivered_total counter\n" +
    'fastchat_redelivered_total{server="1"} 17\n' +
    'fastchat_store_batches_total{server="1"} 40\n' +
    'fastchat_store_batch_messages_total{server="1"} 100\n' +
    "fastchat_event_loop_lag_ms 3.5\n" +
    'fastchat_busy_queue_total{server="1"} 9\n' +
    'fastchat_busy_fair_share_total{server="1"} 4\n' +
    'fastchat_busy_lag_total{server="1"} 0\n' +
    'fastchat_busy_outbound_total{server="1"} 1\n';
  const m = parsePrometheus(text);
  assert.equal(m.get("fastchat_redelivered_total"), 17);
  assert.deepEqual(serverCounters(m), {
    redelivered: 17,
    storeBatches: 40,
    storeBatchMessages: 100,
    lagMs: 3.5,
    busyQueue: 9,
    busyFairShare: 4,
    busyLag: 0,
    busyOutbound: 1,
  });
  assert.deepEqual(serverCounters(new Map()), {
    redelivered: null,
    storeBatches: null,
    storeBatchMessages: null,
    lagMs: null,
    busyQueue: null,
    busyFairShare: null,
    busyLag: null,
    busyOutbound: null,
  });
});

Deno.test("groupCount keeps groups near the asked size and within 2 to 256 members", () => {
  assert.equal(groupCount(1000, 10), 100);
  assert.equal(groupCount(20, 10), 2);
  assert.equal(groupCount(25, 10), 3); // 9, 8, 8
  assert.equal(groupCount(3, 2), 1); // never a group of one
  assert.equal(groupCount(2, 10), 1);
  assert.equal(groupCount(298, 200), 2); // one group of 298 would exceed 256
  for (const [m, k] of [[7, 2], [100, 3], [1000, 256], [513, 256], [10_000, 7]]) {
    const g = groupCount(m!, k!);
    assert.ok(Math.ceil(m! / g) <= 256, `${m}/${k}: groups too big`);
    assert.ok(Math.floor(m! / g) >= 2, `${m}/${k}: groups too small`);
  }
});

Deno.test("niceCeiling rounds an axis top up to 1, 2, 2.5 or 5 times a power of ten", () => {
  assert.equal(niceCeiling(0), 1);
  assert.equal(niceCeiling(7), 10);
  assert.equal(niceCeiling(1.2), 2);
  assert.equal(niceCeiling(230), 250);
  assert.equal(niceCeiling(4100), 5000);
  assert.equal(niceCeiling(100), 100);
});

Deno.test("renderTable aligns columns: text left, numbers right", () => {
  assert.deepEqual(renderTable(["name", "n"], [["a", "5"], ["bbb", "12345"]]), [
    "name  n",
    "----  -----",
    "a         5",
    "bbb   12345",
  ]);
});

function _result(strategy: LoadStrategyResult["strategy"], p50: number): LoadStrategyResult {
  return {
    strategy,
    backend: "sqlite",
    mode: "load",
    clients: 20,
    load_model: "closed",
    window: 8,
    rate: null,
    duration_s: 2,
    warmup_s: 0.5,
    sent: 100,
    sent_direct: 80,
    sent_group: 20,
    accepted: 100,
    accepted_per_s: 50,
    delivered_per_s: 130,
    accept_p50_ms: 4,
    accept_p99_ms: 9,
    accept_first_p50_ms: 3,
    accept_first_p99_ms: 9,
    busy: 0,
    refused: 0,
    accepted_per_client_min: 3,
    accepted_per_client_p50: 5,
    starved_clients: 0,
    deliveries: 260,
    expected_deliveries: 260,
    p50_ms: p50,
    p95_ms: p50 * 2,
    p99_ms: p50 * 3,
    max_ms: p50 * 4,
    mean_ms: p50,
    latency_samples: 200,
    lost: 0,
    lost_deliveries: 0,
    duplicated: 0,
    misrouted: 0,
    send_errors: 0,
    unanswered: 0,
    disconnected: 0,
    late_sends: 0,
    skipped_sends: 0,
    max_send_lag_ms: 0,
    drain_s: 0.1,
    groups: 2,
    mean_group_size: 10,
    clients_per_server: { "1": 9, "2": 11 },
    clients_per_server_min: 9,
    clients_per_server_max: 11,
    clients_per_server_stddev: 1,
    servers: [
      {
        server_id: 1,
        pid: 10,
        cpu_percent: 50,
        idle_cpu_percent: 0.5,
        rss_mb: 80,
        peak_rss_mb: 90,
        redelivered: 0,
        store_batches: 40,
        mean_batch_messages: 2.5,
        lag_ms: 1,
        busy_queue: 0,
        busy_fair_share: 0,
        busy_lag: 0,
        busy_outbound: 0,
      },
      {
        server_id: 2,
        pid: 11,
        cpu_percent: 55,
        idle_cpu_percent: 1,
        rss_mb: 81,
        peak_rss_mb: 91,
        redelivered: 0,
        store_batches: 40,
        mean_batch_messages: 2.5,
        lag_ms: 2,
        busy_queue: 0,
        busy_fair_share: 0,
        busy_lag: 0,
        busy_outbound: 0,
      },
    ],
    balancer_cpu_percent: 1,
    generator_processes: 1,
    generator_cpu_percent: 40,
    generator_process_cpu_percent: [40],
    generator_rss_mb: 100,
    machine_busy_percent: 90,
    machine_iowait_percent: 2,
    baseline_ratio: 0.1,
    server_cpu_percent: 105,
    server_cpu_us_per_accepted: 2100,
    server_cpu_us_per_delivered: 210,
    idle_window_s: 2,
    idle_clients: 20,
    idle_server_cpu_percent: 1.5,
    idle_cpu_us_per_client_s: 750,
    server_cpu_vs_echo: 17.5,
    error_samples: [],
    ports: { balancer: 7100, servers: [7101, 7102] },
  };
}

function _report(failures: string[] = []): BenchReport {
  return {
    fastchat_version: "0.1.0",
    config: {
      servers: 2,
      clients: 20,
      connections: null,
      strategies: ["load", "random"],
      backends: ["sqlite"],
      postgres: null,
      duration_s: 2,
      warmup_s: 0.5,
      mix: { dm: 0.8, group: 0.2 },
      group_size: 10,
      rates: null,
      window: 8,
      message_bytes: 200,
      scrypt_n: 1024,
      generators: 1,
      cpus: 2,
    },
    results: [_result("load", 10), _result("random", 12.5)],
    baseline_per_s: 1300,
    baseline: null,
    failures,
    ok: failures.length === 0,
  };
}

/** Checks that every tag in `xml` is closed in order (no DOM parser in Deno). */
function _assertWellFormed(xml: string): void {
  const stack: string[] = [];
  const tags = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<|>/g;
  for (const m of xml.matchAll(tags)) {
    if (m[0] === "<" || m[0] === ">") assert.fail(`stray "${m[0]}" at ${m.index}`);
    if (m[0].startsWith("<!--")) continue;
    const [, close, name, , selfClose] = m;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClose) stack.push(name!);
  }
  assert.deepEqual(stack, [], "unclosed elements");
  // Text may not hold a raw & that does not start an entity.
  assert.doesNotMatch(xml, /&(?!amp;|lt;|gt;|quot;|#39;)/);
}

Deno.test("barChartSvg draws one bar per value, escapes text and is well-formed", () => {
  const svg = barChartSvg({
    title: "Latency <p99> & more",
    unit: "ms",
    categories: ["load", "round-robin"],
    series: [{ name: "p50", values: [1.5, 2] }, { name: "p99", values: [10, null] }],
  });
  _assertWellFormed(svg);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /Latency &lt;p99&gt; &amp; more/);
  assert.equal(svg.match(/<rect [^>]*height=/g)!.length - 2, 3, "3 bars + 2 legend boxes");
  for (const m of svg.matchAll(/ (?:x|y|width|height)="([^"]*)"/g)) {
    assert.ok(Number.isFinite(Number(m[1])), `bad coordinate ${m[0]}`);
  }
});

Deno.test("renderHtmlReport is one self-contained page with well-formed charts", () => {
  const html = renderHtmlReport(_report());
  assert.match(html, /^<!DOCTYPE html>/);
  assert.doesNotMatch(html, /<script|<link|src=|href=/, "no scripts or external files");
  const svgs = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
  assert.equal(svgs.length, 3, "latency, clients per server, throughput");
  for (const svg of svgs) _assertWellFormed(svg);
  assert.match(svgs[0]!, /End-to-end latency by strategy/);
  assert.match(svgs[1]!, /Clients per server by strategy/);
  assert.match(svgs[1]!, /server 2/);
  assert.match(html, /class="ok"/);
  const failed = renderHtmlReport(_report(["load: 3 messages lost <x>"]));
  assert.match(failed, /FAILED: load: 3 messages lost &lt;x&gt;/);
});

Deno.test("renderTextReport shows every strategy and a loud failure", () => {
  const text = renderTextReport(_report());
  assert.match(
    text,
    /^load\s+sqlite\s+50\s+130\s+10\s+20\s+30\s+40\s+4\s+9\s+0\s+0\s+0\s+0\s+9\/11\s+1\s+40\s+1\s+90\s+2\s+0\.100\s+210\s+17\.5$/m,
  );
  assert.match(text, /^random\s+sqlite\s+50\s+130\s+12\.5\s+25\s+37\.5\s+50\s/m);
  assert.match(
    text,
    /^load\/sqlite: accepted per client in the window: fewest 3, median 5; 0 client\(s\) with none \(starved\); send→accepted p99 = 2\.3 × p50$/m,
  );
  assert.match(text, /OK: every accepted message/);
  assert.match(
    text,
    /^load\/sqlite: 1 load generator process \(this one\); gen CPU 40% of one core in all$/m,
  );
  const failed = renderTextReport(_report(["load: 2 messages duplicated on the wire"]));
  assert.match(failed, /FAILED/);
  assert.match(failed, /- load: 2 messages duplicated on the wire/);
});

Deno.test("renderTextReport says how many generator processes ran and what each used", () => {
  const base = _report();
  const spread = {
    ...base,
    results: [{
      ...(base.results[0] as LoadStrategyResult),
      generator_processes: 2,
      generator_cpu_percent: 40,
      generator_process_cpu_percent: [20, 15.5, 4.5],
    }],
  };
  assert.match(
    renderTextReport(spread),
    /^load\/sqlite: 2 load generator processes, coordinated by this one; gen CPU 40% of one core in all \(20 \+ 15\.5 \+ 4\.50, the last this one\)$/m,
  );
});

Deno.test("perClientFairness() finds the fewest, the median and the starved clients, closed loop only", () => {
  assert.deepEqual(perClientFairness(true, [7, 0, 5, 9, 0]), {
    accepted_per_client_min: 0,
    accepted_per_client_p50: 5,
    starved_clients: 2,
  });
  assert.deepEqual(perClientFairness(true, [4, 6]), {
    accepted_per_client_min: 4,
    accepted_per_client_p50: 4,
    starved_clients: 0,
  });
  const none = {
    accepted_per_client_min: null,
    accepted_per_client_p50: null,
    starved_clients: null,
  };
  assert.deepEqual(perClientFairness(false, [1, 2, 3]), none);
  assert.deepEqual(perClientFairness(true, []), none);
});

Deno.test("cpuMicrosPer() turns a CPU share and a rate into microseconds per event", () => {
  assert.equal(cpuMicrosPer(50, 1_000), 500);
  assert.equal(cpuMicrosPer(276, 10_000), 276);
  assert.equal(cpuMicrosPer(null, 1_000), null);
  assert.equal(cpuMicrosPer(50, 0), null);
  assert.equal(cpuMicrosPer(NaN, 10), null);
});

Deno.test("parseRates() keeps the rates in the order given; one rate reads as before", () => {
  assert.deepEqual(parseRates("2500"), [2500]);
  assert.deepEqual(parseRates("0.5"), [0.5]);
  assert.deepEqual(parseRates("100,1000,3000"), [100, 1000, 3000]);
  assert.deepEqual(parseRates("3000, 100,2.5"), [3000, 100, 2.5]);
  assert.deepEqual(_options(["--rate", "100,1000,3000"]).rates, [100, 1000, 3000]);
  assert.deepEqual(_options(["--rate", "100", "--baseline"]).rates, [100]);
  const twelve = Array.from({ length: 12 }, (_, i) => String(100 * (i + 1))).join(",");
  assert.equal(parseRates(twelve).length, 12);
});

Deno.test("parseBenchArgs rejects a bad --rate list, saying what was expected", () => {
  _usage(["--rate", "0"], /^--rate must be a number from 0.1 to 1000000, got "0"$/);
  _usage(
    ["--rate", "100,,3000"],
    /^--rate has an empty item in "100,,3000"; expected rates separated by commas/,
  );
  _usage(["--rate", "100,"], /--rate has an empty item in "100,"/);
  _usage(["--rate", ","], /--rate has an empty item/);
  _usage(
    ["--rate", "100,fast"],
    /^--rate must list numbers from 0.1 to 1000000, got "fast" in "100,fast"$/,
  );
  _usage(["--rate", "100,-5"], /--rate must list numbers from 0.1 to 1000000, got "-5"/);
  _usage(["--rate", "100,1e3"], /--rate must list numbers .* got "1e3"/);
  _usage(["--rate", "100,0.05"], /--rate must list numbers from 0.1 to 1000000, got "0.05"/);
  _usage(["--rate", "100,2000000"], /--rate must list numbers .* got "2000000"/);
  _usage(
    ["--rate", "100,1000,100.0"],
    /^--rate lists 100 twice in "100,1000,100.0"; expected each rate once$/,
  );
  const thirteen = Array.from({ length: 13 }, (_, i) => String(i + 1)).join(",");
  _usage(["--rate", thirteen], /^--rate lists 13 rates, got ".*"; expected at most 12$/);
  _usage(
    ["--rate", "100,1000", "--baseline"],
    /--baseline measures one load; give a single --rate/,
  );
});

/** An open-loop result at `rate`: CPU and latency grow with it. */
function _openResult(
  strategy: LoadStrategyResult["strategy"],
  rate: number,
  usPerMsg: number,
  p50: number,
): LoadStrategyResult {
  return {
    ..._result(strategy, p50),
    load_model: "open",
    window: null,
    rate,
    accepted_per_s: rate,
    delivered_per_s: rate * 2,
    accepted_per_client_min: null,
    accepted_per_client_p50: null,
    starved_clients: null,
    server_cpu_percent: (usPerMsg * rate) / 1e4,
    server_cpu_us_per_accepted: usPerMsg,
    server_cpu_us_per_delivered: usPerMsg / 2,
    machine_busy_percent: rate / 50,
    generator_cpu_percent: rate / 100,
  };
}

function _twoRateReport(): BenchReport {
  const base = _report();
  return {
    ...base,
    config: { ...base.config, strategies: ["load"], rates: [100, 1000] },
    results: [_openResult("load", 100, 400, 2), _openResult("load", 1000, 250, 8)],
  };
}

Deno.test("renderTextReport with two rates adds a cost curve row per rate and the idle CPU per connection", () => {
  const text = renderTextReport(_twoRateReport());
  assert.match(text, /open loop at 100, 1000 msg\/s \(one run each\)/);
  // The main table tells the runs apart by their rate.
  assert.match(text, /^strategy\s+backend\s+rate\/s\s+acc\/s\s+deliv\/s/m);
  assert.match(text, /^load\s+sqlite\s+1000\s+1000\s+2000\s+8\s/m);
  const curve = text.slice(text.indexOf("Cost curve"), text.indexOf("Idle CPU"));
  assert.match(
    curve,
    /^strategy\s+backend\s+rate\/s\s+acc\/s\s+p50 ms\s+p99 ms\s+srv CPU%\s+srv µs\/acc\s+srv µs\/deliv\s+host busy%\s+gen CPU%$/m,
  );
  // rate, acc/s, p50, p99, server CPU (sum), µs per message, per delivery, host busy, generator.
  assert.match(curve, /^load\s+sqlite\s+100\s+100\s+2\s+6\s+4\s+400\s+200\s+2\s+1$/m);
  assert.match(curve, /^load\s+sqlite\s+1000\s+1000\s+8\s+24\s+25\s+250\s+125\s+20\s+10$/m);
  assert.match(
    text,
    /^Idle CPU per connection \(2 s before the load, every client connected, no messages\):$/m,
  );
  assert.match(text, /^load\s+sqlite\s+100\s+20\s+1\.50\s+0\.50\/1\.00\s+750$/m);
  assert.match(
    text,
    /^strategy\s+backend\s+rate\/s\s+server\s+PID\s+clients\s+CPU % \(1 core\)\s+idle CPU %/m,
  );
  // One rate, closed loop: no cost curve, no rate column; the idle CPU is still there.
  const closed = renderTextReport(_report());
  assert.doesNotMatch(closed, /Cost curve|rate\/s/);
  assert.match(closed, /^load\s+sqlite\s+20\s+1\.50\s+0\.50\/1\.00\s+750$/m);
  // One open-loop rate: the cost curve is there, the main table needs no rate column.
  const one = _twoRateReport();
  const single = renderTextReport({
    ...one,
    config: { ...one.config, rates: [100] },
    results: [one.results[0]!],
  });
  assert.match(single, /open loop at 100 msg\/s, mix/);
  assert.match(single, /^Cost curve/m);
  assert.match(single, /^load\s+sqlite\s+100\s+200\s+2\s+4\s/m, "main row without a rate");
});

Deno.test("renderHtmlReport with two rates draws server µs per message and latency against the offered rate", () => {
  const html = renderHtmlReport(_twoRateReport());
  const svgs = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
  assert.equal(svgs.length, 5, "latency, clients per server, throughput, µs per message, latency");
  for (const svg of svgs) _assertWellFormed(svg);
  assert.match(svgs[0]!, />load sqlite 1000\/s</, "bar charts name each run's rate");
  const [cost, latency] = [svgs[3]!, svgs[4]!];
  assert.match(cost, /Server CPU per message by offered rate/);
  assert.match(cost, /µs per message/);
  assert.match(cost, /offered messages\/s \(log scale\)/);
  assert.match(cost, /<title>load sqlite at 100: 400 µs per message<\/title>/);
  assert.match(cost, /<title>load sqlite at 1000: 250 µs per message<\/title>/);
  assert.equal(cost.match(/<polyline /g)!.length, 1);
  // The dearer message at the lower rate sits higher (smaller y).
  const [low, high] = [...cost.matchAll(/<polyline points="([^"]*)"/g)][0]![1]!.split(" ")
    .map((p) => p.split(",").map(Number));
  assert.ok(low![0]! < high![0]! && low![1]! < high![1]!, `points ${low} ${high}`);
  assert.match(latency, /End-to-end latency by offered rate/);
  assert.match(latency, /<title>load sqlite p50 at 1000: 8 ms<\/title>/);
  assert.match(latency, /<title>load sqlite p99 at 1000: 24 ms<\/title>/);
  assert.equal(latency.match(/<polyline [^>]*stroke-dasharray/g)!.length, 1, "p99 dashed");
  assert.equal(latency.match(/<polyline /g)!.length, 2);
  for (const svg of [cost, latency]) {
    for (const m of svg.matchAll(/ (?:x|y|x1|y1|x2|y2|cx|cy)="([^"]*)"/g)) {
      assert.ok(Number.isFinite(Number(m[1])), `bad coordinate ${m[0]}`);
    }
  }
  // One rate: no curve to draw.
  assert.equal([...renderHtmlReport(_report()).matchAll(/<svg /g)].length, 3);
});

Deno.test("lineChartSvg() leaves a gap for a missing point and uses a linear axis over a narrow range", () => {
  const svg = lineChartSvg({
    title: "t",
    xUnit: "offered messages/s",
    unit: "ms",
    xs: [100, 200, 300, 400],
    series: [{ name: "a", values: [1, 2, null, 4] }],
  });
  _assertWellFormed(svg);
  assert.doesNotMatch(svg, /log scale/);
  assert.equal(svg.match(/<polyline /g)!.length, 1, "only 100-200 join; 400 stands alone");
  assert.equal(svg.match(/<circle /g)!.length, 3);
});
