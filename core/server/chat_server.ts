/**
 * A chat server's logic, independent of HTTP and sockets: it takes client connections as
 * {@linkcode Conn}s and peer servers through a {@linkcode MeshTransport}, validates every
 * frame, and hands each to the part that owns it: {@linkcode Auth}, {@linkcode Directory},
 * {@linkcode Groups}, {@linkcode Delivery}, {@linkcode Contacts}, and presence
 * ({@linkcode PresenceDirectory}, {@linkcode PresenceGossip}). Tests run several of these in
 * one process over a fake mesh.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";
import type { MeshEvents, MeshTransport } from "../mesh/transport.ts";
import {
  type ClientFrame,
  CLOSE_CODES,
  CLOSE_REASONS,
  decode,
  ERROR_CODES,
  type ErrorCode,
  FEATURES,
  frameFits,
  LIMITS,
  loginDeadlineReason,
  type PeerBatchedFrame,
  ProtocolError,
  type ServerFrame,
  STORING_FRAME_TYPES,
} from "../protocol/mod.ts";
import { type NewMessage, type Store, StoreError, type UserRecord } from "../store/store.ts";
import { VERSION } from "../version.ts";
import { type Clock, clockWithNow, SYSTEM_CLOCK } from "../async/clock.ts";
import { fromBase64Url, toBase64Url, toHex } from "../crypto/bytes.ts";
import { type AdmissionLimits, checkAdmissionLimits, DEFAULT_ADMISSION } from "./admission.ts";
import { AdmissionControl } from "./admission_control.ts";
import { Auth, type PasswordCost } from "./auth.ts";
import { ClientSession } from "./client_session.ts";
import type { Conn, ConnHandler } from "./conn.ts";
import type { ServerContext } from "./context.ts";
import { Contacts } from "./contacts.ts";
import { DeviceLists } from "./device_lists.ts";
import { LinkSlots } from "./link_slots.ts";
import { Prekeys } from "./prekeys.ts";
import { Delivery } from "./delivery.ts";
import { Directory } from "./directory.ts";
import { Groups } from "./groups.ts";
import { ServerMetrics } from "./metrics.ts";
import { PresenceDirectory } from "./presence.ts";
import { PresenceGossip } from "./presence_gossip.ts";
import { formatWait, type Quotas, resolveQuotas } from "./quotas.ts";
import { Throttle } from "./throttle.ts";

/** Acknowledgements one session may have applying at once before its next frame waits. */
export const ACKS_IN_FLIGHT = 8;

export type { PasswordCost } from "./auth.ts";

/** What a chat server needs. */
export interface ChatServerOptions {
  id: number;
  store: Store;
  logger: Logger;
  /** scrypt cost for new registrations; defaults to core/crypto's defaults. */
  passwordCost?: PasswordCost;
  /**
   * Rate limits, pending bounds and the pending expiry (`quotas.ts`); the defaults where not
   * given. `pendingExpiryMs` is how long a delivery may wait (default 30 days).
   */
  quotas?: Partial<Quotas>;
  /**
   * The time and timers (login deadlines, presence barriers, expiry); tests pass a fake one.
   * Default: the system clock, or one with `now` as its time when only `now` is given.
   */
  clock?: Clock;
  /** Clock, Unix milliseconds (tests); ignored when `clock` is given. */
  now?: () => number;
  /** Longest wait at login for peers to learn of it (default 500 ms). */
  presenceBarrierMs?: number;
  /** Time a connection has to log in, milliseconds (default `LIMITS.loginWithinMs`). */
  loginTimeoutMs?: number;
  /** Bounds past which new messages are answered `busy` (`admission.ts`); defaults where not given. */
  admission?: Partial<AdmissionLimits>;
  /** The event loop's measured lag, milliseconds (the server's glue measures it; 0 in tests). */
  lagMs?: () => number;
}

/**
 * Event-loop lag past which the redelivery sweep counts the server as behind and pushes
 * nothing again (only what was never pushed), milliseconds.
 */
export const REPUSH_MAX_LAG_MS = 200;

