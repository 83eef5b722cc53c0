/**
 * The file port on Deno's file system: files to send are read from disk, received files are
 * saved owner-only (0600, in a 0700 directory) and never over an existing file.
 *
 * @module
 */

import { join } from "node:path";
import type { FilePort } from "../engine/ports.ts";

/** {@linkcode FilePort} over `Deno.*`. A path starting with `~/` is under $HOME, as in a shell. */
export const denoFiles: FilePort = {
  async stat(path) {
    const info = await Deno.stat(expandHome(path));
    return { size: info.size };
  },

  readFile(path) {
    return Deno.readFile(expandHome(path));
  },

  async saveNew(dir, name, bytes) {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, name);
    try {
      // createNew: taking the name and writing is one step, so two saves cannot collide.
      await Deno.writeFile(path, bytes, { mode: 0o600, createNew: true });
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) return null;
      throw err;
    }
    return path;
  },
};

/** `~` or `~/rest` under the user's home directory; any other path as it is. */
export function expandHome(path: string, home = Deno.env.get("HOME")): string {
  if (home === undefined || home === "") return path;
  if (path === "~") return home;
  return path.startsWith("~/") ? join(home, path.slice(2)) : path;
}
