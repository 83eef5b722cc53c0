/**
 * Fakes of the chat engine's ports (core/client/engine/ports.ts) for unit tests: a connection that
 * answers requests with a function, a dialer handing out such connections, an in-memory
 * message store and key store slice, and an in-memory file port.
 *
 * @module
 */

import type { LiveConnection } from "../../core/client/engine/connection.ts";
import { ConnectionClosedError } from "../../core/client/engine/errors.ts";
import type { ClientEvent } from "../../core/client/engine/events.ts";
import type {
  FriendKeyRecord,
  FriendRecord,
  GroupKeyRecord,
  GroupRecord,
  IncomingMessageInput,
  MessageRecord,
  OutgoingMessageInput,
} from "../../core/keystore/keystore_types.ts";
import type {
  ChatConnection,
  ConnectionHandlers,
  Dialer,
  FilePort,
} from "../../core/client/engine/ports.ts";
import type { RequestFrame } from "../../core/client/transport/protocol_client.ts";

/** Answers one request frame (or throws to refuse it). */
export type Answer = (frame: RequestFrame) => unknown | Promise<unknown>;

/** A connection whose requests `answer` answers; records requests and acks. */
export class FakeConn implements ChatConnection {
  closed = false;
  readonly requests: RequestFrame[] = [];
  readonly acks: number[] = [];
  answer: Answer;
  handlers: ConnectionHandlers | null = null;

  constructor(answer: Answer) {
    this.answer = answer;
  }

  // deno-lint-ignore no-explicit-any
  async request(frame: RequestFrame): Promise<any> {
    if (this.closed) throw new ConnectionClosedError("The connection is closed");
    this.requests.push(frame);
    return await this.answer(frame);
  }

  ack(ids: number[]): void {
    this.acks.push(...ids);
  }

  /** Closes from our side; the close is reported afterwards, as a socket's would be. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      queueMicrotask(() => this.handlers?.onClose(1000));
    }
    return Promise.resolve();
  }

  /** The server closes the connection with `code`. */
  drop(code = 1006): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers?.onClose(code);
  }
}

/** A dialer whose connections answer with `answer`; `fail` makes the next dials throw. */
export class FakeDialer implements Dialer {
  readonly conns: FakeConn[] = [];
  failures = 0;
  readonly #answer: Answer;

  constructor(answer: Answer) {
    this.#answer = answer;
  }

  dial(handlers: ConnectionHandlers): Promise<{ conn: ChatConnection; serverId: number }> {
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new Error("No server is up"));
    }
    const conn = new FakeConn(this.#answer);
    conn.handlers = handlers;
    this.conns.push(conn);
    return Promise.resolve({ conn, serverId: this.conns.length });
  }
}

/** A {@linkcode LiveConnection} over one fake connection that can be taken away. */
export class FakeLink implements LiveConnection {
  conn: FakeConn | null;

  constructor(conn: FakeConn | null) {
    this.conn = conn;
  }

  get connected(): boolean {
    return this.conn !== null && !this.conn.closed;
  }

  live(): ChatConnection {
    if (!this.conn || this.conn.closed) throw new ConnectionClosedError("Not connected");
    return this.conn;
  }
}

/** Events collected in order. */
export function eventLog(): { events: ClientEvent[]; emit: (e: ClientEvent) => void } {
  const events: ClientEvent[] = [];
  return { events, emit: (e) => void events.push(e) };
}

/** The keystore slices the sender, inbox and file transfer use, in memory. */
export class MemoryKeystore {
  readonly userId: number;
  readonly username: string;
  readonly friendsById = new Map<number, FriendRecord>();
  readonly friendKeys = new Map<number, FriendKeyRecord>();
  readonly groupsById = new Map<number, GroupRecord>();
  readonly groupKeys = new Map<number, GroupKeyRecord>();
  readonly messages: MessageRecord[] = [];
  readonly seen = new Set<number>();
  /** Friends whose keys changed and are not accepted. */
  readonly changed = new Set<number>();

  constructor(userId: number, username: string) {
    this.userId = userId;
    this.username = username;
  }

  /** Adds a friend with an active shared key. */
  befriend(userId: number, username: string, key: string): FriendRecord {
    const f: FriendRecord = {
      userId,
      username,
      rsaPublicKey: "",
      identityKey: "",
      pinnedAt: 0,
      addedAt: 0,
      pendingKeyChange: null,
      contact: true,
      verifiedAt: null,
    };
    this.friendsById.set(userId, f);
    this.friendKeys.set(userId, { friendId: userId, kid: "k", key, createdAt: 0, role: "active" });
    return f;
  }

