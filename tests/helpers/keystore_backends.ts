/**
 * The keystore's storage backends as the shared keystore suites see them: a
 * {@linkcode KeystoreStore} is one place a keystore lives (a file, or a sql.js image), with
 * hooks for what the `Keystore` API cannot show (its raw rows and bytes).
 *
 * The sql.js store persists the way the browser does: when the keystore closes its
 * database, the image is exported first; opening again loads a new database from that
 * image. So every reopen in the suites is a round trip through the image.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { type CreateKeystoreOptions, Keystore } from "../../core/keystore/keystore.ts";
import { createKeystoreFile, openKeystoreFile } from "../../core/client/deno/keystore_file.ts";
import type { SqlDatabase } from "../../core/keystore/sql_database.ts";
import { SqlJsDatabase } from "../../core/keystore/sqljs_database.ts";
import { loadSqlJsForTests } from "./sqljs.ts";

/** One place a keystore lives, for one test. */
export interface KeystoreStore {
  /** The keystore's label (a file's path). */
  readonly label: string;
  /** Creates a keystore here. */
  create(opts: CreateKeystoreOptions): Promise<Keystore>;
  /** Opens the keystore stored here (the previous one must be closed). */
  open(password: string): Promise<Keystore>;
  /**
   * Runs `fn` on the stored database outside the keystore, keeping what it writes: a
   * second connection to the file, or the sql.js database (the open one, else the image).
   */
  raw<T>(fn: (db: SqlDatabase) => T): T;
  /** The bytes at rest: the file and its WAL, or the image exported now. */
  bytes(): Uint8Array[];
  /** Whether anything is stored (a file, or an image or open database with tables). */
  exists(): boolean;
  /** Stores a database built from an SQL dump (e.g. an older keystore). */
  load(sql: string): void;
  /** Stores these bytes as the database. */
  loadBytes(bytes: Uint8Array): void;
  /** Closes what is open and removes what is stored. */
  dispose(): void;
}

/** A storage backend: a name for test titles and a factory of empty stores. */
export interface KeystoreBackend {
  /** "file" or "sql.js". */
  readonly name: string;
  /** A new, empty store. */
  store(): KeystoreStore;
}

/** Keystore files through node:sqlite, each store in a new temporary directory. */
export const FILE_BACKEND: KeystoreBackend = {
  name: "file",
  store(): KeystoreStore {
    const dir = Deno.makeTempDirSync({ prefix: "fastchat_keystore_" });
    const path = `${dir}/ada/keystore.db`;
    return {
      label: path,
      create: (opts) => createKeystoreFile(path, opts),
      open: (password) => openKeystoreFile(path, password),
      raw<T>(fn: (db: SqlDatabase) => T): T {
        const db = new DatabaseSync(path);
        try {
          return fn(db);
        } finally {
          db.close();
        }
      },
      bytes() {
        const out = [Deno.readFileSync(path)];
        try {
          out.push(Deno.readFileSync(`${path}-wal`));
        } catch (err) {
          if (!(err instanceof Deno.errors.NotFound)) throw err;
        }
        return out;
      },
      exists() {
        try {
          Deno.statSync(path);
          return true;
        } catch (err) {
          if (err instanceof Deno.errors.NotFound) return false;
          throw err;
        }
      },
      load(sql) {
        Deno.mkdirSync(`${dir}/ada`, { recursive: true, mode: 0o700 });
        const db = new DatabaseSync(path);
        try {
          db.exec(sql);
        } finally {
          db.close();
        }
        Deno.chmodSync(path, 0o600);
      },
      loadBytes(bytes) {
        Deno.mkdirSync(`${dir}/ada`, { recursive: true, mode: 0o700 });
        Deno.writeFileSync(path, bytes, { mode: 0o600 });
      },
      dispose() {
        Deno.removeSync(dir, { recursive: true });
      },
    };
  },
};

const SQL = await loadSqlJsForTests();

/** sql.js databases in memory, persisted as an image when the keystore closes them. */
export const SQLJS_BACKEND: KeystoreBackend = {
  name: "sql.js",
  store(): KeystoreStore {
    const label = "the sql.js keystore of ada";
    let image: Uint8Array | null = null;
    let live: SqlJsDatabase | null = null;
    /** The open database, as the keystore gets it: closing exports the image first. */
    const attach = (): SqlDatabase => {
      const db = new SqlJsDatabase(SQL, image);
      live = db;
      return {
        exec: (sql) => db.exec(sql),
        prepare: (sql) => db.prepare(sql),
        close() {
          if (db.closed) return;
          image = db.export();
          db.close();
          live = null;
        },
      };
    };
    /** Closes the database a failed create or open left open, keeping the image. */
    const detach = () => {
      live?.close();
      live = null;
    };
    const onImage = <T>(fn: (db: SqlJsDatabase) => T): T => {
      const db = new SqlJsDatabase(SQL, image);
      try {
        const result = fn(db);
        image = db.export();
        return result;
      } finally {
        db.close();
      }
    };
    return {
      label,
      async create(opts) {
        try {
          return await Keystore.createIn(attach(), label, opts);
        } catch (err) {
          detach();
          throw err;
        }
      },
      async open(password) {
        if (live !== null) throw new Error("The store's keystore is still open");
        try {
          return await Keystore.openIn(attach(), label, password);
        } catch (err) {
          detach();
          throw err;
        }
      },
      raw: (fn) => live !== null ? fn(live) : onImage(fn),
      bytes: () => [live !== null ? live.export() : image ?? new Uint8Array()],
      exists() {
        if (live === null) return image !== null;
        const row = live.prepare("SELECT count(*) AS n FROM sqlite_schema").get();
        return row?.["n"] !== 0;
      },
      load(sql) {
        image = null;
        onImage((db) => db.exec(sql));
      },
      loadBytes(bytes) {
        image = bytes;
      },
      dispose() {
        detach();
        image = null;
      },
    };
  },
};

/** Both backends, for suites that run on each. */
export const KEYSTORE_BACKENDS: readonly KeystoreBackend[] = [FILE_BACKEND, SQLJS_BACKEND];
