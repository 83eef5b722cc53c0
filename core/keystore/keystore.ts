/**
 * The client's local database: one SQLite database per user holding the user's own
 * account and keys, this device's own keys, their friends with pinned public keys and
 * shared Fernet keys, the device lists pinned per user, their groups with per-epoch keys,
 * and the message history.
 *
 * It works on any {@linkcode SqlDatabase} (`sql_database.ts`): on Deno a file through
 * node:sqlite (`core/client/deno/keystore_file.ts`: `createKeystoreFile` and
 * `openKeystoreFile`, the caller picks the path, e.g. `<data>/<username>/keystore.db`); in a
 * browser an in-memory sql.js database (`sqljs_database.ts`) whose image the caller
 * persists. Here nothing knows about files: a keystore is a database and a label naming it
 * in messages (a file keystore's label is its path).
 *
 * The database lives on the user's device, and everything private in it is encrypted at
 * rest under a master key derived from the user's password (scrypt, then Fernet; see
 * `keystore_cipher.ts`): the RSA private key, the identity secret key, the session token,
 * this device's signing and RSA secret keys, every shared friend and group key, and every
 * message text and file detail. Stealing it
 * gives IDs, names, public keys, times and message states, but no secret and no text.
 * Public data is not authenticated: whoever can write the database can change a pinned
 * public key, which is one reason a file keystore is created `0600` in a `0700` directory.
 *
 * Hygiene: `secure_delete` on every backend, and a WAL checkpoint after
 * {@linkcode Keystore.changePassword} (a no-op where there is no WAL), so tokens under the
 * old password do not linger in freed pages or WAL frames. A file keystore also runs a WAL
 * journal with `synchronous=FULL`, since the client acks messages to the server once they
 * are stored here.
 *
 * The API is synchronous (SQLite calls are small), except `createIn()`, `openIn()` and
 * `changePassword()`, which run scrypt without blocking the event loop. Bad arguments
 * throw TypeError or RangeError before anything is written; domain failures throw
 * {@linkcode KeystoreError} with a code from {@linkcode KEYSTORE_ERRORS}.
 *
 * The parts live beside this file: `keystore_friends.ts`, `keystore_groups.ts`,
 * `keystore_history.ts`, `keystore_consent.ts`, `keystore_devices.ts` (the methods), `keystore_setup.ts`
 * (creating, opening, resealing), `keystore_cipher.ts` (encryption), `keystore_schema.ts`
 * (SQL), `keystore_check.ts` (input checks) and `keystore_types.ts` (records and errors,
 * re-exported here).
 *
 * @example
 * ```ts ignore
 * const db = new SqlJsDatabase(SQL);
 * const ks = await Keystore.createIn(db, "ada", { password, account });
 * ks.addFriend({ userId: 7, username: "bob", rsaPublicKey, identityKey });
 * ks.addFriendKey(7, "k1", generateFernetKey(), { active: true });
 * const image = db.export();
 * ks.close();
 * const again = await Keystore.openIn(new SqlJsDatabase(SQL, image), "ada", password);
 * ```
 *
 * @module
 */

