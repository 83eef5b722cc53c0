/**
 * Server-to-server authentication: a challenge-response over HMAC-SHA256 with the cluster
 * secret, in both directions, so a client cannot pose as a server and a server cannot be
 * impersonated to its peers. Proofs bind the role, both server IDs and the other side's
 * fresh nonce, so a proof cannot be replayed on another link or reflected back.
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { equalBytes, fromBase64Url, randomBytes, toBase64Url, utf8 } from "../crypto/bytes.ts";

/** Smallest cluster secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 32;

/** A fresh 32-byte nonce, url-safe base64 without padding (43 characters). */
export function newNonce(): string {
  return toBase64Url(randomBytes(32), false);
}

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
 * The proof that the `role` side holds the secret: HMAC(secret, "fastchat-peer-v1" | role |
 * from | to | nonce), url-safe base64 without padding.
 */
export function peerProof(
  secret: Uint8Array,
  role: "dialer" | "acceptor",
  fromId: number,
  toId: number,
  nonce: string,
): string {
  const data = utf8(`fastchat-peer-v1\n${role}\n${fromId}\n${toId}\n${nonce}`);
  return toBase64Url(hmac(sha256, secret, data), false);
}

/** Checks a proof in constant time. */
export function checkPeerProof(
  secret: Uint8Array,
  role: "dialer" | "acceptor",
  fromId: number,
  toId: number,
  nonce: string,
  proof: string,
): boolean {
  const expected = utf8(peerProof(secret, role, fromId, toId, nonce));
  return equalBytes(expected, utf8(proof));
}
