/**
 * The terminal client's commands: one line in, a typed command out, or a short usage
 * error. Pure, so the interactive prompt, the scriptable mode and the tests share it.
 * Names follow the seed (`single_message`, `group_message`, ...) with short aliases.
 *
 * @module
 */

import { MAX_FILE_SIZE } from "../../e2e/e2e_file.ts";

const _MIB = 1024 * 1024;

/** A parsed command. */
export type ClientCommand =
  | { name: "add_friend"; user: string }
  | { name: "single_message"; user: string; text: string }
  | { name: "group_message"; group: string; text: string }
  | { name: "create_group"; group: string; users: string[] }
  | { name: "add_member"; group: string; user: string }
  | { name: "remove_member"; group: string; user: string }
  | { name: "leave_group"; group: string }
  | { name: "transfer_group"; group: string; user: string }
  | { name: "delete_group"; group: string }
  | { name: "send_file"; target: string; path: string }
  | { name: "friends" }
  | { name: "groups" }
  | { name: "history"; target: string; count: number }
  | {
    name: "resend";
    /** A friend or group; null: every conversation (the full-screen client fills in its own). */
    target: string | null;
    /** Only the Nth latest failed message (1: the last one); null: all of them. */
    index: number | null;
    /** Only this message (a graphical client's button); not typed. */
    clientMsgId?: string;
  }
  | { name: "fingerprint"; user: string }
  | { name: "accept_key"; user: string }
  | { name: "verify"; user: string }
  | { name: "requests" }
  | { name: "accept"; user: string }
  | { name: "block"; user: string }
  | { name: "unblock"; user: string }
  | { name: "file_limit"; bytes: number | null }
  | { name: "devices" }
  | { name: "unlink"; device: string }
  | { name: "whoami" }
  | { name: "logout" }
  | { name: "help" }
  | { name: "quit" };

/** How one command is written, explained and parsed. */
export interface CommandSpec {
  /** The usage line, e.g. `add_member GROUP USER`. */
  usage: string;
  /** One line for the help text. */
  summary: string;
  /** Other words that name the command. */
  aliases: string[];
  /**
   * Builds the command from the words after its name; `rest(i)` is the line from `args[i]`
   * on, as typed. Returns a short usage error instead when the words do not fit.
   */
  parse(args: string[], rest: (from: number) => string): ClientCommand | string;
}