import { fromBase64Url } from "../crypto/mod.ts";
import { checkObject, checkPassword, checkSessionToken } from "./keystore_check.ts";
import { KeystoreCipher, resolveScryptParams } from "./keystore_cipher.ts";
import {
  corruptError,
  IDENTITY_SECRET_CONTEXT,
  type KeystoreContext,
  type Row,
  RSA_PRIVATE_KEY_CONTEXT,
  SESSION_TOKEN_CONTEXT,
} from "./keystore_context.ts";
import {
  checkCreateOptions,
  checkEmptyDb,
  configureKeystoreDb,
  initKeystoreDb,
  readKdf,
  resealKeystore,
} from "./keystore_setup.ts";
import * as consent from "./keystore_consent.ts";
import * as devices from "./keystore_devices.ts";
import * as friends from "./keystore_friends.ts";
import * as invites from "./keystore_group_invites.ts";
import * as groups from "./keystore_groups.ts";
import * as history from "./keystore_history.ts";
import {
  checkKeystoreSchema,
  type KeystoreStatements,
  migrateKeystoreSchema,
  prepareKeystoreStatements,
} from "./keystore_schema.ts";
import {
  type AddFriendKeyOptions,
  type BlockedRecord,
  type ChangePasswordOptions,
  type ConversationKind,
  type CreateKeystoreOptions,
  type DeviceIdentity,
  type FriendInput,
  type FriendKeyRecord,
  type FriendKeysInput,
  type FriendRecord,
  type GroupInput,
  type GroupInviteRecord,
  type GroupKeyRecord,
  type GroupLeavingInput,
  type GroupListOptions,
  type GroupRecord,
  type IncomingMessageInput,
  type KeystoreAccount,
  KeystoreError,
  type MessageRecord,
  type OutgoingMessageInput,
  type PinnedDeviceList,
  type RequestMessageRecord,
  type RequestRecord,
} from "./keystore_types.ts";
import type { SqlDatabase } from "./sql_database.ts";

export * from "./keystore_types.ts";
export { DEFAULT_KEYSTORE_SCRYPT } from "./keystore_cipher.ts";
export { KEYSTORE_SCHEMA_VERSION } from "./keystore_schema.ts";

/** The client's local database; see the module documentation. */
export class Keystore {
  #db: SqlDatabase | null;
  readonly #st: KeystoreStatements;
  #cipher: KeystoreCipher;
  readonly #label: string;
  readonly #userId: number;
  readonly #username: string;
  /** Serializes password changes, which await scrypt twice. */
  #passwordChange: Promise<unknown> = Promise.resolve();

  private constructor(db: SqlDatabase, cipher: KeystoreCipher, label: string) {
    this.#db = db;
    this.#st = prepareKeystoreStatements(db);
    this.#cipher = cipher;
    this.#label = label;
    const row = this.#st.account.get();
    if (row === undefined) throw corruptError(label, "it has no account");
    this.#userId = row["user_id"] as number;
    this.#username = row["username"] as string;
  }

  /**
   * Creates a new keystore in `db`, an empty database, holding the user's account locked
   * with `opts.password`: the schema, the master key's parameters and the account are
   * written in one transaction. `label` names the keystore in messages (a file's path).
   *
   * `db` may also be a function opening the database: it is called once the options are
   * checked and the master key is derived, so a bad call makes nothing and the database
   * is not left empty while scrypt runs (the file backend uses this).
   *
   * From then on the keystore owns the database: {@linkcode close} closes it. If creating
   * fails, the database is left open for the caller, without any of the keystore's rows.
   *
   * @throws {KeystoreError} "already_exists" if `db` is not empty.
   * @throws {TypeError | RangeError} If an argument is malformed, e.g. the RSA or identity
   *   keys are not a matching pair. Nothing is written then.
   */
  static async createIn(
    db: SqlDatabase | (() => SqlDatabase),
    label: string,
    opts: CreateKeystoreOptions,
  ): Promise<Keystore> {
    _checkLabel(label);
    const { account, params } = checkCreateOptions(opts);
    const salt = KeystoreCipher.newSalt();
    const cipher = await KeystoreCipher.derive(opts.password, salt, params);
    const target = typeof db === "function" ? db() : db;
    configureKeystoreDb(target);
    checkEmptyDb(target, label);
    initKeystoreDb(target, { salt, params, verifier: cipher.makeVerifier() }, cipher, account);
    return new Keystore(target, cipher, label);
  }

