/**
 * The main database on PostgreSQL: a {@linkcode Store} for servers on several machines, on
 * the npm `postgres` driver with a connection pool and prepared statements.
 *
 * Design:
 * - **One statement per call.** Every method is a single SQL statement (data-modifying CTEs,
 *   or the `fastchat_save_messages` function for a batch of messages), so it is its own
 *   transaction and runs to its end inside PostgreSQL. A server that hangs (SIGSTOP, a long
 *   pause) between round trips therefore never holds a transaction or a lock open, and the
 *   other servers keep writing. Only migrations use an explicit transaction.
 * - **Group commit.** The server hands `saveMessages()` many messages at once; they are
 *   written by one statement, in one transaction, with one WAL flush. Acknowledgements are
 *   joined the same way inside the store: the `ackDeliveries()` calls made while one
 *   statement runs go together in the next. An acknowledgement only deletes deliveries (no
 *   message row is updated, so the acks of one group message never wait for each other);
 *   `settle()` deletes the rows of messages left with no delivery afterwards, keeping their
 *   idempotency records (`sent_ids`).
 * - **Pending bounds.** `pending_totals` keeps each recipient's pending count and bytes. A save
 *   locks the totals of its recipients in user-ID order (as acknowledgements and expiry do, so
 *   they never deadlock) before it reads them, so concurrent batches to one recipient take turns
 *   and the bound holds exactly. The totals also hold a hint for expiry (a time at or before the
 *   oldest pending delivery), so the expiry sweep visits only recipients that have something old
 *   and needs no index of deliveries by message.
 * - **Rate limits.** One row per bucket; `fastchat_take_attempt` upserts and locks its buckets in
 *   key order, checks and takes in one function call.
 * - **Plans.** The functions look everything up by key and run with sequential scans off:
 *   PostgreSQL caches their plans, and a plan made while a new table was small would
 *   otherwise scan the table whole long after it grew.
 * - **IDs visible in ID order, without serial commits.** A sequence alone would let a
 *   transaction that drew ID 6 commit before the one that drew ID 5, and a reader paging
 *   with `afterId = 6` would skip 5 forever. `fastchat_save_messages` takes its transaction
 *   ID and a block of message IDs together under an advisory lock held for microseconds, so
 *   message IDs follow transaction IDs; the pending queries return only messages whose
 *   transaction is older than every transaction still running (`pg_snapshot_xmin`). When
 *   they return message X, every message with a smaller ID has a smaller transaction ID, so
 *   it has committed (and is returned too) or aborted. Commits from different servers run in
 *   parallel. The price: while any write transaction in the PostgreSQL cluster is older
 *   than a message, the replay and the sweep hold that message back (live pushes do not
 *   wait); FastChat's own transactions last milliseconds, so keep long write transactions
 *   off the database cluster FastChat uses.
 * - **Timeouts.** A call that has no answer within `queryTimeoutMs` (a network partition
 *   keeps TCP silent for minutes) fails with StoreError `unavailable`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { fromHex, toHex } from "../../crypto/bytes.ts";
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
} from "../records.ts";
import { openPool, type PgFailure, pgFailure, redactUrl, type Sql } from "./driver.ts";
import { migratePostgres } from "./schema.ts";
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

export { PG_SCHEMA_VERSION } from "./schema.ts";

/** Options for {@linkcode openPostgresStore}. */
export interface PostgresStoreOptions {
  /** Most connections in the pool (default 8). */
  readonly poolSize?: number;
  /** A call with no answer after this many milliseconds fails as `unavailable` (default 15 s). */
  readonly queryTimeoutMs?: number;
  /** `application_name` for `pg_stat_activity` (default "fastchat"). */
  readonly applicationName?: string;
}

