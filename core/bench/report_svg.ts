/**
 * The `--report FILE` output: one self-contained HTML page (no scripts, no external files)
 * with hand-written SVG bar charts: latency percentiles per strategy, clients per server
 * per strategy, and throughput (with the echo baseline when measured); with several
 * open-loop rates, line charts of the cost curve (server CPU per message and latency
 * against the offered rate); then the text report. Pure string building, so tests check
 * the markup.
 *
 * @module
 */

import { renderTextReport } from "./report_text.ts";
import type { BenchReport, LoadStrategyResult } from "./run_bench.ts";

/** A grouped bar chart: one group of bars per category, one bar per series. */
export interface BarChart {
  readonly title: string;
  /** The value axis label, e.g. "ms". */
  readonly unit: string;
  readonly categories: readonly string[];
  readonly series: readonly {
    readonly name: string;
    readonly values: readonly (number | null)[];
  }[];
}

const _COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"];
const _W = 640;
const _H = 320;
const _M = { left: 64, right: 16, top: 48, bottom: 40 };
/** Line-chart legend entries per row (names such as "round-robin postgres p99" fit). */
const _LEGEND_PER_ROW = 3;

/** A line chart: each series is a line through one point per x (a null leaves a gap). */
export interface LineChart {
  readonly title: string;
  /** The x axis label, e.g. "offered messages/s". */
  readonly xUnit: string;
  /** The value axis label, e.g. "ms". */
  readonly unit: string;
  /** The x of every point, ascending, shared by every series. */
  readonly xs: readonly number[];
  readonly series: readonly {
    readonly name: string;
    readonly values: readonly (number | null)[];
    /** Drawn dashed (e.g. a p99 next to its solid p50). */
    readonly dashed?: boolean;
    /** Index into the palette; the series' own index when absent. */
    readonly color?: number;
  }[];
}

/**
 * Renders a line chart as an SVG element. The x axis is logarithmic when the xs span a
 * factor of 10 or more (rates from idle to saturation), linear otherwise, with a tick at
 * every x; the value axis starts at 0.
 */
export function lineChartSvg(chart: LineChart): string {
  const legendRows = Math.ceil(chart.series.length / _LEGEND_PER_ROW);
  const top = _M.top + (legendRows - 1) * 16;
  const h = _H + (legendRows - 1) * 16;
  const plotW = _W - _M.left - _M.right;
  const plotH = h - top - _M.bottom;
  const xs = chart.xs;
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const log = lo > 0 && hi / lo >= 10;
  const pos = (v: number) => (log ? Math.log10(v) : v);
  const span = pos(hi) - pos(lo);
  // One x only: in the middle.
  const x = (v: number) =>
    _M.left + (span > 0 ? ((pos(v) - pos(lo)) / span) * plotW * 0.9 + plotW * 0.05 : plotW / 2);
  const values = chart.series.flatMap((s) => s.values).filter((v): v is number => v !== null);
  const yTop = niceCeiling(Math.max(0, ...values));
  const y = (v: number) => top + plotH - (v / yTop) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${_W} ${h}" width="${_W}" height="${h}" role="img" aria-label="${
      _esc(chart.title)
    }">`,
    `<text x="${_M.left}" y="20" font-size="15" font-weight="bold">${_esc(chart.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const yy = _fmt(y((yTop * i) / 5));
    out.push(
      `<line x1="${_M.left}" y1="${yy}" x2="${_W - _M.right}" y2="${yy}" stroke="#ddd"/>`,
      `<text x="${
        _M.left - 6
      }" y="${yy}" font-size="11" text-anchor="end" dominant-baseline="middle">${
        _esc(_label((yTop * i) / 5))
      }</text>`,
    );
  }
  const midY = _fmt(top + plotH / 2);
  out.push(
    `<text x="14" y="${midY}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${midY})">${
      _esc(chart.unit)
    }</text>`,
  );
  for (const v of xs) {
    out.push(
      `<line x1="${_fmt(x(v))}" y1="${top + plotH}" x2="${_fmt(x(v))}" y2="${
        top + plotH + 4
      }" stroke="#333"/>`,
      `<text x="${_fmt(x(v))}" y="${top + plotH + 16}" font-size="11" text-anchor="middle">${
        _esc(_label(v))
      }</text>`,
    );
  }
  out.push(
    `<text x="${_fmt(_M.left + plotW / 2)}" y="${h - 6}" font-size="11" text-anchor="middle">${
      _esc(chart.xUnit + (log ? " (log scale)" : ""))
    }</text>`,
  );
  chart.series.forEach((s, si) => {
    const color = _COLORS[(s.color ?? si) % _COLORS.length];
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : "";
    // A null breaks the line: draw each run of consecutive points as its own polyline.
    let run: string[] = [];
    const dots: string[] = [];
    const flush = () => {
      if (run.length > 1) {
        out.push(
          `<polyline points="${
            run.join(" ")
          }" fill="none" stroke="${color}" stroke-width="2"${dash}/>`,
        );
      }
      run = [];
    };
    xs.forEach((xv, i) => {
      const v = s.values[i];
      if (v === null || v === undefined) return flush();
      run.push(`${_fmt(x(xv))},${_fmt(y(v))}`);
      dots.push(
        `<circle cx="${_fmt(x(xv))}" cy="${_fmt(y(v))}" r="3" fill="${color}"><title>${
          _esc(`${s.name} at ${_label(xv)}: ${_label(v)} ${chart.unit}`)
        }</title></circle>`,
      );
    });
    flush();
    out.push(...dots); // over the lines
    const lx = _M.left + (si % _LEGEND_PER_ROW) * 190;
    const ly = 30 + Math.floor(si / _LEGEND_PER_ROW) * 16;
    out.push(
      `<line x1="${lx}" y1="${ly + 5}" x2="${lx + 16}" y2="${
        ly + 5
      }" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 20}" y="${ly + 9}" font-size="11">${_esc(s.name)}</text>`,
    );
  });
  out.push(
    `<line x1="${_M.left}" y1="${top + plotH}" x2="${_W - _M.right}" y2="${
      top + plotH
    }" stroke="#333"/>`,
    "</svg>",
  );
  return out.join("\n");
}

