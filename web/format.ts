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
