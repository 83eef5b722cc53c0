/**
 * The main database: the {@linkcode Store} port (`store.ts`), its two adapters (SQLite and
 * PostgreSQL), SQLite's worker-thread wrapper (`sqlite/worker_store.ts`, what servers run), and
 * `openStore(url)`, which picks one.
 *
 * @module
 */

export * from "./store.ts";
export { DB_ENV, dbLocation, DEFAULT_DB, openStore, storeBackend } from "./open_store.ts";
export type { OpenStoreOptions, StoreBackend } from "./open_store.ts";
export { openSqliteStore, SQLITE_SCHEMA_VERSION, SqliteStore } from "./sqlite/sqlite_store.ts";
export type { SqliteStoreOptions } from "./sqlite/sqlite_store.ts";
export { openSqliteWorkerStore, SqliteWorkerStore } from "./sqlite/worker_store.ts";
export type { StoreMethod } from "./sqlite/worker_calls.ts";
export { openPostgresStore, PG_SCHEMA_VERSION, PostgresStore } from "./postgres/postgres_store.ts";
export type { PostgresStoreOptions } from "./postgres/postgres_store.ts";
