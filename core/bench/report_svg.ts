/**
 * The `--report FILE` output: one self-contained HTML page (no scripts, no external files)
 * with hand-written SVG bar charts: latency percentiles per strategy, clients per server
 * per strategy, and throughput (with the echo baseline when measured), followed by the
 * text report. Pure string building, so tests check the markup.
 *
 * @module
 */

import { renderTextReport } from "./report_text.ts";
import type { BenchReport } from "./run_bench.ts";

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
  const strategies = report.results.map((r) => `${r.strategy} ${r.backend}`);
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
        ...loads.map((r) => `${r.strategy} ${r.backend}`),
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
