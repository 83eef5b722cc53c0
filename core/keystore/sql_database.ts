/**
 * The few SQLite calls the client keystore makes, as a port: `node:sqlite`'s `DatabaseSync`
 * satisfies it as it is (the file backend on Deno), and `SqlJsDatabase` adapts sql.js
 * (SQLite compiled to WebAssembly) to it for the browser.
 *
 * The contract a backend keeps:
 * - Parameters are positional (`?`), bound in order: null, numbers, bigints, strings, and
 *   `Uint8Array` for blobs.
 * - Rows are plain objects keyed by column name; integers come back as numbers, blobs as
 *   `Uint8Array`.
 * - `get()` returns undefined when the statement yields no row, including an
 *   `INSERT ... RETURNING` that inserted nothing.
 * - `run()` runs the statement to completion and says how many rows the last INSERT,
 *   UPDATE or DELETE changed (SQLite's `changes()`).
 * - A statement prepared once stays usable until the database is closed.
 * - SQL errors are thrown as `Error`s whose message is SQLite's (e.g. "file is not a
 *   database").
 *
 * @module
 */

/** A value bound to a `?` parameter. */
export type SqlValue = null | number | bigint | string | Uint8Array;

/** A result row: column name to value. */
export type SqlRow = Record<string, unknown>;

/** What {@linkcode SqlStatement.run} reports. */
export interface SqlRunResult {
  /** Rows changed by the statement, if it was an INSERT, UPDATE or DELETE. */
  readonly changes: number | bigint;
}

/** A prepared statement. */
export interface SqlStatement {
  /** Runs the statement to completion, ignoring any rows it yields. */
  run(...params: SqlValue[]): SqlRunResult;
  /** Runs the statement and returns its first row, or undefined if it yields none. */
  get(...params: SqlValue[]): SqlRow | undefined;
  /** Runs the statement and returns every row it yields. */
  all(...params: SqlValue[]): SqlRow[];
}

/** An open SQLite database. */
export interface SqlDatabase {
  /** Runs one or more SQL statements without parameters, ignoring any rows. */
  exec(sql: string): void;
  /** Prepares one SQL statement. */
  prepare(sql: string): SqlStatement;
  /** Closes the database; its statements can no longer be used. */
  close(): void;
}
