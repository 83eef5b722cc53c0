/**
 * The keystore as a file on Deno (node:sqlite): creating it with tight permissions,
 * opening it, and the file's own settings. The keystore itself (`keystore.ts`) knows
 * nothing of files; here a file's path becomes its label.
 *
 * Permissions: the file is created `0600` (SQLite gives its `-wal` and `-shm` files the
 * same mode) and a missing directory `0700`, made exact with chmod since the umask can
 * only narrow them. Opening narrows a looser mode back to `0600`. Windows has no such
 * modes; there the user profile's ACLs apply.
 *
 * Durability: WAL journal with `synchronous=FULL`, since the client acks messages to the
 * server once they are stored; a busy timeout so two clients of one file wait for each
 * other instead of failing.
 *
 * @example
 * ```ts ignore
 * const ks = await createKeystoreFile("data/ada/keystore.db", { password, account });
 * ks.close();
 * const again = await openKeystoreFile("data/ada/keystore.db", password);
 * ```
 *
 * @module
 */

import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { checkPassword } from "../../keystore/keystore_check.ts";
import type { Row } from "../../keystore/keystore_context.ts";
import { checkKeystoreSchema } from "../../keystore/keystore_schema.ts";
import { checkCreateOptions } from "../../keystore/keystore_setup.ts";
import { type CreateKeystoreOptions, Keystore, KeystoreError } from "../../keystore/keystore.ts";

const _BUSY_TIMEOUT_MS = 5000;
const _POSIX = Deno.build.os !== "windows";

/**
 * Creates a new keystore file at `path` (mode 0600; a missing directory is made 0700)
 * holding the user's account, locked with `opts.password`. The keystore's label is `path`.
 *
 * @throws {KeystoreError} "already_exists" if a file is already at `path`.
 * @throws {TypeError | RangeError} If an argument is malformed, e.g. the RSA or identity
 *   keys are not a matching pair. Nothing is created then.
 */
export async function createKeystoreFile(
  path: string,
  opts: CreateKeystoreOptions,
): Promise<Keystore> {
  checkKeystorePath(path);
  // Checked here too, so that bad options make no directory and no file.
  checkCreateOptions(opts);
  let created = false;
  let db: DatabaseSync | undefined;
  try {
    // Made once scrypt is done, so no empty file is left if the process dies meanwhile.
    return await Keystore.createIn(
      () => {
        _createEmptyFile(path);
        created = true;
        db = new DatabaseSync(path);
        _configureFile(db, path);
        return db;
      },
      path,
      opts,
    );
  } catch (err) {
    db?.close();
    if (created) _removeFiles(path);
    throw err;
  }
}

/**
 * Opens the keystore file at `path` with the user's password. A file whose mode lets
 * others in is narrowed back to 0600 (once it is known to be a keystore); a file of an
 * older schema version is migrated once the password is checked.
 *
 * @throws {KeystoreError} "not_found" if there is no file at `path`; "wrong_password";
 *   "not_a_keystore" (also for a directory); "unsupported_version" for a file from a newer
 *   FastChat; "corrupt".
 * @throws {TypeError | RangeError} If an argument is malformed.
 */
export async function openKeystoreFile(path: string, password: string): Promise<Keystore> {
  checkKeystorePath(path);
  checkPassword("password", password);
  _checkFile(path);
  const db = new DatabaseSync(path);
  try {
    // Before anything changes the file: a file that is not ours is left as it is.
    checkKeystoreSchema(db, path);
    _narrowMode(path);
    _configureFile(db, path);
    return await Keystore.openIn(db, path, password);
  } catch (err) {
    db.close();
    throw err;
  }
}

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

/**
 * Creates an empty file at `path` with mode 0600, and its directory with 0700 if missing.
 *
 * @throws {KeystoreError} "already_exists" if something is at `path`.
 */
function _createEmptyFile(path: string): void {
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
function _checkFile(path: string): void {
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

/** Narrows a keystore's mode back to 0600 if it lets others in. */
function _narrowMode(path: string): void {
  if (!_POSIX) return;
  const mode = Deno.statSync(path).mode;
  if (mode !== null && (mode & 0o077) !== 0) Deno.chmodSync(path, 0o600);
}

/** Removes a keystore and its WAL files, ignoring what is not there (undoing a failed create). */
function _removeFiles(path: string): void {
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      Deno.removeSync(path + suffix);
    } catch {
      // Not there, or nothing more we can do.
    }
  }
}

/** Sets the pragmas only a file needs: busy timeout, WAL, full sync. */
function _configureFile(db: DatabaseSync, path: string): void {
  db.exec(`PRAGMA busy_timeout = ${_BUSY_TIMEOUT_MS}`);
  const row = db.prepare("PRAGMA journal_mode = WAL").get() as Row | undefined;
  if (row?.["journal_mode"] !== "wal") {
    throw new Error(`Could not switch ${path} to WAL mode; check the file system`);
  }
  // The client acks messages once stored: a commit must survive a power cut.
  db.exec("PRAGMA synchronous = FULL");
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