/** Renders a grouped bar chart as an SVG element (missing values draw no bar). */
export function barChartSvg(chart: BarChart): string {
  const plotW = _W - _M.left - _M.right;
  const plotH = _H - _M.top - _M.bottom;
  const values = chart.series.flatMap((s) => s.values).filter((v): v is number => v !== null);
  const top = niceCeiling(Math.max(0, ...values));
  const y = (v: number) => _M.top + plotH - (top > 0 ? (v / top) * plotH : 0);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${_W} ${_H}" width="${_W}" height="${_H}" role="img" aria-label="${
      _esc(chart.title)
    }">`,
    `<text x="${_M.left}" y="20" font-size="15" font-weight="bold">${_esc(chart.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (top * i) / 5;
    const yy = _fmt(y(v));
    out.push(
      `<line x1="${_M.left}" y1="${yy}" x2="${_W - _M.right}" y2="${yy}" stroke="#ddd"/>`,
      `<text x="${
        _M.left - 6
      }" y="${yy}" font-size="11" text-anchor="end" dominant-baseline="middle">${
        _esc(_label(v))
      }</text>`,
    );
  }
  out.push(
    `<text x="14" y="${
      _fmt(_M.top + plotH / 2)
    }" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${_fmt(_M.top + plotH / 2)})">${
      _esc(chart.unit)
    }</text>`,
  );
  const groupW = chart.categories.length > 0 ? plotW / chart.categories.length : plotW;
  const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
  chart.categories.forEach((cat, ci) => {
    const gx = _M.left + ci * groupW + groupW * 0.1;
    chart.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === null || v === undefined) return;
      const x = gx + si * barW;
      out.push(
        `<rect x="${_fmt(x)}" y="${_fmt(y(v))}" width="${_fmt(barW * 0.9)}" height="${
          _fmt(_M.top + plotH - y(v))
        }" fill="${_COLORS[si % _COLORS.length]}"><title>${
          _esc(`${cat} ${s.name}: ${_label(v)} ${chart.unit}`)
        }</title></rect>`,
        `<text x="${_fmt(x + barW * 0.45)}" y="${
          _fmt(y(v) - 3)
        }" font-size="9" text-anchor="middle">${_esc(_label(v))}</text>`,
      );
    });
    out.push(
      `<text x="${_fmt(gx + groupW * 0.4)}" y="${
        _H - _M.bottom + 16
      }" font-size="12" text-anchor="middle">${_esc(cat)}</text>`,
    );
  });
  chart.series.forEach((s, si) => {
    const x = _W - _M.right - (chart.series.length - si) * 90;
    out.push(
      `<rect x="${x}" y="30" width="10" height="10" fill="${_COLORS[si % _COLORS.length]}"/>`,
      `<text x="${x + 14}" y="39" font-size="11">${_esc(s.name)}</text>`,
    );
  });
  out.push(
    `<line x1="${_M.left}" y1="${_M.top + plotH}" x2="${_W - _M.right}" y2="${
      _M.top + plotH
    }" stroke="#333"/>`,
    "</svg>",
  );
  return out.join("\n");
}

