/**
 * The main database on `node:sqlite`: a {@linkcode Store} that several server processes and
 * the balancer can share through one database file.
 *
 * Why it is safe across processes:
 * - WAL journal, so readers never block the writer and the writer never blocks readers.
 * - A writer lock file, `PATH-writer.lock`, locked (flock) around every write transaction.
 *   Waiting for it is asynchronous, so a process waiting for another's write keeps serving
 *   its clients, and the kernel hands the lock over as soon as it is released, so writers
 *   take turns. SQLite's own busy handler polls with growing sleeps while blocking the event
 *   loop: under sustained writes from three processes it starved one for over two seconds.
 * - `busy_timeout` as the fallback when the lock file is not enough (a writer outside
 *   FastChat, or the lock file held longer than the timeout): the process then waits in
 *   SQLite, blocking its event loop, and fails with "database is locked" after the timeout.
 * - `BEGIN IMMEDIATE` for every write transaction: the write lock is taken up front, so two
 *   processes never both hold read snapshots and then deadlock trying to upgrade them.
 *   Transactions never `await`, so they stay short.
 * - `synchronous=FULL`: the WAL is fsynced at every commit, so a message is on disk before
 *   `saveMessages()` resolves and the sender is told it was accepted.
 * - IDs come from `INTEGER PRIMARY KEY AUTOINCREMENT` inside those write transactions, so
 *   they are unique, increasing in acceptance order across processes, and never reused.
 * - Schema creation runs in a `BEGIN IMMEDIATE` transaction keyed on `PRAGMA user_version`,
 *   so several processes may start at once on a new file.
 *
 * Retention: a message row is kept after its last delivery is acknowledged, so a resend
 * with the same (sender, clientMsgId) is still recognised as a duplicate; but its body is
 * cleared to `""` at that moment (and per-recipient bodies go with their deliveries), so the
 * server does not keep ciphertext forever. A message saved with no recipients is stored
 * with an empty body for the same reason.
 *
 * Text may not contain NUL characters (TypeError): SQLite's text API cuts strings at NUL
 * and PostgreSQL rejects it, so refusing it keeps the adapters alike.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  type GroupRecord,
  type MessageKind,
  type NewMessage,
  type NewUser,
  type PendingMessage,
  type PresenceRecord,
  type SavedMessage,
  type ServerRecord,
  type SessionRecord,
  type Store,
  StoreError,
  type UserRecord,
} from "./store.ts";

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

/** The schema version this code creates and understands (kept in `PRAGMA user_version`). */
export const SQLITE_SCHEMA_VERSION = 1;

/** Most queued writes joined into one transaction (bounds how long one commit holds the lock). */
const _MAX_WRITES_PER_TRANSACTION = 256;

const _KINDS: ReadonlySet<string> = new Set<MessageKind>([
  "direct",
  "group",
  "key",
  "group_event",
]);

const _SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  rsa_public_key TEXT NOT NULL,
  identity_key TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash BLOB PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions(user_id, expires_at);
