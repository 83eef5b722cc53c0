/**
 * The SQLite main database's schema and its migrations. The version lives in
 * `PRAGMA user_version`; migration `i` takes a database from version `i` to `i + 1`, so a
 * new file runs them all and an older file runs the ones it lacks, inside one
 * `BEGIN IMMEDIATE` transaction: the first process to start migrates while the others wait
 * for the write lock, then find the work done.
 *
 * These numbers are SQLite's own, not shared with PostgreSQL's (`../postgres/schema.ts`, which
 * says why and lists the versions that match): both are stored in databases already deployed,
 * and a database never changes backend.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/** Migration `i` (0-based) brings a database from version `i` to `i + 1`. */
const _MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
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
`,
  // 2: a user may be present on several servers at once (one record per user and server).
  `
CREATE TABLE presence_v2 (
  user_id INTEGER NOT NULL REFERENCES users(id),
  server_id INTEGER NOT NULL,
  since INTEGER NOT NULL,
  PRIMARY KEY (user_id, server_id)
) WITHOUT ROWID;
INSERT INTO presence_v2 (user_id, server_id, since) SELECT user_id, server_id, since FROM presence;
DROP TABLE presence;
ALTER TABLE presence_v2 RENAME TO presence;
CREATE INDEX presence_by_server ON presence(server_id, user_id);
`,
  // 3: bounded pending totals per recipient; message rows deleted once delivered, with
  // idempotency records kept apart; cluster-wide rate limits.
  `
ALTER TABLE deliveries ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
UPDATE deliveries SET bytes = length(CAST(coalesce(body,
  (SELECT m.body FROM messages AS m WHERE m.id = deliveries.message_id)) AS BLOB));
-- Finds a message's deliveries when it expires, and makes deleting a message row cheap
-- (SQLite checks the foreign key by looking for deliveries that still name it).
CREATE INDEX deliveries_by_message ON deliveries(message_id);
-- Messages whose deliveries have all ended, for settle() to delete in bulk.
CREATE INDEX messages_done ON messages(id) WHERE remaining <= 0;
CREATE TABLE pending_totals (
  user_id INTEGER PRIMARY KEY REFERENCES users(id),
  messages INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0
);
INSERT INTO pending_totals (user_id, messages, bytes)
  SELECT recipient_id, count(*), sum(bytes) FROM deliveries GROUP BY recipient_id;
CREATE TABLE sent_ids (
  sender_id INTEGER NOT NULL,
  client_msg_id TEXT NOT NULL,
  msg_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (sender_id, client_msg_id)
) WITHOUT ROWID;
CREATE INDEX sent_ids_by_time ON sent_ids(created_at);
INSERT INTO sent_ids (sender_id, client_msg_id, msg_id, created_at)
  SELECT sender_id, client_msg_id, id, created_at FROM messages AS m
  WHERE client_msg_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.message_id = m.id);
DELETE FROM messages
  WHERE NOT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.message_id = messages.id);
CREATE TABLE rate_limits (
  key TEXT PRIMARY KEY,
  tat INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rate_limits_by_tat ON rate_limits(tat);
`,
  // 4: usernames unique ignoring ASCII case; groups deleted by their admin leave a tombstone.
  // Names that were already equal ignoring case all stay: the first registered of each set
  // keeps rank 0, the later ones get 1, 2, ... (in ID order), and the unique index is on
  // (folded name, rank). New users always take rank 0, so none can join such a set.
  `
ALTER TABLE users ADD COLUMN name_rank INTEGER NOT NULL DEFAULT 0;
UPDATE users SET name_rank = r.n - 1
  FROM (SELECT id, row_number() OVER (PARTITION BY lower(username) ORDER BY id) AS n
    FROM users) AS r
  WHERE r.id = users.id AND r.n > 1;
CREATE UNIQUE INDEX users_by_folded_name ON users (lower(username), name_rank);
-- Set when the group was deleted: its members are gone, its ID stays for the messages that
-- name it.
ALTER TABLE groups ADD COLUMN deleted_at INTEGER;
`,
  // 5: what users told the server others are to them (contacts, blocked users): presence is
  // told only to contacts, and receipts never go to a blocked user.
  `
CREATE TABLE contacts (
  owner_id INTEGER NOT NULL REFERENCES users(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  state TEXT NOT NULL CHECK (state IN ('contact', 'blocked')),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (owner_id, user_id)
) WITHOUT ROWID;
`,
  // 6: linked devices (docs/CRYPTO.md): each account's signed device list as a chain of
  // versions, sessions bound to a device (null: a password session, as every session before),
  // and the short-lived link slots where a new device meets a logged-in one.
  `
ALTER TABLE sessions ADD COLUMN device_id INTEGER;
CREATE TABLE device_lists (
  user_id INTEGER NOT NULL REFERENCES users(id),
  version INTEGER NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, version)
) WITHOUT ROWID;
-- steps: how many link_steps rows the slot has (the offer is step 0).
CREATE TABLE link_slots (
  slot TEXT PRIMARY KEY,
  steps INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX link_slots_by_expiry ON link_slots(expires_at);
CREATE TABLE link_steps (
  slot TEXT NOT NULL REFERENCES link_slots(slot) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (slot, idx)
) WITHOUT ROWID;
`,
  // 7: each device's prekeys (issue 22): its bundle, and a queue of one-time prekeys handed
  // out oldest first, each once.
  `
CREATE TABLE prekey_bundles (
  user_id INTEGER NOT NULL REFERENCES users(id),
  device_id INTEGER NOT NULL,
  bundle TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;
CREATE TABLE one_time_prekeys (
  user_id INTEGER NOT NULL,
  device_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id, seq)
) WITHOUT ROWID;
`,
];

/** The schema version this code creates and understands. */
export const SQLITE_SCHEMA_VERSION: number = _MIGRATIONS.length;

/**
 * Brings the database to `target` (default: the current version) in one `BEGIN IMMEDIATE`
 * transaction. A database newer than this code is refused with a RangeError naming both
 * versions; the transaction is rolled back on any failure.
 */
export function migrateSqlite(
  db: DatabaseSync,
  path: string,
  target: number = SQLITE_SCHEMA_VERSION,
): void {
  if (!Number.isInteger(target) || target < 1 || target > SQLITE_SCHEMA_VERSION) {
    throw new RangeError(
      `target must be a schema version from 1 to ${SQLITE_SCHEMA_VERSION}, got ${target}`,
    );
  }
  db.exec("BEGIN IMMEDIATE");
  try {
    // Reading the schema table makes this connection reload a schema that another process
    // changed since it last looked; without it, statements prepared after this call could be
    // compiled against the old tables.
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    const row = db.prepare("PRAGMA user_version").get() as Record<string, unknown>;
    const version = row["user_version"] as number;
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new RangeError(
        `${path} has schema version ${version}, newer than this FastChat supports ` +
          `(${SQLITE_SCHEMA_VERSION}); upgrade FastChat`,
      );
    }
    for (let v = version; v < target; v++) db.exec(_MIGRATIONS[v]!);
    if (version < target) db.exec(`PRAGMA user_version = ${target}`);
    db.exec("COMMIT");
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}
