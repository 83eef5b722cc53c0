/**
 * The keystore's SQLite schema and the statements `Keystore` prepares.
 *
 * The file is marked as ours with `PRAGMA application_id` ("FCKS"), so pointing the client
 * at some other database fails clearly, and versioned with `PRAGMA user_version`.
 *
 * Columns ending in `_enc` hold Fernet tokens under the master key (see
 * `keystore_cipher.ts`); everything else is stored in the clear: IDs, names, public keys,
 * times and states. Message texts and file details are secret too (`_enc`): the history
 * is the most private thing on the device.
 *
 * Tables are STRICT, so a bug cannot store a string where an integer belongs.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { KeystoreError } from "./keystore_types.ts";

/** The schema version this code creates and understands (kept in `PRAGMA user_version`). */
export const KEYSTORE_SCHEMA_VERSION = 1;

/** `PRAGMA application_id` of a keystore file: "FCKS" in ASCII. */
export const KEYSTORE_APPLICATION_ID = 0x4643_4b53;

const _SCHEMA = `
CREATE TABLE kdf (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  salt BLOB NOT NULL,
  log_n INTEGER NOT NULL,
  r INTEGER NOT NULL,
  p INTEGER NOT NULL,
  verifier TEXT NOT NULL
) STRICT;
CREATE TABLE account (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  user_id INTEGER NOT NULL CHECK (user_id > 0),
  username TEXT NOT NULL,
  rsa_public_key TEXT NOT NULL,
  rsa_private_key_enc TEXT NOT NULL,
  identity_public_key TEXT NOT NULL,
  identity_secret_key_enc TEXT NOT NULL,
  session_token_enc TEXT,
  created_at INTEGER NOT NULL,
  last_seen_msg_id INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE friends (
  user_id INTEGER PRIMARY KEY CHECK (user_id > 0),
  username TEXT NOT NULL,
  rsa_public_key TEXT NOT NULL,
  identity_key TEXT NOT NULL,
  pinned_at INTEGER NOT NULL,
  added_at INTEGER NOT NULL,
  pending_rsa_public_key TEXT,
  pending_identity_key TEXT,
  pending_seen_at INTEGER,
  CHECK ((pending_rsa_public_key IS NULL) = (pending_identity_key IS NULL)),
  CHECK ((pending_identity_key IS NULL) = (pending_seen_at IS NULL))
) STRICT;
CREATE INDEX friends_by_name ON friends(username);
CREATE TABLE friend_keys (
  friend_id INTEGER NOT NULL REFERENCES friends(user_id),
  kid TEXT NOT NULL,
  key_enc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('active', 'old')),
  PRIMARY KEY (friend_id, kid)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX friend_keys_one_active ON friend_keys(friend_id) WHERE role = 'active';
CREATE TABLE groups (
  group_id INTEGER PRIMARY KEY CHECK (group_id > 0),
  name TEXT NOT NULL,
  admin_id INTEGER NOT NULL,
  is_member INTEGER NOT NULL CHECK (is_member IN (0, 1)),
  left_at INTEGER,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX groups_by_name ON groups(name);
CREATE TABLE group_members (
  group_id INTEGER NOT NULL REFERENCES groups(group_id),
  user_id INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE group_keys (
  group_id INTEGER NOT NULL REFERENCES groups(group_id),
  epoch INTEGER NOT NULL CHECK (epoch >= 0),
  key_enc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, epoch)
) STRICT, WITHOUT ROWID;
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  msg_id INTEGER UNIQUE,
  client_msg_id TEXT,
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  kind TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
  peer_id INTEGER NOT NULL,
  sender_id INTEGER NOT NULL,
  text_enc TEXT NOT NULL,
  file_enc TEXT,
  sent_at INTEGER NOT NULL,
  received_at INTEGER,
  state TEXT,
  CHECK ((direction = 'in' AND state IS NULL) OR
    (direction = 'out' AND client_msg_id IS NOT NULL AND
      state IN ('queued', 'accepted', 'delivered', 'failed'))),
  UNIQUE (sender_id, client_msg_id)
) STRICT;
CREATE INDEX messages_by_conversation ON messages(kind, peer_id, sent_at, id);
CREATE INDEX messages_queued ON messages(id) WHERE state = 'queued';
`;

// Reads of groups carry the current epoch: the highest one with a key.
const _GROUP_COLUMNS = `g.group_id, g.name, g.admin_id, g.is_member, g.left_at, g.updated_at,
  (SELECT max(k.epoch) FROM group_keys AS k WHERE k.group_id = g.group_id) AS epoch`;