/** The charts of a report. */
export function reportCharts(report: BenchReport): BarChart[] {
  const several = (report.config.rates?.length ?? 0) > 1;
  const name = (r: BenchReport["results"][number]) =>
    `${r.strategy} ${r.backend}` + (several && r.mode === "load" ? ` ${r.rate}/s` : "");
  const strategies = report.results.map(name);
  const serverIds = [
    ...new Set(report.results.flatMap((r) => Object.keys(r.clients_per_server))),
  ].sort((a, b) => Number(a) - Number(b));
  const charts: BarChart[] = [
    {
      title: "End-to-end latency by strategy",
      unit: "ms",
      categories: strategies,
      series: (["p50_ms", "p95_ms", "p99_ms"] as const).map((k) => ({
        name: k.replace("_ms", ""),
        values: report.results.map((r) => r[k]),
      })),
    },
    {
      title: "Clients per server by strategy",
      unit: "clients",
      categories: strategies,
      series: serverIds.map((id) => ({
        name: `server ${id}`,
        values: report.results.map((r) => r.clients_per_server[id] ?? 0),
      })),
    },
  ];
  const loads = report.results.filter((r) => r.mode === "load");
  if (loads.length > 0) {
    charts.push({
      title: "Throughput by strategy",
      unit: "per second",
      categories: [
        ...loads.map(name),
        ...(report.baseline ? ["echo baseline"] : []),
      ],
      series: [{
        name: "delivered/s",
        values: [...loads.map((r) => r.delivered_per_s), ...(report.baseline ? [null] : [])],
      }, {
        name: "echoes/s",
        values: [...loads.map(() => null), ...(report.baseline ? [report.baseline_per_s] : [])],
      }],
    });
  }
  return charts;
}

/**
 * The cost curve of a report with several open-loop rates (none otherwise): server CPU per
 * message, and p50 and p99 latency, against the offered rate; one line per strategy and
 * backend.
 */
export function costCurveCharts(report: BenchReport): LineChart[] {
  const loads = report.results.filter((r): r is LoadStrategyResult =>
    r.mode === "load" && r.rate !== null
  );
  const xs = [...new Set(loads.map((r) => r.rate!))].sort((a, b) => a - b);
  if (xs.length < 2) return [];
  const runs = [...new Set(loads.map((r) => `${r.strategy} ${r.backend}`))];
  const at = (run: string, key: "server_cpu_us_per_accepted" | "p50_ms" | "p99_ms") =>
    xs.map((rate) =>
      loads.find((r) => `${r.strategy} ${r.backend}` === run && r.rate === rate)?.[key] ?? null
    );
  return [
    {
      title: "Server CPU per message by offered rate",
      xUnit: "offered messages/s",
      unit: "µs per message",
      xs,
      series: runs.map((run) => ({ name: run, values: at(run, "server_cpu_us_per_accepted") })),
    },
    {
      title: "End-to-end latency by offered rate",
      xUnit: "offered messages/s",
      unit: "ms",
      xs,
      series: runs.flatMap((run, i) => [
        { name: `${run} p50`, values: at(run, "p50_ms"), color: i },
        { name: `${run} p99`, values: at(run, "p99_ms"), color: i, dashed: true },
      ]),
    },
  ];
}

/** Renders the whole report as a self-contained HTML page. */
export function renderHtmlReport(report: BenchReport): string {
  const status = report.ok
    ? `<p class="ok">OK: every accepted message reached every recipient exactly once.</p>`
    : `<p class="fail">FAILED: ${report.failures.map(_esc).join("<br>")}</p>`;
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    "<title>FastChat benchmark</title>",
    "<style>body{font-family:sans-serif;margin:2em;max-width:1400px}" +
    "svg{margin:0 1em 1em 0;border:1px solid #eee}pre{background:#f6f6f6;padding:1em;overflow:auto}" +
    ".ok{color:#2a7a2a;font-weight:bold}.fail{color:#b00;font-weight:bold;font-size:1.3em}</style>",
    "</head>",
    "<body>",
    `<h1>FastChat benchmark (${_esc(report.fastchat_version)})</h1>`,
    status,
    ...reportCharts(report).map(barChartSvg),
    ...costCurveCharts(report).map(lineChartSvg),
    `<pre>${_esc(renderTextReport(report))}</pre>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above `v` (an axis top); 1 for 0. */
export function niceCeiling(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function _label(v: number): string {
  if (v >= 1000) return String(Math.round(v));
  if (v >= 10) return String(Math.round(v * 10) / 10);
  return String(Math.round(v * 100) / 100);
}

function _fmt(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function _esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  ).replace(/'/g, "&#39;");
}
