/**
 * ML-KEM-768, the module-lattice key-encapsulation mechanism of FIPS 203 (August 2024), on
 * @noble/post-quantum: the post-quantum half of the PQXDH-style handshake.
 *
 * Sizes are FIPS 203's for ML-KEM-768 (section 8, table 3): encapsulation (public) key 1184
 * bytes, decapsulation (secret) key 2400, ciphertext 1088, shared secret 32. A key pair is
 * made from a 64-byte seed `d || z` (ML-KEM.KeyGen_internal, algorithm 16), random unless
 * given; encapsulation takes 32 random bytes `m` (algorithm 17), random unless given. Only
 * tests pass seeds: a reused seed gives the same keys, a reused `m` the same shared secret.
 *
 * The input checks of section 7 run here before noble sees the keys, and fail with a typed
 * {@linkcode KeyFormatError}: the encapsulation key's modulus check (7.2: every 12-bit
 * coefficient below q = 3329) and the decapsulation key's hash check (7.3: the stored H(ek)
 * matches). A ciphertext that was tampered with is not an error: decapsulation then returns
 * a pseudo-random secret derived from `z` and the ciphertext (implicit rejection, algorithm
 * 18), so the two sides simply disagree and the handshake's later key confirmation fails.
 *
 * @module
 */

import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { sha3_256 } from "@noble/hashes/sha3.js";
import { assertBytes, equalBytes, zeroize } from "./bytes.ts";
import { KeyFormatError } from "./errors.ts";

/** Bytes in an ML-KEM-768 encapsulation (public) key. */
export const ML_KEM_768_PUBLIC_KEY_BYTES = 1184;
/** Bytes in an ML-KEM-768 decapsulation (secret) key. */
export const ML_KEM_768_SECRET_KEY_BYTES = 2400;
/** Bytes in an ML-KEM-768 ciphertext. */
export const ML_KEM_768_CIPHERTEXT_BYTES = 1088;
/** Bytes in an ML-KEM shared secret. */
export const ML_KEM_768_SHARED_SECRET_BYTES = 32;
/** Bytes in a key-generation seed `d || z`. */
export const ML_KEM_768_SEED_BYTES = 64;
/** Bytes of encapsulation randomness `m`. */
export const ML_KEM_768_RANDOM_BYTES = 32;

/** An ML-KEM-768 key pair. */
export interface MlKem768KeyPair {
  /** The 1184-byte encapsulation key, given to whoever will encapsulate to us. */
  publicKey: Uint8Array;
  /** The 2400-byte decapsulation key; keep it private. */
  secretKey: Uint8Array;
}

/** The result of encapsulating to a public key. */
export interface MlKem768Encapsulation {
  /** The 1088-byte ciphertext to send to the key's owner. */
  cipherText: Uint8Array;
  /** The 32-byte shared secret; keep it private. */
  sharedSecret: Uint8Array;
}

// k = 3 polynomials of 256 12-bit coefficients: 3 * 384 bytes, then the 32-byte seed rho.
const _T_BYTES = 3 * 384;
const _Q = 3329;

/**
 * Generates an ML-KEM-768 key pair (FIPS 203 algorithm 19), or derives it from a 64-byte seed
 * `d || z` (algorithm 16) when one is given.
 *
 * @throws {TypeError | RangeError} If `seed` is given and is not a 64-byte `Uint8Array`.
 */
export function mlKem768KeyPair(seed?: Uint8Array): MlKem768KeyPair {
  if (seed !== undefined) assertBytes(seed, "seed", ML_KEM_768_SEED_BYTES);
  const { publicKey, secretKey } = ml_kem768.keygen(seed);
  return { publicKey, secretKey };
}

/**
 * Encapsulates a fresh shared secret to an encapsulation key (FIPS 203 algorithm 20), or, when
 * `random` is given, derives it from those 32 bytes `m` (algorithm 17).
 *
 * @throws {TypeError | RangeError} If `publicKey` is not a 1184-byte `Uint8Array`, or `random`
 *   is given and is not a 32-byte `Uint8Array`.
 * @throws {KeyFormatError} If `publicKey` fails the modulus check of FIPS 203 section 7.2.
 */
export function mlKem768Encapsulate(
  publicKey: Uint8Array,
  random?: Uint8Array,
): MlKem768Encapsulation {
  assertBytes(publicKey, "publicKey", ML_KEM_768_PUBLIC_KEY_BYTES);
  if (random !== undefined) assertBytes(random, "random", ML_KEM_768_RANDOM_BYTES);
  _assertModulus(publicKey);
  const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, random);
  return { cipherText, sharedSecret: _detach(sharedSecret) };
}

/**
 * Decapsulates a ciphertext with a decapsulation key (FIPS 203 algorithm 21) and returns the
 * 32-byte shared secret. A ciphertext that was not made for this key, or was modified, is not
 * an error: the result is then a pseudo-random secret the sender does not know (implicit
 * rejection).
 *
 * @throws {TypeError | RangeError} If `cipherText` is not a 1088-byte `Uint8Array` or
 *   `secretKey` not a 2400-byte one.
 * @throws {KeyFormatError} If `secretKey` fails the hash check of FIPS 203 section 7.3.
 */
export function mlKem768Decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  assertBytes(cipherText, "cipherText", ML_KEM_768_CIPHERTEXT_BYTES);
  assertBytes(secretKey, "secretKey", ML_KEM_768_SECRET_KEY_BYTES);
  _assertSecretKeyHash(secretKey);
  return _detach(ml_kem768.decapsulate(cipherText, secretKey));
}

/**
 * FIPS 203 section 7.2: ek must re-encode to itself, i.e. every coefficient ByteDecode_12
 * reads from its first 1152 bytes is below q. Public data, so no need for constant time.
 */
function _assertModulus(publicKey: Uint8Array): void {
  for (let i = 0; i < _T_BYTES; i += 3) {
    const b0 = publicKey[i]!;
    const b1 = publicKey[i + 1]!;
    const b2 = publicKey[i + 2]!;
    const c0 = b0 | ((b1 & 0x0f) << 8);
    const c1 = (b1 >> 4) | (b2 << 4);
    if (c0 >= _Q || c1 >= _Q) {
      throw new KeyFormatError(
        "The ML-KEM-768 public key is not reduced: a coefficient is not below q = 3329 " +
          "(FIPS 203 section 7.2)",
      );
    }
  }
}

/**
 * FIPS 203 section 7.3: dk = dk_PKE || ek || H(ek) || z, and the stored H(ek) must be
 * SHA3-256 of the stored ek. Compared in constant time since dk is secret.
 */
function _assertSecretKeyHash(secretKey: Uint8Array): void {
  const ekStart = _T_BYTES;
  const hashStart = ekStart + ML_KEM_768_PUBLIC_KEY_BYTES;
  const hash = sha3_256(secretKey.subarray(ekStart, hashStart));
  const ok = equalBytes(hash, secretKey.subarray(hashStart, hashStart + 32));
  if (!ok) {
    throw new KeyFormatError(
      "The ML-KEM-768 secret key is corrupt: its stored hash of the public key does not match " +
        "(FIPS 203 section 7.3)",
    );
  }
}

/** noble returns secrets as views of larger buffers; give back a copy and wipe the view. */
function _detach(secret: Uint8Array): Uint8Array {
  const out = secret.slice();
  zeroize(secret);
  return out;
}
