/**
 * Reliable delivery: a message is persisted (group commit) before its sender hears
 * `accepted`; it is then pushed to every session of every recipient on this server at once,
 * and sent to every peer server a recipient is connected to (one `peer_deliver` per server,
 * however many of its users a group message reaches). A delivery is removed only when the
 * recipient acknowledges it, and every session of the sender then gets a receipt (unless the
 * recipient blocked the sender: see `contacts.ts`): a
 * `delivered` frame at once, or, on a session that enabled the `receipt_batch` feature, a
 * place in the one `receipts` frame that session gets after this event-loop turn (a group
 * message acknowledged by 9 members costs its sender 1 frame instead of 9). The database
 * is the source of truth: the replay after login and the redelivery sweep deliver whatever
 * a live push missed (a peer that was down, a server that died between commit and push).
 *
 * What waits is bounded (`quotas.ts`): a recipient with too much pending is left out of a
 * message (the sender's `accepted` names them in `full_recipients`), and a message every
 * recipient of which is full is refused with `recipient_full`, nothing stored; deliveries
 * still pending after the expiry are dropped by {@linkcode Delivery.expire}.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import {
  encode,
  ERROR_CODES,
  type Feature,
  FEATURES,
  LIMITS,
  type MessageFrame,
  negotiateFeatures,
  type PeerDeliveredFrame,
  type PeerDeliverFrame,
  ProtocolError,
  type Receipt,
} from "../protocol/mod.ts";
import type { AckedDelivery, NewMessage, PendingMessage, SavedMessage } from "../store/store.ts";
import { Batcher } from "./batcher.ts";
import { AckLog } from "./ack_log.ts";
import type { ClientSession, PushOrigin } from "./client_session.ts";
import type { ServerContext } from "./context.ts";

/** Pending messages fetched per page during the replay after login. */
const _REPLAY_PAGE = 256;

/** Deliveries one store call expires, and calls per sweep at most. */
const _EXPIRE_PER_CALL = 10_000;
const _EXPIRE_CALLS_PER_SWEEP = 10;

/** Delivery of messages; see the module documentation. */
export class Delivery {
  readonly #ctx: ServerContext;
  readonly #saver: Batcher<NewMessage, SavedMessage | Error>;
  /** The features each session's `register`, `login` or `resume` enabled. */
  readonly #features = new WeakMap<ClientSession, readonly Feature[]>();
  /**
   * Receipts for `receipt_batch` sessions, in order, until the flush after this turn. A
   * session that closes meanwhile is skipped by the flush, which empties the map.
   */
  readonly #receiptQueue = new Map<ClientSession, Receipt[]>();
  #receiptFlushScheduled = false;
  /** Sessions with at least one message waiting for its commit (admission's fair share). */
  #storingSessions = 0;
  readonly #blocks: (userId: number, otherId: number) => boolean;
  readonly #acks: AckLog;

