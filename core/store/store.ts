/**
 * The main database port: everything the servers and the balancer share. Two adapters
 * implement it, chosen by `openStore(url)` (`open_store.ts`): embedded SQLite
 * (`sqlite/sqlite_store.ts`, one machine) and PostgreSQL (`postgres/postgres_store.ts`, servers on several
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
 * - `username_taken`: `createUser()` with a name that exists, ignoring case (see "Usernames").
 * - `not_found`: a write names a user, group or server that does not exist (a deleted group
 *   does not exist).
 * - `conflict`: the write contradicts what is stored (a session hash stored twice, removing
 *   a group's admin, a group change by a user who is not its admin, a non-member made admin,
 *   a device list version that does not extend the newest one, a link slot name in use, a
 *   link step out of turn).
 * - `too_many`: `setContacts()` would leave a user with more relations than allowed, or
 *   `appendLinkStep()` a slot with more than {@linkcode LINK_MAX_STEPS} steps.
 * - `unavailable`: the database could not be reached or stayed busy past its timeout. It is
 *   the one code with `retryable` true: the same call may succeed later. A write that failed
 *   this way may still have been applied (a connection can drop after the commit), which is
 *   why `saveMessages()` is idempotent on the sender's client message ID.
 *
 * ## Usernames
 * Usernames are unique **ignoring the case of ASCII letters**: once `alice` exists, `Alice`
 * and `ALICE` are taken, and `getUserByName("ALICE")` finds `alice`. The user keeps the
 * spelling they registered with. Only A-Z and a-z fold (both adapters compare
 * `lower(username)` with ASCII-only rules, whatever the database's locale); other characters
 * compare exactly. Unicode normalisation (NFKC) is the caller's: the server normalises names
 * before it registers or looks them up (`core/protocol/username.ts`). The check is atomic
 * (a unique index on the folded name): of concurrent registrations of `Bob` and `bob`, on
 * any instances or machines, exactly one succeeds.
 *
 * Databases from before this rule (SQLite schema 3, PostgreSQL schema 4) may hold names
 * equal ignoring case. Migrating keeps every one of them: the first registered of each set
 * keeps the folded name (rank 0) and the others get ranks 1, 2, ... in ID order, so the
 * unique index is on (folded name, rank) and every new name takes rank 0. Such a later twin
 * can still log in by its exact spelling (`getUserByName` prefers an exact match), and no new
 * twin can be made.
 *
 * ## Deleted groups
 * `deleteGroup()` removes a group's members and leaves a tombstone: the group no longer exists
 * for any method that takes a group (`getGroup()` is null, `addMember()` `not_found`, ...),
 * its name is cleared, and its ID is never reused. Messages that name it stay deliverable:
 * those pending when it was deleted reach their recipients as usual, and `saveMessages()`
 * still accepts its ID (the server stores the event that announces the deletion after it).
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
 * held back meanwhile, never skipped. See `postgres/postgres_store.ts`.
 *
 * ## Bounds on what waits
 * A recipient may have at most so many deliveries, and so many bytes of bodies (UTF-8 of the
 * body that recipient gets), pending at once: {@linkcode DEFAULT_PENDING_BOUNDS} unless the
 * caller of `saveMessages()` passes others. Each adapter keeps a running total per recipient,
 * changed in the same transaction as the deliveries, and checks and adds to it under a lock
 * on that recipient's total, so concurrent batches to one recipient take turns and never
 * overshoot the bound between them. Within a batch, new messages are counted in input order
 * (refused ones included, so a batch errs on the side of refusing):
 * - a recipient whose total plus the batch's messages to them so far (this one included)
 *   passes either bound is **full** for this message: the message is stored for its other
 *   recipients and `fullRecipients` names the ones left out;
 * - a message whose every recipient is full is **refused**: nothing is stored for it (`id`
 *   0), so the same (sender, client message ID) may be saved again later.
 * Server-made messages (sender 0, group events) obey the same rule.
 *
 * ## Retention
 * A message row lives while any delivery of it is pending; per-recipient bodies go with their
 * deliveries. A delivery ends when its recipient acknowledges it or when it expires
 * (`expirePending()`, which servers call with their expiry age). Once a message has no delivery
 * left its row is deleted: by SQLite with the last acknowledgement or expiry, by PostgreSQL at
 * the next `settle()` (an acknowledgement there touches no message row, so the acks of one
 * group message never wait for each other). A message saved with no recipient keeps no row.
 * What idempotency needs survives the row: (sender, client message ID, message ID, acceptance
 * time). So a resend is recognised as a duplicate, with the original ID and time, while the
 * message is pending and for at least `idempotencyMs` (default
 * {@linkcode DEFAULT_IDEMPOTENCY_MS}) after it was accepted; `settle()` forgets older records.
 * IDs of users, groups and messages are never reused.
 *
 * ## Rate limits
 * `takeAttempt()` is a cluster-wide token bucket per key ({@linkcode RateLimit}): each key
 * allows `burst` attempts at once and one more every `intervalMs` after that (the generic cell
 * rate algorithm: the store keeps one time per key, the "theoretical arrival time" of the next
 * attempt). A call takes one attempt from every key it names, or from none: it is atomic
 * across keys, callers, server processes and machines. State that has run out (a bucket full
 * again) is forgotten by `settle()`.
 *
 * ## Contacts and blocks
 * Each user may tell the server what other users are to them (`setContacts()`): a contact
 * (they wrote to them or accepted them) or blocked; anyone else is nothing. The server
 * tells a user's online state only to their contacts and sends no delivery receipts from a
 * user to someone they blocked. A user holds at most a given number of these relations
 * together (the caller's bound): a change that would pass it is refused whole.
 *
 * ## Device lists
 * Each account's signed device list (docs/CRYPTO.md, "The device list") is kept as a chain of
 * versions 1, 2, 3, ... with no gaps. The store never reads a list's body (the server checks
 * the signatures before it calls `appendDeviceList()`); it keeps the chain's two links, each
 * version's hash and the hash of the version before, and appends only a version that extends
 * the newest one: the next number and the newest one's hash as `prevHash`. The check and the
 * append are one atomic step, so of two devices that append the same version at once (on any
 * instances or machines), exactly one succeeds and the other gets `conflict`, fetches the new
 * head and tries again. Versions are never changed or deleted.
 *
 * Sessions may be bound to one device of their account (`SessionRecord.deviceId`):
 * `deleteDeviceSessions()` ends every session of an unlinked device at once.
 *
 * ## Link slots
 * A link slot is the short-lived meeting point of a new device and a logged-in one while they
 * link (docs/CRYPTO.md, "Linking a device"): a 4-character name, and an ordered list of opaque
 * steps, step 0 being the new device's offer. The server decides who may write which step; the
 * store makes each step written once and in order (`appendLinkStep()` with the index it
 * expects: of concurrent writers of one index, exactly one succeeds, the others get
 * `conflict`). A slot lives until its `expiresAt` (it is live while `now < expiresAt`, as
 * sessions are); an expired slot is as good as missing, its name may be opened again, and
 * `settle()` deletes expired slots with their steps, so they do not pile up. Slots hold only
 * what the server may see anyway (CPace messages, public keys, sealed hand-over parts).
 *
 * ## Prekeys
 * Each device of an account keeps its prekeys here (issue 22: the handshake that starts a
 * session between two devices): a bundle (its signed prekeys, opaque to the store) and a queue
 * of one-time prekeys, each opaque too. `takePrekeys()` hands the bundle out with the oldest
 * one-time prekey and removes that one, atomically: of concurrent takers, each gets a different
 * one, so a one-time prekey serves one session; with none left the bundle alone is handed out
 * (its last-resort prekey serves). A device holds at most {@linkcode ONE_TIME_PREKEYS_MAX}.
 *
 * ## Concurrency
 * Several instances of one adapter (in one process or many, on one machine or many for
 * PostgreSQL) may use one database at once: IDs never collide, `createUser()` with one
 * name (ignoring case) succeeds once, and group changes (`addMember()`, `removeMember()`,
 * `setGroupAdmin()`, `deleteGroup()`) take effect one at a time per group, each checking its
 * conditions against what the one before left. Every method is async so that
 * network-backed adapters fit.
 *
 * @module
 */

