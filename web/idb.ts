/**
 * IndexedDB as promises: the web client's storage for keystore images and received files.
 * One database, `fastchat`, with two object stores keyed by strings.
 *
 * @module
 */

/** The object stores: `keystores` (one database image per user), `files` (received files). */
export type IdbStoreName = "keystores" | "files";

const _STORES: readonly IdbStoreName[] = ["keystores", "files"];

/** Opens (creating or upgrading) the web client's database. */
export function openIdb(name = "fastchat"): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      for (const store of _STORES) {
        if (!req.result.objectStoreNames.contains(store)) req.result.createObjectStore(store);
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("IndexedDB could not be opened"));
    req.onblocked = () => reject(new Error("IndexedDB is blocked by another tab; close it"));
  });
}

/** The value under `key`, or undefined. */
export function idbGet<T>(
  db: IDBDatabase,
  store: IdbStoreName,
  key: string,
): Promise<T | undefined> {
  return _request(db, store, "readonly", (s) => s.get(key)) as Promise<T | undefined>;
}

/** Stores `value` under `key`; resolves once the transaction is committed. */
export async function idbPut(
  db: IDBDatabase,
  store: IdbStoreName,
  key: string,
  value: unknown,
): Promise<void> {
  await _request(db, store, "readwrite", (s) => s.put(value, key));
}

/** Removes `key`. */
export async function idbDelete(db: IDBDatabase, store: IdbStoreName, key: string): Promise<void> {
  await _request(db, store, "readwrite", (s) => s.delete(key));
}

/** Every key of a store. */
export async function idbKeys(db: IDBDatabase, store: IdbStoreName): Promise<string[]> {
  const keys = await _request(db, store, "readonly", (s) => s.getAllKeys());
  return (keys as IDBValidKey[]).map(String);
}

function _request(
  db: IDBDatabase,
  store: IdbStoreName,
  mode: IDBTransactionMode,
  make: (s: IDBObjectStore) => IDBRequest,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // "strict" durability: a put resolves only once it is on disk, since messages are
    // acknowledged to the server after their keystore image is stored.
    const tx = db.transaction(store, mode, { durability: "strict" });
    const req = make(tx.objectStore(store));
    let result: unknown;
    req.onsuccess = () => {
      result = req.result;
    };
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error ?? req.error ?? new Error("IndexedDB request failed"));
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });
}
