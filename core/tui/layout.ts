/**
 * Lays a conversation out as screen rows of a given width: a day separator where the day
 * changes ("Today", "Yesterday", a date), `time name: text` with the message's state (times and
 * days as the web client writes them, see core/view/time_format.ts), continuation rows
 * indented under the text. Pure, so scrolling can count rows and tests can check the result.
 *
 * @module
 */

import { CONTINUATION_MARK, displaySafe, displayWidth, wrapToWidth } from "./text.ts";
import { TimeFormat } from "../view/time_format.ts";
import type { ChatLine, LineState } from "../view/view_state.ts";

/** One screen row. */
export interface Row {
  readonly key: string;
  readonly text: string;
  readonly tone: "normal" | "dim" | "mine" | "warning" | "separator" | "name";
}

/** What starts each item of the client's own lists (see `ChatLine.list`). */
export const LIST_MARK = "  • ";

const _STATE_MARK: Record<LineState, string> = {
  sending: " …",
  queued: " (queued: offline)",
  accepted: " ✓",
  delivered: " ✓✓",
  failed: " ✗ not sent",
};

/** Times as a terminal in the C locale shows them (the caller passes the user's). */
const _TIME = new TimeFormat({ locale: "en-GB" });

/**
 * Rows for `lines` at `width` columns; times and days written by `time` (the same format as
 * the web client's), days relative to `now`.
 */
export function layoutLines(
  lines: readonly ChatLine[],
  width: number,
  myName: string,
  time: TimeFormat = _TIME,
  now: number = Date.now(),
): Row[] {
  const rows: Row[] = [];
  let day: number | null = null;
  for (const l of lines) {
    const thisDay = time.dayNumber(l.at);
    if (thisDay !== day) {
      day = thisDay;
      const label = ` ${time.day(l.at, now)} `;
      const side = Math.max(2, Math.floor((width - displayWidth(label)) / 2));
      rows.push({
        key: `${l.key}-day`,
        text: "─".repeat(side) + label + "─".repeat(side),
        tone: "separator",
      });
    }
    const clock = `${time.clock(l.at)} `;
    let head: string;
    let tone: Row["tone"];
    if (l.kind === "info" || l.kind === "warning") {
      head = `${clock}* `;
      tone = l.kind === "warning" ? "warning" : "dim";
    } else {
      head = `${clock}${displaySafe(l.from === myName ? "you" : l.from, { singleLine: true })}: `;
      tone = l.kind === "out" ? "mine" : "normal";
    }
    const indent = " ".repeat(Math.min(displayWidth(head), Math.floor(width / 3)));
    // Every line of the text after the first starts with its mark; the rows it wraps onto
    // line up with the text after the mark, not with the mark.
    const mark = l.list ? LIST_MARK : CONTINUATION_MARK;
    let body = displaySafe(l.text, { continuation: mark });
    if (l.state !== null) {
      body += _STATE_MARK[l.state];
      if (l.state === "failed") {
        body += `${l.reason ? `: ${displaySafe(l.reason, { singleLine: true })}` : ""} (/resend)`;
      }
      if (l.state === "delivered" && l.deliveredTo.length > 1) {
        body += ` (${l.deliveredTo.join(", ")})`;
      }
    }
    const texts: string[] = [];
    body.split("\n").forEach((part, p) => {
      const lead = p === 0 ? "" : mark;
      const hang = " ".repeat(displayWidth(lead));
      const avail = Math.max(8, width - indent.length - hang.length);
      wrapToWidth(part.slice(lead.length), avail).forEach((text, i) => {
        texts.push((p === 0 && i === 0 ? head : indent) + (i === 0 ? lead : hang) + text);
      });
    });
    texts.forEach((text, i) => rows.push({ key: `${l.key}-${i}`, text, tone }));
  }
  return rows;
}

/** The rows to show in a pane of `height`, `scroll` rows up from the bottom. */
export function visibleRows(rows: readonly Row[], height: number, scroll: number): Row[] {
  const endAt = Math.max(0, rows.length - scroll);
  return rows.slice(Math.max(0, endAt - height), endAt);
}

/** A progress bar `width` columns wide. */
export function progressBar(done: number, total: number, width: number): string {
  const share = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(share * width);
  return "█".repeat(filled) + "░".repeat(width - filled) + ` ${Math.round(share * 100)}%`;
}