  /** Adds a group the user is in, with a key of epoch 1. */
  join(groupId: number, name: string, members: number[], key: string): GroupRecord {
    const g: GroupRecord = {
      groupId,
      name,
      adminId: members[0]!,
      members,
      epoch: 1,
      isMember: true,
      leftAt: null,
      leftBy: null,
      leftHow: null,
      updatedAt: 0,
    };
    this.groupsById.set(groupId, g);
    this.groupKeys.set(groupId, { epoch: 1, key });
    return g;
  }

  friend(userId: number): FriendRecord | null {
    return this.friendsById.get(userId) ?? null;
  }
  friendKeysUsable(userId: number): boolean {
    return this.friendsById.has(userId) && !this.changed.has(userId);
  }
  activeFriendKey(friendId: number): FriendKeyRecord | null {
    return this.friendKeys.get(friendId) ?? null;
  }
  group(groupId: number): GroupRecord | null {
    return this.groupsById.get(groupId) ?? null;
  }
  currentGroupKey(groupId: number): GroupKeyRecord | null {
    return this.groupKeys.get(groupId) ?? null;
  }

  addOutgoing(msg: OutgoingMessageInput): MessageRecord {
    const r: MessageRecord = {
      id: this.messages.length + 1,
      msgId: null,
      clientMsgId: msg.clientMsgId,
      direction: "out",
      kind: msg.kind,
      peerId: msg.peerId,
      senderId: this.userId,
      text: msg.text,
      file: msg.file ?? null,
      sentAt: msg.sentAt ?? Date.now(),
      receivedAt: null,
      state: "queued",
    };
    this.messages.push(r);
    return r;
  }
  addIncoming(msg: IncomingMessageInput): MessageRecord | null {
    if (this.messages.some((m) => m.msgId === msg.msgId)) return null;
    const r: MessageRecord = {
      id: this.messages.length + 1,
      msgId: msg.msgId,
      clientMsgId: msg.clientMsgId,
      direction: "in",
      kind: msg.kind,
      peerId: msg.peerId,
      senderId: msg.senderId,
      text: msg.text,
      file: msg.file ?? null,
      sentAt: msg.sentAt,
      receivedAt: Date.now(),
      state: null,
    };
    this.messages.push(r);
    return r;
  }
  #update(pred: (m: MessageRecord) => boolean, patch: Partial<MessageRecord>): boolean {
    const i = this.messages.findIndex(pred);
    if (i < 0) return false;
    this.messages[i] = { ...this.messages[i]!, ...patch };
    return true;
  }
  markAccepted(clientMsgId: string, msgId: number): boolean {
    return this.#update((m) => m.clientMsgId === clientMsgId && m.direction === "out", {
      msgId,
      state: "accepted",
    });
  }
  markDelivered(msgId: number): boolean {
    return this.#update((m) => m.msgId === msgId && m.direction === "out", { state: "delivered" });
  }
  markFailed(clientMsgId: string): boolean {
    return this.#update((m) => m.clientMsgId === clientMsgId && m.state === "queued", {
      state: "failed",
    });
  }
  queued(): MessageRecord[] {
    return this.messages.filter((m) => m.state === "queued");
  }
  markRequeued(clientMsgId: string): boolean {
    return this.#update((m) => m.clientMsgId === clientMsgId && m.state === "failed", {
      state: "queued",
    });
  }
  failed(): MessageRecord[] {
    return this.messages.filter((m) => m.direction === "out" && m.state === "failed");
  }
  outgoingByMsgId(msgId: number): MessageRecord | null {
    return this.messages.find((m) => m.msgId === msgId && m.direction === "out") ?? null;
  }
  outgoing(clientMsgId: string): MessageRecord | null {
    return this.messages.find((m) => m.clientMsgId === clientMsgId && m.direction === "out") ??
      null;
  }
  hasMessage(msgId: number): boolean {
    return this.messages.some((m) => m.msgId === msgId);
  }
  markSeen(msgId: number): void {
    this.seen.add(msgId);
  }
}

/** Files in memory, by path; `dir/name` paths. */
export class MemoryFiles implements FilePort {
  readonly files = new Map<string, Uint8Array>();
  /** Sizes `stat` reports instead of the content's (a huge file without the bytes). */
  readonly sizes = new Map<string, number>();
  reads = 0;

  stat(path: string): Promise<{ size: number }> {
    const size = this.sizes.get(path);
    if (size !== undefined) return Promise.resolve({ size });
    const f = this.files.get(path);
    return f ? Promise.resolve({ size: f.length }) : Promise.reject(new Error("No such file"));
  }

  readFile(path: string): Promise<Uint8Array> {
    this.reads++;
    const f = this.files.get(path);
    return f ? Promise.resolve(f) : Promise.reject(new Error("No such file"));
  }

  saveNew(dir: string, name: string, bytes: Uint8Array): Promise<string | null> {
    const path = `${dir}/${name}`;
    if (this.files.has(path)) return Promise.resolve(null);
    this.files.set(path, bytes);
    return Promise.resolve(path);
  }
}
