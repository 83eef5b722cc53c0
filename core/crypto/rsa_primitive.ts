/**
 * The RSA primitives of RFC 8017 section 5: RSAEP / RSAVP1 (public operation, 5.1.1 and
 * 5.2.2) and RSADP / RSASP1 (private operation, 5.1.2 and 5.2.1), plus the key checks
 * every RSA entry point runs first.
 *
 * The private operation uses the CRT (5.1.2 step 2.b) and two defences:
 * - Base blinding: the input is multiplied by r^e for a random r and the result by r^-1,
 *   so the exponentiation's timing is independent of the attacker's input. Each key keeps
 *   a blinding pair (r^e, r^-1) that is squared after every use, as OpenSSL does, so the
 *   modular inverse is paid once per 32 operations instead of every time.
 * - Fault check: the CRT result is re-encrypted (cheap with a small e) and compared with
 *   the input, because a single faulty half-exponentiation would reveal a factor of n
 *   (Boneh-DeMillo-Lipton). A mismatch throws instead of returning the faulty value.
 *
 * @module
 */

import { bitLength, byteLength, modInverse, modPow, randomBigInt } from "./bigint.ts";
import { CryptoError } from "./errors.ts";
import type { RsaPrivateKey, RsaPublicKey } from "./rsa_types.ts";

/** Smallest modulus, in bits, that the RSA functions accept. */
export const RSA_MIN_MODULUS_BITS = 512;

/** Largest modulus, in bits, that the RSA functions accept. */
export const RSA_MAX_MODULUS_BITS = 16384;

function _describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function _field(key: Record<string, unknown>, field: string, name: string): bigint {
  const value = key[field];
  if (typeof value !== "bigint") {
    throw new TypeError(`Expected ${name}.${field} to be a bigint, got ${_describe(value)}`);
  }
  return value;
}

/**
 * Throws unless `key` is a usable RSA public key: `TypeError` when it is not an object
 * with bigint `n` and `e`, `RangeError` when n is not an odd number of 512 to 16384 bits
 * or e is not odd with 3 <= e < n.
 */
export function assertRsaPublicKey(
  key: unknown,
  name = "publicKey",
): asserts key is RsaPublicKey {
  if (typeof key !== "object" || key === null || Array.isArray(key)) {
    throw new TypeError(`Expected ${name} to be an RSA key object, got ${_describe(key)}`);
  }
  const k = key as Record<string, unknown>;
  const n = _field(k, "n", name);
  const e = _field(k, "e", name);
  if (n <= 0n || (n & 1n) === 0n) {
    throw new RangeError(`Expected ${name}.n to be a positive odd modulus`);
  }
  const bits = bitLength(n);
  if (bits < RSA_MIN_MODULUS_BITS || bits > RSA_MAX_MODULUS_BITS) {
    throw new RangeError(
      `Expected ${name}.n to have ${RSA_MIN_MODULUS_BITS} to ${RSA_MAX_MODULUS_BITS} bits, got ${bits}`,
    );
  }
  if (e < 3n || e >= n || (e & 1n) === 0n) {
    throw new RangeError(`Expected ${name}.e to be odd and in [3, n), got ${e}`);
  }
}

/**
 * Throws unless `key` is a consistent CRT private key: the public checks of
 * {@linkcode assertRsaPublicKey}, every field a bigint (`TypeError`), and (`RangeError`)
 * n = p * q, 0 < d < n, dp and dq inverting e modulo p - 1 and q - 1, and
 * qInv * q ≡ 1 (mod p). Costs a few multiplications, nothing like an exponentiation.
 */
export function assertRsaPrivateKey(
  key: unknown,
  name = "privateKey",
): asserts key is RsaPrivateKey {
  assertRsaPublicKey(key, name);
  const k = key as unknown as Record<string, unknown>;
  const { n, e } = key;
  const d = _field(k, "d", name);
  const p = _field(k, "p", name);
  const q = _field(k, "q", name);
  const dp = _field(k, "dp", name);
  const dq = _field(k, "dq", name);
  const qInv = _field(k, "qInv", name);
  if (p < 3n || q < 3n || p * q !== n) {
    throw new RangeError(`Expected ${name}.p * ${name}.q to equal ${name}.n`);
  }
  if (d <= 0n || d >= n) throw new RangeError(`Expected ${name}.d to be in (0, n)`);
  if (dp <= 0n || dp >= p - 1n || e * dp % (p - 1n) !== 1n) {
    throw new RangeError(`Expected ${name}.dp to be the inverse of e modulo p - 1`);
  }
  if (dq <= 0n || dq >= q - 1n || e * dq % (q - 1n) !== 1n) {
    throw new RangeError(`Expected ${name}.dq to be the inverse of e modulo q - 1`);
  }
  if (qInv <= 0n || qInv >= p || qInv * q % p !== 1n) {
    throw new RangeError(`Expected ${name}.qInv to be the inverse of q modulo p`);
  }
}

