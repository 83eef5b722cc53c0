/**
 * Sending text: every message is stored in the keystore first (state "queued"), then sealed
 * and sent. One whose connection drops before the server accepts it stays queued and goes
 * out after the reconnect with the same client message ID (the server de-duplicates by
 * it); one the server refuses for good is marked failed. `drain()` lets the client exit
 * only once what the user sent is accepted.
 *
 * @module
 */

import { type Clock, SYSTEM_CLOCK } from "../../async/clock.ts";
import type { DeliveredFrame } from "../../protocol/mod.ts";
import type { LiveConnection } from "./connection.ts";
import { delay, settledWithin } from "../transport/delay.ts";
import { sealDirect, sealGroup } from "../../e2e/mod.ts";
import { CLIENT_ERRORS, ClientError, errorCode, isRetryable } from "./errors.ts";
import type { EventSink } from "./events.ts";
import { keysChangedError } from "./friends.ts";
import type { FriendRecord, GroupRecord, MessageRecord } from "../../keystore/keystore_types.ts";
import { userName } from "./lookup.ts";
import type { FriendsPort, GroupsPort, MessagesPort } from "./ports.ts";
import type { Tracker } from "./tracker.ts";

/** The keystore as the sender uses it. */
export type SenderStore =
  & Pick<FriendsPort, "userId" | "username" | "friend" | "friendKeysUsable" | "activeFriendKey">
  & Pick<GroupsPort, "group" | "currentGroupKey">
  & Pick<
    MessagesPort,
    | "addOutgoing"
    | "markAccepted"
    | "markDelivered"
    | "markFailed"
    | "markRequeued"
    | "queued"
    | "outgoingByMsgId"
  >;

/** What {@linkcode Sender} needs. */
export interface SenderDeps {
  readonly ks: SenderStore;
  readonly link: LiveConnection;
  readonly emit: EventSink;
  /** Signs what the user sends. */
  readonly identitySecret: Uint8Array;
  readonly tracker: Tracker;
  /** Resolves once the messages received so far are handled (they may send keys). */
  inboxIdle(): Promise<void>;
  /**
   * A user's name when the keystore does not know it yet (looked up); receipts wait for
   * it rather than show a bare `#ID`. Without it, `#ID` is shown.
   */
  nameOf?(userId: number): Promise<string>;
  /** The clock of `drain`'s deadline (default: the system clock). */
  readonly clock?: Clock;
}

type _TextFrame =
  | { type: "single_message"; to: number; body: string; client_msg_id: string }
  | { type: "group_message"; group_id: number; body: string; client_msg_id: string };

/** Sends the user's text messages and keeps the queue. */
export class Sender {
  readonly #d: SenderDeps;

  constructor(deps: SenderDeps) {
    this.#d = deps;
  }

