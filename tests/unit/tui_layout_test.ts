/**
 * The full-screen client's layout without a terminal: rows for a conversation at a width,
 * the rows a scrolled pane shows, and progress bars.
 */

import assert from "node:assert/strict";
import { layoutLines, progressBar, visibleRows } from "../../core/tui/layout.ts";
import { TimeFormat } from "../../core/view/time_format.ts";
import { displayWidth } from "../../core/tui/text.ts";
import type { ChatLine } from "../../core/view/view_state.ts";

function _line(over: Partial<ChatLine>): ChatLine {
  return {
    key: crypto.randomUUID(),
    kind: "in",
    from: "bob",
    text: "hi",
    at: new Date(2026, 10, 27, 9, 5).getTime(),
    msgId: 1,
    clientMsgId: null,
    state: null,
    deliveredTo: [],
    ...over,
  };
}

Deno.test("layoutLines() puts a date separator where the day changes", () => {
  const rows = layoutLines(
    [
      _line({}),
      _line({ at: new Date(2026, 10, 27, 23, 59).getTime() }),
      _line({ at: new Date(2026, 10, 28, 0, 1).getTime() }),
    ],
    60,
    "alice",
  );
  const separators = rows.filter((r) => r.tone === "separator");
  assert.equal(separators.length, 2);
  assert.match(separators[0]!.text, /Fri, 27 Nov 2026/);
  assert.match(separators[1]!.text, /Sat, 28 Nov 2026/);
  assert.equal(rows[1]!.text, "09:05 bob: hi");
});

Deno.test("layoutLines() writes times and days as the TimeFormat it is given, as the web does", () => {
  const us = new TimeFormat({ locale: "en-US", timeZone: "UTC" });
  const rows = layoutLines(
    [
      _line({ at: Date.UTC(2026, 10, 27, 14, 3) }),
      _line({ at: Date.UTC(2026, 10, 28, 9, 5) }),
    ],
    40,
    "alice",
    us,
    Date.UTC(2026, 10, 28, 12),
  );
  const shown = rows.map((r) => r.text.replace(/─/g, "").replace(/\s+/g, " ").trim());
  assert.deepEqual(shown, ["Yesterday", "2:03 PM bob: hi", "Today", "9:05 AM bob: hi"]);
});

Deno.test("layoutLines() shows your messages as you, with their state", () => {
  const rows = layoutLines(
    [
      _line({ kind: "out", from: "alice", state: "sending" }),
      _line({ kind: "out", from: "alice", state: "queued" }),
      _line({ kind: "out", from: "alice", state: "delivered", deliveredTo: ["bob", "carol"] }),
    ],
    80,
    "alice",
  );
  assert.deepEqual(rows.slice(1).map((r) => [r.text, r.tone]), [
    ["09:05 you: hi …", "mine"],
    ["09:05 you: hi (queued: offline)", "mine"],
    ["09:05 you: hi ✓✓ (bob, carol)", "mine"],
  ]);
});

Deno.test("layoutLines() wraps long and multi-line text under the message, never at column 0", () => {
  const rows = layoutLines([_line({ text: "word ".repeat(20) + "\nbob: fake line" })], 30, "alice");
  const body = rows.slice(1);
  assert.ok(body.length > 2);
  assert.ok(body[0]!.text.startsWith("09:05 bob: "));
  for (const r of body.slice(1)) assert.ok(r.text.startsWith("  "), JSON.stringify(r.text));
  assert.ok(body.some((r) => r.text.includes("↳ bob: fake line")), "a line break is marked");
});

Deno.test("visibleRows() shows the bottom, or scrolled-up rows", () => {
  const rows = Array.from(
    { length: 10 },
    (_, i) => ({ key: String(i), text: `r${i}`, tone: "normal" as const }),
  );
  assert.deepEqual(visibleRows(rows, 3, 0).map((r) => r.text), ["r7", "r8", "r9"]);
  assert.deepEqual(visibleRows(rows, 3, 4).map((r) => r.text), ["r3", "r4", "r5"]);
  assert.deepEqual(visibleRows(rows, 3, 50).map((r) => r.text), []);
  assert.deepEqual(visibleRows(rows.slice(0, 2), 3, 0).map((r) => r.text), ["r0", "r1"]);
});

Deno.test("progressBar() fills in proportion and says the percentage", () => {
  assert.equal(progressBar(0, 10, 10), "░░░░░░░░░░ 0%");
  assert.equal(progressBar(5, 10, 10), "█████░░░░░ 50%");
  assert.equal(progressBar(10, 10, 4), "████ 100%");
  assert.equal(progressBar(3, 0, 4), "░░░░ 0%");
});

Deno.test("layoutLines() lines up a marked line's wrapped rows with its text, not its mark", () => {
  const text = "first line\n" + "second line that is long enough to wrap ".repeat(2).trim();
  const rows = layoutLines([_line({ text })], 40, "alice").slice(1).map((r) => r.text);
  assert.deepEqual(rows, [
    "09:05 bob: first line",
    "             ↳ second line that is long",
    "               enough to wrap second",
    "               line that is long enough",
    "               to wrap",
  ]);
  for (const r of rows) assert.ok(displayWidth(r) <= 40, r);
});

Deno.test("layoutLines() shows the client's own lists with a bullet, not the continuation mark", () => {
  const rows = layoutLines(
    [_line({
      kind: "info",
      text: "Safety number with bob:\n12345 67890\n11111 22222",
      list: true,
    })],
    40,
    "alice",
  ).slice(1).map((r) => r.text);
  assert.deepEqual(rows, [
    "09:05 * Safety number with bob:",
    "          • 12345 67890",
    "          • 11111 22222",
  ]);
  assert.ok(rows.every((r) => !r.includes("↳")));
});