/** The length k of the modulus in bytes (RFC 8017 section 2). */
export function rsaModulusLength(key: RsaPublicKey): number {
  assertRsaPublicKey(key, "key");
  return byteLength(key.n);
}

function _assertRepresentative(x: unknown, n: bigint, what: string): asserts x is bigint {
  if (typeof x !== "bigint") throw new TypeError(`Expected a bigint ${what}, got ${typeof x}`);
  if (x < 0n || x >= n) throw new RangeError(`${what} out of range`);
}

/** RSAEP (RFC 8017 section 5.1.1): m^e mod n. Throws `RangeError` unless 0 <= m < n. */
export function rsaep(key: RsaPublicKey, m: bigint): bigint {
  assertRsaPublicKey(key);
  _assertRepresentative(m, key.n, "Message representative");
  return modPow(m, key.e, key.n);
}

/** RSAVP1 (RFC 8017 section 5.2.2): s^e mod n. Throws `RangeError` unless 0 <= s < n. */
export function rsavp1(key: RsaPublicKey, s: bigint): bigint {
  assertRsaPublicKey(key);
  _assertRepresentative(s, key.n, "Signature representative");
  return modPow(s, key.e, key.n);
}

/**
 * RSADP (RFC 8017 section 5.1.2): c^d mod n, computed with the CRT, blinded and
 * fault-checked (see the module notes). Throws `RangeError` unless 0 <= c < n.
 */
export function rsadp(key: RsaPrivateKey, c: bigint): bigint {
  assertRsaPrivateKey(key);
  _assertRepresentative(c, key.n, "Ciphertext representative");
  return _privateOp(key, c);
}

/**
 * RSASP1 (RFC 8017 section 5.2.1): m^d mod n, the same protected computation as
 * {@linkcode rsadp}. Throws `RangeError` unless 0 <= m < n.
 */
export function rsasp1(key: RsaPrivateKey, m: bigint): bigint {
  assertRsaPrivateKey(key);
  _assertRepresentative(m, key.n, "Message representative");
  return _privateOp(key, m);
}

interface _Blinding {
  /** The key values the pair was made for; a mismatch means a mutated key object. */
  n: bigint;
  e: bigint;
  /** r^e mod n. */
  a: bigint;
  /** r^-1 mod n. */
  aInv: bigint;
  uses: number;
}

// OpenSSL's BN_BLINDING_COUNTER: after this many squarings draw a fresh r, so a pair
// never becomes predictable from a long run of related values.
const _BLINDING_REFRESH = 32;

const _blindings = new WeakMap<RsaPrivateKey, _Blinding>();

function _newBlinding(n: bigint, e: bigint): _Blinding {
  for (;;) {
    const r = randomBigInt(n);
    if (r < 2n) continue;
    let aInv: bigint;
    try {
      aInv = modInverse(r, n);
    } catch {
      // r shares a factor with n: as likely as guessing the factorisation. Draw again.
      continue;
    }
    return { n, e, a: modPow(r, e, n), aInv, uses: 0 };
  }
}

// Returns the blinding pair for this operation and advances the cached one.
function _takeBlinding(key: RsaPrivateKey): { a: bigint; aInv: bigint } {
  let b = _blindings.get(key);
  if (b === undefined || b.n !== key.n || b.e !== key.e || b.uses >= _BLINDING_REFRESH) {
    b = _newBlinding(key.n, key.e);
    _blindings.set(key, b);
  }
  const { a, aInv } = b;
  // (r^2)^e = (r^e)^2 and (r^2)^-1 = (r^-1)^2: squaring both keeps the pair valid.
  b.a = a * a % key.n;
  b.aInv = aInv * aInv % key.n;
  b.uses++;
  return { a, aInv };
}

function _privateOp(key: RsaPrivateKey, c: bigint): bigint {
  const { n, e, p, q, dp, dq, qInv } = key;
  const { a, aInv } = _takeBlinding(key);
  const blinded = c * a % n;
  // RFC 8017 5.1.2 step 2.b: m1 = c^dP mod p, m2 = c^dQ mod q, h = (m1 - m2) qInv mod p.
  const m1 = modPow(blinded, dp, p);
  const m2 = modPow(blinded, dq, q);
  let h = (m1 - m2) % p * qInv % p;
  if (h < 0n) h += p;
  const m = m2 + q * h;
  if (modPow(m, e, n) !== blinded) {
    throw new CryptoError(
      "rsa_fault",
      "RSA private-key operation failed its consistency check; the key may be corrupt",
    );
  }
  return m * aInv % n;
}
