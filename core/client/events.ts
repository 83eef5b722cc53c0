/**
 * What the chat client tells its user: one typed event per happening. The terminal renders
 * them as text; `--json` writes each as one JSON object per line, with its `event` field.
 *
 * @module
 */

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
  | { event: "sent"; client_msg_id: string; to: string; group: number | null }
  | { event: "accepted"; client_msg_id: string; id: number }
  | { event: "delivered"; id: number; to: number; to_name: string }
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
  }
  | {
    event: "group";
    group: number;
    name: string;
    change: "created" | "added" | "removed" | "left";
    user: number;
    user_name: string;
    by: number;
    members: number[];
    admin: number;
  }
  | { event: "group_key"; group: number; epoch: number; from: number }
  | { event: "friend"; user: string; id: number; initiated_by: "me" | "them" }
  | {
    event: "key_changed";
    user: string;
    id: number;
    safety_number: string;
    message: string;
  }
  | { event: "key_accepted"; user: string; id: number }
  | { event: "friends"; friends: { id: number; user: string; verified_keys: boolean }[] }
  | {
    event: "groups";
    groups: {
      id: number;
      name: string;
      admin: number;
      members: number[];
      epoch: number | null;
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
    }[];
  }
  | { event: "fingerprint"; user: string; id: number; safety_number: string }
  | { event: "whoami"; user: string; id: number; server: number | null; connected: boolean }
  | { event: "help"; text: string }
  | { event: "error"; message: string; code?: string }
  | { event: "logged_out" }
  | { event: "quit" };

/** A sink for events. */
export type EventSink = (e: ClientEvent) => void;

/** Events collected in order, with a way to wait for one (the demo and tests use it). */
export class EventLog {
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
