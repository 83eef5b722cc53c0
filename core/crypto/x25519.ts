/**
 * X25519 key agreement (RFC 7748, sections 5 and 6.1) on @noble/curves, for the X3DH/PQXDH
 * handshake and the Double Ratchet.
 *
 * Keys are the raw 32-byte strings of RFC 7748: a secret key is any 32 bytes (clamped when
 * used, section 5), a public key is a little-endian u-coordinate. Public keys are decoded as
 * the RFC says: the top bit is ignored and non-canonical values (p to 2^255 - 1) are reduced.
 *
 * {@linkcode x25519} refuses low-order peer keys, whose shared secret is all zero whatever our
 * secret key is (section 6.1's "MAY check", which the Signal X3DH specification makes a MUST):
 * noble rejects them before its ladder runs, and we check the result in constant time as
 * well, so a change in noble cannot let an all-zero secret through.
 *
 * The Ed25519-to-X25519 conversions are the birational map of RFC 7748 section 4.1 (public key,
 * u = (1 + y) / (1 - y)) and RFC 8032's secret scalar (the clamped first half of
 * SHA-512(seed)); they give the same keys as libsodium's `crypto_sign_ed25519_pk_to_curve25519`
 * and `crypto_sign_ed25519_sk_to_curve25519`.
 *
 * @module
 */

import { ed25519, x25519 as _nobleX25519 } from "@noble/curves/ed25519.js";
import { assertBytes, zeroize } from "./bytes.ts";
import { KeyFormatError, LowOrderPointError } from "./errors.ts";

/** An X25519 key pair in raw RFC 7748 form. */
export interface X25519KeyPair {
  /** The 32-byte public key (a u-coordinate). */
  publicKey: Uint8Array;
  /** The 32-byte secret key (the scalar before clamping); keep it private. */
  secretKey: Uint8Array;
}

/** Length in bytes of X25519 secret keys, public keys and shared secrets. */
export const X25519_KEY_BYTES = 32;

/** Generates a new X25519 key pair from the OS CSPRNG. */
export function generateX25519KeyPair(): X25519KeyPair {
  const { secretKey, publicKey } = _nobleX25519.keygen();
  return { publicKey, secretKey };
}

/**
 * Derives the 32-byte public key X25519(secretKey, 9) of a 32-byte secret key.
 *
 * @throws {TypeError | RangeError} If `secretKey` is not a 32-byte `Uint8Array`.
 */
export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  assertBytes(secretKey, "secretKey", X25519_KEY_BYTES);
  return _nobleX25519.getPublicKey(secretKey);
}

/**
 * Computes the 32-byte shared secret X25519(secretKey, peerPublicKey).
 *
 * @throws {TypeError | RangeError} If an argument is not a 32-byte `Uint8Array`.
 * @throws {LowOrderPointError} If `peerPublicKey` is a low-order point (the result would be
 *   all zero).
 */
export function x25519(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  assertBytes(secretKey, "secretKey", X25519_KEY_BYTES);
  assertBytes(peerPublicKey, "peerPublicKey", X25519_KEY_BYTES);
  let shared: Uint8Array;
  try {
    shared = _nobleX25519.getSharedSecret(secretKey, peerPublicKey);
  } catch {
    // The lengths are checked above, so the only thing noble still refuses is a low-order
    // point; we do not read its message to decide.
    throw new LowOrderPointError();
  }
  if (_isAllZero(shared)) throw new LowOrderPointError();
  return shared;
}

/**
 * Converts a 32-byte Ed25519 public key to the X25519 public key of the same secret, so an
 * identity key can take part in X25519 agreement (as XEdDSA and libsodium do).
 *
 * @throws {TypeError | RangeError} If `edPublicKey` is not a 32-byte `Uint8Array`.
 * @throws {KeyFormatError} If it is not a canonical encoding of a point on the curve.
 * @throws {LowOrderPointError} If it is a small-order point (no usable X25519 key).
 */
export function edwardsToX25519PublicKey(edPublicKey: Uint8Array): Uint8Array {
  assertBytes(edPublicKey, "edPublicKey", X25519_KEY_BYTES);
  let point;
  try {
    point = ed25519.Point.fromBytes(edPublicKey, false);
  } catch {
    throw new KeyFormatError("The Ed25519 public key is not a canonical point on the curve");
  }
  // The identity would divide by zero in u = (1 + y) / (1 - y); the other small-order points
  // map to low-order u-coordinates that x25519() would refuse anyway.
  if (point.isSmallOrder()) throw new LowOrderPointError();
  return ed25519.utils.toMontgomery(edPublicKey);
}

/**
 * Converts a 32-byte Ed25519 secret key (the RFC 8032 seed) to the X25519 secret key whose
 * public key is {@linkcode edwardsToX25519PublicKey} of its Ed25519 public key.
 *
 * @throws {TypeError | RangeError} If `edSecretKey` is not a 32-byte `Uint8Array`.
 */
export function edwardsToX25519SecretKey(edSecretKey: Uint8Array): Uint8Array {
  assertBytes(edSecretKey, "edSecretKey", X25519_KEY_BYTES);
  const clamped = ed25519.utils.toMontgomerySecret(edSecretKey);
  const out = clamped.slice();
  // noble returns the first half of a fresh SHA-512 output; its second half is RFC 8032's
  // signing prefix, a secret the caller never sees, so wipe the whole hash.
  const { buffer, byteOffset } = clamped;
  if (buffer.byteLength - byteOffset >= 64) zeroize(new Uint8Array(buffer, byteOffset, 64));
  return out;
}

/** True if every byte is zero, in time that does not depend on where a non-zero byte is. */
function _isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}
