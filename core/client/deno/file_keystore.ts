/**
 * The keystore opener on Deno: the user's keystore is the file `<dir>/keystore.db`
 * (`Keystore` on node:sqlite, see `keystore_file.ts`), in a directory private to the user.
 *
 * @module
 */

import { join } from "node:path";
import { createKeystoreFile, openKeystoreFile } from "./keystore_file.ts";
import type { KeystoreOpener } from "../engine/ports.ts";

/** Opens or creates the keystore file in `dir` (made 0700 if missing). */
export function fileKeystore(dir: string): KeystoreOpener {
  const path = join(dir, "keystore.db");
  return {
    async open(password) {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      try {
        await Deno.stat(path);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return null;
        throw err;
      }
      return await openKeystoreFile(path, password);
    },
    create(opts) {
      return createKeystoreFile(path, opts);
    },
  };
}
