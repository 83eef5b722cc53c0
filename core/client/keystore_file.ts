/**
 * The keystore file's life: creating it with tight permissions, opening and configuring
 * it, writing a new keystore's first rows, and re-encrypting everything for a new
 * password. `Keystore.create`, `Keystore.open` and `Keystore.changePassword` build on it.
 *
 * Permissions: the file is created `0600` (SQLite gives its `-wal` and `-shm` files the
 * same mode) and a missing directory `0700`, made exact with chmod since the umask can
 * only narrow them. Windows has no such modes; there the user profile's ACLs apply.
 *
 * @module
 */

import { dirname } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { toBase64Url } from "../crypto/mod.ts";
import {
  checkId,
  checkIdentityKeyPair,
  checkObject,
  checkRsaKeyPair,
  checkSessionToken,
  checkUsername,
  normalizeIdentityKey,
  normalizeRsaPublicKey,
} from "./keystore_check.ts";
import {
  KEYSTORE_SALT_BYTES,
  type KeystoreCipher,
  type ScryptParams,
  scryptParamsProblem,
} from "./keystore_cipher.ts";
import {
  corruptError,
  friendKeyContext,
  groupKeyContext,
  IDENTITY_SECRET_CONTEXT,
  type KeystoreContext,
  messageContext,
  requestMessageContext,
  requestPreviewContext,
  type Row,
  RSA_PRIVATE_KEY_CONTEXT,
  runTransaction,
  SESSION_TOKEN_CONTEXT,
} from "./keystore_context.ts";
import { createKeystoreSchema } from "./keystore_schema.ts";
import { KeystoreError } from "./keystore_types.ts";

/** An account checked and normalized for storing. */
export interface PreparedAccount {
  /** Server-side user ID. */
  readonly userId: number;
  /** Username. */
  readonly username: string;
  /** RSA public key, SPKI PEM. */
  readonly rsaPublicKey: string;
  /** RSA private key PEM, as given. */
  readonly rsaPrivateKey: string;
  /** Identity public key, url-safe base64 without padding. */
  readonly identityPublicKey: string;
  /** Identity secret key as url-safe base64, the form it is sealed in. */
  readonly identitySecret: string;
  /** Session token, or null. */
  readonly sessionToken: string | null;
}

/** The master key's stored parameters. */
export interface KdfRecord {
  /** The scrypt salt. */
  readonly salt: Uint8Array;
  /** The scrypt parameters. */
  readonly params: ScryptParams;
  /** The sealed verifier (see `KeystoreCipher.makeVerifier`). */
  readonly verifier: string;
}

const _BUSY_TIMEOUT_MS = 5000;
const _RESEAL_BATCH = 500;
const _POSIX = Deno.build.os !== "windows";

/** Throws TypeError unless `path` is a usable file path. */
export function checkKeystorePath(path: unknown): asserts path is string {
  if (typeof path !== "string") {
    throw new TypeError(`Keystore path must be a string, got ${typeof path}`);
  }
  if (path === "" || path === ":memory:" || path.includes("\0")) {
    throw new TypeError(
      `Keystore path must be a file path (not empty, ":memory:" or with NUL), got "${path}"`,
    );
  }
}

/** Checks the account given to `Keystore.create`: well-formed, and each key pair matching. */
export function prepareAccount(account: unknown): PreparedAccount {
  checkObject("account", account);
  const a = account as Record<string, unknown>;
  const userId = a["userId"];
  const username = a["username"];
  checkId("account.userId", userId);
  checkUsername("account.username", username);
  const rsaPublicKey = normalizeRsaPublicKey("account.rsaPublicKey", a["rsaPublicKey"]);
  const rsaPrivateKey = checkRsaKeyPair("account.rsaPrivateKey", a["rsaPrivateKey"], rsaPublicKey);
  const identityPublicKey = normalizeIdentityKey(
    "account.identityPublicKey",
    a["identityPublicKey"],
  );
  const secret = a["identitySecretKey"];
  checkIdentityKeyPair("account.identitySecretKey", secret, identityPublicKey);
  const token = a["sessionToken"] ?? null;
  if (token !== null) checkSessionToken("account.sessionToken", token);
  return {
    userId,
    username,
    rsaPublicKey,
    rsaPrivateKey,
    identityPublicKey,
    identitySecret: toBase64Url(secret as Uint8Array, false),
    sessionToken: token,
  };
}

