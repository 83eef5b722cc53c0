/**
 * Renders client events for people: short lines for chat, tables for lists, and a loud
 * block for key changes. (`--json` bypasses this and prints the events themselves.) Line
 * mode prints these lines, and both front ends' view (`view_state.ts`) words its notices
 * with them, so the wording lives here in the shared view layer, not with the terminal.
 *
 * @module
 */

import type { ClientEvent } from "../client/engine/events.ts";
import { displaySafe, padToWidth } from "../client/text/text_safety.ts";
import { formatSafetyNumber } from "../crypto/safety_number.ts";

/** What the renderer may know beyond one event (line mode keeps it between events). */
export interface RenderContext {
  /** Your user ID, to say "you" instead of your name. */
  myId?: number;
  /** The text of one of your messages, by client message ID, for receipts. */
  sentText?(clientMsgId: string): string | undefined;
}

/**
 * The line that says who put the user in a group: `alice added you to group "Trip"`, with
 * "(not a contact)" after a stranger's name. Both front ends and line mode word it so.
 */
export function groupAddedText(byName: string, groupName: string, stranger: boolean): string {
  return `${cleanLine(byName)}${stranger ? " (not a contact)" : ""} added you to group "${
    cleanLine(groupName)
  }"`;
}

/** What to type to answer a group request, in words. */
export function groupRequestChoices(groupName: string, byName: string): string {
  const g = cleanLine(groupName);
  return `"accept ${g}" to join and see its messages, "leave_group ${g}" to decline, ` +
    `"block ${cleanLine(byName)}" to refuse them`;
}

