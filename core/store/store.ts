/**
 * The main database port: everything the servers and the balancer share. Two adapters
 * implement it, chosen by `openStore(url)` (`open_store.ts`): embedded SQLite
 * (`sqlite_store.ts`, one machine) and PostgreSQL (`postgres_store.ts`, servers on several
 * machines). Both pass the one conformance suite in `tests/store_conformance.ts`; this file
 * is the contract they keep, and `validate.ts` holds the argument checks they share.
 *
 * The store holds only what servers may see: usernames, password hashes, public keys,
 * group membership, and opaque ciphertext bodies with routing metadata.
 *
 * ## Arguments
 * Every method checks its arguments before touching the database, the same way in both
 * adapters (`validate.ts`): a value of the wrong type is a `TypeError`, a number out of
 * range a `RangeError`, and nothing is written. IDs are positive safe integers; times are
 * Unix milliseconds. Text must be well-formed UTF-16 without NUL characters (SQLite's text
 * API stops at NUL, PostgreSQL rejects it, and both would store a lone surrogate as U+FFFD,
 * so what came in would not be what goes out).
 *
 * ## Errors
 * Domain failures are {@linkcode StoreError}s with a code from {@linkcode STORE_ERRORS}:
 * - `username_taken`: `createUser()` with a name that exists.
 * - `not_found`: a write names a user, group or server that does not exist.
 * - `conflict`: the write contradicts what is stored (a session hash stored twice, removing
 *   a group's admin).
 * - `unavailable`: the database could not be reached or stayed busy past its timeout. It is
 *   the one code with `retryable` true: the same call may succeed later. A write that failed
 *   this way may still have been applied (a connection can drop after the commit), which is
 *   why `saveMessages()` is idempotent on the sender's client message ID.
 *
 * ## Order
 * Message IDs are assigned in acceptance order, and a message is visible to every read that
 * starts after its `saveMessages()` resolved (PostgreSQL's pending reads may hold it back
 * for as long as a write transaction older than it is still running; see below). The pending reads (`pendingFor`,
 * `pendingOnServer`) of both adapters also keep the stronger promise that cursors rely on:
 * **they see messages in ID order.** When one returns message X, every message with a smaller
 * ID that will ever exist is already visible to it. So:
 * - `pendingFor(user, afterId)` never skips a message: one committed after the call cannot
 *   have an ID at or below an ID the call returned;
 * - a recipient's pending messages, and the replay after login that pages through them,
 *   come in acceptance order with no gaps;
 * - each sender's messages reach every recipient in the order they were accepted.
 *
 * SQLite gets this from its single writer. PostgreSQL sequences alone do not (a transaction
 * can take ID 5, another ID 6 and commit first): the PostgreSQL adapter draws message IDs in
 * the order of transaction IDs and reads only messages of transactions older than every one
 * still running, so commits stay parallel and a cursor still never skips; a message may be
 * held back meanwhile, never skipped. See `postgres_store.ts`.
 *
 * ## Retention
 * A message row is kept after its last delivery is acknowledged, so a resend with the same
 * (sender, client message ID) is still recognised as a duplicate; but its body is cleared to
 * `""` once the last delivery is gone (per-recipient bodies go with their deliveries), so the
 * server does not keep ciphertext it no longer needs. SQLite clears it with the last
 * acknowledgement; PostgreSQL at the next `settle()`, which servers call every second (an
 * acknowledgement there touches no message row, so the acks of one group message never
 * wait for each other). A message saved with no recipients is stored with an
 * empty body for the same reason. IDs of users, groups and messages are never reused.
 *
 * ## Concurrency
 * Several instances of one adapter (in one process or many, on one machine or many for
 * PostgreSQL) may use one database at once: IDs never collide, and `createUser()` with one
 * name succeeds once. Every method is async so that network-backed adapters fit.
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

/** Every {@linkcode MessageKind}. */
export const MESSAGE_KINDS: readonly MessageKind[] = ["direct", "group", "key", "group_event"];

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
   * Recipients, each listed once. A recipient's own `body` overrides the message body
   * (per-member wrapped keys), so one message can carry a different key for each member.
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

/** A delivery that an acknowledgement settled. */
export interface AckedDelivery {
  readonly id: number;
  readonly senderId: number;
  readonly clientMsgId: string | null;
}

/** One server a user has at least one live connection on. */
export interface PresenceRecord {
  readonly userId: number;
  readonly serverId: number;
}

/** Error codes of {@linkcode StoreError}; the module documentation says when each occurs. */
export const STORE_ERRORS = {
  usernameTaken: "username_taken",
  notFound: "not_found",
  conflict: "conflict",
  unavailable: "unavailable",
} as const;

/** One of {@linkcode STORE_ERRORS}. */
export type StoreErrorCode = (typeof STORE_ERRORS)[keyof typeof STORE_ERRORS];

/** A domain error from the store, with a stable code. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** True when the same call may succeed later (the database was unreachable or busy). */
  readonly retryable: boolean;
  constructor(code: StoreErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreError";
    this.code = code;
    this.retryable = code === STORE_ERRORS.unavailable;
  }
}

/** The main database, shared by every server process and the balancer. */
export interface Store {
  /**
   * Registers a user with the next user ID. Throws StoreError `username_taken` if the name
   * exists (exact, case-sensitive match).
   */
  createUser(user: NewUser): Promise<UserRecord>;
  /** The user with this ID, or null. */
  getUserById(id: number): Promise<UserRecord | null>;
  /** The user with exactly this username, or null. */
  getUserByName(username: string): Promise<UserRecord | null>;