/** Every statement the keystore runs, prepared once when it opens. */
export const KEYSTORE_SQL = {
  setKdf: "UPDATE kdf SET salt = ?, log_n = ?, r = ?, p = ?, verifier = ? WHERE id = 1",
  account: "SELECT * FROM account WHERE id = 1",
  setSessionToken: "UPDATE account SET session_token_enc = ? WHERE id = 1",
  setAccountSecrets: `UPDATE account SET rsa_private_key_enc = ?, identity_secret_key_enc = ?,
    session_token_enc = ? WHERE id = 1`,
  markSeen: "UPDATE account SET last_seen_msg_id = max(last_seen_msg_id, ?) WHERE id = 1",
  lastSeen: "SELECT last_seen_msg_id AS v FROM account WHERE id = 1",
  insertFriend: `INSERT INTO friends
    (user_id, username, rsa_public_key, identity_key, pinned_at, added_at)
    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING RETURNING user_id`,
  friend: "SELECT * FROM friends WHERE user_id = ?",
  friendByName: "SELECT * FROM friends WHERE username = ? ORDER BY added_at DESC LIMIT 1",
  friends: "SELECT * FROM friends ORDER BY username, user_id",
  setPending: `UPDATE friends SET pending_rsa_public_key = ?, pending_identity_key = ?,
    pending_seen_at = ? WHERE user_id = ?`,
  acceptPending: `UPDATE friends SET rsa_public_key = pending_rsa_public_key,
      identity_key = pending_identity_key, pinned_at = ?,
      pending_rsa_public_key = NULL, pending_identity_key = NULL, pending_seen_at = NULL
    WHERE user_id = ? AND pending_rsa_public_key IS NOT NULL RETURNING user_id`,
  insertFriendKey: `INSERT INTO friend_keys (friend_id, kid, key_enc, created_at, role)
    VALUES (?, ?, ?, ?, 'old')`,
  friendKey: "SELECT * FROM friend_keys WHERE friend_id = ? AND kid = ?",
  activeFriendKey: "SELECT * FROM friend_keys WHERE friend_id = ? AND role = 'active'",
  friendKeys: "SELECT * FROM friend_keys WHERE friend_id = ? ORDER BY created_at, kid",
  demoteFriendKeys: "UPDATE friend_keys SET role = 'old' WHERE friend_id = ? AND role = 'active'",
  activateFriendKey: "UPDATE friend_keys SET role = 'active' WHERE friend_id = ? AND kid = ?",
  allFriendKeys: "SELECT friend_id, kid, key_enc FROM friend_keys",
  resealFriendKey: "UPDATE friend_keys SET key_enc = ? WHERE friend_id = ? AND kid = ?",
  upsertGroup: `INSERT INTO groups (group_id, name, admin_id, is_member, left_at, updated_at)
    VALUES (?, ?, ?, 1, NULL, ?)
    ON CONFLICT (group_id) DO UPDATE SET name = excluded.name, admin_id = excluded.admin_id,
      is_member = 1, left_at = NULL, updated_at = excluded.updated_at`,
  touchGroup: "UPDATE groups SET updated_at = ? WHERE group_id = ?",
  leaveGroup: `UPDATE groups SET is_member = 0, left_at = ?, updated_at = ?
    WHERE group_id = ? AND is_member = 1`,
  deleteMembers: "DELETE FROM group_members WHERE group_id = ?",
  insertMember: "INSERT INTO group_members (group_id, user_id) VALUES (?, ?)",
  membersOf: "SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id",
  group: `SELECT ${_GROUP_COLUMNS} FROM groups AS g WHERE g.group_id = ?`,
  groups: `SELECT ${_GROUP_COLUMNS} FROM groups AS g WHERE (? OR g.is_member = 1)
    ORDER BY g.name, g.group_id`,
  groupsByName: `SELECT ${_GROUP_COLUMNS} FROM groups AS g
    WHERE g.name = ? AND (? OR g.is_member = 1) ORDER BY g.group_id`,
  insertGroupKey: `INSERT INTO group_keys (group_id, epoch, key_enc, created_at)
    VALUES (?, ?, ?, ?)`,
  groupKey: "SELECT key_enc FROM group_keys WHERE group_id = ? AND epoch = ?",
  currentGroupKey: `SELECT epoch, key_enc FROM group_keys WHERE group_id = ?
    ORDER BY epoch DESC LIMIT 1`,
  allGroupKeys: "SELECT group_id, epoch, key_enc FROM group_keys",
  resealGroupKey: "UPDATE group_keys SET key_enc = ? WHERE group_id = ? AND epoch = ?",
  insertMessage: `INSERT INTO messages (msg_id, client_msg_id, direction, kind, peer_id,
      sender_id, text_enc, file_enc, sent_at, received_at, state)
    VALUES (?, ?, ?, ?, ?, ?, '', NULL, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
  sealMessage: "UPDATE messages SET text_enc = ?, file_enc = ? WHERE id = ?",
  outgoing: "SELECT * FROM messages WHERE direction = 'out' AND client_msg_id = ?",
  outgoingByMsgId: "SELECT * FROM messages WHERE direction = 'out' AND msg_id = ?",
  messageByMsgId: "SELECT id FROM messages WHERE msg_id = ?",
  history: `SELECT * FROM (SELECT * FROM messages WHERE kind = ? AND peer_id = ?
      ORDER BY sent_at DESC, id DESC LIMIT ?)
    ORDER BY sent_at, id`,
  setAccepted: `UPDATE messages SET msg_id = ?,
    state = CASE WHEN state = 'delivered' THEN 'delivered' ELSE 'accepted' END WHERE id = ?`,
  setDelivered: `UPDATE messages SET state = 'delivered'
    WHERE msg_id = ? AND direction = 'out' RETURNING id`,
  setFailed: `UPDATE messages SET state = 'failed'
    WHERE direction = 'out' AND client_msg_id = ? AND state = 'queued' RETURNING id`,
  queued: "SELECT * FROM messages WHERE state = 'queued' ORDER BY id",
  hasMessage: "SELECT 1 AS x FROM messages WHERE msg_id = ?",
  incoming: "SELECT * FROM messages WHERE msg_id = ? AND direction = 'in'",
  allMessages: "SELECT id, text_enc, file_enc FROM messages WHERE id > ? ORDER BY id LIMIT ?",
} as const;

/** The prepared form of {@linkcode KEYSTORE_SQL}. */
export type KeystoreStatements = { readonly [K in keyof typeof KEYSTORE_SQL]: StatementSync };

/** Prepares every statement of {@linkcode KEYSTORE_SQL} on `db`. */
export function prepareKeystoreStatements(db: DatabaseSync): KeystoreStatements {
  const st: Partial<Record<keyof typeof KEYSTORE_SQL, StatementSync>> = {};
  for (const key of Object.keys(KEYSTORE_SQL) as (keyof typeof KEYSTORE_SQL)[]) {
    st[key] = db.prepare(KEYSTORE_SQL[key]);
  }
  return st as KeystoreStatements;
}

/** Creates the schema in a new, empty database; the caller holds a write transaction. */
export function createKeystoreSchema(db: DatabaseSync): void {
  db.exec(`PRAGMA application_id = ${KEYSTORE_APPLICATION_ID}`);
  db.exec(_SCHEMA);
  db.exec(`PRAGMA user_version = ${KEYSTORE_SCHEMA_VERSION}`);
}

/**
 * Checks that `db` is a keystore this code can read.
 *
 * @throws {KeystoreError} "not_a_keystore" for another kind of file, or
 *   "unsupported_version" for a keystore from a newer FastChat.
 */
export function checkKeystoreSchema(db: DatabaseSync, path: string): void {
  let appId: number;
  let version: number;
  try {
    appId = _pragma(db, "application_id");
    version = _pragma(db, "user_version");
  } catch (err) {
    // SQLite says "file is not a database" for anything that is not SQLite.
    throw new KeystoreError(
      "not_a_keystore",
      `${path} is not a FastChat keystore (${(err as Error).message})`,
    );
  }
  if (appId !== KEYSTORE_APPLICATION_ID || version === 0) {
    throw new KeystoreError(
      "not_a_keystore",
      `${path} is an SQLite database but not a FastChat keystore; check the path`,
    );
  }
  if (version > KEYSTORE_SCHEMA_VERSION) {
    throw new KeystoreError(
      "unsupported_version",
      `${path} has keystore schema version ${version}, newer than this FastChat supports ` +
        `(${KEYSTORE_SCHEMA_VERSION}); upgrade FastChat`,
    );
  }
  // Version 1 is the first: nothing to migrate yet. Later versions migrate here.
}

function _pragma(db: DatabaseSync, name: string): number {
  const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown> | undefined;
  const value = row?.[name];
  if (typeof value !== "number") throw new Error(`PRAGMA ${name} returned no number`);
  return value;
}
