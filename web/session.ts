/**
 * One signed-in user in the page: the chat engine (`ChatClient`) over the browser's ports
 * (IndexedDB keystore, browser files, the balancer that served the page), feeding a
 * {@linkcode WebController}, with contacts' online status polled as in the terminal client.
 *
 * @module
 */

import { ChatClient } from "../core/client/engine/chat_client.ts";
import type { ClientEvent } from "../core/client/engine/events.ts";
import { generateFernetKey } from "../core/crypto/mod.ts";
import type { SqlJsStatic } from "../core/keystore/sqljs_database.ts";
import { BrowserFiles } from "./browser_files.ts";
import { idbKeystore } from "./idb_keystore.ts";
import { askPersistentStorage, STORAGE_WARNING } from "./storage_persist.ts";
import { WebController } from "./web_controller.ts";
import { openSession, startEngine } from "../core/view/session_start.ts";

/** The keystore secret holding the key received files are stored under. */
export const FILES_KEY_SECRET = "web_files_key";

/** Options of {@linkcode startSession}. */
export interface SessionOptions {
  readonly username: string;
  readonly password: string;
  readonly idb: IDBDatabase;
  readonly sql: SqlJsStatic;
  /** The balancer's base URL (the page's origin). */
  readonly balancer: string;
  /** Hears every engine event (e.g. progress before the controller exists). */
  readonly onEvent?: (e: ClientEvent) => void;
}

/** A running session. */
export interface Session {
  readonly client: ChatClient;
  readonly controller: WebController;
  readonly files: BrowserFiles;
  /** Stops: stores what is pending, closes the connection and the keystore. */
  close(): Promise<void>;
}

/**
 * Opens (or, for a new user, registers and creates) the keystore and joins the cluster.
 * Rejects as `ChatClient.start()` does: `KeystoreError` "wrong_password", `RequestError`
 * "username_taken", ... (nothing stays open then).
 */
export async function startSession(opts: SessionOptions): Promise<Session> {
  const files = new BrowserFiles(opts.idb);
  let controller: WebController | null = null;
  const early: ClientEvent[] = [];
  const keystore = idbKeystore({
    db: opts.idb,
    sql: opts.sql,
    username: opts.username,
    onError: (err) =>
      controller?.onEvent({ event: "error", message: `Could not store: ${err.message}` }),
  });
  const client = new ChatClient({
    balancerUrls: opts.balancer,
    username: opts.username,
    password: opts.password,
    keystore,
    files,
    saveDir: `received/${opts.username}`,
    deviceName: _browserName(),
    emit: (e) => {
      opts.onEvent?.(e);
      if (controller) controller.onEvent(e);
      else early.push(e);
    },
  });
  const c = new WebController(opts.username, client);
  controller = c;
  for (const e of early.splice(0)) c.onEvent(e);
  try {
    await startEngine(client);
  } catch (err) {
    await client.close();
    throw err;
  }
  const ks = keystore.keystore!;
  let key = ks.secret(FILES_KEY_SECRET);
  if (key === null) {
    key = generateFernetKey();
    ks.setSecret(FILES_KEY_SECRET, key);
  }
  files.useKey(key);

  // Asked once signed in: the keystore now holds what an eviction would lose.
  void askPersistentStorage().then((outcome) => {
    if (outcome !== "granted") c.warn(STORAGE_WARNING);
  });

  const poller = await openSession(c, client, {
    run: (cmd) => c.run(cmd),
    extra: [{ name: "requests" }, { name: "devices" }],
  });
  poller.first.catch(() => {});
  return {
    client,
    controller: c,
    files,
    async close() {
      poller.stop();
      await c.idle();
      await client.drain(3_000);
      await ks.persisted().catch(() => {});
      await client.close();
    },
  };
}

/** This browser's name in the account's device list, e.g. "Chrome on Linux". */
function _browserName(): string {
  const ua = globalThis.navigator?.userAgent ?? "";
  const browser = /Firefox\//.test(ua)
    ? "Firefox"
    : /Edg\//.test(ua)
    ? "Edge"
    : /Chrom(e|ium)\//.test(ua)
    ? "Chrome"
    : /Safari\//.test(ua)
    ? "Safari"
    : "Browser";
  const os = /Windows/.test(ua)
    ? "Windows"
    : /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad/.test(ua)
    ? "iOS"
    : /Mac OS X/.test(ua)
    ? "macOS"
    : /Linux/.test(ua)
    ? "Linux"
    : "";
  return os === "" ? browser : `${browser} on ${os}`;
}
