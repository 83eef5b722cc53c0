/**
 * Plumbing shared by the keystore's parts (`keystore_friends.ts`, `keystore_groups.ts`,
 * `keystore_history.ts`): the open database they work on, transactions, the names that
 * bind each sealed secret to its row, and the domain errors they throw.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { KeystoreCipher } from "./keystore_cipher.ts";
import type { KeystoreStatements } from "./keystore_schema.ts";
import { KeystoreError } from "./keystore_types.ts";

/** What the keystore's parts need from an open keystore. */
export interface KeystoreContext {
  /** The open database. */
  readonly db: DatabaseSync;
  /** Its prepared statements. */
  readonly st: KeystoreStatements;
  /** The current master key. */
  readonly cipher: KeystoreCipher;
  /** The owner's user ID. */
  readonly userId: number;
  /** The file's path, for messages. */
  readonly path: string;
}

/** A row as node:sqlite returns it. */
export type Row = Record<string, unknown>;

/** Runs `fn` in a `BEGIN IMMEDIATE` transaction, rolled back if it throws. */
export function runTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

/** Seal context of the own RSA private key. */
export const RSA_PRIVATE_KEY_CONTEXT = "account:rsa_private_key";
/** Seal context of the own identity secret key. */
export const IDENTITY_SECRET_CONTEXT = "account:identity_secret_key";
/** Seal context of the session token. */
export const SESSION_TOKEN_CONTEXT = "account:session_token";

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

/** "corrupt" for a file whose contents do not make sense. */
export function corruptError(path: string, why: string): KeystoreError {
  return new KeystoreError("corrupt", `The keystore ${path} is damaged: ${why}`);
}
