/**
 * A conversation's lines with a day separator before the first line of each day ("Today",
 * "Yesterday", or the date), as messengers show them; the separator says the day so each
 * line needs only its clock time.
 *
 * @module
 */

import type { ChatLine } from "../core/view/view_state.ts";
import type { TimeFormat } from "../core/view/time_format.ts";

/** One entry of the message list: a day separator or a line. */
export type DayItem =
  | { readonly kind: "day"; readonly key: string; readonly label: string }
  | { readonly kind: "line"; readonly key: string; readonly line: ChatLine };

/** `lines` in order, each day's first preceded by its separator; days relative to `now`. */
export function withDaySeparators(
  lines: readonly ChatLine[],
  time: TimeFormat,
  now: number,
): DayItem[] {
  const items: DayItem[] = [];
  let day: number | null = null;
  for (const line of lines) {
    const thisDay = time.dayNumber(line.at);
    if (thisDay !== day) {
      day = thisDay;
      items.push({ kind: "day", key: `${line.key}-day`, label: time.day(line.at, now) });
    }
    items.push({ kind: "line", key: line.key, line });
  }
  return items;
}
