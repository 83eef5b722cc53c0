/**
 * What a chat screen shows, as pure data, and how the engine's events and the user's
 * actions change it: conversations with unread counts and message states, the connection
 * state (one "reconnecting" state, not a line per attempt), file transfers as one progress
 * entry each, notices. Both front ends draw it: the terminal client (core/tui/, Ink) and the
 * web client (web/, Preact).
 *
 * @module
 */

import type { ClientEvent } from "../client/engine/events.ts";
import { groupAddedText, renderEvent, renderSafetyNumber } from "./event_text.ts";

/** The connection as the status bar shows it. */
export type ConnState = "connecting" | "online" | "reconnecting" | "offline";

/** Where one of your messages is. */
export type LineState = "sending" | "queued" | "accepted" | "delivered" | "failed";

/** One line of a conversation. */
export interface ChatLine {
  /** Stable key for rendering. */
  readonly key: string;
  /** `in`: someone else's message; `out`: yours; `info`: an event; `warning`: loud. */
  readonly kind: "in" | "out" | "info" | "warning";
  readonly from: string;
  readonly text: string;
  /** Unix milliseconds. */
  readonly at: number;
  readonly msgId: number | null;
  readonly clientMsgId: string | null;
  /** Your messages only. */
  readonly state: LineState | null;
  /** Who acknowledged it (group messages collect several). */
  readonly deliveredTo: readonly string[];
  /**
   * For a file message: its name, size in bytes and, for a received one, where it was saved
   * (null when unknown). Absent for other lines. Graphical clients show this instead of
   * `text`, which may name internal storage paths.
   */
  readonly file?: LineFile;
  /** On the status line about a request: the requester, so a later word of it updates it. */
  readonly request?: string;
  /**
   * The client's own list: each line of `text` after the first is an item, shown with a
   * bullet rather than the continuation mark that a line break in someone's text gets.
   */
  readonly list?: boolean;
  /** Why your message failed (state "failed"), when known: the server's or client's words. */
  readonly reason?: string;
}

/** The file of a file message (see {@linkcode ChatLine.file}). */
export interface LineFile {
  readonly name: string;
  /** Bytes; null when the history did not say. */
  readonly size: number | null;
  readonly path: string | null;
}

/** A conversation in the side list. */
export interface Conversation {
  /** `@name` for a friend, `#id` for a group, `*` for the status pane. */
  readonly key: string;
  readonly kind: "direct" | "group" | "status";
  readonly id: number | null;
  readonly name: string;
  readonly unread: number;
  /** Online status as last seen; null when unknown. */
  readonly online: boolean | null;
  readonly verified: boolean;
  /** The contact's keys changed and are not accepted yet. */
  readonly keyWarning: boolean;
  readonly lines: readonly ChatLine[];
}

/** A file transfer shown as one progress bar. */
export interface Transfer {
  readonly what: string;
  readonly done: number;
  readonly total: number;
}

/** Everything the screen shows. */
export interface ViewState {
  readonly me: string;
  readonly myId: number;
  readonly server: number | null;
  readonly conn: ConnState;
  /** Failed attempts in the current reconnect, and the last reason. */
  readonly attempts: number;
  readonly connReason: string;
  readonly conversations: readonly Conversation[];
  /** Key of the conversation shown. */
  readonly current: string;
  readonly transfers: readonly Transfer[];
  /**
   * The last notice (an error or an answer), shown above the input line until the next
   * command; `about` names the user a request notice is about, so accepting or blocking
   * them clears it.
   */
  readonly notice: { text: string; error: boolean; about?: string } | null;
  /**
   * Answers the user asked for with a command (`friends`, `groups`, `history`, `requests`):
   * the next such event is also written out in the current conversation. Lists the client
   * loads on its own (at login, on opening a conversation) only update the side list (or, in
   * the browser, its requests box): a "No requests." loaded at login would go stale.
   */
  readonly awaiting: readonly AnswerEvent[];
  /** Lines scrolled up from the bottom of the current conversation. */
  readonly scroll: number;
  /** Counts messages that arrived in other conversations (a bell or title change). */
  readonly bell: number;
  /** Text you just submitted, waiting for its `sent` event to become a line. */
  readonly outgoing: { conv: string; text: string } | null;
}

/** Engine events that answer a command and are shown only when asked for. */
export type AnswerEvent = "friends" | "groups" | "history" | "requests" | "devices";

/** Lines kept per conversation. */
export const MAX_LINES = 2_000;

