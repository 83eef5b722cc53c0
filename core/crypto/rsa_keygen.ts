/**
 * RSA key generation following FIPS 186-5 Appendix A.1.3 ("Generation of Random Primes
 * that are Probably Prime") with e = 65537, and the CRT private key of RFC 8017 section
 * 3.2 (second representation).
 *
 * - p and q have nlen/2 bits each, top two bits set, so each is at least
 *   sqrt(2) * 2^(nlen/2 - 1) and n has exactly nlen bits (A.1.3 step 4.4 / 5.4).
 * - gcd(p - 1, e) = gcd(q - 1, e) = 1 (A.1.3 steps 4.5 / 5.6).
 * - |p - q| > 2^(nlen/2 - 100) (A.1.3 step 5.4).
 * - d = e^-1 mod lcm(p - 1, q - 1) and d > 2^(nlen/2) (A.1.1), else start over.
 * - p > q and qInv = q^-1 mod p, the order OpenSSL, Python `rsa` and `cryptography` use.
 * - Primes come from prime.ts: Miller-Rabin rounds per FIPS 186-5 Table B.1, candidates
 *   from an incremental sieve rather than fresh draws (see the note there).
 *
 * @module
 */

import { bitLength, gcd, lcm, modInverse } from "./bigint.ts";
import { generateProbablePrime } from "./prime.ts";
import { RSA_MAX_MODULUS_BITS, RSA_MIN_MODULUS_BITS } from "./rsa_primitive.ts";
import type { RsaKeyPair, RsaPrivateKey } from "./rsa_types.ts";

/** The public exponent of generated keys (F4), as everyone uses. */
export const RSA_PUBLIC_EXPONENT = 65537n;

/**
 * Generates an RSA key pair with a modulus of exactly `bits` bits and e = 65537 (FIPS
 * 186-5 A.1.3). `bits` must be even and in [512, 16384]; use at least 2048 for real keys
 * (512 and 1024 are accepted so tests run fast). Throws `RangeError` otherwise.
 */
export function generateRsaKeyPair(bits = 2048): RsaKeyPair {
  if (
    typeof bits !== "number" || !Number.isSafeInteger(bits) || bits < RSA_MIN_MODULUS_BITS ||
    bits > RSA_MAX_MODULUS_BITS || bits % 2 !== 0
  ) {
    throw new RangeError(
      `Expected an even RSA key size from ${RSA_MIN_MODULUS_BITS} to ${RSA_MAX_MODULUS_BITS} bits, got ${bits}`,
    );
  }
  const e = RSA_PUBLIC_EXPONENT;
  const half = bits / 2;
  const minDistance = 1n << BigInt(half - 100);
  const minD = 1n << BigInt(half);
  for (;;) {
    const p = _generateFactor(half, e);
    let q: bigint;
    do {
      q = _generateFactor(half, e);
    } while (_abs(p - q) <= minDistance);
    const [big, small] = p > q ? [p, q] : [q, p];
    const d = modInverse(e, lcm(big - 1n, small - 1n));
    // A.1.1: a small d would open Wiener-style attacks; it happens with negligible odds.
    if (d <= minD) continue;
    const privateKey = _privateKey(big, small, e, d);
    if (bitLength(privateKey.n) !== bits) {
      throw new Error(`Unreachable: generated a modulus that is not ${bits} bits`);
    }
    const publicKey = Object.freeze({ n: privateKey.n, e });
    return Object.freeze({ publicKey, privateKey });
  }
}

/**
 * Builds a CRT private key from its primes, e.g. integers received from another
 * implementation. Computes n, dp = d mod (p - 1), dq = d mod (q - 1) and
 * qInv = q^-1 mod p, keeping p and q in the order given. `d` defaults to
 * e^-1 mod lcm(p - 1, q - 1); a given `d` (e.g. the e^-1 mod (p - 1)(q - 1) of Python's
 * `rsa`) is kept as is after checking that it inverts `e`. Primality is not re-tested.
 */
export function rsaPrivateKeyFromPrimes(
  p: bigint,
  q: bigint,
  e: bigint,
  d?: bigint,
): RsaPrivateKey {
  for (const [name, value] of [["p", p], ["q", q], ["e", e]] as const) {
    if (typeof value !== "bigint") {
      throw new TypeError(`Expected ${name} to be a bigint, got ${typeof value}`);
    }
  }
  if (d !== undefined && typeof d !== "bigint") {
    throw new TypeError(`Expected d to be a bigint or undefined, got ${typeof d}`);
  }
  if (p < 3n || q < 3n || (p & 1n) === 0n || (q & 1n) === 0n) {
    throw new RangeError("Expected p and q to be odd primes");
  }
  if (p === q) throw new RangeError("Expected p and q to be distinct primes");
  if (e < 3n || (e & 1n) === 0n) throw new RangeError("Expected e to be an odd integer >= 3");
  const lambda = lcm(p - 1n, q - 1n);
  let inverse: bigint;
  try {
    inverse = modInverse(e, lambda);
  } catch {
    throw new RangeError("Expected e to be coprime to lcm(p - 1, q - 1)");
  }
  if (d === undefined) {
    d = inverse;
  } else if (d <= 0n || d >= p * q || (d * e) % lambda !== 1n) {
    throw new RangeError("Expected d to satisfy d * e ≡ 1 (mod lcm(p - 1, q - 1))");
  }
  return _privateKey(p, q, e, d);
}

function _privateKey(p: bigint, q: bigint, e: bigint, d: bigint): RsaPrivateKey {
  // Frozen: the blinding cache in rsa_primitive.ts is keyed by the key object.
  return Object.freeze({
    n: p * q,
    e,
    d,
    p,
    q,
    dp: d % (p - 1n),
    dq: d % (q - 1n),
    qInv: modInverse(q, p),
  });
}

// A prime of `bits` bits with gcd(p - 1, e) = 1 (fails about once in 65537 for F4).
function _generateFactor(bits: number, e: bigint): bigint {
  for (;;) {
    const p = generateProbablePrime(bits);
    if (gcd(p - 1n, e) === 1n) return p;
  }
}

function _abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}