/** A registered user as the store keeps it. */
export interface UserRecord {
  /** Assigned by the database, never reused, starting at 1 (0 means "new user" on the wire). */
  readonly id: number;
  /**
   * As registered (case kept); unique ignoring ASCII case (see "Usernames" above), and
   * `getUserByName()` ignores case too.
   */
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
  /** The name to register, already normalised by the caller (see "Usernames" above). */
  readonly username: string;
  /** The scrypt-encoded password hash (core/crypto/password.ts). */
  readonly passwordHash: string;
  /** The user's RSA public key, PEM. */
  readonly rsaPublicKey: string;
  /** The user's Ed25519 identity public key, url-safe base64 of 32 bytes. */
  readonly identityKey: string;
}

/** A resumable login session; the store keeps only a hash of the token. */
export interface SessionRecord {
  /** The user the session logs in. */
  readonly userId: number;
  /** Unix milliseconds after which the session is void. */
  readonly expiresAt: number;
  /**
   * The device of the account that logged in (see "Device lists" above). Absent for a
   * password session of an account without devices: `getSession()` then returns the record
   * without this field.
   */
  readonly deviceId?: number;
}

/** One version of a user's device list, to append (see "Device lists" above). */
export interface NewDeviceList {
  /** The account the list belongs to. */
  readonly userId: number;
  /** 1 for the first list, then exactly one more than the newest stored version. */
  readonly version: number;
  /** The newest stored version's `hash`; "" for version 1. */
  readonly prevHash: string;
  /**
   * Url-safe base64 (no padding) of the SHA-256 of this version's signed bytes: 43
   * characters.
   */
  readonly hash: string;
  /**
   * The signed list: JSON text the store never reads, at most
   * {@linkcode DEVICE_LIST_MAX_BYTES} of UTF-8.
   */
  readonly body: string;
  /** When the server accepted it, Unix milliseconds. */
  readonly createdAt: number;
}