const _STATUS: Conversation = {
  key: "*",
  kind: "status",
  id: null,
  name: "status",
  unread: 0,
  online: null,
  verified: false,
  keyWarning: false,
  lines: [],
};

/** The screen before anything happened. */
export function initialView(me: string): ViewState {
  return {
    me,
    myId: 0,
    server: null,
    conn: "connecting",
    attempts: 0,
    connReason: "",
    conversations: [_STATUS],
    current: "*",
    transfers: [],
    notice: null,
    awaiting: [],
    scroll: 0,
    bell: 0,
    outgoing: null,
  };
}

/** The conversation key for a friend. */
export function directKey(name: string): string {
  return `@${name}`;
}

/** The conversation key for a group. */
export function groupKey(id: number): string {
  return `#${id}`;
}

let _seq = 0;
function _lineKey(): string {
  return `l${++_seq}`;
}

/** Applies one engine event. */
export function applyEvent(v: ViewState, e: ClientEvent, now = Date.now()): ViewState {
  switch (e.event) {
    case "ready":
      // The server is the status bar's to show: it changes on a reconnect, a line would not.
      return _info(
        { ...v, myId: e.id, server: e.server, conn: "online", attempts: 0 },
        "*",
        `Logged in as ${e.user}`,
        now,
      );
    case "connecting":
      return {
        ...v,
        conn: v.myId === 0 ? "connecting" : "reconnecting",
        attempts: e.attempt,
        connReason: e.reason,
      };
    case "reconnected":
      return { ...v, conn: "online", server: e.server, attempts: 0, connReason: "" };
    case "progress":
      return _progress(v, e.what, e.done, e.total);
    case "message": {
      const key = e.group !== null ? groupKey(e.group) : directKey(e.from_name);
      const name = e.group !== null ? (e.group_name ?? `group ${e.group}`) : e.from_name;
      let next = _ensure(v, key, e.group !== null ? "group" : "direct", e.group ?? e.from, name);
      next = _addLine(next, key, {
        key: _lineKey(),
        kind: e.from === v.myId ? "out" : "in",
        from: e.from_name,
        text: e.text,
        at: e.sent_at,
        msgId: e.id,
        clientMsgId: null,
        state: null,
        deliveredTo: [],
      }, true);
      return next;
    }
    case "sent": {
      // Sent again (`resend`): its line goes back to sending, where it was.
      const again = v.conversations.some((c) =>
        c.lines.some((l) => l.kind === "out" && l.clientMsgId === e.client_msg_id)
      );
      if (again) {
        return _updateLine(v, (l) => l.kind === "out" && l.clientMsgId === e.client_msg_id, (l) => {
          const { reason: _, ...rest } = l;
          return { ...rest, state: e.state ?? (v.conn === "online" ? "sending" : "queued") };
        });
      }
      const key = e.group !== null ? groupKey(e.group) : directKey(e.to);
      let next = _ensure(v, key, e.group !== null ? "group" : "direct", e.group, e.to);
      const file = e.client_msg_id.startsWith("file-");
      const text = e.text ??
        (file ? "(file sent)" : v.outgoing?.conv === key ? v.outgoing.text : "(message)");
      next = _addLine(next, key, {
        key: _lineKey(),
        kind: "out",
        from: v.me,
        text,
        at: now,
        msgId: null,
        clientMsgId: e.client_msg_id,
        state: e.state ?? (file ? "accepted" : v.conn === "online" ? "sending" : "queued"),
        deliveredTo: [],
        ...(e.file ? { file: { name: e.file.name, size: e.file.size, path: null } } : {}),
      }, false);
      return { ...next, outgoing: null };
    }
    case "accepted":
      return _updateLine(v, (l) => l.clientMsgId === e.client_msg_id, (l) => ({
        ...l,
        msgId: e.id,
        state: l.state === "delivered" ? l.state : "accepted",
      }));
    case "delivered":
      return _updateLine(
        v,
        (l) =>
          l.kind === "out" &&
          (l.msgId === e.id || (e.client_msg_id != null && l.clientMsgId === e.client_msg_id)),
        (l) => ({
          ...l,
          state: "delivered",
          deliveredTo: l.deliveredTo.includes(e.to_name)
            ? l.deliveredTo
            : [...l.deliveredTo, e.to_name],
        }),
      );
    case "file": {
      const key = e.group !== null ? groupKey(e.group) : directKey(e.from_name);
      const next = _ensure(
        v,
        key,
        e.group !== null ? "group" : "direct",
        e.group ?? e.from,
        e.from_name,
      );
      const done = { ...next, transfers: next.transfers.filter((t) => !t.what.includes(e.name)) };
      return _addLine(done, key, {
        key: _lineKey(),
        kind: "in",
        from: e.from_name,
        text: `sent a file: ${e.name} (${_size(e.size)}), saved to ${e.path}`,
        at: now,
        msgId: e.id,
        clientMsgId: null,
        state: null,
        deliveredTo: [],
        file: { name: e.name, size: e.size, path: e.path },
      }, true);
    }
    case "group": {
      const key = groupKey(e.group);
      const next = _ensure(v, key, "group", e.group, e.name);
      const me = e.user === v.myId;
      const by = e.by_name ?? `#${e.by}`;
      // Put in the group by someone else (a contact: a stranger's is a group_request).
      const addedMe = e.by !== v.myId && (e.change === "created" || (e.change === "added" && me));
      const text = addedMe ? groupAddedText(by, e.name, false) : {
        created: `${me ? "You" : e.user_name} created the group`,
        added: `${me ? "you" : e.user_name} joined the group`,
        removed: me
          ? `You were removed from the group${e.by === v.myId ? "" : ` by ${by}`}`
          : `${e.user_name} was removed`,
        left: `${me ? "You" : e.user_name} left the group`,
        admin_changed: me ? "You are now the admin" : `${e.user_name} is now the admin`,
        deleted: `${e.by === v.myId ? "You" : (e.by_name ?? "The admin")} deleted the group`,
      }[e.change];
      const told = addedMe ? { ...next, notice: { text, error: false } } : next;
      return _info(told, key, text, now);
    }
    case "group_request": {
      const g = e.name;
      const ask = `${groupAddedText(e.by_name, g, true)}; its messages are held until you ` +
        `answer (/accept ${g}, /leave_group ${g} or /block ${e.by_name})`;
      const about = _groupAbout(e.group);
      const next = { ...v, notice: { text: ask, error: false, about } };
      return _addLine(next, "*", { ..._plain("warning", ask, now), request: about }, true);
    }
    case "group_joined": {
      const key = groupKey(e.group);
      const next = _ensure(_settled(v, _groupAbout(e.group)), key, "group", e.group, e.name);
      return _info(next, key, `You joined group "${e.name}" (${e.by_name} added you)`, now);
    }
    case "group_declined":
      return _info(
        _settled(v, _groupAbout(e.group)),
        v.current,
        `You declined group "${e.name}" (${e.by_name} added you) and left it`,
        now,
      );
    case "group_key":
      return v;
    case "friend": {
      // A key they sent (an accept replaying theirs, a re-agreement) is nothing to tell:
      // only the answer to the user's own add_friend is shown, where it was typed.
      if (e.initiated_by === "them") return v;
      const next = _ensure(v, directKey(e.user), "direct", e.id, e.user);
      return _info(next, v.current, `You added ${e.user}; you can write to them now`, now);
    }
    case "key_changed": {
      const key = directKey(e.user);
      const next = _ensure(v, key, "direct", e.id, e.user);
      const flagged = _mapConv(next, key, (c) => ({ ...c, keyWarning: true, verified: false }));
      return _warn({ ...flagged, notice: { text: e.message, error: true } }, key, e.message, now);
    }
    case "key_accepted": {
      const key = directKey(e.user);
      const next = _mapConv(v, key, (c) => ({ ...c, keyWarning: false }));
      return _info(next, v.current, `You accepted ${e.user}'s new keys`, now);
    }
    case "friends": {
      let next = v;
      for (const f of e.friends) {
        next = _ensure(next, directKey(f.user), "direct", f.id, f.user);
        next = _mapConv(next, directKey(f.user), (c) => ({
          ...c,
          verified: f.verified ?? false,
          keyWarning: !f.verified_keys,
        }));
      }
      return _answer(next, e, now);
    }
    case "groups": {
      let next = v;
      for (const g of e.groups) next = _ensure(next, groupKey(g.id), "group", g.id, g.name);
      return _answer(next, e, now);
    }
    case "requests":
    case "devices":
      return _answer(v, e, now);
    case "history": {
      const conv = v.conversations.find((c) =>
        c.kind !== "status" &&
        (c.name === e.target || c.key === e.target ||
          (c.kind === "group" && String(c.id) === e.target))
      );
      // Asked for while another conversation is open (or one never opened): written out
      // where the user is looking. Asked for in its own conversation, the merged lines show.
      const shown = conv !== undefined && conv.key === v.current && e.messages.length > 0
        ? answered(v, "history")
        : _answer(v, e, now);
      if (conv === undefined) return shown;
      const lines: ChatLine[] = e.messages.map((m) => ({
        key: _lineKey(),
        kind: m.from === v.myId ? "out" : "in",
        from: m.from_name,
        text: m.file !== null ? `file: ${m.file}` : m.text,
        at: m.sent_at,
        msgId: m.id,
        // Yours keep their ID, so a later receipt or `resend` updates the line in place.
        clientMsgId: m.from === v.myId ? (m.client_msg_id ?? null) : null,
        state: m.from === v.myId ? _historyState(m.state) : null,
        deliveredTo: [],
        ...(m.file !== null || m.file_name ? { file: _historyFile(m, m.from === v.myId) } : {}),
      }));
      // Live lines that arrived before the history answer stay after it, without repeats.
      const known = new Set(lines.flatMap((l) => l.msgId === null ? [] : [l.msgId]));
      const knownIds = new Set(lines.flatMap((l) => l.clientMsgId ?? []));
      const live = (l: ChatLine) =>
        (l.msgId === null || !known.has(l.msgId)) &&
        (l.clientMsgId === null || !knownIds.has(l.clientMsgId));
      return _mapConv(shown, conv.key, (c) => ({
        ...c,
        lines: [...lines, ...c.lines.filter(live)]
          .map((l, i) => [l, i] as const)
          .sort((a, b) => a[0].at - b[0].at || a[1] - b[1]) // by time; ties keep their order
          .map(([l]) => l)
          .slice(-MAX_LINES),
      }));
    }
    case "fingerprint":
      // Three lines of four groups, as Signal shows it: 23 columns, so narrow terminals too.
      return _addLine(v, v.current, {
        ..._plain(
          "info",
          `Safety number with ${e.user}:\n${renderSafetyNumber(e.safety_number, 4)}`,
          now,
        ),
        list: true,
      }, false);
    case "whoami":
      return _info(
        v,
        v.current,
        `You are ${e.user} (#${e.id})${e.connected ? ` on server ${e.server}` : ", offline"}`,
        now,
      );
    case "help":
      return showHelp(v, `Commands:\n${e.text}`, now);
    case "error": {
      const next = _info({ ...v, notice: { text: e.message, error: true } }, "*", e.message, now);
      // About one of your messages: it shows as failed, with the reason, until it is resent.
      if (e.client_msg_id === undefined) return next;
      return _updateLine(
        next,
        (l) => l.kind === "out" && l.clientMsgId === e.client_msg_id,
        (l) => ({ ...l, state: "failed", reason: e.message }),
      );
    }
    case "logged_out":
      return { ...v, conn: "offline", notice: { text: "Logged out", error: false } };
    case "quit":
      return { ...v, conn: "offline" };
    case "warning":
      return _info({ ...v, notice: { text: e.message, error: false } }, v.current, e.message, now);
    case "request": {
      const text = e.text === null
        ? `${e.user} wants to talk to you (no message yet)`
        : `${e.user} wants to talk to you: "${e.text}"`;
      const ask = `${text} (/accept ${e.user} or /block ${e.user})`;
      const next = { ...v, notice: { text: ask, error: false, about: e.user } };
      // One line per request: its first text, arriving after the key, updates it in place.
      const shown = v.conversations.find((c) => c.key === "*")?.lines
        .some((l) => l.request === e.user) ?? false;
      if (!shown) {
        return _addLine(next, "*", { ..._plain("warning", ask, now), request: e.user }, true);
      }
      return _mapConv(next, "*", (c) => ({
        ...c,
        lines: c.lines.map((l) => l.request === e.user ? { ...l, text: ask } : l),
      }));
    }
    case "contact_added": {
      const key = directKey(e.user);
      const next = _ensure(_settled(v, e.user), key, "direct", e.id, e.user);
      return _info(next, v.current, `You accepted ${e.user}; you can now chat`, now);
    }
    case "blocked": {
      const key = directKey(e.user);
      const current = v.current === key ? "*" : v.current;
      const settled = _settled(v, e.user);
      return _info(
        {
          ...settled,
          conversations: settled.conversations.filter((c) => c.key !== key),
          current,
        },
        current,
        `You blocked ${e.user}: nothing from them reaches you (/unblock ${e.user} to undo)`,
        now,
      );
    }
    case "verified": {
      const key = directKey(e.user);
      const next = _mapConv(_ensure(v, key, "direct", e.id, e.user), key, (c) => ({
        ...c,
        verified: true,
        keyWarning: false,
      }));
      return _info(next, v.current, `You verified ${e.user}'s keys (✓ in the list)`, now);
    }
    // Other newer engine events (lists, file refusals, the own-keys warning): worded as in
    // line mode, where the user is looking (most answer a command just typed).
    case "own_keys_changed":
      return _warn({ ...v, notice: { text: e.message, error: true } }, "*", e.message, now);
    default:
      return _info(v, v.current, renderEvent(e) ?? "", now);
  }
}

