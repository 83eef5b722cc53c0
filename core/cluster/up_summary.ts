/**
 * The block `fastchat up` prints once every child is healthy: where to open the web client,
 * the balancer, each server with its WebSocket URL and process ID, the data directory and
 * database, and how to stop. It starts with a blank line so it stands apart from any log
 * lines above it, and ends with "Press Ctrl-C to stop." (which tests and scripts wait for).
 *
 * @module
 */

import { type ServerEntry, serverUrl } from "./servers_file.ts";
import type { ClusterProcess } from "./supervisor.ts";

/** What the summary shows. */
export interface UpSummary {
  readonly servers: readonly ServerEntry[];
  readonly strategy: string;
  readonly balancerUrl: string;
  /** The children running now, for their process IDs. */
  readonly processes: readonly ClusterProcess[];
  readonly dataDir: string;
  /** The main database as it may be shown (a PostgreSQL URL without its password). */
  readonly database: string;
  /** True when the children log only warnings and errors. */
  readonly quiet: boolean;
}

/** The summary's lines, the first one empty and the last one "Press Ctrl-C to stop.". */
export function upSummaryLines(s: UpSummary): string[] {
  const pid = (serverId: number | null) => {
    const p = s.processes.find((p) => p.serverId === serverId);
    return p ? `pid ${p.pid}` : "not running";
  };
  const lines = [
    "",
    `FastChat is up: ${s.servers.length} server(s), strategy ${s.strategy}`,
    `  web       ${s.balancerUrl}/  (open it in a browser to chat)`,
    `  balancer  ${s.balancerUrl}  ${pid(null)}  ` +
    `(clients ask GET ${s.balancerUrl}/assign; status at /status)`,
  ];
  const width = Math.max(...s.servers.map((e) => serverUrl(e).length));
  for (const e of s.servers) {
    lines.push(`  server ${e.id}  ${serverUrl(e).padEnd(width)}  ${pid(e.id)}`);
  }
  lines.push(`  data      ${s.dataDir}`);
  lines.push(`  database  ${s.database}`);
  if (s.quiet) lines.push("  logs      warnings and errors only (--verbose shows every event)");
  lines.push("Press Ctrl-C to stop.");
  return lines;
}
