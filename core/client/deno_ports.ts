/**
 * The terminal client's ports: the user's keystore file and received files under
 * `<data>/<user>/`, and the file system for files to send.
 *
 * @module
 */

import { join } from "node:path";
import { denoFiles } from "./deno_files.ts";
import { fileKeystore } from "./file_keystore.ts";
import type { FilePort, KeystoreOpener } from "./ports.ts";

/** What {@linkcode denoClientPorts} gives a `ChatClient`. */
export interface DenoClientPorts {
  readonly keystore: KeystoreOpener;
  readonly files: FilePort;
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
