/**
 * `openStore(url)`: the one place that picks a {@linkcode Store} adapter. A `postgres://` or
 * `postgresql://` URL opens PostgreSQL; anything else is a SQLite file path (a `file:` URL
 * is accepted too). Nothing else in FastChat knows which adapter runs.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { openPostgresStore } from "./postgres/postgres_store.ts";
import { openSqliteWorkerStore } from "./sqlite/worker_store.ts";
import type { Store } from "./store.ts";

/** The environment variable that may name the main database instead of `--db`. */
export const DB_ENV = "FASTCHAT_DB";

/** The default main database: a SQLite file in the data directory. */
export const DEFAULT_DB = "./data/fastchat.db";

/** Which adapter a database location selects. */
export type StoreBackend = "sqlite" | "postgres";

/** Options for {@linkcode openStore}, passed on to the adapter that runs. */
export interface OpenStoreOptions {
  /** PostgreSQL: most pooled connections. */
  readonly poolSize?: number;
  /** PostgreSQL: `application_name`. */
  readonly applicationName?: string;
  /** SQLite: `PRAGMA synchronous` ("full" unless benchmarking throwaway data). */
  readonly synchronous?: "full" | "normal";
}

/** The adapter a database location selects. Throws TypeError for an empty location. */
export function storeBackend(location: string): StoreBackend {
  if (typeof location !== "string" || location.trim() === "") {
    throw new TypeError(
      "The database must be a SQLite file path or a postgres:// URL, got an empty value",
    );
  }
  return /^postgres(ql)?:\/\//i.test(location) ? "postgres" : "sqlite";
}

/** The SQLite file path a location names (a `file:` URL becomes a path). */
export function sqlitePath(location: string): string {
  return location.startsWith("file:") ? fileURLToPath(location) : location;
}

/**
 * Opens the main database at `location`: a SQLite file path, or a PostgreSQL URL. Creates
 * or migrates the schema as needed; safe for several processes at once. SQLite runs in a
 * worker thread (`sqlite/worker_store.ts`), so its transactions never stop the caller's event loop.
 */
export function openStore(location: string, opts: OpenStoreOptions = {}): Promise<Store> {
  if (storeBackend(location) === "postgres") {
    return openPostgresStore(location, {
      poolSize: opts.poolSize,
      applicationName: opts.applicationName,
    });
  }
  return openSqliteWorkerStore(sqlitePath(location), { synchronous: opts.synchronous });
}

/**
 * The database location a command uses: its `--db` flag, else `FASTCHAT_DB`, else the
 * default SQLite file.
 */
export function dbLocation(flag: string | undefined): string {
  if (flag !== undefined) return flag;
  let env: string | undefined;
  try {
    env = Deno.env.get(DB_ENV);
  } catch {
    env = undefined; // no --allow-env: the flag and the default still work
  }
  return env !== undefined && env !== "" ? env : DEFAULT_DB;
}
