/**
 * The inbox: incoming messages are handled one at a time, in arrival order, and each is
 * acknowledged only once it is handled and stored, so a crash or a lost connection leaves
 * it on the server to be delivered again. A message whose key (or group) has not arrived
 * yet is parked, unacknowledged, until a key arrives or {@linkcode KEY_WAIT_MS} passes.
 * Redeliveries are recognized here (the connection does not de-duplicate for us).
 *
 * Messages kept earlier and acknowledged then (a request the user accepted, `consent.ts`)
 * come back through {@linkcode Inbox.replay}: handled in the same order and the same way,
 * but not acknowledged again.
 *
 * @module
 */

import type { MessageFrame } from "../../protocol/mod.ts";
import { errorCode, isRetryable } from "./errors.ts";
import type { EventSink } from "./events.ts";
import type { MessagesPort } from "./ports.ts";

/**
 * How long a message waits for its key (or its group) before it is reported and dropped.
 * It is not acknowledged meanwhile, so a restart finds it again on the server.
 */
export const KEY_WAIT_MS = 60_000;

/** What the handler made of a message: handled, or parked until a key arrives. */
export type Handled = "done" | "wait";

/** What {@linkcode Inbox} needs. */
export interface InboxDeps {
  readonly ks: Pick<MessagesPort, "hasMessage" | "markSeen">;
  /** Opens, stores and reports one message; throws to reject it. */
  handle(m: MessageFrame): Promise<Handled>;
  /** Reports a message another client of this keystore stored first. */
  reshow(msgId: number): void;
  ack(ids: number[]): void;
  emit: EventSink;
  /** Whether connected: a failure while offline may be the connection's (no ack, retried). */
  connected(): boolean;
  /** Whether the client is stopping: nothing more is acknowledged (it comes again later). */
  stopping(): boolean;
  /** The clock (tests pass their own). */
  now?(): number;
  /**
   * Names for a message's sender and group in what is reported about it (a username, a
   * group's name); `#ID` when not given.
   */
  names?(m: MessageFrame): { from: string; group: string | null };
}

/** Receives, parks and acknowledges incoming messages. */
export class Inbox {
  readonly #d: InboxDeps;
  readonly #now: () => number;
  #chain: Promise<void> = Promise.resolve();
  #parked: { m: MessageFrame; since: number; ack: boolean }[] = [];
  /** Handled this session (key and group-event messages are not in the history). */
  readonly #done = new Set<number>();
  /** Being handled or parked: not acknowledged yet, and a redelivery changes nothing. */
  readonly #inflight = new Set<number>();

  constructor(deps: InboxDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Queues a message from the server. */
  receive(m: MessageFrame): void {
    if (this.#inflight.has(m.msg_id)) return;
    this.#inflight.add(m.msg_id);
    this.#enqueue(m);
  }

  /** Resolves once every message queued so far is handled (or parked). */
  idle(): Promise<void> {
    return this.#chain;
  }

  /** How many messages wait for a key. */
  get parked(): number {
    return this.#parked.length;
  }

  /**
   * Handles messages that were kept (and acknowledged) earlier, in order, after those
   * queued so far. Each is handled even if it was seen this session, and none is
   * acknowledged again. Resolves once they are handled (or parked, or rejected), with the
   * IDs of those that failed in a way worth trying again later (the connection's).
   */
  async replay(frames: readonly MessageFrame[]): Promise<number[]> {
    const again: number[] = [];
    for (const m of frames) {
      this.#inflight.add(m.msg_id);
      // Forgotten as handled only when its turn comes: the message may still be on its way
      // through the queue (kept as a request right now), and that pass must finish first.
      this.#chain = this.#chain.then(() => {
        this.#done.delete(m.msg_id);
        this.#inflight.add(m.msg_id);
      });
      this.#enqueue(m, false, () => again.push(m.msg_id));
    }
    await this.#chain;
    return again;
  }

  /** A key arrived: parked messages are tried again, in their order. */
  retryParked(): void {
    for (const p of this.#parked.splice(0)) this.#enqueue(p.m, p.ack);
  }

  /** Reports, drops and acknowledges the messages parked longer than {@linkcode KEY_WAIT_MS}. */
  expireParked(): void {
    const now = this.#now();
    const expired = this.#parked.filter((p) => now - p.since > KEY_WAIT_MS);
    if (expired.length === 0) return;
    this.#parked = this.#parked.filter((p) => now - p.since <= KEY_WAIT_MS);
    for (const { m, ack } of expired) {
      const { from, group } = this.#names(m);
      const where = group !== null ? ` in group ${group}` : "";
      this.#d.emit({
        event: "error",
        code: "no_key",
        message: `Cannot decrypt message ${m.msg_id} from ${from}${where}: ` +
          "you do not have its key",
      });
      this.#done.add(m.msg_id);
      this.#inflight.delete(m.msg_id);
      if (ack) this.#d.ack([m.msg_id]);
    }
  }

  /** The sender's and group's names for a report. */
  #names(m: MessageFrame): { from: string; group: string | null } {
    return this.#d.names?.(m) ??
      { from: `#${m.from}`, group: m.group_id === null ? null : String(m.group_id) };
  }

  #enqueue(m: MessageFrame, ack = true, retryLater?: () => void): void {
    // A fault outside a message's own handling must not stop the messages after it.
    this.#chain = this.#chain.then(() => this.#process(m, ack, retryLater)).catch((err) =>
      this.#d.emit({ event: "error", message: `Inbox: ${(err as Error).message}` })
    );
  }

  /**
   * Handles one message. A failure that may be the connection's leaves it unacknowledged,
   * so the server delivers it again; any other failure rejects it (reported, acknowledged).
   */
  async #process(m: MessageFrame, mayAck: boolean, retryLater?: () => void): Promise<void> {
    const { ks } = this.#d;
    let ack = mayAck;
    try {
      if (!this.#done.has(m.msg_id) && !ks.hasMessage(m.msg_id)) {
        if (await this.#d.handle(m) === "wait") {
          this.#parked.push({ m, since: this.#now(), ack: mayAck });
          return;
        }
        ks.markSeen(m.msg_id);
      } else if (!this.#done.has(m.msg_id)) {
        // Another client of this keystore (a second terminal) stored it first: show it here
        // too, since every live connection of a user gets every message.
        this.#d.reshow(m.msg_id);
      }
      this.#done.add(m.msg_id);
    } catch (err) {
      if (this.#d.stopping() || !this.#d.connected() || isRetryable(err)) {
        ack = false;
        retryLater?.();
      } else {
        this.#done.add(m.msg_id);
        const code = errorCode(err);
        this.#d.emit({
          event: "error",
          message: `Message ${m.msg_id} from ${this.#names(m).from} rejected: ${
            (err as Error).message
          }`,
          ...(code ? { code } : {}),
        });
      }
    }
    this.#inflight.delete(m.msg_id);
    if (ack && !this.#d.stopping()) this.#d.ack([m.msg_id]);
  }
}
