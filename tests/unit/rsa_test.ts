import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  bigIntToBytes,
  bitLength,
  bytesToBigInt,
  lcm,
  modInverse,
} from "../../core/crypto/bigint.ts";
import { fromHex, utf8 } from "../../core/crypto/bytes.ts";
import { CryptoError, DecryptionError } from "../../core/crypto/errors.ts";
import { generateProbablePrime, isProbablePrime } from "../../core/crypto/prime.ts";
import { rsaDecrypt, rsaEncrypt, rsaMaxMessageLength } from "../../core/crypto/rsa.ts";
import {
  generateRsaKeyPair,
  RSA_PUBLIC_EXPONENT,
  rsaPrivateKeyFromPrimes,
} from "../../core/crypto/rsa_keygen.ts";
import {
  assertRsaPrivateKey,
  assertRsaPublicKey,
  rsadp,
  rsaep,
  rsaModulusLength,
  rsasp1,
  rsavp1,
} from "../../core/crypto/rsa_primitive.ts";
import { rsaSign, rsaVerify } from "../../core/crypto/rsa_sign.ts";
import type { RsaPadding, RsaPrivateKey, RsaPublicKey } from "../../core/crypto/rsa_types.ts";

// Most tests use 1024-bit keys for speed; a few run at 2048 bits, the size FastChat uses.
const KEY_1024 = generateRsaKeyPair(1024);
const KEY_1024_OTHER = generateRsaKeyPair(1024);
const KEY_2048 = generateRsaKeyPair(2048);
const PADDINGS: RsaPadding[] = ["oaep", "pkcs1v15"];

// Fixed 1024-bit test key from tests/testdata/rsa/rsa1024.json (made by Python
// `cryptography`), and answers that Python computed with it.
const KAT_KEY = rsaPrivateKeyFromPrimes(
  BigInt(
    "0xf08b3d68c84a6d379acc3ab3a7fe1a042e26dfa3b265bc20795b98f0db2cde89f96d683fcb9e9b20ef8ecf5" +
      "51bb8e44ca52507030a660820ef9f406fcff2a513",
  ),
  BigInt(
    "0xea8a9f9d55dd5f72443a4720554e87ca8e2aaa34384ca074e8c481ad7119d536f3019b632af6e1f2a7b8afc" +
      "9e906e149f9911ede957cab450a4d78cee101c15d",
  ),
  65537n,
  BigInt(
    "0xbde8814d757d489838409af209cf76ce9c2c2c315c5e083d5d219401f93bb357abafbb65cd88a28cecf05e4" +
      "4b67a8ff9e2dad4b4d687a64a30eaf0cb3616e9e41154b34f6fb19863cb800d6f3aa112d4289e2c1ead7b8c" +
      "5d6e387e7e985ecdcd42c259edc1401aec523760766d9b0ec5c1d8fdd5a125ff8214fc0ad4630574a9",
  ),
);
const KAT_N = "dc61872b32c6fae39acf3c2ff1b80735309c55c55ad7ba2bd7124bb5317e7ed222acb17b6ec63ee5" +
  "cae36f2181b2e7b80774998ec5939ec451da4423f355de40047e3cf5e29d6bed511fd52540a109c814257fd6a5" +
  "4fba55a256d8f43aa18fddc6244e04ca4e1f44b97aafa0b073954e87c036db0ae728e019fb84b6d1ac4ae7";
// priv.sign(b"FastChat known-answer test", PKCS1v15(), SHA256()); rsa.sign() gives the same.
const KAT_SIGNATURE = "c79dc4c5225e8da0a2355dd5ecc80b63bd4d6e9f63fa1a12e07e14b8780e07d8274cb75b" +
  "6a809f93b52aac51b39c616acb82b9f467aa74594aa649825db71f951aae44d1cf3da23e3443d7a65dd11fecd8" +
  "6e9da83b7906cf06ebd475a673d5f1bedd1882b274d673d506e9019a03a79f4f2932abea85c5efa933d4f6ddaf" +
  "22cd";
// pub.encrypt(b"known answer OAEP", OAEP(MGF1(SHA256()), SHA256(), label=b"fastchat-label")).
const KAT_OAEP = "a2471cc1e3287866964fc7435bc4da491d5a01594480d4cba40b1950f9a8ffbb54ffd041ff7fe1" +
  "6d1dafb2781f4c374cb9abd5607b7f93173196394c45c03f58335ce9d6631998f1202a3a951a88d64bc395b19e7" +
  "d9180727c654953727e37f084b549f236d6c6f9f504cbe5f788326ca05c012d4be9edd4dac9b54011722737";
