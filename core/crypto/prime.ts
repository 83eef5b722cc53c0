/**
 * Probable primes for RSA key generation: FIPS 186-5 Appendix B.3 (Miller-Rabin with
 * random bases, B.3.1) with the round counts of Appendix B Table B.1 / Appendix C.1.
 *
 * Candidates come from an incremental search: one random odd start, then a sieve over the
 * next few thousand odd numbers using the start's residues modulo every odd prime below
 * 2^16. Computing those residues is the only BigInt work per start; about 90% of the
 * candidates are crossed out with small-number arithmetic and never reach Miller-Rabin.
 * Like OpenSSL and GnuPG, this searches upwards from one random start instead of drawing
 * every candidate afresh (A.1.3 step 4.2): primes after long gaps are slightly favoured,
 * which costs a negligible amount of entropy (Brandt and Damgård, "On generation of
 * probable primes by incremental search", CRYPTO '92) and saves most of the work.
 *
 * @module
 */

import { bytesToBigInt, modPow, randomBigInt } from "./bigint.ts";
import { randomBytes, zeroize } from "./bytes.ts";

const _SIEVE_LIMIT = 1 << 16;

interface _SmallPrimes {
  /** Odd primes below the limit, ascending. */
  readonly primes: Uint32Array;
  /** Products of consecutive runs of `primes`, each below 2^53 (see `_residues`). */
  readonly groupProducts: bigint[];
  /** Length of each run in `groupProducts`. */
  readonly groupSizes: number[];
}

let _small: _SmallPrimes | undefined;

// Built on first use (under a millisecond) so importing this module costs nothing.
function _smallPrimes(): _SmallPrimes {
  if (_small) return _small;
  const composite = new Uint8Array(_SIEVE_LIMIT);
  const list: number[] = [];
  for (let i = 3; i < _SIEVE_LIMIT; i += 2) {
    if (composite[i]) continue;
    list.push(i);
    for (let j = i * i; j < _SIEVE_LIMIT; j += 2 * i) composite[j] = 1;
  }
  const groupProducts: bigint[] = [];
  const groupSizes: number[] = [];
  let product = 1;
  let size = 0;
  for (const p of list) {
    if (product * p > Number.MAX_SAFE_INTEGER) {
      groupProducts.push(BigInt(product));
      groupSizes.push(size);
      product = 1;
      size = 0;
    }
    product *= p;
    size++;
  }
  groupProducts.push(BigInt(product));
  groupSizes.push(size);
  _small = { primes: Uint32Array.from(list), groupProducts, groupSizes };
  return _small;
}

// `x mod p` for every small prime: one BigInt remainder per group of primes whose product
// fits in a double, then exact double arithmetic. About half the cost of one BigInt `%`
// per prime.
function _residues(x: bigint, small: _SmallPrimes): Uint32Array {
  const out = new Uint32Array(small.primes.length);
  let k = 0;
  for (let g = 0; g < small.groupProducts.length; g++) {
    const r = Number(x % small.groupProducts[g]!);
    const end = k + small.groupSizes[g]!;
    for (; k < end; k++) out[k] = r % small.primes[k]!;
  }
  return out;
}

/**
 * Miller-Rabin rounds for a *random* candidate of `bits` bits so that a composite is
 * accepted with probability below 2^-112, from the Damgård-Landrock-Pomerance bound of
 * FIPS 186-5 Appendix C.1. The rows for 1024 bits (5 rounds) and 1536 bits (4 rounds)
 * are those of Table B.1 ("M-R tests only", 2^-112 and 2^-128 columns); the other rows
 * were computed with the same C.1 formula. Sizes below 256 bits get at least 40 rounds.
 * These counts do not hold for adversarial input: see {@linkcode isProbablePrime}.
 */
export function millerRabinRounds(bits: number): number {
  if (!Number.isSafeInteger(bits) || bits < 2) {
    throw new RangeError(`Expected a bit length of at least 2, got ${bits}`);
  }
  if (bits >= 1536) return 4;
  if (bits >= 1024) return 5;
  if (bits >= 768) return 6;
  if (bits >= 640) return 7;
  if (bits >= 512) return 9;
  if (bits >= 384) return 12;
  if (bits >= 320) return 15;
  if (bits >= 256) return 20;
  if (bits >= 128) return 40;
  return 50;
}

/**
 * One Miller-Rabin test (FIPS 186-5 B.3.1) of odd `n > 3` with `rounds` random bases in
 * [2, n - 2]. Returns false when some base proves `n` composite, true otherwise.
 */
export function millerRabin(n: bigint, rounds: number): boolean {
  if (typeof n !== "bigint") throw new TypeError(`Expected n to be a bigint, got ${typeof n}`);
  if (n <= 3n || (n & 1n) === 0n) throw new RangeError("Expected an odd n greater than 3");
  if (!Number.isSafeInteger(rounds) || rounds < 1) {
    throw new RangeError(`Expected at least one round, got ${rounds}`);
  }
  for (let i = 0; i < rounds; i++) {
    if (!_strongProbablePrime(n, 2n + randomBigInt(n - 3n))) return false;
  }
  return true;
}

