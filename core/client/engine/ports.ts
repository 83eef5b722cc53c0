/**
 * What the chat engine needs from the world, as small interfaces: the user's keystore, the
 * files it sends and saves, and a connection to a server. The terminal client plugs in the
 * Deno implementations (`file_keystore.ts`, `deno_files.ts`, `balancer_dialer.ts`); a
 * browser supplies its own; tests pass fakes.
 *
 * @module
 */

import type { DeliveredFrame, MessageFrame } from "../../protocol/mod.ts";
import type { RequestError } from "./errors.ts";
import type {
  AddFriendKeyOptions,
  BlockedRecord,
  ConversationKind,
  CreateKeystoreOptions,
  DeviceIdentity,
  FriendInput,
  FriendKeyRecord,
  FriendKeysInput,
  FriendRecord,
  GroupInput,
  GroupInviteRecord,
  GroupKeyRecord,
  GroupLeavingInput,
  GroupListOptions,
  GroupRecord,
  IncomingMessageInput,
  KeystoreAccount,
  MessageRecord,
  OutgoingMessageInput,
  PinnedDeviceList,
  RequestMessageRecord,
  RequestRecord,
} from "../../keystore/keystore_types.ts";
import type { RequestFrame, RequestReply } from "../transport/protocol_client.ts";

// ---- Keystore -----------------------------------------------------------------------------
// The methods mean what `Keystore`'s (keystore.ts) say; the engine's modules each take the
// slice they use, so a fake implements only that.

/** The user's own account and session. */
export interface AccountPort {
  /** The user's server-side ID. */
  readonly userId: number;
  /** The user's username. */
  readonly username: string;
  /** The user's own account, with its secrets decrypted. */
  account(): KeystoreAccount;
  /** The stored session token (for `resume`), or null. */
  sessionToken(): string | null;
  /** Stores the session token, or forgets it with null (after logout). */
  setSessionToken(token: string | null): void;
  /**
   * Resolves once every change so far is stored durably. Absent where each change is
   * durable when its call returns (the SQLite file); a browser keystore writes its image
   * after changes, and messages are acknowledged only once this resolves.
   */
  persisted?(): Promise<void>;
  /** Closes the keystore; later calls throw. Idempotent. */
  close(): void;
}

/** Friends, their pinned public keys, and the keys shared with each. */
export interface FriendsPort {
  /** The user's server-side ID. */
  readonly userId: number;
  /** The user's username. */
  readonly username: string;
  /** Adds a friend and pins their public keys (trust on first use). */
  addFriend(friend: FriendInput): FriendRecord;
  /** The friend with this user ID, or null. */
  friend(userId: number): FriendRecord | null;
  /** The friend with exactly this username, or null. */
  friendByName(username: string): FriendRecord | null;
  /** All friends (every pinned user, contact or not), by username. */
  friends(): FriendRecord[];
  /** The friends who are contacts, by username. */
  contacts(): FriendRecord[];
  /** Makes a pinned user a contact, or no longer one. */
  setContact(userId: number, contact: boolean): FriendRecord;
  /** Marks a friend's pinned keys verified (safety numbers compared). */
  verifyFriend(userId: number): FriendRecord;
  /** Compares directory keys with the pinned ones; different ones wait as a pending change. */
  observeFriendKeys(userId: number, keys: FriendKeysInput): "changed" | "unchanged";
  /** Pins a friend's pending keys, once the user accepted the change. */
  acceptKeyChange(userId: number): FriendRecord;
  /** Whether the user is a friend with no pending key change. */
  friendKeysUsable(userId: number): boolean;
  /** Stores a Fernet key shared with a friend under key ID `kid`; false if already stored. */
  addFriendKey(friendId: number, kid: string, key: string, opts?: AddFriendKeyOptions): boolean;
  /** Makes key `kid` the one used for sending to a friend. */
  setActiveFriendKey(friendId: number, kid: string): void;
  /** The key `kid` shared with a friend (active or old), or null. */
  friendKey(friendId: number, kid: string): FriendKeyRecord | null;
  /** The key for sending to a friend, or null if none is active. */
  activeFriendKey(friendId: number): FriendKeyRecord | null;
}

/** Groups and their keys by epoch. */
export interface GroupsPort {
  /** Inserts or updates a group as the server describes it. */
  upsertGroup(group: GroupInput): GroupRecord;
  /** The group with this ID (left or not), or null. */
  group(groupId: number): GroupRecord | null;
  /** Groups by name, then ID; only those the user is in, unless `includeLeft`. */
  groups(opts?: GroupListOptions): GroupRecord[];
  /** Groups with exactly this name, by ID (names are not unique). */
  groupsByName(name: string, opts?: GroupListOptions): GroupRecord[];
  /** Marks a group as left, keeping its history and keys, and who ended it and how. */
  removeGroup(groupId: number, leaving?: GroupLeavingInput | null): void;
  /** Records an invitation to a stored group from someone who is not a contact. */
  addGroupInvite(groupId: number, byId: number, byName: string, invitedAt?: number): boolean;
  /** The pending invitation to this group, or null. */
  groupInvite(groupId: number): GroupInviteRecord | null;
  /** Every pending group invitation, oldest first. */
  groupInvites(): GroupInviteRecord[];
  /** Forgets a group's invitation; false if there was none. */
  removeGroupInvite(groupId: number): boolean;
  /** Stores a group's key for `epoch`; false if already stored. */
  addGroupKey(groupId: number, epoch: number, key: string): boolean;
  /** A group's key for `epoch`, or null if not stored. */
  groupKey(groupId: number, epoch: number): string | null;
  /** A group's key of the highest epoch, with that epoch, or null. */
  currentGroupKey(groupId: number): GroupKeyRecord | null;
}