/** A chat server's state and frame handling. */
export class ChatServer implements ConnHandler, MeshEvents {
  readonly id: number;
  readonly metrics = new ServerMetrics();
  readonly presence = new PresenceDirectory();
  readonly #ctx: ServerContext;
  readonly #sessions = new Map<Conn, ClientSession>();
  readonly #auth: Auth;
  readonly #directory: Directory;
  readonly #contacts: Contacts;
  readonly #delivery: Delivery;
  readonly #groups: Groups;
  readonly #deviceLists: DeviceLists;
  readonly #linkSlots: LinkSlots;
  readonly #prekeys: Prekeys;
  readonly #gossip: PresenceGossip;
  #mesh: MeshTransport | null = null;
  readonly #loginTimeoutMs: number;
  /** Handling and answering in progress (see {@linkcode idle}). */
  readonly #work = new Set<Promise<unknown>>();
  readonly #clock: Clock;
  /** Each user's send rate on this server; null when sends are not limited. */
  readonly #sendThrottle: Throttle<number> | null;
  /** When the pending expiry last ran (the clock's time). */
  #expiredAt = -Infinity;
  readonly #admission: AdmissionControl;
  readonly #lagMs: () => number;

  constructor(opts: ChatServerOptions) {
    this.id = opts.id;
    const clock = opts.clock ?? (opts.now ? clockWithNow(opts.now) : SYSTEM_CLOCK);
    this.#clock = clock;
    this.#loginTimeoutMs = opts.loginTimeoutMs ?? LIMITS.loginWithinMs;
    const quotas = resolveQuotas(opts.quotas);
    this.#sendThrottle = quotas.send === null ? null : new Throttle(quotas.send);
    this.#admission = new AdmissionControl(
      checkAdmissionLimits({ ...DEFAULT_ADMISSION, ...opts.admission }),
      () => clock.now(),
    );
    this.#lagMs = opts.lagMs ?? (() => 0);
    this.#ctx = {
      id: opts.id,
      store: opts.store,
      log: opts.logger,
      metrics: this.metrics,
      presence: this.presence,
      quotas,
      now: () => clock.now(),
      mesh: () => this.#mesh,
    };
    this.#contacts = new Contacts(this.#ctx);
    this.#directory = new Directory(this.#ctx, this.#contacts);
    this.#delivery = new Delivery(
      this.#ctx,
      (n) => this.#admission.committed(n),
      (userId, otherId) => this.#contacts.blocks(userId, otherId),
    );
    this.#groups = new Groups(this.#ctx, this.#delivery, this.#directory);
    this.#gossip = new PresenceGossip({
      mesh: {
        send: (peerId, frame) => this.#mesh?.send(peerId, frame) ?? false,
        isUp: (peerId) => this.#mesh?.isUp(peerId) ?? false,
        upPeers: () => this.#mesh?.upPeers() ?? [],
      },
      directory: this.presence,
      barrierMs: opts.presenceBarrierMs,
      clock,
    });
    const sessionEnded = (hash: Uint8Array) => {
      this.#endSession(hash);
      const frame = { type: "peer_session_ended" as const, token_hash: toBase64Url(hash, false) };
      for (const peer of this.#mesh?.upPeers() ?? []) this.#mesh!.send(peer, frame);
    };
    this.#deviceLists = new DeviceLists(this.#ctx, {
      sessionEnded,
      deviceRemoved: (userId, deviceId) => this.#prekeys.forget(userId, deviceId),
    });
    this.#prekeys = new Prekeys(this.#ctx, {
      latestDevices: (userId) => this.#deviceLists.latest(userId),
    });
    this.#linkSlots = new LinkSlots(this.#ctx, {
      waiting: (s) => {
        this.#clock.clearTimeout(s.loginTimer);
        this.#armLoginTimer(s, 0);
      },
    });
    this.#auth = new Auth(this.#ctx, {
      passwordCost: opts.passwordCost,
      quotas,
      loggedIn: (s, user, frame) => this.#loggedIn(s, user, frame),
      sessionEnded,
      latestDevices: (userId) => this.#deviceLists.latest(userId),
    });
  }

  /** Connects the mesh used to reach users on other servers. */
  attachMesh(mesh: MeshTransport): void {
    this.#mesh = mesh;
  }

  /** Users with at least one logged-in connection on this server. */
  get clientCount(): number {
    return this.presence.localUserCount;
  }

  /** Open client connections, logged in or not. */
  get connectionCount(): number {
    return this.#sessions.size;
  }

  /** Closes every client connection and stops waiting for peers (server shutdown). */
  closeAll(): void {
    this.#gossip.close();
    for (const s of this.#sessions.values()) {
      s.close(CLOSE_CODES.goingAway, CLOSE_REASONS.shuttingDown);
    }
  }

  /**
   * The pending sweep, which servers run every second: pushes again what live pushes missed
   * (see {@linkcode Delivery.redeliver}; returns how many it pushed) and, at most once a
   * minute, drops deliveries pending longer than `quotas.pendingExpiryMs` (see
   * {@linkcode expirePending}; a failure there is logged, not thrown).
   */
  async redeliver(ageMs: number, repushMs: number, limit = 1000): Promise<number> {
    const behind = this.#lagMs() > REPUSH_MAX_LAG_MS;
    const pushed = await this.#delivery.redeliver(ageMs, repushMs, limit, behind);
    const now = this.#ctx.now();
    if (now - this.#expiredAt >= _EXPIRE_EVERY_MS) {
      this.#expiredAt = now;
      try {
        await this.expirePending();
      } catch (err) {
        this.#ctx.log.warn("expiry_failed", { error: (err as Error).message });
      }
    }
    return pushed;
  }

  /**
   * Drops deliveries pending longer than `quotas.pendingExpiryMs` (counted in the
   * `fastchat_deliveries_expired_total` metric); the rows go at the store's next settle.
   * Returns how many it dropped.
   */
  async expirePending(): Promise<number> {
    const n = await this.#delivery.expire();
    if (n > 0) this.#ctx.log.info("deliveries_expired", { deliveries: n });
    return n;
  }

  // ---- Client connections (ConnHandler) ---------------------------------------------

  /** A client connection opened: it gets `welcome`. */
  onOpen(conn: Conn): void {
    const session = new ClientSession(conn, this.#ctx.now);
    this.#sessions.set(conn, session);
    // Strangers get small frames and a few seconds: connections that never log in do not
    // pile up, and none makes the server hold much memory.
    conn.setMaxMessageBytes(LIMITS.loginFrameBytes);
    this.#armLoginTimer(session, 0);
    session.send({ type: "welcome", server_id: this.id, version: VERSION });
  }

  /**
   * Closes the connection unless it logs in in time. A login or registration still being
   * answered when the time is up gets two more periods (scrypt under load is slow).
   */
  #armLoginTimer(session: ClientSession, extensions: number): void {
    session.loginTimer = this.#clock.setTimeout(() => {
      session.loginTimer = undefined;
      if (session.closed || session.userId !== 0) return;
      if (session.owesAnswers && extensions < 2) {
        this.#armLoginTimer(session, extensions + 1);
        return;
      }
      this.#ctx.log.info("client_closed_login_timeout", { addr: session.addr });
      session.close(CLOSE_CODES.policyViolation, loginDeadlineReason(this.#loginTimeoutMs));
    }, this.#loginTimeoutMs);
  }

  /** A frame from a client: validated, then handled after the connection's earlier frames. */
  onData(conn: Conn, data: unknown): void {
    const session = this.#sessions.get(conn);
    if (session === undefined) return;
    if (typeof data !== "string") {
      this.#refuse(session, new ProtocolError(ERROR_CODES.badFrame, "Expected a text frame"));
      return;
    }
    // The transport refuses these at the frame header; this holds for any transport.
    const limit = session.userId === 0 ? LIMITS.loginFrameBytes : LIMITS.frameBytes;
    if (!frameFits(data, limit)) {
      this.#refuse(
        session,
        new ProtocolError(ERROR_CODES.tooLarge, `Frame exceeds ${limit} bytes`),
      );
      return;
    }
    let frame: ClientFrame;
    try {
      frame = decode(data, "client");
    } catch (err) {
      this.#refuse(session, err);
      return;
    }
    const ref = "ref" in frame ? frame.ref : undefined;
    if (ref !== undefined) session.expectAnswer(ref);
    session.backlog++;
    session.chain = this.#track(
      session.chain.then(async () => {
        session.backlog--; // its turn: no longer waiting
        await this.#handle(session, frame);
        session.invalidFrames = 0;
      }).catch((err) => this.#reject(session, err, ref)),
    );
  }

  /**
   * Resolves once no frame is being handled and no answer is being prepared (acks applied
   * and written, accepts committed), including what work started meanwhile: after {@linkcode closeAll},
   * the moment the store may close without a handler meeting it closed.
   */
  async idle(): Promise<void> {
    for (;;) {
      // Acknowledgements waiting in the log are written now, not when their window ends.
      await this.#delivery.flushAcks();
      if (this.#work.size === 0) return;
      await Promise.allSettled([...this.#work]);
    }
  }

  /** Counts `p` as work in progress until it settles (see {@linkcode idle}). */
  #track<T>(p: Promise<T>): Promise<T> {
    this.#work.add(p);
    const done = () => this.#work.delete(p);
    p.then(done, done);
    return p;
  }

  /** A client connection closed. */
  onClose(conn: Conn): void {
    const session = this.#sessions.get(conn);
    if (session === undefined) return;
    this.#sessions.delete(conn);
    session.closed = true;
    this.#clock.clearTimeout(session.loginTimer);
    if (session.userId === 0 || !this.presence.removeLocal(session)) return;
    // The user's last connection here: peers stop routing to this server for them.
    this.#contacts.forget(session.userId);
    this.#gossip.announceOffline(session.userId);
    this.#ctx.store.removePresence(session.userId, this.id).catch((err) => {
      this.#ctx.log.error("presence_clear_failed", { user: session.userId, error: String(err) });
    });
    this.#ctx.log.info("client_disconnected", { user: session.userId });
  }

  // ---- Peer servers (MeshEvents) ----------------------------------------------------

  /** A frame from an authenticated peer. */
  onFrame(peerId: number, frame: PeerBatchedFrame): void {
    switch (frame.type) {
      case "peer_deliver":
        this.#delivery.onPeerDeliver(frame);
        return;
      case "peer_delivered":
        this.#delivery.onPeerDelivered(frame);
        return;
      case "peer_presence":
        this.#gossip.onPresence(peerId, frame);
        return;
      case "peer_presence_ack":
        this.#gossip.onAck(peerId, frame.seq);
        return;
      case "peer_heartbeat":
        return;
      case "peer_session_ended":
        this.#endSession(fromBase64Url(frame.token_hash));
        return;
      case "peer_blocks":
        this.#contacts.onPeerBlocks(frame);
        return;
    }
  }

  /**
   * Closes the connections whose sessions ended without this server hearing of it (a
   * logout on a peer it could not reach, an expiry): servers call it every few seconds.
   * Returns how many connections it closed.
   */
  async checkSessions(): Promise<number> {
    const byKey = new Map<string, Uint8Array>();
    for (const s of this.#sessions.values()) {
      if (s.sessionHash !== null) byKey.set(toHex(s.sessionHash), s.sessionHash);
    }
    if (byKey.size === 0) return 0;
    const live = await this.#ctx.store.liveSessions([...byKey.values()], this.#ctx.now());
    for (const h of live) byKey.delete(toHex(h));
    let closed = 0;
    for (const hash of byKey.values()) closed += this.#endSession(hash);
    return closed;
  }

  /** Closes every connection here on the session with this token hash; returns how many. */
  #endSession(hash: Uint8Array): number {
    const key = toHex(hash);
    let n = 0;
    for (const s of this.#sessions.values()) {
      if (s.closed || s.sessionHash === null || toHex(s.sessionHash) !== key) continue;
      // Nothing more is handled for it: frames already queued find it closed.
      s.closed = true;
      s.close(CLOSE_CODES.sessionEnded, CLOSE_REASONS.sessionEnded);
      n++;
    }
    return n;
  }

  /** A link to a peer came up: it learns who is connected here. */
  onLinkUp(peerId: number): void {
    this.#gossip.onLinkUp(peerId);
  }

  /** A link to a peer went down: what it said is forgotten. */
  onLinkDown(peerId: number): void {
    this.#gossip.onLinkDown(peerId);
  }

  // ---- Frame handling ----------------------------------------------------------------

  async #handle(session: ClientSession, frame: ClientFrame): Promise<void> {
    if (session.closed) return;
    const authFrame = frame.type === "register" || frame.type === "login" ||
      frame.type === "resume" || frame.type === "login_device";
    if (authFrame && session.userId !== 0) {
      throw new ProtocolError(
        ERROR_CODES.alreadyAuthenticated,
        "This connection is already logged in",
        frame.ref,
      );
    }
    if (!authFrame && !_BEFORE_LOGIN.has(frame.type) && session.userId === 0) {
      throw new ProtocolError(
        ERROR_CODES.notAuthenticated,
        `Log in or register before sending a ${frame.type} frame`,
        "ref" in frame ? frame.ref : undefined,
      );
    }
    if (STORING_FRAME_TYPES.has(frame.type)) {
      const storing = frame as ClientFrame & { ref: number };
      this.#admit(session, storing);
      this.#takeSend(session, storing.ref);
      // A group change stores an event: it waits until this connection's earlier messages,
      // whose reads may still run (see #accept), are in the commit queue, so the event
      // commits after them.
      if (!_MESSAGE_TYPES.has(frame.type)) await session.submitTail;
    }
    switch (frame.type) {
      // Each records the features it asks for; the answer lists those enabled (#loggedIn).
      case "register":
        this.#delivery.negotiate(session, frame.features);
        return await this.#auth.register(session, frame);
      case "login":
        this.#delivery.negotiate(session, frame.features);
        return await this.#auth.login(session, frame);
      case "resume":
        this.#delivery.negotiate(session, frame.features);
        return await this.#auth.resume(session, frame);
      case "logout":
        return await this.#auth.logout(session, frame.ref);
      case "ping":
        session.send({ type: "pong", ref: frame.ref, server_id: this.id });
        return;
      case "lookup":
        return await this.#directory.lookup(
          session,
          frame.ref,
          { userId: frame.user_id, username: frame.username },
          this.#delivery.featuresOf(session)?.includes(FEATURES.contacts) ?? false,
        );
      case "contacts":
        // A database write, like a message: it counts against the same send rate.
        this.#takeSend(session, frame.ref);
        return await this.#contacts.apply(session, frame.ref, frame.users);
      case "single_message":
        return this.#accept(
          session,
          frame.ref,
          this.#directory.requireUser(frame.to, frame.ref).then(() => ({
            senderId: session.userId,
            clientMsgId: frame.client_msg_id,
            kind: "direct",
            groupId: null,
            body: frame.body,
            recipients: [{ userId: frame.to }],
          })),
        );
      case "group_message":
        return this.#accept(
          session,
          frame.ref,
          this.#groups.memberGroup(session, frame.group_id, frame.ref).then((group) => ({
            senderId: session.userId,
            clientMsgId: frame.client_msg_id,
            kind: "group",
            groupId: group.id,
            body: frame.body,
            recipients: group.members.filter((m) => m !== session.userId).map((userId) => ({
              userId,
            })),
          })),
        );
      case "key":
        return this.#key(session, frame);
      case "ack": {
        // Applied off the chain: a client's next messages do not wait for its ack's commit
        // (that wait made connections that receive much send slowly: unfair). Bounded, so a
        // client cannot queue acks without limit; past the bound it waits as before.
        const ref = frame.ref;
        session.acksInFlight++;
        const applied = this.#track(this.#delivery.ack(session, frame.ids, ref !== undefined))
          .then(() => {
            // An ack with a ref asks to know that it was applied (its answer slot keeps order).
            if (ref !== undefined) session.send({ type: "ok", ref });
          }, (err) => this.#reject(session, err, ref))
          .finally(() => session.acksInFlight--);
        if (session.acksInFlight > ACKS_IN_FLIGHT) await applied;
        return;
      }
      case "create_group":
        return await this.#groups.create(session, frame.ref, frame.name, frame.members);
      case "add_member":
        return await this.#groups.addMember(session, frame.ref, frame.group_id, frame.user_id);
      case "remove_member":
        return await this.#groups.removeMember(session, frame.ref, frame.group_id, frame.user_id);
      case "leave_group":
        return await this.#groups.leave(session, frame.ref, frame.group_id);
      case "transfer_group":
        return await this.#groups.transfer(session, frame.ref, frame.group_id, frame.user_id);
      case "delete_group":
        return await this.#groups.delete(session, frame.ref, frame.group_id);
      case "list_groups":
        return await this.#groups.list(session, frame.ref);
      case "group_info":
        return await this.#groups.info(session, frame.ref, frame.group_id);
      case "device_lists":
        return await this.#deviceLists.chain(session, frame.ref, frame.user_id, frame.from_version);
      case "publish_device_list":
        return await this.#deviceLists.publish(session, frame.ref, frame.list);
      case "device_challenge":
        return this.#auth.challenge(session, frame.ref);
      case "login_device":
        this.#delivery.negotiate(session, frame.features);
        return await this.#auth.loginDevice(session, frame);
      case "link_open":
        return await this.#linkSlots.open(session, frame.ref, frame.slot, frame.offer);
      case "link_read":
        return await this.#linkSlots.read(session, frame.ref, frame.slot, frame.from);
      case "link_write":
        return await this.#linkSlots.write(
          session,
          frame.ref,
          frame.slot,
          frame.step,
          frame.value,
        );
      case "link_cancel":
        return await this.#linkSlots.cancel(session, frame.ref, frame.slot);
      case "publish_prekeys":
        // A database write, like a message: it counts against the same send rate.
        this.#takeSend(session, frame.ref);
        return await this.#prekeys.publish(
          session,
          frame.ref,
          frame.bundle,
          frame.one_time,
          frame.replace,
        );
      case "fetch_prekeys":
        return await this.#prekeys.fetch(session, frame.ref, frame.user_id, frame.device_id);
    }
  }

  /**
   * Throws `busy` with a wait when the server is past one of its admission bounds
   * (`admission.ts`), until its appointment (`admission_control.ts`); nothing of the frame is
   * then stored, and nothing is taken from the sender's send rate (checked after this), so a
   * refused frame costs its sender nothing.
   */
  #admit(session: ClientSession, frame: ClientFrame & { ref: number }): void {
    const queue = this.#delivery.storeQueue();
    const cmid = "client_msg_id" in frame ? frame.client_msg_id : undefined;
    const verdict = this.#admission.check({
      queueDelayMs: queue.delayMs,
      queued: queue.queued,
      activeSenders: queue.activeSenders,
      lagMs: this.#lagMs(),
    }, {
      queued: session.storing,
      outboundBytes: session.conn.bufferedAmount,
    }, cmid === undefined ? null : `${session.userId}:${cmid}`);
    if (verdict === null) return;
    this.metrics.busy++;
    this.metrics.busyBy[verdict.reason]++;
    throw new ProtocolError(
      ERROR_CODES.busy,
      `The server is busy; nothing was stored; send it again in ${
        formatWait(verdict.retryAfterMs)
      }`,
      frame.ref,
      verdict.retryAfterMs,
    );
  }

  /**
   * Takes one from the user's send rate on this server, or throws `rate_limited` with the
   * wait; nothing of the frame is then stored.
   */
  #takeSend(session: ClientSession, ref: number): void {
    const wait = this.#sendThrottle?.take(session.userId, this.#ctx.now()) ?? 0;
    if (wait === 0) return;
    this.metrics.rateLimited++;
    throw new ProtocolError(
      ERROR_CODES.rateLimited,
      `Too many messages; slow down and try again in ${formatWait(wait)}`,
      ref,
      Math.min(wait, LIMITS.retryAfterMaxMs),
    );
  }

  /**
   * Accepts a message once `prep` has read what it needs (that its recipient exists, its
   * group's members), without holding up the connection's later frames: their reads run
   * meanwhile, so a connection's messages wait for one store round trip together, not one
   * each (behind a commit, a round trip is the whole commit). Each still enters the commit
   * queue only after every earlier message of the connection did, so acceptance order is
   * arrival order.
   */
  #accept(session: ClientSession, ref: number, prep: Promise<NewMessage>): void {
    prep.catch(() => {}); // handled below, once its turn comes
    const queued = session.submitTail.then(() => prep).then((msg) => ({
      msg,
      pending: this.#delivery.submit(session, msg),
    }));
    session.submitTail = queued.then(() => {}, () => {});
    this.#track(
      queued.then(({ msg, pending }) => this.#delivery.finishAccept(session, ref, msg, pending))
        .catch((err) => this.#reject(session, err, ref)),
    );
  }

  #key(session: ClientSession, f: Extract<ClientFrame, { type: "key" }>): void {
    // decode() let through only `to` with `body`, or `group_id` with `keys`.
    if (f.to !== undefined) {
      const { to, body } = f;
      this.#accept(
        session,
        f.ref,
        this.#directory.requireUser(f.to, f.ref).then(() => ({
          senderId: session.userId,
          clientMsgId: f.client_msg_id,
          kind: "key",
          groupId: null,
          body,
          recipients: [{ userId: to }],
        })),
      );
      return;
    }
    const recipients = Object.entries(f.keys).map(([id, body]) => ({ userId: Number(id), body }));
    this.#accept(
      session,
      f.ref,
      this.#groups.memberGroup(session, f.group_id, f.ref).then((group) => {
        for (const r of recipients) {
          if (r.userId === session.userId || !group.members.includes(r.userId)) {
            throw new ProtocolError(
              ERROR_CODES.forbidden,
              `User ${r.userId} is not another member of group ${group.id}`,
              f.ref,
            );
          }
        }
        return {
          senderId: session.userId,
          clientMsgId: f.client_msg_id,
          kind: "key",
          groupId: group.id,
          body: "",
          recipients,
        };
      }),
    );
  }

  /**
   * A session authenticated: it joins its user's sessions here, the database and every
   * peer learn the user is connected here (the login waits until peers have applied that,
   * see `presence_gossip.ts`), it gets its answer, then everything pending.
   */
  async #loggedIn(session: ClientSession, user: UserRecord, answer: ServerFrame): Promise<void> {
    session.userId = user.id;
    session.username = user.username;
    this.#directory.remember(user.id);
    session.syncing = true; // live pushes wait behind the replay
    const first = this.presence.addLocal(session);
    let loaded: Promise<void> = Promise.resolve();
    try {
      // Loaded before any acknowledgement of this session: whom the user blocked gets no
      // receipts. Read while presence is written, so a login waits for one round trip.
      loaded = this.#contacts.load(user.id);
      loaded.catch(() => {}); // awaited below
      if (first) {
        await this.#ctx.store.addPresence(user.id, this.id);
        await this.#gossip.announceOnline(user.id);
      }
      await loaded;
    } catch (err) {
      // Not logged in after all: the session is anonymous again and the user's presence
      // here is as it was.
      if (this.presence.removeLocal(session)) {
        this.#gossip.announceOffline(user.id);
        // Once the load is over (it must not bring the list back), unless they logged in again.
        void loaded.catch(() => {}).then(() => {
          if (this.presence.localSessions(user.id).size === 0) this.#contacts.forget(user.id);
        });
      }
      session.userId = 0;
      session.username = "";
      session.syncing = false;
      session.held.length = 0;
      throw err;
    }
    this.#clock.clearTimeout(session.loginTimer);
    session.loginTimer = undefined; // a cleared timer still holds memory while referenced
    session.conn.setMaxMessageBytes(LIMITS.frameBytes);
    const features = this.#delivery.featuresOf(session);
    session.send(features === undefined ? answer : { ...answer, features } as ServerFrame);
    this.#ctx.log.info("client_logged_in", { user: user.id, addr: session.addr });
    await this.#delivery.replay(session);
    await this.#prekeys.loggedIn(session);
  }

  /**
   * Refuses a frame that did not decode. Its error takes its place in the answer order, and
   * it is counted after the frames before it are handled, so "invalid frames in a row" means
   * in arrival order.
   */
  #refuse(session: ClientSession, err: unknown): void {
    session.expectAnswer(err instanceof ProtocolError ? err.ref : undefined);
    if (err instanceof ProtocolError && err.code === ERROR_CODES.tooLarge) {
      this.#reject(session, err);
      return;
    }
    session.chain = this.#track(session.chain.then(() => this.#reject(session, err)));
  }

  #reject(session: ClientSession, err: unknown, ref?: number): void {
    let perr: ProtocolError;
    if (err instanceof ProtocolError) {
      // The answer fills the place its request holds, so it carries that request's ref.
      perr = err.ref === undefined && ref !== undefined
        ? new ProtocolError(err.code, err.message, ref, err.retryAfterMs)
        : err;
    } else if (err instanceof StoreError && err.code !== "unavailable") {
      perr = new ProtocolError(_storeCode(err.code), err.message, ref);
    } else {
      this.#ctx.log.error("handler_failed", {
        user: session.userId || undefined,
        error: (err as Error)?.stack ?? String(err),
      });
      perr = new ProtocolError(ERROR_CODES.internal, "The server failed; try again", ref);
    }
    const invalid = perr.code === ERROR_CODES.badJson || perr.code === ERROR_CODES.badFrame ||
      perr.code === ERROR_CODES.unknownType || perr.code === ERROR_CODES.tooLarge;
    session.send(_errorFrame(perr));
    if (!invalid) return;
    this.metrics.invalidFrames++;
    session.invalidFrames++;
    if (perr.code === ERROR_CODES.tooLarge) {
      session.close(CLOSE_CODES.tooLarge, "Frame too large");
    } else if (session.invalidFrames >= LIMITS.invalidFrames) {
      this.#ctx.log.warn("client_closed_invalid_frames", {
        addr: session.addr,
        user: session.userId,
      });
      session.close(CLOSE_CODES.policyViolation, CLOSE_REASONS.tooManyInvalid);
    }
  }
}

