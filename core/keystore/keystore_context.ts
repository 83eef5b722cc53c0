/**
 * Plumbing shared by the keystore's parts (`keystore_friends.ts`, `keystore_groups.ts`,
 * `keystore_history.ts`): the open database they work on, transactions, the names that
 * bind each sealed secret to its row, and the domain errors they throw.
 *
 * @module
 */

import type { KeystoreCipher } from "./keystore_cipher.ts";
import type { KeystoreStatements } from "./keystore_schema.ts";
import { KeystoreError } from "./keystore_types.ts";
import type { SqlDatabase, SqlRow } from "./sql_database.ts";

/** What the keystore's parts need from an open keystore. */
export interface KeystoreContext {
  /** The open database. */
  readonly db: SqlDatabase;
  /** Its prepared statements. */
  readonly st: KeystoreStatements;
  /** The current master key. */
  readonly cipher: KeystoreCipher;
  /** The owner's user ID. */
  readonly userId: number;
  /** What the keystore is called in messages (a file keystore's path). */
  readonly label: string;
}

/** A result row. */
export type Row = SqlRow;

/** Runs `fn` in a `BEGIN IMMEDIATE` transaction, rolled back if it throws. */
export function runTransaction<T>(db: SqlDatabase, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (err) {
    rollback(db);
    throw err;
  }
}

/**
 * Rolls back the open transaction, if any: SQLite may already have rolled it back itself
 * (after some errors, such as a full disk), and then there is nothing left to undo.
 */
export function rollback(db: SqlDatabase): void {
  try {
    db.exec("ROLLBACK");
  } catch {
    // No transaction is active any more.
  }
}

/** Seal context of the own RSA private key. */
export const RSA_PRIVATE_KEY_CONTEXT = "account:rsa_private_key";
/** Seal context of the own identity secret key. */
export const IDENTITY_SECRET_CONTEXT = "account:identity_secret_key";
/** Seal context of the session token. */
export const SESSION_TOKEN_CONTEXT = "account:session_token";

/** Seal context of this device's signing secret key. */
export const DEVICE_SIGN_SECRET_CONTEXT = "device:sign_secret_key";
/** Seal context of this device's RSA private key. */
export const DEVICE_RSA_PRIVATE_KEY_CONTEXT = "device:rsa_private_key";

/** Seal context of a key shared with a friend. */
export function friendKeyContext(friendId: number, kid: string): string {
  return `friend_key:${friendId}:${kid}`;
}

/** Seal context of a group's key for one epoch. */
export function groupKeyContext(groupId: number, epoch: number): string {
  return `group_key:${groupId}:${epoch}`;
}

/** Seal context of a message's text or file details, by local row ID. */
export function messageContext(id: number, part: "text" | "file"): string {
  return `message:${id}:${part}`;
}

/** Seal context of the first readable text of a user's request. */
export function requestPreviewContext(userId: number): string {
  return `request_preview:${userId}`;
}

/** Seal context of a message kept with a user's request. */
export function requestMessageContext(userId: number, msgId: number): string {
  return `request_message:${userId}:${msgId}`;
}

/** Seal context of a secret setting, by its stored name (`secret:<name>`). */
export function secretSettingContext(storedName: string): string {
  return `setting:${storedName}`;
}

/** "not_found" for a user who is not a friend. */
export function noFriendError(userId: number): KeystoreError {
  return new KeystoreError("not_found", `User ${userId} is not a friend; add them first`);
}

/** "not_found" for a group the keystore does not know. */
export function noGroupError(groupId: number): KeystoreError {
  return new KeystoreError(
    "not_found",
    `Group ${groupId} is unknown; store it with upsertGroup()`,
  );
}

/** "corrupt" for a keystore whose contents do not make sense; `label` names it. */
export function corruptError(label: string, why: string): KeystoreError {
  return new KeystoreError("corrupt", `The keystore ${label} is damaged: ${why}`);
}
