/**
 * The full-screen client's logic without a screen: it owns the view state, the input line
 * and its history, turns engine events and key actions into new state, and turns a
 * submitted line into an engine command (plain text to the current conversation, `/cmd`
 * anywhere, bare commands on the status pane). The Ink app subscribes to it and draws.
 *
 * @module
 */

import { COMMAND_SPECS, CommandError, parseCommand } from "../client/engine/commands.ts";
import type { ClientCommand } from "../client/engine/commands.ts";
import type { ClientEvent } from "../client/engine/events.ts";
import { complete } from "./completion.ts";
import { type KeyAction } from "./keymap.ts";
import {
  type EditorState,
  EMPTY_HISTORY,
  EMPTY_LINE,
  historyDown,
  type HistoryState,
  historyUp,
  remember,
} from "./line_editor.ts";
import { tuiHelpText } from "./help.ts";
import {
  applyEvent,
  clearNotice,
  cycle,
  findConversation,
  initialView,
  notice,
  query,
  scrollBy,
  select,
  setOnline,
  showHelp,
  submitting,
  type ViewState,
} from "../view/view_state.ts";
import { CommandQueue } from "../view/command_queue.ts";
import { contactIds } from "../view/presence_poller.ts";

/** What the controller needs from the engine. */
export interface CommandRunner {
  run(cmd: ClientCommand): Promise<void>;
}

/** Commands the full-screen client handles itself. */
export const TUI_COMMANDS = ["query", "close"] as const;

/** The controller's whole state. */
export interface TuiSnapshot {
  readonly view: ViewState;
  readonly line: EditorState;
  readonly history: HistoryState;
}

/** See the module documentation. */
export class TuiController {
  #snap: TuiSnapshot;
  readonly #listeners = new Set<() => void>();
  #quit = Promise.withResolvers<void>();
  /** Commands run one at a time, in the order they were entered. */
  readonly #queue: CommandQueue;

