import assert from "node:assert/strict";
import {
  generateIdentityKeyPair,
  publicKeyFromSecret,
  sign,
  verify,
} from "../../core/crypto/ed25519.ts";
import { concat, fromHex, randomBytes, toHex, utf8 } from "../../core/crypto/bytes.ts";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";

interface Vector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}

const VECTORS = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/ed25519/rfc8032.json", import.meta.url)),
) as Vector[];

// The group order L = 2^252 + 27742317777372353535851937790883648493.
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function _leToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function _bigIntToLe(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** The same signature with S replaced by S + L: same equation, non-canonical S. */
function _malleate(sig: Uint8Array): Uint8Array {
  const out = sig.slice();
  out.set(_bigIntToLe(_leToBigInt(sig.subarray(32)) + L, 32), 32);
  return out;
}

Deno.test("sign() reproduces the RFC 8032 section 7.1 test vectors", () => {
  assert.deepEqual(VECTORS.map((v) => v.name), [
    "TEST 1",
    "TEST 2",
    "TEST 3",
    "TEST 1024",
    "TEST SHA(abc)",
  ]);
  for (const v of VECTORS) {
    const sk = fromHex(v.secretKey);
    assert.equal(toHex(publicKeyFromSecret(sk)), v.publicKey, v.name);
    assert.equal(toHex(sign(sk, fromHex(v.message))), v.signature, v.name);
  }
  assert.equal(fromHex(VECTORS[3]!.message).length, 1023);
});

Deno.test("verify() accepts the RFC 8032 section 7.1 test vectors", () => {
  for (const v of VECTORS) {
    assert.equal(verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)), true);
  }
});

Deno.test("verify() rejects the RFC 8032 vectors with a wrong message, key or signature", () => {
  for (let i = 0; i < VECTORS.length; i++) {
    const v = VECTORS[i]!;
    const other = VECTORS[(i + 1) % VECTORS.length]!;
    const pk = fromHex(v.publicKey);
    const msg = fromHex(v.message);
    const sig = fromHex(v.signature);
    const longer = new Uint8Array(msg.length + 1);
    longer.set(msg);
    assert.equal(verify(pk, longer, sig), false, `${v.name} longer message`);
    assert.equal(verify(fromHex(other.publicKey), msg, sig), false, `${v.name} other key`);
    assert.equal(verify(pk, msg, fromHex(other.signature)), false, `${v.name} other sig`);
  }
});

Deno.test("generateIdentityKeyPair() makes distinct 32-byte key pairs that sign", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const { publicKey, secretKey } = generateIdentityKeyPair();
    assert.ok(publicKey instanceof Uint8Array && secretKey instanceof Uint8Array);
    assert.equal(publicKey.length, 32);
    assert.equal(secretKey.length, 32);
    assert.deepEqual(publicKeyFromSecret(secretKey), publicKey);
    const msg = randomBytes(i * 37);
    assert.equal(verify(publicKey, msg, sign(secretKey, msg)), true);
    seen.add(toHex(secretKey));
  }
  assert.equal(seen.size, 10);
});

Deno.test("sign() is deterministic and does not modify its inputs", () => {
  const { secretKey } = generateIdentityKeyPair();
  const keyCopy = secretKey.slice();
  const msg = utf8("same message");
  const a = sign(secretKey, msg);
  const b = sign(secretKey, msg);
  assert.equal(a.length, 64);
  assert.deepEqual(a, b);
  assert.deepEqual(secretKey, keyCopy);
  assert.deepEqual(msg, utf8("same message"));
});

Deno.test("verify() rejects a message with any bit flipped", () => {
  const { publicKey, secretKey } = generateIdentityKeyPair();
  const msg = utf8("transfer 10 coins to bob");
  const sig = sign(secretKey, msg);
  for (let i = 0; i < msg.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const m = msg.slice();
      m[i]! ^= 1 << bit;
      assert.equal(verify(publicKey, m, sig), false, `byte ${i} bit ${bit}`);
    }
  }
  assert.equal(verify(publicKey, msg.subarray(1), sig), false);
  assert.equal(verify(publicKey, new Uint8Array(0), sig), false);
});

Deno.test("verify() rejects a signature with any bit flipped", () => {
  const { publicKey, secretKey } = generateIdentityKeyPair();
  const msg = utf8("hello");
  const sig = sign(secretKey, msg);
  for (let i = 0; i < 64; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const s = sig.slice();
      s[i]! ^= 1 << bit;
      assert.equal(verify(publicKey, msg, s), false, `byte ${i} bit ${bit}`);
    }
  }
});

Deno.test("verify() rejects a public key with any bit flipped or another key", () => {
  const { publicKey, secretKey } = generateIdentityKeyPair();
  const msg = utf8("hello");
  const sig = sign(secretKey, msg);
  for (let i = 0; i < 32; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const pk = publicKey.slice();
      pk[i]! ^= 1 << bit;
      assert.equal(verify(pk, msg, sig), false, `byte ${i} bit ${bit}`);
    }
  }
  assert.equal(verify(generateIdentityKeyPair().publicKey, msg, sig), false);
});

