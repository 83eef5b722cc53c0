import assert from "node:assert/strict";
import { bitLength } from "../../core/crypto/bigint.ts";
import {
  generateProbablePrime,
  isProbablePrime,
  millerRabin,
  millerRabinRounds,
} from "../../core/crypto/prime.ts";

// Carmichael numbers: Fermat liars for every coprime base, the classic trap.
const CARMICHAEL = [
  561n,
  1105n,
  1729n,
  2465n,
  2821n,
  6601n,
  8911n,
  41041n,
  62745n,
  825265n,
  321197185n,
  5394826801n,
  232250619601n,
  9746347772161n,
];

// Strong pseudoprimes: composites that pass Miller-Rabin for the bases named.
const STRONG_PSEUDOPRIMES = [
  2047n, // base 2
  3277n, // base 2
  4033n, // base 2
  4681n, // base 2
  8321n, // base 2
  1373653n, // bases 2, 3
  25326001n, // bases 2, 3, 5
  3215031751n, // bases 2, 3, 5, 7
  2152302898747n, // bases 2 .. 11
  3474749660383n, // bases 2 .. 13
  341550071728321n, // bases 2 .. 17
  3825123056546413051n, // bases 2 .. 23
  318665857834031151167461n, // bases 2 .. 37
];

// Mersenne primes 2^p - 1.
const MERSENNE_EXPONENTS = [61n, 89n, 107n, 127n, 521n, 607n, 1279n];

Deno.test("isProbablePrime() agrees with a sieve of Eratosthenes below 20000", () => {
  const limit = 20000;
  const composite = new Uint8Array(limit);
  for (let i = 2; i * i < limit; i++) {
    if (!composite[i]) { for (let j = i * i; j < limit; j += i) composite[j] = 1; }
  }
  for (let n = 0; n < limit; n++) {
    assert.equal(isProbablePrime(BigInt(n)), n >= 2 && !composite[n], `n = ${n}`);
  }
});

Deno.test("isProbablePrime() rejects Carmichael numbers", () => {
  for (const n of CARMICHAEL) assert.equal(isProbablePrime(n), false, `n = ${n}`);
});

Deno.test("isProbablePrime() rejects strong pseudoprimes to small bases", () => {
  for (const n of STRONG_PSEUDOPRIMES) assert.equal(isProbablePrime(n), false, `n = ${n}`);
});

Deno.test("isProbablePrime() rejects the least strong pseudoprime to bases 2 .. 41", () => {
  // 3317044064679887385961981 fools all 13 deterministic bases, so it must go to the
  // random-base test.
  assert.equal(isProbablePrime(3317044064679887385961981n), false);
});

Deno.test("isProbablePrime() accepts Mersenne primes and rejects their neighbours", () => {
  for (const p of MERSENNE_EXPONENTS) {
    const m = (1n << p) - 1n;
    assert.equal(isProbablePrime(m), true, `2^${p} - 1`);
    assert.equal(isProbablePrime(m + 2n), false, `2^${p} + 1`);
  }
});

Deno.test("isProbablePrime() rejects products of two large primes", () => {
  const a = (1n << 127n) - 1n;
  const b = (1n << 521n) - 1n;
  assert.equal(isProbablePrime(a * b), false);
  assert.equal(isProbablePrime(a * a), false);
  // F7 = 2^128 + 1 is composite (59649589127497217 * 5704689200685129054721).
  assert.equal(isProbablePrime((1n << 128n) + 1n), false);
});

Deno.test("isProbablePrime() handles 0, 1, 2, negative and even numbers", () => {
  assert.equal(isProbablePrime(-7n), false);
  assert.equal(isProbablePrime(0n), false);
  assert.equal(isProbablePrime(1n), false);
  assert.equal(isProbablePrime(2n), true);
  assert.equal(isProbablePrime(3n), true);
  assert.equal(isProbablePrime(1n << 200n), false);
});

Deno.test("isProbablePrime() rejects arguments of the wrong type or round count", () => {
  assert.throws(() => isProbablePrime(7 as unknown as bigint), TypeError);
  assert.throws(() => isProbablePrime(7n, 0), RangeError);
});

Deno.test("millerRabin() finds witnesses for composites and none for primes", () => {
  assert.equal(millerRabin(2047n, 20), false);
  assert.equal(millerRabin(3215031751n, 20), false);
  assert.equal(millerRabin((1n << 127n) - 1n, 10), true);
  assert.throws(() => millerRabin(4n, 5), RangeError);
  assert.throws(() => millerRabin(3n, 5), RangeError);
  assert.throws(() => millerRabin(101n, 0), RangeError);
});

Deno.test("millerRabinRounds() follows FIPS 186-5 Table B.1 and grows for smaller sizes", () => {
  assert.equal(millerRabinRounds(1024), 5);
  assert.equal(millerRabinRounds(1536), 4);
  assert.equal(millerRabinRounds(2048), 4);
  assert.ok(millerRabinRounds(255) >= 40);
  let previous = Infinity;
  for (let bits = 16; bits <= 4096; bits += 16) {
    const rounds = millerRabinRounds(bits);
    assert.ok(rounds <= previous, `${bits} bits`);
    previous = rounds;
  }
  assert.throws(() => millerRabinRounds(1), RangeError);
});

Deno.test("generateProbablePrime() returns primes of exactly the requested size", () => {
  for (const bits of [16, 17, 32, 64, 100, 256, 512]) {
    for (let i = 0; i < 3; i++) {
      const p = generateProbablePrime(bits);
      assert.equal(bitLength(p), bits);
      // Top two bits set, so that products of two such primes keep their full size.
      assert.equal(p >> BigInt(bits - 2), 3n);
      assert.equal(isProbablePrime(p), true);
    }
  }
});

Deno.test("generateProbablePrime() returns different primes each call", () => {
  const seen = new Set<bigint>();
  for (let i = 0; i < 10; i++) seen.add(generateProbablePrime(128));
  assert.equal(seen.size, 10);
});

Deno.test("generateProbablePrime() rejects sizes outside 16 to 8192 bits", () => {
  for (const bits of [15, 8193, 64.5, NaN, -1]) {
    assert.throws(() => generateProbablePrime(bits), RangeError, `bits = ${bits}`);
  }
});
