/**
 * The human-readable form of a {@linkcode BenchReport}: what was run, one table row per
 * strategy, store backend and rate, the cost curve (open loop: server CPU and latency per
 * rate), the idle CPU per connection, a row per server process, the baseline, and a loud
 * FAILED block when any correctness check failed. Pure (string in, string out).
 *
 * @module
 */

import type { BenchReport, IdleStrategyResult, LoadStrategyResult } from "./run_bench.ts";

/** Renders the report as text tables. */
export function renderTextReport(report: BenchReport): string {
  const c = report.config;
  const lines: string[] = [];
  const loads = report.results.filter((r): r is LoadStrategyResult => r.mode === "load");
  const idles = report.results.filter((r): r is IdleStrategyResult => r.mode === "connections");
  lines.push(
    `fastchat bench ${report.fastchat_version}: ${c.servers} server(s) on ${c.cpus} CPU(s), ` +
      `users registered with scrypt N=${c.scrypt_n} (not measured)`,
  );
  const several = c.rates !== null && c.rates.length > 1;
  const rateCol = several ? ["rate/s"] : [];
  const rateCell = (r: LoadStrategyResult | IdleStrategyResult) =>
    several ? [r.mode === "load" ? _n(r.rate) : "-"] : [];
  if (loads.length > 0) {
    lines.push(
      `${c.clients} clients, ${
        c.rates === null
          ? `closed loop (window ${c.window})`
          : `open loop at ${c.rates.join(", ")} msg/s${several ? " (one run each)" : ""}`
      }, mix dm ${_pct(c.mix.dm)} / group ${_pct(c.mix.group)} (group size ${c.group_size}), ` +
        `${c.message_bytes}-byte messages, ${c.duration_s} s measured after ${c.warmup_s} s warm-up`,
      "",
      ...renderTable(
        [
          "strategy",
          "backend",
          ...rateCol,
          "acc/s",
          "deliv/s",
          "p50 ms",
          "p95 ms",
          "p99 ms",
          "max ms",
          "acc p50",
          "acc p99",
          "lost",
          "dup",
          "errors",
          "late",
          "clients/server",
          "sd",
          "gen CPU%",
          "bal CPU%",
          "host busy%",
          "iowait%",
          "vs echo",
          "srv µs/msg",
          "x echo CPU",
        ],
        loads.map((r) => [
          r.strategy,
          r.backend,
          ...rateCell(r),
          _n(r.accepted_per_s),
          _n(r.delivered_per_s),
          _n(r.p50_ms),
          _n(r.p95_ms),
          _n(r.p99_ms),
          _n(r.max_ms),
          _n(r.accept_p50_ms),
          _n(r.accept_p99_ms),
          _n(r.lost),
          _n(r.duplicated),
          _n(r.send_errors + r.unanswered + r.misrouted),
          _n(r.late_sends),
          Object.values(r.clients_per_server).join("/"),
          _n(r.clients_per_server_stddev),
          _n(r.generator_cpu_percent),
          _n(r.balancer_cpu_percent),
          _n(r.machine_busy_percent),
          _n(r.machine_iowait_percent),
          r.baseline_ratio === null ? "-" : r.baseline_ratio.toFixed(3),
          _n(r.server_cpu_us_per_delivered),
          r.server_cpu_vs_echo === null ? "-" : r.server_cpu_vs_echo.toFixed(1),
        ]),
      ),
    );
    if (c.rates !== null) lines.push("", ...renderCostCurve(loads, c.mix.group > 0));
    lines.push("", ...renderIdleCpu(loads, several));
    for (const r of loads) {
      if (r.starved_clients === null) continue;
      lines.push(
        `${_name(r, several)}: accepted per client in the window: fewest ` +
          `${r.accepted_per_client_min}, median ${r.accepted_per_client_p50}; ` +
          `${r.starved_clients} client(s) with none (starved); ` +
          `send→accepted p99 = ${_ratio(r.accept_p99_ms, r.accept_p50_ms)} × p50`,
      );
    }
    for (const r of loads) {
      lines.push(
        `${_name(r, several)}: ${
          r.generator_processes === 1
            ? "1 load generator process (this one)"
            : `${r.generator_processes} load generator processes, coordinated by this one`
        }; gen CPU ${_n(r.generator_cpu_percent)}% of one core in all${
          r.generator_processes === 1
            ? ""
            : ` (${r.generator_process_cpu_percent.map(_n).join(" + ")}, the last this one)`
        }`,
      );
    }
    for (const r of loads) {
      if (r.busy === 0) continue;
      lines.push(
        `${_name(r, several)}: ${r.busy} attempts answered busy, ` +
          (r.refused > 0 ? `${r.refused} dropped as excess (open loop); ` : "sent again; ") +
          `send→accepted from the first attempt p50 ${_n(r.accept_first_p50_ms)} ms, ` +
          `p99 ${_n(r.accept_first_p99_ms)} ms`,
      );
    }
  }
  if (idles.length > 0) {
    lines.push(
      `${c.connections} idle authenticated connections, then ${
        idles[0]!.probes_sent
      } direct messages one at a time`,
      "",
      ...renderTable(
        [
          "strategy",
          "backend",
          "connect s",
          "RSS before MB",
          "RSS after MB",
          "growth MB",
          "bytes/conn",
          "p50 ms",
          "p99 ms",
          "max ms",
          "lost",
          "dup",
          "clients/server",
          "gen procs",
          "gen fds",
        ],
        idles.map((r) => [
          r.strategy,
          r.backend,
          _n(r.connect_s),
          _n(r.rss_before_mb),
          _n(r.rss_after_mb),
          _n(r.rss_growth_mb),
          _n(r.bytes_per_connection),
          _n(r.p50_ms),
          _n(r.p99_ms),
          _n(r.max_ms),
          _n(r.lost),
          _n(r.duplicated),
          Object.values(r.clients_per_server).join("/"),
          _n(r.generator_processes),
          _n(r.generator_open_fds),
        ]),
      ),
    );
  }
  lines.push(
    "",
    "Server processes:",
    ...renderTable(
      [
        "strategy",
        "backend",
        ...rateCol,
        "server",
        "PID",
        "clients",
        "CPU % (1 core)",
        "idle CPU %",
        "RSS MB",
        "peak RSS MB",
        "lag ms",
        "msg batches",
        "msgs/batch",
        "redelivered",
        "busy q/fair/lag/out",
      ],
      report.results.flatMap((r) =>
        r.servers.map((s) => [
          r.strategy,
          r.backend,
          ...rateCell(r),
          String(s.server_id),
          String(s.pid),
          _n(r.clients_per_server[String(s.server_id)] ?? null),
          _n(s.cpu_percent),
          _n(s.idle_cpu_percent),
          _n(s.rss_mb),
          _n(s.peak_rss_mb),
          _n(s.lag_ms),
          _n(s.store_batches),
          _n(s.mean_batch_messages),
          _n(s.redelivered),
          [s.busy_queue, s.busy_fair_share, s.busy_lag, s.busy_outbound].map(_n).join("/"),
        ])
      ),
    ),
  );
  if (report.baseline !== null) {
    const b = report.baseline;
    lines.push(
      "",
      `Baseline (bare WebSocket echo in one child process, ${b.connections} connections): ` +
        `${_n(b.echoes_per_s)} echoes/s, p50 ${_n(b.p50_ms)} ms, p99 ${_n(b.p99_ms)} ms, ` +
        `echo server CPU ${_n(b.server_cpu_percent)}% (${
          _n(b.server_cpu_us_per_echo)
        } µs per echo), generator CPU ${_n(b.generator_cpu_percent)}%`,
    );
  }
  if (report.failures.length > 0) {
    lines.push(
      "",
      "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
      "!! FAILED: the cluster did not deliver every message exactly once !!",
      "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
      ...report.failures.map((f) => `  - ${f}`),
    );
  } else {
    lines.push("", "OK: every accepted message reached every recipient exactly once.");
  }
  return lines.join("\n");
}

