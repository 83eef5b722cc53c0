/**
 * The main database on `node:sqlite`: a {@linkcode Store} that several server processes and
 * the balancer can share through one database file. Its calls are synchronous underneath, so
 * `openStore()` runs it in a worker thread (`worker_store.ts`) for servers and the balancer.
 *
 * Why it is safe across processes:
 * - WAL journal, so readers never block the writer and the writer never blocks readers.
 * - Every write goes through the writer (`writer.ts`): a writer lock file, `PATH-writer.lock`,
 *   locked (flock) around every write transaction, waited for without blocking the event loop
 *   and handed over by the kernel, so writers take turns; group commit (the writes queued
 *   meanwhile share one transaction and one fsync) and one savepoint per write.
 * - `busy_timeout` as the fallback when the lock file is not enough (a writer outside
 *   FastChat, or the lock file held longer than the timeout): the process then waits in
 *   SQLite, blocking its event loop, and fails with "database is locked" after the timeout.
 * - `BEGIN IMMEDIATE` for every write transaction (the writer's): the write lock is taken up front, so two
 *   processes never both hold read snapshots and then deadlock trying to upgrade them.
 *   Transactions never `await`, so they stay short.
 * - Durable: the WAL is flushed (fdatasync) after every commit of a durable write, outside
 *   the write lock and shared by the commits that come meanwhile (`wal_sync.ts`), so a
 *   message is on disk before `saveMessages()` resolves and the sender is told it was
 *   accepted. Acknowledgements and clean-ups need no flush of their own (lost in a power cut,
 *   they are done again). The connection is in `synchronous=NORMAL`; were the WAL file not
 *   there to flush, it would stay in `FULL`, which fsyncs inside every commit.
 * - IDs come from `INTEGER PRIMARY KEY AUTOINCREMENT` inside those write transactions, so
 *   they are unique, increasing in acceptance order across processes, and never reused.
 *   Writers take turns, so IDs also become visible in ID order (the "Order" promise in
 *   `store.ts`).
 * - Schema creation and migration run in a `BEGIN IMMEDIATE` transaction keyed on
 *   `PRAGMA user_version` (`schema.ts`), so several processes may start at once.
 * - A write that stays blocked past `busyTimeoutMs` fails with StoreError `unavailable`.
 * - Pending bounds, rate limits and the deletion of delivered messages are read-then-write
 *   inside those write transactions: being the only writer makes them atomic across processes.
 *
 * One limit of sharing a file between processes: a process stopped (SIGSTOP, a debugger)
 * in the middle of a write transaction holds SQLite's write lock until it runs again, and
 * every other writer waits for it. Clusters that must survive a hung server run on
 * PostgreSQL, whose adapter never leaves a transaction open between round trips.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  deviceListConflictError,
  deviceListFromRow,
  groupRows,
  linkSlotTakenError,
  linkStepConflictError,
  missingRecipientsError,
  noDeviceListUserError,
  noGroupError,
  noLinkSlotError,
  noPrekeyUserError,
  notGroupAdminError,
  notGroupMemberError,
  pendingFromRow,
  sessionFromRow,
  tooManyContactsError,
  tooManyLinkStepsError,
  tooManyPrekeysError,
  unknownContactsError,
  userFromRow,
  usernameTakenError,
  utf8Bytes,
} from "../records.ts";
import { isBusyError, isForeignKeyError, retryWhileBusy, unavailableError } from "./failures.ts";
import { migrateSqlite } from "./schema.ts";
import { WalSync } from "./wal_sync.ts";
import { SqliteWriter } from "./writer.ts";
import { bucketRefund, bucketTake, bucketWait } from "../token_bucket.ts";
import {
  type AckedDelivery,
  type ContactChange,
  type ContactRelation,
  type DeviceListRecord,
  type GroupRecord,
  LINK_MAX_STEPS,
  type LinkSlotRecord,
  type NewDeviceList,
  type NewMessage,
  type NewUser,
  ONE_TIME_PREKEYS_MAX,
  type PendingBounds,
  type PendingMessage,
  type PresenceRecord,
  type RateLimit,
  type SavedMessage,
  type ServerRecord,
  type SessionRecord,
  type SettleOptions,
  type Store,
  StoreError,
  type TakenPrekeys,
  type UserRecord,
} from "../store.ts";
import {
  checkBounds,
  checkContacts,
  checkContactState,
  checkCount,
  checkDeviceListsPage,
  checkId,
  checkIds,
  checkLimit,
  checkLinkOpen,
  checkLinkSlotName,
  checkLinkStep,
  checkLoad,
  checkMessages,
  checkNewDeviceList,
  checkNewUser,
  checkPutPrekeys,
  checkRateLimits,
  checkServer,
  checkSession,
  checkSettleOptions,
  checkText,
  checkTokenHash,
  uniqueSorted,
} from "../validate.ts";

/** Options for {@linkcode openSqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * How long a write waits for other processes' writes, in milliseconds: first for the
   * writer lock file (without blocking the event loop), then, past that, for SQLite's lock
   * before failing with "database is locked". Default 5000.
   */
  readonly busyTimeoutMs?: number;
  /**
   * `PRAGMA synchronous`. Default `"full"`: every commit is fsynced, which the server needs
   * because it acknowledges messages once they are saved. `"normal"` is faster but a power
   * loss can drop the last commits; use it only for throwaway databases and benchmarks.
   */
  readonly synchronous?: "full" | "normal";
}

export { SQLITE_SCHEMA_VERSION } from "./schema.ts";