// rsa.encrypt(b"known answer PKCS1", rsa.PublicKey(n, e)).
const KAT_PKCS1 = "5a3e5c2e0d51c326de717fea2f4b35677b86637f1fc2f0643faa72ae50cae333a959eefdef7f9" +
  "a734f203839f1cdf9468b311e9dc1cf243850c6850c3cde51e5c385dfa9cd7408097a628fefc6bc20c3bfd2aeb6" +
  "e06ee21a8a7211e9ae9a1ebddda46d917bc7a729ba52b558c0993f880da075b158c0ef7cefa0db4f0ada4e2d";

function randomMessage(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

// Runs `fn`, expects a DecryptionError, and returns it.
function decryptionError(fn: () => unknown): DecryptionError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DecryptionError, `expected DecryptionError, got ${caught}`);
  return caught;
}

// ---------------------------------------------------------------------------------------
// Key generation

function checkKeyPair(bits: number, publicKey: RsaPublicKey, privateKey: RsaPrivateKey): void {
  const { n, e, d, p, q, dp, dq, qInv } = privateKey;
  assert.equal(bitLength(n), bits);
  assert.equal(publicKey.n, n);
  assert.equal(e, 65537n);
  assert.equal(publicKey.e, 65537n);
  assert.equal(p * q, n);
  assert.ok(p > q, "p > q");
  assert.equal(bitLength(p), bits / 2);
  assert.equal(bitLength(q), bits / 2);
  // FIPS 186-5 A.1.3: the primes are at least sqrt(2) * 2^(bits/2 - 1) and far apart.
  assert.ok(p >> BigInt(bits / 2 - 2) === 3n && q >> BigInt(bits / 2 - 2) === 3n);
  assert.ok(p - q > 1n << BigInt(bits / 2 - 100), "|p - q| > 2^(bits/2 - 100)");
  const lambda = lcm(p - 1n, q - 1n);
  assert.equal(d * e % lambda, 1n);
  assert.ok(d < lambda);
  assert.ok(d > 1n << BigInt(bits / 2), "d > 2^(bits/2)");
  assert.equal(dp, d % (p - 1n));
  assert.equal(dq, d % (q - 1n));
  assert.equal(qInv * q % p, 1n);
  assert.equal(isProbablePrime(p), true);
  assert.equal(isProbablePrime(q), true);
}

Deno.test("generateRsaKeyPair() makes 1024-bit keys meeting FIPS 186-5 A.1.3", () => {
  checkKeyPair(1024, KEY_1024.publicKey, KEY_1024.privateKey);
  checkKeyPair(1024, KEY_1024_OTHER.publicKey, KEY_1024_OTHER.privateKey);
  for (let i = 0; i < 3; i++) {
    const { publicKey, privateKey } = generateRsaKeyPair(1024);
    checkKeyPair(1024, publicKey, privateKey);
  }
});

Deno.test("generateRsaKeyPair() makes 2048-bit keys meeting FIPS 186-5 A.1.3", () => {
  checkKeyPair(2048, KEY_2048.publicKey, KEY_2048.privateKey);
});

Deno.test("generateRsaKeyPair() makes moduli of exactly the requested size", () => {
  for (const bits of [512, 514, 768, 1026]) {
    const { publicKey, privateKey } = generateRsaKeyPair(bits);
    checkKeyPair(bits, publicKey, privateKey);
  }
});

Deno.test("generateRsaKeyPair() defaults to 2048 bits and e = 65537", () => {
  const { publicKey } = generateRsaKeyPair();
  assert.equal(bitLength(publicKey.n), 2048);
  assert.equal(publicKey.e, RSA_PUBLIC_EXPONENT);
});

Deno.test("generateRsaKeyPair() returns frozen, distinct keys", () => {
  assert.ok(Object.isFrozen(KEY_1024));
  assert.ok(Object.isFrozen(KEY_1024.publicKey));
  assert.ok(Object.isFrozen(KEY_1024.privateKey));
  assert.notEqual(KEY_1024.publicKey.n, KEY_1024_OTHER.publicKey.n);
});