  /**
   * Opens the keystore in `db` with the user's password; `label` names it in messages (a
   * file's path). A keystore of an older schema version is migrated (see
   * `keystore_schema.ts`) once the password is checked.
   *
   * From then on the keystore owns the database: {@linkcode close} closes it. If opening
   * fails, it is left open for the caller (to try another password, say).
   *
   * @throws {KeystoreError} "wrong_password"; "not_a_keystore"; "unsupported_version" for
   *   a keystore from a newer FastChat; "corrupt".
   * @throws {TypeError | RangeError} If an argument is malformed.
   */
  static async openIn(db: SqlDatabase, label: string, password: string): Promise<Keystore> {
    _checkLabel(label);
    checkPassword("password", password);
    checkKeystoreSchema(db, label);
    configureKeystoreDb(db);
    const kdf = readKdf(db, label);
    const cipher = await KeystoreCipher.derive(password, kdf.salt, kdf.params);
    if (!cipher.checkVerifier(kdf.verifier)) {
      throw new KeystoreError("wrong_password", `Wrong password for ${label}; try again`);
    }
    migrateKeystoreSchema(db);
    return new Keystore(db, cipher, label);
  }

  /** What the keystore is called in messages: the label given when it was opened. */
  get label(): string {
    return this.#label;
  }

  /** The keystore's label; for a file keystore, its path. */
  get path(): string {
    return this.#label;
  }

  /** The user's server-side ID. */
  get userId(): number {
    return this.#userId;
  }

  /** The user's username. */
  get username(): string {
    return this.#username;
  }

  /** Whether {@linkcode Keystore.close} was called. */
  get closed(): boolean {
    return this.#db === null;
  }

  /** The user's own account, with its secrets decrypted. */
  account(): KeystoreAccount {
    const { st, cipher } = this.#ctx();
    const row = st.account.get() as Row;
    return {
      userId: row["user_id"] as number,
      username: row["username"] as string,
      rsaPrivateKey: cipher.open(RSA_PRIVATE_KEY_CONTEXT, row["rsa_private_key_enc"] as string),
      rsaPublicKey: row["rsa_public_key"] as string,
      identitySecretKey: fromBase64Url(
        cipher.open(IDENTITY_SECRET_CONTEXT, row["identity_secret_key_enc"] as string),
      ),
      identityPublicKey: row["identity_public_key"] as string,
      sessionToken: this.sessionToken(),
      createdAt: row["created_at"] as number,
    };
  }

  /** The stored session token (for `resume`), or null. */
  sessionToken(): string | null {
    const { st, cipher } = this.#ctx();
    const token = (st.account.get() as Row)["session_token_enc"] as string | null;
    return token === null ? null : cipher.open(SESSION_TOKEN_CONTEXT, token);
  }

  /** Stores the session token (encrypted), or forgets it with null (after logout). */
  setSessionToken(token: string | null): void {
    if (token !== null) checkSessionToken("token", token);
    const { st, cipher } = this.#ctx();
    st.setSessionToken.run(token === null ? null : cipher.seal(SESSION_TOKEN_CONTEXT, token));
  }

