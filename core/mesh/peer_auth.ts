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
import { equalBytes, randomBytes, toBase64Url, utf8 } from "../crypto/bytes.ts";

/** A fresh 32-byte nonce, url-safe base64 without padding (43 characters). */
export function newNonce(): string {
  return toBase64Url(randomBytes(32), false);
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