Deno.test("generateRsaKeyPair() rejects sizes that are odd, fractional or out of range", () => {
  for (const bits of [0, 511, 513, 1023, 16386, 1024.5, NaN, Infinity, -2048]) {
    assert.throws(() => generateRsaKeyPair(bits), {
      name: "RangeError",
      message: /Expected an even RSA key size from 512 to 16384 bits/,
    });
  }
  assert.throws(() => generateRsaKeyPair("2048" as unknown as number), RangeError);
});

Deno.test("rsaPrivateKeyFromPrimes() rebuilds the CRT values of a Python key", () => {
  assert.equal(KAT_KEY.n.toString(16), KAT_N);
  assert.equal(
    KAT_KEY.dp.toString(16),
    "bf322df1a7a261059da94fcf956c4849a2558bd595eb7f89606d0a38083eb5f47daa14ff005e6577dc726b" +
      "227f128b84d08f89ef44c8ad1560e1f859e7b43ab9",
  );
  assert.equal(
    KAT_KEY.dq.toString(16),
    "3617d0a64de6679c080654df2d2d967dedfa03155622be23188831cc59b876875cd6730b151ea98ff884cc" +
      "ee49734fc46aedc06bdf98483bfd1b4f108fae82f5",
  );
  assert.equal(
    KAT_KEY.qInv.toString(16),
    "23b938d669a1a0e645c3dfdb587e6d35b81eaf473729c2200aa2b99c5d49684a69ed03af789a804861aca3" +
      "3c433ecd1dd03edd5179f4054491094d9374b20c94",
  );
  assertRsaPrivateKey(KAT_KEY);
});

Deno.test("rsaPrivateKeyFromPrimes() computes d from p, q and e when not given", () => {
  const { p, q, e, d } = KEY_1024.privateKey;
  const rebuilt = rsaPrivateKeyFromPrimes(p, q, e);
  assert.equal(rebuilt.d, d);
  assert.deepEqual({ ...rebuilt }, { ...KEY_1024.privateKey });
  // Swapping the primes swaps the CRT values but still decrypts.
  const swapped = rsaPrivateKeyFromPrimes(q, p, e);
  assert.equal(swapped.qInv, modInverse(p, q));
  const ct = rsaEncrypt(KEY_1024.publicKey, utf8("swap"), "oaep");
  assert.deepEqual(rsaDecrypt(swapped, ct, "oaep"), utf8("swap"));
});

Deno.test("rsaPrivateKeyFromPrimes() rejects inconsistent components", () => {
  const { p, q, e, d } = KEY_1024.privateKey;
  assert.throws(() => rsaPrivateKeyFromPrimes(p, q, e, d + 2n), RangeError);
  assert.throws(() => rsaPrivateKeyFromPrimes(p, p, e), RangeError);
  assert.throws(() => rsaPrivateKeyFromPrimes(p, q + 1n, e), RangeError);
  assert.throws(() => rsaPrivateKeyFromPrimes(p, q, 4n), RangeError);
  assert.throws(() => rsaPrivateKeyFromPrimes(p, q, 1 as unknown as bigint), TypeError);
});

// ---------------------------------------------------------------------------------------
// Primitives and key checks

Deno.test("rsadp() inverts rsaep() and rsavp1() inverts rsasp1()", () => {
  const { publicKey, privateKey } = KEY_1024;
  for (const m of [0n, 1n, 2n, publicKey.n - 1n, bytesToBigInt(randomMessage(100))]) {
    assert.equal(rsadp(privateKey, rsaep(publicKey, m)), m);
    assert.equal(rsavp1(publicKey, rsasp1(privateKey, m)), m);
  }
});

Deno.test("rsadp() stays correct across blinding refreshes and copied keys", () => {
  const { publicKey, privateKey } = KEY_1024;
  const m = bytesToBigInt(randomMessage(64));
  const c = rsaep(publicKey, m);
  // More than the 32 uses after which the cached blinding pair is replaced.
  for (let i = 0; i < 70; i++) assert.equal(rsadp(privateKey, c), m);
  assert.equal(rsadp({ ...privateKey }, c), m);
});