const _SQL = {
  begin: "BEGIN",
  commit: "COMMIT",
  // Any unique index refusing the name (the folded one included) makes this insert nothing.
  insertUser: `INSERT INTO users (username, password_hash, rsa_public_key, identity_key, created_at)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
  userById: "SELECT * FROM users WHERE id = ?",
  // lower() folds only ASCII letters in SQLite; users_by_folded_name serves the search.
  userByName: `SELECT * FROM users WHERE lower(username) = lower(?)
    ORDER BY username = ? DESC, name_rank LIMIT 1`,
  userExists: "SELECT 1 AS x FROM users WHERE id = ?",
  missingUsers: `SELECT DISTINCT j.value AS id FROM json_each(?) AS j
    WHERE NOT EXISTS (SELECT 1 FROM users WHERE users.id = j.value) ORDER BY j.value`,
  missingGroups: `SELECT DISTINCT j.value AS id FROM json_each(?) AS j
    WHERE NOT EXISTS (SELECT 1 FROM groups WHERE groups.id = j.value) ORDER BY j.value`,
  pruneSessions: "DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?",
  insertSession: `INSERT INTO sessions (token_hash, user_id, expires_at, device_id)
    VALUES (?, ?, ?, ?) ON CONFLICT (token_hash) DO NOTHING`,
  getSession: `SELECT user_id, expires_at, device_id FROM sessions
    WHERE token_hash = ? AND expires_at > ?`,
  deleteSession: "DELETE FROM sessions WHERE token_hash = ?",
  // sessions_by_user finds them: an account has a handful of sessions.
  deleteDeviceSessions: `DELETE FROM sessions WHERE user_id = ? AND device_id = ?
    RETURNING token_hash`,
  deleteUnboundSessions: `DELETE FROM sessions WHERE user_id = ? AND device_id IS NULL
    RETURNING token_hash`,
  newestDeviceList: "SELECT * FROM device_lists WHERE user_id = ? ORDER BY version DESC LIMIT 1",
  insertDeviceList: `INSERT INTO device_lists
    (user_id, version, prev_hash, hash, body, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
  deviceLists: `SELECT * FROM device_lists WHERE user_id = ? AND version >= ?
    ORDER BY version LIMIT ?`,
  linkSlot: "SELECT * FROM link_slots WHERE slot = ?",
  liveLinkSlot: "SELECT * FROM link_slots WHERE slot = ? AND expires_at > ?",
  // Its steps go with it (ON DELETE CASCADE).
  deleteLinkSlot: "DELETE FROM link_slots WHERE slot = ?",
  insertLinkSlot: `INSERT INTO link_slots (slot, steps, created_at, expires_at)
    VALUES (?, 1, ?, ?)`,
  insertLinkStep: "INSERT INTO link_steps (slot, idx, value) VALUES (?, ?, ?)",
  countLinkStep: "UPDATE link_slots SET steps = steps + 1 WHERE slot = ?",
  linkSteps: "SELECT value FROM link_steps WHERE slot = ? ORDER BY idx",
  anyExpiredSlots: "SELECT 1 AS x FROM link_slots WHERE expires_at <= ? LIMIT 1",
  upsertPrekeyBundle: `INSERT INTO prekey_bundles (user_id, device_id, bundle, updated_at)
    VALUES (?, ?, ?, ?) ON CONFLICT (user_id, device_id)
    DO UPDATE SET bundle = excluded.bundle, updated_at = excluded.updated_at`,
  prekeyBundle: "SELECT bundle FROM prekey_bundles WHERE user_id = ? AND device_id = ?",
  oneTimePrekeyStats: `SELECT count(*) AS n, coalesce(max(seq), 0) AS top FROM one_time_prekeys
    WHERE user_id = ? AND device_id = ?`,
  insertOneTimePrekey: `INSERT INTO one_time_prekeys (user_id, device_id, seq, value)
    VALUES (?, ?, ?, ?)`,
  takeOneTimePrekey: `DELETE FROM one_time_prekeys WHERE (user_id, device_id, seq) =
    (SELECT user_id, device_id, seq FROM one_time_prekeys WHERE user_id = ? AND device_id = ?
      ORDER BY seq LIMIT 1) RETURNING value`,
  deleteOneTimePrekeys: "DELETE FROM one_time_prekeys WHERE user_id = ? AND device_id = ?",
  deletePrekeyBundle: "DELETE FROM prekey_bundles WHERE user_id = ? AND device_id = ?",
  forgetSlots: `DELETE FROM link_slots WHERE slot IN
    (SELECT slot FROM link_slots WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
  addPresence: `INSERT INTO presence (user_id, server_id, since) VALUES (?, ?, ?)
    ON CONFLICT (user_id, server_id) DO NOTHING`,
  removePresence: "DELETE FROM presence WHERE user_id = ? AND server_id = ?",
  clearServerPresence: "DELETE FROM presence WHERE server_id = ?",
  getPresence: `SELECT user_id, server_id FROM presence
    WHERE user_id IN (SELECT value FROM json_each(?)) ORDER BY user_id, server_id`,
  // The owner's relations after a change: those kept, plus those set (json of [id, state]).
  contactsAfter: `SELECT count(*) AS n FROM (
      SELECT user_id AS id FROM contacts WHERE owner_id = ?
      UNION SELECT json_extract(j.value, '$[0]') FROM json_each(?) AS j
        WHERE json_extract(j.value, '$[1]') <> 'none'
      EXCEPT SELECT json_extract(j.value, '$[0]') FROM json_each(?) AS j
        WHERE json_extract(j.value, '$[1]') = 'none')`,
  contactsCount: "SELECT count(*) AS n FROM contacts WHERE owner_id = ?",
  setContact: `INSERT INTO contacts (owner_id, user_id, state, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (owner_id, user_id) DO UPDATE
    SET state = excluded.state, updated_at = excluded.updated_at`,
  forgetContact: "DELETE FROM contacts WHERE owner_id = ? AND user_id = ?",
  contactState: "SELECT state FROM contacts WHERE owner_id = ? AND user_id = ?",
  listContacts: "SELECT user_id FROM contacts WHERE owner_id = ? AND state = ? ORDER BY user_id",
  upsertServer: `INSERT INTO servers (id, host, port) VALUES (?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET host = excluded.host, port = excluded.port`,
  reportLoad: "UPDATE servers SET clients = ?, lag_ms = ?, reported_at = ? WHERE id = ?",
  listServers: "SELECT * FROM servers ORDER BY id",
  insertGroup: "INSERT INTO groups (name, admin_id, created_at) VALUES (?, ?, ?) RETURNING id",
  insertMember: `INSERT INTO group_members (group_id, user_id) VALUES (?, ?)
    ON CONFLICT DO NOTHING`,
  deleteMember: "DELETE FROM group_members WHERE group_id = ? AND user_id = ?",
  groupById: "SELECT * FROM groups WHERE id = ? AND deleted_at IS NULL",
  isMember: "SELECT 1 AS x FROM group_members WHERE group_id = ? AND user_id = ?",
  setAdmin: "UPDATE groups SET admin_id = ? WHERE id = ?",
  deleteMembers: "DELETE FROM group_members WHERE group_id = ?",
  markDeleted: "UPDATE groups SET deleted_at = ?, name = '' WHERE id = ?",
  membersOf: "SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id",
  groupsOf: `SELECT g.id, g.name, g.admin_id, g.created_at, m.user_id AS member
    FROM group_members AS mine
    JOIN groups AS g ON g.id = mine.group_id
    JOIN group_members AS m ON m.group_id = mine.group_id
    WHERE mine.user_id = ?
    ORDER BY g.id, m.user_id`,
  insertMessage: `INSERT INTO messages
    (sender_id, client_msg_id, kind, group_id, body, created_at, remaining)
    VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  existingMessage: `SELECT id, created_at FROM messages WHERE sender_id = ? AND client_msg_id = ?
    UNION ALL
    SELECT msg_id, created_at FROM sent_ids WHERE sender_id = ? AND client_msg_id = ?
    LIMIT 1`,
  insertDelivery: `INSERT INTO deliveries (recipient_id, message_id, body, bytes)
    VALUES (?, ?, ?, ?)`,
  pendingTotals: "SELECT messages, bytes FROM pending_totals WHERE user_id = ?",
  addPending: `INSERT INTO pending_totals (user_id, messages, bytes) VALUES (?, ?, ?)
    ON CONFLICT (user_id) DO UPDATE
    SET messages = messages + excluded.messages, bytes = bytes + excluded.bytes`,
  pendingFor: `SELECT m.id, m.sender_id, m.client_msg_id, m.kind, m.group_id,
      coalesce(d.body, m.body) AS body, m.created_at
    FROM deliveries AS d JOIN messages AS m ON m.id = d.message_id
    WHERE d.recipient_id = ? AND d.message_id > ?
    ORDER BY d.message_id LIMIT ?`,
  pendingOnServer: `SELECT m.id, m.sender_id, m.client_msg_id, m.kind, m.group_id,
      coalesce(d.body, m.body) AS body, m.created_at, d.recipient_id
    FROM presence AS p
    JOIN deliveries AS d ON d.recipient_id = p.user_id
    JOIN messages AS m ON m.id = d.message_id
    WHERE p.server_id = ? AND m.created_at < ?
    ORDER BY d.message_id, d.recipient_id LIMIT ?`,
  deleteDelivery: `DELETE FROM deliveries WHERE recipient_id = ? AND message_id = ?
    RETURNING bytes`,
  countOffMessage: `UPDATE messages SET remaining = remaining - ?
    WHERE id = ? RETURNING sender_id, client_msg_id, remaining, created_at`,
  deleteMessage: "DELETE FROM messages WHERE id = ?",
  insertSentId: `INSERT INTO sent_ids (sender_id, client_msg_id, msg_id, created_at)
    VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  oldestMessages: `SELECT id, created_at FROM messages WHERE remaining > 0
    ORDER BY id LIMIT ?`,
  anyExpired: `SELECT count(*) AS n FROM
    (SELECT created_at FROM messages WHERE remaining > 0 ORDER BY id LIMIT ?)
    WHERE created_at < ?`,
  expireDeliveries: `DELETE FROM deliveries WHERE (recipient_id, message_id) IN
    (SELECT recipient_id, message_id FROM deliveries WHERE message_id = ? LIMIT ?)
    RETURNING recipient_id, bytes`,
  anyOldSentIds: "SELECT 1 AS x FROM sent_ids WHERE created_at < ? LIMIT 1",
  anyDone: "SELECT 1 AS x FROM messages WHERE remaining <= 0 LIMIT 1",
  keepDoneIds: `INSERT INTO sent_ids (sender_id, client_msg_id, msg_id, created_at)
    SELECT sender_id, client_msg_id, id, created_at FROM
      (SELECT * FROM messages WHERE remaining <= 0 ORDER BY id LIMIT ?)
    WHERE client_msg_id IS NOT NULL
    ON CONFLICT DO NOTHING`,
  deleteDone: `DELETE FROM messages WHERE id IN
    (SELECT id FROM messages WHERE remaining <= 0 ORDER BY id LIMIT ?)`,
  forgetSentIds: `DELETE FROM sent_ids WHERE (sender_id, client_msg_id) IN
    (SELECT sender_id, client_msg_id FROM sent_ids WHERE created_at < ?
      ORDER BY created_at LIMIT ?)`,
  rateTat: "SELECT tat FROM rate_limits WHERE key = ?",
  setRateTat: `INSERT INTO rate_limits (key, tat) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET tat = excluded.tat`,
  deleteRate: "DELETE FROM rate_limits WHERE key = ?",
  anyFullRates: "SELECT 1 AS x FROM rate_limits WHERE tat <= ? LIMIT 1",
  forgetRates: `DELETE FROM rate_limits WHERE key IN
    (SELECT key FROM rate_limits WHERE tat <= ? ORDER BY tat LIMIT ?)`,
  stats: `SELECT (SELECT count(*) FROM users) AS users,
    (SELECT count(*) FROM messages) AS messages,
    (SELECT count(*) FROM deliveries) AS pending`,
} as const;

type _Statements = { readonly [K in keyof typeof _SQL]: StatementSync };
type _Row = Record<string, unknown>;

/**
 * Opens (creating or migrating if needed) the main database at `path` and returns a
 * {@linkcode SqliteStore}. Safe to call from several processes at once on the same, possibly
 * new, file.
 *
 * @example
 * ```ts ignore
 * const store = await openSqliteStore("data/fastchat.db");
 * const user = await store.createUser({ username: "ada", passwordHash, rsaPublicKey, identityKey });
 * await store.close();
 * ```
 */
export function openSqliteStore(
  path: string,
  opts: SqliteStoreOptions = {},
): Promise<SqliteStore> {
  return SqliteStore.open(path, opts);
}

/** A {@linkcode Store} on one SQLite database file, shareable by several processes. */
export class SqliteStore implements Store {
  #db: DatabaseSync;
  #st: _Statements;
  #closed = false;
  /** Every write transaction goes through it (group commit, writer lock, savepoints). */
  readonly #writer: SqliteWriter;

  private constructor(
    db: DatabaseSync,
    lockFile: Deno.FsFile | null,
    busyTimeoutMs: number,
    wal: WalSync | null,
  ) {
    this.#db = db;
    this.#writer = new SqliteWriter(db, lockFile, busyTimeoutMs, wal);
    const st: Partial<Record<keyof typeof _SQL, StatementSync>> = {};
    for (const key of Object.keys(_SQL) as (keyof typeof _SQL)[]) {
      st[key] = db.prepare(_SQL[key]);
    }
    this.#st = st as _Statements;
  }

  /** Opens the database at `path`; see {@linkcode openSqliteStore}. */
  static async open(path: string, opts: SqliteStoreOptions = {}): Promise<SqliteStore> {
    if (typeof path !== "string" || path === "") {
      throw new TypeError("Database path must be a non-empty string");
    }
    const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new RangeError(
        `busyTimeoutMs must be a non-negative integer, got ${String(opts.busyTimeoutMs)}`,
      );
    }
    const synchronous = opts.synchronous ?? "full";
    if (synchronous !== "full" && synchronous !== "normal") {
      throw new TypeError(`synchronous must be "full" or "normal", got ${String(synchronous)}`);
    }
    const memory = path === ":memory:";
    const lockFile = memory ? null : await Deno.open(`${path}-writer.lock`, {
      read: true,
      write: true,
      create: true,
    });
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
      db.exec("PRAGMA foreign_keys = ON");
      db.exec(`PRAGMA synchronous = ${synchronous.toUpperCase()}`);
      // Switching to WAL needs a moment of exclusive access; a process starting alongside
      // others can see "database is locked" here, so retry within the busy timeout.
      const conn = db;
      await retryWhileBusy(busyTimeoutMs, () => {
        const row = conn.prepare("PRAGMA journal_mode = WAL").get() as _Row | undefined;
        const mode = String(row?.["journal_mode"] ?? "");
        if (mode !== "wal" && !memory) {
          throw new Error(`Could not switch ${path} to WAL mode; the journal mode is "${mode}"`);
        }
      });
      await retryWhileBusy(busyTimeoutMs, () => migrateSqlite(conn, path));
      const wal = synchronous === "full" && !memory ? _walSync(db, path) : null;
      return new SqliteStore(db, lockFile, busyTimeoutMs, wal);
    } catch (err) {
      db?.close();
      lockFile?.close();
      throw isBusyError(err) ? unavailableError(err, busyTimeoutMs) : err;
    }
  }

  /** Registers a user; see {@linkcode Store.createUser}. */
  async createUser(user: NewUser): Promise<UserRecord> {
    checkNewUser(user);
    const st = this.#open();
    const createdAt = Date.now();
    const row = await this.#write(() => {
      const inserted = st.insertUser.get(
        user.username,
        user.passwordHash,
        user.rsaPublicKey,
        user.identityKey,
        createdAt,
      ) as _Row | undefined;
      if (inserted !== undefined) return inserted;
      const taken = st.userByName.get(user.username, user.username) as _Row | undefined;
      throw usernameTakenError(user.username, (taken?.["username"] as string) ?? null);
    });
    return {
      id: row["id"] as number,
      username: user.username,
      passwordHash: user.passwordHash,
      rsaPublicKey: user.rsaPublicKey,
      identityKey: user.identityKey,
      createdAt,
    };
  }

  /** Returns the user with this ID, or null. */
  getUserById(id: number): Promise<UserRecord | null> {
    return _settle(() => {
      checkId("id", id);
      const row = this.#open().userById.get(id) as _Row | undefined;
      return row === undefined ? null : userFromRow(row);
    });
  }

  /** The user with this name ignoring ASCII case, or null; see {@linkcode Store.getUserByName}. */
  getUserByName(username: string): Promise<UserRecord | null> {
    return _settle(() => {
      checkText("username", username);
      const row = this.#open().userByName.get(username, username) as _Row | undefined;
      return row === undefined ? null : userFromRow(row);
    });
  }

  /** Stores a session; see {@linkcode Store.createSession}. */
  async createSession(tokenHash: Uint8Array, session: SessionRecord): Promise<void> {
    checkSession(tokenHash, session);
    const st = this.#open();
    await this.#write(() => {
      if (st.userExists.get(session.userId) === undefined) {
        throw new StoreError("not_found", `No user with ID ${session.userId}; cannot log in`);
      }
      st.pruneSessions.run(session.userId, Date.now());
      const inserted = st.insertSession.run(
        tokenHash,
        session.userId,
        session.expiresAt,
        session.deviceId ?? null,
      );
      if (inserted.changes === 0) {
        throw new StoreError("conflict", "A session with this token hash already exists");
      }
    });
  }

  /** Returns the session if it exists and has not expired at `now`. */
  getSession(tokenHash: Uint8Array, now: number): Promise<SessionRecord | null> {
    return _settle(() => {
      checkTokenHash(tokenHash);
      checkCount("now", now);
      const row = this.#open().getSession.get(tokenHash, now) as _Row | undefined;
      return row === undefined ? null : sessionFromRow(row);
    });
  }

  /** The token hashes among these whose session is alive at `now`. */
  liveSessions(tokenHashes: readonly Uint8Array[], now: number): Promise<Uint8Array[]> {
    return _settle(() => {
      if (!Array.isArray(tokenHashes)) throw new TypeError("tokenHashes must be an array");
      tokenHashes.forEach(checkTokenHash);
      checkCount("now", now);
      const st = this.#open();
      return this.#read(() => tokenHashes.filter((h) => st.getSession.get(h, now) !== undefined));
    });
  }

  /** Deletes a session; deleting one that does not exist is not an error. */
  async deleteSession(tokenHash: Uint8Array): Promise<void> {
    checkTokenHash(tokenHash);
    const st = this.#open();
    await this.#write(() => st.deleteSession.run(tokenHash));
  }

  /** Deletes a device's sessions; see {@linkcode Store.deleteDeviceSessions}. */
  async deleteDeviceSessions(userId: number, deviceId: number): Promise<Uint8Array[]> {
    checkId("userId", userId);
    checkId("deviceId", deviceId);
    const st = this.#open();
    return await this.#write(() => {
      const rows = st.deleteDeviceSessions.all(userId, deviceId) as _Row[];
      return rows.map((r) => r["token_hash"] as Uint8Array);
    });
  }

  /** Deletes the sessions bound to no device; see {@linkcode Store.deleteUnboundSessions}. */
  async deleteUnboundSessions(userId: number): Promise<Uint8Array[]> {
    checkId("userId", userId);
    const st = this.#open();
    return await this.#write(() => {
      const rows = st.deleteUnboundSessions.all(userId) as _Row[];
      return rows.map((r) => r["token_hash"] as Uint8Array);
    });
  }

  /** Records a live connection of `userId` on `serverId`; see {@linkcode Store.addPresence}. */
  async addPresence(userId: number, serverId: number): Promise<void> {
    checkId("userId", userId);
    checkId("serverId", serverId);
    const st = this.#open();
    await this.#write(() => {
      if (st.userExists.get(userId) === undefined) {
        throw new StoreError("not_found", `No user with ID ${userId}; cannot record presence`);
      }
      st.addPresence.run(userId, serverId, Date.now());
    });
  }

  /** Removes the record of `userId` on `serverId` only. */
  async removePresence(userId: number, serverId: number): Promise<void> {
    checkId("userId", userId);
    checkId("serverId", serverId);
    const st = this.#open();
    await this.#write(() => st.removePresence.run(userId, serverId));
  }

  /** Removes every presence on a server (on server start, after a crash). */
  async clearServerPresence(serverId: number): Promise<void> {
    checkId("serverId", serverId);
    const st = this.#open();
    await this.#write(() => st.clearServerPresence.run(serverId));
  }

  /** Presence of the given users, by user ID then server ID; offline users are absent. */
  getPresence(userIds: readonly number[]): Promise<PresenceRecord[]> {
    return _settle(() => {
      checkIds("userIds", userIds);
      const st = this.#open();
      if (userIds.length === 0) return [];
      const rows = st.getPresence.all(JSON.stringify(userIds)) as _Row[];
      return rows.map((r) => ({
        userId: r["user_id"] as number,
        serverId: r["server_id"] as number,
      }));
    });
  }

  /** Inserts or updates a server's address (from servers.txt); keeps its load report. */
  async upsertServer(server: { id: number; host: string; port: number }): Promise<void> {
    checkServer(server);
    const st = this.#open();
    await this.#write(() => st.upsertServer.run(server.id, server.host, server.port));
  }

  /** Records a load report. Unknown server: StoreError "not_found". */
  async reportLoad(
    serverId: number,
    load: { clients: number; lagMs: number },
    at: number,
  ): Promise<void> {
    checkLoad(serverId, load, at);
    const st = this.#open();
    // A load report is replaced seconds later: it is not worth an fsync.
    const changes = await this.#write(
      () => st.reportLoad.run(load.clients, load.lagMs, at, serverId).changes,
      false,
    );
    if (changes === 0) {
      throw new StoreError("not_found", `No server with ID ${serverId}; upsert it first`);
    }
  }

  /** Every known server, by ascending ID. */
  listServers(): Promise<ServerRecord[]> {
    return _settle(() => {
      const rows = this.#open().listServers.all() as _Row[];
      return rows.map((r) => ({
        id: r["id"] as number,
        host: r["host"] as string,
        port: r["port"] as number,
        clients: r["clients"] as number,
        lagMs: r["lag_ms"] as number,
        reportedAt: r["reported_at"] as number,
      }));
    });
  }

  /** Creates a group; see {@linkcode Store.createGroup}. */
  async createGroup(
    name: string,
    adminId: number,
    memberIds: readonly number[],
  ): Promise<GroupRecord> {
    checkText("name", name);
    checkId("adminId", adminId);
    checkIds("memberIds", memberIds);
    const st = this.#open();
    const members = uniqueSorted([adminId, ...memberIds]);
    const createdAt = Date.now();
    const id = await this.#write(() => {
      const missing = st.missingUsers.all(JSON.stringify(members)) as _Row[];
      if (missing.length > 0) {
        throw new StoreError(
          "not_found",
          `Unknown user ID(s) ${missing.map((r) => r["id"]).join(", ")}; ` +
            "every group member must be a registered user",
        );
      }
      const groupId = (st.insertGroup.get(name, adminId, createdAt) as _Row)["id"] as number;
      for (const userId of members) st.insertMember.run(groupId, userId);
      return groupId;
    });
    return { id, name, adminId, members, createdAt };
  }

  /** Returns a group with its members, or null. */
  getGroup(groupId: number): Promise<GroupRecord | null> {
    return _settle(() => {
      checkId("groupId", groupId);
      const st = this.#open();
      return this.#read(() => {
        const row = st.groupById.get(groupId) as _Row | undefined;
        return row === undefined ? null : _group(st, row);
      });
    });
  }

  /** Adds a member; see {@linkcode Store.addMember}. */
  async addMember(groupId: number, userId: number): Promise<boolean> {
    checkId("groupId", groupId);
    checkId("userId", userId);
    const st = this.#open();
    return await this.#write(() => {
      if (st.groupById.get(groupId) === undefined) throw noGroupError(groupId);
      if (st.userExists.get(userId) === undefined) {
        throw new StoreError("not_found", `No user with ID ${userId}; cannot add to a group`);
      }
      return st.insertMember.run(groupId, userId).changes > 0;
    });
  }

  /** Removes a member; see {@linkcode Store.removeMember}. */
  async removeMember(groupId: number, userId: number): Promise<boolean> {
    checkId("groupId", groupId);
    checkId("userId", userId);
    const st = this.#open();
    return await this.#write(() => {
      const group = st.groupById.get(groupId) as _Row | undefined;
      if (group === undefined) return false;
      if (group["admin_id"] === userId) {
        throw new StoreError(
          "conflict",
          `User ${userId} is the admin of group ${groupId} and cannot be removed from it`,
        );
      }
      return st.deleteMember.run(groupId, userId).changes > 0;
    });
  }

  /** Groups the user belongs to, by ascending ID, each with all its members. */
  listGroupsOf(userId: number): Promise<GroupRecord[]> {
    return _settle(() => {
      checkId("userId", userId);
      const rows = this.#open().groupsOf.all(userId) as _Row[];
      return groupRows(rows);
    });
  }

  /** Hands a group to another member; see {@linkcode Store.setGroupAdmin}. */
  async setGroupAdmin(groupId: number, adminId: number, newAdminId: number): Promise<GroupRecord> {
    checkId("groupId", groupId);
    checkId("adminId", adminId);
    checkId("newAdminId", newAdminId);
    const st = this.#open();
    // The only writer: what is checked here still holds when the update commits.
    return await this.#write(() => {
      const row = _adminRow(st, groupId, adminId);
      if (st.isMember.get(groupId, newAdminId) === undefined) {
        throw notGroupMemberError(groupId, newAdminId);
      }
      st.setAdmin.run(newAdminId, groupId);
      return _group(st, { ...row, admin_id: newAdminId });
    });
  }

  /** Deletes a group, leaving a tombstone; see {@linkcode Store.deleteGroup}. */
  async deleteGroup(groupId: number, adminId: number): Promise<GroupRecord> {
    checkId("groupId", groupId);
    checkId("adminId", adminId);
    const st = this.#open();
    return await this.#write(() => {
      const row = _adminRow(st, groupId, adminId);
      const was = _group(st, row);
      st.deleteMembers.run(groupId);
      st.markDeleted.run(Date.now(), groupId);
      return was;
    });
  }

  /** Persists messages in one `BEGIN IMMEDIATE` transaction; see {@linkcode Store.saveMessages}. */
  async saveMessages(
    messages: readonly NewMessage[],
    bounds?: PendingBounds,
  ): Promise<SavedMessage[]> {
    checkMessages(messages);
    const max = checkBounds(bounds);
    this.#open();
    if (messages.length === 0) return [];
    return await this.#write(() => {
      try {
        return this.#insertMessages(messages, max);
      } catch (err) {
        // Foreign keys are checked per statement, so the transaction is still open here and
        // the explanation sees the same snapshot; then the whole batch is rolled back.
        if (isForeignKeyError(err)) throw this.#explainMissing(messages);
        throw err;
      }
    });
  }

  /**
   * The body of {@linkcode saveMessages}' transaction. The write lock makes it the only
   * writer, so reading a recipient's pending total and adding to it cannot race.
   */
  #insertMessages(messages: readonly NewMessage[], max: PendingBounds): SavedMessage[] {
    const st = this.#st;
    const createdAt = Date.now();
    /** Each recipient's pending total plus the batch's demand so far (see `store.ts`). */
    const demand = new Map<number, { messages: number; bytes: number }>();
    /** What this batch actually added per recipient. */
    const added = new Map<number, { messages: number; bytes: number }>();
    const out: SavedMessage[] = new Array(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.clientMsgId !== null) {
        const old = st.existingMessage.get(m.senderId, m.clientMsgId, m.senderId, m.clientMsgId) as
          | _Row
          | undefined;
        if (old !== undefined) {
          out[i] = {
            id: old["id"] as number,
            createdAt: old["created_at"] as number,
            duplicate: true,
          };
          continue;
        }
      }
      const shared = m.recipients.some((r) => r.body === undefined) ? utf8Bytes(m.body) : 0;
      const sizes = m.recipients.map((r) => (r.body === undefined ? shared : utf8Bytes(r.body)));
      const full = new Set<number>();
      m.recipients.forEach((r, j) => {
        let t = demand.get(r.userId);
        if (t === undefined) {
          const row = st.pendingTotals.get(r.userId) as _Row | undefined;
          t = { messages: Number(row?.["messages"] ?? 0), bytes: Number(row?.["bytes"] ?? 0) };
          demand.set(r.userId, t);
        }
        t.messages += 1;
        t.bytes += sizes[j]!;
        if (t.messages > max.messages || t.bytes > max.bytes) full.add(r.userId);
      });
      const fullRecipients = full.size > 0 ? { fullRecipients: uniqueSorted([...full]) } : {};
      const kept = m.recipients.length - full.size;
      if (m.recipients.length > 0 && kept === 0) {
        out[i] = { id: 0, createdAt: 0, duplicate: false, ...fullRecipients };
        continue;
      }
      const row = st.insertMessage.get(
        m.senderId,
        m.clientMsgId,
        m.kind,
        m.groupId,
        kept === 0 ? "" : m.body,
        createdAt,
        kept,
      ) as _Row;
      const id = row["id"] as number;
      m.recipients.forEach((r, j) => {
        if (full.has(r.userId)) return;
        st.insertDelivery.run(r.userId, id, r.body ?? null, sizes[j]!);
        const a = added.get(r.userId) ?? { messages: 0, bytes: 0 };
        a.messages += 1;
        a.bytes += sizes[j]!;
        added.set(r.userId, a);
      });
      // A message nobody is waiting for keeps no row; its ID was still drawn, never to be
      // reused (AUTOINCREMENT), and a resend is still recognised.
      if (kept === 0) this.#dropMessage(id, m.senderId, m.clientMsgId, createdAt);
      out[i] = { id, createdAt, duplicate: false, ...fullRecipients };
    }
    for (const [userId, a] of added) st.addPending.run(userId, a.messages, a.bytes);
    return out;
  }

  /** Deletes a message row with no delivery left, keeping its idempotency record. */
  #dropMessage(id: number, senderId: number, clientMsgId: string | null, createdAt: number) {
    this.#st.deleteMessage.run(id);
    if (clientMsgId !== null) this.#st.insertSentId.run(senderId, clientMsgId, id, createdAt);
  }

  /**
   * Counts `n` ended deliveries off a message; returns its sender and client ID. A row with
   * none left is deleted by {@linkcode settle}, many at a time: two statements per sweep
   * instead of two more per acknowledgement keeps acks cheap.
   */
  #endDeliveries(id: number, n: number): _Row {
    return this.#st.countOffMessage.get(n, id) as _Row;
  }

  /** Deliveries still pending for a user, in acceptance order, after `afterId`, at most `limit`. */
  pendingFor(userId: number, afterId: number, limit: number): Promise<PendingMessage[]> {
    return _settle(() => {
      checkId("userId", userId);
      checkCount("afterId", afterId);
      checkLimit(limit);
      const rows = this.#open().pendingFor.all(userId, afterId, limit) as _Row[];
      return rows.map((r) => pendingFromRow(r, userId));
    });
  }

  /** Deliveries pending for users present on `serverId`, accepted before `before`. */
  pendingOnServer(serverId: number, before: number, limit: number): Promise<PendingMessage[]> {
    return _settle(() => {
      checkId("serverId", serverId);
      checkCount("before", before);
      checkLimit(limit);
      const rows = this.#open().pendingOnServer.all(serverId, before, limit) as _Row[];
      return rows.map((r) => pendingFromRow(r, r["recipient_id"] as number));
    });
  }

  /** Settles deliveries to `userId`; see {@linkcode Store.ackDeliveries}. */
  async ackDeliveries(userId: number, messageIds: readonly number[]): Promise<AckedDelivery[]> {
    checkId("userId", userId);
    checkIds("messageIds", messageIds);
    const st = this.#open();
    if (messageIds.length === 0) return [];
    const ids = uniqueSorted(messageIds);
    return await this.#write(() => {
      const out: AckedDelivery[] = [];
      let bytes = 0;
      for (const id of ids) {
        const gone = st.deleteDelivery.get(userId, id) as _Row | undefined;
        if (gone === undefined) continue;
        bytes += gone["bytes"] as number;
        const row = this.#endDeliveries(id, 1);
        out.push({
          id,
          senderId: row["sender_id"] as number,
          clientMsgId: row["client_msg_id"] as string | null,
        });
      }
      if (out.length > 0) st.addPending.run(userId, -out.length, -bytes);
      return out;
    }, false); // lost in a power cut, an ack only means the message comes again (dropped by ID)
  }

  /**
   * Drops deliveries of messages accepted before `before`; see {@linkcode Store.expirePending}.
   * It looks at the oldest messages by ID (acceptance order), so a sweep that finds nothing
   * reads `limit` index entries, not the table.
   */
  async expirePending(before: number, limit: number): Promise<number> {
    checkCount("before", before);
    checkLimit(limit);
    const st = this.#open();
    if ((st.anyExpired.get(limit, before) as _Row)["n"] === 0) return 0;
    return await this.#write(() => {
      let dropped = 0;
      const freed = new Map<number, { messages: number; bytes: number }>();
      for (const m of st.oldestMessages.all(limit) as _Row[]) {
        if (dropped >= limit) break;
        if ((m["created_at"] as number) >= before) continue;
        const id = m["id"] as number;
        const gone = st.expireDeliveries.all(id, limit - dropped) as _Row[];
        if (gone.length === 0) continue;
        dropped += gone.length;
        for (const g of gone) {
          const uid = g["recipient_id"] as number;
          const f = freed.get(uid) ?? { messages: 0, bytes: 0 };
          f.messages += 1;
          f.bytes += g["bytes"] as number;
          freed.set(uid, f);
        }
        this.#endDeliveries(id, gone.length);
      }
      for (const [uid, f] of freed) st.addPending.run(uid, -f.messages, -f.bytes);
      return dropped;
    }, false); // lost in a power cut, the next sweep drops them again
  }

  /**
   * Deletes up to `limit` message rows whose deliveries have all ended (keeping their
   * idempotency records), forgets old idempotency records, run-out rate limits and expired
   * link slots; see
   * {@linkcode Store.settle}. Returns the number of message rows deleted; writes nothing when
   * there is nothing to do (each check reads a partial index).
   */
  async settle(limit: number, opts?: SettleOptions): Promise<number> {
    checkLimit(limit);
    const { now, idempotencyMs } = checkSettleOptions(opts);
    const st = this.#open();
    const cutoff = Math.max(0, now - idempotencyMs);
    const done = st.anyDone.get() !== undefined;
    const stale = st.anyOldSentIds.get(cutoff) !== undefined;
    const full = st.anyFullRates.get(now) !== undefined;
    const slots = st.anyExpiredSlots.get(now) !== undefined;
    if (!done && !stale && !full && !slots) return 0;
    return await this.#write(() => {
      let deleted = 0;
      if (done) {
        st.keepDoneIds.run(limit);
        deleted = Number(st.deleteDone.run(limit).changes);
      }
      if (stale) st.forgetSentIds.run(cutoff, limit);
      if (full) st.forgetRates.run(now, limit);
      if (slots) st.forgetSlots.run(now, limit);
      return deleted;
    }, false); // clean-up: lost in a power cut, it is simply done again
  }

  /** Takes one attempt from each bucket, or none; see {@linkcode Store.takeAttempt}. */
  async takeAttempt(limits: readonly RateLimit[], now: number): Promise<number> {
    checkRateLimits(limits);
    checkCount("now", now);
    const st = this.#open();
    if (limits.length === 0) return 0;
    return await this.#write(() => {
      const tats = limits.map((l) =>
        Number((st.rateTat.get(l.key) as _Row | undefined)?.["tat"] ?? 0)
      );
      const wait = Math.max(...limits.map((l, i) => bucketWait(tats[i]!, now, l)));
      if (wait > 0) return wait;
      limits.forEach((l, i) => st.setRateTat.run(l.key, bucketTake(tats[i]!, now, l)));
      return 0;
    });
  }

  /** Gives one attempt back to each bucket; see {@linkcode Store.refundAttempt}. */
  async refundAttempt(limits: readonly RateLimit[], now: number): Promise<void> {
    checkRateLimits(limits);
    checkCount("now", now);
    const st = this.#open();
    if (limits.length === 0) return;
    await this.#write(() => {
      for (const l of limits) {
        const row = st.rateTat.get(l.key) as _Row | undefined;
        if (row === undefined) continue;
        const tat = bucketRefund(row["tat"] as number, l);
        if (tat <= now) st.deleteRate.run(l.key);
        else st.setRateTat.run(l.key, tat);
      }
    });
  }

  /** Sets relations of `ownerId`; see {@linkcode Store.setContacts}. */
  async setContacts(ownerId: number, changes: readonly ContactChange[], max: number) {
    checkContacts(ownerId, changes, max);
    const st = this.#open();
    if (changes.length === 0) return;
    const now = Date.now();
    await this.#write(() => {
      const ids = [ownerId, ...changes.map((c) => c.userId)];
      const missing = st.missingUsers.all(JSON.stringify(ids)) as _Row[];
      if (missing.length > 0) throw unknownContactsError(missing.map((r) => r["id"] as number));
      const pairs = JSON.stringify(changes.map((c) => [c.userId, c.state]));
      const after = (st.contactsAfter.get(ownerId, pairs, pairs) as _Row)["n"] as number;
      if (after > max && after > ((st.contactsCount.get(ownerId) as _Row)["n"] as number)) {
        throw tooManyContactsError(ownerId, max);
      }
      for (const c of changes) {
        if (c.state === "none") st.forgetContact.run(ownerId, c.userId);
        else st.setContact.run(ownerId, c.userId, c.state, now);
      }
    });
  }

  /** What `userId` is to `ownerId`; see {@linkcode Store.contactState}. */
  contactState(ownerId: number, userId: number): Promise<ContactRelation | null> {
    return _settle(() => {
      checkId("ownerId", ownerId);
      checkId("userId", userId);
      const row = this.#open().contactState.get(ownerId, userId) as _Row | undefined;
      return row === undefined ? null : row["state"] as ContactRelation;
    });
  }

  /** The users `ownerId` has in `state`; see {@linkcode Store.listContacts}. */
  listContacts(ownerId: number, state: ContactRelation): Promise<number[]> {
    return _settle(() => {
      checkId("ownerId", ownerId);
      checkContactState("state", state);
      const rows = this.#open().listContacts.all(ownerId, state) as _Row[];
      return rows.map((r) => r["user_id"] as number);
    });
  }

  /**
   * Appends a device list version if it extends the newest; see
   * {@linkcode Store.appendDeviceList}. The check and the insert are one write transaction,
   * and writers take turns: atomic across instances and processes.
   */
  async appendDeviceList(list: NewDeviceList): Promise<void> {
    checkNewDeviceList(list);
    const st = this.#open();
    await this.#write(() => {
      if (st.userExists.get(list.userId) === undefined) throw noDeviceListUserError(list.userId);
      const head = st.newestDeviceList.get(list.userId) as _Row | undefined;
      const newest = (head?.["version"] as number | undefined) ?? 0;
      const newestHash = (head?.["hash"] as string | undefined) ?? "";
      if (list.version !== newest + 1 || list.prevHash !== newestHash) {
        throw deviceListConflictError(list.userId, list.version, newest);
      }
      st.insertDeviceList.run(
        list.userId,
        list.version,
        list.prevHash,
        list.hash,
        list.body,
        list.createdAt,
      );
    });
  }

  /** A user's device list versions from `fromVersion`; see {@linkcode Store.deviceLists}. */
  deviceLists(userId: number, fromVersion: number, limit: number): Promise<DeviceListRecord[]> {
    return _settle(() => {
      checkDeviceListsPage(userId, fromVersion, limit);
      const rows = this.#open().deviceLists.all(userId, fromVersion, limit) as _Row[];
      return rows.map(deviceListFromRow);
    });
  }

  /** The newest version of a user's device list, or null. */
  latestDeviceList(userId: number): Promise<DeviceListRecord | null> {
    return _settle(() => {
      checkId("userId", userId);
      const row = this.#open().newestDeviceList.get(userId) as _Row | undefined;
      return row === undefined ? null : deviceListFromRow(row);
    });
  }

  /**
   * Opens a link slot, replacing an expired one of that name; see
   * {@linkcode Store.openLinkSlot}. Not flushed on its own: a rendezvous lost in a power cut
   * is simply started again.
   */
  async openLinkSlot(
    slot: string,
    offer: string,
    now: number,
    expiresAt: number,
  ): Promise<void> {
    checkLinkOpen(slot, offer, now, expiresAt);
    const st = this.#open();
    await this.#write(() => {
      const old = st.linkSlot.get(slot) as _Row | undefined;
      if (old !== undefined) {
        if ((old["expires_at"] as number) > now) throw linkSlotTakenError(slot);
        st.deleteLinkSlot.run(slot);
      }
      st.insertLinkSlot.run(slot, now, expiresAt);
      st.insertLinkStep.run(slot, 0, offer);
    }, false);
  }

  /** Appends the next step of a live slot; see {@linkcode Store.appendLinkStep}. */
  async appendLinkStep(
    slot: string,
    index: number,
    value: string,
    now: number,
  ): Promise<void> {
    checkLinkStep(slot, index, value, now);
    const st = this.#open();
    await this.#write(() => {
      const row = st.liveLinkSlot.get(slot, now) as _Row | undefined;
      if (row === undefined) throw noLinkSlotError(slot);
      const steps = row["steps"] as number;
      if (steps >= LINK_MAX_STEPS) throw tooManyLinkStepsError(slot);
      if (index !== steps) throw linkStepConflictError(slot, index, steps);
      st.insertLinkStep.run(slot, index, value);
      st.countLinkStep.run(slot);
    }, false);
  }

  /** A live slot with its steps, or null; see {@linkcode Store.linkSlot}. */
  linkSlot(slot: string, now: number): Promise<LinkSlotRecord | null> {
    return _settle(() => {
      checkLinkSlotName(slot);
      checkCount("now", now);
      const st = this.#open();
      return this.#read(() => {
        const row = st.liveLinkSlot.get(slot, now) as _Row | undefined;
        if (row === undefined) return null;
        const steps = (st.linkSteps.all(slot) as _Row[]).map((r) => r["value"] as string);
        return {
          slot,
          steps,
          createdAt: row["created_at"] as number,
          expiresAt: row["expires_at"] as number,
        };
      });
    });
  }

  /** Deletes a slot and its steps; see {@linkcode Store.deleteLinkSlot}. */
  async deleteLinkSlot(slot: string): Promise<void> {
    checkLinkSlotName(slot);
    const st = this.#open();
    await this.#write(() => st.deleteLinkSlot.run(slot), false);
  }

  /** Stores a device's prekeys; see {@linkcode Store.putPrekeys}. */
  async putPrekeys(
    userId: number,
    deviceId: number,
    bundle: string,
    oneTime: readonly string[],
    replace: boolean,
    now: number,
  ): Promise<number> {
    checkPutPrekeys(userId, deviceId, bundle, oneTime, replace, now);
    const st = this.#open();
    return await this.#write(() => {
      if (st.userExists.get(userId) === undefined) throw noPrekeyUserError(userId);
      if (replace) st.deleteOneTimePrekeys.run(userId, deviceId);
      const stats = st.oneTimePrekeyStats.get(userId, deviceId) as _Row;
      const have = stats["n"] as number;
      if (have + oneTime.length > ONE_TIME_PREKEYS_MAX) {
        throw tooManyPrekeysError(userId, deviceId, have + oneTime.length);
      }
      st.upsertPrekeyBundle.run(userId, deviceId, bundle, now);
      let seq = stats["top"] as number;
      for (const k of oneTime) st.insertOneTimePrekey.run(userId, deviceId, ++seq, k);
      return have + oneTime.length;
    });
  }

  /** Hands out a bundle and one one-time prekey; see {@linkcode Store.takePrekeys}. */
  async takePrekeys(userId: number, deviceId: number): Promise<TakenPrekeys | null> {
    checkId("userId", userId);
    checkId("deviceId", deviceId);
    const st = this.#open();
    // A write even without a one-time key left: the take and the count are one snapshot.
    return await this.#write(() => {
      const row = st.prekeyBundle.get(userId, deviceId) as _Row | undefined;
      if (row === undefined) return null;
      const taken = st.takeOneTimePrekey.get(userId, deviceId) as _Row | undefined;
      const stats = st.oneTimePrekeyStats.get(userId, deviceId) as _Row;
      return {
        bundle: row["bundle"] as string,
        oneTime: taken === undefined ? null : taken["value"] as string,
        remaining: stats["n"] as number,
      };
    }, false);
  }

  /** How many one-time prekeys are left; see {@linkcode Store.prekeyCount}. */
  prekeyCount(userId: number, deviceId: number): Promise<number | null> {
    return _settle(() => {
      checkId("userId", userId);
      checkId("deviceId", deviceId);
      const st = this.#open();
      return this.#read(() => {
        if (st.prekeyBundle.get(userId, deviceId) === undefined) return null;
        return (st.oneTimePrekeyStats.get(userId, deviceId) as _Row)["n"] as number;
      });
    });
  }

  /** Deletes a device's prekeys; see {@linkcode Store.deletePrekeys}. */
  async deletePrekeys(userId: number, deviceId: number): Promise<void> {
    checkId("userId", userId);
    checkId("deviceId", deviceId);
    const st = this.#open();
    await this.#write(() => {
      st.deleteOneTimePrekeys.run(userId, deviceId);
      st.deletePrekeyBundle.run(userId, deviceId);
    });
  }

  /** Counts for metrics and tests (full counts: O(rows), fine for metrics intervals). */
  stats(): Promise<{ users: number; messages: number; pendingDeliveries: number }> {
    return _settle(() => {
      const row = this.#open().stats.get() as _Row;
      return {
        users: row["users"] as number,
        messages: row["messages"] as number,
        pendingDeliveries: row["pending"] as number,
      };
    });
  }

  /** Closes the database after the writes already queued; see {@linkcode Store.close}. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.close();
    this.#db.close();
  }

  #open(): _Statements {
    if (this.#closed) throw new TypeError("The store is closed; open a new one to use it");
    return this.#st;
  }

  /** Queues `fn` as a write transaction; see {@linkcode SqliteWriter.write}. */
  #write<T>(fn: () => T, durable = true): Promise<T> {
    return this.#writer.write(fn, durable);
  }

  /** Runs `fn` in a read transaction so that its several queries see one snapshot. */
  #read<T>(fn: () => T): T {
    this.#st.begin.run();
    try {
      return fn();
    } finally {
      if (this.#db.isTransaction) this.#st.commit.run();
    }
  }

  /** Builds the "not_found" error for a batch that failed a foreign key check. */
  #explainMissing(messages: readonly NewMessage[]): StoreError {
    const users = messages.flatMap((m) => m.recipients.map((r) => r.userId));
    const groups = messages.flatMap((m) => (m.groupId === null ? [] : [m.groupId]));
    const st = this.#st;
    const missingUsers = (st.missingUsers.all(JSON.stringify(users)) as _Row[]).map((r) =>
      r["id"] as number
    );
    const missingGroups = (st.missingGroups.all(JSON.stringify(groups)) as _Row[]).map((r) =>
      r["id"] as number
    );
    return missingRecipientsError(missingUsers, missingGroups);
  }
}

/** A live group's row, checked (inside a write) to have `adminId` as its admin. */
function _adminRow(st: _Statements, groupId: number, adminId: number): _Row {
  const row = st.groupById.get(groupId) as _Row | undefined;
  if (row === undefined) throw noGroupError(groupId);
  const current = row["admin_id"] as number;
  if (current !== adminId) throw notGroupAdminError(groupId, adminId, current);
  return row;
}

/** A group from its `groups` row, with its members read now. */
function _group(st: _Statements, row: _Row): GroupRecord {
  const id = row["id"] as number;
  return {
    id,
    name: row["name"] as string,
    adminId: row["admin_id"] as number,
    members: (st.membersOf.all(id) as _Row[]).map((r) => r["user_id"] as number),
    createdAt: row["created_at"] as number,
  };
}

/** Runs `fn` now and returns its result as a promise; a throw becomes a rejection. */
/**
 * The flush of `path`'s WAL (`wal_sync.ts`), with `db` switched to `synchronous=NORMAL`; null,
 * and `db` left in `FULL`, if the WAL file cannot be opened.
 */
function _walSync(db: DatabaseSync, path: string): WalSync | null {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(`${path}-wal`, { read: true });
  } catch {
    return null;
  }
  db.exec("PRAGMA synchronous = NORMAL");
  return new WalSync(file);
}

function _settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(isBusyError(err) ? unavailableError(err, 0) : err);
  }
}
