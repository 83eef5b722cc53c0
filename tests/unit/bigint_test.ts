import assert from "node:assert/strict";
import {
  bigIntToBytes,
  bitLength,
  byteLength,
  bytesToBigInt,
  gcd,
  lcm,
  modInverse,
  modPow,
  randomBigInt,
} from "../../core/crypto/bigint.ts";

// Plain right-to-left square-and-multiply: the textbook reference for modPow().
function naiveModPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n % m;
  b = ((b % m) + m) % m;
  while (e > 0n) {
    if (e & 1n) r = r * b % m;
    b = b * b % m;
    e >>= 1n;
  }
  return r;
}

Deno.test("bytesToBigInt() reads big-endian bytes (OS2IP)", () => {
  assert.equal(bytesToBigInt(new Uint8Array([])), 0n);
  assert.equal(bytesToBigInt(new Uint8Array([0])), 0n);
  assert.equal(bytesToBigInt(new Uint8Array([1, 0])), 256n);
  assert.equal(bytesToBigInt(new Uint8Array([0, 0, 0x12, 0x34])), 0x1234n);
  assert.equal(bytesToBigInt(new Uint8Array(64).fill(0xff)), (1n << 512n) - 1n);
});

Deno.test("bytesToBigInt() rejects non-Uint8Array input", () => {
  assert.throws(() => bytesToBigInt([1, 2] as unknown as Uint8Array), TypeError);
});

Deno.test("bigIntToBytes() writes exactly the requested length (I2OSP)", () => {
  assert.deepEqual(bigIntToBytes(0n, 0), new Uint8Array([]));
  assert.deepEqual(bigIntToBytes(0n, 3), new Uint8Array([0, 0, 0]));
  assert.deepEqual(bigIntToBytes(256n, 2), new Uint8Array([1, 0]));
  assert.deepEqual(bigIntToBytes(0x1234n, 4), new Uint8Array([0, 0, 0x12, 0x34]));
  assert.deepEqual(bigIntToBytes(0xabcn, 2), new Uint8Array([0x0a, 0xbc]));
});

Deno.test("bigIntToBytes() round-trips with bytesToBigInt()", () => {
  for (let i = 0; i < 50; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(1 + (i % 40)));
    assert.deepEqual(bigIntToBytes(bytesToBigInt(bytes), bytes.length), bytes);
  }
});

Deno.test("bigIntToBytes() throws RangeError when the integer is too large", () => {
  assert.throws(() => bigIntToBytes(256n, 1), { name: "RangeError", message: /too large/ });
  assert.throws(() => bigIntToBytes(1n, 0), RangeError);
  assert.throws(() => bigIntToBytes(-1n, 4), RangeError);
  assert.throws(() => bigIntToBytes(1n, -1), RangeError);
  assert.throws(() => bigIntToBytes(1 as unknown as bigint, 4), TypeError);
});

Deno.test("bitLength() counts significant bits", () => {
  assert.equal(bitLength(0n), 0);
  assert.equal(bitLength(1n), 1);
  assert.equal(bitLength(255n), 8);
  assert.equal(bitLength(256n), 9);
  assert.equal(bitLength(1n << 1023n), 1024);
  assert.equal(bitLength((1n << 2048n) - 1n), 2048);
  assert.throws(() => bitLength(-1n), RangeError);
});

Deno.test("byteLength() rounds bits up to bytes", () => {
  assert.equal(byteLength(0n), 0);
  assert.equal(byteLength(255n), 1);
  assert.equal(byteLength(256n), 2);
  assert.equal(byteLength((1n << 2047n) + 1n), 256);
});