CREATE TABLE IF NOT EXISTS presence (
  user_id INTEGER PRIMARY KEY REFERENCES users(id),
  server_id INTEGER NOT NULL,
  since INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS presence_by_server ON presence(server_id);
CREATE TABLE IF NOT EXISTS servers (
  id INTEGER PRIMARY KEY,
  host TEXT NOT NULL,
  port INTEGER NOT NULL,
  clients INTEGER NOT NULL DEFAULT 0,
  lag_ms INTEGER NOT NULL DEFAULT 0,
  reported_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS groups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  admin_id INTEGER NOT NULL REFERENCES users(id),
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS group_members (
  group_id INTEGER NOT NULL REFERENCES groups(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_members_by_user ON group_members(user_id, group_id);
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sender_id INTEGER NOT NULL,
  client_msg_id TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('direct', 'group', 'key', 'group_event')),
  group_id INTEGER REFERENCES groups(id),
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  remaining INTEGER NOT NULL,
  UNIQUE (sender_id, client_msg_id)
);
CREATE TABLE IF NOT EXISTS deliveries (
  recipient_id INTEGER NOT NULL REFERENCES users(id),
  message_id INTEGER NOT NULL REFERENCES messages(id),
  body TEXT,
  PRIMARY KEY (recipient_id, message_id)
) WITHOUT ROWID;
`;

const _SQL = {
  begin: "BEGIN",
  beginImmediate: "BEGIN IMMEDIATE",
  commit: "COMMIT",
  rollback: "ROLLBACK",
  savepoint: "SAVEPOINT write_item",
  releaseSavepoint: "RELEASE write_item",
  rollbackSavepoint: "ROLLBACK TO write_item",
  insertUser: `INSERT INTO users (username, password_hash, rsa_public_key, identity_key, created_at)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING RETURNING id`,
  userById: "SELECT * FROM users WHERE id = ?",
  userByName: "SELECT * FROM users WHERE username = ?",
  userExists: "SELECT 1 AS x FROM users WHERE id = ?",
  missingUsers: `SELECT DISTINCT j.value AS id FROM json_each(?) AS j
    WHERE NOT EXISTS (SELECT 1 FROM users WHERE users.id = j.value) ORDER BY j.value`,
  missingGroups: `SELECT DISTINCT j.value AS id FROM json_each(?) AS j
    WHERE NOT EXISTS (SELECT 1 FROM groups WHERE groups.id = j.value) ORDER BY j.value`,
  pruneSessions: "DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?",
  insertSession: `INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (token_hash) DO NOTHING`,
  getSession: "SELECT user_id, expires_at FROM sessions WHERE token_hash = ? AND expires_at > ?",
  deleteSession: "DELETE FROM sessions WHERE token_hash = ?",
  setPresence: `INSERT INTO presence (user_id, server_id, since) VALUES (?, ?, ?)
    ON CONFLICT (user_id) DO UPDATE SET server_id = excluded.server_id, since = excluded.since`,
  clearPresence: "DELETE FROM presence WHERE user_id = ? AND server_id = ?",
  clearServerPresence: "DELETE FROM presence WHERE server_id = ?",
  getPresence: `SELECT user_id, server_id FROM presence
    WHERE user_id IN (SELECT value FROM json_each(?)) ORDER BY user_id`,
  upsertServer: `INSERT INTO servers (id, host, port) VALUES (?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET host = excluded.host, port = excluded.port`,
  reportLoad: "UPDATE servers SET clients = ?, lag_ms = ?, reported_at = ? WHERE id = ?",
  listServers: "SELECT * FROM servers ORDER BY id",
  insertGroup: "INSERT INTO groups (name, admin_id, created_at) VALUES (?, ?, ?) RETURNING id",
  insertMember: `INSERT INTO group_members (group_id, user_id) VALUES (?, ?)
    ON CONFLICT DO NOTHING`,
  deleteMember: "DELETE FROM group_members WHERE group_id = ? AND user_id = ?",
  groupById: "SELECT * FROM groups WHERE id = ?",
  membersOf: "SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id",
  groupsOf: `SELECT g.id, g.name, g.admin_id, g.created_at, m.user_id AS member
    FROM group_members AS mine
    JOIN groups AS g ON g.id = mine.group_id
    JOIN group_members AS m ON m.group_id = mine.group_id
    WHERE mine.user_id = ?
    ORDER BY g.id, m.user_id`,
  insertMessage: `INSERT INTO messages
    (sender_id, client_msg_id, kind, group_id, body, created_at, remaining)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (sender_id, client_msg_id) DO NOTHING RETURNING id`,
  existingMessage: `SELECT id, created_at FROM messages
    WHERE sender_id = ? AND client_msg_id = ?`,
  insertDelivery: "INSERT INTO deliveries (recipient_id, message_id, body) VALUES (?, ?, ?)",
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
    ORDER BY d.message_id LIMIT ?`,
  deleteDelivery: "DELETE FROM deliveries WHERE recipient_id = ? AND message_id = ?",
  settleMessage: `UPDATE messages
    SET remaining = remaining - 1, body = CASE WHEN remaining <= 1 THEN '' ELSE body END
    WHERE id = ? RETURNING sender_id, client_msg_id`,
  stats: `SELECT (SELECT count(*) FROM users) AS users,
    (SELECT count(*) FROM messages) AS messages,
    (SELECT count(*) FROM deliveries) AS pending`,
} as const;

type _Statements = { readonly [K in keyof typeof _SQL]: StatementSync };
type _Row = Record<string, unknown>;

/**
 * Opens (creating if needed) the main database at `path` and returns a {@linkcode SqliteStore}.
 * Safe to call from several processes at once on the same, possibly new, file.
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
  #busyTimeoutMs: number;
  /** `PATH-writer.lock`: taken around each write transaction; null for `:memory:`. */
  #lockFile: Deno.FsFile | null;
  /** The pending or granted request for the writer lock, if any. */
  #flock: Promise<boolean> | null = null;
  /** Whether a write is waiting for `#flock` (false once it timed out). */
  #flockWanted = false;
  /** Settles when this process's queued writes are done. */
  #writes: Promise<unknown> = Promise.resolve();
  readonly #writeQueue: {
    fn: () => unknown;
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
  }[] = [];
  #draining = false;

  private constructor(db: DatabaseSync, lockFile: Deno.FsFile | null, busyTimeoutMs: number) {
    this.#db = db;
    this.#lockFile = lockFile;
    this.#busyTimeoutMs = busyTimeoutMs;
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
      await _retryWhileBusy(busyTimeoutMs, () => {
        const row = conn.prepare("PRAGMA journal_mode = WAL").get() as _Row | undefined;
        const mode = String(row?.["journal_mode"] ?? "");
        if (mode !== "wal" && !memory) {
          throw new Error(`Could not switch ${path} to WAL mode; the journal mode is "${mode}"`);
        }
      });
      await _retryWhileBusy(busyTimeoutMs, () => _migrate(conn, path));
      return new SqliteStore(db, lockFile, busyTimeoutMs);
    } catch (err) {
      db?.close();
      lockFile?.close();
      throw err;
    }
  }

  /** Registers a user. Throws StoreError "username_taken" if the name exists. */
  async createUser(user: NewUser): Promise<UserRecord> {
    if (typeof user !== "object" || user === null) {
      throw new TypeError(
        "User must be an object with username, passwordHash, rsaPublicKey, identityKey",
      );
    }
    _text("username", user.username);
    _text("passwordHash", user.passwordHash);
    _text("rsaPublicKey", user.rsaPublicKey);
    _text("identityKey", user.identityKey);
    const st = this.#open();
    const createdAt = Date.now();
    const row = await this.#write(() =>
      st.insertUser.get(
        user.username,
        user.passwordHash,
        user.rsaPublicKey,
        user.identityKey,
        createdAt,
      ) as _Row | undefined
    );
    if (row === undefined) {
      throw new StoreError(
        "username_taken",
        `Username "${user.username}" is already taken; choose another`,
      );
    }
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
      _id("id", id);
      const row = this.#open().userById.get(id) as _Row | undefined;
      return row === undefined ? null : _user(row);
    });
  }

  /** Returns the user with exactly this username, or null. */
  getUserByName(username: string): Promise<UserRecord | null> {
    return _settle(() => {
      _text("username", username);
      const row = this.#open().userByName.get(username) as _Row | undefined;
      return row === undefined ? null : _user(row);
    });
  }

  /**
   * Stores a session under the SHA-256 hash of its token, pruning the user's expired ones.
   * Unknown user: StoreError "not_found"; a hash already stored: StoreError "conflict".
   */
  async createSession(tokenHash: Uint8Array, session: SessionRecord): Promise<void> {
    _hash(tokenHash);
    if (typeof session !== "object" || session === null) {
      throw new TypeError("Session must be an object with userId and expiresAt");
    }
    _id("session.userId", session.userId);
    _time("session.expiresAt", session.expiresAt);
    const st = this.#open();
    await this.#write(() => {
      if (st.userExists.get(session.userId) === undefined) {
        throw new StoreError("not_found", `No user with ID ${session.userId}; cannot log in`);
      }
      st.pruneSessions.run(session.userId, Date.now());
      if (st.insertSession.run(tokenHash, session.userId, session.expiresAt).changes === 0) {
        throw new StoreError("conflict", "A session with this token hash already exists");
      }
    });
  }

  /** Returns the session if it exists and has not expired at `now`. */
  getSession(tokenHash: Uint8Array, now: number): Promise<SessionRecord | null> {
    return _settle(() => {
      _hash(tokenHash);
      _time("now", now);
      const row = this.#open().getSession.get(tokenHash, now) as _Row | undefined;
      if (row === undefined) return null;
      return { userId: row["user_id"] as number, expiresAt: row["expires_at"] as number };
    });
  }

  /** Deletes a session; deleting one that does not exist is not an error. */
  async deleteSession(tokenHash: Uint8Array): Promise<void> {
    _hash(tokenHash);
    const st = this.#open();
    await this.#write(() => st.deleteSession.run(tokenHash));
  }

  /**
   * Records that `userId` is connected to `serverId` (replacing any earlier server).
   * Unknown user: StoreError "not_found".
   */
  async setPresence(userId: number, serverId: number): Promise<void> {
    _id("userId", userId);
    _id("serverId", serverId);
    const st = this.#open();
    await this.#write(() => {
      if (st.userExists.get(userId) === undefined) {
        throw new StoreError("not_found", `No user with ID ${userId}; cannot record presence`);
      }
      st.setPresence.run(userId, serverId, Date.now());
    });
  }

  /** Removes presence only if it still points at `serverId` (a newer login elsewhere wins). */
  async clearPresence(userId: number, serverId: number): Promise<void> {
    _id("userId", userId);
    _id("serverId", serverId);
    const st = this.#open();
    await this.#write(() => st.clearPresence.run(userId, serverId));
  }

  /** Removes every presence on a server (on server start, after a crash). */
  async clearServerPresence(serverId: number): Promise<void> {
    _id("serverId", serverId);
    const st = this.#open();
    await this.#write(() => st.clearServerPresence.run(serverId));
  }

  /** Presence for the given users, by ascending user ID; offline users are absent. */
  getPresence(userIds: readonly number[]): Promise<PresenceRecord[]> {
    return _settle(() => {
      _ids("userIds", userIds);
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
    if (typeof server !== "object" || server === null) {
      throw new TypeError("Server must be an object with id, host and port");
    }
    _id("server.id", server.id);
    _text("server.host", server.host);
    if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65535) {
      throw new RangeError(`server.port must be an integer from 1 to 65535, got ${server.port}`);
    }
    const st = this.#open();
    await this.#write(() => st.upsertServer.run(server.id, server.host, server.port));
  }

  /** Records a load report. Unknown server: StoreError "not_found". */
  async reportLoad(
    serverId: number,
    load: { clients: number; lagMs: number },
    at: number,
  ): Promise<void> {
    _id("serverId", serverId);
    if (typeof load !== "object" || load === null) {
      throw new TypeError("Load must be an object with clients and lagMs");
    }
    _count("load.clients", load.clients);
    _count("load.lagMs", load.lagMs);
    _time("at", at);
    const st = this.#open();
    const changes = await this.#write(() =>
      st.reportLoad.run(load.clients, load.lagMs, at, serverId).changes
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

  /**
   * Creates a group; the admin is added as a member and members are deduplicated.
   * Unknown admin or member IDs: StoreError "not_found" naming them.
   */
  async createGroup(
    name: string,
    adminId: number,
    memberIds: readonly number[],
  ): Promise<GroupRecord> {
    _text("name", name);
    _id("adminId", adminId);
    _ids("memberIds", memberIds);
    const st = this.#open();
    const members = [...new Set([adminId, ...memberIds])].sort((a, b) => a - b);
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
      _id("groupId", groupId);
      const st = this.#open();
      return this.#read(() => {
        const row = st.groupById.get(groupId) as _Row | undefined;
        if (row === undefined) return null;
        const members = (st.membersOf.all(groupId) as _Row[]).map((r) => r["user_id"] as number);
        return {
          id: row["id"] as number,
          name: row["name"] as string,
          adminId: row["admin_id"] as number,
          members,
          createdAt: row["created_at"] as number,
        };
      });
    });
  }

  /**
   * Adds a member; returns false if already a member. Unknown group or user: StoreError
   * "not_found".
   */
  async addMember(groupId: number, userId: number): Promise<boolean> {
    _id("groupId", groupId);
    _id("userId", userId);
    const st = this.#open();
    return await this.#write(() => {
      if (st.groupById.get(groupId) === undefined) {
        throw new StoreError("not_found", `No group with ID ${groupId}`);
      }
      if (st.userExists.get(userId) === undefined) {
        throw new StoreError("not_found", `No user with ID ${userId}; cannot add to a group`);
      }
      return st.insertMember.run(groupId, userId).changes > 0;
    });
  }

  /**
   * Removes a member; returns false if not a member (or no such group). Removing the admin
   * is StoreError "conflict": the admin is always a member.
   */
  async removeMember(groupId: number, userId: number): Promise<boolean> {
    _id("groupId", groupId);
    _id("userId", userId);
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
      _id("userId", userId);
      const rows = this.#open().groupsOf.all(userId) as _Row[];
      const out: {
        id: number;
        name: string;
        adminId: number;
        members: number[];
        createdAt: number;
      }[] = [];
      for (const r of rows) {
        const id = r["id"] as number;
        let last = out[out.length - 1];
        if (last === undefined || last.id !== id) {
          last = {
            id,
            name: r["name"] as string,
            adminId: r["admin_id"] as number,
            members: [],
            createdAt: r["created_at"] as number,
          };
          out.push(last);
        }
        last.members.push(r["member"] as number);
      }
      return out;
    });
  }

  /**
   * Persists messages and their deliveries in one `BEGIN IMMEDIATE` transaction, fsynced
   * before this resolves. Idempotent on (senderId, clientMsgId), also within one batch.
   * Returns one result per input, in order. Any invalid message rejects the whole batch before
   * anything is written; unknown recipients or groups reject it with StoreError "not_found".
   */
  async saveMessages(messages: readonly NewMessage[]): Promise<SavedMessage[]> {
    if (!Array.isArray(messages)) {
      throw new TypeError("saveMessages() expects an array of messages");
    }
    messages.forEach(_checkMessage);
    this.#open();
    if (messages.length === 0) return [];
    return await this.#write(() => {
      try {
        return this.#insertMessages(messages);
      } catch (err) {
        // Foreign keys are checked per statement, so the transaction is still open here and
        // the explanation sees the same snapshot; then the whole batch is rolled back.
        if (_isForeignKeyError(err)) throw this.#explainMissing(messages);
        throw err;
      }
    });
  }

  /** The body of {@linkcode saveMessages}' transaction. */
  #insertMessages(messages: readonly NewMessage[]): SavedMessage[] {
    const st = this.#st;
    const createdAt = Date.now();
    const out: SavedMessage[] = new Array(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const n = m.recipients.length;
      const row = st.insertMessage.get(
        m.senderId,
        m.clientMsgId,
        m.kind,
        m.groupId,
        n === 0 ? "" : m.body,
        createdAt,
        n,
      ) as _Row | undefined;
      if (row === undefined) {
        const old = st.existingMessage.get(m.senderId, m.clientMsgId) as _Row;
        out[i] = {
          id: old["id"] as number,
          createdAt: old["created_at"] as number,
          duplicate: true,
        };
        continue;
      }
      const id = row["id"] as number;
      for (const r of m.recipients) st.insertDelivery.run(r.userId, id, r.body ?? null);
      out[i] = { id, createdAt, duplicate: false };
    }
    return out;
  }

  /** Deliveries still pending for a user, in acceptance order, after `afterId`, at most `limit`. */
  pendingFor(userId: number, afterId: number, limit: number): Promise<PendingMessage[]> {
    return _settle(() => {
      _id("userId", userId);
      _count("afterId", afterId);
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new RangeError(`limit must be a positive integer, got ${limit}`);
      }
      const rows = this.#open().pendingFor.all(userId, afterId, limit) as _Row[];
      return rows.map((r) => _pending(r, userId));
    });
  }

  /** Deliveries pending for users present on `serverId`, accepted before `before`. */
  pendingOnServer(serverId: number, before: number, limit: number): Promise<PendingMessage[]> {
    return _settle(() => {
      _id("serverId", serverId);
      _count("before", before);
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new RangeError(`limit must be a positive integer, got ${limit}`);
      }
      const rows = this.#open().pendingOnServer.all(serverId, before, limit) as _Row[];
      return rows.map((r) => _pending(r, r["recipient_id"] as number));
    });
  }

  /**
   * Marks deliveries to `userId` as done and removes them. Returns, by ascending ID, the
   * message IDs that were pending, with senders; IDs not pending (already acked, never
   * addressed to this user, repeated) are left out. Clears a message's body once its last
   * delivery is acked.
   */
  async ackDeliveries(
    userId: number,
    messageIds: readonly number[],
  ): Promise<{ id: number; senderId: number; clientMsgId: string | null }[]> {
    _id("userId", userId);
    _ids("messageIds", messageIds);
    const st = this.#open();
    if (messageIds.length === 0) return [];
    const ids = [...new Set(messageIds)].sort((a, b) => a - b);
    return await this.#write(() => {
      const out: { id: number; senderId: number; clientMsgId: string | null }[] = [];
      for (const id of ids) {
        if (st.deleteDelivery.run(userId, id).changes === 0) continue;
        const row = st.settleMessage.get(id) as _Row;
        out.push({
          id,
          senderId: row["sender_id"] as number,
          clientMsgId: row["client_msg_id"] as string | null,
        });
      }
      return out;
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

  /**
   * Closes the database after the writes already queued; closing twice is harmless. Other
   * methods then reject.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes;
    this.#db.close();
    this.#lockFile?.close();
  }

  #open(): _Statements {
    if (this.#closed) throw new TypeError("The store is closed; open a new one to use it");
    return this.#st;
  }

  /**
   * Runs `fn` in a `BEGIN IMMEDIATE` transaction (rolled back if it throws), after this
   * process's earlier writes and while holding the cross-process writer lock.
   */
  #write<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#writeQueue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#draining) this.#writes = this.#drain();
    });
  }

  /**
   * Group commit inside the store: every write queued while the previous transaction was
   * waiting for the lock or committing runs in the next single transaction, so the
   * fsync, and the cross-process writer lock, are paid once per batch instead of once per
   * ack, presence change or message batch. Each write runs in its own SAVEPOINT, so one
   * that fails rolls back alone and only its caller sees the error.
   */
  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#writeQueue.length > 0) {
        const locked = await this.#lockWriters();
        const batch = this.#writeQueue.splice(0, _MAX_WRITES_PER_TRANSACTION);
        const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
        try {
          this.#st.beginImmediate.run();
          try {
            for (const item of batch) {
              this.#st.savepoint.run();
              try {
                const value = item.fn();
                this.#st.releaseSavepoint.run();
                results.push({ ok: true, value });
              } catch (error) {
                this.#st.rollbackSavepoint.run();
                this.#st.releaseSavepoint.run();
                results.push({ ok: false, error });
              }
            }
            this.#st.commit.run();
          } catch (err) {
            if (this.#db.isTransaction) this.#st.rollback.run();
            throw err;
          }
        } catch (err) {
          // The transaction itself failed (busy, disk full): every write in it failed.
          for (const item of batch) item.reject(err);
          continue;
        } finally {
          if (locked) this.#unlockWriters();
        }
        batch.forEach((item, i) => {
          const r = results[i]!;
          if (r.ok) item.resolve(r.value);
          else item.reject(r.error);
        });
      }
    } finally {
      this.#draining = false;
    }
  }

  /**
   * Waits, without blocking the event loop, for the writer lock file; true once held. After
   * `busyTimeoutMs` it gives up and returns false, and the write falls back on SQLite's own
   * locking (which waits up to the same timeout, then fails with "database is locked").
   */
  async #lockWriters(): Promise<boolean> {
    const file = this.#lockFile;
    if (file === null) return false;
    if (this.#flock === null) {
      const request: Promise<boolean> = file.lock(true).then(
        () => {
          if (this.#flockWanted) return true;
          // Granted after its waiter gave up: let the other processes have it.
          this.#flock = null;
          _unlock(file);
          return false;
        },
        () => {
          this.#flock = null;
          return false;
        },
      );
      this.#flock = request;
    }
    this.#flockWanted = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#busyTimeoutMs);
    });
    try {
      return await Promise.race([this.#flock, timeout]);
    } finally {
      clearTimeout(timer);
      this.#flockWanted = false;
    }
  }

  #unlockWriters(): void {
    this.#flock = null;
    if (this.#lockFile !== null) _unlock(this.#lockFile);
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
    const missingUsers = (st.missingUsers.all(JSON.stringify(users)) as _Row[]).map((r) => r["id"]);
    const missingGroups = (st.missingGroups.all(JSON.stringify(groups)) as _Row[]).map((r) =>
      r["id"]
    );
    const parts: string[] = [];
    if (missingUsers.length > 0) parts.push(`recipient user ID(s) ${missingUsers.join(", ")}`);
    if (missingGroups.length > 0) parts.push(`group ID(s) ${missingGroups.join(", ")}`);
    return new StoreError(
      "not_found",
      `Unknown ${parts.join(" and ") || "recipient or group"}; nothing in the batch was saved`,
    );
  }
}

