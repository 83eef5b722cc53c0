/**
 * How the web client writes times and message states.
 *
 * @module
 */

import type { LineState } from "../core/view/view_state.ts";

/** `14:03` today, `Mar 4, 14:03` otherwise (the browser's locale and time zone). */
export function formatTime(at: number, now = Date.now()): string {
  const d = new Date(at);
  const time = d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (new Date(now).toDateString() === d.toDateString()) return time;
  return `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })}, ${time}`;
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