/**
 * Creates an empty file at `path` with mode 0600, and its directory with 0700 if missing.
 *
 * @throws {KeystoreError} "already_exists" if something is at `path`.
 */
export function createKeystoreFile(path: string): void {
  _ensureDir(dirname(path));
  try {
    Deno.openSync(path, { createNew: true, write: true, mode: 0o600 }).close();
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new KeystoreError(
        "already_exists",
        `${path} already exists; open it, or choose another path`,
      );
    }
    throw err;
  }
  if (_POSIX) Deno.chmodSync(path, 0o600);
}

/**
 * Checks that a keystore file exists.
 *
 * @throws {KeystoreError} "not_found" if nothing is at `path`; "not_a_keystore" for a directory.
 */
export function checkKeystoreFile(path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new KeystoreError("not_found", `No keystore at ${path}; create one first`);
    }
    throw err;
  }
  if (!info.isFile) {
    throw new KeystoreError("not_a_keystore", `${path} is not a file; check the path`);
  }
}

/** Narrows a keystore's mode back to 0600 if it lets others in (call once it is known ours). */
export function narrowKeystoreMode(path: string): void {
  if (!_POSIX) return;
  const mode = Deno.statSync(path).mode;
  if (mode !== null && (mode & 0o077) !== 0) Deno.chmodSync(path, 0o600);
}

/** Removes a keystore and its WAL files, ignoring what is not there (undoing a failed create). */
export function removeKeystoreFiles(path: string): void {
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      Deno.removeSync(path + suffix);
    } catch {
      // Not there, or nothing more we can do.
    }
  }
}

/** Sets the connection's pragmas: WAL, full sync, foreign keys, secure delete. */
export function configureKeystoreDb(db: DatabaseSync, path: string): void {
  db.exec(`PRAGMA busy_timeout = ${_BUSY_TIMEOUT_MS}`);
  const row = db.prepare("PRAGMA journal_mode = WAL").get() as Row | undefined;
  if (row?.["journal_mode"] !== "wal") {
    throw new Error(`Could not switch ${path} to WAL mode; check the file system`);
  }
  // The client acks messages once stored: a commit must survive a power cut.
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  // Freed pages are zeroed, so replaced tokens do not linger in the file.
  db.exec("PRAGMA secure_delete = ON");
}

