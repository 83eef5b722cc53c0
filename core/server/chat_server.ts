/**
 * The chat server's logic, independent of HTTP: authentication, the public-key directory,
 * groups, and reliable delivery. A message is persisted (group commit) before the sender is
 * told it was accepted; it is then pushed to recipients on this server at once, forwarded
 * to the servers the others sit on (one frame per server for a group), and left pending for
 * the offline ones. A delivery is removed only when the recipient acknowledges it, and the
 * sender then gets a `delivered` receipt.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { fromBase64Url, randomBytes, toBase64Url } from "../crypto/bytes.ts";
import { hashPasswordAsync, verifyPasswordAsync } from "../crypto/password.ts";
import { importRsaPublicKey } from "../crypto/rsa_pem.ts";
import { bitLength } from "../crypto/bigint.ts";
import type { Logger } from "../log/logger.ts";
import {
  type ClientFrame,
  CLOSE_CODES,
  decode,
  encode,
  ERROR_CODES,
  type ErrorCode,
  frameFits,
  LIMITS,
  type MessageFrame,
  type PeerFrame,
  ProtocolError,
  type ServerFrame,
  type WireGroup,
} from "../protocol/mod.ts";
import {
  type GroupRecord,
  type NewMessage,
  type PendingMessage,
  type SavedMessage,
  type Store,
  StoreError,
  type UserRecord,
} from "../store/store.ts";
import { VERSION } from "../version.ts";
import { Batcher } from "./batcher.ts";
import { ClientConn } from "./client_conn.ts";
import type { Mesh } from "./mesh.ts";
import { ServerMetrics } from "./metrics.ts";
import { LoginThrottle } from "./throttle.ts";

/** Session lifetime: 30 days. */
const _SESSION_MS = 30 * 24 * 3600 * 1000;
/** Pending messages fetched per page during the replay after login. */
const _REPLAY_PAGE = 256;
/** Smallest RSA modulus accepted at registration. */
const _MIN_RSA_BITS = 2048;

/** Password hashing cost the server uses for new users (scrypt). */
export interface PasswordCost {
  N: number;
  r: number;
  p: number;
}

/** What a chat server needs. */
export interface ChatServerOptions {
  id: number;
  store: Store;
  logger: Logger;
  /** scrypt cost for new registrations; defaults to core/crypto's defaults. */
  passwordCost?: PasswordCost;
  /** Per-account login throttle; a fresh one by default. */
  throttle?: LoginThrottle;
  /** Clock, Unix milliseconds (tests). */
  now?: () => number;
}

/** A chat server's state and frame handling. */
export class ChatServer {
  readonly id: number;
  readonly metrics = new ServerMetrics();
  readonly #store: Store;
  readonly #log: Logger;
  readonly #passwordCost: PasswordCost | undefined;
  readonly #throttle: LoginThrottle;
  /** Per address: looser, since many users may share one address (NAT). */
  readonly #addrThrottle: LoginThrottle;
  readonly #now: () => number;
  readonly #connections = new Set<ClientConn>();
  /** Logged-in users on this server. */
  readonly #local = new Map<number, ClientConn>();
  /** Users are never deleted, so a known ID stays valid. */
  readonly #knownUsers = new Set<number>();
  readonly #saver: Batcher<NewMessage, SavedMessage | Error>;
  #mesh: Mesh | null = null;
  #dummyHash: Promise<string> | null = null;

  constructor(opts: ChatServerOptions) {
    this.id = opts.id;
    this.#store = opts.store;
    this.#log = opts.logger;
    this.#passwordCost = opts.passwordCost;
    this.#throttle = opts.throttle ?? new LoginThrottle();
    this.#addrThrottle = new LoginThrottle({ freeFailures: 20 });
    this.#now = opts.now ?? Date.now;
    this.#saver = new Batcher(async (batch) => {
      this.metrics.storeBatches++;
      this.metrics.storeBatchMessages += batch.length;
      try {
        return await this.#store.saveMessages(batch);
      } catch (err) {
        if (batch.length === 1) return [err instanceof Error ? err : new Error(String(err))];
      }
      // One bad message fails its whole transaction; save one by one so it fails alone.
      const out: (SavedMessage | Error)[] = [];
      for (const m of batch) {
        try {
          out.push((await this.#store.saveMessages([m]))[0]!);
        } catch (err) {
          out.push(err instanceof Error ? err : new Error(String(err)));
        }
      }
      return out;
    });
  }

