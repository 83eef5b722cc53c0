/**
 * The web client's files: a file the user picks to send is held in memory under a
 * pseudo path (`picked/<n>/<name>`); a received file is stored in IndexedDB, Fernet
 * encrypted under a key kept sealed in the user's keystore, until the user downloads it.
 *
 * @module
 */

import { fernetDecrypt, fernetEncrypt } from "../core/crypto/mod.ts";
import type { FilePort } from "../core/client/engine/ports.ts";
import { idbGet, idbPut } from "./idb.ts";

/** A stored received file. */
interface _Stored {
  /** Fernet token of the bytes. */
  readonly token: string;
  readonly size: number;
  readonly savedAt: number;
}

/** See the module documentation. */
export class BrowserFiles implements FilePort {
  readonly #db: IDBDatabase;
  readonly #picked = new Map<string, File>();
  #next = 0;
  #key: string | null = null;

  constructor(db: IDBDatabase) {
    this.#db = db;
  }

  /** Sets the key received files are encrypted with (from the keystore, once it is open). */
  useKey(fernetKey: string): void {
    this.#key = fernetKey;
  }

  /** Holds a picked file; returns the path to send it by. */
  pick(file: File): string {
    const path = `picked/${++this.#next}/${file.name.replace(/[\\/]/g, "_") || "file"}`;
    this.#picked.set(path, file);
    return path;
  }

  /** Forgets a picked file once it is sent. */
  release(path: string): void {
    this.#picked.delete(path);
  }

  /** Implements {@linkcode FilePort.stat}. */
  stat(path: string): Promise<{ size: number }> {
    try {
      return Promise.resolve({ size: this.#file(path).size });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Implements {@linkcode FilePort.readFile}. */
  async readFile(path: string): Promise<Uint8Array> {
    return new Uint8Array(await this.#file(path).arrayBuffer());
  }

  /** Implements {@linkcode FilePort.saveNew}: stored encrypted in IndexedDB. */
  async saveNew(dir: string, name: string, bytes: Uint8Array): Promise<string | null> {
    const path = `${dir}/${name}`;
    if (await idbGet(this.#db, "files", path) !== undefined) return null;
    const stored: _Stored = {
      token: fernetEncrypt(this.#requireKey(), bytes),
      size: bytes.length,
      savedAt: Date.now(),
    };
    await idbPut(this.#db, "files", path, stored);
    return path;
  }

  /** The bytes of a received file, or null when this browser does not have it. */
  async received(path: string): Promise<Uint8Array | null> {
    const stored = await idbGet<_Stored>(this.#db, "files", path);
    if (stored === undefined) return null;
    return fernetDecrypt(this.#requireKey(), stored.token);
  }

  #file(path: string): File {
    const file = this.#picked.get(path);
    if (file === undefined) {
      throw new Error(`No picked file ${path}; pick it again`);
    }
    return file;
  }

  #requireKey(): string {
    if (this.#key === null) throw new Error("The keystore is not open yet");
    return this.#key;
  }
}
