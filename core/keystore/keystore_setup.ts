/**
 * A keystore's life on any SQLite backend: checking what a new keystore is made from,
 * the connection settings every backend needs, writing a new keystore's first rows,
 * reading the master key's parameters back, and re-encrypting everything for a new
 * password. `Keystore.createIn`, `Keystore.openIn` and `Keystore.changePassword` build on
 * it; what only a file needs (paths, modes, WAL) is in `core/client/deno/keystore_file.ts`.
 *
 * @module
 */

import { toBase64Url } from "../crypto/mod.ts";
import {
  checkId,
  checkIdentityKeyPair,
  checkObject,
  checkPassword,
  checkRsaKeyPair,
  checkSessionToken,
  checkUsername,
  normalizeIdentityKey,
  normalizeRsaPublicKey,
} from "./keystore_check.ts";
import {
  KEYSTORE_SALT_BYTES,
  type KeystoreCipher,
  resolveScryptParams,
  type ScryptParams,
  scryptParamsProblem,
} from "./keystore_cipher.ts";
import {
  corruptError,
  DEVICE_RSA_PRIVATE_KEY_CONTEXT,
  DEVICE_SIGN_SECRET_CONTEXT,
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
  secretSettingContext,
  SESSION_TOKEN_CONTEXT,
} from "./keystore_context.ts";
import { createKeystoreSchema } from "./keystore_schema.ts";
import { type CreateKeystoreOptions, KeystoreError } from "./keystore_types.ts";
import type { SqlDatabase } from "./sql_database.ts";

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

/** Options of a new keystore, checked: the account to store and the master key's cost. */
export interface PreparedCreate {
  /** The account, normalized. */
  readonly account: PreparedAccount;
  /** The scrypt parameters of the master key. */
  readonly params: ScryptParams;
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

const _RESEAL_BATCH = 500;

/**
 * Checks the options of a new keystore (the password is only checked, not kept).
 *
 * @throws {TypeError | RangeError} If an option is malformed, e.g. the RSA or identity
 *   keys are not a matching pair.
 */
export function checkCreateOptions(opts: CreateKeystoreOptions): PreparedCreate {
  checkObject("Options", opts);
  checkPassword("password", opts.password);
  const account = prepareAccount(opts.account);
  return { account, params: resolveScryptParams(opts.scrypt) };
}

/** Checks a new keystore's account: well-formed, and each key pair matching. */
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
 * Sets the pragmas every backend needs on the connection: foreign keys enforced, and
 * freed pages zeroed so replaced tokens do not linger in the database.
 */
export function configureKeystoreDb(db: SqlDatabase): void {
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA secure_delete = ON");
}

/**
 * Checks that `db` holds no schema yet, so a keystore can be created in it.
 *
 * @throws {KeystoreError} "already_exists" if it holds tables or other schema objects.
 */
export function checkEmptyDb(db: SqlDatabase, label: string): void {
  const row = db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as Row | undefined;
  if (row?.["n"] !== 0) {
    throw new KeystoreError(
      "already_exists",
      `${label} already holds a database; open it, or create the keystore in an empty one`,
    );
  }
}

/** Writes a new keystore's schema, master-key parameters and account in one transaction. */
export function initKeystoreDb(
  db: SqlDatabase,
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
 * Reads the master key's parameters, bounded like new ones; `label` names the keystore.
 *
 * @throws {KeystoreError} "corrupt" if they are missing or out of bounds.
 */
export function readKdf(db: SqlDatabase, label: string): KdfRecord {
  let row: Row | undefined;
  try {
    row = db.prepare("SELECT salt, log_n, r, p, verifier FROM kdf WHERE id = 1").get();
  } catch (err) {
    throw corruptError(label, (err as Error).message);
  }
  if (row === undefined) throw corruptError(label, "it has no key derivation parameters");
  const { salt, log_n: logN, r, p, verifier } = row;
  if (
    !(salt instanceof Uint8Array) || salt.length !== KEYSTORE_SALT_BYTES ||
    !Number.isSafeInteger(logN) || (logN as number) < 1 || (logN as number) > 30 ||
    !Number.isSafeInteger(r) || !Number.isSafeInteger(p) || typeof verifier !== "string"
  ) {
    throw corruptError(label, "its key derivation parameters are malformed");
  }
  const params = { N: 2 ** (logN as number), r: r as number, p: p as number };
  const problem = scryptParamsProblem(params);
  if (problem !== undefined) throw corruptError(label, problem);
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
    const device = st.deviceIdentity.get() as Row | undefined;
    if (device !== undefined) {
      st.setDeviceSecrets.run(
        move(DEVICE_SIGN_SECRET_CONTEXT, device["sign_secret_key_enc"] as string),
        move(DEVICE_RSA_PRIVATE_KEY_CONTEXT, device["rsa_private_key_enc"] as string),
      );
    }
    for (const r of st.allFriendKeys.all()) {
      const friendId = r["friend_id"] as number;
      const kid = r["kid"] as string;
      const token = move(friendKeyContext(friendId, kid), r["key_enc"] as string);
      st.resealFriendKey.run(token, friendId, kid);
    }
    for (const r of st.allGroupKeys.all()) {
      const groupId = r["group_id"] as number;
      const epoch = r["epoch"] as number;
      const token = move(groupKeyContext(groupId, epoch), r["key_enc"] as string);
      st.resealGroupKey.run(token, groupId, epoch);
    }
    // In batches, so a long history is not loaded into memory at once.
    for (let after = 0;;) {
      const rows = st.allMessages.all(after, _RESEAL_BATCH);
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
    for (const r of st.allRequestPreviews.all()) {
      const userId = r["user_id"] as number;
      const token = move(requestPreviewContext(userId), r["preview_enc"] as string);
      st.resealRequestPreview.run(token, userId);
    }
    for (const r of st.allRequestMessages.all()) {
      const msgId = r["msg_id"] as number;
      const context = requestMessageContext(r["user_id"] as number, msgId);
      st.resealRequestMessage.run(move(context, r["frame_enc"] as string), msgId);
    }
    for (const r of st.allSecretSettings.all()) {
      const name = r["name"] as string;
      st.setSetting.run(name, move(secretSettingContext(name), r["value"] as string));
    }
    const { salt, params, verifier } = kdf;
    st.setKdf.run(salt, Math.log2(params.N), params.r, params.p, verifier);
  });
}