/** Every command with its usage line, summary and aliases, in help order. */
export const COMMAND_SPECS: Readonly<Record<ClientCommand["name"], CommandSpec>> = {
  add_friend: {
    usage: "add_friend USER",
    summary: "Exchange an encrypted key with USER (works while they are offline)",
    aliases: ["friend", "af"],
    parse: (a) => a.length === 1 ? { name: "add_friend", user: a[0]! } : "expected one USER",
  },
  single_message: {
    usage: "single_message USER TEXT",
    summary: "Send TEXT to USER, end-to-end encrypted",
    aliases: ["msg", "m", "dm"],
    parse: (a, rest) =>
      a.length >= 2
        ? { name: "single_message", user: a[0]!, text: rest(1) }
        : "expected USER and TEXT",
  },
  group_message: {
    usage: "group_message GROUP TEXT",
    summary: "Send TEXT to every member of GROUP (by ID or name)",
    aliases: ["gmsg", "gm"],
    parse: (a, rest) =>
      a.length >= 2
        ? { name: "group_message", group: a[0]!, text: rest(1) }
        : "expected GROUP and TEXT",
  },
  create_group: {
    usage: "create_group NAME [USER...]",
    summary: "Create a group you administer, with these members",
    aliases: ["mkgroup", "cg"],
    parse: (a) =>
      a.length >= 1
        ? { name: "create_group", group: a[0]!, users: [...new Set(a.slice(1))] }
        : "expected a group NAME",
  },
  add_member: {
    usage: "add_member GROUP USER",
    summary: "Add USER to GROUP (admin only)",
    aliases: ["add"],
    parse: (a) =>
      a.length === 2
        ? { name: "add_member", group: a[0]!, user: a[1]! }
        : "expected GROUP and USER",
  },
  remove_member: {
    usage: "remove_member GROUP USER",
    summary: "Remove USER from GROUP (admin only); the group key is rotated",
    aliases: ["remove", "kick"],
    parse: (a) =>
      a.length === 2
        ? { name: "remove_member", group: a[0]!, user: a[1]! }
        : "expected GROUP and USER",
  },
  leave_group: {
    usage: "leave_group GROUP",
    summary: "Leave GROUP; the admin rotates its key",
    aliases: ["leave"],
    parse: (a) => a.length === 1 ? { name: "leave_group", group: a[0]! } : "expected one GROUP",
  },
  transfer_group: {
    usage: "transfer_group GROUP USER",
    summary: "Make member USER the admin of GROUP (then you may leave it)",
    aliases: ["handover", "give_group"],
    parse: (a) =>
      a.length === 2
        ? { name: "transfer_group", group: a[0]!, user: a[1]! }
        : "expected GROUP and USER",
  },
  delete_group: {
    usage: "delete_group GROUP",
    summary: "End GROUP for every member (admin only)",
    aliases: ["rmgroup"],
    parse: (a) => a.length === 1 ? { name: "delete_group", group: a[0]! } : "expected one GROUP",
  },
  send_file: {
    usage: "send_file USER|GROUP PATH",
    summary: "Send a file (any kind) encrypted, in chunks",
    aliases: ["file", "sf"],
    parse: (a, rest) =>
      a.length >= 2
        ? { name: "send_file", target: a[0]!, path: rest(1) }
        : "expected USER or GROUP, and PATH",
  },
  friends: {
    usage: "friends",
    summary: "List your contacts, whether their keys changed, and which you verified",
    aliases: ["f"],
    parse: (a) => a.length === 0 ? { name: "friends" } : "takes no arguments",
  },
  groups: {
    usage: "groups",
    summary: "List your groups with members and key epoch",
    aliases: ["g"],
    parse: (a) => a.length === 0 ? { name: "groups" } : "takes no arguments",
  },
  history: {
    usage: "history USER|GROUP [N]",
    summary: "Show the last N (default 20) messages with USER or in GROUP",
    aliases: ["h", "log"],
    parse: (a) => {
      if (a.length < 1 || a.length > 2) return "expected USER or GROUP, and an optional N";
      const count = a[1] === undefined ? 20 : Number(a[1]);
      if (!Number.isInteger(count) || count < 1 || count > 10_000) {
        return `N must be a whole number from 1 to 10000, got "${a[1]}"`;
      }
      return { name: "history", target: a[0]!, count };
    },
  },
  resend: {
    usage: "resend [USER|GROUP] [N]",
    summary: "Send again the messages that failed (to USER or GROUP; N: only the Nth latest)",
    aliases: ["retry"],
    parse: (a) => {
      const n = a.at(-1) !== undefined && /^[1-9][0-9]{0,5}$/.test(a.at(-1)!)
        ? Number(a.at(-1))
        : null;
      // One number alone is N; a group given by ID needs N after it, or its name.
      const words = n === null ? a : a.slice(0, -1);
      if (words.length > 1) return "expected at most USER or GROUP, then N";
      return { name: "resend", target: words[0] ?? null, index: n };
    },
  },
  fingerprint: {
    usage: "fingerprint USER",
    summary: "Show the safety number to compare with USER out of band",
    aliases: ["fp", "safety"],
    parse: (a) => a.length === 1 ? { name: "fingerprint", user: a[0]! } : "expected one USER",
  },
  accept_key: {
    usage: "accept_key USER",
    summary: "Trust USER's changed keys (after comparing safety numbers)",
    aliases: ["trust"],
    parse: (a) => a.length === 1 ? { name: "accept_key", user: a[0]! } : "expected one USER",
  },
  verify: {
    usage: "verify USER",
    summary: "Mark USER's keys verified once your safety numbers match (kept until they change)",
    aliases: ["verified"],
    parse: (a) => a.length === 1 ? { name: "verify", user: a[0]! } : "expected one USER",
  },
  requests: {
    usage: "requests",
    summary: "List people who are not your contacts and wrote to you, and whom you blocked",
    aliases: ["reqs"],
    parse: (a) => a.length === 0 ? { name: "requests" } : "takes no arguments",
  },
  accept: {
    usage: "accept USER|GROUP",
    summary: "Make USER a contact, or join a GROUP you were put in; what waited is shown",
    aliases: ["allow"],
    parse: (a) => a.length === 1 ? { name: "accept", user: a[0]! } : "expected one USER or GROUP",
  },
  block: {
    usage: "block USER",
    summary: "Drop everything USER sends from now on, without telling them",
    aliases: [],
    parse: (a) => a.length === 1 ? { name: "block", user: a[0]! } : "expected one USER",
  },
  unblock: {
    usage: "unblock USER",
    summary: "Stop blocking USER (a new message from them is a request again)",
    aliases: [],
    parse: (a) => a.length === 1 ? { name: "unblock", user: a[0]! } : "expected one USER",
  },
  file_limit: {
    usage: "file_limit [MB]",
    summary: "Show or set the largest file saved from a contact (default 25 MB)",
    aliases: ["filelimit"],
    parse: (a) => {
      if (a.length === 0) return { name: "file_limit", bytes: null };
      const max = MAX_FILE_SIZE / _MIB;
      const mb = /^[0-9]{1,6}(\.[0-9]{1,6})?$/.test(a[0]!) ? Number(a[0]) : NaN;
      if (a.length > 1 || !(mb >= 0 && mb <= max)) {
        return `MB must be a number from 0 to ${max}, got "${a.join(" ")}"`;
      }
      return { name: "file_limit", bytes: Math.round(mb * _MIB) };
    },
  },
  devices: {
    usage: "devices",
    summary: "List your devices (this one marked); each has keys of its own",
    aliases: [],
    parse: (a) => a.length === 0 ? { name: "devices" } : "takes no arguments",
  },
  unlink: {
    usage: "unlink NAME",
    summary: "Remove one of your other devices: it is logged out everywhere and gets nothing new",
    aliases: [],
    parse: (a, rest) =>
      a.length >= 1 ? { name: "unlink", device: rest(0) } : "expected a device NAME",
  },
  whoami: {
    usage: "whoami",
    summary: "Show your user ID, name and server",
    aliases: ["me"],
    parse: (a) => a.length === 0 ? { name: "whoami" } : "takes no arguments",
  },
  logout: {
    usage: "logout",
    summary: "End this session everywhere it is open and quit (next time: log in again)",
    aliases: [],
    parse: (a) => a.length === 0 ? { name: "logout" } : "takes no arguments",
  },
  help: {
    usage: "help",
    summary: "Show this list",
    aliases: ["?"],
    parse: () => ({ name: "help" }),
  },
  quit: {
    usage: "quit",
    summary: "Leave (queued messages are sent first)",
    aliases: ["exit", "q"],
    parse: (a) => a.length === 0 ? { name: "quit" } : "takes no arguments",
  },
};