Deno.test("modPow() matches small known values", () => {
  assert.equal(modPow(4n, 13n, 497n), 445n);
  assert.equal(modPow(2n, 10n, 1000n), 24n);
  assert.equal(modPow(5n, 0n, 7n), 1n);
  assert.equal(modPow(0n, 5n, 7n), 0n);
  assert.equal(modPow(5n, 3n, 1n), 0n);
  assert.equal(modPow(-2n, 3n, 7n), 6n); // -8 ≡ 6 (mod 7)
  // Textbook RSA (p = 61, q = 53): encrypt 65 and decrypt again.
  assert.equal(modPow(65n, 17n, 3233n), 2790n);
  assert.equal(modPow(2790n, 2753n, 3233n), 65n);
});

Deno.test("modPow() agrees with square-and-multiply on random 1024-bit values", () => {
  for (let i = 0; i < 10; i++) {
    const m = bytesToBigInt(crypto.getRandomValues(new Uint8Array(128))) | 1n;
    const b = bytesToBigInt(crypto.getRandomValues(new Uint8Array(130)));
    const e = bytesToBigInt(crypto.getRandomValues(new Uint8Array(1 + i * 14)));
    assert.equal(modPow(b, e, m), naiveModPow(b, e, m));
  }
});

Deno.test("modPow() satisfies Fermat's little theorem for the Mersenne prime 2^127 - 1", () => {
  const p = (1n << 127n) - 1n;
  for (const a of [2n, 3n, 123456789n, p - 1n]) assert.equal(modPow(a, p - 1n, p), 1n);
});

Deno.test("modPow() rejects a negative exponent or a modulus below 1", () => {
  assert.throws(() => modPow(2n, -1n, 7n), RangeError);
  assert.throws(() => modPow(2n, 3n, 0n), RangeError);
  assert.throws(() => modPow(2 as unknown as bigint, 3n, 7n), TypeError);
});

Deno.test("modInverse() matches small known values", () => {
  assert.equal(modInverse(3n, 11n), 4n);
  assert.equal(modInverse(17n, 3120n), 2753n);
  assert.equal(modInverse(-3n, 11n), 7n);
  assert.equal(modInverse(1n, 2n), 1n);
});

Deno.test("modInverse() inverts random values modulo a large prime", () => {
  const p = (1n << 521n) - 1n;
  for (let i = 0; i < 10; i++) {
    const a = randomBigInt(p - 1n) + 1n;
    assert.equal(a * modInverse(a, p) % p, 1n);
  }
});

Deno.test("modInverse() throws RangeError when no inverse exists", () => {
  assert.throws(() => modInverse(6n, 9n), { name: "RangeError", message: /not coprime/ });
  assert.throws(() => modInverse(0n, 7n), RangeError);
  assert.throws(() => modInverse(3n, 1n), RangeError);
});

Deno.test("gcd() and lcm() match small known values", () => {
  assert.equal(gcd(48n, 18n), 6n);
  assert.equal(gcd(-48n, 18n), 6n);
  assert.equal(gcd(0n, 5n), 5n);
  assert.equal(gcd(0n, 0n), 0n);
  assert.equal(gcd(17n, 31n), 1n);
  assert.equal(lcm(4n, 6n), 12n);
  assert.equal(lcm(-4n, 6n), 12n);
  assert.equal(lcm(0n, 6n), 0n);
});

Deno.test("randomBigInt() stays below the bound and reaches every value", () => {
  assert.equal(randomBigInt(1n), 0n);
  const seen = new Set<bigint>();
  for (let i = 0; i < 500; i++) {
    const x = randomBigInt(5n);
    assert.ok(x >= 0n && x < 5n);
    seen.add(x);
  }
  assert.equal(seen.size, 5);
  const bound = (1n << 1000n) + 12345n;
  for (let i = 0; i < 50; i++) assert.ok(randomBigInt(bound) < bound);
});

Deno.test("randomBigInt() rejects a bound below 1", () => {
  assert.throws(() => randomBigInt(0n), RangeError);
  assert.throws(() => randomBigInt(-5n), RangeError);
  assert.throws(() => randomBigInt(5 as unknown as bigint), TypeError);
});
