/**
 * HKDF, the HMAC-based extract-and-expand key derivation function (RFC 5869), with SHA-256 and
 * SHA-512, on @noble/hashes. The X3DH/PQXDH handshake and the Double Ratchet's root chain derive
 * their keys with it.
 *
 * `salt` is always given; an empty salt is RFC 5869's "not provided" (section 2.2: HashLen
 * zero bytes, which HMAC's zero padding of keys makes the same thing). `length` is the output
 * length L in bytes, from 1 to 255 * HashLen (section 2.3): 8160 for SHA-256, 16320 for
 * SHA-512. The one-call functions are extract then expand; the two steps are exported as well
 * for protocols that reuse a PRK.
 *
 * @module
 */

import { expand as _nobleExpand, extract as _nobleExtract } from "@noble/hashes/hkdf.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { assertBytes, zeroize } from "./bytes.ts";

type _Hash = typeof sha256 | typeof sha512;

/** Largest HKDF-SHA256 output in bytes (255 * 32, RFC 5869 section 2.3). */
export const HKDF_SHA256_MAX_LENGTH = 255 * 32;
/** Largest HKDF-SHA512 output in bytes (255 * 64, RFC 5869 section 2.3). */
export const HKDF_SHA512_MAX_LENGTH = 255 * 64;

/**
 * Derives `length` bytes from input keying material with HKDF-SHA256 (RFC 5869 section 2).
 *
 * @throws {TypeError} If `ikm`, `salt` or `info` is not a `Uint8Array`, or `length` is not a
 *   number.
 * @throws {RangeError} If `length` is not a whole number from 1 to 8160.
 */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return _hkdf(sha256, ikm, salt, info, length);
}

/**
 * Derives `length` bytes from input keying material with HKDF-SHA512 (RFC 5869 section 2).
 *
 * @throws {TypeError} If `ikm`, `salt` or `info` is not a `Uint8Array`, or `length` is not a
 *   number.
 * @throws {RangeError} If `length` is not a whole number from 1 to 16320.
 */
export function hkdfSha512(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return _hkdf(sha512, ikm, salt, info, length);
}

/**
 * HKDF-Extract with SHA-256 (RFC 5869 section 2.2): the 32-byte PRK = HMAC-SHA256(salt, ikm).
 *
 * @throws {TypeError} If `salt` or `ikm` is not a `Uint8Array`.
 */
export function hkdfExtractSha256(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return _extract(sha256, salt, ikm);
}

/**
 * HKDF-Extract with SHA-512 (RFC 5869 section 2.2): the 64-byte PRK = HMAC-SHA512(salt, ikm).
 *
 * @throws {TypeError} If `salt` or `ikm` is not a `Uint8Array`.
 */
export function hkdfExtractSha512(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return _extract(sha512, salt, ikm);
}

/**
 * HKDF-Expand with SHA-256 (RFC 5869 section 2.3): `length` bytes of output keying material
 * from a PRK of at least 32 bytes.
 *
 * @throws {TypeError} If `prk` or `info` is not a `Uint8Array`, or `length` is not a number.
 * @throws {RangeError} If `prk` is shorter than 32 bytes or `length` is not a whole number from
 *   1 to 8160.
 */
export function hkdfExpandSha256(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return _expand(sha256, prk, info, length);
}

/**
 * HKDF-Expand with SHA-512 (RFC 5869 section 2.3): `length` bytes of output keying material
 * from a PRK of at least 64 bytes.
 *
 * @throws {TypeError} If `prk` or `info` is not a `Uint8Array`, or `length` is not a number.
 * @throws {RangeError} If `prk` is shorter than 64 bytes or `length` is not a whole number from
 *   1 to 16320.
 */
export function hkdfExpandSha512(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return _expand(sha512, prk, info, length);
}

function _hkdf(
  hash: _Hash,
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  assertBytes(ikm, "ikm");
  assertBytes(salt, "salt");
  assertBytes(info, "info");
  _assertLength(hash, length);
  const prk = _nobleExtract(hash, ikm, salt);
  try {
    return _nobleExpand(hash, prk, info, length);
  } finally {
    zeroize(prk);
  }
}

function _extract(hash: _Hash, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  assertBytes(salt, "salt");
  assertBytes(ikm, "ikm");
  return _nobleExtract(hash, ikm, salt);
}

function _expand(hash: _Hash, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  assertBytes(prk, "prk");
  assertBytes(info, "info");
  if (prk.length < hash.outputLen) {
    throw new RangeError(
      `Expected prk to be at least ${hash.outputLen} bytes (HashLen), got ${prk.length}`,
    );
  }
  _assertLength(hash, length);
  return _nobleExpand(hash, prk, info, length);
}

function _assertLength(hash: _Hash, length: number): void {
  if (typeof length !== "number") {
    throw new TypeError(`Expected length to be a number of bytes, got ${typeof length}`);
  }
  if (!Number.isInteger(length)) {
    throw new RangeError(`Expected length to be a whole number of bytes, got ${length}`);
  }
  const max = 255 * hash.outputLen;
  if (length < 1 || length > max) {
    throw new RangeError(`Expected length to be between 1 and ${max} bytes, got ${length}`);
  }
}