  constructor(me: string, runner: CommandRunner) {
    this.#snap = { view: initialView(me), line: EMPTY_LINE, history: EMPTY_HISTORY };
    this.#queue = new CommandQueue(runner, {
      get: () => this.#snap.view,
      set: (view) => this.#set({ ...this.#snap, view }),
    });
  }

  /** The current state. */
  get snapshot(): TuiSnapshot {
    return this.#snap;
  }

  /** Resolves when the user asks to quit. */
  get quitRequested(): Promise<void> {
    return this.#quit.promise;
  }

  /** Calls `fn` after every change; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** An engine event. */
  onEvent(e: ClientEvent): void {
    this.#set({ ...this.#snap, view: applyEvent(this.#snap.view, e) });
  }

  /** Contacts' online status, by user ID (polled by the caller). */
  onPresence(online: ReadonlyMap<number, boolean | null>): void {
    this.#set({ ...this.#snap, view: setOnline(this.#snap.view, online) });
  }

  /** User IDs of the direct conversations, for presence polling. */
  contactIds(): number[] {
    return contactIds(this.#snap.view);
  }

  /** Text pasted as one piece: inserted whole, newlines included. */
  paste(text: string): void {
    const { line } = this.#snap;
    const clean = text.replace(/\r\n?/g, "\n");
    this.#set({
      ...this.#snap,
      line: {
        text: line.text.slice(0, line.cursor) + clean + line.text.slice(line.cursor),
        cursor: line.cursor + clean.length,
      },
    });
  }

  /** A key action (see `keymap.ts`); `pageRows` is the message pane's height. */
  act(action: KeyAction, pageRows: number, maxScroll: number): void {
    const s = this.#snap;
    switch (action.kind) {
      case "edit":
        this.#set({ ...s, line: action.edit(s.line) });
        return;
      case "history": {
        const [history, line] = action.direction < 0
          ? historyUp(s.history, s.line)
          : historyDown(s.history, s.line);
        this.#set({ ...s, history, line });
        return;
      }
      case "complete": {
        const result = complete(s.line, this.#completionSource());
        let view = s.view;
        if (result.candidates.length > 1) view = notice(view, result.candidates.join("  "));
        this.#set({ ...s, line: result.line, view });
        return;
      }
      case "conversation":
        this.#open(cycle(s.view, action.delta));
        return;
      case "jump": {
        const conv = s.view.conversations[action.index - 1];
        if (conv) this.#open(select(s.view, conv.key));
        return;
      }
      case "scroll":
        this.#set({
          ...s,
          view: scrollBy(s.view, action.pages * Math.max(1, pageRows - 2), maxScroll),
        });
        return;
      case "close":
        this.#set({ ...s, view: clearNotice(s.view) });
        return;
      case "quit":
        this.#quit.resolve();
        return;
      case "submit":
        this.#submit();
        return;
      case "none":
        return;
    }
  }

  /** Waits until every entered command has run. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  #submit(): void {
    const s = this.#snap;
    const text = s.line.text;
    this.#set({
      ...s,
      line: EMPTY_LINE,
      history: remember(s.history, text),
      // A notice answers the line before; the next line makes it stale.
      view: clearNotice(s.view),
    });
    if (text.trim() === "") return;
    const current = this.#snap.view.conversations.find((c) => c.key === this.#snap.view.current)!;
    const slash = text.startsWith("/");
    if (slash || current.kind === "status") {
      this.#command(slash ? text.slice(1) : text);
      return;
    }
    const cmd: ClientCommand = current.kind === "group"
      ? { name: "group_message", group: String(current.id), text }
      : { name: "single_message", user: current.name, text };
    this.#set({ ...this.#snap, view: submitting(this.#snap.view, current.key, text) });
    this.#run(cmd);
  }

  #command(line: string): void {
    const [word = "", ...rest] = line.trim().split(/\s+/);
    if (word === "query" || word === "q" || word === "open") {
      const name = rest[0];
      if (name === undefined) {
        this.#set({ ...this.#snap, view: notice(this.#snap.view, "Usage: /query NAME", true) });
        return;
      }
      this.#open(query(this.#snap.view, name));
      return;
    }
    if (word === "close") {
      this.#set({ ...this.#snap, view: select(this.#snap.view, "*") });
      return;
    }
    if (word === "help" || word === "?") {
      this.#set({ ...this.#snap, view: showHelp(this.#snap.view, tuiHelpText()) });
      return;
    }
    let cmd: ClientCommand | null;
    try {
      cmd = parseCommand(line);
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      this.#set({ ...this.#snap, view: notice(this.#snap.view, err.message, true) });
      return;
    }
    if (cmd === null) return;
    if (cmd.name === "quit") {
      this.#quit.resolve();
      return;
    }
    if (cmd.name === "single_message") {
      const key = findConversation(this.#snap.view, cmd.user)?.key ?? `@${cmd.user}`;
      this.#set({ ...this.#snap, view: submitting(this.#snap.view, key, cmd.text) });
    }
    if (cmd.name === "resend" && cmd.target === null) {
      // In a conversation, /resend and /resend N are about that conversation's messages.
      const view = this.#snap.view;
      const current = view.conversations.find((c) => c.key === view.current)!;
      if (current.kind !== "status") {
        cmd = { ...cmd, target: current.kind === "group" ? String(current.id) : current.name };
      }
    }
    this.#run(cmd, true);
  }

  /** Shows a conversation, asking once for its stored history. */
  #open(view: ViewState): void {
    this.#set({ ...this.#snap, view });
    this.#queue.loadHistory(view);
  }

  /** Queues `cmd`; `typed`: the user entered it, so its answer (a list) is written out. */
  #run(cmd: ClientCommand, typed = false): void {
    void this.#queue.run(cmd, typed);
  }

  #completionSource() {
    const commands = [
      ...Object.entries(COMMAND_SPECS).flatMap(([name, spec]) => [name, ...spec.aliases]),
      ...TUI_COMMANDS,
    ];
    const names = this.#snap.view.conversations.filter((c) => c.kind !== "status").map((c) =>
      c.name
    );
    return { commands, names };
  }

  #set(next: TuiSnapshot): void {
    this.#snap = next;
    for (const fn of this.#listeners) fn();
  }
}