Deno.test("rsaep() and rsadp() throw RangeError for representatives out of range", () => {
  const { publicKey, privateKey } = KEY_1024;
  assert.throws(() => rsaep(publicKey, publicKey.n), RangeError);
  assert.throws(() => rsaep(publicKey, -1n), RangeError);
  assert.throws(() => rsadp(privateKey, privateKey.n), {
    name: "RangeError",
    message: "Ciphertext representative out of range",
  });
  assert.throws(() => rsavp1(publicKey, publicKey.n + 5n), RangeError);
  assert.throws(() => rsasp1(privateKey, privateKey.n), RangeError);
});

Deno.test("rsadp() refuses to return a result that fails the fault check", () => {
  // A "key" whose p is secretly composite passes the cheap key checks, but its CRT half
  // computes garbage: exactly what a hardware fault looks like.
  const e = 65537n;
  for (;;) {
    const p = generateProbablePrime(130) * generateProbablePrime(130);
    const q = generateProbablePrime(256);
    let dp: bigint;
    let dq: bigint;
    try {
      dp = modInverse(e, p - 1n);
      dq = modInverse(e, q - 1n);
    } catch {
      continue;
    }
    const n = p * q;
    const key = { n, e, d: dq, p, q, dp, dq, qInv: modInverse(q, p) };
    assertRsaPrivateKey(key);
    assert.throws(() => rsadp(key, 12345n), (error: unknown) => {
      assert.ok(error instanceof CryptoError);
      assert.equal(error.code, "rsa_fault");
      return true;
    });
    return;
  }
});

Deno.test("assertRsaPublicKey() rejects malformed public keys", () => {
  const { n, e } = KEY_1024.publicKey;
  assert.throws(() => assertRsaPublicKey(null), TypeError);
  assert.throws(() => assertRsaPublicKey("key"), TypeError);
  assert.throws(() => assertRsaPublicKey({ n: Number(n), e }), {
    name: "TypeError",
    message: "Expected publicKey.n to be a bigint, got number",
  });
  assert.throws(() => assertRsaPublicKey({ n, e: 65537 }), TypeError);
  assert.throws(() => assertRsaPublicKey({ n: n + 1n, e }), RangeError);
  assert.throws(() => assertRsaPublicKey({ n: (1n << 300n) + 1n, e }), RangeError);
  assert.throws(() => assertRsaPublicKey({ n, e: 1n }), RangeError);
  assert.throws(() => assertRsaPublicKey({ n, e: 65536n }), RangeError);
  assert.throws(() => assertRsaPublicKey({ n, e: n }), RangeError);
  assertRsaPublicKey({ n, e });
});

Deno.test("assertRsaPrivateKey() rejects inconsistent private keys", () => {
  const key = KEY_1024.privateKey;
  assert.throws(() => assertRsaPrivateKey(KEY_1024.publicKey), TypeError);
  assert.throws(() => assertRsaPrivateKey({ ...key, p: key.p + 2n }), RangeError);
  assert.throws(() => assertRsaPrivateKey({ ...key, d: 0n }), RangeError);
  assert.throws(() => assertRsaPrivateKey({ ...key, dp: key.dp + 1n }), RangeError);
  assert.throws(() => assertRsaPrivateKey({ ...key, dq: key.dq + 1n }), RangeError);
  assert.throws(() => assertRsaPrivateKey({ ...key, qInv: key.qInv + 1n }), {
    name: "RangeError",
    message: "Expected privateKey.qInv to be the inverse of q modulo p",
  });
  assertRsaPrivateKey(key);
});

Deno.test("rsaModulusLength() returns k in bytes", () => {
  assert.equal(rsaModulusLength(KEY_1024.publicKey), 128);
  assert.equal(rsaModulusLength(KEY_2048.publicKey), 256);
});

// ---------------------------------------------------------------------------------------
// Encryption: rsaEncrypt() / rsaDecrypt()

Deno.test("rsaMaxMessageLength() gives k - 66 for OAEP and k - 11 for PKCS#1 v1.5", () => {
  assert.equal(rsaMaxMessageLength(KEY_2048.publicKey, "oaep"), 190);
  assert.equal(rsaMaxMessageLength(KEY_2048.publicKey, "pkcs1v15"), 245);
  assert.equal(rsaMaxMessageLength(KEY_1024.publicKey, "oaep"), 62);
  assert.equal(rsaMaxMessageLength(KEY_1024.publicKey, "pkcs1v15"), 117);
});