// Is n a strong probable prime to base a? (n odd, 1 < a < n - 1.)
function _strongProbablePrime(n: bigint, a: bigint): boolean {
  const nMinus1 = n - 1n;
  let d = nMinus1;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  let x = modPow(a, d, n);
  if (x === 1n || x === nMinus1) return true;
  for (let j = 1; j < s; j++) {
    x = x * x % n;
    if (x === nMinus1) return true;
    // 1 reached without passing through -1: a non-trivial square root of 1 exists.
    if (x === 1n) return false;
  }
  return false;
}

// Testing with these first 13 primes as bases is exact below this bound (Sorenson and
// Webster, "Strong pseudoprimes to twelve prime bases", 2017: the least strong
// pseudoprime to bases 2..41 is 3317044064679887385961981).
const _DETERMINISTIC_BOUND = 3317044064679887385961981n;
const _DETERMINISTIC_BASES = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n, 41n];

/**
 * Tests whether `n` is prime. Exact below 3.3 * 10^24 (trial division, then Miller-Rabin
 * with the first 13 prime bases). Above that, Miller-Rabin with `rounds` random bases:
 * the default 50 bounds the error by 4^-50 = 2^-100 even for a composite chosen by an
 * adversary, which the smaller counts of {@linkcode millerRabinRounds} do not.
 */
export function isProbablePrime(n: bigint, rounds = 50): boolean {
  if (typeof n !== "bigint") throw new TypeError(`Expected n to be a bigint, got ${typeof n}`);
  if (!Number.isSafeInteger(rounds) || rounds < 1) {
    throw new RangeError(`Expected at least one round, got ${rounds}`);
  }
  if (n < 2n) return false;
  if ((n & 1n) === 0n) return n === 2n;
  const small = _smallPrimes();
  if (n < BigInt(_SIEVE_LIMIT)) {
    for (const p of small.primes) {
      if (p * p > Number(n)) return true;
      if (Number(n) % p === 0) return false;
    }
    return true;
  }
  const residues = _residues(n, small);
  for (let i = 0; i < residues.length; i++) if (residues[i] === 0) return false;
  if (n < _DETERMINISTIC_BOUND) {
    return _DETERMINISTIC_BASES.every((a) => _strongProbablePrime(n, a));
  }
  return millerRabin(n, rounds);
}

/**
 * Generates a random probable prime of exactly `bits` bits whose top two bits are set, so
 * the product of two such primes has exactly `2 * bits` bits and each prime is at least
 * sqrt(2) * 2^(bits - 1) as FIPS 186-5 A.1.3 requires. Composites survive with
 * probability below 2^-112 (see {@linkcode millerRabinRounds}).
 */
export function generateProbablePrime(bits: number): bigint {
  if (!Number.isSafeInteger(bits) || bits < 16 || bits > 8192) {
    throw new RangeError(`Expected a prime size of 16 to 8192 bits, got ${bits}`);
  }
  const small = _smallPrimes();
  const rounds = millerRabinRounds(bits);
  // Every candidate is at least 2^(bits - 1), so a small prime below that dividing a
  // candidate proves it composite; larger small primes are left out of the sieve.
  let count = small.primes.length;
  while (count > 0 && small.primes[count - 1]! >= 2 ** (bits - 1)) count--;
  // About 4 * bits / 2 odd numbers: ~6 times the mean prime gap (bits * ln 2), so a fresh
  // start is needed only ~0.3% of the time.
  const window = 2 * bits;
  const composite = new Uint8Array(window);
  const limit = 1n << BigInt(bits);
  for (;;) {
    const start = _randomStart(bits);
    const residues = _residues(start, small);
    composite.fill(0);
    for (let i = 0; i < count; i++) {
      const p = small.primes[i]!;
      const r = residues[i]!;
      // First offset j with start + 2j ≡ 0 (mod p), i.e. 2j ≡ p - r.
      let j = r === 0 ? 0 : (p - r) % 2 === 0 ? (p - r) / 2 : (2 * p - r) / 2;
      for (; j < window; j += p) composite[j] = 1;
    }
    for (let j = 0; j < window; j++) {
      if (composite[j]) continue;
      const candidate = start + BigInt(2 * j);
      if (candidate >= limit) break;
      if (millerRabin(candidate, rounds)) return candidate;
    }
  }
}

// Random odd integer of exactly `bits` bits with the top two bits set.
function _randomStart(bits: number): bigint {
  const bytes = Math.ceil(bits / 8);
  const buf = randomBytes(bytes);
  const excess = bytes * 8 - bits;
  buf[0]! &= 0xff >>> excess;
  const x = bytesToBigInt(buf) | (3n << BigInt(bits - 2)) | 1n;
  zeroize(buf);
  return x;
}
