/**
 * The main database port: everything the servers and the balancer share. Adapters live
 * beside this file (`sqlite_store.ts` on `node:sqlite`; PostgreSQL later) and all pass the
 * one conformance suite in `tests/store_conformance.ts`.
 *
 * The store holds only what servers may see: usernames, password hashes, public keys,
 * group membership, and opaque ciphertext bodies with routing metadata.
 *
 * Every method is async so that network-backed adapters fit the same shape.
 *
 * @module
 */

/** A registered user as the store keeps it. */
export interface UserRecord {
  /** Assigned by the database, never reused, starting at 1 (0 means "new user" on the wire). */
  readonly id: number;
  /** Unique, case-sensitive as stored; lookups by name are exact. */
  readonly username: string;
  /** The scrypt-encoded password hash (core/crypto/password.ts). */
  readonly passwordHash: string;
  /** The user's RSA public key, PEM. */
  readonly rsaPublicKey: string;
  /** The user's Ed25519 identity public key, url-safe base64 of 32 bytes. */
  readonly identityKey: string;
  /** Registration time, Unix milliseconds. */
  readonly createdAt: number;
}

/** What registering a user needs. */
export interface NewUser {
  readonly username: string;
  readonly passwordHash: string;
  readonly rsaPublicKey: string;
  readonly identityKey: string;
}

/** A resumable login session; the store keeps only a hash of the token. */
export interface SessionRecord {
  readonly userId: number;
  /** Unix milliseconds after which the session is void. */
  readonly expiresAt: number;
}

/** A chat server as listed in servers.txt, plus its last load report. */
export interface ServerRecord {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  /** Connected clients at the last report. */
  readonly clients: number;
  /** Event-loop lag in milliseconds at the last report. */
  readonly lagMs: number;
  /** Unix milliseconds of the last report; 0 if it never reported. */
  readonly reportedAt: number;
}

/** A group with its members. */
export interface GroupRecord {
  readonly id: number;
  readonly name: string;
  readonly adminId: number;
  /** Member user IDs in ascending order; the admin is always a member. */
  readonly members: readonly number[];
  readonly createdAt: number;
}

/** Message kinds the store keeps. The server never looks inside `body`. */
export type MessageKind = "direct" | "group" | "key" | "group_event";

/** A message to persist, with its recipients. */
export interface NewMessage {
  /** Sender's user ID; 0 for server-generated events (group membership changes). */
  readonly senderId: number;
  /**
   * The sender's own ID for this message; with `senderId` it makes resends idempotent.
   * Null for server-generated events.
   */
  readonly clientMsgId: string | null;
  readonly kind: MessageKind;
  /** The group the message belongs to, if any. */
  readonly groupId: number | null;
  /** Opaque body (ciphertext or, for group events, server-made JSON). */
  readonly body: string;
  /**
   * Recipients. A recipient's own `body` overrides the message body (per-member wrapped
   * keys), so one message can carry a different key for each member.
   */
  readonly recipients: readonly { readonly userId: number; readonly body?: string }[];
}

/** The outcome of persisting one {@linkcode NewMessage}. */
export interface SavedMessage {
  /** The server's message ID: increasing in acceptance order across the cluster. */
  readonly id: number;
  /** Acceptance time, Unix milliseconds. */
  readonly createdAt: number;
  /**
   * True when (senderId, clientMsgId) was already stored: nothing new was written and `id`
   * is the original message's.
   */
  readonly duplicate: boolean;
}

/** A message waiting for (or being delivered to) one recipient. */
export interface PendingMessage {
  readonly id: number;
  readonly senderId: number;
  readonly clientMsgId: string | null;
  readonly kind: MessageKind;
  readonly groupId: number | null;
  /** The recipient's body (per-recipient override, else the message body). */
  readonly body: string;
  readonly recipientId: number;
  readonly createdAt: number;
}

/** Which server each online user is connected to. */
export interface PresenceRecord {
  readonly userId: number;
  readonly serverId: number;
}

/** Error codes of {@linkcode StoreError}. */
export const STORE_ERRORS = {
  usernameTaken: "username_taken",
  notFound: "not_found",
  conflict: "conflict",
} as const;