/** A stored version of a user's device list: what was appended, unchanged. */
export type DeviceListRecord = NewDeviceList;

/** A live link slot (see "Link slots" above). */
export interface LinkSlotRecord {
  /** The slot's name: 4 characters of 0-9 and A-Z. */
  readonly slot: string;
  /** The steps written so far, in order; step 0 is the offer the slot was opened with. */
  readonly steps: readonly string[];
  /** When it was opened, Unix milliseconds (the `now` of `openLinkSlot()`). */
  readonly createdAt: number;
  /** Unix milliseconds from which it no longer exists. */
  readonly expiresAt: number;
}

/** Most UTF-8 bytes of a device list's body. */
export const DEVICE_LIST_MAX_BYTES = 64 * 1024;
/** Most versions `deviceLists()` returns per call (its `limit`). */
export const DEVICE_LISTS_PAGE_MAX = 64;
/** Most UTF-8 bytes of a link slot's offer (its step 0). */
export const LINK_OFFER_MAX_BYTES = 16 * 1024;
/** Most UTF-8 bytes of one later link step. */
export const LINK_STEP_MAX_BYTES = 192 * 1024;
/** Most steps of one link slot, the offer included. */
export const LINK_MAX_STEPS = 80;
/** Most UTF-8 bytes of a device's prekey bundle. */
export const PREKEY_BUNDLE_MAX_BYTES = 16 * 1024;
/** Most UTF-8 bytes of one one-time prekey. */
export const ONE_TIME_PREKEY_MAX_BYTES = 4 * 1024;
/** Most one-time prekeys one `putPrekeys()` adds. */
export const ONE_TIME_PREKEYS_PER_PUT = 100;
/** Most one-time prekeys stored for one device. */
export const ONE_TIME_PREKEYS_MAX = 200;