const _SQL = {
  // Any unique index refusing the name (the folded one included) makes this insert nothing.
  insertUser: `INSERT INTO users (username, password_hash, rsa_public_key, identity_key, created_at)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id`,
  userById: "SELECT * FROM users WHERE id = $1",
  // The expression of users_by_folded_name, which serves the search: ASCII-only folding.
  userByName: `SELECT * FROM users
    WHERE lower(username COLLATE "C") = lower($1::text COLLATE "C")
    ORDER BY username = $1 DESC, name_rank LIMIT 1`,
  missingUsers: `SELECT DISTINCT u AS id FROM unnest($1::bigint[]) AS u
    WHERE NOT EXISTS (SELECT 1 FROM users WHERE users.id = u) ORDER BY u`,
  missingGroups: `SELECT DISTINCT g AS id FROM unnest($1::bigint[]) AS g
    WHERE NOT EXISTS (SELECT 1 FROM groups WHERE groups.id = g) ORDER BY g`,
  createSession: `WITH u AS (SELECT id FROM users WHERE id = $2),
    pruned AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM u) AND expires_at <= $4),
    ins AS (INSERT INTO sessions (token_hash, user_id, expires_at, device_id)
      SELECT $1, id, $3, $5::bigint FROM u ON CONFLICT (token_hash) DO NOTHING RETURNING 1)
    SELECT (SELECT count(*) FROM u) AS users, (SELECT count(*) FROM ins) AS inserted`,
  getSession: `SELECT user_id, expires_at, device_id FROM sessions
    WHERE token_hash = $1 AND expires_at > $2`,
  deleteSession: "DELETE FROM sessions WHERE token_hash = $1",
  // sessions_by_user finds them: an account has a handful of sessions.
  deleteDeviceSessions: `DELETE FROM sessions WHERE user_id = $1 AND device_id = $2
    RETURNING encode(token_hash, 'hex') AS h`,
  deleteUnboundSessions: `DELETE FROM sessions WHERE user_id = $1 AND device_id IS NULL
    RETURNING encode(token_hash, 'hex') AS h`,
  appendDeviceList: `SELECT r_status, r_newest
    FROM fastchat_append_device_list($1, $2, $3, $4, $5, $6)`,
  deviceLists: `SELECT * FROM device_lists WHERE user_id = $1 AND version >= $2
    ORDER BY version LIMIT $3`,
  latestDeviceList: `SELECT * FROM device_lists WHERE user_id = $1
    ORDER BY version DESC LIMIT 1`,
  openLinkSlot: "SELECT fastchat_open_link_slot($1, $2, $3, $4) AS opened",
  appendLinkStep: "SELECT r_status, r_steps FROM fastchat_append_link_step($1, $2, $3, $4, $5)",
  // One statement, so the slot and its steps are read from one snapshot.
  linkSlot: `SELECT s.created_at, s.expires_at,
      array(SELECT t.value FROM link_steps AS t WHERE t.slot = s.slot ORDER BY t.idx) AS steps
    FROM link_slots AS s WHERE s.slot = $1 AND s.expires_at > $2`,
  // Its steps go with it (ON DELETE CASCADE).
  deleteLinkSlot: "DELETE FROM link_slots WHERE slot = $1",
  putPrekeys: "SELECT r_status, r_count FROM fastchat_put_prekeys($1, $2, $3, $4, $5, $6, $7)",
  takePrekeys: "SELECT r_bundle, r_key, r_remaining FROM fastchat_take_prekeys($1, $2)",
  prekeyCount: `SELECT (SELECT count(*) FROM one_time_prekeys AS k
      WHERE k.user_id = b.user_id AND k.device_id = b.device_id)::integer AS n
    FROM prekey_bundles AS b WHERE b.user_id = $1 AND b.device_id = $2`,
  deletePrekeys: `WITH k AS (DELETE FROM one_time_prekeys WHERE user_id = $1 AND device_id = $2)
    DELETE FROM prekey_bundles WHERE user_id = $1 AND device_id = $2`,
  liveSessions: `SELECT encode(token_hash, 'hex') AS h FROM sessions
    WHERE token_hash IN (SELECT decode(x, 'hex') FROM unnest($1::text[]) AS x)
      AND expires_at > $2`,
  setContacts: `SELECT status, missing
    FROM fastchat_set_contacts($1, $2::bigint[], $3::text[], $4, $5)`,
  contactState: "SELECT state FROM contacts WHERE owner_id = $1 AND user_id = $2",
  listContacts: `SELECT user_id FROM contacts WHERE owner_id = $1 AND state = $2
    ORDER BY user_id`,
  addPresence: `INSERT INTO presence (user_id, server_id, since) VALUES ($1, $2, $3)
    ON CONFLICT (user_id, server_id) DO NOTHING`,
  removePresence: "DELETE FROM presence WHERE user_id = $1 AND server_id = $2",
  clearServerPresence: "DELETE FROM presence WHERE server_id = $1",
  getPresence: `SELECT user_id, server_id FROM presence WHERE user_id = ANY($1::bigint[])
    ORDER BY user_id, server_id`,
  upsertServer: `INSERT INTO servers (id, host, port) VALUES ($1, $2, $3)
    ON CONFLICT (id) DO UPDATE SET host = excluded.host, port = excluded.port`,
  reportLoad: `UPDATE servers SET clients = $1, lag_ms = $2, reported_at = $3 WHERE id = $4
    RETURNING id`,
  listServers: "SELECT * FROM servers ORDER BY id",
  createGroup: `WITH g AS (
      INSERT INTO groups (name, admin_id, created_at) VALUES ($1, $2, $3) RETURNING id),
    m AS (INSERT INTO group_members (group_id, user_id)
      SELECT g.id, u FROM g, unnest($4::bigint[]) AS u)
    SELECT id FROM g`,
  getGroup: `SELECT g.id, g.name, g.admin_id, g.created_at,
      array(SELECT user_id FROM group_members WHERE group_id = g.id ORDER BY user_id) AS members
    FROM groups AS g WHERE g.id = $1 AND g.deleted_at IS NULL`,
  // Adding and removing lock the group's row (FOR SHARE) before they decide, so they wait
  // for a handover or deletion of the group in progress and then see what it left (see
  // version 5 of postgres/schema.ts).
  addMember: `WITH g AS (SELECT id FROM groups WHERE id = $1 AND deleted_at IS NULL FOR SHARE),
    ins AS (INSERT INTO group_members (group_id, user_id) SELECT g.id, $2 FROM g
      ON CONFLICT DO NOTHING RETURNING 1)
    SELECT (SELECT count(*) FROM g) AS found, (SELECT count(*) FROM ins) AS added`,
  removeMember: `WITH g AS (
      SELECT admin_id FROM groups WHERE id = $1 AND deleted_at IS NULL FOR SHARE),
    del AS (DELETE FROM group_members WHERE group_id = $1 AND user_id = $2
      AND EXISTS (SELECT 1 FROM g WHERE admin_id <> $2) RETURNING 1)
    SELECT (SELECT admin_id FROM g) AS admin_id, (SELECT count(*) FROM del) AS removed`,
  setGroupAdmin: `SELECT r_status, r_name, r_admin, r_created, r_members
    FROM fastchat_set_group_admin($1, $2, $3)`,
  deleteGroup: `SELECT r_status, r_name, r_admin, r_created, r_members
    FROM fastchat_delete_group($1, $2, $3)`,
  groupsOf: `SELECT g.id, g.name, g.admin_id, g.created_at, m.user_id AS member
    FROM group_members AS mine
    JOIN groups AS g ON g.id = mine.group_id
    JOIN group_members AS m ON m.group_id = mine.group_id
    WHERE mine.user_id = $1
    ORDER BY g.id, m.user_id`,
  saveMessages: `SELECT msg_id, msg_created_at, is_duplicate, full_recipients
    FROM fastchat_save_messages($1::text::jsonb, $2, $3, $4)`,
  pendingFor: `SELECT m.id, m.sender_id, m.client_msg_id, m.kind, m.group_id,
      coalesce(d.body, m.body) AS body, m.created_at
    FROM deliveries AS d JOIN messages AS m ON m.id = d.message_id
    WHERE d.recipient_id = $1 AND d.message_id > $2
      AND (m.tx IS NULL OR m.tx < pg_snapshot_xmin(pg_current_snapshot()))
    ORDER BY d.message_id LIMIT $3`,
  pendingOnServer: `SELECT m.id, m.sender_id, m.client_msg_id, m.kind, m.group_id,
      coalesce(d.body, m.body) AS body, m.created_at, d.recipient_id
    FROM presence AS p
    JOIN deliveries AS d ON d.recipient_id = p.user_id
    JOIN messages AS m ON m.id = d.message_id
    WHERE p.server_id = $1 AND m.created_at < $2
      AND (m.tx IS NULL OR m.tx < pg_snapshot_xmin(pg_current_snapshot()))
    ORDER BY d.message_id, d.recipient_id LIMIT $3`,
  ackDeliveries: `SELECT recipient_id, id, sender_id, client_msg_id
    FROM fastchat_ack($1::bigint[], $2::bigint[])`,
  expirePending: "SELECT fastchat_expire($1, $2) AS n",
  settle: "SELECT fastchat_settle($1, $2, $3) AS n",
  takeAttempt: `SELECT fastchat_take_attempt($1::text[], $2::bigint[], $3::bigint[], $4)
    AS wait`,
  refundAttempt: "SELECT fastchat_refund_attempt($1::text[], $2::bigint[]) AS done",
  stats: `SELECT (SELECT count(*) FROM users) AS users,
    (SELECT count(*) FROM messages) AS messages,
    (SELECT count(*) FROM deliveries) AS pending`,
} as const;

