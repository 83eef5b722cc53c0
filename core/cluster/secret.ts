/**
 * The cluster secret that servers prove to each other: read from the environment
 * (`FASTCHAT_CLUSTER_SECRET`) or a file; `fastchat up` creates the file (mode 0600) in its
 * data directory on first start.
 *
 * @module
 */

import { fromBase64Url, randomBytes, toBase64Url } from "../crypto/bytes.ts";

/** The environment variable servers read the secret from. */
export const SECRET_ENV = "FASTCHAT_CLUSTER_SECRET";

/** Smallest cluster secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 32;

/** A new random cluster secret, url-safe base64 (what `fastchat up` writes). */
export function newClusterSecret(): string {
  return toBase64Url(randomBytes(32), false);
}

/**
 * Parses a cluster secret (url-safe base64 of at least 32 bytes, surrounding whitespace
 * ignored). Throws `RangeError` or `SyntaxError` saying what was expected.
 */
export function parseClusterSecret(text: string): Uint8Array {
  const bytes = fromBase64Url(text.trim());
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new RangeError(
      `Cluster secret is ${bytes.length} bytes; expected at least ${MIN_SECRET_BYTES} bytes, url-safe base64`,
    );
  }
  return bytes;
}

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
