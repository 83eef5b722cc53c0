/**
 * The web client's logic without a page: it owns what the page shows (the shared
 * `ViewState` of core/view/, plus requests, blocked users and group details), turns engine
 * events and the user's actions into new state, and the user's actions into engine
 * commands. The Preact components subscribe to it and draw; tests drive it with a fake
 * engine.
 *
 * @module
 */

import { CommandError, helpText, parseCommand } from "../core/client/engine/commands.ts";
import type { ClientCommand } from "../core/client/engine/commands.ts";
import type { ClientEvent } from "../core/client/engine/events.ts";
import {
  applyEvent,
  clearNotice,
  findConversation,
  groupKey,
  initialView,
  notice,
  query,
  select,
  setOnline,
  showHelp,
  statusWarning,
  submitting,
  type ViewState,
} from "../core/view/view_state.ts";
import { CommandQueue, HISTORY_PAGE } from "../core/view/command_queue.ts";
import { contactIds } from "../core/view/presence_poller.ts";

/** What the controller needs from the engine. */
export interface WebEngine {
  run(cmd: ClientCommand): Promise<void>;
}

/** A user asking to talk (not a contact yet). */
export interface RequestInfo {
  readonly id: number;
  readonly user: string;
  readonly text: string | null;
  readonly messages: number;
}

/** A group someone who is not a contact put the user in (accept, decline or block them). */
export interface GroupRequestInfo {
  readonly id: number;
  readonly name: string;
  readonly by: number;
  readonly byName: string;
}

/** A group as its management panel shows it. */
export interface GroupInfo {
  readonly id: number;
  readonly name: string;
  readonly admin: number;
  readonly adminName: string;
  readonly members: readonly { id: number; name: string }[];
}

/** Everything the page shows. */
export interface WebSnapshot {
  readonly view: ViewState;
  readonly requests: readonly RequestInfo[];
  readonly groupRequests: readonly GroupRequestInfo[];
  readonly blocked: readonly { id: number; user: string }[];
  /** The account's devices, from the newest checked list (this one marked `current`). */
  readonly devices: readonly DeviceInfo[];
  readonly groups: ReadonlyMap<number, GroupInfo>;
  /** The last safety number asked for, shown in a dialog. */
  readonly safety: { user: string; number: string; verified: boolean } | null;
  /** Where each received file was saved (as the files port names it), by message ID. */
  readonly files: ReadonlyMap<number, string>;
}

/** Messages loaded when a conversation is first opened (re-exported for the tests). */
export { HISTORY_PAGE };

/** One of the account's devices, as the page lists it. */
export interface DeviceInfo {
  readonly id: number;
  readonly name: string;
  /** When it was linked, Unix milliseconds. */
  readonly added: number;
  /** This browser. */
  readonly current: boolean;
}

/** See the module documentation. */
export class WebController {
  #snap: WebSnapshot;
  readonly #listeners = new Set<() => void>();
  readonly #queue: CommandQueue;
  /**
   * Called when the user leaves the chat by a command: `/quit`, or `/logout` once the engine
   * has ended the session (the page then shows the login form, as after "Log out").
   */
  onLeave: (() => void) | null = null;

