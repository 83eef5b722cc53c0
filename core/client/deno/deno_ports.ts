/**
 * The terminal client's ports: the user's keystore file and received files under
 * `<data>/<user>/`, and the file system for files to send.
 *
 * @module
 */

import { join } from "node:path";
import { denoFiles } from "./deno_files.ts";
import { fileKeystore } from "./file_keystore.ts";
import type { FilePort, KeystoreOpener } from "../engine/ports.ts";

/** What {@linkcode denoClientPorts} gives a `ChatClient`. */
export interface DenoClientPorts {
  /** Opens or creates the user's keystore file under `<data>/<user>/`. */
  readonly keystore: KeystoreOpener;
  /** Deno's file system, for files to send and files received. */
  readonly files: FilePort;
  /** Where received files go: `<data>/<user>/files`. */
  readonly saveDir: string;
}

/** The ports of user `username` whose data lives in `dataDir` (`<dataDir>/<username>/`). */
export function denoClientPorts(dataDir: string, username: string): DenoClientPorts {
  const userDir = join(dataDir, username);
  return {
    keystore: fileKeystore(userDir),
    files: denoFiles,
    saveDir: join(userDir, "files"),
  };
}
