/**
 * Ed25519 identity keys and signatures (RFC 8032, section 5.1) on @noble/curves.
 *
 * Keys are the raw 32-byte forms of RFC 8032: the secret key is the 32-byte seed, the public
 * key the 32-byte encoded point, as Python's `Ed25519PrivateKey.from_private_bytes()` and
 * libsodium's seeds. Signing is deterministic.
 *
 * Verification is strict (noble's `zip215: false`): non-canonical point encodings (y >= p),
 * `S >= L` and small-order public keys are rejected, in the spirit of RFC 8032 section 5.1.7
 * and libsodium, instead of ZIP-215's permissive consensus rules. A signature that is
 * malformed in any way makes `verify()` return false rather than throw, because signatures
 * come from the network; only arguments of the wrong type throw.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { assertBytes, zeroize } from "./bytes.ts";

/** An Ed25519 key pair in raw RFC 8032 form. */
export interface IdentityKeyPair {
  /** The 32-byte public key (encoded point A). */
  publicKey: Uint8Array;
  /** The 32-byte secret key (the seed); keep it private. */
  secretKey: Uint8Array;
}

const _KEY_LEN = 32;
const _SIG_LEN = 64;
const _STRICT = { zip215: false } as const;

/** Generates a new Ed25519 identity key pair from the OS CSPRNG. */
export function generateIdentityKeyPair(): IdentityKeyPair {
  const { secretKey, publicKey } = ed25519.keygen();
  return { publicKey, secretKey };
}

/**
 * Derives the 32-byte public key of a 32-byte Ed25519 secret key.
 *
 * @throws {TypeError | RangeError} If `secretKey` is not a 32-byte `Uint8Array`.
 */
export function publicKeyFromSecret(secretKey: Uint8Array): Uint8Array {
  assertBytes(secretKey, "secretKey", _KEY_LEN);
  return ed25519.getPublicKey(secretKey);
}

/**
 * Signs `msg` with a 32-byte Ed25519 secret key; returns the 64-byte signature `R || S`.
 *
 * @throws {TypeError} If an argument is not a `Uint8Array`.
 * @throws {RangeError} If `secretKey` is not 32 bytes.
 */
export function sign(secretKey: Uint8Array, msg: Uint8Array): Uint8Array {
  assertBytes(secretKey, "secretKey", _KEY_LEN);
  assertBytes(msg, "msg");
  // noble hashes the seed into the signing scalar and prefix and wipes what it can; copying
  // the key keeps a caller's buffer out of noble's hands and lets us wipe our copy.
  const key = secretKey.slice();
  try {
    return ed25519.sign(msg, key);
  } finally {
    zeroize(key);
  }
}

/**
 * Verifies a 64-byte Ed25519 signature of `msg` under a 32-byte public key.
 *
 * Returns false, never throws, for anything wrong with the key, message or signature bytes:
 * wrong lengths, points not on the curve, non-canonical encodings, small-order keys, `S >= L`.
 *
 * @throws {TypeError} Only if an argument is not a `Uint8Array`.
 */
export function verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  assertBytes(publicKey, "publicKey");
  assertBytes(msg, "msg");
  assertBytes(sig, "sig");
  if (publicKey.length !== _KEY_LEN || sig.length !== _SIG_LEN) return false;
  try {
    return ed25519.verify(sig, msg, publicKey, _STRICT);
  } catch {
    // noble returns false for bad points; this is only a backstop for what it throws on.
    return false;
  }
}
