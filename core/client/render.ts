/**
 * Renders client events for people: short lines for chat, tables for lists, and a loud
 * block for key changes. (`--json` bypasses this and prints the events themselves.)
 *
 * @module
 */

import type { ClientEvent } from "./events.ts";
import { displaySafe, padToWidth } from "./text_safety.ts";

/** Text for one event, or null for events people need not see. */
export function renderEvent(e: ClientEvent): string | null {
  switch (e.event) {
    case "ready":
      return `Logged in as ${e.user} (#${e.id}) on server ${e.server}. Type "help" for commands.`;
    case "connecting":
      return `… ${e.reason} (attempt ${e.attempt})`;
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
    case "accepted":
      return null;
    case "delivered":
      return `  ✓ delivered to ${cleanLine(e.to_name)} (message ${e.id})`;
    case "file":
      return `[file] ${e.group ? `group ${e.group}/` : ""}${cleanLine(e.from_name)} sent ${
        cleanLine(e.name)
      } ` +
        `(${_size(e.size)}), saved to ${cleanLine(e.path)}`;
    case "group": {
      const who = cleanLine(e.user_name);
      const what = {
        created: `${who} created the group`,
        added: `${who} was added`,
        removed: `${who} was removed`,
        left: `${who} left`,
      }[e.change];
      return `[group ${cleanLine(e.name)} #${e.group}] ${what}; members: ${e.members.join(", ")}`;
    }
    case "group_key":
      return `[group #${e.group}] new key (epoch ${e.epoch}) received`;
    case "friend":
      return e.initiated_by === "me"
        ? `Sent ${cleanLine(e.user)} (#${e.id}) an encrypted key; you can message them now.`
        : `${cleanLine(e.user)} (#${e.id}) shared an encrypted key with you.`;
    case "key_changed":
      return [
        "",
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        `!! ${e.message}`,
        `!! New safety number: ${_group(e.safety_number)}`,
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
          }`
        ).join("\n");
    case "groups":
      return e.groups.length === 0
        ? "No groups yet: create_group NAME USER..."
        : e.groups.map((g) =>
          `  #${g.id} ${padToWidth(cleanLine(g.name), 20)} admin #${g.admin}, members ${
            g.members.join(", ")
          }, key epoch ${g.epoch ?? "none yet"}`
        ).join("\n");
    case "history":
      return e.messages.length === 0
        ? `No messages with ${e.target}.`
        : e.messages.map((m) =>
          `[${_time(m.sent_at)}] ${cleanLine(m.from_name)}: ${clean(m.text)}${
            m.state && m.state !== "accepted" ? ` (${m.state})` : ""
          }`
        ).join("\n");
    case "fingerprint":
      return `Safety number with ${cleanLine(e.user)} (#${e.id}):\n  ${_group(e.safety_number)}\n` +
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
  }
}

function _time(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 5);
}

function _size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function _group(digits: string): string {
  return digits.replace(/(\d{5})(?=\d)/g, "$1 ");
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
