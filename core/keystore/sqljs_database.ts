/**
 * {@linkcode SqlDatabase} over sql.js (SQLite compiled to WebAssembly), so the keystore
 * runs in a web browser. The database lives in memory; the caller persists it as an image
 * ({@linkcode SqlJsDatabase.export}) after writes, e.g. when {@linkcode SqlJsDatabase.changes}
 * moved, and opens it again from those bytes.
 *
 * This module runs anywhere (no Deno or Node APIs): the browser build bundles it, giving
 * {@linkcode loadSqlJs} the WebAssembly module's bytes or URL.
 *
 * sql.js differs from node:sqlite in ways the adapter hides:
 * - Statements are stepped by hand; `get()` yields undefined when there is no row.
 * - Some errors are thrown as strings; they are rethrown as `Error`s.
 * - Older sql.js versions implement `Database.export()` by closing and reopening the
 *   database, which frees every prepared statement and resets connection pragmas (1.17
 *   copies with the backup API and keeps both). The keystore prepares its statements
 *   once, so statements here are wrappers prepared again after an export, and pragmas set
 *   through {@linkcode SqlJsDatabase.exec} are set again: correct for either behaviour.
 *
 * @example
 * ```ts ignore
 * const SQL = await loadSqlJs({ locateFile: (name) => `/assets/${name}` });
 * const db = new SqlJsDatabase(SQL, savedImage);
 * const ks = await Keystore.openIn(db, "ada", password);
 * // ... after writes:
 * if (db.changes !== persisted) { await save(db.export()); persisted = db.changes; }
 * ```
 *
 * @module
 */

import initSqlJs from "sql.js";
import type { SqlDatabase, SqlRow, SqlRunResult, SqlStatement, SqlValue } from "./sql_database.ts";

/** The members of a sql.js `Statement` the adapter uses. */
export interface SqlJsRawStatement {
  /** Resets the statement and binds `values` to its `?` parameters in order. */
  bind(values?: SqlValue[] | null): boolean;
  /** Steps once; true if a row is available. */
  step(): boolean;
  /** The current row, keyed by column name. */
  getAsObject(): Record<string, unknown>;
  /** Resets the statement and clears its bindings. */
  reset(): boolean;
  /** Finalizes the statement. */
  free(): boolean;
}

/** The members of a sql.js `Database` the adapter uses. */
export interface SqlJsRawDatabase {
  /** Runs SQL without parameters (one or more statements). */
  run(sql: string): unknown;
  /** Prepares one statement. */
  prepare(sql: string): SqlJsRawStatement;
  /** The database file's bytes. */
  export(): Uint8Array;
  /** Closes the database and frees its statements. */
  close(): void;
  /** Rows changed by the latest INSERT, UPDATE or DELETE. */
  getRowsModified(): number;
}

/** The sql.js module, as {@linkcode loadSqlJs} resolves it. */
export interface SqlJsStatic {
  /** Opens a database: empty, or from an image made by {@linkcode SqlJsDatabase.export}. */
  readonly Database: new (data?: ArrayLike<number> | null) => SqlJsRawDatabase;
}

/** Where {@linkcode loadSqlJs} finds sql.js's WebAssembly module. */
export interface LoadSqlJsOptions {
  /** The bytes of `sql-wasm.wasm` (or `sql-wasm-browser.wasm`), if the caller has them. */
  readonly wasmBinary?: Uint8Array | ArrayBuffer;
  /** Maps a file sql.js asks for (e.g. "sql-wasm-browser.wasm") to the URL to fetch it from. */
  readonly locateFile?: (name: string) => string;
}

/** Pragmas stored in the database file itself: an image keeps them, so none is set again. */
const _FILE_PRAGMAS = new Set([
  "application_id",
  "auto_vacuum",
  "encoding",
  "journal_mode",
  "legacy_file_format",
  "page_size",
  "schema_version",
  "user_version",
]);

/** `PRAGMA [schema.]name = value`, one statement without the semicolon. */
const _PRAGMA_SET = /^PRAGMA\s+(?:\w+\.)?(\w+)\s*=\s*(.+)$/is;

/**
 * Statements that cannot write: SELECT, EXPLAIN, and a pragma only read (not set, and not
 * one of those that act when named alone).
 */
const _READ_ONLY = new RegExp(
  "^\\s*(?:SELECT\\b|EXPLAIN\\b|" +
    "PRAGMA\\s+(?:\\w+\\.)?(?!(?:incremental_vacuum|optimize|wal_checkpoint)\\b)\\w+\\s*;?\\s*$)",
  "i",
);

/**
 * Loads sql.js and its WebAssembly module. Give `wasmBinary` (the bytes) or `locateFile`
 * (where to fetch them) unless sql.js can find the file beside its script by itself.
 * sql.js loads once per program: later calls resolve to the same module, whatever their
 * options.
 */