/**
 * The cost curve of open-loop runs: one row per backend, strategy and rate (in the order
 * run) with what was achieved, the latency, and what it cost: server CPU in all, per
 * message and (when messages have several recipients, `perDelivery`) per delivery, the
 * whole host's busy time and the load generator's own CPU.
 */
export function renderCostCurve(
  loads: readonly LoadStrategyResult[],
  perDelivery: boolean,
): string[] {
  return [
    "Cost curve (srv CPU: all servers summed, % of one core; srv µs: their CPU per accepted " +
    "message and per delivery; host busy: % of all cores):",
    ...renderTable(
      [
        "strategy",
        "backend",
        "rate/s",
        "acc/s",
        "p50 ms",
        "p99 ms",
        "srv CPU%",
        "srv µs/acc",
        ...(perDelivery ? ["srv µs/deliv"] : []),
        "host busy%",
        "gen CPU%",
      ],
      loads.map((r) => [
        r.strategy,
        r.backend,
        _n(r.rate),
        _n(r.accepted_per_s),
        _n(r.p50_ms),
        _n(r.p99_ms),
        _n(r.server_cpu_percent),
        _n(r.server_cpu_us_per_accepted),
        ...(perDelivery ? [_n(r.server_cpu_us_per_delivered)] : []),
        _n(r.machine_busy_percent),
        _n(r.generator_cpu_percent),
      ]),
    ),
  ];
}

/**
 * The servers' CPU in the idle window before each run's load (every client connected, no
 * message): in all, per server, and per connected client (µs of CPU per second).
 */
export function renderIdleCpu(
  loads: readonly LoadStrategyResult[],
  showRate: boolean,
): string[] {
  const window = loads[0]?.idle_window_s ?? 0;
  return [
    `Idle CPU per connection (${window} s before the load, every client connected, no messages):`,
    ...renderTable(
      [
        "strategy",
        "backend",
        ...(showRate ? ["rate/s"] : []),
        "clients",
        "srv CPU%",
        "% per server",
        "µs/s per client",
      ],
      loads.map((r) => [
        r.strategy,
        r.backend,
        ...(showRate ? [_n(r.rate)] : []),
        _n(r.idle_clients),
        _n(r.idle_server_cpu_percent),
        r.servers.map((s) => s.idle_cpu_percent?.toFixed(2) ?? "-").join("/"),
        _n(r.idle_cpu_us_per_client_s),
      ]),
    ),
  ];
}

/** Lays out `rows` under `header` in aligned columns (text left, numbers right). */
export function renderTable(header: readonly string[], rows: readonly string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[], isHeader: boolean) =>
    cells.map((cell, i) =>
      i === 0 || isHeader ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)
    ).join("  ").trimEnd();
  return [
    line(header, true),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map((r) => line(r, false)),
  ];
}

/** A run's name in notes: `load/sqlite`, with its rate when there are several. */
function _name(r: LoadStrategyResult, showRate: boolean): string {
  const name = `${r.strategy}/${r.backend}`;
  return showRate && r.rate !== null ? `${name}@${r.rate}/s` : name;
}

function _n(v: number | null): string {
  if (v === null) return "-";
  return Number.isInteger(v) ? String(v) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2);
}

function _pct(f: number): string {
  return `${Math.round(f * 100)}%`;
}

function _ratio(a: number | null, b: number | null): string {
  return a === null || b === null || b === 0 ? "-" : (a / b).toFixed(1);
}