  /** Stores and sends a text to a friend who has a shared key. */
  async sendDirect(friend: FriendRecord, text: string): Promise<void> {
    const { ks } = this.#d;
    if (!ks.friendKeysUsable(friend.userId)) throw keysChangedError(friend.username);
    const id = crypto.randomUUID();
    ks.addOutgoing({ clientMsgId: id, kind: "direct", peerId: friend.userId, text });
    this.#d.emit({
      event: "sent",
      client_msg_id: id,
      to: friend.username,
      group: null,
      to_id: friend.userId,
      text,
      state: this.#d.link.connected ? "sending" : "queued",
    });
    await this.#failOnRefusal(id, () => this.#directText(friend.userId, text, id));
  }

  /** Stores and sends a text to a group. */
  async sendGroup(group: GroupRecord, text: string): Promise<void> {
    const id = crypto.randomUUID();
    this.#d.ks.addOutgoing({ clientMsgId: id, kind: "group", peerId: group.groupId, text });
    this.#d.emit({
      event: "sent",
      client_msg_id: id,
      to: group.name,
      group: group.groupId,
      to_id: null,
      text,
      state: this.#d.link.connected ? "sending" : "queued",
    });
    await this.#failOnRefusal(id, () => this.#groupText(group.groupId, text, id));
  }

  /**
   * Sends failed texts again, oldest first: each goes back in the queue under its own client
   * message ID (a refusal stored nothing, so the ID is not used up: PROTOCOL.md, "Room at the
   * recipient") and out now when connected (else at the reconnect, with the queue), and is
   * marked failed again, with the new reason, if refused again. Messages that are not failed
   * (resent meanwhile) are skipped. Resolves to how many were put back.
   */
  async resend(messages: readonly MessageRecord[]): Promise<number> {
    const { ks } = this.#d;
    let count = 0;
    for (const m of messages) {
      const id = m.clientMsgId;
      if (id === null || m.file !== null || !ks.markRequeued(id)) continue;
      count++;
      const group = m.kind === "group" ? ks.group(m.peerId) : null;
      this.#d.emit({
        event: "sent",
        client_msg_id: id,
        to: group?.name ?? ks.friend(m.peerId)?.username ?? `#${m.peerId}`,
        group: group?.groupId ?? null,
        to_id: group ? null : m.peerId,
        text: m.text,
        state: this.#d.link.connected ? "sending" : "queued",
      });
      await this.#failOnRefusal(
        id,
        () =>
          m.kind === "direct"
            ? this.#directText(m.peerId, m.text, id)
            : this.#groupText(m.peerId, m.text, id),
      );
    }
    return count;
  }

  /**
   * Sends the texts queued while offline, oldest first, with their original IDs. Stops at
   * the first that fails for the connection's sake (the next connection tries again).
   */
  async flushQueued(): Promise<void> {
    const { ks, link } = this.#d;
    for (const m of ks.queued()) {
      if (m.file) continue;
      const id = m.clientMsgId!;
      try {
        if (m.kind === "direct") await this.#directText(m.peerId, m.text, id);
        else await this.#groupText(m.peerId, m.text, id);
      } catch (err) {
        if (!link.connected || isRetryable(err)) return;
        ks.markFailed(id);
        const code = errorCode(err);
        this.#d.emit({
          event: "error",
          message: `Queued message not sent: ${(err as Error).message}`,
          ...(code ? { code } : {}),
          client_msg_id: id,
        });
      }
    }
  }

  /**
   * A recipient acknowledged a message: records it and reports it, for the user's own
   * messages only (receipts of key messages are plumbing).
   */
  delivered(d: DeliveredFrame): void {
    const { ks } = this.#d;
    if (!ks.markDelivered(d.msg_id)) return;
    const out = ks.outgoingByMsgId(d.msg_id);
    const group = out?.kind === "group" ? ks.group(out.peerId) : null;
    const report = (name: string) =>
      this.#d.emit({
        event: "delivered",
        id: d.msg_id,
        to: d.to,
        to_name: name,
        client_msg_id: out?.clientMsgId ?? null,
        group: group?.groupId ?? null,
        group_name: group?.name ?? null,
      });
    const known = d.to === ks.userId || ks.friend(d.to) !== null;
    if (known || this.#d.nameOf === undefined) return report(userName(ks, d.to));
    void this.#d.nameOf(d.to).then(report);
  }

  /** Waits (at most `timeoutMs`) until every message sent so far is accepted. */
  async drain(timeoutMs: number): Promise<boolean> {
    const { ks, tracker } = this.#d;
    const clock = this.#d.clock ?? SYSTEM_CLOCK;
    const deadline = clock.now() + timeoutMs;
    while (clock.now() < deadline) {
      await settledWithin(this.#d.inboxIdle(), deadline - clock.now(), clock);
      if (tracker.size === 0 && ks.queued().length === 0) return true;
      const left = deadline - clock.now();
      if (tracker.size > 0) await settledWithin(tracker.settled(), Math.min(200, left), clock);
      else await delay(100, undefined, clock);
    }
    return false;
  }

  /**
   * Sends now if connected; a failure of the connection leaves the message queued. Any
   * other failure marks it failed and is reported with its client message ID.
   */
  async #failOnRefusal(clientMsgId: string, send: () => Promise<void>): Promise<void> {
    const { link } = this.#d;
    if (!link.connected) return;
    try {
      await send();
    } catch (err) {
      if (!link.connected || isRetryable(err)) return;
      this.#d.ks.markFailed(clientMsgId);
      const code = errorCode(err);
      this.#d.emit({
        event: "error",
        message: (err as Error).message,
        ...(code ? { code } : {}),
        client_msg_id: clientMsgId,
      });
    }
  }

  async #directText(friendId: number, text: string, clientMsgId: string): Promise<void> {
    const { ks } = this.#d;
    const f = ks.friend(friendId)!;
    if (!ks.friendKeysUsable(friendId)) throw keysChangedError(f.username);
    const key = ks.activeFriendKey(friendId);
    if (!key) throw new ClientError(CLIENT_ERRORS.noKey, `No shared key with ${f.username} yet`);
    const body = sealDirect({
      fromId: ks.userId,
      toId: friendId,
      fernetKey: key.key,
      plaintext: text,
      senderIdentitySecret: this.#d.identitySecret,
      clientMsgId,
    });
    await this.#sendAndRecord(
      { type: "single_message", to: friendId, body, client_msg_id: clientMsgId },
    );
  }

  async #groupText(groupId: number, text: string, clientMsgId: string): Promise<void> {
    const { ks } = this.#d;
    const key = ks.currentGroupKey(groupId);
    if (!key) {
      throw new ClientError(
        CLIENT_ERRORS.noKey,
        `No key for group ${groupId} yet; wait for the admin to send it`,
      );
    }
    const body = sealGroup({
      fromId: ks.userId,
      groupId,
      epoch: key.epoch,
      fernetKey: key.key,
      plaintext: text,
      senderIdentitySecret: this.#d.identitySecret,
      clientMsgId,
    });
    await this.#sendAndRecord(
      { type: "group_message", group_id: groupId, body, client_msg_id: clientMsgId },
    );
  }

  /** Sends a sealed message and records its acceptance in the history. */
  async #sendAndRecord(frame: _TextFrame): Promise<void> {
    const acc = await this.#d.tracker.track(this.#d.link.live().request(frame));
    this.#d.ks.markAccepted(frame.client_msg_id, acc.msg_id);
    this.#d.emit({ event: "accepted", client_msg_id: frame.client_msg_id, id: acc.msg_id });
  }
}