Deno.test("rsaMaxMessageLength() throws RangeError for OAEP with a 512-bit key", () => {
  const { publicKey } = generateRsaKeyPair(512);
  assert.equal(rsaMaxMessageLength(publicKey, "pkcs1v15"), 53);
  assert.throws(() => rsaMaxMessageLength(publicKey, "oaep"), {
    name: "RangeError",
    message: /too small for OAEP/,
  });
  assert.throws(() => rsaEncrypt(publicKey, new Uint8Array(1), "oaep"), RangeError);
  assert.throws(() => rsaMaxMessageLength(publicKey, "raw" as RsaPadding), TypeError);
});

for (const padding of PADDINGS) {
  Deno.test(`rsaEncrypt() and rsaDecrypt() round-trip with ${padding} at 1024 bits`, () => {
    const { publicKey, privateKey } = KEY_1024;
    for (const length of [0, 1, 16, 32, 50, rsaMaxMessageLength(publicKey, padding)]) {
      const message = randomMessage(length);
      const ct = rsaEncrypt(publicKey, message, padding);
      assert.equal(ct.length, 128);
      assert.deepEqual(rsaDecrypt(privateKey, ct, padding), message);
    }
  });

  Deno.test(`rsaEncrypt() and rsaDecrypt() round-trip with ${padding} at 2048 bits`, () => {
    const { publicKey, privateKey } = KEY_2048;
    const max = padding === "oaep" ? 190 : 245;
    for (const message of [new Uint8Array(0), utf8("hello"), randomMessage(max)]) {
      const ct = rsaEncrypt(publicKey, message, padding);
      assert.equal(ct.length, 256);
      assert.deepEqual(rsaDecrypt(privateKey, ct, padding), message);
    }
  });

  Deno.test(`rsaEncrypt() is randomized with ${padding}`, () => {
    const message = utf8("same message");
    const a = rsaEncrypt(KEY_1024.publicKey, message, padding);
    const b = rsaEncrypt(KEY_1024.publicKey, message, padding);
    assert.notDeepEqual(a, b);
  });

  Deno.test(`rsaEncrypt() throws RangeError naming the maximum one byte over it (${padding})`, () => {
    const max = padding === "oaep" ? 190 : 245;
    const name = padding === "oaep" ? "OAEP" : "PKCS#1 v1.5";
    assert.throws(() => rsaEncrypt(KEY_2048.publicKey, new Uint8Array(max + 1), padding), {
      name: "RangeError",
      message: new RegExp(
        `Message too long for RSA-2048 with ${name}.*at most ${max} bytes, got ${max + 1}`,
      ),
    });
  });

  Deno.test(`rsaDecrypt() rejects a ciphertext for another key (${padding})`, () => {
    const ct = rsaEncrypt(KEY_1024.publicKey, utf8("secret"), padding);
    decryptionError(() => rsaDecrypt(KEY_1024_OTHER.privateKey, ct, padding));
  });

  Deno.test(`rsaDecrypt() rejects a ciphertext with a flipped byte (${padding})`, () => {
    const ct = rsaEncrypt(KEY_1024.publicKey, utf8("secret"), padding);
    for (const position of [1, 2, 10, 64, 100, 127]) {
      for (const bit of [0x01, 0x80]) {
        const tampered = ct.slice();
        tampered[position]! ^= bit;
        if (bytesToBigInt(tampered) >= KEY_1024.publicKey.n) continue;
        decryptionError(() => rsaDecrypt(KEY_1024.privateKey, tampered, padding));
      }
    }
  });

  Deno.test(`rsaDecrypt() rejects ciphertexts that are not below n (${padding})`, () => {
    const { n } = KEY_1024.publicKey;
    for (const c of [n, n + 1n, (1n << 1024n) - 1n]) {
      decryptionError(() => rsaDecrypt(KEY_1024.privateKey, bigIntToBytes(c, 128), padding));
    }
  });

  Deno.test(`rsaDecrypt() rejects ciphertexts of the wrong length (${padding})`, () => {
    const ct = rsaEncrypt(KEY_1024.publicKey, utf8("secret"), padding);
    const longer = new Uint8Array(129);
    longer.set(ct, 1); // Same integer, one leading zero byte more.
    for (const bad of [new Uint8Array(0), ct.subarray(1), ct.subarray(0, 127), longer]) {
      decryptionError(() => rsaDecrypt(KEY_1024.privateKey, bad, padding));
    }
  });

  Deno.test(`rsaDecrypt() rejects random ciphertexts (${padding})`, () => {
    for (let i = 0; i < 20; i++) {
      const c = bytesToBigInt(randomMessage(128)) % KEY_1024.publicKey.n;
      decryptionError(() => rsaDecrypt(KEY_1024.privateKey, bigIntToBytes(c, 128), padding));
    }
  });
}

