/**
 * What the chat engine needs from the world, as small interfaces: the user's keystore, the
 * files it sends and saves, and a connection to a server. The terminal client plugs in the
 * Deno implementations (`file_keystore.ts`, `deno_files.ts`, `balancer_dialer.ts`); a
 * browser supplies its own; tests pass fakes.
 *
 * @module
 */

import type { DeliveredFrame, MessageFrame } from "../protocol/mod.ts";
import type { RequestError } from "./errors.ts";
import type {
  AddFriendKeyOptions,
  BlockedRecord,
  ConversationKind,
  CreateKeystoreOptions,
  FriendInput,
  FriendKeyRecord,
  FriendKeysInput,
  FriendRecord,
  GroupInput,
  GroupKeyRecord,
  GroupListOptions,
  GroupRecord,
  IncomingMessageInput,
  KeystoreAccount,
  MessageRecord,
  OutgoingMessageInput,
  RequestMessageRecord,
  RequestRecord,
} from "./keystore_types.ts";
import type { RequestFrame, RequestReply } from "./protocol_client.ts";

// ---- Keystore -----------------------------------------------------------------------------
// The methods mean what `Keystore`'s (keystore.ts) say; the engine's modules each take the
// slice they use, so a fake implements only that.

/** The user's own account and session. */
export interface AccountPort {
  readonly userId: number;
  readonly username: string;
  account(): KeystoreAccount;
  sessionToken(): string | null;
  setSessionToken(token: string | null): void;
  /**
   * Resolves once every change so far is stored durably. Absent where each change is
   * durable when its call returns (the SQLite file); a browser keystore writes its image
   * after changes, and messages are acknowledged only once this resolves.
   */
  persisted?(): Promise<void>;
  close(): void;
}

/** Friends, their pinned public keys, and the keys shared with each. */
export interface FriendsPort {
  readonly userId: number;
  readonly username: string;
  addFriend(friend: FriendInput): FriendRecord;
  friend(userId: number): FriendRecord | null;
  friendByName(username: string): FriendRecord | null;
  friends(): FriendRecord[];
  contacts(): FriendRecord[];
  setContact(userId: number, contact: boolean): FriendRecord;
  verifyFriend(userId: number): FriendRecord;
  observeFriendKeys(userId: number, keys: FriendKeysInput): "changed" | "unchanged";
  acceptKeyChange(userId: number): FriendRecord;
  friendKeysUsable(userId: number): boolean;
  addFriendKey(friendId: number, kid: string, key: string, opts?: AddFriendKeyOptions): boolean;
  setActiveFriendKey(friendId: number, kid: string): void;
  friendKey(friendId: number, kid: string): FriendKeyRecord | null;
  activeFriendKey(friendId: number): FriendKeyRecord | null;
}

/** Groups and their keys by epoch. */
export interface GroupsPort {
  upsertGroup(group: GroupInput): GroupRecord;
  group(groupId: number): GroupRecord | null;
  groups(opts?: GroupListOptions): GroupRecord[];
  groupsByName(name: string, opts?: GroupListOptions): GroupRecord[];
  removeGroup(groupId: number): void;
  addGroupKey(groupId: number, epoch: number, key: string): boolean;
  groupKey(groupId: number, epoch: number): string | null;
  currentGroupKey(groupId: number): GroupKeyRecord | null;
}

/** Message history, the outgoing queue, and which incoming messages were handled. */
export interface MessagesPort {
  addOutgoing(msg: OutgoingMessageInput): MessageRecord;
  addIncoming(msg: IncomingMessageInput): MessageRecord | null;
  outgoingByMsgId(msgId: number): MessageRecord | null;
  history(kind: ConversationKind, peerId: number, limit?: number): MessageRecord[];
  markAccepted(clientMsgId: string, msgId: number): boolean;
  markDelivered(msgId: number): boolean;
  markFailed(clientMsgId: string): boolean;
  queued(): MessageRecord[];
  incoming(msgId: number): MessageRecord | null;
  hasMessage(msgId: number): boolean;
  markSeen(msgId: number): void;
}

/** Requests from users who are not contacts, blocked users, and the user's settings. */
export interface ConsentPort {
  addRequestMessage(userId: number, msgId: number, frame: string, receivedAt?: number): boolean;
  setRequestPreview(userId: number, text: string): boolean;
  request(userId: number): RequestRecord | null;
  requests(): RequestRecord[];
  requestMessages(userId: number): RequestMessageRecord[];
  removeRequest(userId: number): boolean;
  block(userId: number, username: string): BlockedRecord;
  unblock(userId: number): boolean;
  blocked(userId: number): BlockedRecord | null;
  blockedByName(username: string): BlockedRecord | null;
  blockedUsers(): BlockedRecord[];
  setting(name: string): string | null;
  setSetting(name: string, value: string | null): void;
}

/** Everything the engine needs from the keystore; `Keystore` implements it. */
export interface KeystorePort
  extends AccountPort, FriendsPort, GroupsPort, MessagesPort, ConsentPort {}

/** Opens the user's keystore, or makes it on first use. */
export interface KeystoreOpener {
  /** The existing keystore unlocked with `password`, or null when there is none yet. */
  open(password: string): Promise<KeystorePort | null>;
  /** Makes the keystore for a newly registered account. */
  create(opts: CreateKeystoreOptions): Promise<KeystorePort>;
}

// ---- Files --------------------------------------------------------------------------------

/** The files the user sends, and where received ones are saved. */
export interface FilePort {
  /** The size of the file at `path`; rejects when it cannot be read. */
  stat(path: string): Promise<{ size: number }>;
  /** The bytes of the file at `path`. */
  readFile(path: string): Promise<Uint8Array>;
  /**
   * Saves `bytes` as `name` in `dir` (made if missing, private to the user) unless a file of
   * that name exists there; resolves to the saved file's path, or null when the name is taken.
   */
  saveNew(dir: string, name: string, bytes: Uint8Array): Promise<string | null>;
}

// ---- Connection ---------------------------------------------------------------------------

/** One live connection to a server, as the engine uses it (`ProtocolClient` fits). */
export interface ChatConnection {
  readonly closed: boolean;
  /**
   * Sends a request; rejects with `RequestError`, `ConnectionClosedError` or
   * `RequestTimeoutError` (errors.ts).
   */
  request<F extends RequestFrame>(frame: F): Promise<RequestReply<F["type"]>>;
  /** Acknowledges handled messages. */
  ack(ids: number[]): void;
  close(): Promise<unknown>;
}

/** What a connection reports, wired by the dialer before the connection is handed over. */
export interface ConnectionHandlers {
  /** Every message, in arrival order (redeliveries included: the engine de-duplicates). */
  onMessage(m: MessageFrame): void;
  onDelivered(d: DeliveredFrame): void;
  /** The replay of what was pending at login is complete. */
  onSynced(): void;
  /** An `error` frame that answers no request. */
  onError(e: RequestError): void;
  /** Called once when the connection closes, with the WebSocket close code. */
  onClose(code: number): void;
}

/** Options of {@linkcode Dialer.dial}. */
export interface DialOptions {
  /** Aborts the attempts when the client closes. */
  readonly signal: AbortSignal;
  /** Hears each failed attempt before the next (for a status line). */
  onRetry(err: Error, attempt: number): void;
}

/** Finds a server and connects to it, retrying within its own limits. */
export interface Dialer {
  dial(
    handlers: ConnectionHandlers,
    opts: DialOptions,
  ): Promise<{ conn: ChatConnection; serverId: number }>;
}