  /**
   * Delivery for the server of `ctx`; `onCommitted` hears how many messages each group
   * commit took (admission control paces refused senders by it); `blocks` says, without
   * waiting, whether a user logged in here blocked another (their receipts are not sent).
   */
  constructor(
    ctx: ServerContext,
    onCommitted: (n: number) => void = () => {},
    blocks: (userId: number, otherId: number) => boolean = () => false,
  ) {
    this.#ctx = ctx;
    this.#blocks = blocks;
    const { store, metrics, quotas } = ctx;
    this.#acks = new AckLog(
      (userId, ids) => store.ackDeliveries(userId, ids),
      (err, userId, ids) =>
        // The deliveries stay pending: the user gets them again at the next login.
        ctx.log.warn("ack_write_failed", {
          user: userId,
          messages: ids.length,
          error: (err as Error)?.message ?? String(err),
        }),
    );
    this.#saver = new Batcher(async (batch) => {
      metrics.storeBatches++;
      metrics.storeBatchMessages += batch.length;
      try {
        const saved = await store.saveMessages(batch, quotas.pending);
        onCommitted(batch.length);
        return saved;
      } catch (err) {
        if (batch.length === 1) return [_asError(err)];
      }
      // One bad message fails its whole transaction; save one by one so it fails alone.
      const out: (SavedMessage | Error)[] = [];
      for (const m of batch) {
        try {
          out.push((await store.saveMessages([m], quotas.pending))[0]!);
        } catch (err) {
          out.push(_asError(err));
        }
      }
      return out;
    });
  }

  /**
   * Queues a message for the next group commit now, in the caller's order; the result
   * resolves once it is durable (or failed). {@linkcode finishAccept} answers and routes it.
   * Split so that a connection's messages enter the queue in arrival order while what comes
   * before (a group's membership read) runs for several of them at once.
   */
  submit(session: ClientSession, msg: NewMessage): Promise<SavedMessage | Error> {
    if (session.storing++ === 0) this.#storingSessions++;
    return this.#saver.submit(msg).finally(() => {
      if (--session.storing === 0) this.#storingSessions--;
    });
  }

  /**
   * Once `pending` (from {@linkcode submit}) is durable, answers `accepted` and routes the
   * message. Resolves then (rejects if saving failed).
   */
  async finishAccept(
    session: ClientSession,
    ref: number,
    msg: NewMessage,
    pending: Promise<SavedMessage | Error>,
  ): Promise<void> {
    const saved = await pending;
    if (saved instanceof Error) throw saved;
    const full = saved.fullRecipients ?? [];
    this.#ctx.metrics.recipientFull += full.length;
    if (saved.id === 0) throw this.#fullError(full, ref);
    session.send({
      type: "accepted",
      ref,
      client_msg_id: msg.clientMsgId!,
      msg_id: saved.id,
      duplicate: saved.duplicate,
      ...(full.length > 0 ? { full_recipients: [...full] } : {}),
    });
    if (saved.duplicate) {
      this.#ctx.metrics.duplicatesSuppressed++;
      return;
    }
    this.#ctx.metrics.messagesStored++;
    this.route(msg, saved);
  }

  /** The store queue as admission control sees it (see `admission.ts`). */
  storeQueue(): { queued: number; delayMs: number; activeSenders: number } {
    return {
      queued: this.#saver.queued,
      delayMs: this.#saver.sojournMs(),
      activeSenders: this.#storingSessions,
    };
  }

  /**
   * Stores a server-made message (a group event) and routes it. Recipients with too much
   * waiting are left out, as for any message, and logged: they learn the group's state from
   * `group_info` or `list_groups`.
   */
  async saveAndRoute(msg: NewMessage): Promise<void> {
    const saved = await this.#saver.submit(msg);
    if (saved instanceof Error) throw saved;
    const full = saved.fullRecipients ?? [];
    if (full.length > 0) {
      this.#ctx.metrics.recipientFull += full.length;
      this.#ctx.log.warn("event_recipients_full", { group: msg.groupId, users: full.join(",") });
    }
    if (saved.id !== 0) this.route(msg, saved);
  }

  /**
   * Pushes a stored message to recipients connected here and to the peers they are on
   * (those it was not stored for, being full, are left out).
   */
  route(msg: NewMessage, saved: SavedMessage): void {
    if (msg.recipients.length === 0) return;
    const { presence, metrics, id: selfId } = this.#ctx;
    const full = new Set(saved.fullRecipients ?? []);
    const frame: MessageFrame = {
      type: "message",
      msg_id: saved.id,
      kind: msg.kind,
      from: msg.senderId,
      group_id: msg.groupId,
      body: msg.body,
      sent_at: saved.createdAt,
      client_msg_id: msg.clientMsgId,
    };
    const shared = new _SharedText(frame);
    const byServer = new Map<number, number[]>();
    const bodies = new Map<number, string>();
    for (const r of msg.recipients) {
      if (full.has(r.userId)) continue;
      if (r.body !== undefined) bodies.set(r.userId, r.body);
      for (const session of presence.localSessions(r.userId)) {
        if (this.#push(session, frame, r.body, shared)) metrics.messagesRouted++;
      }
      for (const serverId of presence.remoteServers(r.userId)) {
        if (serverId === selfId) continue;
        let list = byServer.get(serverId);
        if (list === undefined) byServer.set(serverId, list = []);
        list.push(r.userId);
      }
    }
    const mesh = this.#ctx.mesh();
    if (byServer.size === 0 || mesh === null) return;
    const { type: _t, ...message } = frame;
    for (const [serverId, recipients] of byServer) {
      let peerBodies: Record<string, string> | undefined;
      for (const uid of recipients) {
        const b = bodies.get(uid);
        if (b !== undefined) (peerBodies ??= {})[uid] = b;
      }
      const sent = mesh.send(serverId, {
        type: "peer_deliver",
        recipients,
        message,
        ...(peerBodies !== undefined ? { bodies: peerBodies } : {}),
      });
      if (sent) metrics.messagesRouted += recipients.length;
    }
  }

  /**
   * Settles the deliveries a session acknowledged and sends each message's sender a
   * `delivered` receipt, on every session of theirs, here and on peers; a sender the
   * session's user blocked gets none. Resolves once the deliveries are removed, or, for
   * messages this session was pushed while it is its user's only connection in the cluster
   * and `written` is false, once their receipts are sent: the removal waits in the
   * {@linkcode AckLog} (see `ack_log.ts`). Whatever else is acknowledged is removed first
   * and its receipts come from what the store removed, so each delivery still gets one
   * receipt when the user has several connections.
   */
  async ack(session: ClientSession, ids: number[], written = false): Promise<void> {
    session.markAcked(ids);
    const userId = session.userId;
    let rest = ids;
    if (!written && this.#soleConnection(session)) {
      const known: AckedDelivery[] = [];
      rest = [];
      for (const id of ids) {
        const origin = session.takeOrigin(id);
        if (origin === undefined) rest.push(id);
        else known.push({ id, senderId: origin.senderId, clientMsgId: origin.clientMsgId });
      }
      if (known.length > 0) {
        this.#ctx.metrics.messagesDelivered += known.length;
        this.#receipts(userId, known);
        const wait = this.#acks.add(userId, known.map((d) => d.id));
        if (rest.length === 0) return await wait;
      }
    } else {
      for (const id of ids) session.takeOrigin(id);
    }
    // The log's removals go first: a delivery it holds must not give a second receipt here.
    await this.#acks.flush();
    const done = await this.#ctx.store.ackDeliveries(userId, rest);
    this.#ctx.metrics.messagesDelivered += done.length;
    this.#receipts(userId, done);
  }

  /**
   * Hands every acknowledgement waiting in the log to the store; resolves once written
   * (server shutdown, and {@linkcode ChatServer.idle}).
   */
  flushAcks(): Promise<void> {
    return this.#acks.flush();
  }

  /** Whether `session` is its user's one connection in the whole cluster. */
  #soleConnection(session: ClientSession): boolean {
    const { presence, id: selfId } = this.#ctx;
    if (presence.localSessions(session.userId).size !== 1) return false;
    for (const serverId of presence.remoteServers(session.userId)) {
      if (serverId !== selfId) return false;
    }
    return true;
  }

  #receipts(to: number, done: readonly AckedDelivery[]): void {
    const { presence } = this.#ctx;
    const mesh = this.#ctx.mesh();
    for (const d of done) {
      if (d.senderId === 0) continue; // server-made events have no sender to tell
      if (this.#blocks(to, d.senderId)) continue; // a blocked sender learns nothing
      const receipt: PeerDeliveredFrame = {
        type: "peer_delivered",
        sender_id: d.senderId,
        msg_id: d.id,
        client_msg_id: d.clientMsgId,
        to,
      };
      this.onPeerDelivered(receipt);
      if (mesh === null) continue;
      for (const serverId of presence.remoteServers(d.senderId)) mesh.send(serverId, receipt);
    }
  }

  /**
   * Records the features a session's `register`, `login` or `resume` asked for (`asked`, its
   * `features` field) and returns those enabled: the known ones, which the answer lists.
   * Undefined when it asked for none (no field): the session gets the protocol as before
   * features, and the answer has no `features`. Each attempt replaces the previous one's.
   */
  negotiate(session: ClientSession, asked: readonly string[] | undefined): Feature[] | undefined {
    const enabled = negotiateFeatures(asked);
    if (enabled === undefined) this.#features.delete(session);
    else this.#features.set(session, enabled);
    return enabled;
  }

  /** The features enabled on a session (undefined when its login asked for none). */
  featuresOf(session: ClientSession): readonly Feature[] | undefined {
    return this.#features.get(session);
  }

  /**
   * A receipt for a sender connected here (from this server or a peer): a `delivered` frame
   * on each of the sender's sessions, or a place in the next `receipts` frame of those that
   * enabled `receipt_batch`.
   */
  onPeerDelivered(f: PeerDeliveredFrame): void {
    const sessions = this.#ctx.presence.localSessions(f.sender_id);
    if (sessions.size === 0) return;
    let text: string | undefined;
    let receipt: Receipt | undefined;
    for (const s of sessions) {
      if (this.#features.get(s)?.includes(FEATURES.receiptBatch)) {
        receipt ??= { msg_id: f.msg_id, client_msg_id: f.client_msg_id, to: f.to };
        this.#queueReceipt(s, receipt);
        continue;
      }
      text ??= encode({
        type: "delivered",
        msg_id: f.msg_id,
        client_msg_id: f.client_msg_id,
        to: f.to,
      });
      s.sendText(text);
    }
  }

  #queueReceipt(session: ClientSession, receipt: Receipt): void {
    const queued = this.#receiptQueue.get(session);
    if (queued === undefined) this.#receiptQueue.set(session, [receipt]);
    else queued.push(receipt);
    if (this.#receiptFlushScheduled) return;
    this.#receiptFlushScheduled = true;
    // A macrotask, as the group commit's: every receipt of this turn (the acks of one commit,
    // a peer_batch full of peer_delivered) joins the same frame.
    setImmediate(() => this.#flushReceipts());
  }

  /** Sends each session its receipts of the turn, in order, in as few frames as allowed. */
  #flushReceipts(): void {
    this.#receiptFlushScheduled = false;
    const queue = [...this.#receiptQueue];
    this.#receiptQueue.clear();
    for (const [session, receipts] of queue) {
      if (session.closed) continue;
      for (let i = 0; i < receipts.length; i += LIMITS.receiptItems) {
        const items = receipts.slice(i, i + LIMITS.receiptItems);
        if (!session.send({ type: "receipts", items })) break;
      }
    }
  }

  /** A peer's message for users connected here. */
  onPeerDeliver(f: PeerDeliverFrame): void {
    const base: MessageFrame = { type: "message", ...f.message };
    const shared = new _SharedText(base);
    for (const uid of f.recipients) {
      // Users who left meanwhile are skipped: their delivery waits in the database.
      for (const session of this.#ctx.presence.localSessions(uid)) {
        if (this.#push(session, base, f.bodies?.[uid], shared)) this.#ctx.metrics.messagesRouted++;
      }
    }
  }

  /**
   * Sends a session every pending delivery of its user, in acceptance order, then `synced`.
   * Live pushes that arrive meanwhile are held and sent after the replay (those it already
   * sent are dropped).
   */
  async replay(session: ClientSession): Promise<void> {
    session.syncing = true;
    let after = 0;
    let count = 0;
    try {
      for (;;) {
        const page = await this.#ctx.store.pendingFor(session.userId, after, _REPLAY_PAGE);
        for (const m of page) {
          session.replayed.add(m.id);
          session.markPushed(m.id, _origin(m.senderId, m.clientMsgId));
          session.send(messageFrame(m));
          after = m.id;
        }
        count += page.length;
        if (page.length < _REPLAY_PAGE || session.closed) break;
      }
    } finally {
      session.syncing = false;
      const held = session.held.splice(0);
      for (const m of held) if (!session.replayed.has(m.msg_id)) session.send(m);
      session.replayed.clear();
    }
    session.send({ type: "synced", pending: count });
  }

  /**
   * Pushes what is still pending for users connected here, accepted more than `ageMs` ago,
   * on each of their sessions where it was never pushed, or was pushed more than `repushMs`
   * ago and not acknowledged. A live push is lost when the server that accepted a message
   * dies between committing and pushing it, or when the peer a recipient is on was
   * unreachable; the database still has the delivery, and this finds it. A client that got
   * a message and never acknowledged it (it crashed while handling it, say) gets it again,
   * but only when the connection, not the server, went silent (see
   * {@linkcode ClientSession.markRepushed}); while the server is `behind` (its event loop
   * lags), nothing already pushed is pushed again. Returns how many messages were pushed.
   */
  async redeliver(
    ageMs: number,
    repushMs: number,
    limit = 1000,
    behind = false,
  ): Promise<number> {
    const { presence, store, id } = this.#ctx;
    if (presence.localUserCount === 0) return 0;
    const rows = await store.pendingOnServer(id, this.#ctx.now() - ageMs, limit);
    let pushed = 0;
    for (const m of rows) {
      for (const session of presence.localSessions(m.recipientId)) {
        if (session.syncing) continue;
        // A server that is behind pushes only what it never pushed: an acknowledgement it
        // has not read yet is late, not lost.
        if (behind && session.pushed.has(m.id)) continue;
        if (!session.markRepushed(m.id, repushMs, _origin(m.senderId, m.clientMsgId))) continue;
        session.send(messageFrame(m));
        pushed++;
      }
    }
    this.#ctx.metrics.redelivered += pushed;
    return pushed;
  }

  /**
   * Drops deliveries still pending `quotas.pendingExpiryMs` after acceptance, in calls of
   * bounded size (the rows go at the next settle). Returns how many it dropped.
   */
  async expire(): Promise<number> {
    const { store, quotas, metrics } = this.#ctx;
    const before = Math.max(0, this.#ctx.now() - quotas.pendingExpiryMs);
    let dropped = 0;
    for (let i = 0; i < _EXPIRE_CALLS_PER_SWEEP; i++) {
      const n = await store.expirePending(before, _EXPIRE_PER_CALL);
      dropped += n;
      if (n < _EXPIRE_PER_CALL) break;
    }
    metrics.deliveriesExpired += dropped;
    return dropped;
  }

  /** The `recipient_full` error for a message none of whose recipients had room. */
  #fullError(full: readonly number[], ref: number): ProtocolError {
    return new ProtocolError(
      ERROR_CODES.recipientFull,
      recipientFullMessage(full, this.#ctx.quotas.pending),
      ref,
    );
  }

  /** Pushes one message on one session unless it was pushed there before. */
  #push(
    session: ClientSession,
    frame: MessageFrame,
    body: string | undefined,
    shared: _SharedText,
  ): boolean {
    if (!session.markPushed(frame.msg_id, _origin(frame.from, frame.client_msg_id))) return false;
    if (body !== undefined) session.push({ ...frame, body });
    else if (session.syncing) session.push(frame);
    else session.sendText(shared.text); // encoded once for every recipient of a group message
    return true;
  }
}

/**
 * The `recipient_full` message for recipients `full` (in ascending order of ID) under the
 * pending `bounds`, as docs/PROTOCOL.md quotes it: the first 10 IDs, then how many more.
 */
export function recipientFullMessage(
  full: readonly number[],
  bounds: { readonly messages: number; readonly bytes: number },
): string {
  const who = full.length === 1 ? `User ${full[0]} has` : `Users ${_someIds(full)} have`;
  return `${who} too many undelivered messages (at most ${bounds.messages} or ` +
    `${_mib(bounds.bytes)} may wait); nothing was stored; try again after they come online`;
}

/** The `message` frame for a pending delivery. */
export function messageFrame(m: PendingMessage): MessageFrame {
  return {
    type: "message",
    msg_id: m.id,
    kind: m.kind,
    from: m.senderId,
    group_id: m.groupId,
    body: m.body,
    sent_at: m.createdAt,
    client_msg_id: m.clientMsgId,
  };
}

/** The origin of a pushed message (sender 0 for a server-made event, which gets no receipt). */
function _origin(senderId: number, clientMsgId: string | null): PushOrigin {
  return { senderId, clientMsgId };
}

/** A frame's encoding, made on first use and shared by every recipient. */
class _SharedText {
  readonly #frame: MessageFrame;
  #text: string | null = null;
  constructor(frame: MessageFrame) {
    this.#frame = frame;
  }
  get text(): string {
    return this.#text ??= encode(this.#frame);
  }
}

/** Bytes as MiB when whole, else as bytes ("64 MiB", "1000 bytes"). */
function _mib(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

function _asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** How many IDs an error message names before it says how many more there are. */
const _NAMED_IDS = 10;

/**
 * IDs for a message, in the order given: all of them up to {@linkcode _NAMED_IDS}, else the
 * first ones and how many more, so the message stays within `error.message`'s 1,024 characters
 * for a group of 256.
 */
function _someIds(ids: readonly number[]): string {
  if (ids.length <= _NAMED_IDS) return ids.join(", ");
  return `${ids.slice(0, _NAMED_IDS).join(", ")} and ${ids.length - _NAMED_IDS} more`;
}
