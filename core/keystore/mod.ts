/**
 * The client's encrypted local database, one per user: the account and its keys, friends
 * with pinned public keys and shared keys, groups with per-epoch keys, contacts and blocks,
 * and the message history, all private fields encrypted at rest under the user's password
 * (see {@linkcode Keystore}). It runs on any {@linkcode SqlDatabase}: sql.js in a browser
 * ({@linkcode SqlJsDatabase}), node:sqlite in a file on Deno (`core/client/deno/`, not
 * exported here), fakes in tests. Nothing here uses `Deno`, so the module runs in a browser.
 *
 * Layout: `keystore.ts` (the class), `keystore_types.ts` (records and errors),
 * `keystore_schema.ts`, `keystore_setup.ts`, `keystore_cipher.ts`, `keystore_check.ts`, one
 * file per table family (`keystore_friends.ts`, `keystore_groups.ts`, ...), and the SQL
 * adapters `sql_database.ts` and `sqljs_database.ts`; this module re-exports the public API.
 *
 * @example Open a keystore image a browser kept
 * ```ts ignore
 * import { Keystore, loadSqlJs, SqlJsDatabase } from "./mod.ts";
 *
 * const db = new SqlJsDatabase(await loadSqlJs(), image); // image: the saved Uint8Array
 * const keystore = await Keystore.openIn(db, "alice (browser)", password);
 * ```
 *
 * @module
 */

export * from "./keystore.ts";
export type { ScryptParams } from "./keystore_cipher.ts";
export type { SqlDatabase, SqlRow, SqlRunResult, SqlStatement, SqlValue } from "./sql_database.ts";
export {
  loadSqlJs,
  type LoadSqlJsOptions,
  SqlJsDatabase,
  type SqlJsRawDatabase,
  type SqlJsRawStatement,
  type SqlJsStatic,
} from "./sqljs_database.ts";
