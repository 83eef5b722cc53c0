/**
 * The chat client's engine: joins through the balancer (registering with ID 0 or logging
 * in), keeps the local keystore, encrypts end to end, and reconnects by itself. The
 * terminal front end (cmd/client.ts) only parses commands and renders events.
 *
 * Keys: every friend pair shares a Fernet key, wrapped with RSA-OAEP for the recipient and
 * signed with the sender's Ed25519 identity key; when both sides start at once, the key
 * made by the lower user ID wins on both sides (the other is kept for reading). Every group
 * has a key per epoch, made and sent by the admin; a removal or departure makes the admin
 * rotate it, so a removed member cannot read what follows. Public keys are pinned on first
 * use; a change is reported and blocks encryption until the user accepts it.
 *
 * @module
 */

import { join } from "node:path";
import {
  exportRsaPrivateKey,
  exportRsaPublicKey,
  fromBase64Url,
  generateFernetKey,
  generateIdentityKeyPair,
  generateRsaKeyPair,
  importRsaPrivateKey,
  importRsaPublicKey,
  type RsaPrivateKey,
  safetyNumber,
  toBase64Url,
} from "../crypto/mod.ts";
import type { MessageFrame } from "../protocol/mod.ts";
import { CLOSE_CODES } from "../protocol/mod.ts";
import { connectViaBalancer } from "./assign.ts";
import { type ClientCommand, helpText } from "./commands.ts";
import {
  E2eError,
  fernetKeyId,
  FileAssembler,
  type FileChunk,
  openDirect,
  type OpenedContent,
  openFriendKey,
  openGroup,
  openGroupKey,
  parseEnvelopeType,
  sealDirect,
  sealFriendKey,
  sealGroup,
  sealGroupKey,
  splitFile,
} from "./e2e.ts";
import type { ClientEvent, EventSink } from "./events.ts";
import { Keystore, KeystoreError } from "./keystore.ts";
import type { GroupRecord } from "./keystore_types.ts";
import { type ProtocolClient, RequestError } from "./protocol_client.ts";

/**
 * How long a message waits for its key (or its group) before it is reported and dropped.
 * It is not acknowledged meanwhile, so a restart finds it again on the server.
 */
const _KEY_WAIT_MS = 60_000;
/** Two friend-key offers this close together crossed; the lower user ID's key wins. */
const _CROSSING_MS = 30_000;
/** File chunks in flight at once while sending. */
const _FILE_WINDOW = 4;

/** Why the client's session ended: its own `logout`, or the server ending it. */
export interface ShutOut {
  readonly reason: "logout" | "session_ended";
  readonly message: string;
}

/** What the client needs. */
export interface ChatClientOptions {
  /**
   * Balancer base URLs, e.g. http://127.0.0.1:7100; the next is asked when one is down
   * (one URL alone is fine).
   */
  balancerUrls: string | readonly string[];
  /** Data directory; the user's keystore and received files go under `<data>/<user>/`. */
  dataDir: string;
  username: string;
  password: string;
  /** Where events go. */
  emit: EventSink;
  /** scrypt N for the local keystore (tests use a small one). */
  keystoreScryptN?: number;
  /** Seconds to keep trying to reach a server before giving up (default 30). */
  connectTimeoutS?: number;
  /**
   * Liveness of the server: ping after this many milliseconds of silence (default 15 s);
   * see `ConnectOptions.keepAliveMs` in protocol_client.ts.
   */
  keepAliveMs?: number;
  /** A server silent this long after a ping counts as gone, and the client reconnects (10 s). */
  deadAfterMs?: number;
}

interface _Pending {
  frame: MessageFrame;
  since: number;
}

/** The client engine. */
export class ChatClient {
  readonly #opts: ChatClientOptions;
  readonly #emit: EventSink;
  #ks: Keystore | null = null;
  #conn: ProtocolClient | null = null;
  #serverId: number | null = null;
  #rsaPrivate: RsaPrivateKey | null = null;
  #identitySecret: Uint8Array | null = null;
  #quitting = false;
  /** Resolves with a reason when the server ends this client's session (a logout). */
  readonly #shutOut = Promise.withResolvers<ShutOut>();
  /** Aborts a reconnect in progress when the client closes. */
  readonly #stop = new AbortController();
  #connecting: Promise<void> | null = null;
  /** Incoming messages are processed one at a time, in arrival order. */
  #inbox: Promise<void> = Promise.resolve();
  /** Messages waiting for a key that has not arrived yet. */
  #waiting: _Pending[] = [];
  #waitTimer: ReturnType<typeof setInterval> | undefined;
  readonly #files = new FileAssembler();
  /** Messages handled this session (key and group-event messages are not in history). */
  readonly #done = new Set<number>();
  /** Messages being handled or waiting for a key: not acknowledged yet. */
  readonly #inflight = new Set<number>();
  #reconnecting: Promise<void> | null = null;
  /** Key rotations per group, one at a time (a command and an event can both ask). */
  readonly #rotations = new Map<number, Promise<void>>();
  /** My friend-key offers not yet accepted by the server: friend ID to key ID and time. */
  readonly #offers = new Map<number, { kid: string; createdAt: number }>();
  /** Outgoing requests not yet accepted, so `drain()` can wait for them. */
  readonly #unaccepted = new Set<Promise<unknown>>();

  constructor(opts: ChatClientOptions) {
    this.#opts = opts;
    this.#emit = opts.emit;
  }

