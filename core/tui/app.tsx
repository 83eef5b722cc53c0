/**
 * The full-screen client's screen, on Ink (React for terminals): a side list of
 * conversations with unread counts, the current conversation's messages, transfers as
 * progress bars, a notice line, the input line and a status bar (`/help` writes its text into
 * the open conversation, see help.ts). It only draws the controller's state and forwards
 * keys and pastes to it.
 *
 * @module
 */

import React, { useEffect, useState, useSyncExternalStore } from "react";
import { Box, Text, useInput, usePaste } from "ink";
import { displaySafe, displayWidth, truncateToWidth } from "./text.ts";
import type { TuiController } from "./controller.ts";
import { keyAction, splitTyped } from "./keymap.ts";
import { layoutLines, progressBar, type Row, visibleRows } from "./layout.ts";
import type { Conversation, ViewState } from "../view/view_state.ts";
import { terminalLocale, TimeFormat } from "../view/time_format.ts";

const _SIDE = 24;

/** Times in the user's locale (as the web client shows them in a browser set to it). */
function _timeFormat(): TimeFormat {
  const env = Object.fromEntries(["LC_ALL", "LC_TIME", "LANG"].map((k) => [k, Deno.env.get(k)]));
  return new TimeFormat({ locale: terminalLocale(env) });
}

/** The whole screen. */
export function App({ controller }: { controller: TuiController }): React.ReactElement {
  const snap = useSyncExternalStore(
    (fn: () => void) => controller.subscribe(fn),
    () => controller.snapshot,
  );
  const [size, setSize] = useState(_consoleSize);
  const [time] = useState(_timeFormat);
  useEffect(() => {
    // The terminal was resized: lay everything out again.
    const onResize = () => setSize(_consoleSize());
    Deno.addSignalListener("SIGWINCH", onResize);
    return () => Deno.removeSignalListener("SIGWINCH", onResize);
  }, []);

  const { view, line } = snap;
  const paneWidth = Math.max(20, size.cols - _SIDE - 3);
  const bottom = 3 + view.transfers.length;
  const paneHeight = Math.max(3, size.rows - bottom - 2);
  const current = view.conversations.find((c) => c.key === view.current)!;
  const rows = layoutLines(current.lines, paneWidth, view.me, time);
  const maxScroll = Math.max(0, rows.length - paneHeight);

  useInput((input, key) => {
    // Typed-ahead Tab or Enter can arrive in one chunk with text; split it into key presses.
    const chunked = !key.ctrl && !key.meta && input.length > 1 && /[\t\r]/.test(input);
    const presses = chunked ? splitTyped(input) : [{ input, key }];
    for (const p of presses) {
      controller.act(keyAction(p.input, p.key, controller.snapshot.line), paneHeight, maxScroll);
    }
  });
  usePaste((text) => controller.paste(text));

  return (
    <Box flexDirection="column" width={size.cols} height={size.rows}>
      <Box flexDirection="row" height={paneHeight + 2}>
        <Sidebar view={view} height={paneHeight} />
        <Box
          flexDirection="column"
          borderStyle="round"
          borderColor="gray"
          width={paneWidth + 2}
          paddingLeft={0}
        >
          {visibleRows(rows, paneHeight, Math.min(view.scroll, maxScroll)).map((r) => (
            <RowView key={r.key} row={r} width={paneWidth} />
          ))}
        </Box>
      </Box>
      {view.transfers.map((t) => (
        <Text key={t.what} wrap="truncate">
          {truncateToWidth(displaySafe(t.what, { singleLine: true }), Math.max(10, size.cols - 30))}
          {" "}
          {progressBar(t.done, t.total, 20)}
        </Text>
      ))}
      <Text color={view.notice?.error ? "red" : "yellow"} wrap="truncate">
        {view.notice
          ? truncateToWidth(displaySafe(view.notice.text, { singleLine: true }), size.cols)
          : " "}
      </Text>
      <InputLine text={line.text} cursor={line.cursor} width={size.cols} target={current} />
      <StatusBar view={view} scroll={Math.min(view.scroll, maxScroll)} width={size.cols} />
    </Box>
  );
}