/** A line that is not a valid command; `message` includes the usage line when known. */
export class CommandError extends Error {
  /** Stable machine-readable code. */
  readonly code = "bad_command";
  /** Creates the error; `message` says what is wrong with the line. */
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

const _BY_NAME = new Map<string, ClientCommand["name"]>();
for (const [name, spec] of Object.entries(COMMAND_SPECS)) {
  _BY_NAME.set(name, name as ClientCommand["name"]);
  for (const a of spec.aliases) _BY_NAME.set(a, name as ClientCommand["name"]);
}

/**
 * Parses one input line. Returns null for a blank line or a `#` comment; throws
 * {@linkcode CommandError} with a usage line for anything malformed. A leading `/` is
 * accepted (`/msg bob hi`), as chat users type it.
 */
export function parseCommand(line: string): ClientCommand | null {
  const trimmed = line.trim();
  if (trimmed === "" || trimmed.startsWith("#")) return null;
  const words = _words(trimmed);
  const word = words[0]!.text.replace(/^\//, "");
  const name = _BY_NAME.get(word.toLowerCase());
  if (!name) {
    throw new CommandError(`Unknown command "${word}"; type "help" for the list`);
  }
  const spec = COMMAND_SPECS[name];
  const args = words.slice(1).map((w) => w.text);
  const rest = (from: number) => trimmed.slice(words[from + 1]!.start);
  const parsed = spec.parse(args, rest);
  if (typeof parsed === "string") {
    throw new CommandError(`${name}: ${parsed}. Usage: ${spec.usage}`);
  }
  return parsed;
}

/** The help text: one line per command. */
export function helpText(): string {
  const width = Math.max(...Object.values(COMMAND_SPECS).map((s) => s.usage.length));
  return Object.values(COMMAND_SPECS)
    .map((s) => `  ${s.usage.padEnd(width)}  ${s.summary}`)
    .join("\n");
}

/** Splits on whitespace, keeping each word's start so TEXT can be taken verbatim. */
function _words(line: string): { text: string; start: number }[] {
  const out: { text: string; start: number }[] = [];
  const re = /\S+/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    out.push({ text: m[0], start: m.index });
  }
  return out;
}