Deno.test("rsaEncrypt() binds an OAEP label that rsaDecrypt() must match", () => {
  const { publicKey, privateKey } = KEY_2048;
  const label = utf8("fastchat/session-key");
  const ct = rsaEncrypt(publicKey, utf8("key material"), "oaep", label);
  assert.deepEqual(rsaDecrypt(privateKey, ct, "oaep", label), utf8("key material"));
  decryptionError(() => rsaDecrypt(privateKey, ct, "oaep"));
  decryptionError(() => rsaDecrypt(privateKey, ct, "oaep", utf8("fastchat/session-kez")));
  // An explicit empty label is the default label.
  const plain = rsaEncrypt(publicKey, utf8("x"), "oaep");
  assert.deepEqual(rsaDecrypt(privateKey, plain, "oaep", new Uint8Array(0)), utf8("x"));
  decryptionError(() => rsaDecrypt(privateKey, plain, "oaep", utf8("label")));
});

Deno.test("rsaDecrypt() throws the same error message for every failure", () => {
  const { publicKey, privateKey } = KEY_1024;
  const messages = new Set<string>();
  const codes = new Set<string>();
  const record = (fn: () => unknown) => {
    const error = decryptionError(fn);
    messages.add(error.message);
    codes.add(error.code);
  };
  for (const padding of PADDINGS) {
    const label = padding === "oaep" ? utf8("L") : undefined;
    const ct = rsaEncrypt(publicKey, utf8("secret"), padding, label);
    const flipped = ct.slice();
    flipped[50]! ^= 0x10;
    record(() => rsaDecrypt(privateKey, flipped, padding, label));
    record(() => rsaDecrypt(KEY_1024_OTHER.privateKey, ct, padding, label));
    record(() => rsaDecrypt(privateKey, ct.subarray(1), padding, label));
    record(() => rsaDecrypt(privateKey, bigIntToBytes(publicKey.n, 128), padding, label));
    record(() => rsaDecrypt(privateKey, new Uint8Array(128), padding, label));
    if (padding === "oaep") record(() => rsaDecrypt(privateKey, ct, padding, utf8("M")));
  }
  assert.deepEqual([...messages], ["RSA decryption failed"]);
  assert.deepEqual([...codes], ["decryption_failed"]);
});

// Encrypts a hand-made PKCS#1 v1.5 block with the raw primitive.
function rawPkcs1Block(build: (em: Uint8Array) => void): Uint8Array {
  const em = new Uint8Array(128).fill(0x5a);
  build(em);
  return bigIntToBytes(rsaep(KEY_1024.publicKey, bytesToBigInt(em)), 128);
}

Deno.test("rsaDecrypt() checks every part of the PKCS#1 v1.5 block", () => {
  const { privateKey } = KEY_1024;
  // Well-formed: 00 02, 8 non-zero PS bytes, 00, message.
  const ok = rawPkcs1Block((em) => {
    em[0] = 0x00;
    em[1] = 0x02;
    em[10] = 0x00;
  });
  assert.deepEqual(rsaDecrypt(privateKey, ok, "pkcs1v15"), new Uint8Array(117).fill(0x5a));
  const bad = [
    // PS of 7 bytes.
    (em: Uint8Array) => {
      em[0] = 0x00;
      em[1] = 0x02;
      em[9] = 0x00;
    },
    // Block type 1 (signature padding).
    (em: Uint8Array) => {
      em[0] = 0x00;
      em[1] = 0x01;
      em[10] = 0x00;
    },
    // Leading byte not zero.
    (em: Uint8Array) => {
      em[0] = 0x01;
      em[1] = 0x02;
      em[10] = 0x00;
    },
    // No zero separator at all.
    (em: Uint8Array) => {
      em[0] = 0x00;
      em[1] = 0x02;
    },
  ];
  for (const build of bad) {
    decryptionError(() => rsaDecrypt(privateKey, rawPkcs1Block(build), "pkcs1v15"));
  }
  // A separator as the very last byte is a valid, empty message.
  const empty = rawPkcs1Block((em) => {
    em[0] = 0x00;
    em[1] = 0x02;
    em[127] = 0x00;
  });
  assert.deepEqual(rsaDecrypt(privateKey, empty, "pkcs1v15"), new Uint8Array(0));
});

