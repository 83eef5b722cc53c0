/**
 * sql.js for tests on Deno: its WebAssembly module is read from the npm package (the
 * browser build passes its own bytes or URL to `loadSqlJs`).
 *
 * @module
 */

import { createRequire } from "node:module";
import { loadSqlJs, type SqlJsStatic } from "../../core/keystore/sqljs_database.ts";

/** The path of sql.js's `sql-wasm.wasm` in Deno's npm cache. */
export function sqlJsWasmPath(): string {
  return createRequire(import.meta.url).resolve("sql.js/dist/sql-wasm.wasm");
}

/** Loads sql.js with the WebAssembly bytes from the npm package. */
export async function loadSqlJsForTests(): Promise<SqlJsStatic> {
  return await loadSqlJs({ wasmBinary: await Deno.readFile(sqlJsWasmPath()) });
}