/** Text for one event, or null for events people need not see. */
export function renderEvent(e: ClientEvent, ctx: RenderContext = {}): string | null {
  switch (e.event) {
    case "ready":
      return `Logged in as ${e.user} (#${e.id}) on server ${e.server}. Type "help" for commands.`;
    case "connecting":
      // One line when the connection is lost, not one per attempt.
      return e.attempt === 1 ? `Connection lost (${cleanLine(e.reason)}); reconnecting…` : null;
    case "reconnected":
      return `Reconnected (server ${e.server}).`;
    case "progress": {
      const what = cleanLine(e.what); // may hold a file name a peer chose
      return e.total > 1
        ? `${what}: ${Math.floor((e.done / e.total) * 100)}%`
        : e.done === 0
        ? `${what}…`
        : `${what}: done.`;
    }
    case "message":
      return `[${_time(e.sent_at)}] ${e.group_name ? `${cleanLine(e.group_name)}/` : ""}${
        cleanLine(e.from_name)
      }: ${clean(e.text)}`;
    case "sent":
      return e.state === "queued"
        ? `  … queued while offline: goes to ${cleanLine(e.to)} when the connection is back`
        : null;
    case "accepted": {
      // Stored on the server: the recipient gets it now or when they next connect.
      const text = ctx.sentText?.(e.client_msg_id);
      return text === undefined ? null : `  ✓ on the server: “${_snippet(text)}”`;
    }
    case "delivered": {
      const text = e.client_msg_id ? ctx.sentText?.(e.client_msg_id) : undefined;
      const what = text !== undefined ? `“${_snippet(text)}”` : `message ${e.id}`;
      const where = e.group_name ? ` in ${cleanLine(e.group_name)}` : "";
      return `  ✓ delivered to ${cleanLine(e.to_name)}${where}: ${what}`;
    }
    case "file":
      return `[file] ${e.group ? `${cleanLine(e.group_name ?? `group #${e.group}`)}/` : ""}${
        cleanLine(e.from_name)
      } sent ${cleanLine(e.name)} ` +
        `(${_size(e.size)}), saved to ${cleanLine(e.path)}`;
    case "group": {
      const me = ctx.myId !== undefined && e.user === ctx.myId;
      const byMe = ctx.myId !== undefined && e.by === ctx.myId;
      const who = me ? "You" : cleanLine(e.user_name);
      const by = cleanLine(e.by_name ?? `#${e.by}`);
      const what = {
        created: me ? "You created the group" : `${who} created the group and added you`,
        added: me ? (byMe ? "You were added" : `${by} added you`) : `${who} was added`,
        removed: me ? (byMe ? "You were removed" : `${by} removed you`) : `${who} was removed`,
        left: `${who} left`,
        admin_changed: me ? "You are now the admin" : `${who} is now the admin`,
        deleted: `${cleanLine(e.by_name ?? `#${e.by}`)} deleted the group`,
      }[e.change];
      const members = e.member_names?.map(cleanLine).join(", ") ?? e.members.join(", ");
      return `[group ${cleanLine(e.name)}] ${what}; members: ${members}`;
    }
    case "group_key":
      return `[group ${cleanLine(e.group_name ?? `#${e.group}`)}] new key (epoch ${e.epoch}) from ${
        cleanLine(e.from_name ?? `#${e.from}`)
      }`;
    case "friend":
      // Only the answer to add_friend is worth a line: a key they sent (an accept replaying
      // theirs, a re-agreement) is told by what follows, e.g. "contact_added".
      return e.initiated_by === "me"
        ? `You added ${cleanLine(e.user)} (#${e.id}); you can message them now.`
        : null;
    case "key_changed":
      return [
        "",
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        `!! ${e.message}`,
        "!! New safety number:",
        ..._safetyLines(e.safety_number).map((l) => `!!   ${l}`),
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        "",
      ].join("\n");
    case "key_accepted":
      return `You now trust ${cleanLine(e.user)}'s new keys.`;
    case "friends":
      return e.friends.length === 0
        ? "No friends yet: add_friend USER"
        : e.friends.map((f) =>
          `  ${padToWidth(cleanLine(f.user), 20)} #${f.id}${
            f.verified_keys ? "" : "  KEYS CHANGED"
          }${f.verified ? "  verified" : ""}`
        ).join("\n");
    case "groups":
      return e.groups.length === 0
        ? "No groups yet: create_group NAME USER..."
        : e.groups.map((g) =>
          `  #${g.id} ${padToWidth(cleanLine(g.name), 20)} admin ${
            cleanLine(g.admin_name ?? `#${g.admin}`)
          }, members ${
            g.member_names?.map(cleanLine).join(", ") ?? g.members.join(", ")
          }, key epoch ${g.epoch ?? "none yet"}`
        ).join("\n");
    case "history":
      return e.messages.length === 0
        ? `No messages with ${e.target}.`
        : e.messages.map((m) =>
          `[${_dateTime(m.sent_at)}] ${cleanLine(m.from_name)}: ${clean(m.text)}${
            m.state && m.state !== "accepted" ? ` (${m.state})` : ""
          }`
        ).join("\n");
    case "fingerprint":
      return `Safety number with ${cleanLine(e.user)} (#${e.id}):\n` +
        _safetyLines(e.safety_number).map((l) => `  ${l}\n`).join("") +
        "Compare it with theirs in person or on a call; if it matches, nobody is in between.";
    case "whoami":
      return `${e.user} (#${e.id}), ${
        e.connected ? `connected to server ${e.server}` : "not connected"
      }`;
    case "help":
      return `Commands:\n${e.text}`;
    case "error":
      return `error: ${clean(e.message)}`;
    case "logged_out":
      return "Logged out: this session is ended on every device that used it.";
    case "quit":
      return null;
    case "warning":
      return `note: ${clean(e.message)}`;
    case "request": {
      const who = `${cleanLine(e.user)} (#${e.id})`;
      const how = `"accept ${cleanLine(e.user)}" to talk, "block ${cleanLine(e.user)}" to refuse`;
      return e.text === null
        ? `${who} is not a contact and wants to talk to you: ${how}.`
        : `Request from ${who}: “${_snippet(e.text)}” (${how}).`;
    }
    case "contact_added":
      return `You accepted ${cleanLine(e.user)} (#${e.id}); you can now chat` +
        (e.messages > 0 ? `; their waiting ${_count(e.messages, "message")} follow.` : ".");
    case "blocked":
      return `Blocked ${cleanLine(e.user)} (#${e.id}): what they send is dropped` +
        (e.dropped > 0 ? `; ${_count(e.dropped, "waiting message")} dropped.` : ".");
    case "unblocked":
      return `Unblocked ${cleanLine(e.user)} (#${e.id}); a new message from them is a request.`;
    case "devices":
      return [
        `Your devices (list version ${e.version}):`,
        ...e.devices.map((d) =>
          `  ${padToWidth(cleanLine(d.name), 24)} #${d.id}  linked ${_dateTime(d.added)}${
            d.current ? "  (this device)" : ""
          }`
        ),
        ...(e.devices.length > 1 ? ["unlink NAME removes one (it is logged out everywhere)."] : []),
      ].join("\n");
    case "device_linked":
      return e.own ? _loud(e.message) : cleanLine(e.message) + ".";
    case "device_list_invalid":
      return _loud(e.message);
    case "device_unlinked":
      return `Unlinked ${cleanLine(e.name)} (#${e.id}): it is logged out everywhere and ` +
        "cannot log in again.";
    case "requests": {
      const lines = e.requests.map((r) =>
        `  ${padToWidth(cleanLine(r.user), 20)} #${r.id}  ${_count(r.messages, "message")}${
          r.text === null ? "" : `: “${_snippet(r.text)}”`
        }`
      );
      if (lines.length > 0) lines.unshift("Requests (accept USER, or block USER):");
      const groups = e.groups ?? [];
      if (groups.length > 0) {
        lines.push("Groups you were added to (accept GROUP, or leave_group GROUP):");
        for (const g of groups) {
          lines.push(
            `  ${padToWidth(cleanLine(g.name), 20)} #${g.id}  added by ${cleanLine(g.by_name)}`,
          );
        }
      }
      if (lines.length === 0) lines.push("No requests.");
      if (e.blocked.length > 0) {
        lines.push(`Blocked: ${e.blocked.map((b) => cleanLine(b.user)).join(", ")}`);
      }
      return lines.join("\n");
    }
    case "group_request":
      return `${groupAddedText(e.by_name, e.name, true)}: its messages are kept unseen until ` +
        `you answer (${groupRequestChoices(e.name, e.by_name)}).`;
    case "group_joined":
      return `You joined group "${cleanLine(e.name)}" (${cleanLine(e.by_name)} added you)` +
        (e.messages > 0 ? `; its waiting ${_count(e.messages, "message")} follow.` : ".");
    case "group_declined":
      return `You declined group "${cleanLine(e.name)}" (${cleanLine(e.by_name)} added you) ` +
        "and left it.";
    case "file_refused":
      return `[file not saved] ${cleanLine(e.message)}`;
    case "file_limit":
      return `Files from contacts are saved up to ${_size(e.bytes)}.`;
    case "verified":
      return `${cleanLine(e.user)} (#${e.id}) is verified (safety number ${
        renderSafetyNumber(e.safety_number)
      }); a change of their keys will be flagged.`;
    case "own_keys_changed":
      return [
        "",
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        `!! ${e.message}`,
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        "",
      ].join("\n");
  }
}

/** A warning people must not miss, between two rows of "!". */
function _loud(message: string): string {
  const bar = "!".repeat(72);
  return ["", bar, `!! ${cleanLine(message)}`, bar, ""].join("\n");
}

function _time(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 5);
}