/** Message history, the outgoing queue, and which incoming messages were handled. */
export interface MessagesPort {
  /** Stores a message the user typed, queued until a server accepts it. */
  addOutgoing(msg: OutgoingMessageInput): MessageRecord;
  /** Stores a received message once; null if it was already stored. */
  addIncoming(msg: IncomingMessageInput): MessageRecord | null;
  /** The outgoing message the server accepted as `msgId`, or null. */
  outgoingByMsgId(msgId: number): MessageRecord | null;
  /** The newest `limit` messages of a conversation, in chronological order. */
  history(kind: ConversationKind, peerId: number, limit?: number): MessageRecord[];
  /** Records that a server accepted an outgoing message as `msgId`. */
  markAccepted(clientMsgId: string, msgId: number): boolean;
  /** Records that a recipient acknowledged the outgoing message `msgId`. */
  markDelivered(msgId: number): boolean;
  /** Marks a queued outgoing message as failed (the server refused it). */
  markFailed(clientMsgId: string): boolean;
  /** Outgoing messages still waiting for a server, oldest first. */
  queued(): MessageRecord[];
  /** Puts a failed outgoing message back in the queue; false if none failed with this ID. */
  markRequeued(clientMsgId: string): boolean;
  /** Outgoing messages that failed (refused for good), oldest first. */
  failed(): MessageRecord[];
  /** The stored incoming message with this server ID, or null. */
  incoming(msgId: number): MessageRecord | null;
  /** Whether a message with this server ID is stored. */
  hasMessage(msgId: number): boolean;
  /** Records that incoming message `msgId` was handled though it is not history. */
  markSeen(msgId: number): void;
}

/** Requests from users who are not contacts, blocked users, and the user's settings. */
export interface ConsentPort {
  /** Keeps a message from a pinned user who is not a contact, with their request. */
  addRequestMessage(userId: number, msgId: number, frame: string, receivedAt?: number): boolean;
  /** Sets the text shown with a request, unless one is set already. */
  setRequestPreview(userId: number, text: string): boolean;
  /** The request of this user, or null. */
  request(userId: number): RequestRecord | null;
  /** Every pending request, oldest first. */
  requests(): RequestRecord[];
  /** The messages kept with a user's request, by server message ID. */
  requestMessages(userId: number): RequestMessageRecord[];
  /** Forgets a user's request and its messages; false if there was none. */
  removeRequest(userId: number): boolean;
  /** Blocks a user: forgets their request, and they are no longer a contact. */
  block(userId: number, username: string): BlockedRecord;
  /** Unblocks a user, who is a stranger again; false if not blocked. */
  unblock(userId: number): boolean;
  /** The blocked user with this ID, or null. */
  blocked(userId: number): BlockedRecord | null;
  /** The blocked user with exactly this username, or null. */
  blockedByName(username: string): BlockedRecord | null;
  /** Every blocked user, by username. */
  blockedUsers(): BlockedRecord[];
  /** A setting's value, or null when it is not set. */
  setting(name: string): string | null;
  /** Sets a setting, or removes it with null. */
  setSetting(name: string, value: string | null): void;
}

/** This device's own keys, and the device lists checked so far (`devices.ts`). */
export interface DevicesPort {
  /** This device's keys and ID, or null before it has any. */
  deviceIdentity(): DeviceIdentity | null;
  /** Keeps this device's keys (replacing any). */
  setDeviceIdentity(device: DeviceIdentity): void;
  /** Sets this device's ID once a list names it. */
  setDeviceId(deviceId: number): void;
  /** The list pinned for `userId` (the user's own included), or null. */
  deviceList(userId: number): PinnedDeviceList | null;
  /** Pins a newer list for `userId`; refuses a rollback or a fork (KeystoreError). */
  pinDeviceList(userId: number, list: PinnedDeviceList): void;
  /** A secret setting's value (sealed under the password; this device's prekeys), or null. */
  secret(name: string): string | null;
  /** Sets a secret setting, or removes it with null. */
  setSecret(name: string, value: string | null): void;
}

/** Everything the engine needs from the keystore; `Keystore` implements it. */
export interface KeystorePort
  extends AccountPort, FriendsPort, GroupsPort, MessagesPort, ConsentPort, DevicesPort {}

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
  /** True once the connection has closed. */
  readonly closed: boolean;
  /** The protocol features the server turned on at login (none when absent). */
  readonly features?: readonly string[];
  /**
   * Sends a request; rejects with `RequestError`, `ConnectionClosedError` or
   * `RequestTimeoutError` (errors.ts).
   */
  request<F extends RequestFrame>(frame: F): Promise<RequestReply<F["type"]>>;
  /** Acknowledges handled messages. */
  ack(ids: number[]): void;
  /** Closes the connection; resolves once it is closed. */
  close(): Promise<unknown>;
}

/** What a connection reports, wired by the dialer before the connection is handed over. */
export interface ConnectionHandlers {
  /** Every message, in arrival order (redeliveries included: the engine de-duplicates). */
  onMessage(m: MessageFrame): void;
  /** A recipient acknowledged one of the user's messages. */
  onDelivered(d: DeliveredFrame): void;
  /** The replay of what was pending at login is complete. */
  onSynced(): void;
  /** An `error` frame that answers no request. */
  onError(e: RequestError): void;
  /** The server's `prekeys_low`: this device has `remaining` one-time prekeys left there. */
  onPrekeysLow?(remaining: number): void;
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
  /** Connects to a server; resolves with the connection and the server's ID. */
  dial(
    handlers: ConnectionHandlers,
    opts: DialOptions,
  ): Promise<{ conn: ChatConnection; serverId: number }>;
}
