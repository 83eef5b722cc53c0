/** Day separators between a conversation's lines in the web client (web/day_separators.ts). */

import assert from "node:assert/strict";
import { TimeFormat } from "../../core/view/time_format.ts";
import type { ChatLine } from "../../core/view/view_state.ts";
import { withDaySeparators } from "../../web/day_separators.ts";

function _line(key: string, at: number): ChatLine {
  return {
    key,
    kind: "in",
    from: "bob",
    text: key,
    at,
    msgId: null,
    clientMsgId: null,
    state: null,
    deliveredTo: [],
  };
}

Deno.test("withDaySeparators() puts a separator before each day's first line", () => {
  const time = new TimeFormat({ locale: "en-US", timeZone: "UTC" });
  const now = Date.UTC(2026, 10, 28, 15);
  const lines = [
    _line("a", Date.UTC(2026, 10, 20, 9)),
    _line("b", Date.UTC(2026, 10, 27, 9)),
    _line("c", Date.UTC(2026, 10, 27, 23, 59)),
    _line("d", Date.UTC(2026, 10, 28, 0, 1)),
  ];
  const shown = withDaySeparators(lines, time, now).map((i) =>
    i.kind === "day" ? `-- ${i.label}` : i.line.text
  );
  assert.deepEqual(shown, ["-- Fri, Nov 20, 2026", "a", "-- Yesterday", "b", "c", "-- Today", "d"]);
});

Deno.test("withDaySeparators() keys each separator apart from the lines", () => {
  const time = new TimeFormat({ locale: "en-GB", timeZone: "UTC" });
  const items = withDaySeparators([_line("a", 0), _line("b", 86_400_000)], time, 0);
  const keys = items.map((i) => i.key);
  assert.equal(new Set(keys).size, keys.length);
  assert.deepEqual(withDaySeparators([], time, 0), []);
});
