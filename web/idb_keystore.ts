/**
 * The browser keystore: the same `Keystore` as the terminal client's (same schema, same
 * encryption of every secret and message text under a key derived from the password), on
 * sql.js in memory, its image stored in IndexedDB (`keystores`, one entry per user) shortly
 * after every change. Messages are acknowledged only once their image is stored
 * (`persisted()`, see image_persister.ts).
 *
 * @module
 */

import { Keystore } from "../core/keystore/keystore.ts";
import type { KeystoreOpener, KeystorePort } from "../core/client/engine/ports.ts";
import { SqlJsDatabase, type SqlJsStatic } from "../core/keystore/sqljs_database.ts";
import { idbGet, idbKeys, idbPut } from "./idb.ts";
import { ImagePersister, persisting } from "./image_persister.ts";

/** Options of {@linkcode idbKeystore}. */
export interface IdbKeystoreOptions {
  readonly db: IDBDatabase;
  readonly sql: SqlJsStatic;
  readonly username: string;
  /** Hears a failed background write of the image. */
  readonly onError?: (err: Error) => void;
}

/** A browser keystore, with the open one's `Keystore` for what the engine does not do. */
export interface IdbKeystoreOpener extends KeystoreOpener {
  /** The keystore once opened or created (null before). */
  readonly keystore: (Keystore & { persisted(): Promise<void> }) | null;
}

/** The opener of user `username`'s keystore in this browser. */
export function idbKeystore(opts: IdbKeystoreOptions): IdbKeystoreOpener {
  const label = `this browser's keystore of ${opts.username}`;
  let opened: (Keystore & { persisted(): Promise<void> }) | null = null;
  const wrap = (ks: Keystore, db: SqlJsDatabase) => {
    const persister = new ImagePersister(
      db,
      (bytes) => idbPut(opts.db, "keystores", opts.username, bytes),
      { onError: opts.onError },
    );
    opened = persisting(ks, persister);
    return opened;
  };
  return {
    get keystore() {
      return opened;
    },
    async open(password: string): Promise<KeystorePort | null> {
      const image = await idbGet<Uint8Array>(opts.db, "keystores", opts.username);
      if (image === undefined) return null;
      const db = new SqlJsDatabase(opts.sql, image);
      try {
        return wrap(await Keystore.openIn(db, label, password), db);
      } catch (err) {
        db.close();
        throw err;
      }
    },
    async create(create): Promise<KeystorePort> {
      const db = new SqlJsDatabase(opts.sql);
      try {
        const ks = await Keystore.createIn(db, label, create);
        // The new account's keys exist nowhere else: stored before anything goes on.
        await idbPut(opts.db, "keystores", opts.username, db.export());
        return wrap(ks, db);
      } catch (err) {
        db.close();
        throw err;
      }
    },
  };
}

/** Usernames with a keystore in this browser. */
export async function storedAccounts(db: IDBDatabase): Promise<string[]> {
  return await idbKeys(db, "keystores");
}
