/**
 * What the chat client tells its user: one typed event per happening. The terminal renders
 * them as text; `--json` writes each as one JSON object per line, with its `event` field.
 *
 * Fields marked "added" are newer than the rest and come last in each object, so older
 * readers see the same fields as before. A message you send goes `sent` (`state`
 * "sending", or "queued" while offline: it goes out after the reconnect, with the same
 * `client_msg_id`), then `accepted` (with its server `id`), then `delivered` per recipient;
 * or it fails for good: an `error` carrying its `client_msg_id`. A UI updates the message's
 * line in place by `client_msg_id`, then by `id`.
 *
 * @module
 */

/** Where one of your messages is, as `sent` reports it. */
export type SentState = "sending" | "queued" | "accepted";

/** Every event the client emits. */
export type ClientEvent =
  | { event: "ready"; user: string; id: number; server: number }
  | { event: "connecting"; attempt: number; reason: string }
  | { event: "reconnected"; server: number }
  | { event: "progress"; what: string; done: number; total: number }
  | {
    event: "message";
    id: number;
    from: number;
    from_name: string;
    group: number | null;
    group_name: string | null;
    text: string;
    sent_at: number;
  }
  | {
    event: "sent";
    client_msg_id: string;
    to: string;
    group: number | null;
    /** Added: the friend's user ID; null for a group. */
    to_id?: number | null;
    /** Added: the text as typed (`[file] NAME` for a file). */
    text?: string;
    /** Added: going out now, queued until the reconnect, or (a file) accepted already. */
    state?: SentState;
    /** Added: for a file, its name and size in bytes. */
    file?: { name: string; size: number } | null;
  }
  | { event: "accepted"; client_msg_id: string; id: number }
  | {
    event: "delivered";
    id: number;
    to: number;
    to_name: string;
    /** Added: the message's client ID, as in `sent` (null if it is not in the history). */
    client_msg_id?: string | null;
    /** Added: the group, for a group message. */
    group?: number | null;
    group_name?: string | null;
  }
  | {
    event: "file";
    id: number;
    from: number;
    from_name: string;
    group: number | null;
    name: string;
    path: string;
    size: number;
    sha256: string;
    /** Added. */
    group_name?: string | null;
  }
  | {
    event: "group";
    group: number;
    name: string;
    change: "created" | "added" | "removed" | "left" | "admin_changed" | "deleted";
    user: number;
    user_name: string;
    by: number;
    members: number[];
    admin: number;
    /** Added: names of `by`, `admin` and `members` (same order), `#ID` when unknown. */
    by_name?: string;
    admin_name?: string;
    member_names?: string[];
  }
  | {
    event: "group_key";
    group: number;
    epoch: number;
    from: number;
    /** Added. */
    group_name?: string;
    from_name?: string;
  }
  /**
   * A shared key: "me" answers the user's `add_friend`; "them" is a key a contact sent (also
   * when an accepted request is replayed). Only "me" is shown as a line; "them" is for JSON use.
   */
  | { event: "friend"; user: string; id: number; initiated_by: "me" | "them" }
  | {
    event: "key_changed";
    user: string;
    id: number;
    safety_number: string;
    message: string;
    /** Added: they were a verified contact (the message then says so, louder). */
    verified?: boolean;
  }
  | { event: "key_accepted"; user: string; id: number }
  | {
    event: "friends";
    friends: {
      id: number;
      user: string;
      /** Their keys are the pinned ones: no key change waits for `accept_key`. */
      verified_keys: boolean;
      /** Added: the user marked these keys verified (`verify`) and they have not changed. */
      verified?: boolean;
    }[];
  }
  | {
    event: "groups";
    groups: {
      id: number;
      name: string;
      admin: number;
      members: number[];
      epoch: number | null;
      /** Added: names of `admin` and `members` (same order), `#ID` when unknown. */
      admin_name?: string;
      member_names?: string[];
    }[];
  }
  | {
    event: "history";
    target: string;
    messages: {
      id: number | null;
      from: number;
      from_name: string;
      text: string;
      sent_at: number;
      state: string | null;
      file: string | null;
      /** Added: for a file message, the file's name and size in bytes. */
      file_name?: string | null;
      file_size?: number | null;
      /** Added: the sender's ID for the message (yours match `sent`'s). */
      client_msg_id?: string | null;
    }[];
  }
  | { event: "fingerprint"; user: string; id: number; safety_number: string }
  | { event: "whoami"; user: string; id: number; server: number | null; connected: boolean }
  | { event: "help"; text: string }
  | {
    event: "error";
    message: string;
    code?: string;
    /** Added: the message of yours that failed for good, when the error is about one. */
    client_msg_id?: string;
  }
  | { event: "logged_out" }
  | { event: "quit" }
  /** Something worth knowing that is not an error (e.g. a second group with the same name). */
  | { event: "warning"; message: string }
  // ---- Added: consent, verification and live key checks. ----
  | {
    /**
     * Someone who is not a contact sent a message or a key: kept until `accept` or `block`.
     * Sent once when the request starts, with the first text that could be read: a key with
     * the message right behind it is one event, with the text. A key alone (`add_friend`)
     * gives `text: null`, and its first readable text a second event later.
     */
    event: "request";
    user: string;
    id: number;
    /** The first text they sent that could be read, or null (e.g. only a key so far). */
    text: string | null;
    /** How many of their messages are kept (what they wrote; the keys they offered are not counted). */
    messages: number;
  }
  | {
    /** They are a contact now (`accept`, or you wrote to them); kept messages follow. */
    event: "contact_added";
    user: string;
    id: number;
    /** How many kept messages are handed over now (keys not counted). */
    messages: number;
  }
  | {
    event: "blocked";
    user: string;
    id: number;
    /** How many kept messages of their request were dropped (keys not counted). */
    dropped: number;
  }
  | { event: "unblocked"; user: string; id: number }
  | {
    /** The `devices` command's answer: the account's devices in its newest checked list. */
    event: "devices";
    /** The list's version. */
    version: number;
    devices: {
      id: number;
      name: string;
      /** When it was linked, Unix milliseconds. */
      added: number;
      /** This very device. */
      current: boolean;
    }[];
  }
  | {
    /**
     * A device appeared in someone's list (`own`: the user's own account, and not by this
     * device), seen at a key check.
     */
    event: "device_linked";
    user: string;
    id: number;
    device: string;
    own: boolean;
    message: string;
  }
  | {
    /** Someone's list of devices, as the server shows it, does not check: a loud warning. */
    event: "device_list_invalid";
    user: string;
    id: number;
    message: string;
  }
  | {
    /** A device was removed from the account (`unlink`): it is logged out everywhere. */
    event: "device_unlinked";
    id: number;
    name: string;
  }
  | {
    event: "requests";
    requests: {
      id: number;
      user: string;
      text: string | null;
      messages: number;
      /** When their first message arrived, Unix milliseconds. */
      since: number;
    }[];
    blocked: { id: number; user: string }[];
    /** Added: groups someone who is not a contact put you in, oldest first. */
    groups?: { id: number; name: string; by: number; by_name: string; since: number }[];
  }
  | {
    /**
     * Added: someone who is not a contact put you in a group. Its messages are kept unseen
     * until `accept GROUP` (then `group_joined`); `leave_group` or blocking them declines.
     */
    event: "group_request";
    group: number;
    name: string;
    by: number;
    by_name: string;
    admin: number;
    admin_name: string;
    members: number[];
    member_names: string[];
  }
  | {
    /** Added: you accepted a group request; the messages it kept follow as `message`s. */
    event: "group_joined";
    group: number;
    name: string;
    by: number;
    by_name: string;
    admin: number;
    admin_name: string;
    members: number[];
    member_names: string[];
    /** How many kept messages follow. */
    messages: number;
  }
  | {
    /** Added: you declined a group request (left the group before accepting it). */
    event: "group_declined";
    group: number;
    name: string;
    by: number;
    by_name: string;
  }
  | {
    /** A received file was not saved. */
    event: "file_refused";
    from: number;
    from_name: string;
    group: number | null;
    group_name: string | null;
    name: string;
    size: number;
    /** Not from a contact, or larger than the user's limit. */
    reason: "not_contact" | "too_large";
    /** The user's file limit, in bytes. */
    limit: number;
    message: string;
  }
  | { event: "file_limit"; bytes: number }
  | { event: "verified"; user: string; id: number; safety_number: string }
  | {
    /** The server publishes other keys for the user than this device's. */
    event: "own_keys_changed";
    user: string;
    id: number;
    message: string;
  };

/** A sink for events. */
export type EventSink = (e: ClientEvent) => void;

/** Events collected in order, with a way to wait for one (the demo and tests use it). */
export class EventLog {
  /** Every event recorded so far, oldest first. */
  readonly events: ClientEvent[] = [];
  /** Extra text for the timeout error (e.g. a process's stderr). */
  describe: () => string = () => "";

  /** Records an event. */
  push(e: ClientEvent): void {
    this.events.push(e);
  }

  /** Events of one kind, in order. */
  all<E extends ClientEvent["event"]>(event: E): Extract<ClientEvent, { event: E }>[] {
    return this.events.filter((e) => e.event === event) as Extract<ClientEvent, { event: E }>[];
  }

  /**
   * Resolves with the first event of kind `event` matching `pred` (among all events so far
   * and to come); rejects after `timeoutMs` listing what did arrive.
   */
  async waitFor<E extends ClientEvent["event"]>(
    event: E,
    pred: (e: Extract<ClientEvent, { event: E }>) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<Extract<ClientEvent, { event: E }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.all(event).find(pred);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `No ${event} event in time. Events:\n${
            this.events.map((e) => JSON.stringify(e)).join("\n")
          }${this.describe()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