Deno.test("verify() returns false for wrong lengths instead of throwing", () => {
  const { publicKey, secretKey } = generateIdentityKeyPair();
  const msg = utf8("hello");
  const sig = sign(secretKey, msg);
  for (const n of [0, 1, 31, 33, 64]) {
    assert.equal(verify(new Uint8Array(n), msg, sig), false, `key of ${n} bytes`);
    const longKey = new Uint8Array(n);
    longKey.set(publicKey.subarray(0, Math.min(n, 32)));
    assert.equal(verify(longKey, msg, sig), false, `truncated key of ${n} bytes`);
  }
  for (const n of [0, 32, 63, 65, 128]) {
    const s = new Uint8Array(n);
    s.set(sig.subarray(0, Math.min(n, 64)));
    assert.equal(verify(publicKey, msg, s), false, `signature of ${n} bytes`);
  }
});

Deno.test("verify() rejects non-canonical S (S + L), all-zero and all-ones signatures", () => {
  const v = VECTORS[0]!;
  const pk = fromHex(v.publicKey);
  const msg = fromHex(v.message);
  const sig = fromHex(v.signature);
  assert.equal(verify(pk, msg, _malleate(sig)), false);
  assert.equal(verify(pk, msg, new Uint8Array(64)), false);
  assert.equal(verify(pk, msg, new Uint8Array(64).fill(0xff)), false);
});

Deno.test("verify() rejects malformed and small-order public keys", () => {
  const msg = utf8("hello");
  // Identity point (y = 1): small order. R = identity, S = 0 satisfies the equation for any
  // message, which is why strict verification refuses small-order keys.
  const identity = new Uint8Array(32);
  identity[0] = 1;
  const forged = new Uint8Array(64);
  forged.set(identity, 0);
  // ZIP-215 rules accept this "signature" of anything; RFC 8032-strict ones must not.
  assert.equal(ed25519.verify(forged, msg, identity, { zip215: true }), true);
  assert.equal(verify(identity, msg, forged), false);
  // y = p, a non-canonical encoding of y = 0 (itself a small-order point).
  const yEqualsP = fromHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  // y = 2, which is not on the curve.
  const notOnCurve = new Uint8Array(32);
  notOnCurve[0] = 2;
  const { secretKey } = generateIdentityKeyPair();
  const sig = sign(secretKey, msg);
  for (
    const pk of [identity, yEqualsP, notOnCurve, new Uint8Array(32), new Uint8Array(32).fill(255)]
  ) {
    assert.equal(verify(pk, msg, sig), false, toHex(pk));
    assert.equal(verify(pk, msg, forged), false, toHex(pk));
  }
});

Deno.test("verify() rejects a non-canonical R encoding that ZIP-215 would accept", () => {
  const { publicKey, secretKey } = generateIdentityKeyPair();
  const msg = utf8("hello");
  // R = (sqrt(-1), 0), a point of order 4, encoded with y = p instead of y = 0. With
  // S = k·a mod L the cofactored equation [8]SB = [8]R + [8]kA holds, so only the encoding
  // check stands between this forgery-shaped signature and acceptance.
  const r = fromHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  const a = ed25519.utils.getExtendedPublicKey(secretKey).scalar;
  const k = _leToBigInt(sha512(concat(r, publicKey, msg))) % L;
  const sig = concat(r, _bigIntToLe((k * a) % L, 32));
  assert.equal(ed25519.verify(sig, msg, publicKey, { zip215: true }), true);
  assert.equal(verify(publicKey, msg, sig), false);
});

Deno.test("sign() rejects malformed arguments with TypeError or RangeError", () => {
  const { secretKey } = generateIdentityKeyPair();
  for (const n of [0, 31, 33, 64]) {
    assert.throws(() => sign(new Uint8Array(n), utf8("x")), RangeError, `${n} bytes`);
  }
  assert.throws(() => sign(toHex(secretKey) as unknown as Uint8Array, utf8("x")), TypeError);
  assert.throws(() => sign(Array.from(secretKey) as unknown as Uint8Array, utf8("x")), TypeError);
  assert.throws(() => sign(secretKey, "x" as unknown as Uint8Array), TypeError);
  assert.throws(() => sign(secretKey, null as unknown as Uint8Array), TypeError);
  assert.throws(() => publicKeyFromSecret(new Uint8Array(31)), RangeError);
});

Deno.test("verify() rejects arguments that are not Uint8Array with TypeError", () => {
  const { publicKey, secretKey } = generateIdentityKeyPair();
  const msg = utf8("x");
  const sig = sign(secretKey, msg);
  const bad = [undefined, null, "x", 1, [1, 2, 3], new ArrayBuffer(32)];
  for (const b of bad) {
    assert.throws(() => verify(b as unknown as Uint8Array, msg, sig), TypeError);
    assert.throws(() => verify(publicKey, b as unknown as Uint8Array, sig), TypeError);
    assert.throws(() => verify(publicKey, msg, b as unknown as Uint8Array), TypeError);
  }
});
