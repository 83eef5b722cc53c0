/**
 * What a `node:sqlite` error means to the store: SQLite busy or locked (another writer holds
 * the database), or a foreign key refused. Shared by the store (`sqlite_store.ts`) and its
 * writer (`writer.ts`), so the one place that reads SQLite's errors is this file.
 *
 * @module
 */

import { StoreError } from "../store.ts";

/** SQLITE_BUSY or SQLITE_LOCKED. */
export function isBusyError(err: unknown): boolean {
  return _sqliteFailure(err) === "busy";
}

/** SQLITE_CONSTRAINT_FOREIGNKEY. */
export function isForeignKeyError(err: unknown): boolean {
  return _sqliteFailure(err) === "foreign_key";
}

/** The StoreError `unavailable` for a write that stayed blocked past `timeoutMs`. */
export function unavailableError(err: unknown, timeoutMs: number): StoreError {
  return new StoreError(
    "unavailable",
    `The database stayed locked by another writer for over ${timeoutMs} ms ` +
      "(database is locked); try again",
    { cause: err },
  );
}

/** Runs `fn`, retrying for up to `timeoutMs` while SQLite reports the database busy. */
export async function retryWhileBusy(timeoutMs: number, fn: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5;; delay = Math.min(delay * 2, 100)) {
    try {
      return fn();
    } catch (err) {
      if (!isBusyError(err) || Date.now() >= deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * Which SQLite failure an error is. Node's `node:sqlite` sets `errcode`; Deno's gives every
 * SQLite failure the one code `ERR_SQLITE_ERROR` and no `errcode`, so there SQLite's own
 * message text, fixed per result code, is the only thing to go by. It is read here only.
 */
function _sqliteFailure(err: unknown): "busy" | "foreign_key" | null {
  const e = err as { code?: unknown; errcode?: unknown; message?: unknown } | null;
  if (typeof e?.errcode === "number") {
    if (e.errcode === 787) return "foreign_key";
    const primary = e.errcode & 0xff; // 5 BUSY, 6 LOCKED
    return primary === 5 || primary === 6 ? "busy" : null;
  }
  if (e?.code !== "ERR_SQLITE_ERROR" || typeof e.message !== "string") return null;
  if (/^database (table )?is (locked|busy)/.test(e.message)) return "busy";
  if (e.message.startsWith("FOREIGN KEY constraint failed")) return "foreign_key";
  return null;
}
