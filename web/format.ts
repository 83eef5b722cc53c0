/**
 * How the web client writes times and message states.
 *
 * @module
 */

import { TimeFormat } from "../core/view/time_format.ts";
import type { ConnState, LineState } from "../core/view/view_state.ts";

/**
 * Times as this browser's locale writes them (12 or 24 hours as it says), in the same format
 * as the terminal client's (core/view/time_format.ts).
 */
export const webTime: TimeFormat = new TimeFormat();

/**
 * The connection in words: `Online · server 3`, `Reconnecting (attempt 2)…`. The top bar and
 * the status pane both show this, so they cannot disagree about the server.
 */
export function connText(conn: ConnState, server: number | null, attempts: number): string {
  switch (conn) {
    case "online":
      return `Online · server ${server}`;
    case "reconnecting":
      return attempts > 0 ? `Reconnecting (attempt ${attempts})…` : "Reconnecting…";
    case "connecting":
      return "Connecting…";
    case "offline":
      return "Offline";
  }
}

/** A message state as a mark and words (the words for screen readers and tooltips). */
export function stateLabel(state: LineState): { mark: string; words: string } {
  switch (state) {
    case "sending":
      return { mark: "…", words: "sending" };
    case "queued":
      return { mark: "◷", words: "queued until the connection is back" };
    case "accepted":
      return { mark: "✓", words: "sent" };
    case "delivered":
      return { mark: "✓✓", words: "delivered" };
    case "failed":
      return { mark: "!", words: "failed" };
  }
}

/** A size as people read it: `512 B`, `4.5 KB`, `200 KB`, `1.5 MB` (1 KB = 1024 bytes). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let n = bytes / 1024;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  const shown = n < 10 ? Math.round(n * 10) / 10 : Math.round(n);
  return `${shown} ${units[unit]}`;
}

/** A file message as shown: its name and, when known, its size (`photo.bin · 200 KB`). */
export function fileLabel(file: { name: string; size: number | null }): string {
  return file.size === null ? file.name : `${file.name} · ${formatSize(file.size)}`;
}
