/**
 * The cluster secret that servers prove to each other: read from the environment
 * (`FASTCHAT_CLUSTER_SECRET`) or a file; `fastchat up` creates the file (mode 0600) in its
 * data directory on first start.
 *
 * @module
 */

import { newClusterSecret, parseClusterSecret } from "../server/peer_auth.ts";

/** The environment variable servers read the secret from. */
export const SECRET_ENV = "FASTCHAT_CLUSTER_SECRET";

/**
 * Loads the cluster secret: the environment variable wins, then `file`. Throws an error
 * that says where it looked and what it expected.
 */
export async function loadClusterSecret(file: string): Promise<Uint8Array> {
  const fromEnv = Deno.env.get(SECRET_ENV);
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    try {
      return parseClusterSecret(fromEnv);
    } catch (err) {
      throw new Error(`${SECRET_ENV} is not a valid cluster secret: ${(err as Error).message}`);
    }
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `No cluster secret: ${SECRET_ENV} is unset and ${file} does not exist; ` +
          "run `fastchat up` once, or write 32+ random bytes as url-safe base64 to that file",
      );
    }
    throw err;
  }
  try {
    return parseClusterSecret(text);
  } catch (err) {
    throw new Error(`${file} is not a valid cluster secret: ${(err as Error).message}`);
  }
}

/** Creates the secret file if it does not exist (mode 0600); returns its path. */
export async function ensureClusterSecret(file: string): Promise<string> {
  try {
    await Deno.writeTextFile(file, newClusterSecret() + "\n", { createNew: true, mode: 0o600 });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  return file;
}