/** Shows conversation `key` and clears its unread count. */
export function select(v: ViewState, key: string): ViewState {
  if (!v.conversations.some((c) => c.key === key)) return v;
  return { ..._mapConv(v, key, (c) => ({ ...c, unread: 0 })), current: key, scroll: 0 };
}

/** Shows the conversation `delta` places down (or up) the side list, wrapping around. */
export function cycle(v: ViewState, delta: number): ViewState {
  const keys = v.conversations.map((c) => c.key);
  const at = keys.indexOf(v.current);
  const next = keys[(at + delta + keys.length * 2) % keys.length]!;
  return select(v, next);
}

/** The conversation named `name` (a friend or a group), if known. */
export function findConversation(v: ViewState, name: string): Conversation | undefined {
  const bare = name.replace(/^[@#]/, "");
  return v.conversations.find((c) =>
    c.kind !== "status" && (c.name === bare || c.key === name || String(c.id) === bare)
  );
}

/** Opens (creating if needed) a direct conversation with `name`. */
export function query(v: ViewState, name: string): ViewState {
  const found = findConversation(v, name);
  if (found) return select(v, found.key);
  return select(_ensure(v, directKey(name), "direct", null, name), directKey(name));
}

/** Records text you are sending to the current conversation (its line appears on `sent`). */
export function submitting(v: ViewState, conv: string, text: string): ViewState {
  return { ...v, outgoing: { conv, text } };
}

/** Scrolls the current conversation by `delta` lines (positive = back in time). */
export function scrollBy(v: ViewState, delta: number, maxScroll: number): ViewState {
  return { ...v, scroll: Math.max(0, Math.min(maxScroll, v.scroll + delta)) };
}

/** Writes the help text (the command list) into the current conversation. */
export function showHelp(v: ViewState, text: string, now = Date.now()): ViewState {
  return _infoLines(v, v.current, text, now);
}

/** Sets the notice line. */
export function notice(v: ViewState, text: string, error = false): ViewState {
  return { ...v, notice: { text, error } };
}

/** Clears the notice line: the user entered the next command. */
export function clearNotice(v: ViewState): ViewState {
  return v.notice === null ? v : { ...v, notice: null };
}

/** Records that the user asked for `answer`, so its next event is written out. */
export function awaitAnswer(v: ViewState, answer: AnswerEvent): ViewState {
  return { ...v, awaiting: [...v.awaiting, answer] };
}

/** Forgets one wait for `answer` (it came, or its command failed). */
export function answered(v: ViewState, answer: AnswerEvent): ViewState {
  const at = v.awaiting.indexOf(answer);
  return at < 0 ? v : { ...v, awaiting: v.awaiting.filter((_, i) => i !== at) };
}

/** The command names whose answers are written out when asked for. */
export function answerOf(command: string): AnswerEvent | null {
  return (_ANSWERS as ReadonlySet<string>).has(command) ? command as AnswerEvent : null;
}

const _ANSWERS: ReadonlySet<AnswerEvent> = new Set([
  "friends",
  "groups",
  "history",
  "requests",
  "devices",
]);

/**
 * Sets contacts' online status, by user ID: null when unknown (the server tells only those
 * who made the user a contact).
 */
export function setOnline(
  v: ViewState,
  online: ReadonlyMap<number, boolean | null>,
): ViewState {
  return {
    ...v,
    conversations: v.conversations.map((c) =>
      c.kind === "direct" && c.id !== null && online.has(c.id) && online.get(c.id) !== c.online
        ? { ...c, online: online.get(c.id)! }
        : c
    ),
  };
}

/** Writes a list the user asked for into the current conversation, worded as in line mode. */
function _answer(
  v: ViewState,
  e: Extract<ClientEvent, { event: AnswerEvent }>,
  now: number,
): ViewState {
  if (!v.awaiting.includes(e.event)) return v;
  return _infoLines(answered(v, e.event), v.current, renderEvent(e) ?? "", now);
}

/** What a group request's notice and line are `about` (no username starts with "#"). */
function _groupAbout(groupId: number): string {
  return `#${groupId}`;
}

/** Drops the notice about `user`'s request: it was accepted or blocked. */
function _settled(v: ViewState, user: string): ViewState {
  // Its line stays, as it was; a later request of theirs is a new line.
  const next = _mapConv(v, "*", (c) => ({
    ...c,
    lines: c.lines.map((l) => {
      if (l.request !== user) return l;
      const { request: _, ...kept } = l;
      return kept;
    }),
  }));
  return next.notice?.about === user ? { ...next, notice: null } : next;
}

function _historyState(state: string | null): LineState | null {
  switch (state) {
    case "queued":
    case "accepted":
    case "delivered":
    case "failed":
      return state;
    case null:
      return null;
    default:
      return "sending";
  }
}

function _ensure(
  v: ViewState,
  key: string,
  kind: "direct" | "group",
  id: number | null,
  name: string,
): ViewState {
  const found = v.conversations.find((c) => c.key === key);
  if (found) {
    if ((found.id === null && id !== null) || found.name !== name) {
      return _mapConv(v, key, (c) => ({ ...c, id: c.id ?? id, name }));
    }
    return v;
  }
  const conv: Conversation = {
    key,
    kind,
    id,
    name,
    unread: 0,
    online: null,
    verified: false,
    keyWarning: false,
    lines: [],
  };
  return { ...v, conversations: [...v.conversations, conv] };
}

function _mapConv(v: ViewState, key: string, fn: (c: Conversation) => Conversation): ViewState {
  return { ...v, conversations: v.conversations.map((c) => c.key === key ? fn(c) : c) };
}

function _addLine(v: ViewState, key: string, line: ChatLine, counts: boolean): ViewState {
  const elsewhere = key !== v.current;
  const next = _mapConv(v, key, (c) => ({
    ...c,
    unread: c.unread + (counts && elsewhere ? 1 : 0),
    lines: [...c.lines, line].slice(-MAX_LINES),
  }));
  // A line added below keeps a scrolled-up view where it was.
  const scroll = !elsewhere && v.scroll > 0 ? v.scroll + 1 : v.scroll;
  return { ...next, scroll, bell: next.bell + (counts && elsewhere ? 1 : 0) };
}

function _updateLine(
  v: ViewState,
  match: (l: ChatLine) => boolean,
  fn: (l: ChatLine) => ChatLine,
): ViewState {
  return {
    ...v,
    conversations: v.conversations.map((c) =>
      c.lines.some(match) ? { ...c, lines: c.lines.map((l) => match(l) ? fn(l) : l) } : c
    ),
  };
}

/**
 * A warning in the status conversation that stays in its history (unlike a notice), for what
 * the person must know about this client itself (e.g. storage the browser may evict).
 */
export function statusWarning(v: ViewState, text: string, at: number): ViewState {
  return _warn(v, "*", text, at);
}

function _info(v: ViewState, key: string, text: string, at: number): ViewState {
  return _addLine(v, key, _plain("info", text, at), false);
}

/** One info line per line of `text`: a list or table reads as rows, not as continuations. */
function _infoLines(v: ViewState, key: string, text: string, at: number): ViewState {
  return text.split("\n").reduce((next, line) => _info(next, key, line, at), v);
}

function _warn(v: ViewState, key: string, text: string, at: number): ViewState {
  return _addLine(v, key, _plain("warning", text, at), true);
}

function _plain(kind: "info" | "warning", text: string, at: number): ChatLine {
  return {
    key: _lineKey(),
    kind,
    from: "",
    text,
    at,
    msgId: null,
    clientMsgId: null,
    state: null,
    deliveredTo: [],
  };
}

function _progress(v: ViewState, what: string, done: number, total: number): ViewState {
  const rest = v.transfers.filter((t) => t.what !== what);
  return { ...v, transfers: done >= total ? rest : [...rest, { what, done, total }] };
}

function _historyFile(
  m: { file: string | null; file_name?: string | null; file_size?: number | null },
  mine: boolean,
): LineFile {
  const name = m.file_name ?? m.file?.split(/[\\/]/).pop() ?? "file";
  // A sent file's path is where it was read from, nothing to download.
  return { name, size: m.file_size ?? null, path: mine ? null : m.file };
}

function _size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