/** A domain error from the store, with a stable code. */
export class StoreError extends Error {
  readonly code: (typeof STORE_ERRORS)[keyof typeof STORE_ERRORS];
  constructor(code: StoreError["code"], message: string) {
    super(message);
    this.name = "StoreError";
    this.code = code;
  }
}

/** The main database, shared by every server process and the balancer. */
export interface Store {
  /** Registers a user. Throws StoreError "username_taken" if the name exists. */
  createUser(user: NewUser): Promise<UserRecord>;
  getUserById(id: number): Promise<UserRecord | null>;
  getUserByName(username: string): Promise<UserRecord | null>;

  /** Stores a session under the SHA-256 hash of its token. */
  createSession(tokenHash: Uint8Array, session: SessionRecord): Promise<void>;
  /** Returns the session if it exists and has not expired at `now`. */
  getSession(tokenHash: Uint8Array, now: number): Promise<SessionRecord | null>;
  deleteSession(tokenHash: Uint8Array): Promise<void>;

  /** Records that `userId` is connected to `serverId` (replacing any earlier server). */
  setPresence(userId: number, serverId: number): Promise<void>;
  /** Removes presence only if it still points at `serverId` (a newer login elsewhere wins). */
  clearPresence(userId: number, serverId: number): Promise<void>;
  /** Removes every presence on a server (on server start, after a crash). */
  clearServerPresence(serverId: number): Promise<void>;
  /** Presence for the given users; users who are offline are absent from the result. */
  getPresence(userIds: readonly number[]): Promise<PresenceRecord[]>;

  /** Inserts or updates a server's address (from servers.txt); keeps its load report. */
  upsertServer(server: { id: number; host: string; port: number }): Promise<void>;
  /** Records a load report; `clients` and `lagMs` are non-negative integers. */
  reportLoad(serverId: number, load: { clients: number; lagMs: number }, at: number): Promise<void>;
  listServers(): Promise<ServerRecord[]>;

  /** Creates a group; the admin is added as a member. Unknown member IDs: StoreError "not_found". */
  createGroup(name: string, adminId: number, memberIds: readonly number[]): Promise<GroupRecord>;
  getGroup(groupId: number): Promise<GroupRecord | null>;
  /** Adds a member; returns false if already a member. */
  addMember(groupId: number, userId: number): Promise<boolean>;
  /** Removes a member; returns false if not a member. */
  removeMember(groupId: number, userId: number): Promise<boolean>;
  /** Groups the user belongs to, by ascending ID. */
  listGroupsOf(userId: number): Promise<GroupRecord[]>;

  /**
   * Persists messages and their deliveries in one transaction (group commit: callers batch).
   * Idempotent on (senderId, clientMsgId). Returns one result per input, in order. When this
   * resolves the messages are durable.
   */
  saveMessages(messages: readonly NewMessage[]): Promise<SavedMessage[]>;
  /** Deliveries still pending for a user, in acceptance order, after `afterId`, at most `limit`. */
  pendingFor(userId: number, afterId: number, limit: number): Promise<PendingMessage[]>;
  /**
   * Deliveries pending for users whose presence is on `serverId`, for messages accepted
   * before `before` (Unix ms), in message-ID order, at most `limit`. The server's redelivery
   * sweep pushes these again: a live push can be lost when the server that accepted a
   * message dies between committing it and pushing it.
   */
  pendingOnServer(serverId: number, before: number, limit: number): Promise<PendingMessage[]>;
  /**
   * Marks deliveries to `userId` as done and removes them. Returns the message IDs that were
   * pending (so the caller sends "delivered" receipts once, not for repeated acks), with senders.
   */
  ackDeliveries(
    userId: number,
    messageIds: readonly number[],
  ): Promise<{ id: number; senderId: number; clientMsgId: string | null }[]>;

  /** Counts for metrics and tests. */
  stats(): Promise<{ users: number; messages: number; pendingDeliveries: number }>;

  /** Closes the database. */
  close(): Promise<void>;
}
