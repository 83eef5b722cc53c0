/**
 * BigInt arithmetic for RSA: the RFC 8017 section 4 conversion primitives (I2OSP, OS2IP),
 * modular exponentiation, inverses and uniform random integers.
 *
 * Exponentiation is left-to-right sliding-window over V8's native BigInt `*` and `%`; on
 * this runtime that beat both plain square-and-multiply (by about 25%) and a Montgomery
 * ladder written in BigInt. None of this is constant-time: callers that exponentiate with
 * secrets (RSADP) blind the base so timing does not correlate with the input.
 *
 * @module
 */

import { randomBytes, toHex, zeroize } from "./bytes.ts";

function _assertBigInt(value: unknown, name: string): asserts value is bigint {
  if (typeof value !== "bigint") {
    throw new TypeError(`Expected ${name} to be a bigint, got ${typeof value}`);
  }
}

/** OS2IP (RFC 8017 section 4.2): reads bytes as a big-endian unsigned integer. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Expected bytes to be a Uint8Array, got ${typeof bytes}`);
  }
  // Hex parsing is the fastest conversion V8 offers; the empty string is zero.
  return bytes.length === 0 ? 0n : BigInt("0x" + toHex(bytes));
}

// Hex digit value by char code ('0'-'9', 'a'-'f'), for decoding BigInt#toString(16).
const _HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 16; i++) _HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;

/**
 * I2OSP (RFC 8017 section 4.1): writes `x` as exactly `length` big-endian bytes. Throws
 * `RangeError` ("integer too large") when `x` needs more than `length` bytes.
 */
export function bigIntToBytes(x: bigint, length: number): Uint8Array {
  _assertBigInt(x, "x");
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`Expected length to be a non-negative integer, got ${length}`);
  }
  if (x < 0n) throw new RangeError("Expected a non-negative integer to encode");
  const bound = 1n << BigInt(8 * length);
  if (x >= bound) {
    throw new RangeError(
      `Integer too large: it needs ${byteLength(x)} bytes, expected at most ${length}`,
    );
  }
  // Setting the bit just above the field gives a string of fixed length, "1" then
  // 2 * length digits, so the work does not depend on how many leading zero bytes x has
  // (that difference is what Manger's attack on OAEP measures).
  const hex = (x | bound).toString(16);
  const out = new Uint8Array(length);
  for (let i = 0, h = 1; i < length; i++, h += 2) {
    out[i] = (_HEX_VALUE[hex.charCodeAt(h)]! << 4) | _HEX_VALUE[hex.charCodeAt(h + 1)]!;
  }
  return out;
}

/** Number of bits in the binary representation of `x` (0 for 0n). `x` must be non-negative. */
export function bitLength(x: bigint): number {
  _assertBigInt(x, "x");
  if (x < 0n) throw new RangeError("Expected a non-negative integer");
  if (x === 0n) return 0;
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)));
}

/** Number of bytes needed to hold `x`, i.e. the RFC 8017 `k` when `x` is a modulus. */
export function byteLength(x: bigint): number {
  return Math.ceil(bitLength(x) / 8);
}

// Window width by exponent size, as OpenSSL's BN_window_bits_for_exponent_size: wider
// windows trade a larger table of odd powers for fewer multiplications.
function _windowBits(expBits: number): number {
  if (expBits > 671) return 6;
  if (expBits > 239) return 5;
  if (expBits > 79) return 4;
  if (expBits > 23) return 3;
  return 1;
}

/**
 * Computes `base^exp mod mod` for `exp >= 0` and `mod >= 1`. A negative `base` is reduced
 * into [0, mod) first.
 */
export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  _assertBigInt(base, "base");
  _assertBigInt(exp, "exp");
  _assertBigInt(mod, "mod");
  if (mod < 1n) throw new RangeError("Expected a modulus of at least 1");
  if (exp < 0n) throw new RangeError("Expected a non-negative exponent");
  if (mod === 1n) return 0n;
  let b = base % mod;
  if (b < 0n) b += mod;
  if (exp === 0n) return 1n;
  const bits = exp.toString(2);
  const w = _windowBits(bits.length);
  if (w === 1) {
    let r = b;
    for (let i = 1; i < bits.length; i++) {
      r = r * r % mod;
      if (bits.charCodeAt(i) === 49) r = r * b % mod;
    }
    return r;
  }
  // Odd powers b^1, b^3, ..., b^(2^w - 1).
  const table: bigint[] = [b];
  const b2 = b * b % mod;
  for (let i = 1; i < 1 << (w - 1); i++) table.push(table[i - 1]! * b2 % mod);
  let r = 1n;
  let started = false;
  let i = 0;
  const len = bits.length;
  while (i < len) {
    if (bits.charCodeAt(i) === 48) {
      r = r * r % mod;
      i++;
      continue;
    }
    // Longest window of at most w bits starting here that ends in a 1 bit.
    let j = Math.min(i + w, len);
    while (bits.charCodeAt(j - 1) === 48) j--;
    let value = 0;
    for (let k = i; k < j; k++) value = (value << 1) | (bits.charCodeAt(k) & 1);
    const power = table[value >> 1]!;
    if (started) {
      for (let k = i; k < j; k++) r = r * r % mod;
      r = r * power % mod;
    } else {
      // The first window needs no squarings: 1^(2^k) is 1.
      r = power;
      started = true;
    }
    i = j;
  }
  return r;
}

/** Greatest common divisor of `|a|` and `|b|` (Euclid). */
export function gcd(a: bigint, b: bigint): bigint {
  _assertBigInt(a, "a");
  _assertBigInt(b, "b");
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** Least common multiple of `|a|` and `|b|`; 0 if either is 0. */
export function lcm(a: bigint, b: bigint): bigint {
  _assertBigInt(a, "a");
  _assertBigInt(b, "b");
  if (a === 0n || b === 0n) return 0n;
  const l = a / gcd(a, b) * b;
  return l < 0n ? -l : l;
}

/**
 * Returns `x` in [0, m) with `a * x ≡ 1 (mod m)` (extended Euclid). Throws `RangeError`
 * when `m < 2` or when `a` and `m` share a factor, so no inverse exists.
 */
export function modInverse(a: bigint, m: bigint): bigint {
  _assertBigInt(a, "a");
  _assertBigInt(m, "m");
  if (m < 2n) throw new RangeError("Expected a modulus of at least 2");
  let r0 = a % m;
  if (r0 < 0n) r0 += m;
  let r1 = m;
  // Invariant: s_i * a ≡ r_i (mod m); only the coefficient of a is tracked.
  let s0 = 1n;
  let s1 = 0n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError("No modular inverse: the values are not coprime");
  return s0 < 0n ? s0 + m : s0;
}

/**
 * Returns a uniformly random integer in [0, bound) from the OS CSPRNG, by rejection
 * sampling: draw just enough bits, retry when the draw is at least `bound`. Fewer than two
 * draws are needed on average, and unlike reducing modulo `bound` there is no bias.
 */
export function randomBigInt(bound: bigint): bigint {
  _assertBigInt(bound, "bound");
  if (bound < 1n) throw new RangeError("Expected a bound of at least 1");
  const bits = bitLength(bound - 1n);
  if (bits === 0) return 0n;
  const bytes = Math.ceil(bits / 8);
  const topMask = 0xff >>> (bytes * 8 - bits);
  for (;;) {
    const buf = randomBytes(bytes);
    buf[0]! &= topMask;
    const x = bytesToBigInt(buf);
    zeroize(buf);
    if (x < bound) return x;
  }
}