  /** The user's own directory under the data dir. */
  get userDir(): string {
    return join(this.#opts.dataDir, this.#opts.username);
  }

  /** My user ID (0 before joining). */
  get userId(): number {
    return this.#ks?.userId ?? 0;
  }

  /** True while connected and logged in. */
  get connected(): boolean {
    return this.#conn !== null && !this.#conn.closed;
  }

  // ---- Joining ------------------------------------------------------------------------

  /** Opens or creates the keystore, joins the cluster and emits `ready`. */
  async start(): Promise<void> {
    await Deno.mkdir(this.userDir, { recursive: true, mode: 0o700 });
    const path = join(this.userDir, "keystore.db");
    let exists = true;
    try {
      await Deno.stat(path);
    } catch {
      exists = false;
    }
    if (exists) {
      this.#ks = await Keystore.open(path, this.#opts.password);
      this.#loadSecrets();
      await this.#connect("start");
    } else {
      await this.#register(path);
    }
    this.#waitTimer = setInterval(() => this.#expireWaiting(), 1_000);
    const account = this.#ks!.account();
    this.#emit({
      event: "ready",
      user: account.username,
      id: account.userId,
      server: this.#serverId ?? 0,
    });
  }

  async #register(path: string): Promise<void> {
    this.#emit({ event: "progress", what: "Generating your RSA-2048 key pair", done: 0, total: 1 });
    const rsa = generateRsaKeyPair(2048);
    const identity = generateIdentityKeyPair();
    this.#emit({ event: "progress", what: "Generating your RSA-2048 key pair", done: 1, total: 1 });
    const rsaPublicKey = exportRsaPublicKey(rsa.publicKey, "spki");
    const identityPublic = toBase64Url(identity.publicKey, false);
    const conn = await this.#dial("register");
    const reg = await conn.register(
      this.#opts.username,
      this.#opts.password,
      rsaPublicKey,
      identityPublic,
    );
    this.#ks = await Keystore.create(path, {
      password: this.#opts.password,
      account: {
        userId: reg.user_id,
        username: reg.username,
        rsaPrivateKey: exportRsaPrivateKey(rsa.privateKey, "pkcs8"),
        rsaPublicKey,
        identitySecretKey: identity.secretKey,
        identityPublicKey: identityPublic,
        sessionToken: reg.session_token,
      },
      ...(this.#opts.keystoreScryptN ? { scrypt: { N: this.#opts.keystoreScryptN } } : {}),
    });
    this.#loadSecrets();
    await this.#attach(conn);
  }

  #loadSecrets(): void {
    const account = this.#ks!.account();
    this.#rsaPrivate = importRsaPrivateKey(account.rsaPrivateKey);
    this.#identitySecret = account.identitySecretKey;
  }

  /** Connects through the balancer (retrying), logs in and replays. */
  #connect(reason: string): Promise<void> {
    this.#connecting ??= (async () => {
      try {
        const conn = await this.#dial(reason);
        const ks = this.#ks!;
        const token = ks.sessionToken();
        try {
          if (!token) throw new RequestError("auth_failed", "No session");
          await conn.resume(token);
        } catch (err) {
          if (!(err instanceof RequestError) || err.code !== "auth_failed") throw err;
          const back = await conn.login(ks.username, this.#opts.password);
          ks.setSessionToken(back.session_token);
        }
        await this.#attach(conn);
      } finally {
        this.#connecting = null;
      }
    })();
    return this.#connecting;
  }

  async #dial(reason: string): Promise<ProtocolClient> {
    const { client, assignment } = await connectViaBalancer(this.#opts.balancerUrls, {
      autoAck: false,
      dedupe: false,
      signal: this.#stop.signal,
      timeoutMs: (this.#opts.connectTimeoutS ?? 30) * 1000,
      // A hung server keeps the socket open; only silence after a ping shows it.
      keepAliveMs: this.#opts.keepAliveMs ?? 15_000,
      deadAfterMs: this.#opts.deadAfterMs ?? 10_000,
      onRetry: (err, attempt) =>
        this.#emit({ event: "connecting", attempt, reason: `${reason}: ${err.message}` }),
    });
    this.#serverId = assignment.id;
    // Messages arriving before the login completes are queued in the inbox like any other.
    client.onMessage = (m) => this.#receive(m);
    client.onDelivered = (d) => {
      // Receipts for key messages are plumbing; only the user's own messages are reported.
      if (this.#quitting || !this.#ks?.markDelivered(d.msg_id)) return;
      const name = this.#ks?.friend(d.to)?.username ?? `#${d.to}`;
      this.#emit({ event: "delivered", id: d.msg_id, to: d.to, to_name: name });
    };
    client.onError = (e) => this.#emit({ event: "error", message: e.message, code: e.code });
    client.onClose = (code) => this.#onClosed(client, code);
    return client;
  }

  #onClosed(conn: ProtocolClient, code: number): void {
    if (this.#conn === conn) this.#conn = null;
    if (this.#quitting || this.#conn !== null) return;
    if (code === CLOSE_CODES.sessionEnded) {
      // Logged out, here or on another device: this session is over; reconnecting with it
      // would be refused, and typing on would queue messages that never go.
      const message =
        "This session was logged out (on this or another device); run the client again to log in";
      this.#ks?.setSessionToken(null);
      this.#emit({ event: "error", code: "session_ended", message });
      this.#shutOut.resolve({ reason: "session_ended", message });
      return;
    }
    this.#reconnectForever(`connection closed (${code})`);
  }

  /** Reconnects through the balancer, with capped backoff, until it works or we close. */
  #reconnectForever(reason: string): void {
    if (this.#reconnecting || this.#quitting) return;
    this.#reconnecting = (async () => {
      let delay = 1_000;
      for (let attempt = 1; !this.#quitting; attempt++) {
        this.#emit({ event: "connecting", attempt, reason });
        try {
          await this.#connect("reconnect");
          this.#emit({ event: "reconnected", server: this.#serverId ?? 0 });
          return;
        } catch (err) {
          reason = (err as Error).message;
          await _sleep(delay, this.#stop.signal);
          delay = Math.min(15_000, delay * 2);
        }
      }
    })().finally(() => this.#reconnecting = null);
  }

  /** Makes `conn` the live connection: waits for the replay, then sends what was queued. */
  async #attach(conn: ProtocolClient): Promise<void> {
    // Live at once: handling the replay may need lookups and key sends.
    this.#conn = conn;
    const synced = Promise.withResolvers<void>();
    conn.onSynced = () => synced.resolve();
    // `synced` may already have come while logging in; a ping after it proves the order.
    await Promise.race([synced.promise, conn.request({ type: "ping" }).then(() => {})]);
    await this.#inbox;
    if (conn.closed) throw new Error("The connection closed while logging in");
    await this.#refreshFriendKeys();
    await this.#flushQueued();
  }

  /** Re-reads friends' published keys so a change is noticed at every login. */
  async #refreshFriendKeys(): Promise<void> {
    for (const f of this.#ks!.friends()) {
      try {
        const u = await this.#conn!.lookup(f.userId);
        this.#observeKeys(u.user_id, u.username, u.rsa_public_key, u.identity_key);
      } catch {
        // directory unavailable for one user: try again next login
      }
    }
  }

  /** Sends text messages typed while offline, oldest first, with their original IDs. */
  async #flushQueued(): Promise<void> {
    for (const m of this.#ks!.queued()) {
      if (m.file) continue;
      try {
        if (m.kind === "direct") await this.#sendDirectText(m.peerId, m.text, m.clientMsgId!);
        else await this.#sendGroupText(m.peerId, m.text, m.clientMsgId!);
      } catch (err) {
        if (!this.connected || _transient(err)) return; // the next connection tries again
        this.#ks!.markFailed(m.clientMsgId!);
        this.#emit({
          event: "error",
          message: `Queued message not sent: ${(err as Error).message}`,
        });
      }
    }
  }

  // ---- Commands -----------------------------------------------------------------------

  /** Runs one command; errors become `error` events, never exceptions. */
  async run(cmd: ClientCommand): Promise<void> {
    try {
      await this.#run(cmd);
    } catch (err) {
      const code = err instanceof RequestError || err instanceof E2eError ||
          err instanceof KeystoreError
        ? err.code
        : undefined;
      this.#emit({
        event: "error",
        message: (err as Error).message,
        ...(code ? { code: String(code) } : {}),
      });
    }
  }

  async #run(cmd: ClientCommand): Promise<void> {
    const ks = this.#ks!;
    switch (cmd.name) {
      case "help":
        this.#emit({ event: "help", text: helpText() });
        return;
      case "whoami":
        this.#emit({
          event: "whoami",
          user: ks.username,
          id: ks.userId,
          server: this.#serverId,
          connected: this.connected,
        });
        return;
      case "quit":
        return;
      case "logout": {
        // The server ends the session on every connection (this one with 1000, the others
        // with 4003); locally it is forgotten, and the client stops like one shut out.
        await this.#live().request({ type: "logout" });
        ks.setSessionToken(null);
        this.#quitting = true;
        this.#emit({ event: "logged_out" });
        this.#shutOut.resolve({ reason: "logout", message: "Logged out" });
        return;
      }
      case "friends":
        this.#emit({
          event: "friends",
          friends: ks.friends().map((f) => ({
            id: f.userId,
            user: f.username,
            verified_keys: f.pendingKeyChange === null,
          })),
        });
        return;
      case "groups":
        this.#emit({
          event: "groups",
          groups: ks.groups().map((g) => ({
            id: g.groupId,
            name: g.name,
            admin: g.adminId,
            members: [...g.members],
            epoch: g.epoch,
          })),
        });
        return;
      case "add_friend":
        await this.#addFriend(cmd.user);
        return;
      case "single_message": {
        const friend = await this.#ensureFriend(cmd.user);
        if (!ks.friendKeysUsable(friend.userId)) throw this.#keysChanged(friend.username);
        const id = crypto.randomUUID();
        ks.addOutgoing({ clientMsgId: id, kind: "direct", peerId: friend.userId, text: cmd.text });
        this.#emit({ event: "sent", client_msg_id: id, to: friend.username, group: null });
        await this.#failOnRefusal(
          id,
          () => this.#sendOrKeepQueued(() => this.#sendDirectText(friend.userId, cmd.text, id)),
        );
        return;
      }
      case "group_message": {
        const group = this.#findGroup(cmd.group);
        const id = crypto.randomUUID();
        ks.addOutgoing({ clientMsgId: id, kind: "group", peerId: group.groupId, text: cmd.text });
        this.#emit({ event: "sent", client_msg_id: id, to: group.name, group: group.groupId });
        await this.#failOnRefusal(
          id,
          () => this.#sendOrKeepQueued(() => this.#sendGroupText(group.groupId, cmd.text, id)),
        );
        return;
      }
      case "create_group": {
        const members: number[] = [];
        for (const u of cmd.users) members.push((await this.#pin(u)).userId);
        const g = await this.#live().request({ type: "create_group", name: cmd.group, members });
        const record = ks.upsertGroup({
          groupId: g.group.id,
          name: g.group.name,
          adminId: g.group.admin,
          members: g.group.members,
        });
        // The key goes out now, so a message typed right after can use it.
        await this.#rotateGroupKey(record, true);
        return;
      }
      case "add_member": {
        const group = this.#findGroup(cmd.group);
        const user = await this.#pin(cmd.user);
        await this.#live().request({
          type: "add_member",
          group_id: group.groupId,
          user_id: user.userId,
        });
        return;
      }
      case "remove_member": {
        const group = this.#findGroup(cmd.group);
        const user = await this.#userId(cmd.user);
        await this.#live().request({
          type: "remove_member",
          group_id: group.groupId,
          user_id: user,
        });
        return;
      }
      case "leave_group": {
        const group = this.#findGroup(cmd.group);
        await this.#live().request({ type: "leave_group", group_id: group.groupId });
        return;
      }
      case "send_file":
        await this.#sendFile(cmd.target, cmd.path);
        return;
      case "history":
        this.#history(cmd.target, cmd.count);
        return;
      case "fingerprint": {
        const f = await this.#ensureFriend(cmd.user, false);
        const theirs = f.pendingKeyChange?.identityKey ?? f.identityKey;
        this.#emit({
          event: "fingerprint",
          user: f.username,
          id: f.userId,
          safety_number: safetyNumber(
            ks.userId,
            fromBase64Url(ks.account().identityPublicKey),
            f.userId,
            fromBase64Url(theirs),
          ),
        });
        return;
      }
      case "accept_key": {
        const f = ks.friendByName(cmd.user);
        if (!f) throw new Error(`${cmd.user} is not a friend`);
        if (!f.pendingKeyChange) throw new Error(`${cmd.user}'s keys have not changed`);
        ks.acceptKeyChange(f.userId);
        this.#emit({ event: "key_accepted", user: f.username, id: f.userId });
        // The old shared key was agreed with the old keys: agree a new one.
        await this.#offerFriendKey(f.userId);
        return;
      }
    }
  }

  /**
   * Sends now if connected. A message whose connection drops before it is accepted stays
   * queued in the keystore and goes out, with the same ID, after reconnecting.
   */
  async #sendOrKeepQueued(send: () => Promise<void>): Promise<void> {
    if (!this.connected) return;
    try {
      await send();
    } catch (err) {
      if (!this.connected || _transient(err)) return;
      throw err;
    }
  }

  /** Marks a message failed (not retried) when sending it was refused for good. */
  async #failOnRefusal(clientMsgId: string, send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (err) {
      this.#ks!.markFailed(clientMsgId);
      throw err;
    }
  }

  /** Waits (bounded) until every message sent so far is accepted by the server. */
  async drain(timeoutMs = 15_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await Promise.race([this.#inbox, _sleep(deadline - Date.now())]);
      const queued = this.#ks?.queued().length ?? 0;
      if (this.#unaccepted.size === 0 && queued === 0) return true;
      if (this.#unaccepted.size > 0) {
        await Promise.race([
          Promise.allSettled([...this.#unaccepted]),
          new Promise((r) => setTimeout(r, 200)),
        ]);
      } else {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return false;
  }

  /**
   * Resolves with a reason when the server ended this session (it was logged out): the
   * client is shut out, and the program should say so and stop.
   */
  get shutOut(): Promise<ShutOut> {
    return this.#shutOut.promise;
  }

  /** Stops: closes the connection and the keystore. */
  async close(): Promise<void> {
    this.#quitting = true;
    this.#stop.abort();
    clearInterval(this.#waitTimer);
    await Promise.race([this.#inbox.catch(() => {}), _sleep(5_000)]);
    await this.#connecting?.catch(() => {});
    await this.#reconnecting?.catch(() => {});
    await this.#conn?.close();
    this.#ks?.close();
  }

  #live(): ProtocolClient {
    if (!this.#conn || this.#conn.closed) {
      throw new Error("Not connected right now; reconnecting in the background, try again shortly");
    }
    return this.#conn;
  }

  // ---- Friends and keys ----------------------------------------------------------------

  /** Looks up a user and pins their keys on first use; returns the friend record. */
  async #pin(who: string | number) {
    const ks = this.#ks!;
    const known = typeof who === "number" ? ks.friend(who) : ks.friendByName(who);
    if (known) return known;
    const u = await this.#lookupNameOrId(who);
    if (u.user_id === ks.userId) throw new Error("That is you");
    return ks.friend(u.user_id) ?? ks.addFriend({
      userId: u.user_id,
      username: u.username,
      rsaPublicKey: u.rsa_public_key,
      identityKey: u.identity_key,
    });
  }

  async #userId(who: string): Promise<number> {
    return (await this.#pin(who)).userId;
  }

  /** A user by ID, or by name; an all-digit string is tried as a name first. */
  async #lookupNameOrId(who: string | number) {
    const conn = this.#live();
    if (typeof who === "number") return await conn.lookup(who);
    try {
      return await conn.lookup(who);
    } catch (err) {
      if (!/^[0-9]+$/.test(who) || !(err instanceof RequestError) || err.code !== "not_found") {
        throw err;
      }
      return await conn.lookup(Number(who));
    }
  }

  /** Notes a user's published keys; a change from the pinned ones is reported loudly. */
  #observeKeys(userId: number, username: string, rsaPublicKey: string, identityKey: string) {
    const ks = this.#ks!;
    if (!ks.friend(userId)) return;
    const before = ks.friend(userId)!.pendingKeyChange;
    if (ks.observeFriendKeys(userId, { rsaPublicKey, identityKey }) === "changed" && !before) {
      this.#emit({
        event: "key_changed",
        user: username,
        id: userId,
        safety_number: safetyNumber(
          ks.userId,
          fromBase64Url(ks.account().identityPublicKey),
          userId,
          fromBase64Url(identityKey),
        ),
        message: `WARNING: ${username}'s keys have changed. Nothing will be encrypted to them ` +
          `until you compare safety numbers and run "accept_key ${username}".`,
      });
    }
  }

  async #addFriend(user: string): Promise<void> {
    const f = await this.#pin(user);
    if (this.#ks!.activeFriendKey(f.userId)) {
      this.#emit({ event: "friend", user: f.username, id: f.userId, initiated_by: "me" });
      return;
    }
    await this.#offerFriendKey(f.userId);
  }

  /** A friend with a shared key, made (and sent) first when there is none. */
  async #ensureFriend(user: string, needKey = true) {
    const f = await this.#pin(user);
    if (needKey && !this.#ks!.activeFriendKey(f.userId)) await this.#offerFriendKey(f.userId);
    return this.#ks!.friend(f.userId)!;
  }

  /** Makes a Fernet key, keeps it as active and sends it wrapped and signed. */
  async #offerFriendKey(friendId: number): Promise<void> {
    const ks = this.#ks!;
    const f = ks.friend(friendId)!;
    if (!ks.friendKeysUsable(friendId)) throw this.#keysChanged(f.username);
    const key = generateFernetKey();
    const kid = fernetKeyId(key);
    // Kept (for reading) but used for sending only once the server has accepted the offer,
    // so a failed send never leaves us encrypting with a key the friend never got.
    const createdAt = Date.now();
    ks.addFriendKey(friendId, kid, key, { active: false, createdAt });
    this.#offers.set(friendId, { kid, createdAt });
    const body = sealFriendKey({
      fromId: ks.userId,
      toId: friendId,
      fernetKey: key,
      recipientRsaPublic: importRsaPublicKey(f.rsaPublicKey),
      senderIdentitySecret: this.#identitySecret!,
    });
    await this.#track(
      this.#live().request({
        type: "key",
        to: friendId,
        body,
        client_msg_id: `fk-${kid}`,
      }),
    );
    // The friend's own offer may have crossed ours meanwhile and won.
    if (this.#offers.get(friendId)?.kid === kid) this.#offers.delete(friendId);
    if (!ks.activeFriendKey(friendId)) ks.setActiveFriendKey(friendId, kid);
    this.#emit({ event: "friend", user: f.username, id: friendId, initiated_by: "me" });
  }

  #keysChanged(username: string): Error {
    return new Error(
      `${username}'s keys have changed; compare safety numbers ("fingerprint ${username}") ` +
        `and run "accept_key ${username}" before sending`,
    );
  }

  // ---- Sending ------------------------------------------------------------------------

  #track<T>(p: Promise<T>): Promise<T> {
    this.#unaccepted.add(p);
    const done = () => this.#unaccepted.delete(p);
    p.then(done, done);
    return p;
  }

  async #sendDirectText(friendId: number, text: string, clientMsgId: string): Promise<void> {
    const ks = this.#ks!;
    const f = ks.friend(friendId)!;
    if (!ks.friendKeysUsable(friendId)) throw this.#keysChanged(f.username);
    const key = ks.activeFriendKey(friendId);
    if (!key) throw new Error(`No shared key with ${f.username} yet`);
    const body = sealDirect({
      fromId: ks.userId,
      toId: friendId,
      fernetKey: key.key,
      plaintext: text,
      senderIdentitySecret: this.#identitySecret!,
      clientMsgId,
    });
    await this.#sendAndRecord(
      { type: "single_message", to: friendId, body, client_msg_id: clientMsgId },
    );
  }

  async #sendGroupText(groupId: number, text: string, clientMsgId: string): Promise<void> {
    const ks = this.#ks!;
    const key = ks.currentGroupKey(groupId);
    if (!key) throw new Error(`No key for group ${groupId} yet; wait for the admin to send it`);
    const body = sealGroup({
      fromId: ks.userId,
      groupId,
      epoch: key.epoch,
      fernetKey: key.key,
      plaintext: text,
      senderIdentitySecret: this.#identitySecret!,
      clientMsgId,
    });
    await this.#sendAndRecord(
      { type: "group_message", group_id: groupId, body, client_msg_id: clientMsgId },
    );
  }

  /** Sends a sealed message and records its acceptance in the history. */
  async #sendAndRecord(
    frame:
      | { type: "single_message"; to: number; body: string; client_msg_id: string }
      | { type: "group_message"; group_id: number; body: string; client_msg_id: string },
  ): Promise<void> {
    const acc = await this.#track(this.#live().request(frame));
    this.#ks!.markAccepted(frame.client_msg_id, acc.msg_id);
    this.#emit({ event: "accepted", client_msg_id: frame.client_msg_id, id: acc.msg_id });
  }

  async #sendFile(target: string, path: string): Promise<void> {
    const ks = this.#ks!;
    const bytes = await Deno.readFile(path).catch((err) => {
      throw new Error(`Cannot read ${path}: ${(err as Error).message}`);
    });
    const name = path.split(/[\\/]/).pop() || "file";
    const chunks = splitFile(bytes, name);
    const meta = chunks[0]!.file;
    const group = this.#maybeGroup(target);
    let seal: (c: FileChunk) => { type: "single_message" | "group_message"; body: string };
    let peerId: number;
    if (group) {
      const key = ks.currentGroupKey(group.groupId);
      if (!key) throw new Error(`No key for group ${group.name} yet`);
      peerId = group.groupId;
      seal = (c) => ({
        type: "group_message",
        body: sealGroup({
          fromId: ks.userId,
          groupId: group.groupId,
          epoch: key.epoch,
          fernetKey: key.key,
          plaintext: c,
          senderIdentitySecret: this.#identitySecret!,
          clientMsgId: _chunkId(c),
        }),
      });
    } else {
      const f = await this.#ensureFriend(target);
      if (!ks.friendKeysUsable(f.userId)) throw this.#keysChanged(f.username);
      const key = ks.activeFriendKey(f.userId)!;
      peerId = f.userId;
      seal = (c) => ({
        type: "single_message",
        body: sealDirect({
          fromId: ks.userId,
          toId: f.userId,
          fernetKey: key.key,
          plaintext: c,
          senderIdentitySecret: this.#identitySecret!,
          clientMsgId: _chunkId(c),
        }),
      });
    }
    const conn = this.#live();
    const what = `Sending ${meta.name} (${meta.size} bytes)`;
    let sent = 0;
    let next = 0;
    let lastReported = -1;
    let lastMsgId = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        const { type, body } = seal(chunk);
        const id = _chunkId(chunk);
        const acc = type === "group_message"
          ? await this.#track(conn.request({ type, group_id: peerId, body, client_msg_id: id }))
          : await this.#track(conn.request({ type, to: peerId, body, client_msg_id: id }));
        lastMsgId = Math.max(lastMsgId, acc.msg_id);
        sent += chunk.data.length;
        const tenth = Math.floor((sent / Math.max(1, meta.size)) * 10);
        if (chunks.length > 1 && tenth !== lastReported) {
          lastReported = tenth;
          this.#emit({ event: "progress", what, done: sent, total: meta.size });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(_FILE_WINDOW, chunks.length) }, worker));
    ks.addOutgoing({
      clientMsgId: `file-${meta.id}`,
      kind: group ? "group" : "direct",
      peerId,
      text: `[file] ${meta.name}`,
      file: { name: meta.name, path, size: meta.size, sha256: meta.sha256 },
    });
    // The file's history entry carries the ID of its last chunk.
    ks.markAccepted(`file-${meta.id}`, lastMsgId);
    this.#emit({
      event: "sent",
      client_msg_id: `file-${meta.id}`,
      to: group ? group.name : target,
      group: group?.groupId ?? null,
    });
  }

  // ---- Groups -------------------------------------------------------------------------

  /** A group by ID or, when unambiguous, by name. */
  #findGroup(ref: string): GroupRecord {
    const g = this.#maybeGroup(ref);
    if (!g) throw new Error(`No group "${ref}"; "groups" lists yours`);
    return g;
  }

  #maybeGroup(ref: string): GroupRecord | null {
    const ks = this.#ks!;
    if (/^[0-9]+$/.test(ref)) {
      const g = ks.group(Number(ref));
      if (g?.isMember) return g;
    }
    const named = ks.groupsByName(ref);
    if (named.length > 1) {
      throw new Error(
        `"${ref}" names ${named.length} groups (IDs ${
          named.map((g) => g.groupId).join(", ")
        }); use the ID`,
      );
    }
    return named[0] ?? null;
  }

  /** Sends the group key of `epoch` to members (wrapped for each, signed by me, the admin). */
  async #distributeGroupKey(group: GroupRecord, epoch: number, key: string, to: number[]) {
    const ks = this.#ks!;
    const keys: Record<string, string> = {};
    for (const uid of to) {
      if (uid === ks.userId) continue;
      let f;
      try {
        f = await this.#pin(uid);
      } catch (err) {
        if (!this.connected || _transient(err)) throw err;
        this.#emit({
          event: "error",
          message: `Not sending group ${group.name}'s key to #${uid}: ${(err as Error).message}`,
        });
        continue;
      }
      if (!ks.friendKeysUsable(uid)) {
        this.#emit({
          event: "error",
          message: `Not sending group ${group.name}'s key to ${f.username}: their keys changed`,
        });
        continue;
      }
      keys[uid] = sealGroupKey({
        fromId: ks.userId,
        toId: uid,
        groupId: group.groupId,
        epoch,
        fernetKey: key,
        recipientRsaPublic: importRsaPublicKey(f.rsaPublicKey),
        senderIdentitySecret: this.#identitySecret!,
      });
    }
    if (Object.keys(keys).length === 0) return;
    await this.#track(
      this.#live().request({
        type: "key",
        group_id: group.groupId,
        keys,
        client_msg_id: `gk-${group.groupId}-${epoch}-${fernetKeyId(key)}`,
      }),
    );
  }

  /**
   * Makes a new epoch's key and sends it to every member (on creation, removals and
   * departures). Rotations of one group run one at a time; with `onlyIfNone`, it does
   * nothing when the group already has a key (creation, asked for by both the command
   * and the server's event).
   */
  #rotateGroupKey(group: GroupRecord, onlyIfNone = false): Promise<void> {
    const ks = this.#ks!;
    const previous = this.#rotations.get(group.groupId) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(async () => {
      if (onlyIfNone && ks.currentGroupKey(group.groupId)) return;
      const epoch = (ks.currentGroupKey(group.groupId)?.epoch ?? 0) + 1;
      const key = generateFernetKey();
      // Sent first, stored after: a failed send must not leave us on an epoch nobody has.
      await this.#distributeGroupKey(group, epoch, key, [...group.members]);
      ks.addGroupKey(group.groupId, epoch, key);
    });
    this.#rotations.set(group.groupId, next);
    return next.finally(() => {
      if (this.#rotations.get(group.groupId) === next) this.#rotations.delete(group.groupId);
    });
  }

  // ---- Receiving ----------------------------------------------------------------------

  #receive(m: MessageFrame): void {
    // Being handled, or parked until its key arrives: a redelivery changes nothing.
    if (this.#inflight.has(m.msg_id)) return;
    this.#inflight.add(m.msg_id);
    this.#inbox = this.#inbox.then(() => this.#process(m));
  }

  /**
   * Handles one message and acknowledges it only once it is handled and stored. A failure
   * caused by the connection leaves it unacknowledged, so the server delivers it again;
   * a message parked for its key is acknowledged when it is finally handled.
   */
  async #process(m: MessageFrame): Promise<void> {
    let ack = true;
    try {
      const ks = this.#ks!;
      if (!this.#done.has(m.msg_id) && !ks.hasMessage(m.msg_id)) {
        if (await this.#handle(m) === "wait") return;
        ks.markSeen(m.msg_id);
      } else if (!this.#done.has(m.msg_id)) {
        // Another client of this keystore (a second terminal) stored it first: show it here
        // too, since every live connection of a user gets every message.
        this.#reshow(m.msg_id);
      }
      this.#done.add(m.msg_id);
    } catch (err) {
      if (this.#quitting || !this.connected || _transient(err)) {
        ack = false;
      } else {
        this.#done.add(m.msg_id);
        this.#emit({
          event: "error",
          message: `Message ${m.msg_id} from #${m.from} rejected: ${(err as Error).message}`,
          ...(err instanceof E2eError ? { code: err.code } : {}),
        });
      }
    }
    this.#inflight.delete(m.msg_id);
    if (ack && !this.#quitting) {
      try {
        this.#conn?.ack([m.msg_id]);
      } catch {
        // closed meanwhile: the server delivers it again and it is acked then
      }
    }
  }

  async #handle(m: MessageFrame): Promise<void | "wait"> {
    if (m.kind === "group_event") return await this.#groupEvent(m);
    const type = parseEnvelopeType(m.body);
    if (m.kind === "key" && type === "friend_key") return await this.#friendKey(m);
    if (m.kind === "key" && type === "group_key") return await this.#groupKey(m);
    if (m.kind === "direct" && type === "dm") return await this.#direct(m);
    if (m.kind === "group" && type === "gm") return await this.#group(m);
    throw new Error(`Unexpected ${m.kind} message of type ${type ?? "unknown"}`);
  }

  /** The sender's pinned identity key, pinning on first contact. */
  async #senderIdentity(userId: number): Promise<Uint8Array> {
    const f = this.#ks!.friend(userId) ?? await this.#pin(userId);
    return fromBase64Url(f.identityKey);
  }

  /** Runs `open`; on a bad signature, re-reads the directory to tell a key change apart. */
  async #verified<T>(from: number, open: (identity: Uint8Array) => T): Promise<T> {
    try {
      return open(await this.#senderIdentity(from));
    } catch (err) {
      if (err instanceof E2eError && err.code === "bad_signature" && this.connected) {
        const u = await this.#conn!.lookup(from);
        this.#observeKeys(u.user_id, u.username, u.rsa_public_key, u.identity_key);
      }
      throw err;
    }
  }

  async #friendKey(m: MessageFrame): Promise<void> {
    const ks = this.#ks!;
    const opened = await this.#verified(m.from, (identity) =>
      openFriendKey(m.body, {
        fromId: m.from,
        toId: ks.userId,
        recipientRsaPrivate: this.#rsaPrivate!,
        senderIdentityPublic: identity,
      }));
    // My offer in flight counts as mine: both sides must apply the same rule to the same pair.
    const mine = ks.activeFriendKey(m.from) ?? this.#offers.get(m.from) ?? null;
    // Offers that crossed (both sides started at once): the lower user ID's key wins on both
    // sides. Otherwise the newer key wins (the friend re-keyed, e.g. after a key change).
    const crossed = mine !== null && Math.abs(opened.ts - mine.createdAt) < _CROSSING_MS;
    const adopt = !mine || (crossed ? m.from < ks.userId : opened.ts > mine.createdAt);
    ks.addFriendKey(m.from, opened.kid, opened.fernetKey, { active: adopt });
    if (adopt) this.#offers.delete(m.from);
    const f = ks.friend(m.from)!;
    this.#emit({ event: "friend", user: f.username, id: f.userId, initiated_by: "them" });
    this.#retryWaiting();
  }

  async #groupKey(m: MessageFrame): Promise<void | "wait"> {
    const ks = this.#ks!;
    const group = m.group_id !== null ? ks.group(m.group_id) : null;
    if (!group) return this.#wait(m); // the group's event may come by another server
    if (!group.isMember) throw new Error(`Key for group ${group.name}, which you have left`);
    if (group.adminId !== m.from) {
      throw new Error(`Key for group ${group.name} from #${m.from}, who is not its admin`);
    }
    const opened = await this.#verified(m.from, (identity) =>
      openGroupKey(m.body, {
        fromId: m.from,
        toId: ks.userId,
        recipientRsaPrivate: this.#rsaPrivate!,
        senderIdentityPublic: identity,
      }));
    if (opened.groupId !== group.groupId) throw new Error("Group key for another group");
    ks.addGroupKey(group.groupId, opened.epoch, opened.fernetKey);
    this.#emit({ event: "group_key", group: group.groupId, epoch: opened.epoch, from: m.from });
    this.#retryWaiting();
  }

  async #direct(m: MessageFrame): Promise<void | "wait"> {
    const ks = this.#ks!;
    let opened;
    try {
      opened = await this.#verified(m.from, (identity) =>
        openDirect(m.body, {
          fromId: m.from,
          toId: ks.userId,
          keysByKid: (kid) => ks.friendKey(m.from, kid)?.key,
          senderIdentityPublic: identity,
          clientMsgId: m.client_msg_id ?? "",
        }));
    } catch (err) {
      if (err instanceof E2eError && err.code === "no_key") return this.#wait(m);
      throw err;
    }
    await this.#received(m, opened, null);
  }

  async #group(m: MessageFrame): Promise<void | "wait"> {
    const ks = this.#ks!;
    const group = m.group_id !== null ? ks.group(m.group_id) : null;
    if (!group) return this.#wait(m);
    let opened;
    try {
      opened = await this.#verified(m.from, (identity) =>
        openGroup(m.body, {
          fromId: m.from,
          groupId: group.groupId,
          keyForEpoch: (epoch) => ks.groupKey(group.groupId, epoch) ?? undefined,
          senderIdentityPublic: identity,
          clientMsgId: m.client_msg_id ?? "",
        }));
    } catch (err) {
      if (err instanceof E2eError && err.code === "no_key") return this.#wait(m);
      throw err;
    }
    await this.#received(m, opened, group);
  }

  /**
   * Stores and shows an opened direct (`group` null) or group message; a file chunk goes to
   * reassembly. The same sender and client message ID again is a replay and is dropped.
   */
  async #received(m: MessageFrame, opened: OpenedContent, group: GroupRecord | null) {
    const ks = this.#ks!;
    const name = ks.friend(m.from)?.username ?? `#${m.from}`;
    if (opened.kind === "file") return await this.#fileChunk(m, opened.chunk, name, group);
    const stored = ks.addIncoming({
      msgId: m.msg_id,
      clientMsgId: m.client_msg_id,
      kind: group ? "group" : "direct",
      peerId: group ? group.groupId : m.from,
      senderId: m.from,
      text: opened.text,
      sentAt: m.sent_at,
    });
    if (!stored) {
      // Stored already: by another client of this keystore under this very message ID (show
      // it here too), or under another ID (a server replaying an old message: dropped).
      if (ks.incoming(m.msg_id) !== null) this.#reshow(m.msg_id);
      return;
    }
    this.#emit({
      event: "message",
      id: m.msg_id,
      from: m.from,
      from_name: name,
      group: group?.groupId ?? null,
      group_name: group?.name ?? null,
      text: opened.text,
      sent_at: m.sent_at,
    });
  }

  /** Shows a stored incoming text message that this process has not shown yet. */
  #reshow(msgId: number): void {
    const ks = this.#ks!;
    const r = ks.incoming(msgId);
    if (r === null || r.file !== null) return;
    const group = r.kind === "group" ? ks.group(r.peerId) : null;
    this.#emit({
      event: "message",
      id: msgId,
      from: r.senderId,
      from_name: ks.friend(r.senderId)?.username ?? `#${r.senderId}`,
      group: group?.groupId ?? null,
      group_name: group?.name ?? null,
      text: r.text,
      sent_at: r.sentAt,
    });
  }

  async #fileChunk(m: MessageFrame, chunk: FileChunk, from: string, group: GroupRecord | null) {
    const source = group ? `gm:${group.groupId}:${m.from}` : `dm:${m.from}`;
    const done = this.#files.add(chunk, source);
    if (!done) {
      if (chunk.file.count > 8) {
        const p = this.#files.progress().find((x) => x.id === chunk.file.id);
        if (p && p.received % Math.ceil(p.count / 10) === 0) {
          this.#emit({
            event: "progress",
            what: `Receiving ${chunk.file.name} from ${from}`,
            done: p.received,
            total: p.count,
          });
        }
      }
      return;
    }
    const dir = join(this.userDir, "files");
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const path = await _freePath(dir, done.name);
    await Deno.writeFile(path, done.bytes, { mode: 0o600 });
    const ks = this.#ks!;
    ks.addIncoming({
      msgId: m.msg_id,
      clientMsgId: m.client_msg_id,
      kind: group ? "group" : "direct",
      peerId: group ? group.groupId : m.from,
      senderId: m.from,
      text: `[file] ${done.name}`,
      file: { name: done.name, path, size: done.size, sha256: done.sha256 },
      sentAt: m.sent_at,
    });
    this.#emit({
      event: "file",
      id: m.msg_id,
      from: m.from,
      from_name: from,
      group: group?.groupId ?? null,
      name: done.name,
      path,
      size: done.size,
      sha256: done.sha256,
    });
  }

  async #groupEvent(m: MessageFrame): Promise<void> {
    const ks = this.#ks!;
    const ev = JSON.parse(m.body) as {
      event: "created" | "added" | "removed" | "left";
      group: { id: number; name: string; admin: number; members: number[] };
      user_id: number;
      by: number;
    };
    const g = ev.group;
    // Membership follows the member list, so an event processed late cannot re-add me.
    const iAmOut = !g.members.includes(ks.userId);
    let record = ks.upsertGroup({
      groupId: g.id,
      name: g.name,
      adminId: g.admin,
      members: g.members,
    });
    if (iAmOut) {
      ks.removeGroup(g.id);
      record = ks.group(g.id)!;
    }
    const who = ev.user_id === ks.userId
      ? ks.username
      : (ks.friend(ev.user_id)?.username ?? (await this.#pinQuiet(ev.user_id)));
    this.#emit({
      event: "group",
      group: g.id,
      name: g.name,
      change: ev.event,
      user: ev.user_id,
      user_name: who,
      by: ev.by,
      members: g.members,
      admin: g.admin,
    });
    if (g.admin !== ks.userId || iAmOut) return;
    // I am the admin: keys follow membership.
    if (ev.event === "created") {
      await this.#rotateGroupKey(record, true);
    } else if (ev.event === "removed" || ev.event === "left") {
      await this.#rotateGroupKey(record);
    } else if (ev.event === "added") {
      const current = ks.currentGroupKey(g.id);
      if (current) await this.#distributeGroupKey(record, current.epoch, current.key, [ev.user_id]);
      else await this.#rotateGroupKey(record);
    }
  }

  async #pinQuiet(userId: number): Promise<string> {
    try {
      return (await this.#pin(userId)).username;
    } catch {
      return `#${userId}`;
    }
  }

  /** Parks a message whose key (or group) has not arrived yet; it stays unacknowledged. */
  #wait(m: MessageFrame): "wait" {
    this.#waiting.push({ frame: m, since: Date.now() });
    return "wait";
  }

  #retryWaiting(): void {
    const again = this.#waiting.splice(0);
    for (const w of again) this.#inbox = this.#inbox.then(() => this.#process(w.frame));
  }

  #expireWaiting(): void {
    const now = Date.now();
    const expired = this.#waiting.filter((w) => now - w.since > _KEY_WAIT_MS);
    if (expired.length === 0) return;
    this.#waiting = this.#waiting.filter((w) => now - w.since <= _KEY_WAIT_MS);
    for (const w of expired) {
      const where = w.frame.group_id !== null ? ` in group ${w.frame.group_id}` : "";
      this.#emit({
        event: "error",
        code: "no_key",
        message: `Cannot decrypt message ${w.frame.msg_id} from #${w.frame.from}${where}: ` +
          "you do not have its key",
      });
      this.#done.add(w.frame.msg_id);
      this.#inflight.delete(w.frame.msg_id);
      this.#conn?.ack([w.frame.msg_id]);
    }
  }

  // ---- History ------------------------------------------------------------------------

  #history(target: string, count: number): void {
    const ks = this.#ks!;
    const group = this.#maybeGroupIncludingLeft(target);
    const friend = group ? null : ks.friendByName(target);
    if (!group && !friend) throw new Error(`No friend or group "${target}"`);
    const rows = group
      ? ks.history("group", group.groupId, count)
      : ks.history("direct", friend!.userId, count);
    this.#emit({
      event: "history",
      target,
      messages: rows.map((r) => ({
        id: r.msgId,
        from: r.senderId,
        from_name: r.senderId === ks.userId
          ? ks.username
          : (ks.friend(r.senderId)?.username ?? `#${r.senderId}`),
        text: r.text,
        sent_at: r.sentAt,
        state: r.state,
        file: r.file?.path ?? null,
      })),
    });
  }

  #maybeGroupIncludingLeft(ref: string): GroupRecord | null {
    const ks = this.#ks!;
    if (/^[0-9]+$/.test(ref)) return ks.group(Number(ref));
    const named = ks.groupsByName(ref, { includeLeft: true });
    return named.length === 1 ? named[0]! : null;
  }
}

/** `dir/name`, or `dir/name (2).ext`... if taken, so a received file never overwrites. */
async function _freePath(dir: string, name: string): Promise<string> {
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : "";
  for (let i = 1;; i++) {
    const candidate = join(dir, i === 1 ? name : `${stem} (${i})${ext}`);
    try {
      await Deno.lstat(candidate);
    } catch {
      return candidate;
    }
  }
}

/** The client message ID of one file chunk (signed into its envelope). */
function _chunkId(c: FileChunk): string {
  return `file-${c.file.id}-${c.file.index}`;
}

/** Waits `ms`, or less if `signal` aborts. */
function _sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** Failures of the connection rather than of the request: worth retrying later. */
function _transient(err: unknown): boolean {
  if (err instanceof RequestError) return err.code === "internal" || err.code === "rate_limited";
  return err instanceof Error &&
    /Connection closed|connection is closed|No answer to|Not connected|closed while/.test(
      err.message,
    );
}

/** Re-exported for the front end's type checks. */
export type { ClientEvent };