  /**
   * Stores a session under the SHA-256 hash (32 bytes) of its token, pruning the user's
   * expired sessions. Unknown user: StoreError `not_found`; a hash already stored: StoreError
   * `conflict`.
   */
  createSession(tokenHash: Uint8Array, session: SessionRecord): Promise<void>;
  /** The session if it exists and has not expired at `now`; compares the hash's bytes. */
  getSession(tokenHash: Uint8Array, now: number): Promise<SessionRecord | null>;
  /** Deletes a session; deleting one that does not exist is not an error. */
  deleteSession(tokenHash: Uint8Array): Promise<void>;
  /**
   * Of the given token hashes, those whose session exists and has not expired at `now`, in
   * no particular order (servers check their connections' sessions with it).
   */
  liveSessions(tokenHashes: readonly Uint8Array[], now: number): Promise<Uint8Array[]>;

  /**
   * Records that `userId` has a live connection on `serverId`. A user may be present on
   * several servers at once (several devices or sessions); adding a record that exists is
   * harmless. Unknown user: StoreError `not_found`. Servers keep who is where in memory,
   * learned over the mesh; this copy is what the redelivery sweep reads and what survives a
   * server's crash.
   */
  addPresence(userId: number, serverId: number): Promise<void>;
  /** Removes the record of `userId` on `serverId` only, leaving other servers' records. */
  removePresence(userId: number, serverId: number): Promise<void>;
  /** Removes every presence on a server (on server start, after a crash). */
  clearServerPresence(serverId: number): Promise<void>;
  /**
   * Presence of the given users, by ascending user ID then server ID; users who are offline
   * (or unknown) are absent. Any number of IDs, repeats allowed.
   */
  getPresence(userIds: readonly number[]): Promise<PresenceRecord[]>;

  /** Inserts or updates a server's address (from servers.txt); keeps its load report. */
  upsertServer(server: { id: number; host: string; port: number }): Promise<void>;
  /**
   * Records a load report; `clients` and `lagMs` are non-negative integers. Unknown server:
   * StoreError `not_found`.
   */
  reportLoad(serverId: number, load: { clients: number; lagMs: number }, at: number): Promise<void>;
  /** Every known server, by ascending ID. */
  listServers(): Promise<ServerRecord[]>;

  /**
   * Creates a group with the next group ID; the admin is added as a member and members are
   * deduplicated. Unknown admin or member IDs: StoreError `not_found` naming them.
   */
  createGroup(name: string, adminId: number, memberIds: readonly number[]): Promise<GroupRecord>;
  /** A group with its members, or null. */
  getGroup(groupId: number): Promise<GroupRecord | null>;
  /** Adds a member; false if already a member. Unknown group or user: StoreError `not_found`. */
  addMember(groupId: number, userId: number): Promise<boolean>;
  /**
   * Removes a member; false if not a member (or no such group). Removing the admin is
   * StoreError `conflict`: the admin is always a member.
   */
  removeMember(groupId: number, userId: number): Promise<boolean>;
  /** Groups the user belongs to, by ascending ID, each with all its members. */
  listGroupsOf(userId: number): Promise<GroupRecord[]>;

  /**
   * Persists messages and their deliveries in one transaction (group commit: callers batch).
   * Idempotent on (senderId, clientMsgId), also within one batch. Returns one result per
   * input, in order; new messages get increasing IDs in input order. When this resolves the
   * messages are durable. A malformed message rejects the whole batch before anything is
   * written; an unknown recipient or group rejects it with StoreError `not_found` and saves
   * nothing.
   */
  saveMessages(messages: readonly NewMessage[]): Promise<SavedMessage[]>;
  /**
   * Deliveries still pending for a user with message IDs above `afterId`, in ID (acceptance)
   * order, at most `limit`. See "Order" above: paging with the last ID seen never skips one.
   */
  pendingFor(userId: number, afterId: number, limit: number): Promise<PendingMessage[]>;
  /**
   * Deliveries pending for users with a presence record on `serverId`, for messages accepted
   * before `before` (Unix ms), in message-ID order, at most `limit`. The server's redelivery
   * sweep pushes these again: a live push is lost when the server that accepted a message
   * dies between committing it and pushing it, or a mesh link is down.
   */
  pendingOnServer(serverId: number, before: number, limit: number): Promise<PendingMessage[]>;
  /**
   * Marks deliveries to `userId` as done and removes them. Returns, by ascending ID, the
   * messages that were pending, with senders (so the caller sends "delivered" receipts once,
   * not for repeated acks); IDs not pending (already acked, never addressed to this user,
   * repeated) are left out. Clears a message's body once its last delivery is acked.
   */
  ackDeliveries(userId: number, messageIds: readonly number[]): Promise<AckedDelivery[]>;

  /**
   * Clears the bodies of messages whose every delivery has been acknowledged since the last
   * call, at most `limit` of them (servers call it every second). Returns how many were
   * cleared; 0 when another caller is settling right now (one at a time per database) or
   * when the adapter already clears bodies at acknowledgement.
   */
  settle(limit: number): Promise<number>;

  /** Counts for metrics and tests. */
  stats(): Promise<{ users: number; messages: number; pendingDeliveries: number }>;

  /**
   * Closes the store after the writes already started; closing twice is harmless. Every
   * other method then rejects with a TypeError.
   */
  close(): Promise<void>;
}