/** What `takePrekeys()` hands out: a device's bundle and one of its one-time prekeys. */
export interface TakenPrekeys {
  /** The device's prekey bundle (signed prekeys, opaque to the store). */
  readonly bundle: string;
  /** The oldest one-time prekey, now removed; null when none was left (the last resort). */
  readonly oneTime: string | null;
  /** How many one-time prekeys are left. */
  readonly remaining: number;
}

/** A chat server as listed in servers.txt, plus its last load report. */
export interface ServerRecord {
  /** The server's ID, as in servers.txt. */
  readonly id: number;
  /** The host clients connect to, as in servers.txt. */
  readonly host: string;
  /** The port clients connect to, as in servers.txt. */
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
  /** Assigned by the database, never reused. */
  readonly id: number;
  /** The name it was created with; not unique. */
  readonly name: string;
  /** The member who may change the group. */
  readonly adminId: number;
  /** Member user IDs in ascending order; the admin is always a member. */
  readonly members: readonly number[];
  /** Creation time, Unix milliseconds. */
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
  /** What the message is; the store keeps it for routing and never reads `body`. */
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
  /**
   * The server's message ID: increasing in acceptance order across the cluster. 0 when the
   * message was refused because every recipient was full (see `fullRecipients`).
   */
  readonly id: number;
  /** Acceptance time, Unix milliseconds; 0 when refused. */
  readonly createdAt: number;
  /**
   * True when (senderId, clientMsgId) was already stored: nothing new was written and `id`
   * is the original message's.
   */
  readonly duplicate: boolean;
  /**
   * Recipients left out because they had reached their pending bound (see "Bounds on what
   * waits" above), ascending. Absent when every recipient got the message, and on duplicates.
   */
  readonly fullRecipients?: readonly number[];
}

/** How much may wait for one recipient: pending deliveries and their body bytes (UTF-8). */
export interface PendingBounds {
  /** Most pending deliveries per recipient. */
  readonly messages: number;
  /** Most bytes of pending bodies per recipient. */
  readonly bytes: number;
}

/**
 * The bounds `saveMessages()` applies when given none: 10,000 pending messages or 64 MiB of
 * pending bodies per recipient, whichever comes first.
 */
export const DEFAULT_PENDING_BOUNDS: PendingBounds = {
  messages: 10_000,
  bytes: 64 * 1024 * 1024,
};

/**
 * How long a resend is recognised as a duplicate after the original was accepted, at least:
 * 7 days (for as long as the message is pending, in any case).
 */
export const DEFAULT_IDEMPOTENCY_MS = 7 * 24 * 3600 * 1000;

/** What `settle()` may be told (tests move the clock; servers use the defaults). */
export interface SettleOptions {
  /** The current time, Unix milliseconds (default `Date.now()`). */
  readonly now?: number;
  /** How long idempotency records are kept (default {@linkcode DEFAULT_IDEMPOTENCY_MS}). */
  readonly idempotencyMs?: number;
}

/**
 * One token bucket for `takeAttempt()`: `burst` attempts at once, then one more every
 * `intervalMs` (so `burst` per `burst * intervalMs` sustained). The same key must always come
 * with the same numbers.
 */
export interface RateLimit {
  /** What is limited, e.g. `login:addr:10.0.0.7` (1 to 512 characters). */
  readonly key: string;
  /** Attempts allowed at once, 1 to 1,000,000. */
  readonly burst: number;
  /** Milliseconds per further attempt, 1 to 86,400,000 (one day). */
  readonly intervalMs: number;
}

/** A message waiting for (or being delivered to) one recipient. */
export interface PendingMessage {
  /** The server's message ID (see "Order" above). */
  readonly id: number;
  /** Sender's user ID; 0 for server-generated events. */
  readonly senderId: number;
  /** The sender's own ID for the message; null for server-generated events. */
  readonly clientMsgId: string | null;
  /** What the message is. */
  readonly kind: MessageKind;
  /** The group the message belongs to, if any. */
  readonly groupId: number | null;
  /** The recipient's body (per-recipient override, else the message body). */
  readonly body: string;
  /** The user this delivery is for. */
  readonly recipientId: number;
  /** Acceptance time, Unix milliseconds. */
  readonly createdAt: number;
}