/** Writes a new keystore's schema, master-key parameters and account in one transaction. */
export function initKeystoreDb(
  db: DatabaseSync,
  kdf: KdfRecord,
  cipher: KeystoreCipher,
  account: PreparedAccount,
): void {
  runTransaction(db, () => {
    createKeystoreSchema(db);
    db.prepare("INSERT INTO kdf (id, salt, log_n, r, p, verifier) VALUES (1, ?, ?, ?, ?, ?)")
      .run(kdf.salt, Math.log2(kdf.params.N), kdf.params.r, kdf.params.p, kdf.verifier);
    db.prepare(
      `INSERT INTO account (id, user_id, username, rsa_public_key, rsa_private_key_enc,
        identity_public_key, identity_secret_key_enc, session_token_enc, created_at)
      VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      account.userId,
      account.username,
      account.rsaPublicKey,
      cipher.seal(RSA_PRIVATE_KEY_CONTEXT, account.rsaPrivateKey),
      account.identityPublicKey,
      cipher.seal(IDENTITY_SECRET_CONTEXT, account.identitySecret),
      account.sessionToken === null
        ? null
        : cipher.seal(SESSION_TOKEN_CONTEXT, account.sessionToken),
      Date.now(),
    );
  });
}

/**
 * Reads the master key's parameters, bounded like new ones.
 *
 * @throws {KeystoreError} "corrupt" if they are missing or out of bounds.
 */
export function readKdf(db: DatabaseSync, path: string): KdfRecord {
  let row: Row | undefined;
  try {
    row = db.prepare("SELECT salt, log_n, r, p, verifier FROM kdf WHERE id = 1").get() as
      | Row
      | undefined;
  } catch (err) {
    throw corruptError(path, (err as Error).message);
  }
  if (row === undefined) throw corruptError(path, "it has no key derivation parameters");
  const { salt, log_n: logN, r, p, verifier } = row;
  if (
    !(salt instanceof Uint8Array) || salt.length !== KEYSTORE_SALT_BYTES ||
    !Number.isSafeInteger(logN) || (logN as number) < 1 || (logN as number) > 30 ||
    !Number.isSafeInteger(r) || !Number.isSafeInteger(p) || typeof verifier !== "string"
  ) {
    throw corruptError(path, "its key derivation parameters are malformed");
  }
  const params = { N: 2 ** (logN as number), r: r as number, p: p as number };
  const problem = scryptParamsProblem(params);
  if (problem !== undefined) throw corruptError(path, problem);
  return { salt, params, verifier };
}

/**
 * Re-encrypts every secret from `ctx.cipher` to `next` and stores the new parameters, in
 * one transaction: either all of it moves to the new password or none does.
 */
export function resealKeystore(ctx: KeystoreContext, next: KeystoreCipher, kdf: KdfRecord): void {
  const { st, cipher: old } = ctx;
  const move = (context: string, token: string) => next.seal(context, old.open(context, token));
  runTransaction(ctx.db, () => {
    const account = st.account.get() as Row;
    const session = account["session_token_enc"] as string | null;
    st.setAccountSecrets.run(
      move(RSA_PRIVATE_KEY_CONTEXT, account["rsa_private_key_enc"] as string),
      move(IDENTITY_SECRET_CONTEXT, account["identity_secret_key_enc"] as string),
      session === null ? null : move(SESSION_TOKEN_CONTEXT, session),
    );
    for (const r of st.allFriendKeys.all() as Row[]) {
      const friendId = r["friend_id"] as number;
      const kid = r["kid"] as string;
      const token = move(friendKeyContext(friendId, kid), r["key_enc"] as string);
      st.resealFriendKey.run(token, friendId, kid);
    }
    for (const r of st.allGroupKeys.all() as Row[]) {
      const groupId = r["group_id"] as number;
      const epoch = r["epoch"] as number;
      const token = move(groupKeyContext(groupId, epoch), r["key_enc"] as string);
      st.resealGroupKey.run(token, groupId, epoch);
    }
    // In batches, so a long history is not loaded into memory at once.
    for (let after = 0;;) {
      const rows = st.allMessages.all(after, _RESEAL_BATCH) as Row[];
      if (rows.length === 0) break;
      for (const r of rows) {
        const id = r["id"] as number;
        const file = r["file_enc"] as string | null;
        st.sealMessage.run(
          move(messageContext(id, "text"), r["text_enc"] as string),
          file === null ? null : move(messageContext(id, "file"), file),
          id,
        );
        after = id;
      }
    }
    for (const r of st.allRequestPreviews.all() as Row[]) {
      const userId = r["user_id"] as number;
      const token = move(requestPreviewContext(userId), r["preview_enc"] as string);
      st.resealRequestPreview.run(token, userId);
    }
    for (const r of st.allRequestMessages.all() as Row[]) {
      const msgId = r["msg_id"] as number;
      const context = requestMessageContext(r["user_id"] as number, msgId);
      st.resealRequestMessage.run(move(context, r["frame_enc"] as string), msgId);
    }
    const { salt, params, verifier } = kdf;
    st.setKdf.run(salt, Math.log2(params.N), params.r, params.p, verifier);
  });
}

/** Creates `dir` with mode 0700 if it does not exist; an existing one is left as it is. */
function _ensureDir(dir: string): void {
  try {
    Deno.statSync(dir);
    return;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (_POSIX) Deno.chmodSync(dir, 0o700);
}