function _consoleSize(): { cols: number; rows: number } {
  try {
    const { columns, rows } = Deno.consoleSize();
    return { cols: columns, rows };
  } catch {
    return { cols: 80, rows: 24 };
  }
}

function Sidebar({ view, height }: { view: ViewState; height: number }): React.ReactElement {
  const list = view.conversations.slice(0, height);
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="gray" width={_SIDE}>
      {list.map((c, i) => (
        <Text
          key={c.key}
          inverse={c.key === view.current}
          bold={c.unread > 0}
          color={c.keyWarning ? "red" : undefined}
          wrap="truncate"
        >
          {_sideLabel(c, i)}
        </Text>
      ))}
    </Box>
  );
}

function _sideLabel(c: Conversation, i: number): string {
  const num = i < 9 ? `${i + 1} ` : "  ";
  if (c.kind === "status") return `${num}* status`;
  const mark = c.kind === "group" ? "#" : c.online === true ? "●" : c.online === false ? "○" : "@";
  const flags = `${c.verified ? " ✓" : ""}${c.keyWarning ? " !" : ""}`;
  const unread = c.unread > 0 ? ` (${c.unread})` : "";
  const name = truncateToWidth(
    displaySafe(c.name, { singleLine: true }),
    _SIDE - 8 - unread.length - flags.length,
  );
  return `${num}${mark}${name}${flags}${unread}`;
}

function RowView({ row, width }: { row: Row; width: number }): React.ReactElement {
  const text = truncateToWidth(row.text, width);
  switch (row.tone) {
    case "separator":
      return <Text color="gray">{text}</Text>;
    case "dim":
      return <Text dimColor>{text}</Text>;
    case "warning":
      return <Text color="red" bold>{text}</Text>;
    case "mine":
      return <Text color="cyan">{text}</Text>;
    default:
      return <Text>{text}</Text>;
  }
}

/**
 * The input line, scrolled so the cursor stays visible; a long paste shows its end and
 * how many characters it holds.
 */
function InputLine(
  { text, cursor, width, target }: {
    text: string;
    cursor: number;
    width: number;
    target: Conversation;
  },
): React.ReactElement {
  const prompt = target.kind === "status"
    ? "> "
    : `${target.kind === "group" ? "#" : "@"}${target.name}> `;
  const flat = displaySafe(text, { singleLine: true, keepBidi: true });
  const before = displaySafe(text.slice(0, cursor), { singleLine: true, keepBidi: true });
  const room = Math.max(10, width - displayWidth(prompt) - 12);
  let shownBefore = before;
  while (displayWidth(shownBefore) > room) {
    shownBefore = shownBefore.slice(Math.ceil(shownBefore.length / 4));
  }
  const after = truncateToWidth(
    flat.slice(before.length),
    Math.max(0, room - displayWidth(shownBefore)),
  );
  const count = text.length > 200 ? ` [${text.length} chars]` : "";
  return (
    <Text wrap="truncate">
      <Text color="green">{prompt}</Text>
      {shownBefore}
      <Text inverse>{after.slice(0, 1) || " "}</Text>
      {after.slice(1)}
      <Text dimColor>{count}</Text>
    </Text>
  );
}

function StatusBar(
  { view, scroll, width }: { view: ViewState; scroll: number; width: number },
): React.ReactElement {
  const conn = view.conn === "online"
    ? `online · server ${view.server}`
    : view.conn === "reconnecting"
    ? `reconnecting… (attempt ${view.attempts})`
    : view.conn;
  const unread = view.conversations.reduce((n, c) => n + c.unread, 0);
  const parts = [
    `${view.me}${view.myId ? ` #${view.myId}` : ""}`,
    conn,
    unread > 0 ? `${unread} unread` : "",
    scroll > 0 ? `scrolled ${scroll} up (PgDn)` : "",
    "/help · Ctrl-N/P switch · Ctrl-C quit",
  ].filter((p) => p !== "");
  return (
    <Text inverse color={view.conn === "online" ? undefined : "yellow"} wrap="truncate">
      {truncateToWidth(` ${parts.join("  │  ")}`, width).padEnd(width)}
    </Text>
  );
}