/** A delivery that an acknowledgement settled. */
export interface AckedDelivery {
  /** The acknowledged message's ID. */
  readonly id: number;
  /** Its sender, who may be told it was delivered; 0 for server-generated events. */
  readonly senderId: number;
  /** The sender's own ID for the message; null for server-generated events. */
  readonly clientMsgId: string | null;
}

/** What one user is to another who told the server (see "Contacts and blocks" above). */
export type ContactRelation = "contact" | "blocked";

/** One change of `setContacts()`: `none` forgets the relation. */
export interface ContactChange {
  /** The other user. */
  readonly userId: number;
  /** What they are to the owner from now on (`none`: nothing, the row goes). */
  readonly state: ContactRelation | "none";
}

/** One server a user has at least one live connection on. */
export interface PresenceRecord {
  /** The connected user. */
  readonly userId: number;
  /** The server they are connected to. */
  readonly serverId: number;
}

/** Error codes of {@linkcode StoreError}; the module documentation says when each occurs. */
export const STORE_ERRORS = {
  usernameTaken: "username_taken",
  notFound: "not_found",
  conflict: "conflict",
  unavailable: "unavailable",
  tooMany: "too_many",
} as const;

/** One of {@linkcode STORE_ERRORS}. */
export type StoreErrorCode = (typeof STORE_ERRORS)[keyof typeof STORE_ERRORS];

/** A domain error from the store, with a stable code. */
export class StoreError extends Error {
  /** What went wrong, the same in both adapters; callers branch on it. */
  readonly code: StoreErrorCode;
  /** True when the same call may succeed later (the database was unreachable or busy). */
  readonly retryable: boolean;
  /** Makes an error with `code`; `retryable` follows from it. */
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
   * Registers a user with the next user ID. Throws StoreError `username_taken` if a user
   * with the same name ignoring ASCII case exists (see "Usernames" above); its message names
   * the existing spelling when it differs. Atomic: of concurrent calls with names equal
   * ignoring case, exactly one succeeds.
   */
  createUser(user: NewUser): Promise<UserRecord>;
  /** The user with this ID, or null. */
  getUserById(id: number): Promise<UserRecord | null>;
  /**
   * The user whose name equals `username` ignoring ASCII case, or null. Where a database
   * from before that rule holds several (see "Usernames" above), the one spelled exactly so,
   * else the first registered.
   */
  getUserByName(username: string): Promise<UserRecord | null>;

  /**
   * Stores a session under the SHA-256 hash (32 bytes) of its token, pruning the user's
   * expired sessions. Unknown user: StoreError `not_found`; a hash already stored: StoreError
   * `conflict`.
   */
  createSession(tokenHash: Uint8Array, session: SessionRecord): Promise<void>;
  /**
   * The session if it exists and has not expired at `now`; compares the hash's bytes. Its
   * `deviceId` is present only when the session was created with one.
   */
  getSession(tokenHash: Uint8Array, now: number): Promise<SessionRecord | null>;
  /** Deletes a session; deleting one that does not exist is not an error. */
  deleteSession(tokenHash: Uint8Array): Promise<void>;
  /**
   * Deletes every session of device `deviceId` of `userId` (expired ones too) and returns
   * their token hashes, in no particular order, so the caller can end those connections.
   * None is not an error: the result is empty.
   */
  deleteDeviceSessions(userId: number, deviceId: number): Promise<Uint8Array[]>;
  /**
   * Deletes every session of `userId` bound to no device (password sessions) and returns
   * their token hashes: the account's first device list ends them.
   */
  deleteUnboundSessions(userId: number): Promise<Uint8Array[]>;
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
  /** A group with its members, or null (also for a deleted group). */
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
   * Hands group `groupId` from its admin `adminId` to the member `newAdminId`, atomically:
   * the admin is still `adminId` and `newAdminId` is still a member when it happens, and no
   * concurrent `removeMember()` can remove the new admin. Returns the group after the
   * change; `newAdminId` equal to `adminId` changes nothing. Unknown or deleted group:
   * StoreError `not_found`; `adminId` not its admin, or `newAdminId` not a member: StoreError
   * `conflict`.
   */
  setGroupAdmin(groupId: number, adminId: number, newAdminId: number): Promise<GroupRecord>;
  /**
   * Deletes group `groupId` if `adminId` is its admin, atomically, and returns it as it was
   * (with the members it had). See "Deleted groups" above for what remains. Unknown or
   * already deleted group: StoreError `not_found`; `adminId` not its admin: StoreError
   * `conflict`.
   */
  deleteGroup(groupId: number, adminId: number): Promise<GroupRecord>;