  /**
   * Changes the password: checks `oldPassword`, derives a new master key with a fresh salt
   * (and `opts.scrypt`, else the current parameters), and re-encrypts every secret in one
   * transaction. Concurrent calls run one after the other.
   *
   * @throws {KeystoreError} "wrong_password" if `oldPassword` is wrong; nothing changes.
   */
  changePassword(
    oldPassword: string,
    newPassword: string,
    opts: ChangePasswordOptions = {},
  ): Promise<void> {
    const run = this.#passwordChange.then(() =>
      this.#changePassword(oldPassword, newPassword, opts)
    );
    this.#passwordChange = run.catch(() => {});
    return run;
  }

  /**
   * This device's own keys and its place in the account's device list (see
   * {@linkcode DeviceIdentity}), with the secrets decrypted; null if none are stored yet
   * (a keystore made before linked devices, or a device that has not made its keys).
   */
  deviceIdentity(): DeviceIdentity | null {
    return devices.deviceIdentity(this.#ctx());
  }

  /**
   * Stores this device's own keys, replacing any stored before. The secrets are sealed;
   * the public keys are normalized like a friend's (SPKI PEM, url-safe base64 without
   * padding).
   *
   * @throws {TypeError | RangeError} If a field is malformed, e.g. a secret key does not
   *   match its public key, or the name is empty, longer than 64 characters or has control
   *   characters. Nothing is written then.
   */
  setDeviceIdentity(device: DeviceIdentity): void {
    devices.setDeviceIdentity(this.#ctx(), device);
  }

  /**
   * Sets this device's ID, once the account's device list names it (keeping its keys).
   *
   * @throws {KeystoreError} "not_found" if no device keys are stored.
   */
  setDeviceId(deviceId: number): void {
    devices.setDeviceId(this.#ctx(), deviceId);
  }

  /** The device list pinned for a user (a contact, or the user's own account), or null. */
  deviceList(userId: number): PinnedDeviceList | null {
    return devices.deviceList(this.#ctx(), userId);
  }

  /**
   * Pins a user's device list, which the caller has checked (chain and signatures), with
   * the version and hash it read from it. A list never goes back: a newer version replaces
   * the pinned one; the pinned version with the pinned hash changes nothing (not even
   * `checkedAt`).
   *
   * @throws {KeystoreError} "device_list_rollback" if `list.version` is lower than the
   *   pinned version; "device_list_fork" if it is the pinned version with another hash.
   *   Nothing changes then.
   * @throws {TypeError | RangeError} If an argument is malformed (the body must be 1 byte
   *   to 64 KiB of UTF-8, the hash 43 characters of url-safe base64).
   */
  pinDeviceList(userId: number, list: PinnedDeviceList): void {
    devices.pinDeviceList(this.#ctx(), userId, list);
  }

  /** Closes the database; later calls throw KeystoreError "closed". Idempotent. */
  close(): void {
    this.#db?.close();
    this.#db = null;
  }

  /**
   * Adds a friend and pins their public keys (trust on first use). Keys are normalized:
   * RSA to SPKI PEM, identity to url-safe base64 without padding. They are a contact unless
   * `friend.contact` is false (a user pinned only to check their signatures).
   *
   * @throws {KeystoreError} "already_exists" if the user is already a friend.
   */
  addFriend(friend: FriendInput): FriendRecord {
    return friends.addFriend(this.#ctx(), friend);
  }

  /** The friend with this user ID, or null. */
  friend(userId: number): FriendRecord | null {
    return friends.friendById(this.#ctx(), userId);
  }

  /** The friend with exactly this username (case-sensitive), or null. */
  friendByName(username: string): FriendRecord | null {
    return friends.friendByName(this.#ctx(), username);
  }

  /** All friends (every pinned user, contact or not), by username. */
  friends(): FriendRecord[] {
    return friends.listFriends(this.#ctx());
  }

  /** The friends who are contacts, by username. */
  contacts(): FriendRecord[] {
    return friends.listContacts(this.#ctx());
  }

  /**
   * Makes a pinned user a contact, or no longer one.
   *
   * @throws {KeystoreError} "not_found" if the user is not pinned.
   */
  setContact(userId: number, contact: boolean): FriendRecord {
    return friends.setContact(this.#ctx(), userId, contact);
  }

  /**
   * Marks a friend's pinned keys verified (the user compared safety numbers). The mark
   * goes when the keys change: a pending change clears it, and so does accepting one.
   *
   * @throws {KeystoreError} "not_found" if not a friend; "pending_change" if their keys
   *   changed and the change is not accepted yet (which keys would be verified?).
   */
  verifyFriend(userId: number): FriendRecord {
    return friends.verifyFriend(this.#ctx(), userId);
  }

  /**
   * Compares keys from the directory with a friend's pinned ones. Different keys are kept
   * as a pending change (replacing an earlier one) until {@linkcode acceptKeyChange}; until
   * then {@linkcode friendKeysUsable} is false, and the friend is no longer verified. Keys
   * equal to the pinned ones clear any pending change (the directory went back), but not
   * the lost verification.
   *
   * @returns "changed" if the keys differ from the pinned ones, else "unchanged".
   * @throws {KeystoreError} "not_found" if the user is not a friend.
   */
  observeFriendKeys(userId: number, keys: FriendKeysInput): "changed" | "unchanged" {
    return friends.observeFriendKeys(this.#ctx(), userId, keys);
  }

  /**
   * Pins a friend's pending keys, once the user accepted the change. Shared Fernet keys are
   * kept; whether to rotate them is the caller's decision.
   *
   * @throws {KeystoreError} "not_found" if not a friend; "no_pending_change" if none is pending.
   */
  acceptKeyChange(userId: number): FriendRecord {
    return friends.acceptKeyChange(this.#ctx(), userId);
  }

  /** Whether the user is a friend with no pending key change, i.e. their keys may be used. */
  friendKeysUsable(userId: number): boolean {
    return friends.friendKeysUsable(this.#ctx(), userId);
  }

  /**
   * Stores a Fernet key shared with a friend under key ID `kid`, optionally making it the
   * active one (the previous active key becomes `old`). Storing the same key again changes
   * nothing, not even its role, so a redelivered key message cannot demote a newer key.
   *
   * @returns true if stored, false if this exact key was already stored under `kid`.
   * @throws {KeystoreError} "not_found" if not a friend; "conflict" if `kid` holds another key.
   */
  addFriendKey(
    friendId: number,
    kid: string,
    key: string,
    opts: AddFriendKeyOptions = {},
  ): boolean {
    return friends.addFriendKey(this.#ctx(), friendId, kid, key, opts);
  }

  /**
   * Makes key `kid` the one used for sending to a friend; the previous one becomes `old`.
   *
   * @throws {KeystoreError} "not_found" if the friend has no key `kid`.
   */
  setActiveFriendKey(friendId: number, kid: string): void {
    friends.setActiveFriendKey(this.#ctx(), friendId, kid);
  }

  /** The key `kid` shared with a friend (active or old, for reading history), or null. */
  friendKey(friendId: number, kid: string): FriendKeyRecord | null {
    return friends.friendKey(this.#ctx(), friendId, kid);
  }

  /** The key for sending to a friend, or null if none is active. */
  activeFriendKey(friendId: number): FriendKeyRecord | null {
    return friends.activeFriendKey(this.#ctx(), friendId);
  }

  /** Every key shared with a friend, oldest first. */
  friendKeys(friendId: number): FriendKeyRecord[] {
    return friends.listFriendKeys(this.#ctx(), friendId);
  }

  /**
   * Inserts or updates a group as the server describes it, replacing its member list. If
   * the user had left it, they are a member again.
   */
  upsertGroup(group: GroupInput): GroupRecord {
    return groups.upsertGroup(this.#ctx(), group);
  }

  /**
   * Replaces a group's member list.
   *
   * @throws {KeystoreError} "not_found" if the group is unknown.
   */
  setGroupMembers(groupId: number, members: readonly number[]): GroupRecord {
    return groups.setGroupMembers(this.#ctx(), groupId, members);
  }

  /** The group with this ID (left or not), or null. */
  group(groupId: number): GroupRecord | null {
    return groups.groupById(this.#ctx(), groupId);
  }

  /** Groups by name, then ID; only those the user is in, unless `includeLeft`. */
  groups(opts: GroupListOptions = {}): GroupRecord[] {
    return groups.listGroups(this.#ctx(), opts);
  }

  /**
   * Groups with exactly this name (case-sensitive), by ID. Names are not unique: more than
   * one result means the caller must ask which. Only groups the user is in, unless
   * `includeLeft`.
   */
  groupsByName(name: string, opts: GroupListOptions = {}): GroupRecord[] {
    return groups.groupsByName(this.#ctx(), name, opts);
  }

  /**
   * Marks a group as left: it keeps its history and keys (listed with `includeLeft`), but
   * the user is no longer a member. `leaving` says who ended the membership and how (kept
   * as `leftBy` and `leftHow` until the user is in the group again). Idempotent: a group
   * left already keeps how it was left.
   *
   * @throws {KeystoreError} "not_found" if the group is unknown.
   */
  removeGroup(groupId: number, leaving: GroupLeavingInput | null = null): void {
    groups.removeGroup(this.#ctx(), groupId, leaving);
  }

  /**
   * Records that someone who is not a contact put the user in a stored group: it is an
   * invitation until the user accepts or leaves it.
   *
   * @returns false if the group has an invitation already (the first one stays).
   * @throws {KeystoreError} "not_found" if the group is unknown.
   */
  addGroupInvite(groupId: number, byId: number, byName: string, invitedAt?: number): boolean {
    return invites.addGroupInvite(this.#ctx(), groupId, byId, byName, invitedAt);
  }

  /** The pending invitation to this group, or null. */
  groupInvite(groupId: number): GroupInviteRecord | null {
    return invites.groupInviteById(this.#ctx(), groupId);
  }

  /** Every pending group invitation, oldest first. */
  groupInvites(): GroupInviteRecord[] {
    return invites.listGroupInvites(this.#ctx());
  }

  /** Forgets a group's invitation (accepted, or the group was left); false if none. */
  removeGroupInvite(groupId: number): boolean {
    return invites.removeGroupInvite(this.#ctx(), groupId);
  }

  /**
   * Stores a group's key for `epoch` (0, 1, ...). An epoch's key is set once; the highest
   * epoch with a key is the group's current one.
   *
   * @returns true if stored, false if this exact key was already stored for `epoch`.
   * @throws {KeystoreError} "not_found" if the group is unknown; "conflict" if `epoch`
   *   already has a different key.
   */
  addGroupKey(groupId: number, epoch: number, key: string): boolean {
    return groups.addGroupKey(this.#ctx(), groupId, epoch, key);
  }

  /** A group's key for `epoch`, or null if not stored. */
  groupKey(groupId: number, epoch: number): string | null {
    return groups.groupKey(this.#ctx(), groupId, epoch);
  }

  /** A group's key of the highest epoch, with that epoch; null if it has none. */
  currentGroupKey(groupId: number): GroupKeyRecord | null {
    return groups.currentGroupKey(this.#ctx(), groupId);
  }

  /**
   * Stores a message the user typed, in state "queued" until a server accepts it.
   *
   * @throws {KeystoreError} "conflict" if `clientMsgId` is already used.
   */
  addOutgoing(msg: OutgoingMessageInput): MessageRecord {
    return history.addOutgoing(this.#ctx(), msg);
  }

  /**
   * Stores a received message. The same server message ID (or the same sender's client
   * message ID) is stored once, so redeliveries after a restart are harmless.
   *
   * @returns the stored record, or null if the message was already stored.
   */
  addIncoming(msg: IncomingMessageInput): MessageRecord | null {
    return history.addIncoming(this.#ctx(), msg);
  }

  /** The outgoing message with this client message ID, or null. */
  outgoing(clientMsgId: string): MessageRecord | null {
    return history.outgoing(this.#ctx(), clientMsgId);
  }

  /** The outgoing message the server accepted as `msgId`, or null. */
  outgoingByMsgId(msgId: number): MessageRecord | null {
    return history.outgoingByMsgId(this.#ctx(), msgId);
  }

  /**
   * The newest `limit` (1 to 10000, default 50) messages of a conversation, with user
   * `peerId` ("direct") or group `peerId` ("group"), in chronological order: by sent time,
   * then by the order they were stored.
   */
  history(kind: ConversationKind, peerId: number, limit = 50): MessageRecord[] {
    return history.history(this.#ctx(), kind, peerId, limit);
  }

  /**
   * Records that a server accepted an outgoing message as `msgId` (state "accepted", unless
   * already "delivered"). Idempotent for the same `msgId`.
   *
   * @returns false if no outgoing message has this client message ID.
   * @throws {KeystoreError} "conflict" if the message already has another server ID, or
   *   `msgId` belongs to another message.
   */
  markAccepted(clientMsgId: string, msgId: number): boolean {
    return history.markAccepted(this.#ctx(), clientMsgId, msgId);
  }

  /**
   * Records that a recipient acknowledged the outgoing message `msgId` (in a group, the
   * first member to do so).
   *
   * @returns false if no accepted outgoing message has this ID.
   */
  markDelivered(msgId: number): boolean {
    return history.markDelivered(this.#ctx(), msgId);
  }

  /**
   * Marks a queued outgoing message as failed (the server refused it), so it is no longer
   * in {@linkcode queued}.
   *
   * @returns false if no queued outgoing message has this client message ID.
   */
  markFailed(clientMsgId: string): boolean {
    return history.markFailed(this.#ctx(), clientMsgId);
  }

  /**
   * Puts a failed outgoing message back in the queue, to be sent again (the server stored
   * nothing of it, so it keeps its client message ID).
   *
   * @returns false if no failed outgoing message has this client message ID.
   */
  markRequeued(clientMsgId: string): boolean {
    return history.markRequeued(this.#ctx(), clientMsgId);
  }

  /** Outgoing messages a server refused for good, oldest first, for the user to resend. */
  failed(): MessageRecord[] {
    return history.failed(this.#ctx());
  }

  /** Outgoing messages still waiting for a server, oldest first, to send on reconnect. */
  queued(): MessageRecord[] {
    return history.queued(this.#ctx());
  }

  /** The stored incoming message with this server ID, or null. */
  incoming(msgId: number): MessageRecord | null {
    return history.incoming(this.#ctx(), msgId);
  }

  /** Whether a message with this server ID is stored (de-duplication across restarts). */
  hasMessage(msgId: number): boolean {
    return history.hasMessage(this.#ctx(), msgId);
  }

  /**
   * Records that incoming message `msgId` was handled though it is not history (key and
   * group-event messages), so {@linkcode lastSeenMsgId} moves past it. Never moves back.
   */
  markSeen(msgId: number): void {
    history.markSeen(this.#ctx(), msgId);
  }

  /**
   * The highest server message ID received, for `sync`: {@linkcode addIncoming} (even for a
   * duplicate) and {@linkcode markSeen} move it forward; 0 if none.
   */
  lastSeenMsgId(): number {
    return history.lastSeenMsgId(this.#ctx());
  }

  /**
   * Keeps a message from a pinned user who is not a contact, sealed, with their request
   * (made on their first message). `frame` is opaque here; the engine stores the message
   * as it came, to handle it once the user accepts them.
   *
   * @returns true if stored, false if a message with this server ID is kept already.
   * @throws {KeystoreError} "not_found" if the user is not pinned.
   */
  addRequestMessage(userId: number, msgId: number, frame: string, receivedAt?: number): boolean {
    return consent.addRequestMessage(this.#ctx(), userId, msgId, frame, receivedAt);
  }

  /**
   * Sets the text shown with a request (the first text the requester sent that could be
   * read), unless one is set already.
   *
   * @returns true if set; false if the request already has one, or there is no request.
   */
  setRequestPreview(userId: number, text: string): boolean {
    return consent.setRequestPreview(this.#ctx(), userId, text);
  }

  /** The request of this user, or null. */
  request(userId: number): RequestRecord | null {
    return consent.requestById(this.#ctx(), userId);
  }

  /** Every pending request, oldest first. */
  requests(): RequestRecord[] {
    return consent.listRequests(this.#ctx());
  }

  /** The messages kept with a user's request, by server message ID. */
  requestMessages(userId: number): RequestMessageRecord[] {
    return consent.requestMessages(this.#ctx(), userId);
  }

  /**
   * Forgets a user's request and its messages (accepted and handled, or refused).
   *
   * @returns false if there was none.
   */
  removeRequest(userId: number): boolean {
    return consent.removeRequest(this.#ctx(), userId);
  }

  /**
   * Blocks a user (pinned or not): in one transaction, their request and its messages are
   * forgotten, and they are no longer a contact. Blocking again changes nothing.
   */
  block(userId: number, username: string): BlockedRecord {
    return consent.block(this.#ctx(), userId, username);
  }

  /**
   * Unblocks a user; they are a stranger again (not a contact).
   *
   * @returns false if they were not blocked.
   */
  unblock(userId: number): boolean {
    return consent.unblock(this.#ctx(), userId);
  }

  /** The blocked user with this ID, or null. */
  blocked(userId: number): BlockedRecord | null {
    return consent.blockedById(this.#ctx(), userId);
  }

  /** The blocked user with exactly this username, or null. */
  blockedByName(username: string): BlockedRecord | null {
    return consent.blockedByName(this.#ctx(), username);
  }

  /** Every blocked user, by username. */
  blockedUsers(): BlockedRecord[] {
    return consent.listBlocked(this.#ctx());
  }

  /** A setting's value (stored in the clear), or null when it is not set. */
  setting(name: string): string | null {
    return consent.setting(this.#ctx(), name);
  }

  /** Sets a setting (1 to 1024 characters), or removes it with null. */
  setSetting(name: string, value: string | null): void {
    consent.setSetting(this.#ctx(), name, value);
  }

  /**
   * A secret setting's value (sealed under the password like every secret here, e.g. the
   * key the web client stores received files under), or null when it is not set.
   */
  secret(name: string): string | null {
    return consent.secret(this.#ctx(), name);
  }

  /** Sets a secret setting (1 to 65,536 characters), or removes it with null. */
  setSecret(name: string, value: string | null): void {
    consent.setSecret(this.#ctx(), name, value);
  }

  #ctx(): KeystoreContext {
    if (this.#db === null) {
      throw new KeystoreError("closed", `The keystore ${this.#label} is closed; open it again`);
    }
    return {
      db: this.#db,
      st: this.#st,
      cipher: this.#cipher,
      userId: this.#userId,
      label: this.#label,
    };
  }

  async #changePassword(
    oldPassword: string,
    newPassword: string,
    opts: ChangePasswordOptions,
  ): Promise<void> {
    checkPassword("oldPassword", oldPassword);
    checkPassword("newPassword", newPassword);
    checkObject("Options", opts);
    const current = readKdf(this.#ctx().db, this.#label);
    const params = resolveScryptParams(opts.scrypt, current.params);
    const check = await KeystoreCipher.derive(oldPassword, current.salt, current.params);
    if (!check.checkVerifier(current.verifier)) {
      throw new KeystoreError("wrong_password", "The old password is wrong; nothing changed");
    }
    const salt = KeystoreCipher.newSalt();
    const next = await KeystoreCipher.derive(newPassword, salt, params);
    // Synchronous from here on, so rows written while scrypt ran are re-encrypted too.
    const ctx = this.#ctx();
    resealKeystore(ctx, next, { salt, params, verifier: next.makeVerifier() });
    this.#cipher = next;
    // Old tokens may remain in WAL frames: copy the pages home and empty the WAL. Without
    // a WAL (sql.js, a journal in memory) this returns at once and changes nothing.
    ctx.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
}

function _checkLabel(label: unknown): asserts label is string {
  if (typeof label !== "string") {
    throw new TypeError(`Keystore label must be a string, got ${typeof label}`);
  }
}
