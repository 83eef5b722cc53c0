/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * The web client's entry point (bundled by web/build.ts): loads SQLite (WebAssembly, served
 * beside the page) and IndexedDB, then renders the app. The balancer that served the page
 * is the one the client asks for a server.
 *
 * @module
 */

import { render } from "preact";
import { loadSqlJs } from "../core/keystore/sqljs_database.ts";
import { App } from "./app.tsx";
import { openIdb } from "./idb.ts";

async function _main(): Promise<void> {
  const root = document.getElementById("app")!;
  try {
    const [sql, idb] = await Promise.all([
      loadSqlJs({ locateFile: () => "/sql-wasm.wasm" }),
      openIdb(),
    ]);
    render(<App idb={idb} sql={sql} balancer={location.origin} />, root);
  } catch (err) {
    root.textContent = `FastChat could not start in this browser: ${(err as Error).message}`;
  }
}

void _main();