  /**
   * Persists messages and their deliveries in one transaction (group commit: callers batch).
   * Idempotent on (senderId, clientMsgId), also within one batch. Returns one result per
   * input, in order; new messages get increasing IDs in input order. When this resolves the
   * messages are durable. Recipients past `bounds` (default
   * {@linkcode DEFAULT_PENDING_BOUNDS}) are left out, and a message whose every recipient is
   * full is refused (see "Bounds on what waits" above). A malformed message rejects the whole
   * batch before anything is written; an unknown recipient or group rejects it with
   * StoreError `not_found` and saves nothing.
   */
  saveMessages(messages: readonly NewMessage[], bounds?: PendingBounds): Promise<SavedMessage[]>;
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
   * repeated, expired) are left out. A message left with no delivery is deleted (see
   * "Retention" above).
   */
  ackDeliveries(userId: number, messageIds: readonly number[]): Promise<AckedDelivery[]>;

  /**
   * Drops pending deliveries of messages accepted before `before` (Unix ms), as if they had
   * been acknowledged but without receipts, at most `limit` per call (servers call it until it
   * returns less). Their recipients' pending totals shrink with them. Returns how many it
   * dropped; 0 when another caller is expiring right now (PostgreSQL: one at a time).
   */
  expirePending(before: number, limit: number): Promise<number>;

  /**
   * The periodic clean-up (servers call it every second): deletes the rows of messages whose
   * last delivery ended since the last call (PostgreSQL; SQLite does it at once), at most
   * `limit`; forgets idempotency records older than `idempotencyMs`, rate-limit state that
   * has run out, and link slots expired at `now` with their steps, at most `limit` of each.
   * Returns how many message rows it deleted; 0 when another caller is settling right now
   * (one at a time per database).
   */
  settle(limit: number, opts?: SettleOptions): Promise<number>;

  /**
   * Takes one attempt from each bucket, atomically: if every bucket has one left at `now`,
   * takes them all and returns 0; otherwise takes none and returns the milliseconds until
   * every bucket would have one (the longest wait). Keys must differ; an empty list returns
   * 0. See "Rate limits" above.
   */
  takeAttempt(limits: readonly RateLimit[], now: number): Promise<number>;

  /**
   * Gives back one attempt to each bucket (a login that succeeded counts as no failure);
   * buckets already full, or unknown, stay as they are.
   */
  refundAttempt(limits: readonly RateLimit[], now: number): Promise<void>;

  /**
   * Sets what each user in `changes` is to `ownerId` ("contact" or "blocked"; "none" forgets
   * it), atomically: all the changes or none. User IDs must differ and not be `ownerId`
   * (RangeError). Unknown owner or users: StoreError `not_found` naming them. A change that
   * would leave `ownerId` with more than `max` relations, and more than before, is refused
   * with StoreError `too_many` (see "Contacts and blocks" above).
   */
  setContacts(ownerId: number, changes: readonly ContactChange[], max: number): Promise<void>;
  /** What `userId` is to `ownerId`: "contact", "blocked", or null when nothing. */
  contactState(ownerId: number, userId: number): Promise<ContactRelation | null>;
  /** The users `ownerId` has in `state`, by ascending ID. */
  listContacts(ownerId: number, state: ContactRelation): Promise<number[]>;

  /**
   * Appends the next version of a user's device list, atomically (see "Device lists" above):
   * `version` must be one more than the newest stored version (1 when there is none) and
   * `prevHash` that version's hash ("" for version 1), else StoreError `conflict`, whose
   * message names the newest version, and nothing is written. Unknown user: StoreError
   * `not_found`.
   */
  appendDeviceList(list: NewDeviceList): Promise<void>;
  /**
   * The user's device list versions from `fromVersion` on, ascending, at most `limit` (1 to
   * {@linkcode DEVICE_LISTS_PAGE_MAX}); empty for a user with none (or no such user).
   */
  deviceLists(userId: number, fromVersion: number, limit: number): Promise<DeviceListRecord[]>;
  /** The newest version of the user's device list, or null when there is none. */
  latestDeviceList(userId: number): Promise<DeviceListRecord | null>;

  /**
   * Opens link slot `slot` (4 characters of 0-9 and A-Z) with step 0 `offer` (JSON text of
   * at most {@linkcode LINK_OFFER_MAX_BYTES}), live from `now` until `expiresAt` (later than
   * `now`). A live slot of that name: StoreError `conflict`, and nothing changes; an expired
   * one is replaced, its steps dropped. See "Link slots" above.
   */
  openLinkSlot(slot: string, offer: string, now: number, expiresAt: number): Promise<void>;
  /**
   * Appends step `index` to the live slot `slot`, atomically: `index` must be the number of
   * steps it holds (so never 0, the offer's), so each step is written once and in order (of
   * concurrent writers of one index, one succeeds), else StoreError `conflict`. No live slot
   * at `now`: StoreError `not_found`. A slot holding {@linkcode LINK_MAX_STEPS} steps
   * already: StoreError `too_many`. `value` is at most {@linkcode LINK_STEP_MAX_BYTES} of
   * UTF-8.
   */
  appendLinkStep(slot: string, index: number, value: string, now: number): Promise<void>;
  /** The slot with its steps if it exists and is live at `now`, else null. */
  linkSlot(slot: string, now: number): Promise<LinkSlotRecord | null>;
  /** Deletes a slot and its steps; deleting one that does not exist is not an error. */
  deleteLinkSlot(slot: string): Promise<void>;

  // Prekeys (issue 22; see "Prekeys" above).
  /**
   * Stores device `deviceId`'s prekey bundle (replacing the one before) and appends the
   * one-time prekeys `oneTime` (at most {@linkcode ONE_TIME_PREKEYS_PER_PUT}); with `replace`
   * the ones stored before are dropped first. Returns how many one-time prekeys the device
   * has now. `not_found` for an unknown user; `too_many` past
   * {@linkcode ONE_TIME_PREKEYS_MAX} (nothing is stored then).
   */
  putPrekeys(
    userId: number,
    deviceId: number,
    bundle: string,
    oneTime: readonly string[],
    replace: boolean,
    now: number,
  ): Promise<number>;
  /**
   * Hands out device `deviceId`'s bundle with its oldest one-time prekey, which is removed:
   * of concurrent calls, each gets another one. Null when the device has no bundle.
   */
  takePrekeys(userId: number, deviceId: number): Promise<TakenPrekeys | null>;
  /** How many one-time prekeys device `deviceId` has left; null when it has no bundle. */
  prekeyCount(userId: number, deviceId: number): Promise<number | null>;
  /** Deletes device `deviceId`'s bundle and one-time prekeys (it was unlinked). */
  deletePrekeys(userId: number, deviceId: number): Promise<void>;

  /** Counts for metrics and tests. */
  stats(): Promise<{ users: number; messages: number; pendingDeliveries: number }>;

  /**
   * Closes the store after the writes already started; closing twice is harmless. Every
   * other method then rejects with a TypeError.
   */
  close(): Promise<void>;
}