  /** Connects the mesh used to reach users on other servers. */
  attachMesh(mesh: Mesh): void {
    this.#mesh = mesh;
  }

  /** Logged-in clients on this server. */
  get clientCount(): number {
    return this.#local.size;
  }

  /** Open client connections, logged in or not. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Takes over a client WebSocket (from `Deno.upgradeWebSocket`). */
  acceptClient(socket: WebSocket, addr: string): void {
    const conn = new ClientConn(socket, addr);
    this.#connections.add(conn);
    socket.onopen = () => conn.send({ type: "welcome", server_id: this.id, version: VERSION });
    socket.onmessage = (ev) => this.#onClientText(conn, ev.data);
    socket.onclose = () => this.#onClientClose(conn);
    socket.onerror = () => {/* onclose follows */};
  }

  /** Closes every client connection (server shutdown). */
  closeAll(): void {
    for (const c of this.#connections) c.close(CLOSE_CODES.goingAway, "Server shutting down");
  }

  // ---- Incoming client frames --------------------------------------------------------

  #onClientText(conn: ClientConn, data: unknown): void {
    if (typeof data !== "string") {
      this.#reject(conn, new ProtocolError(ERROR_CODES.badFrame, "Expected a text frame"));
      return;
    }
    if (!frameFits(data)) {
      this.metrics.invalidFrames++;
      conn.send(this.#errorFrame(
        new ProtocolError(ERROR_CODES.tooLarge, `Frame exceeds ${LIMITS.frameBytes} bytes`),
      ));
      conn.close(CLOSE_CODES.tooLarge, "Frame too large");
      return;
    }
    let frame: ClientFrame;
    try {
      frame = decode(data, "client");
    } catch (err) {
      this.#reject(conn, err);
      return;
    }
    conn.invalidFrames = 0;
    conn.chain = conn.chain.then(() => this.#handle(conn, frame)).catch((err) => {
      this.#reject(conn, err, "ref" in frame ? frame.ref : undefined);
    });
  }

  #reject(conn: ClientConn, err: unknown, ref?: number): void {
    if (!(err instanceof ProtocolError)) {
      if (err instanceof StoreError) {
        err = new ProtocolError(_storeCode(err.code), err.message, ref);
      } else {
        this.#log.error("handler_failed", {
          user: conn.userId || undefined,
          error: (err as Error)?.stack ?? String(err),
        });
        err = new ProtocolError(ERROR_CODES.internal, "The server failed; try again", ref);
      }
    }
    const perr = err as ProtocolError;
    const isInvalid = perr.code === ERROR_CODES.badJson || perr.code === ERROR_CODES.badFrame ||
      perr.code === ERROR_CODES.unknownType || perr.code === ERROR_CODES.tooLarge;
    conn.send(this.#errorFrame(perr));
    if (!isInvalid) return;
    this.metrics.invalidFrames++;
    conn.invalidFrames++;
    if (perr.code === ERROR_CODES.tooLarge) {
      conn.close(CLOSE_CODES.tooLarge, "Frame too large");
    } else if (conn.invalidFrames >= LIMITS.invalidFrames) {
      this.#log.warn("client_closed_invalid_frames", { addr: conn.addr, user: conn.userId });
      conn.close(CLOSE_CODES.policyViolation, "Too many invalid frames");
    }
  }

  #errorFrame(err: ProtocolError, retryAfterMs?: number): ServerFrame {
    return {
      type: "error",
      ...(err.ref !== undefined ? { ref: err.ref } : {}),
      code: err.code,
      message: err.message,
      ...(retryAfterMs !== undefined ? { retry_after_ms: retryAfterMs } : {}),
    };
  }

  async #handle(conn: ClientConn, frame: ClientFrame): Promise<void> {
    if (conn.closed) return;
    const authFrames = frame.type === "register" || frame.type === "login" ||
      frame.type === "resume";
    if (authFrames && conn.userId !== 0) {
      throw new ProtocolError(
        ERROR_CODES.alreadyAuthenticated,
        "This connection is already logged in",
        frame.ref,
      );
    }
    if (!authFrames && frame.type !== "ping" && conn.userId === 0) {
      throw new ProtocolError(
        ERROR_CODES.notAuthenticated,
        `Log in or register before sending a ${frame.type} frame`,
        "ref" in frame ? frame.ref : undefined,
      );
    }
    switch (frame.type) {
      case "register":
        return await this.#register(conn, frame);
      case "login":
        return await this.#login(conn, frame);
      case "resume":
        return await this.#resume(conn, frame);
      case "logout":
        return await this.#logout(conn, frame.ref);
      case "ping":
        conn.send({ type: "pong", ref: frame.ref, server_id: this.id });
        return;
      case "lookup":
        return await this.#lookup(conn, frame.ref, frame.user_id, frame.username);
      case "single_message":
        await this.#requireUser(frame.to, frame.ref);
        this.#accept(conn, frame.ref, {
          senderId: conn.userId,
          clientMsgId: frame.client_msg_id,
          kind: "direct",
          groupId: null,
          body: frame.body,
          recipients: [{ userId: frame.to }],
        });
        return;
      case "group_message": {
        const group = await this.#memberGroup(conn, frame.group_id, frame.ref);
        this.#accept(conn, frame.ref, {
          senderId: conn.userId,
          clientMsgId: frame.client_msg_id,
          kind: "group",
          groupId: group.id,
          body: frame.body,
          recipients: group.members.filter((m) => m !== conn.userId).map((userId) => ({ userId })),
        });
        return;
      }
      case "key":
        return await this.#key(conn, frame);
      case "ack":
        return await this.#ack(conn, frame.ids);
      case "create_group":
        return await this.#createGroup(conn, frame.ref, frame.name, frame.members);
      case "add_member":
        return await this.#addMember(conn, frame.ref, frame.group_id, frame.user_id);
      case "remove_member":
        return await this.#removeMember(conn, frame.ref, frame.group_id, frame.user_id);
      case "leave_group":
        return await this.#leaveGroup(conn, frame.ref, frame.group_id);
      case "list_groups": {
        const groups = await this.#store.listGroupsOf(conn.userId);
        conn.send({ type: "groups", ref: frame.ref, groups: groups.map(_wireGroup) });
        return;
      }
      case "group_info": {
        const group = await this.#memberGroup(conn, frame.group_id, frame.ref);
        conn.send({ type: "group", ref: frame.ref, group: _wireGroup(group) });
        return;
      }
    }
  }

  // ---- Authentication ----------------------------------------------------------------

  async #register(
    conn: ClientConn,
    f: Extract<ClientFrame, { type: "register" }>,
  ): Promise<void> {
    try {
      const key = importRsaPublicKey(f.rsa_public_key);
      if (bitLength(key.n) < _MIN_RSA_BITS) {
        throw new RangeError(
          `the key has ${bitLength(key.n)} bits; at least ${_MIN_RSA_BITS} are required`,
        );
      }
    } catch (err) {
      throw new ProtocolError(
        ERROR_CODES.badFrame,
        `Field "rsa_public_key" is not an acceptable RSA public key: ${(err as Error).message}`,
        f.ref,
      );
    }
    let identity: Uint8Array;
    try {
      identity = fromBase64Url(f.identity_key);
    } catch {
      identity = new Uint8Array();
    }
    if (identity.length !== 32) {
      throw new ProtocolError(
        ERROR_CODES.badFrame,
        'Field "identity_key" must be url-safe base64 of a 32-byte Ed25519 public key',
        f.ref,
      );
    }
    if (await this.#store.getUserByName(f.username)) {
      throw new ProtocolError(
        ERROR_CODES.usernameTaken,
        `The username "${f.username}" is taken`,
        f.ref,
      );
    }
    const passwordHash = await hashPasswordAsync(f.password, this.#passwordCost);
    let user: UserRecord;
    try {
      user = await this.#store.createUser({
        username: f.username,
        passwordHash,
        rsaPublicKey: f.rsa_public_key,
        identityKey: toBase64Url(identity, false),
      });
    } catch (err) {
      if (err instanceof StoreError && err.code === "username_taken") {
        throw new ProtocolError(
          ERROR_CODES.usernameTaken,
          `The username "${f.username}" is taken`,
          f.ref,
        );
      }
      throw err;
    }
    this.#log.info("user_registered", { user: user.id, username: user.username });
    const token = await this.#newSession(user.id);
    await this.#loggedIn(conn, user, token, f.ref, "registered");
  }

  async #login(conn: ClientConn, f: Extract<ClientFrame, { type: "login" }>): Promise<void> {
    const user = f.username !== undefined
      ? await this.#store.getUserByName(f.username)
      : await this.#store.getUserById(f.user_id!);
    // One key per account however it is named; unknown names are throttled by spelling.
    const userKey = user ? [`uid:${user.id}`] : [`name:${f.username ?? `#${f.user_id}`}`];
    const addrKey = [`addr:${conn.addr}`];
    const now = this.#now();
    const wait = Math.max(
      this.#throttle.retryAfter(userKey, now),
      this.#addrThrottle.retryAfter(addrKey, now),
    );
    if (wait > 0) {
      conn.send(this.#errorFrame(
        new ProtocolError(
          ERROR_CODES.rateLimited,
          `Too many failed logins; try again in ${Math.ceil(wait / 1000)} s`,
          f.ref,
        ),
        wait,
      ));
      return;
    }
    // Verify against a dummy hash for unknown users so timing does not reveal who exists.
    const ok = user
      ? await verifyPasswordAsync(f.password, user.passwordHash)
      : (await verifyPasswordAsync(f.password, await this.#dummy()), false);
    if (!ok || !user) {
      this.#throttle.fail(userKey, now);
      this.#addrThrottle.fail(addrKey, now);
      this.metrics.authFailures++;
      this.#log.info("login_failed", { who: userKey[0], addr: conn.addr });
      throw new ProtocolError(ERROR_CODES.authFailed, "Wrong username, ID or password", f.ref);
    }
    this.#throttle.succeed(userKey);
    const token = await this.#newSession(user.id);
    await this.#loggedIn(conn, user, token, f.ref, "logged_in");
  }

  async #resume(conn: ClientConn, f: Extract<ClientFrame, { type: "resume" }>): Promise<void> {
    const token = fromBase64Url(f.session_token);
    const hash = sha256(token);
    const session = await this.#store.getSession(hash, this.#now());
    const user = session ? await this.#store.getUserById(session.userId) : null;
    if (!user) {
      this.metrics.authFailures++;
      throw new ProtocolError(
        ERROR_CODES.authFailed,
        "The session token is unknown or expired; log in again",
        f.ref,
      );
    }
    conn.sessionHash = hash;
    await this.#loggedIn(conn, user, f.session_token, f.ref, "logged_in");
  }

  #dummy(): Promise<string> {
    const hash = this.#dummyHash ??
      hashPasswordAsync(toBase64Url(randomBytes(16)), this.#passwordCost);
    this.#dummyHash = hash;
    return hash;
  }

  async #newSession(userId: number): Promise<string> {
    const token = toBase64Url(randomBytes(32), false);
    await this.#store.createSession(sha256(fromBase64Url(token)), {
      userId,
      expiresAt: this.#now() + _SESSION_MS,
    });
    return token;
  }

  async #loggedIn(
    conn: ClientConn,
    user: UserRecord,
    token: string,
    ref: number,
    type: "registered" | "logged_in",
  ): Promise<void> {
    conn.userId = user.id;
    conn.username = user.username;
    conn.sessionHash ??= sha256(fromBase64Url(token));
    this.#knownUsers.add(user.id);
    const previous = this.#local.get(user.id);
    if (previous && previous !== conn) {
      previous.close(CLOSE_CODES.replaced, "Logged in elsewhere");
    }
    this.#local.set(user.id, conn);
    conn.syncing = true;
    // Presence first, then the replay: a message committed after the replay's query reads
    // this presence and is pushed, one committed before it is in the replay.
    await this.#store.addPresence(user.id, this.id);
    conn.send({ type, ref, user_id: user.id, username: user.username, session_token: token });
    this.#log.info("client_logged_in", { user: user.id, addr: conn.addr });
    await this.#replay(conn);
  }

  async #replay(conn: ClientConn): Promise<void> {
    let after = 0;
    let count = 0;
    for (;;) {
      const page = await this.#store.pendingFor(conn.userId, after, _REPLAY_PAGE);
      for (const m of page) {
        // Always sent: a live push held back meanwhile is dropped instead (it is in `replayed`).
        conn.replayed.add(m.id);
        conn.markPushed(m.id);
        conn.send(_messageFrame(m));
        after = m.id;
      }
      count += page.length;
      if (page.length < _REPLAY_PAGE || conn.closed) break;
    }
    conn.syncing = false;
    const held = conn.held.splice(0);
    for (const m of held) if (!conn.replayed.has(m.msg_id)) conn.send(m);
    conn.replayed.clear();
    conn.send({ type: "synced", pending: count });
  }

  async #logout(conn: ClientConn, ref: number): Promise<void> {
    if (conn.sessionHash) await this.#store.deleteSession(conn.sessionHash);
    conn.send({ type: "ok", ref });
    conn.close(CLOSE_CODES.normal, "Logged out");
  }

  #onClientClose(conn: ClientConn): void {
    conn.closed = true;
    this.#connections.delete(conn);
    if (conn.userId !== 0 && this.#local.get(conn.userId) === conn) {
      this.#local.delete(conn.userId);
      this.#store.removePresence(conn.userId, this.id).catch((err) => {
        this.#log.error("presence_clear_failed", { user: conn.userId, error: String(err) });
      });
      this.#log.info("client_disconnected", { user: conn.userId });
    }
  }

  // ---- Directory ---------------------------------------------------------------------

  async #lookup(conn: ClientConn, ref: number, userId?: number, username?: string) {
    const user = username !== undefined
      ? await this.#store.getUserByName(username)
      : await this.#store.getUserById(userId!);
    if (!user) throw new ProtocolError(ERROR_CODES.notFound, "No such user", ref);
    this.#knownUsers.add(user.id);
    conn.send({
      type: "user",
      ref,
      user_id: user.id,
      username: user.username,
      rsa_public_key: user.rsaPublicKey,
      identity_key: user.identityKey,
    });
  }

  async #requireUser(userId: number, ref: number): Promise<void> {
    if (this.#knownUsers.has(userId)) return;
    if (!(await this.#store.getUserById(userId))) {
      throw new ProtocolError(ERROR_CODES.notFound, `No user has ID ${userId}`, ref);
    }
    this.#knownUsers.add(userId);
  }

  // ---- Messages ----------------------------------------------------------------------

  /**
   * Queues a message for the next group commit and returns without waiting, so frames
   * behind it are handled meanwhile; acceptance order is the order frames arrived.
   */
  #accept(conn: ClientConn, ref: number, msg: NewMessage): void {
    this.#saver.submit(msg).then((saved) => {
      if (saved instanceof Error) throw saved;
      conn.send({
        type: "accepted",
        ref,
        client_msg_id: msg.clientMsgId!,
        msg_id: saved.id,
        duplicate: saved.duplicate,
      });
      if (saved.duplicate) {
        this.metrics.duplicatesSuppressed++;
        return;
      }
      this.metrics.messagesStored++;
      return this.#route(msg, saved);
    }).catch((err) => this.#reject(conn, err, ref));
  }

  /** Pushes a stored message to online recipients here and forwards it to other servers. */
  async #route(msg: NewMessage, saved: SavedMessage): Promise<void> {
    if (msg.recipients.length === 0) return;
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
    let shared: string | null = null;
    const remote: number[] = [];
    const bodies = new Map<number, string>();
    for (const r of msg.recipients) {
      if (r.body !== undefined) bodies.set(r.userId, r.body);
      const conn = this.#local.get(r.userId);
      if (!conn) {
        remote.push(r.userId);
        continue;
      }
      if (!conn.markPushed(saved.id)) continue;
      this.metrics.messagesRouted++;
      if (r.body !== undefined) {
        conn.push({ ...frame, body: r.body });
      } else if (conn.syncing) {
        conn.push(frame);
      } else {
        // Encode once for every local recipient of a group message.
        shared ??= encode(frame);
        conn.sendText(shared);
      }
    }
    if (remote.length === 0 || !this.#mesh) return;
    const presence = await this.#store.getPresence(remote);
    const byServer = new Map<number, number[]>();
    for (const p of presence) {
      if (p.serverId === this.id) continue; // stale: the user left this server
      const list = byServer.get(p.serverId) ?? [];
      list.push(p.userId);
      byServer.set(p.serverId, list);
    }
    const { type: _t, ...message } = frame;
    for (const [serverId, recipients] of byServer) {
      const peerBodies: Record<string, string> = {};
      let hasBodies = false;
      for (const uid of recipients) {
        const b = bodies.get(uid);
        if (b !== undefined) {
          peerBodies[uid] = b;
          hasBodies = true;
        }
      }
      const sent = this.#mesh.send(serverId, {
        type: "peer_deliver",
        recipients,
        message,
        ...(hasBodies ? { bodies: peerBodies } : {}),
      });
      if (sent) this.metrics.messagesRouted += recipients.length;
    }
  }

  async #key(conn: ClientConn, f: Extract<ClientFrame, { type: "key" }>): Promise<void> {
    if (f.to !== undefined) {
      if (f.body === undefined || f.keys !== undefined) {
        throw new ProtocolError(
          ERROR_CODES.badFrame,
          'A key frame to a user needs "body" and no "keys"',
          f.ref,
        );
      }
      await this.#requireUser(f.to, f.ref);
      this.#accept(conn, f.ref, {
        senderId: conn.userId,
        clientMsgId: f.client_msg_id,
        kind: "key",
        groupId: null,
        body: f.body,
        recipients: [{ userId: f.to }],
      });
      return;
    }
    if (f.keys === undefined || f.body !== undefined) {
      throw new ProtocolError(
        ERROR_CODES.badFrame,
        'A key frame to a group needs "keys" (member ID to body) and no "body"',
        f.ref,
      );
    }
    const group = await this.#memberGroup(conn, f.group_id!, f.ref);
    const recipients = Object.entries(f.keys).map(([id, body]) => ({ userId: Number(id), body }));
    for (const r of recipients) {
      if (r.userId === conn.userId || !group.members.includes(r.userId)) {
        throw new ProtocolError(
          ERROR_CODES.forbidden,
          `User ${r.userId} is not another member of group ${group.id}`,
          f.ref,
        );
      }
    }
    this.#accept(conn, f.ref, {
      senderId: conn.userId,
      clientMsgId: f.client_msg_id,
      kind: "key",
      groupId: group.id,
      body: "",
      recipients,
    });
  }

  async #ack(conn: ClientConn, ids: number[]): Promise<void> {
    const done = await this.#store.ackDeliveries(conn.userId, ids);
    this.metrics.messagesDelivered += done.length;
    const bySender = new Map<number, typeof done>();
    for (const d of done) {
      if (d.senderId === 0) continue; // server-made events have no sender to tell
      const list = bySender.get(d.senderId) ?? [];
      list.push(d);
      bySender.set(d.senderId, list);
    }
    if (bySender.size === 0) return;
    const remote: number[] = [];
    for (const [senderId, list] of bySender) {
      const sender = this.#local.get(senderId);
      if (!sender) {
        remote.push(senderId);
        continue;
      }
      for (const d of list) {
        sender.send({
          type: "delivered",
          msg_id: d.id,
          client_msg_id: d.clientMsgId,
          to: conn.userId,
        });
      }
    }
    if (remote.length === 0 || !this.#mesh) return;
    for (const p of await this.#store.getPresence(remote)) {
      if (p.serverId === this.id) continue;
      for (const d of bySender.get(p.userId) ?? []) {
        this.#mesh.send(p.serverId, {
          type: "peer_delivered",
          sender_id: p.userId,
          msg_id: d.id,
          client_msg_id: d.clientMsgId,
          to: conn.userId,
        });
      }
    }
  }

  /**
   * Pushes what is still pending for users connected here, accepted more than `ageMs` ago,
   * and never pushed on their current connection. A live push is lost when the server
   * that accepted a message dies between committing and pushing it, or when a peer link
   * drops with frames in flight; the database still has the delivery, and this finds it.
   * What was pushed on the connection is never pushed again (an ack may just be slow to
   * commit). Returns how many messages were pushed.
   */
  async redeliver(ageMs: number, limit = 1000): Promise<number> {
    if (this.#local.size === 0) return 0;
    const now = this.#now();
    const rows = await this.#store.pendingOnServer(this.id, now - ageMs, limit);
    let pushed = 0;
    for (const m of rows) {
      const conn = this.#local.get(m.recipientId);
      if (!conn || conn.syncing || !conn.markPushed(m.id)) continue;
      conn.send(_messageFrame(m));
      pushed++;
    }
    this.metrics.redelivered += pushed;
    return pushed;
  }

  // ---- Frames from peers -------------------------------------------------------------

  /** Handles an authenticated frame from a peer server. */
  onPeerFrame(fromId: number, frame: PeerFrame): void {
    if (frame.type === "peer_deliver") {
      const base: MessageFrame = { type: "message", ...frame.message };
      let shared: string | null = null;
      for (const uid of frame.recipients) {
        const conn = this.#local.get(uid);
        if (!conn) continue; // moved or gone: the delivery waits in the database
        if (!conn.markPushed(base.msg_id)) continue;
        this.metrics.messagesRouted++;
        const body = frame.bodies?.[uid];
        if (body !== undefined) {
          conn.push({ ...base, body });
        } else if (conn.syncing) {
          conn.push(base);
        } else {
          shared ??= encode(base);
          conn.sendText(shared);
        }
      }
    } else if (frame.type === "peer_delivered") {
      this.#local.get(frame.sender_id)?.send({
        type: "delivered",
        msg_id: frame.msg_id,
        client_msg_id: frame.client_msg_id,
        to: frame.to,
      });
    } else if (frame.type === "error") {
      this.#log.warn("peer_error", { peer: fromId, code: frame.code, error: frame.message });
    }
  }

  // ---- Groups ------------------------------------------------------------------------

  async #memberGroup(conn: ClientConn, groupId: number, ref: number): Promise<GroupRecord> {
    const group = await this.#store.getGroup(groupId);
    if (!group) throw new ProtocolError(ERROR_CODES.notFound, `No group has ID ${groupId}`, ref);
    if (!group.members.includes(conn.userId)) {
      throw new ProtocolError(
        ERROR_CODES.notMember,
        `You are not a member of group ${groupId}`,
        ref,
      );
    }
    return group;
  }

  async #adminGroup(conn: ClientConn, groupId: number, ref: number): Promise<GroupRecord> {
    const group = await this.#memberGroup(conn, groupId, ref);
    if (group.adminId !== conn.userId) {
      throw new ProtocolError(
        ERROR_CODES.notAdmin,
        `Only the admin of group ${groupId} can do that`,
        ref,
      );
    }
    return group;
  }

  async #createGroup(conn: ClientConn, ref: number, name: string, members: number[]) {
    const others = members.filter((m) => m !== conn.userId);
    let group: GroupRecord;
    try {
      group = await this.#store.createGroup(name, conn.userId, others);
    } catch (err) {
      if (err instanceof StoreError && err.code === "not_found") {
        throw new ProtocolError(ERROR_CODES.notFound, err.message, ref);
      }
      throw err;
    }
    this.#log.info("group_created", { group: group.id, admin: conn.userId });
    conn.send({ type: "group", ref, group: _wireGroup(group) });
    await this.#announce(group, "created", conn.userId, conn.userId, []);
  }

  async #addMember(conn: ClientConn, ref: number, groupId: number, userId: number) {
    const group = await this.#adminGroup(conn, groupId, ref);
    await this.#requireUser(userId, ref);
    if (group.members.includes(userId)) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        `User ${userId} is already a member of group ${groupId}`,
        ref,
      );
    }
    if (group.members.length >= LIMITS.groupMembers) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        `Group ${groupId} is full (${LIMITS.groupMembers} members)`,
        ref,
      );
    }
    await this.#store.addMember(groupId, userId);
    const updated = (await this.#store.getGroup(groupId))!;
    conn.send({ type: "group", ref, group: _wireGroup(updated) });
    await this.#announce(updated, "added", userId, conn.userId, []);
  }

  async #removeMember(conn: ClientConn, ref: number, groupId: number, userId: number) {
    const group = await this.#adminGroup(conn, groupId, ref);
    if (userId === conn.userId) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        "The admin cannot remove themselves; use leave_group",
        ref,
      );
    }
    if (!group.members.includes(userId)) {
      throw new ProtocolError(
        ERROR_CODES.notFound,
        `User ${userId} is not a member of group ${groupId}`,
        ref,
      );
    }
    await this.#store.removeMember(groupId, userId);
    const updated = (await this.#store.getGroup(groupId))!;
    conn.send({ type: "group", ref, group: _wireGroup(updated) });
    // The removed member is told too, so their client stops using the group.
    await this.#announce(updated, "removed", userId, conn.userId, [userId]);
  }

  async #leaveGroup(conn: ClientConn, ref: number, groupId: number) {
    const group = await this.#memberGroup(conn, groupId, ref);
    if (group.adminId === conn.userId) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        "The admin cannot leave the group; only members can",
        ref,
      );
    }
    await this.#store.removeMember(groupId, conn.userId);
    const updated = (await this.#store.getGroup(groupId)) ?? { ...group, members: [] };
    conn.send({ type: "ok", ref });
    await this.#announce(updated, "left", conn.userId, conn.userId, [conn.userId]);
  }

  /**
   * Tells every member (and `extra` users, e.g. one just removed) about a membership change,
   * as a stored `group_event` message so offline members learn it when they return.
   */
  async #announce(
    group: GroupRecord,
    event: "created" | "added" | "removed" | "left",
    userId: number,
    by: number,
    extra: number[],
  ): Promise<void> {
    const to = [...new Set([...group.members, ...extra])];
    const msg: NewMessage = {
      senderId: 0,
      clientMsgId: null,
      kind: "group_event",
      groupId: group.id,
      body: JSON.stringify({ event, group: _wireGroup(group), user_id: userId, by }),
      recipients: to.map((uid) => ({ userId: uid })),
    };
    const saved = await this.#saver.submit(msg);
    if (saved instanceof Error) throw saved;
    await this.#route(msg, saved);
  }
}

function _wireGroup(g: GroupRecord): WireGroup {
  return { id: g.id, name: g.name, admin: g.adminId, members: [...g.members] };
}

function _messageFrame(m: PendingMessage): MessageFrame {
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

function _storeCode(code: StoreError["code"]): ErrorCode {
  switch (code) {
    case "username_taken":
      return ERROR_CODES.usernameTaken;
    case "not_found":
      return ERROR_CODES.notFound;
    default:
      return ERROR_CODES.forbidden;
  }
}