Deno.test("rsaDecrypt() decrypts known-answer ciphertexts from Python", () => {
  assert.deepEqual(
    rsaDecrypt(KAT_KEY, fromHex(KAT_OAEP), "oaep", utf8("fastchat-label")),
    utf8("known answer OAEP"),
  );
  assert.deepEqual(rsaDecrypt(KAT_KEY, fromHex(KAT_PKCS1), "pkcs1v15"), utf8("known answer PKCS1"));
  decryptionError(() => rsaDecrypt(KAT_KEY, fromHex(KAT_OAEP), "oaep"));
});

Deno.test("rsaEncrypt() rejects a label with PKCS#1 v1.5 padding", () => {
  assert.throws(() => rsaEncrypt(KEY_1024.publicKey, utf8("x"), "pkcs1v15", utf8("L")), {
    name: "TypeError",
    message: /only allowed with "oaep"/,
  });
  const ct = rsaEncrypt(KEY_1024.publicKey, utf8("x"), "pkcs1v15");
  assert.throws(() => rsaDecrypt(KEY_1024.privateKey, ct, "pkcs1v15", utf8("L")), TypeError);
});

Deno.test("rsaEncrypt() and rsaDecrypt() reject arguments of the wrong type", () => {
  const { publicKey, privateKey } = KEY_1024;
  const ct = rsaEncrypt(publicKey, utf8("x"), "oaep");
  assert.throws(() => rsaEncrypt(publicKey, "x" as unknown as Uint8Array, "oaep"), {
    name: "TypeError",
    message: "Expected message to be a Uint8Array, got string",
  });
  assert.throws(() => rsaEncrypt(publicKey, utf8("x"), "OAEP" as RsaPadding), {
    name: "TypeError",
    message: 'Expected padding to be "oaep" or "pkcs1v15", got "OAEP"',
  });
  assert.throws(() => rsaEncrypt(publicKey, utf8("x"), undefined as unknown as RsaPadding), {
    name: "TypeError",
  });
  assert.throws(() => rsaEncrypt(publicKey, utf8("x"), "oaep", "L" as unknown as Uint8Array), {
    name: "TypeError",
  });
  assert.throws(() => rsaEncrypt(null as unknown as RsaPublicKey, utf8("x"), "oaep"), TypeError);
  assert.throws(() => rsaDecrypt(publicKey as RsaPrivateKey, ct, "oaep"), TypeError);
  assert.throws(() => rsaDecrypt(privateKey, [...ct] as unknown as Uint8Array, "oaep"), TypeError);
  assert.throws(
    () => rsaDecrypt({ ...privateKey, qInv: 1n }, ct, "oaep"),
    RangeError,
  );
});

// ---------------------------------------------------------------------------------------
// Signatures: rsaSign() / rsaVerify()

Deno.test("rsaSign() matches a known-answer signature from Python", () => {
  const message = utf8("FastChat known-answer test");
  assert.deepEqual(rsaSign(KAT_KEY, message), fromHex(KAT_SIGNATURE));
  assert.equal(rsaVerify(KAT_KEY, message, fromHex(KAT_SIGNATURE)), true);
});

Deno.test("rsaSign() and rsaVerify() round-trip at 1024 and 2048 bits", () => {
  for (const { publicKey, privateKey } of [KEY_1024, KEY_2048]) {
    for (const message of [new Uint8Array(0), utf8("hello"), randomMessage(5000)]) {
      const signature = rsaSign(privateKey, message);
      assert.equal(signature.length, rsaModulusLength(publicKey));
      assert.equal(rsaVerify(publicKey, message, signature), true);
    }
  }
});

Deno.test("rsaSign() is deterministic", () => {
  const message = utf8("same");
  assert.deepEqual(rsaSign(KEY_1024.privateKey, message), rsaSign(KEY_1024.privateKey, message));
});

Deno.test("rsaVerify() rejects a tampered message", () => {
  const message = utf8("pay alice 10");
  const signature = rsaSign(KEY_1024.privateKey, message);
  assert.equal(rsaVerify(KEY_1024.publicKey, utf8("pay alice 11"), signature), false);
  assert.equal(rsaVerify(KEY_1024.publicKey, utf8(""), signature), false);
});

