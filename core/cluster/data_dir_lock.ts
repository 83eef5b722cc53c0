/**
 * One `fastchat up` per data directory: an exclusive advisory lock (flock) on
 * `DATA/up.lock`, held for the cluster's lifetime. The kernel drops it when the process
 * ends, even on `kill -9`, so a stale lock file never blocks the next start; the file is
 * left in place (deleting it would let two processes lock two different files).
 *
 * @module
 */

import { join } from "node:path";
import { ClusterError } from "./cluster_error.ts";

/** The lock file's name in the data directory. */
export const LOCK_FILE = "up.lock";

/** A held data-directory lock. */
export interface DataDirLock {
  /** The lock file. */
  readonly path: string;
  /** Releases the lock; idempotent. */
  release(): void;
}

/**
 * Takes the data directory's lock without waiting (the directory must exist). Throws
 * {@linkcode ClusterError} `data_dir_in_use` when another process holds it.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const path = join(dir, LOCK_FILE);
  const file = await Deno.open(path, { read: true, write: true, create: true });
  let held;
  try {
    held = await file.tryLock(true);
  } catch (err) {
    file.close();
    throw err;
  }
  if (!held) {
    file.close();
    const pid = await _holder(path);
    throw new ClusterError(
      "data_dir_in_use",
      `the data directory ${dir} is in use by another fastchat up ` +
        `(${pid ? `pid ${pid}, ` : ""}lock ${_shown(dir)})`,
    );
  }
  // For people reading the file; the lock itself is what counts.
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      file.close(); // closing drops the lock
    },
  };
}

/** The PID the holder wrote, if the file has one. */
async function _holder(path: string): Promise<number | null> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    return /^[0-9]+$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

/** The lock file as the user wrote the directory (`./data/up.lock`, not `data/up.lock`). */
function _shown(dir: string): string {
  return dir.endsWith("/") ? `${dir}${LOCK_FILE}` : `${dir}/${LOCK_FILE}`;
}