/** Storing frames that carry a client's own message (accepted off the frame chain). */
const _MESSAGE_TYPES: ReadonlySet<ClientFrame["type"]> = new Set([
  "single_message",
  "group_message",
  "key",
]);

/** How often the pending sweep also expires old deliveries, milliseconds. */
const _EXPIRE_EVERY_MS = 60_000;

/**
 * Frames a connection may send before it logs in (besides register, login, resume and
 * login_device): a new device links before it has any account to log in to.
 */
const _BEFORE_LOGIN: ReadonlySet<ClientFrame["type"]> = new Set([
  "ping",
  "device_challenge",
  "link_open",
  "link_read",
  "link_write",
  "link_cancel",
]);

function _errorFrame(err: ProtocolError): ServerFrame {
  return {
    type: "error",
    ...(err.ref !== undefined ? { ref: err.ref } : {}),
    code: err.code,
    message: err.message,
    ...(err.retryAfterMs !== undefined ? { retry_after_ms: err.retryAfterMs } : {}),
  };
}

function _storeCode(code: StoreError["code"]): ErrorCode {
  switch (code) {
    case "username_taken":
      return ERROR_CODES.usernameTaken;
    case "not_found":
      return ERROR_CODES.notFound;
    case "too_many":
      return ERROR_CODES.contactsFull;
    default:
      return ERROR_CODES.forbidden;
  }
}