  constructor(me: string, engine: WebEngine) {
    this.#snap = {
      view: initialView(me),
      requests: [],
      groupRequests: [],
      devices: [],
      blocked: [],
      groups: new Map(),
      safety: null,
      files: new Map(),
    };
    this.#queue = new CommandQueue(engine, {
      get: () => this.#snap.view,
      set: (view) => this.#set({ ...this.#snap, view }),
    });
  }

  /** The current state. */
  get snapshot(): WebSnapshot {
    return this.#snap;
  }

  /** Calls `fn` after every change; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** An engine event. */
  onEvent(e: ClientEvent): void {
    const s = this.#snap;
    // A request is in one place, `requests`: the box with Accept and Block on the status
    // page, and the badge that counts them. The view's line and notice for it (words for the
    // terminal) would repeat it, and outlive the Accept.
    let next: WebSnapshot = e.event === "request" ? s : { ...s, view: applyEvent(s.view, e) };
    switch (e.event) {
      case "request": {
        const r = { id: e.id, user: e.user, text: e.text, messages: e.messages };
        next = { ...next, requests: [...s.requests.filter((x) => x.id !== e.id), r] };
        break;
      }
      case "requests":
        next = {
          ...next,
          requests: e.requests,
          blocked: e.blocked,
          groupRequests: (e.groups ?? []).map((g) => ({
            id: g.id,
            name: g.name,
            by: g.by,
            byName: g.by_name,
          })),
        };
        break;
      case "group_request": {
        const r = { id: e.group, name: e.name, by: e.by, byName: e.by_name };
        // Shown with its buttons on the status page, as a person's request is.
        next = {
          ...next,
          view: { ...next.view, notice: s.view.notice },
          groupRequests: [...s.groupRequests.filter((x) => x.id !== e.group), r],
        };
        break;
      }
      case "group_joined":
        next = {
          ...next,
          groupRequests: s.groupRequests.filter((x) => x.id !== e.group),
          groups: new Map(s.groups).set(
            e.group,
            _group(e.group, e.name, e.admin, e.admin_name, e.members, e.member_names),
          ),
        };
        break;
      case "group_declined":
        next = { ...next, groupRequests: s.groupRequests.filter((x) => x.id !== e.group) };
        break;
      case "contact_added":
        next = { ...next, requests: s.requests.filter((x) => x.id !== e.id) };
        break;
      case "blocked":
        next = {
          ...next,
          requests: s.requests.filter((x) => x.id !== e.id),
          blocked: [...s.blocked.filter((x) => x.id !== e.id), { id: e.id, user: e.user }],
        };
        break;
      case "unblocked":
        next = { ...next, blocked: s.blocked.filter((x) => x.id !== e.id) };
        break;
      case "devices":
        next = { ...next, devices: e.devices };
        break;
      case "device_unlinked":
        next = { ...next, devices: s.devices.filter((d) => d.id !== e.id) };
        break;
      case "groups": {
        const groups = new Map(s.groups);
        for (const g of e.groups) {
          groups.set(g.id, _group(g.id, g.name, g.admin, g.admin_name, g.members, g.member_names));
        }
        next = { ...next, groups };
        break;
      }
      case "group": {
        const groups = new Map(s.groups);
        const gone = e.change === "deleted" ||
          ((e.change === "removed" || e.change === "left") && e.user === s.view.myId);
        if (gone) groups.delete(e.group);
        else {
          groups.set(
            e.group,
            _group(e.group, e.name, e.admin, e.admin_name, e.members, e.member_names),
          );
        }
        next = { ...next, groups };
        break;
      }
      case "fingerprint":
        next = { ...next, safety: { user: e.user, number: e.safety_number, verified: false } };
        break;
      case "file":
        next = { ...next, files: new Map(s.files).set(e.id, e.path) };
        break;
      case "history": {
        const received = e.messages.filter((m) => m.id !== null && m.file !== null);
        if (received.length === 0) break;
        const files = new Map(s.files);
        for (const m of received) files.set(m.id!, m.file!);
        next = { ...next, files };
        break;
      }
      case "verified":
        next = { ...next, safety: { user: e.user, number: e.safety_number, verified: true } };
        break;
    }
    this.#set(next);
  }

  /** Contacts' online status, by user ID (polled by the caller). */
  onPresence(online: ReadonlyMap<number, boolean | null>): void {
    this.#set({ ...this.#snap, view: setOnline(this.#snap.view, online) });
  }

  /** User IDs of the direct conversations, for presence polling. */
  contactIds(): number[] {
    return contactIds(this.#snap.view);
  }

  /** Shows conversation `key`, loading its stored history the first time. */
  open(key: string): void {
    this.#open(select(this.#snap.view, key));
  }

  /** Opens (creating if needed) the conversation with user or group `name`. */
  openByName(name: string): void {
    this.#open(query(this.#snap.view, name));
  }

  /**
   * What the user typed in the composer: text to the open conversation, or a command
   * (`/name args`, as in the terminal client) anywhere.
   */
  submit(text: string): void {
    if (text.trim() === "") return;
    // A notice answers the line before; the next line makes it stale.
    this.#set({ ...this.#snap, view: clearNotice(this.#snap.view) });
    const view = this.#snap.view;
    const current = view.conversations.find((c) => c.key === view.current);
    if (text.startsWith("/") || current === undefined || current.kind === "status") {
      this.command(text.startsWith("/") ? text.slice(1) : text);
      return;
    }
    const cmd: ClientCommand = current.kind === "group"
      ? { name: "group_message", group: String(current.id), text }
      : { name: "single_message", user: current.name, text };
    this.#set({ ...this.#snap, view: submitting(view, current.key, text) });
    this.run(cmd);
  }

  /** Runs a command line such as `add_friend bob`; a malformed one becomes a notice. */
  command(line: string): void {
    let cmd: ClientCommand | null;
    try {
      cmd = parseCommand(line);
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      this.#notice(err.message, true);
      return;
    }
    if (cmd === null) return;
    if (cmd.name === "help") {
      // The same list as the terminal's, from the one command table; no engine needed.
      this.#set({ ...this.#snap, view: showHelp(this.#snap.view, `Commands:\n${helpText()}`) });
      return;
    }
    if (cmd.name === "quit") {
      void this.idle().then(() => this.onLeave?.());
      return;
    }
    if (cmd.name === "send_file") {
      // A page cannot read a typed path; a file is picked with the composer's button.
      this.#notice(
        `To send a file here, open the conversation and use its "File…" button ` +
          `(a typed path cannot be read in the browser)`,
        true,
      );
      return;
    }
    if (cmd.name === "single_message") {
      const key = findConversation(this.#snap.view, cmd.user)?.key ?? `@${cmd.user}`;
      this.#set({ ...this.#snap, view: submitting(this.#snap.view, key, cmd.text) });
    }
    const ran = this.run(cmd, true);
    if (cmd.name === "logout") {
      // Ended on the server ("logged_out" came): nothing more to do on this page.
      void ran.then(() => {
        if (this.#snap.view.conn === "offline") this.onLeave?.();
      });
    }
  }

  /**
   * Runs an engine command, after the ones before it. `typed`: the user entered it, so its
   * answer (a list of friends, groups or messages) is written out in the open conversation.
   */
  run(cmd: ClientCommand, typed = false): Promise<void> {
    return this.#queue.run(cmd, typed);
  }

  /** Sends the file at `path` (a picked file) to the open conversation. */
  sendFile(path: string): Promise<void> {
    const view = this.#snap.view;
    const current = view.conversations.find((c) => c.key === view.current);
    if (current === undefined || current.kind === "status") {
      this.#notice("Open a conversation to send a file to", true);
      return Promise.resolve();
    }
    const target = current.kind === "group" ? String(current.id) : current.name;
    return this.run({ name: "send_file", target, path });
  }

  /** Closes the safety number dialog. */
  closeSafety(): void {
    this.#set({ ...this.#snap, safety: null });
  }

  /** Adds a warning about this client to the status conversation, kept in its history. */
  warn(text: string): void {
    this.#set({ ...this.#snap, view: statusWarning(this.#snap.view, text, Date.now()) });
  }

  /** Clears the notice line. */
  clearNotice(): void {
    this.#set({ ...this.#snap, view: { ...this.#snap.view, notice: null } });
  }

  /** Waits until every command so far has run. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  #open(view: ViewState): void {
    this.#set({ ...this.#snap, view });
    this.#queue.loadHistory(view);
  }

  #notice(text: string, error: boolean): void {
    this.#set({ ...this.#snap, view: notice(this.#snap.view, text, error) });
  }

  #set(next: WebSnapshot): void {
    this.#snap = next;
    for (const fn of this.#listeners) fn();
  }
}

function _group(
  id: number,
  name: string,
  admin: number,
  adminName: string | undefined,
  members: readonly number[],
  memberNames: readonly string[] | undefined,
): GroupInfo {
  return {
    id,
    name,
    admin,
    adminName: adminName ?? `#${admin}`,
    members: members.map((m, i) => ({ id: m, name: memberNames?.[i] ?? `#${m}` })),
  };
}

/** The conversation key of group `id` (re-exported for the components). */
export { groupKey };