Deno.test("rsaVerify() rejects a signature with a flipped bit", () => {
  const message = utf8("hello");
  const signature = rsaSign(KEY_1024.privateKey, message);
  for (const position of [0, 1, 63, 64, 126, 127]) {
    const tampered = signature.slice();
    tampered[position]! ^= 0x01;
    assert.equal(rsaVerify(KEY_1024.publicKey, message, tampered), false);
  }
});

Deno.test("rsaVerify() returns false for wrong-length, out-of-range and foreign signatures", () => {
  const { publicKey, privateKey } = KEY_1024;
  const message = utf8("hello");
  const signature = rsaSign(privateKey, message);
  const longer = new Uint8Array(129);
  longer.set(signature, 1);
  assert.equal(rsaVerify(publicKey, message, longer), false);
  assert.equal(rsaVerify(publicKey, message, signature.subarray(1)), false);
  assert.equal(rsaVerify(publicKey, message, new Uint8Array(0)), false);
  assert.equal(rsaVerify(publicKey, message, new Uint8Array(128)), false);
  assert.equal(rsaVerify(publicKey, message, bigIntToBytes(publicKey.n, 128)), false);
  assert.equal(rsaVerify(publicKey, message, new Uint8Array(128).fill(0xff)), false);
  assert.equal(rsaVerify(KEY_1024_OTHER.publicKey, message, signature), false);
});

// Signs a hand-made encoded block with the raw primitive.
function rawSignature(em: Uint8Array): Uint8Array {
  return bigIntToBytes(rsasp1(KEY_1024.privateKey, bytesToBigInt(em)), 128);
}

Deno.test("rsaVerify() rejects encodings other than the one exact EMSA-PKCS1-v1_5 block", () => {
  const message = utf8("hello");
  const hash = sha256(message);
  const prefix = fromHex("3031300d060960864801650304020105000420");
  const block = (digestInfo: Uint8Array, psLength: number, trailer = new Uint8Array(0)) => {
    const em = new Uint8Array(128);
    em[1] = 0x01;
    em.fill(0xff, 2, 2 + psLength);
    em.set(digestInfo, 3 + psLength);
    em.set(trailer, 3 + psLength + digestInfo.length);
    return em;
  };
  const digestInfo = new Uint8Array([...prefix, ...hash]);
  // The correct block verifies.
  assert.equal(rsaVerify(KEY_1024.publicKey, message, rawSignature(block(digestInfo, 74))), true);
  // DigestInfo without the NULL parameters (accepted by some lenient verifiers).
  const noNull = new Uint8Array([
    ...fromHex("302f300b0609608648016503040201" + "0420"),
    ...hash,
  ]);
  assert.equal(rsaVerify(KEY_1024.publicKey, message, rawSignature(block(noNull, 76))), false);
  // Bleichenbacher 2006: short padding, garbage after the hash.
  const garbage = block(digestInfo, 8, new Uint8Array(66).fill(0x42));
  assert.equal(rsaVerify(KEY_1024.publicKey, message, rawSignature(garbage)), false);
  // A PS byte other than 0xff.
  const badPs = block(digestInfo, 74);
  badPs[20] = 0xfe;
  assert.equal(rsaVerify(KEY_1024.publicKey, message, rawSignature(badPs)), false);
  // Block type 2 (encryption padding).
  const type2 = block(digestInfo, 74);
  type2[1] = 0x02;
  assert.equal(rsaVerify(KEY_1024.publicKey, message, rawSignature(type2)), false);
});

Deno.test("rsaVerify() throws TypeError only for arguments of the wrong type", () => {
  const { publicKey, privateKey } = KEY_1024;
  const signature = rsaSign(privateKey, utf8("x"));
  assert.throws(() => rsaVerify(publicKey, "x" as unknown as Uint8Array, signature), TypeError);
  assert.throws(() => rsaVerify(publicKey, utf8("x"), null as unknown as Uint8Array), TypeError);
  assert.throws(() => rsaVerify({} as RsaPublicKey, utf8("x"), signature), TypeError);
  assert.throws(() => rsaSign(publicKey as RsaPrivateKey, utf8("x")), TypeError);
  assert.throws(() => rsaSign(privateKey, [1, 2] as unknown as Uint8Array), TypeError);
});