/** Releases a lock file's lock; a file already closed has no lock left to release. */
function _unlock(file: Deno.FsFile): void {
  try {
    file.unlockSync();
  } catch (err) {
    if (!(err instanceof Deno.errors.BadResource)) throw err;
  }
}

/** Runs `fn` now and returns its result as a promise; a throw becomes a rejection. */
function _settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Creates the schema if the file is new; checks its version otherwise. */
function _migrate(db: DatabaseSync, path: string): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    const row = db.prepare("PRAGMA user_version").get() as _Row;
    const version = row["user_version"] as number;
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new RangeError(
        `${path} has schema version ${version}, newer than this FastChat supports ` +
          `(${SQLITE_SCHEMA_VERSION}); upgrade FastChat`,
      );
    }
    if (version < SQLITE_SCHEMA_VERSION) {
      db.exec(_SCHEMA);
      db.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION}`);
    }
    db.exec("COMMIT");
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

/** Runs `fn`, retrying for up to `timeoutMs` while SQLite reports the database busy. */
async function _retryWhileBusy(timeoutMs: number, fn: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5;; delay = Math.min(delay * 2, 100)) {
    try {
      return fn();
    } catch (err) {
      if (!_isBusyError(err) || Date.now() >= deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function _isBusyError(err: unknown): boolean {
  return err instanceof Error &&
    /database is locked|database is busy|SQLITE_BUSY/i.test(err.message);
}

function _isForeignKeyError(err: unknown): boolean {
  return err instanceof Error && /FOREIGN KEY constraint failed/.test(err.message);
}

function _user(row: _Row): UserRecord {
  return {
    id: row["id"] as number,
    username: row["username"] as string,
    passwordHash: row["password_hash"] as string,
    rsaPublicKey: row["rsa_public_key"] as string,
    identityKey: row["identity_key"] as string,
    createdAt: row["created_at"] as number,
  };
}

function _checkMessage(m: NewMessage, i: number): void {
  const at = `messages[${i}]`;
  if (typeof m !== "object" || m === null) throw new TypeError(`${at} must be an object`);
  _count(`${at}.senderId`, m.senderId);
  if (m.clientMsgId !== null && (typeof m.clientMsgId !== "string" || m.clientMsgId === "")) {
    throw new TypeError(`${at}.clientMsgId must be a non-empty string or null`);
  }
  if (!_KINDS.has(m.kind)) {
    throw new TypeError(
      `${at}.kind must be one of ${[..._KINDS].join(", ")}, got ${String(m.kind)}`,
    );
  }
  if (m.groupId !== null) _id(`${at}.groupId`, m.groupId);
  _body(`${at}.body`, m.body);
  if (!Array.isArray(m.recipients)) throw new TypeError(`${at}.recipients must be an array`);
  const seen = new Set<number>();
  for (let j = 0; j < m.recipients.length; j++) {
    const r = m.recipients[j]!;
    const rat = `${at}.recipients[${j}]`;
    if (typeof r !== "object" || r === null) throw new TypeError(`${rat} must be an object`);
    _id(`${rat}.userId`, r.userId);
    if (r.body !== undefined) _body(`${rat}.body`, r.body);
    if (seen.has(r.userId)) {
      throw new TypeError(`${rat}.userId ${r.userId} is listed twice; list each recipient once`);
    }
    seen.add(r.userId);
  }
}

/** A database ID: a positive safe integer. */
function _id(name: string, value: number): void {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  }
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

function _ids(name: string, values: readonly number[]): void {
  if (!Array.isArray(values)) throw new TypeError(`${name} must be an array of IDs`);
  for (let i = 0; i < values.length; i++) _id(`${name}[${i}]`, values[i]!);
}

/** A count or cursor: a non-negative safe integer. */
function _count(name: string, value: number): void {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

/** A Unix-milliseconds time. */
function _time(name: string, value: number): void {
  _count(name, value);
}

function _text(name: string, value: string): void {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${typeof value}`);
  }
  if (value === "") throw new TypeError(`${name} must not be empty`);
  _noNul(name, value);
}

/** A message body: any string without NUL (ciphertext is base64, events are JSON). */
function _body(name: string, value: string): void {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${typeof value}`);
  }
  _noNul(name, value);
}

/** SQLite's text API and PostgreSQL's text type both stop at or reject NUL characters. */
function _noNul(name: string, value: string): void {
  if (value.includes("\0")) {
    throw new TypeError(`${name} must not contain NUL characters`);
  }
}

/** A pending delivery from a row of the pending queries. */
function _pending(r: _Row, recipientId: number): PendingMessage {
  return {
    id: r["id"] as number,
    senderId: r["sender_id"] as number,
    clientMsgId: r["client_msg_id"] as string | null,
    kind: r["kind"] as MessageKind,
    groupId: r["group_id"] as number | null,
    body: r["body"] as string,
    recipientId,
    createdAt: r["created_at"] as number,
  };
}

function _hash(tokenHash: Uint8Array): void {
  if (!(tokenHash instanceof Uint8Array)) {
    throw new TypeError("tokenHash must be a Uint8Array (the SHA-256 of the session token)");
  }
  if (tokenHash.length !== 32) {
    throw new RangeError(`tokenHash must be 32 bytes (SHA-256), got ${tokenHash.length}`);
  }
}