/** `2026-11-28 14:02`: history spans days. */
function _dateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${_time(ms)}`;
}

/** The start of a message, on one line, for a receipt. */
function _snippet(text: string): string {
  const line = cleanLine(text);
  return line.length > 40 ? `${line.slice(0, 39)}…` : line;
}

function _size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * A safety number for people: 12 groups of 5 digits ({@linkcode formatSafetyNumber}), all on
 * one line, or `groupsPerLine` to a line. Events come from the engine, which always gives 60
 * digits; anything else is shown as it is (made safe to print) rather than failing a render.
 */
export function renderSafetyNumber(digits: string, groupsPerLine: 4 | 12 = 12): string {
  try {
    return formatSafetyNumber(digits, { groupsPerLine });
  } catch (e) {
    if (e instanceof TypeError) return cleanLine(String(digits));
    throw e;
  }
}

/** A safety number as Signal shows it: three lines of four 5-digit groups (23 columns). */
function _safetyLines(digits: string): string[] {
  return renderSafetyNumber(digits, 4).split("\n");
}

/**
 * Makes untrusted text safe to print (see `text_safety.ts`): escape sequences removed, other
 * controls shown as U+FFFD, bidi controls balanced and right-to-left text isolated, tabs
 * expanded, emoji sequences, ZWJ/ZWNJ and combining marks kept. Each line break starts a
 * continuation line marked "  ↳ ", so a message can never print a line that looks like it
 * came from someone else, or like the client's own output.
 */
export function clean(text: string): string {
  return displaySafe(text);
}

/** Like {@linkcode clean}, on one line: for names and other short fields. */
export function cleanLine(text: string): string {
  return displaySafe(text, { singleLine: true });
}

/** "1 message", "2 messages". */
function _count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