type _Row = Record<string, unknown>;

/** How long acknowledgements gather before a statement settles them, milliseconds. */
const _ACK_GATHER_MS = 2;

/** Most acknowledgement calls joined into one statement. */
const _ACKS_PER_STATEMENT = 512;

/**
 * Connects to the PostgreSQL database at `url` (`postgres://user:pass@host:port/db`),
 * creating or migrating its schema if needed, and returns a {@linkcode PostgresStore}. Safe
 * to call from several servers at once. Fails with StoreError `unavailable` when the
 * database cannot be reached.
 *
 * @example
 * ```ts ignore
 * const store = await openPostgresStore("postgres://fastchat@db.internal:5432/fastchat");
 * ```
 */
export function openPostgresStore(
  url: string,
  opts: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  return PostgresStore.open(url, opts);
}

/** A {@linkcode Store} on a PostgreSQL database, shareable by servers on many machines. */
export class PostgresStore implements Store {
  readonly #sql: Sql;
  readonly #where: string;
  readonly #timeoutMs: number;
  #closed = false;
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Acknowledgements waiting for the next combined statement. */
  #acks: {
    userId: number;
    ids: number[];
    resolve: (r: AckedDelivery[]) => void;
    reject: (e: unknown) => void;
  }[] = [];
  #acking = false;
  #ackLoop: Promise<void> = Promise.resolve();
  #closing: Promise<void> | null = null;

  private constructor(sql: Sql, where: string, timeoutMs: number) {
    this.#sql = sql;
    this.#where = where;
    this.#timeoutMs = timeoutMs;
  }

  /** Connects and migrates; see {@linkcode openPostgresStore}. */
  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    if (typeof url !== "string" || !/^postgres(ql)?:\/\//.test(url)) {
      throw new TypeError(
        `A PostgreSQL URL must start with postgres:// or postgresql://, got "${String(url)}"`,
      );
    }
    const poolSize = opts.poolSize ?? 8;
    if (!Number.isSafeInteger(poolSize) || poolSize < 1 || poolSize > 100) {
      throw new RangeError(`poolSize must be an integer from 1 to 100, got ${String(poolSize)}`);
    }
    const timeoutMs = opts.queryTimeoutMs ?? 15_000;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
      throw new RangeError(
        `queryTimeoutMs must be a positive integer, got ${String(opts.queryTimeoutMs)}`,
      );
    }
    const where = redactUrl(url);
    const sql = openPool(url, {
      max: poolSize,
      connectTimeoutS: Math.max(1, Math.ceil(timeoutMs / 1000)),
      applicationName: opts.applicationName ?? "fastchat",
    });
    try {
      await migratePostgres(sql, where);
    } catch (err) {
      await sql.end({ timeout: 1 }).catch(() => {});
      if (err instanceof RangeError || err instanceof TypeError) throw err;
      throw _storeError(err, where) ?? err;
    }
    return new PostgresStore(sql, where, timeoutMs);
  }

  /** Registers a user; see {@linkcode Store.createUser}. */
  async createUser(user: NewUser): Promise<UserRecord> {
    checkNewUser(user);
    const createdAt = Date.now();
    const rows = await this.#run("insertUser", [
      user.username,
      user.passwordHash,
      user.rsaPublicKey,
      user.identityKey,
      createdAt,
    ]);
    const row = rows[0];
    if (row === undefined) {
      const [taken] = await this.#run("userByName", [user.username]);
      throw usernameTakenError(user.username, (taken?.["username"] as string) ?? null);
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
  async getUserById(id: number): Promise<UserRecord | null> {
    checkId("id", id);
    const [row] = await this.#run("userById", [id]);
    return row === undefined ? null : userFromRow(row);
  }

  /** The user with this name ignoring ASCII case, or null; see {@linkcode Store.getUserByName}. */
  async getUserByName(username: string): Promise<UserRecord | null> {
    checkText("username", username);
    const [row] = await this.#run("userByName", [username]);
    return row === undefined ? null : userFromRow(row);
  }

  /** Stores a session; see {@linkcode Store.createSession}. */
  async createSession(tokenHash: Uint8Array, session: SessionRecord): Promise<void> {
    checkSession(tokenHash, session);
    const [row] = await this.#run("createSession", [
      _bytes(tokenHash),
      session.userId,
      session.expiresAt,
      Date.now(),
      session.deviceId ?? null,
    ]);
    if (Number(row?.["users"]) === 0) {
      throw new StoreError("not_found", `No user with ID ${session.userId}; cannot log in`);
    }
    if (Number(row?.["inserted"]) === 0) {
      throw new StoreError("conflict", "A session with this token hash already exists");
    }
  }

  /** Returns the session if it exists and has not expired at `now`. */
  async getSession(tokenHash: Uint8Array, now: number): Promise<SessionRecord | null> {
    checkTokenHash(tokenHash);
    checkCount("now", now);
    const [row] = await this.#run("getSession", [_bytes(tokenHash), now]);
    return row === undefined ? null : sessionFromRow(row);
  }

  /** The token hashes among these whose session is alive at `now`. */
  async liveSessions(tokenHashes: readonly Uint8Array[], now: number): Promise<Uint8Array[]> {
    if (!Array.isArray(tokenHashes)) throw new TypeError("tokenHashes must be an array");
    tokenHashes.forEach(checkTokenHash);
    checkCount("now", now);
    if (tokenHashes.length === 0) return [];
    const rows = await this.#run("liveSessions", [tokenHashes.map(toHex), now]);
    return rows.map((r) => fromHex(r["h"] as string));
  }

  /** Deletes a session; deleting one that does not exist is not an error. */
  async deleteSession(tokenHash: Uint8Array): Promise<void> {
    checkTokenHash(tokenHash);
    await this.#run("deleteSession", [_bytes(tokenHash)]);
  }

  /** Deletes a device's sessions; see {@linkcode Store.deleteDeviceSessions}. */
  async deleteDeviceSessions(userId: number, deviceId: number): Promise<Uint8Array[]> {
    checkId("userId", userId);
    checkId("deviceId", deviceId);
    const rows = await this.#run("deleteDeviceSessions", [userId, deviceId]);
    return rows.map((r) => fromHex(r["h"] as string));
  }

  /** Deletes the sessions bound to no device; see {@linkcode Store.deleteUnboundSessions}. */
  async deleteUnboundSessions(userId: number): Promise<Uint8Array[]> {
    checkId("userId", userId);
    const rows = await this.#run("deleteUnboundSessions", [userId]);
    return rows.map((r) => fromHex(r["h"] as string));
  }

  /** Records a live connection of `userId` on `serverId`; see {@linkcode Store.addPresence}. */
  async addPresence(userId: number, serverId: number): Promise<void> {
    checkId("userId", userId);
    checkId("serverId", serverId);
    await this.#run("addPresence", [userId, serverId, Date.now()], {
      foreign_key: () =>
        new StoreError("not_found", `No user with ID ${userId}; cannot record presence`),
    });
  }

  /** Removes the record of `userId` on `serverId` only. */
  async removePresence(userId: number, serverId: number): Promise<void> {
    checkId("userId", userId);
    checkId("serverId", serverId);
    await this.#run("removePresence", [userId, serverId]);
  }

  /** Removes every presence on a server (on server start, after a crash). */
  async clearServerPresence(serverId: number): Promise<void> {
    checkId("serverId", serverId);
    await this.#run("clearServerPresence", [serverId]);
  }

  /** Presence of the given users, by user ID then server ID; offline users are absent. */
  async getPresence(userIds: readonly number[]): Promise<PresenceRecord[]> {
    checkIds("userIds", userIds);
    if (userIds.length === 0) return [];
    const rows = await this.#run("getPresence", [[...userIds]]);
    return rows.map((r) => ({
      userId: r["user_id"] as number,
      serverId: r["server_id"] as number,
    }));
  }

  /** Inserts or updates a server's address (from servers.txt); keeps its load report. */
  async upsertServer(server: { id: number; host: string; port: number }): Promise<void> {
    checkServer(server);
    await this.#run("upsertServer", [server.id, server.host, server.port]);
  }

  /** Records a load report. Unknown server: StoreError "not_found". */
  async reportLoad(
    serverId: number,
    load: { clients: number; lagMs: number },
    at: number,
  ): Promise<void> {
    checkLoad(serverId, load, at);
    const rows = await this.#run("reportLoad", [load.clients, load.lagMs, at, serverId]);
    if (rows.length === 0) {
      throw new StoreError("not_found", `No server with ID ${serverId}; upsert it first`);
    }
  }

  /** Every known server, by ascending ID. */
  async listServers(): Promise<ServerRecord[]> {
    const rows = await this.#run("listServers", []);
    return rows.map((r) => ({
      id: r["id"] as number,
      host: r["host"] as string,
      port: r["port"] as number,
      clients: r["clients"] as number,
      lagMs: r["lag_ms"] as number,
      reportedAt: r["reported_at"] as number,
    }));
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
    const members = uniqueSorted([adminId, ...memberIds]);
    const createdAt = Date.now();
    const [row] = await this.#run("createGroup", [name, adminId, createdAt, members], {
      foreign_key: async () => {
        const missing = await this.#run("missingUsers", [members]);
        return new StoreError(
          "not_found",
          `Unknown user ID(s) ${missing.map((r) => r["id"]).join(", ")}; ` +
            "every group member must be a registered user",
        );
      },
    });
    return { id: row!["id"] as number, name, adminId, members, createdAt };
  }

  /** Returns a group with its members, or null. */
  async getGroup(groupId: number): Promise<GroupRecord | null> {
    checkId("groupId", groupId);
    const [row] = await this.#run("getGroup", [groupId]);
    if (row === undefined) return null;
    return {
      id: row["id"] as number,
      name: row["name"] as string,
      adminId: row["admin_id"] as number,
      members: row["members"] as number[],
      createdAt: row["created_at"] as number,
    };
  }

  /** Adds a member; see {@linkcode Store.addMember}. */
  async addMember(groupId: number, userId: number): Promise<boolean> {
    checkId("groupId", groupId);
    checkId("userId", userId);
    const [row] = await this.#run("addMember", [groupId, userId], {
      foreign_key: () =>
        new StoreError("not_found", `No user with ID ${userId}; cannot add to a group`),
    });
    if (Number(row?.["found"] ?? 0) === 0) throw noGroupError(groupId);
    return Number(row?.["added"] ?? 0) > 0;
  }

  /** Removes a member; see {@linkcode Store.removeMember}. */
  async removeMember(groupId: number, userId: number): Promise<boolean> {
    checkId("groupId", groupId);
    checkId("userId", userId);
    const [row] = await this.#run("removeMember", [groupId, userId]);
    if (row?.["admin_id"] === userId) {
      throw new StoreError(
        "conflict",
        `User ${userId} is the admin of group ${groupId} and cannot be removed from it`,
      );
    }
    return Number(row?.["removed"] ?? 0) > 0;
  }

  /** Groups the user belongs to, by ascending ID, each with all its members. */
  async listGroupsOf(userId: number): Promise<GroupRecord[]> {
    checkId("userId", userId);
    return groupRows(await this.#run("groupsOf", [userId]));
  }

  /** Hands a group to another member; see {@linkcode Store.setGroupAdmin}. */
  async setGroupAdmin(groupId: number, adminId: number, newAdminId: number): Promise<GroupRecord> {
    checkId("groupId", groupId);
    checkId("adminId", adminId);
    checkId("newAdminId", newAdminId);
    const [row] = await this.#run("setGroupAdmin", [groupId, adminId, newAdminId]);
    return _groupChange(row!, groupId, adminId, newAdminId);
  }

  /** Deletes a group, leaving a tombstone; see {@linkcode Store.deleteGroup}. */
  async deleteGroup(groupId: number, adminId: number): Promise<GroupRecord> {
    checkId("groupId", groupId);
    checkId("adminId", adminId);
    const [row] = await this.#run("deleteGroup", [groupId, adminId, Date.now()]);
    return _groupChange(row!, groupId, adminId, adminId);
  }

  /** Persists messages with one statement; see {@linkcode Store.saveMessages}. */
  async saveMessages(
    messages: readonly NewMessage[],
    bounds?: PendingBounds,
  ): Promise<SavedMessage[]> {
    checkMessages(messages);
    const max = checkBounds(bounds);
    this.#check();
    if (messages.length === 0) return [];
    // One JSON parameter: the driver cannot send NULL inside a text[] parameter, and
    // per-recipient bodies are optional. Short keys keep the document small.
    const batch = JSON.stringify(messages.map((m) => ({
      s: m.senderId,
      c: m.clientMsgId,
      k: m.kind,
      g: m.groupId,
      b: m.body,
      r: m.recipients.map((
        r,
      ) => (r.body === undefined ? { u: r.userId } : { u: r.userId, b: r.body })),
    })));
    const rows = await this.#run("saveMessages", [batch, Date.now(), max.messages, max.bytes], {
      foreign_key: async () => {
        const users = uniqueSorted(messages.flatMap((m) => m.recipients.map((r) => r.userId)));
        const groups = uniqueSorted(
          messages.flatMap((m) => (m.groupId === null ? [] : [m.groupId])),
        );
        const [mu, mg] = await Promise.all([
          this.#run("missingUsers", [users]),
          this.#run("missingGroups", [groups]),
        ]);
        return missingRecipientsError(
          mu.map((r) => r["id"] as number),
          mg.map((r) => r["id"] as number),
        );
      },
    });
    return rows.map((r) => {
      const full = r["full_recipients"] as number[] | null;
      return {
        id: r["msg_id"] as number,
        createdAt: r["msg_created_at"] as number,
        duplicate: r["is_duplicate"] as boolean,
        ...(full !== null ? { fullRecipients: full } : {}),
      };
    });
  }

  /** Deliveries still pending for a user, in acceptance order, after `afterId`, at most `limit`. */
  async pendingFor(userId: number, afterId: number, limit: number): Promise<PendingMessage[]> {
    checkId("userId", userId);
    checkCount("afterId", afterId);
    checkLimit(limit);
    const rows = await this.#run("pendingFor", [userId, afterId, limit]);
    return rows.map((r) => pendingFromRow(r, userId));
  }

  /** Deliveries pending for users present on `serverId`, accepted before `before`. */
  async pendingOnServer(
    serverId: number,
    before: number,
    limit: number,
  ): Promise<PendingMessage[]> {
    checkId("serverId", serverId);
    checkCount("before", before);
    checkLimit(limit);
    const rows = await this.#run("pendingOnServer", [serverId, before, limit]);
    return rows.map((r) => pendingFromRow(r, r["recipient_id"] as number));
  }

  /** Settles deliveries to `userId`; see {@linkcode Store.ackDeliveries}. */
  async ackDeliveries(userId: number, messageIds: readonly number[]): Promise<AckedDelivery[]> {
    checkId("userId", userId);
    checkIds("messageIds", messageIds);
    this.#check();
    if (messageIds.length === 0) return [];
    return await new Promise<AckedDelivery[]>((resolve, reject) => {
      this.#acks.push({ userId, ids: uniqueSorted(messageIds), resolve, reject });
      if (!this.#acking) {
        // A moment to gather: acknowledgements arrive in bursts from many connections, and
        // one statement for many costs PostgreSQL far less CPU than one each. Receipts wait
        // that long; nothing else does.
        this.#acking = true;
        this.#ackLoop = new Promise((r) => setTimeout(r, _ACK_GATHER_MS)).then(() =>
          this.#flushAcks()
        );
      }
    });
  }

  /**
   * Settles every queued acknowledgement with one statement, and again while more queue up.
   * A delivery named by two callers in one statement is reported to the first only (it was
   * pending once).
   */
  async #flushAcks(): Promise<void> {
    this.#acking = true;
    try {
      while (this.#acks.length > 0) {
        const batch = this.#acks.splice(0, _ACKS_PER_STATEMENT);
        const users: number[] = [];
        const ids: number[] = [];
        for (const a of batch) {
          for (const id of a.ids) {
            users.push(a.userId);
            ids.push(id);
          }
        }
        let rows: _Row[];
        try {
          rows = await this.#run("ackDeliveries", [users, ids]);
        } catch (err) {
          for (const a of batch) a.reject(err);
          continue;
        }
        const settled = new Map<string, AckedDelivery>();
        for (const r of rows) {
          settled.set(`${r["recipient_id"]}:${r["id"]}`, {
            id: r["id"] as number,
            senderId: r["sender_id"] as number,
            clientMsgId: r["client_msg_id"] as string | null,
          });
        }
        for (const a of batch) {
          const out: AckedDelivery[] = [];
          for (const id of a.ids) {
            const key = `${a.userId}:${id}`;
            const d = settled.get(key);
            if (d === undefined) continue;
            settled.delete(key);
            out.push(d);
          }
          a.resolve(out);
        }
      }
    } finally {
      this.#acking = false;
    }
  }

  /** Drops deliveries of messages accepted before `before`; see {@linkcode Store.expirePending}. */
  async expirePending(before: number, limit: number): Promise<number> {
    checkCount("before", before);
    checkLimit(limit);
    const [row] = await this.#run("expirePending", [before, limit]);
    return Number(row?.["n"] ?? 0);
  }

  /** Deletes delivered messages' rows and forgets what ran out; see {@linkcode Store.settle}. */
  async settle(limit: number, opts?: SettleOptions): Promise<number> {
    checkLimit(limit);
    const { now, idempotencyMs } = checkSettleOptions(opts);
    const [row] = await this.#run("settle", [limit, now, idempotencyMs]);
    return Number(row?.["n"] ?? 0);
  }

  /** Takes one attempt from each bucket, or none; see {@linkcode Store.takeAttempt}. */
  async takeAttempt(limits: readonly RateLimit[], now: number): Promise<number> {
    checkRateLimits(limits);
    checkCount("now", now);
    this.#check();
    if (limits.length === 0) return 0;
    const [row] = await this.#run("takeAttempt", [
      limits.map((l) => l.key),
      limits.map((l) => l.burst),
      limits.map((l) => l.intervalMs),
      now,
    ]);
    return Number(row?.["wait"] ?? 0);
  }

  /** Gives one attempt back to each bucket; see {@linkcode Store.refundAttempt}. */
  async refundAttempt(limits: readonly RateLimit[], now: number): Promise<void> {
    checkRateLimits(limits);
    checkCount("now", now);
    this.#check();
    if (limits.length === 0) return;
    await this.#run("refundAttempt", [limits.map((l) => l.key), limits.map((l) => l.intervalMs)]);
  }

  /** Sets relations of `ownerId`; see {@linkcode Store.setContacts}. */
  async setContacts(ownerId: number, changes: readonly ContactChange[], max: number) {
    checkContacts(ownerId, changes, max);
    this.#check();
    if (changes.length === 0) return;
    const [row] = await this.#run("setContacts", [
      ownerId,
      changes.map((c) => c.userId),
      changes.map((c) => c.state),
      max,
      Date.now(),
    ]);
    const status = row?.["status"];
    if (status === "not_found") {
      throw unknownContactsError((row!["missing"] as unknown[]).map(Number));
    }
    if (status === "too_many") throw tooManyContactsError(ownerId, max);
  }

  /** What `userId` is to `ownerId`; see {@linkcode Store.contactState}. */
  async contactState(ownerId: number, userId: number): Promise<ContactRelation | null> {
    checkId("ownerId", ownerId);
    checkId("userId", userId);
    const [row] = await this.#run("contactState", [ownerId, userId]);
    return row === undefined ? null : row["state"] as ContactRelation;
  }

  /** The users `ownerId` has in `state`; see {@linkcode Store.listContacts}. */
  async listContacts(ownerId: number, state: ContactRelation): Promise<number[]> {
    checkId("ownerId", ownerId);
    checkContactState("state", state);
    const rows = await this.#run("listContacts", [ownerId, state]);
    return rows.map((r) => Number(r["user_id"]));
  }

  /**
   * Appends a device list version if it extends the newest; see
   * {@linkcode Store.appendDeviceList}. `fastchat_append_device_list` locks the user's row
   * first, so appends for one user take turns across servers.
   */
  async appendDeviceList(list: NewDeviceList): Promise<void> {
    checkNewDeviceList(list);
    const [row] = await this.#run("appendDeviceList", [
      list.userId,
      list.version,
      list.prevHash,
      list.hash,
      list.body,
      list.createdAt,
    ], {
      // The primary key on (user, version): only if the lock were bypassed; the same answer.
      unique: async () => {
        const [head] = await this.#run("latestDeviceList", [list.userId]);
        const newest = (head?.["version"] as number | undefined) ?? 0;
        return deviceListConflictError(list.userId, list.version, newest);
      },
    });
    if (row?.["r_status"] === "not_found") throw noDeviceListUserError(list.userId);
    if (row?.["r_status"] === "conflict") {
      throw deviceListConflictError(list.userId, list.version, row["r_newest"] as number);
    }
  }

  /** A user's device list versions from `fromVersion`; see {@linkcode Store.deviceLists}. */
  async deviceLists(
    userId: number,
    fromVersion: number,
    limit: number,
  ): Promise<DeviceListRecord[]> {
    checkDeviceListsPage(userId, fromVersion, limit);
    const rows = await this.#run("deviceLists", [userId, fromVersion, limit]);
    return rows.map(deviceListFromRow);
  }

  /** The newest version of a user's device list, or null. */
  async latestDeviceList(userId: number): Promise<DeviceListRecord | null> {
    checkId("userId", userId);
    const [row] = await this.#run("latestDeviceList", [userId]);
    return row === undefined ? null : deviceListFromRow(row);
  }

  /** Opens a link slot, replacing an expired one; see {@linkcode Store.openLinkSlot}. */
  async openLinkSlot(
    slot: string,
    offer: string,
    now: number,
    expiresAt: number,
  ): Promise<void> {
    checkLinkOpen(slot, offer, now, expiresAt);
    const [row] = await this.#run("openLinkSlot", [slot, offer, now, expiresAt]);
    if (row?.["opened"] !== true) throw linkSlotTakenError(slot);
  }

  /** Appends the next step of a live slot; see {@linkcode Store.appendLinkStep}. */
  async appendLinkStep(
    slot: string,
    index: number,
    value: string,
    now: number,
  ): Promise<void> {
    checkLinkStep(slot, index, value, now);
    const [row] = await this.#run("appendLinkStep", [slot, index, value, now, LINK_MAX_STEPS], {
      // The primary key on (slot, index): only if the row lock were bypassed; the same answer.
      unique: () => linkStepConflictError(slot, index, index + 1),
    });
    const steps = row?.["r_steps"] as number;
    switch (row?.["r_status"]) {
      case "ok":
        return;
      case "not_found":
        throw noLinkSlotError(slot);
      case "too_many":
        throw tooManyLinkStepsError(slot);
      default:
        throw linkStepConflictError(slot, index, steps);
    }
  }

  /** A live slot with its steps, or null; see {@linkcode Store.linkSlot}. */
  async linkSlot(slot: string, now: number): Promise<LinkSlotRecord | null> {
    checkLinkSlotName(slot);
    checkCount("now", now);
    const [row] = await this.#run("linkSlot", [slot, now]);
    if (row === undefined) return null;
    return {
      slot,
      steps: row["steps"] as string[],
      createdAt: row["created_at"] as number,
      expiresAt: row["expires_at"] as number,
    };
  }

  /** Deletes a slot and its steps; see {@linkcode Store.deleteLinkSlot}. */
  async deleteLinkSlot(slot: string): Promise<void> {
    checkLinkSlotName(slot);
    await this.#run("deleteLinkSlot", [slot]);
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
    let rows: _Row[];
    try {
      rows = await this.#run("putPrekeys", [
        userId,
        deviceId,
        bundle,
        [...oneTime],
        replace,
        now,
        ONE_TIME_PREKEYS_MAX,
      ]);
    } catch (err) {
      const e = err as { message?: string; detail?: string };
      if (e.message === "fastchat_too_many_prekeys") {
        throw tooManyPrekeysError(userId, deviceId, Number(e.detail));
      }
      throw err;
    }
    const [row] = rows;
    if (row?.["r_status"] === "not_found") throw noPrekeyUserError(userId);
    return row!["r_count"] as number;
  }

  /** Hands out a bundle and one one-time prekey; see {@linkcode Store.takePrekeys}. */
  async takePrekeys(userId: number, deviceId: number): Promise<TakenPrekeys | null> {
    checkId("userId", userId);
    checkId("deviceId", deviceId);
    const [row] = await this.#run("takePrekeys", [userId, deviceId]);
    if (row === undefined) return null;
    return {
      bundle: row["r_bundle"] as string,
      oneTime: (row["r_key"] as string | null) ?? null,
      remaining: row["r_remaining"] as number,
    };
  }

  /** How many one-time prekeys are left; see {@linkcode Store.prekeyCount}. */
  async prekeyCount(userId: number, deviceId: number): Promise<number | null> {
    checkId("userId", userId);
    checkId("deviceId", deviceId);
    const [row] = await this.#run("prekeyCount", [userId, deviceId]);
    return row === undefined ? null : row["n"] as number;
  }

  /** Deletes a device's prekeys; see {@linkcode Store.deletePrekeys}. */
  async deletePrekeys(userId: number, deviceId: number): Promise<void> {
    checkId("userId", userId);
    checkId("deviceId", deviceId);
    await this.#run("deletePrekeys", [userId, deviceId]);
  }

  /** Counts for metrics and tests (full counts: O(rows), fine for metrics intervals). */
  async stats(): Promise<{ users: number; messages: number; pendingDeliveries: number }> {
    const [row] = await this.#run("stats", []);
    return {
      users: Number(row!["users"]),
      messages: Number(row!["messages"]),
      pendingDeliveries: Number(row!["pending"]),
    };
  }

  /** Waits for calls in flight, then closes the pool; see {@linkcode Store.close}. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Queued acknowledgements still go out; then nothing new starts.
      await this.#ackLoop;
      this.#closed = true;
      await Promise.allSettled([...this.#inFlight]);
      await this.#sql.end({ timeout: 5 });
    })();
    return this.#closing;
  }

  #check(): void {
    if (this.#closed || (this.#closing !== null && !this.#acking)) {
      throw new TypeError("The store is closed; open a new one to use it");
    }
  }

  /**
   * Runs one prepared statement. Driver failures become StoreErrors: `unavailable` for
   * connection trouble and timeouts, or what `on` builds for a failure this call expects.
   */
  async #run(
    name: keyof typeof _SQL,
    params: unknown[],
    on: Partial<Record<Exclude<PgFailure, null>, () => StoreError | Promise<StoreError>>> = {},
  ): Promise<_Row[]> {
    this.#check();
    // deno-lint-ignore no-explicit-any
    const query = this.#sql.unsafe(_SQL[name], params as any[], { prepare: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        query.cancel();
        reject(
          new StoreError(
            "unavailable",
            `The database at ${this.#where} did not answer within ${this.#timeoutMs} ms; ` +
              "try again",
          ),
        );
      }, this.#timeoutMs);
    });
    const work = Promise.race([query, timeout]);
    this.#inFlight.add(work);
    try {
      return (await work) as unknown as _Row[];
    } catch (err) {
      if (err instanceof StoreError) throw err;
      const failure = pgFailure(err);
      const build = failure === null ? undefined : on[failure];
      if (build !== undefined) throw await build();
      throw _storeError(err, this.#where) ?? err;
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(work);
    }
  }
}

/**
 * The group a `fastchat_set_group_admin` / `fastchat_delete_group` row describes, or the
 * StoreError its status stands for (`userId` asked, `memberId` was to be a member).
 */
function _groupChange(row: _Row, groupId: number, userId: number, memberId: number): GroupRecord {
  switch (row["r_status"]) {
    case "ok":
      return {
        id: groupId,
        name: row["r_name"] as string,
        adminId: row["r_admin"] as number,
        members: row["r_members"] as number[],
        createdAt: row["r_created"] as number,
      };
    case "not_admin":
      throw notGroupAdminError(groupId, userId, row["r_admin"] as number);
    case "not_member":
      throw notGroupMemberError(groupId, memberId);
    default:
      throw noGroupError(groupId);
  }
}

/** The StoreError for a connection failure, or null for anything else. */
function _storeError(err: unknown, where: string): StoreError | null {
  if (pgFailure(err) !== "unavailable") return null;
  const reason = err instanceof Error ? err.message : String(err);
  return new StoreError(
    "unavailable",
    `The database at ${where} is unavailable (${reason}); try again`,
    { cause: err },
  );
}

/** A Buffer over the same bytes (the driver sends Buffers as bytea). */
function _bytes(view: Uint8Array): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}
