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
 * Versions: a new keystore gets version 1's tables and then every migration in order, so a
 * new file and a migrated one are the same. {@linkcode migrateKeystoreSchema} brings an
 * older file up to date when it is opened with the right password.
 * - 1: account, friends with pinned keys, shared keys, groups with epoch keys, history.
 * - 2 (consent and verification): `friends.contact` (1 for a contact; 0 for a user only
 *   pinned, e.g. a group member or someone who asked to talk; existing friends stay
 *   contacts), `friends.verified_at` (the pinned keys were verified by the user; cleared
 *   when they change), `requests` and `request_messages` (what someone who is not a contact
 *   sent, kept sealed until the user accepts or blocks them), `blocked`, and `settings`.
 * - 3 (group consent): `group_invites` (a group someone who is not a contact put the user
 *   in: its messages are stored but not shown until the user accepts), and
 *   `groups.left_by` / `groups.left_how` (who ended the user's membership, and how, so a
 *   message typed to the group afterwards can say so).
 * - 4 (linked devices, docs/CRYPTO.md): `device_identity` (this device's own signing and RSA
 *   keys, the secrets sealed, and its ID in the account's device list once one names it)
 *   and `device_lists` (the newest checked device list per user, contacts and the user's
 *   own account, so a list can never go back). A keystore from before has neither: its
 *   device makes its keys when it first needs them.
 *
 * @module
 */

import { rollback } from "./keystore_context.ts";
import { KeystoreError } from "./keystore_types.ts";
import type { SqlDatabase, SqlStatement } from "./sql_database.ts";

/** The schema version this code creates and understands (kept in `PRAGMA user_version`). */
export const KEYSTORE_SCHEMA_VERSION = 4;

/** `PRAGMA application_id` of a keystore file: "FCKS" in ASCII. */
export const KEYSTORE_APPLICATION_ID = 0x4643_4b53;

/** Version 1's tables, as the first FastChat keystores have them. */
const _SCHEMA_V1 = `
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

/** What turns version `i + 1` into version `i + 2`, in order. */
const _MIGRATIONS: readonly string[] = [
  // 2: consent (contacts, requests, blocked users, settings) and verified keys.
  `
ALTER TABLE friends ADD COLUMN contact INTEGER NOT NULL DEFAULT 1 CHECK (contact IN (0, 1));
ALTER TABLE friends ADD COLUMN verified_at INTEGER;
CREATE TABLE requests (
  user_id INTEGER PRIMARY KEY REFERENCES friends(user_id),
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  preview_enc TEXT
) STRICT;
CREATE TABLE request_messages (
  msg_id INTEGER PRIMARY KEY CHECK (msg_id > 0),
  user_id INTEGER NOT NULL REFERENCES requests(user_id),
  frame_enc TEXT NOT NULL,
  received_at INTEGER NOT NULL
) STRICT;
CREATE INDEX request_messages_by_user ON request_messages(user_id, msg_id);
CREATE TABLE blocked (
  user_id INTEGER PRIMARY KEY CHECK (user_id > 0),
  username TEXT NOT NULL,
  blocked_at INTEGER NOT NULL
) STRICT;
CREATE INDEX blocked_by_name ON blocked(username);
CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
`,
  // 3: group consent (invitations from strangers) and how a membership ended.
  `
CREATE TABLE group_invites (
  group_id INTEGER PRIMARY KEY REFERENCES groups(group_id),
  by_id INTEGER NOT NULL CHECK (by_id > 0),
  by_name TEXT NOT NULL,
  invited_at INTEGER NOT NULL
) STRICT;
ALTER TABLE groups ADD COLUMN left_by INTEGER;
ALTER TABLE groups ADD COLUMN left_how TEXT CHECK (left_how IN ('left', 'removed', 'deleted'));
`,
  // 4: linked devices: this device's own keys, and the device lists pinned per user.
  `
CREATE TABLE device_identity (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  device_id INTEGER CHECK (device_id > 0),
  name TEXT NOT NULL,
  sign_public_key TEXT NOT NULL,
  sign_secret_key_enc TEXT NOT NULL,
  rsa_public_key TEXT NOT NULL,
  rsa_private_key_enc TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE device_lists (
  user_id INTEGER PRIMARY KEY CHECK (user_id > 0),
  version INTEGER NOT NULL CHECK (version > 0),
  hash TEXT NOT NULL,
  body TEXT NOT NULL,
  checked_at INTEGER NOT NULL
) STRICT;
`,
];

// Reads of groups carry the current epoch: the highest one with a key.
const _GROUP_COLUMNS = `g.group_id, g.name, g.admin_id, g.is_member, g.left_at, g.updated_at,
  g.left_by, g.left_how,
  (SELECT max(k.epoch) FROM group_keys AS k WHERE k.group_id = g.group_id) AS epoch`;

// Reads of requests carry the requester's name and how many messages wait.
const _REQUEST_COLUMNS = `r.user_id, f.username, r.first_at, r.last_at, r.preview_enc,
  (SELECT count(*) FROM request_messages AS m WHERE m.user_id = r.user_id) AS messages`;

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
    (user_id, username, rsa_public_key, identity_key, pinned_at, added_at, contact)
    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING RETURNING user_id`,
  friend: "SELECT * FROM friends WHERE user_id = ?",
  friendByName: "SELECT * FROM friends WHERE username = ? ORDER BY added_at DESC LIMIT 1",
  friends: "SELECT * FROM friends ORDER BY username, user_id",
  contacts: "SELECT * FROM friends WHERE contact = 1 ORDER BY username, user_id",
  setContact: "UPDATE friends SET contact = ? WHERE user_id = ? RETURNING user_id",
  clearPending: `UPDATE friends SET pending_rsa_public_key = NULL, pending_identity_key = NULL,
    pending_seen_at = NULL WHERE user_id = ?`,
  // Keys other than the verified ones are not verified: a change clears the mark.
  setPending: `UPDATE friends SET pending_rsa_public_key = ?, pending_identity_key = ?,
    pending_seen_at = ?, verified_at = NULL WHERE user_id = ?`,
  acceptPending: `UPDATE friends SET rsa_public_key = pending_rsa_public_key,
      identity_key = pending_identity_key, pinned_at = ?, verified_at = NULL,
      pending_rsa_public_key = NULL, pending_identity_key = NULL, pending_seen_at = NULL
    WHERE user_id = ? AND pending_rsa_public_key IS NOT NULL RETURNING user_id`,
  setVerified: `UPDATE friends SET verified_at = ?
    WHERE user_id = ? AND pending_rsa_public_key IS NULL RETURNING user_id`,
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
      is_member = 1, left_at = NULL, left_by = NULL, left_how = NULL,
      updated_at = excluded.updated_at`,
  touchGroup: "UPDATE groups SET updated_at = ? WHERE group_id = ?",
  leaveGroup: `UPDATE groups SET is_member = 0, left_at = ?, updated_at = ?, left_by = ?,
    left_how = ? WHERE group_id = ? AND is_member = 1`,
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
  setRequeued: `UPDATE messages SET state = 'queued'
    WHERE direction = 'out' AND client_msg_id = ? AND state = 'failed' RETURNING id`,
  failed: "SELECT * FROM messages WHERE direction = 'out' AND state = 'failed' ORDER BY id",
  hasMessage: "SELECT 1 AS x FROM messages WHERE msg_id = ?",
  incoming: "SELECT * FROM messages WHERE msg_id = ? AND direction = 'in'",
  allMessages: "SELECT id, text_enc, file_enc FROM messages WHERE id > ? ORDER BY id LIMIT ?",
  insertRequest: `INSERT INTO requests (user_id, first_at, last_at, preview_enc)
    VALUES (?, ?, ?, NULL) ON CONFLICT (user_id) DO NOTHING`,
  touchRequest: "UPDATE requests SET last_at = max(last_at, ?) WHERE user_id = ?",
  insertRequestMessage: `INSERT INTO request_messages (msg_id, user_id, frame_enc, received_at)
    VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING msg_id`,
  request: `SELECT ${_REQUEST_COLUMNS} FROM requests AS r JOIN friends AS f
    ON f.user_id = r.user_id WHERE r.user_id = ?`,
  requests: `SELECT ${_REQUEST_COLUMNS} FROM requests AS r JOIN friends AS f
    ON f.user_id = r.user_id ORDER BY r.first_at, r.user_id`,
  setRequestPreview: `UPDATE requests SET preview_enc = ?
    WHERE user_id = ? AND preview_enc IS NULL RETURNING user_id`,
  requestMessages: "SELECT * FROM request_messages WHERE user_id = ? ORDER BY msg_id",
  deleteRequestMessages: "DELETE FROM request_messages WHERE user_id = ?",
  deleteRequest: "DELETE FROM requests WHERE user_id = ? RETURNING user_id",
  allRequestPreviews: "SELECT user_id, preview_enc FROM requests WHERE preview_enc IS NOT NULL",
  resealRequestPreview: "UPDATE requests SET preview_enc = ? WHERE user_id = ?",
  allRequestMessages: "SELECT msg_id, user_id, frame_enc FROM request_messages",
  resealRequestMessage: "UPDATE request_messages SET frame_enc = ? WHERE msg_id = ?",
  block: `INSERT INTO blocked (user_id, username, blocked_at) VALUES (?, ?, ?)
    ON CONFLICT (user_id) DO UPDATE SET username = excluded.username`,
  unblock: "DELETE FROM blocked WHERE user_id = ? RETURNING user_id",
  blocked: "SELECT * FROM blocked WHERE user_id = ?",
  blockedByName: "SELECT * FROM blocked WHERE username = ? ORDER BY blocked_at DESC LIMIT 1",
  blockedUsers: "SELECT * FROM blocked ORDER BY username, user_id",
  setting: "SELECT value FROM settings WHERE name = ?",
  setSetting: `INSERT INTO settings (name, value) VALUES (?, ?)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
  deleteSetting: "DELETE FROM settings WHERE name = ?",
  insertGroupInvite: `INSERT INTO group_invites (group_id, by_id, by_name, invited_at)
    VALUES (?, ?, ?, ?) ON CONFLICT (group_id) DO NOTHING RETURNING group_id`,
  groupInvite: `SELECT i.*, g.name FROM group_invites AS i JOIN groups AS g
    ON g.group_id = i.group_id WHERE i.group_id = ?`,
  groupInvites: `SELECT i.*, g.name FROM group_invites AS i JOIN groups AS g
    ON g.group_id = i.group_id ORDER BY i.invited_at, i.group_id`,
  deleteGroupInvite: "DELETE FROM group_invites WHERE group_id = ? RETURNING group_id",
  allSecretSettings: "SELECT name, value FROM settings WHERE name LIKE 'secret:%'",
  deviceIdentity: "SELECT * FROM device_identity WHERE id = 1",
  setDeviceIdentity: `INSERT INTO device_identity (id, device_id, name, sign_public_key,
      sign_secret_key_enc, rsa_public_key, rsa_private_key_enc, updated_at)
    VALUES (1, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET device_id = excluded.device_id, name = excluded.name,
      sign_public_key = excluded.sign_public_key,
      sign_secret_key_enc = excluded.sign_secret_key_enc,
      rsa_public_key = excluded.rsa_public_key,
      rsa_private_key_enc = excluded.rsa_private_key_enc, updated_at = excluded.updated_at`,
  setDeviceId: `UPDATE device_identity SET device_id = ?, updated_at = ? WHERE id = 1
    RETURNING id`,
  setDeviceSecrets: `UPDATE device_identity SET sign_secret_key_enc = ?, rsa_private_key_enc = ?
    WHERE id = 1`,
  deviceList: "SELECT * FROM device_lists WHERE user_id = ?",
  setDeviceList: `INSERT INTO device_lists (user_id, version, hash, body, checked_at)
    VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (user_id) DO UPDATE SET version = excluded.version, hash = excluded.hash,
      body = excluded.body, checked_at = excluded.checked_at`,
} as const;

/** The prepared form of {@linkcode KEYSTORE_SQL}. */
export type KeystoreStatements = { readonly [K in keyof typeof KEYSTORE_SQL]: SqlStatement };

/** Prepares every statement of {@linkcode KEYSTORE_SQL} on `db`. */
export function prepareKeystoreStatements(db: SqlDatabase): KeystoreStatements {
  const st: Partial<Record<keyof typeof KEYSTORE_SQL, SqlStatement>> = {};
  for (const key of Object.keys(KEYSTORE_SQL) as (keyof typeof KEYSTORE_SQL)[]) {
    st[key] = db.prepare(KEYSTORE_SQL[key]);
  }
  return st as KeystoreStatements;
}

/** Creates the schema in a new, empty database; the caller holds a write transaction. */
export function createKeystoreSchema(db: SqlDatabase): void {
  db.exec(`PRAGMA application_id = ${KEYSTORE_APPLICATION_ID}`);
  db.exec(_SCHEMA_V1);
  for (const step of _MIGRATIONS) db.exec(step);
  db.exec(`PRAGMA user_version = ${KEYSTORE_SCHEMA_VERSION}`);
}

/**
 * Brings a keystore of an older version (already checked by
 * {@linkcode checkKeystoreSchema}) up to {@linkcode KEYSTORE_SCHEMA_VERSION}, in one
 * transaction; another client of the same file migrating at the same moment waits, then
 * finds nothing left to do.
 *
 * @returns the version the file had.
 */
export function migrateKeystoreSchema(db: SqlDatabase): number {
  const before = _pragma(db, "user_version");
  if (before >= KEYSTORE_SCHEMA_VERSION) return before;
  db.exec("BEGIN IMMEDIATE");
  try {
    const version = _pragma(db, "user_version");
    for (let v = version; v < KEYSTORE_SCHEMA_VERSION; v++) db.exec(_MIGRATIONS[v - 1]!);
    db.exec(`PRAGMA user_version = ${KEYSTORE_SCHEMA_VERSION}`);
    db.exec("COMMIT");
  } catch (err) {
    rollback(db);
    throw err;
  }
  return before;
}

/**
 * Checks that `db` is a keystore this code can read; `label` names it in messages.
 *
 * @throws {KeystoreError} "not_a_keystore" for another kind of database or file, or
 *   "unsupported_version" for a keystore from a newer FastChat.
 */
export function checkKeystoreSchema(db: SqlDatabase, label: string): void {
  let appId: number;
  let version: number;
  try {
    appId = _pragma(db, "application_id");
    version = _pragma(db, "user_version");
  } catch (err) {
    // SQLite says "file is not a database" for anything that is not SQLite.
    throw new KeystoreError(
      "not_a_keystore",
      `${label} is not a FastChat keystore (${(err as Error).message})`,
    );
  }
  if (appId !== KEYSTORE_APPLICATION_ID || version === 0) {
    throw new KeystoreError(
      "not_a_keystore",
      `${label} is an SQLite database but not a FastChat keystore; check the path`,
    );
  }
  if (version > KEYSTORE_SCHEMA_VERSION) {
    throw new KeystoreError(
      "unsupported_version",
      `${label} has keystore schema version ${version}, newer than this FastChat supports ` +
        `(${KEYSTORE_SCHEMA_VERSION}); upgrade FastChat`,
    );
  }
  // An older version is migrated once the password is known: migrateKeystoreSchema().
}

function _pragma(db: SqlDatabase, name: string): number {
  const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown> | undefined;
  const value = row?.[name];
  if (typeof value !== "number") throw new Error(`PRAGMA ${name} returned no number`);
  return value;
}