export function loadSqlJs(opts: LoadSqlJsOptions = {}): Promise<SqlJsStatic> {
  const config: Record<string, unknown> = {};
  if (opts.wasmBinary !== undefined) config.wasmBinary = opts.wasmBinary;
  if (opts.locateFile !== undefined) config.locateFile = opts.locateFile;
  const init: (config: object) => Promise<SqlJsStatic> = initSqlJs;
  return init(config);
}

/** A sql.js database as a {@linkcode SqlDatabase}; see the module documentation. */
export class SqlJsDatabase implements SqlDatabase {
  #db: SqlJsRawDatabase | null;
  #changes = 0;
  /** Moves on each export: statements prepared before it are prepared again. */
  #generation = 0;
  /** Connection pragmas set through exec(), by name, as statements to run again. */
  readonly #pragmas = new Map<string, string>();

  /**
   * Opens a database in memory with the loaded sql.js module: empty, or from `image`, the
   * bytes an earlier {@linkcode export} made (or any SQLite file's).
   */
  constructor(sql: SqlJsStatic, image?: Uint8Array | null) {
    this.#db = new sql.Database(image ?? null);
  }

  /**
   * How many statements that may have written ran so far: every `exec()`, and every
   * statement other than a SELECT (or a pragma read). It only grows; an image exported
   * when it had some value holds every write counted up to it.
   */
  get changes(): number {
    return this.#changes;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#db === null;
  }

  /** Runs one or more SQL statements without parameters. */
  exec(sql: string): void {
    const db = this.#open();
    this.#changes++;
    _call(() => db.run(sql));
    this.#remember(sql);
  }

  /** Prepares one SQL statement; it stays usable across exports until {@linkcode close}. */
  prepare(sql: string): SqlStatement {
    const mayWrite = !_READ_ONLY.test(sql);
    let raw = _call(() => this.#open().prepare(sql));
    let generation = this.#generation;
    /** The statement to use now, prepared again if an export came between. */
    const current = (): SqlJsRawStatement => {
      const db = this.#open();
      if (generation !== this.#generation) {
        _call(() => raw.free());
        raw = _call(() => db.prepare(sql));
        generation = this.#generation;
      }
      if (mayWrite) this.#changes++;
      return raw;
    };
    return {
      run: (...params: SqlValue[]): SqlRunResult => {
        const st = current();
        _call(() => {
          try {
            st.bind(params);
            while (st.step()) {
              // Rows are ignored; stepping to the end finishes the statement's work.
            }
          } finally {
            st.reset();
          }
        });
        return { changes: this.#open().getRowsModified() };
      },
      get: (...params: SqlValue[]): SqlRow | undefined => {
        const st = current();
        return _call(() => {
          try {
            st.bind(params);
            return st.step() ? st.getAsObject() : undefined;
          } finally {
            st.reset();
          }
        });
      },
      all: (...params: SqlValue[]): SqlRow[] => {
        const st = current();
        return _call(() => {
          try {
            st.bind(params);
            const rows: SqlRow[] = [];
            while (st.step()) rows.push(st.getAsObject());
            return rows;
          } finally {
            st.reset();
          }
        });
      },
    };
  }

  /**
   * The database's image: the bytes of an SQLite file, to persist and later open with
   * `new SQL.Database(image)`. Call it between transactions (the keystore never leaves
   * one open between its calls).
   */
  export(): Uint8Array {
    const db = this.#open();
    const image = _call(() => db.export());
    this.#generation++;
    for (const statement of this.#pragmas.values()) _call(() => db.run(statement));
    return image;
  }

  /** Closes the database and frees its statements. Idempotent. */
  close(): void {
    this.#db?.close();
    this.#db = null;
  }

  #open(): SqlJsRawDatabase {
    if (this.#db === null) throw new Error("The database is closed; open it again");
    return this.#db;
  }

  /** Keeps the connection pragmas `sql` set, if it is made of pragma assignments only. */
  #remember(sql: string): void {
    const parts = sql.split(";").map((p) => p.trim()).filter((p) => p !== "");
    const found: [string, string][] = [];
    for (const part of parts) {
      const m = _PRAGMA_SET.exec(part);
      if (m === null) return;
      const name = m[1]!.toLowerCase();
      if (!_FILE_PRAGMAS.has(name)) found.push([name, part]);
    }
    for (const [name, statement] of found) this.#pragmas.set(name, statement);
  }
}

/** Runs a sql.js call, turning what it throws as a string into an Error. */
function _call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Error) throw err;
    throw new Error(`SQLite failed: ${String(err)}`);
  }
}
