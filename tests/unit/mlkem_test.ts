import assert from "node:assert/strict";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import {
  ML_KEM_768_CIPHERTEXT_BYTES,
  ML_KEM_768_PUBLIC_KEY_BYTES,
  ML_KEM_768_SECRET_KEY_BYTES,
  ML_KEM_768_SHARED_SECRET_BYTES,
  mlKem768Decapsulate,
  mlKem768Encapsulate,
  mlKem768KeyPair,
} from "../../core/crypto/mlkem.ts";
import { fromHex, toHex } from "../../core/crypto/bytes.ts";
import { KeyFormatError } from "../../core/crypto/errors.ts";

interface Case {
  tcId: number;
  comment?: string;
  flags?: string[];
  result: "valid" | "invalid";
  [field: string]: unknown;
}

interface Wycheproof {
  algorithm: string;
  testGroups: { parameterSet: string; tests: Case[] }[];
}

async function _cases(file: string): Promise<Case[]> {
  const url = new URL(`../testdata/mlkem/${file}`, import.meta.url);
  const data = JSON.parse(await Deno.readTextFile(url)) as Wycheproof;
  assert.equal(data.algorithm, "ML-KEM");
  for (const g of data.testGroups) assert.equal(g.parameterSet, "ML-KEM-768");
  return data.testGroups.flatMap((g) => g.tests);
}

function _hex(t: Case, field: string): Uint8Array {
  return fromHex(t[field] as string);
}

function _label(t: Case): string {
  return `tcId ${t.tcId} ${t.comment ?? ""} ${(t.flags ?? []).join(",")}`;
}

const KEYGEN = await _cases("wycheproof_mlkem_768_keygen_seed_test.json");
const ENCAPS = await _cases("wycheproof_mlkem_768_encaps_test.json");
const DECAPS = await _cases("wycheproof_mlkem_768_test.json");
const SEMI_EXPANDED = await _cases("wycheproof_mlkem_768_semi_expanded_decaps_test.json");

Deno.test("mlKem768KeyPair(seed) reproduces the Wycheproof key-generation vectors", () => {
  assert.ok(KEYGEN.length >= 4);
  for (const t of KEYGEN) {
    const { publicKey, secretKey } = mlKem768KeyPair(_hex(t, "seed"));
    assert.equal(toHex(publicKey), t.ek, _label(t));
    assert.equal(toHex(secretKey), t.dk, _label(t));
  }
});

Deno.test("mlKem768Encapsulate(pk, m) reproduces the Wycheproof encapsulation vectors", () => {
  const valid = ENCAPS.filter((t) => t.result === "valid");
  assert.ok(valid.length >= 10);
  for (const t of valid) {
    const { cipherText, sharedSecret } = mlKem768Encapsulate(_hex(t, "ek"), _hex(t, "m"));
    assert.equal(toHex(cipherText), t.c, _label(t));
    assert.equal(toHex(sharedSecret), t.K, _label(t));
  }
});

Deno.test("mlKem768Encapsulate() refuses public keys that fail the FIPS 203 modulus check", () => {
  const unreduced = ENCAPS.filter((t) =>
    t.flags?.includes("ModulusOverflow") || t.comment === "Public key not reduced"
  );
  assert.equal(unreduced.length, 14);
  for (const t of unreduced) {
    assert.equal(t.result, "invalid");
    const ek = _hex(t, "ek");
    assert.equal(ek.length, ML_KEM_768_PUBLIC_KEY_BYTES);
    assert.throws(
      () => mlKem768Encapsulate(ek, _hex(t, "m")),
      (e) =>
        e instanceof KeyFormatError && e.code === "bad_key_format" && /not reduced/.test(e.message),
      _label(t),
    );
    // noble makes the same check, so our own one is a second line, not the only one.
    assert.throws(() => ml_kem768.encapsulate(ek, _hex(t, "m")), /modulus/, _label(t));
  }
});

Deno.test("mlKem768Encapsulate() refuses public keys of the wrong length", () => {
  const badLength = ENCAPS.filter((t) => /Public key is too (short|long)/.test(t.comment ?? ""));
  assert.equal(badLength.length, 4);
  for (const t of badLength) {
    assert.throws(() => mlKem768Encapsulate(_hex(t, "ek"), _hex(t, "m")), RangeError, _label(t));
  }
});

Deno.test("mlKem768Decapsulate() reproduces the Wycheproof decapsulation vectors, implicit rejection included", () => {
  const valid = DECAPS.filter((t) => t.result === "valid");
  const rejected = valid.filter((t) => /Random ciphertext|Bit flipped/.test(t.comment ?? ""));
  assert.equal(rejected.length, 4);
  assert.ok(valid.some((t) => t.flags?.includes("Strcmp")));
  for (const t of valid) {
    const { publicKey, secretKey } = mlKem768KeyPair(_hex(t, "seed"));
    assert.equal(toHex(publicKey), t.ek, _label(t));
    assert.equal(toHex(mlKem768Decapsulate(_hex(t, "c"), secretKey)), t.K, _label(t));
  }
});

Deno.test("ML-KEM-768 functions refuse seeds and ciphertexts of the wrong length", () => {
  const invalid = DECAPS.filter((t) => t.result === "invalid");
  assert.equal(invalid.length, 8);
  for (const t of invalid) {
    const seed = _hex(t, "seed");
    if (seed.length !== 64) {
      assert.throws(() => mlKem768KeyPair(seed), RangeError, _label(t));
      continue;
    }
    const { secretKey } = mlKem768KeyPair(seed);
    assert.throws(() => mlKem768Decapsulate(_hex(t, "c"), secretKey), RangeError, _label(t));
  }
});

Deno.test("mlKem768Decapsulate() checks the secret key as FIPS 203 section 7.3 says", () => {
  assert.equal(SEMI_EXPANDED.length, 9);
  for (const t of SEMI_EXPANDED) {
    const [c, dk] = [_hex(t, "c"), _hex(t, "dk")];
    if (t.result === "valid") {
      assert.equal(toHex(mlKem768Decapsulate(c, dk)), t.K, _label(t));
    } else if (t.flags?.includes("InvalidDecapsulationKey")) {
      assert.throws(() => mlKem768Decapsulate(c, dk), KeyFormatError, _label(t));
    } else {
      assert.throws(() => mlKem768Decapsulate(c, dk), RangeError, _label(t));
    }
  }
});

Deno.test("ML-KEM-768 round trip: both sides get the same secret, a changed ciphertext a different one", () => {
  const { publicKey, secretKey } = mlKem768KeyPair();
  assert.equal(publicKey.length, ML_KEM_768_PUBLIC_KEY_BYTES);
  assert.equal(secretKey.length, ML_KEM_768_SECRET_KEY_BYTES);
  const { cipherText, sharedSecret } = mlKem768Encapsulate(publicKey);
  assert.equal(cipherText.length, ML_KEM_768_CIPHERTEXT_BYTES);
  assert.equal(sharedSecret.length, ML_KEM_768_SHARED_SECRET_BYTES);
  assert.deepEqual(mlKem768Decapsulate(cipherText, secretKey), sharedSecret);
  assert.notDeepEqual(mlKem768Encapsulate(publicKey).sharedSecret, sharedSecret);

  // Implicit rejection: no error, a 32-byte secret the sender cannot know, the same each time.
  const tampered = cipherText.slice();
  tampered[100]! ^= 1;
  const rejected = mlKem768Decapsulate(tampered, secretKey);
  assert.equal(rejected.length, 32);
  assert.notDeepEqual(rejected, sharedSecret);
  assert.deepEqual(mlKem768Decapsulate(tampered, secretKey), rejected);
  // Another key pair's secret key also decapsulates without an error, to something else.
  const other = mlKem768KeyPair();
  assert.notDeepEqual(mlKem768Decapsulate(cipherText, other.secretKey), sharedSecret);
});

Deno.test("ML-KEM-768 functions check their arguments' types and lengths first", () => {
  const { publicKey, secretKey } = mlKem768KeyPair();
  const { cipherText } = mlKem768Encapsulate(publicKey);
  assert.throws(() => mlKem768KeyPair(new Uint8Array(32)), {
    name: "RangeError",
    message: "Expected seed to be 64 bytes, got 32",
  });
  assert.throws(() => mlKem768Encapsulate(publicKey.subarray(1)), {
    name: "RangeError",
    message: "Expected publicKey to be 1184 bytes, got 1183",
  });
  assert.throws(() => mlKem768Encapsulate(publicKey, new Uint8Array(31)), {
    name: "RangeError",
    message: "Expected random to be 32 bytes, got 31",
  });
  assert.throws(() => mlKem768Encapsulate("pk" as unknown as Uint8Array), TypeError);
  assert.throws(() => mlKem768Decapsulate(cipherText, secretKey.subarray(0, 2399)), {
    name: "RangeError",
    message: "Expected secretKey to be 2400 bytes, got 2399",
  });
  assert.throws(() => mlKem768Decapsulate([...cipherText] as unknown as Uint8Array, secretKey), {
    name: "TypeError",
    message: "Expected cipherText to be a Uint8Array, got Array",
  });
});

Deno.test("mlKem768Encapsulate() refuses a key whose first coefficient is q, made here", () => {
  // The smallest unreduced key: coefficient 0 = 3329 = 0xd01, the rest of a real key.
  const { publicKey } = mlKem768KeyPair();
  const bad = publicKey.slice();
  bad[0] = 0x01;
  bad[1] = (bad[1]! & 0xf0) | 0x0d;
  assert.throws(() => mlKem768Encapsulate(bad), KeyFormatError);
  // 3328 = q - 1 is the largest coefficient allowed.
  const edge = publicKey.slice();
  edge[0] = 0x00;
  edge[1] = (edge[1]! & 0xf0) | 0x0d;
  assert.equal(mlKem768Encapsulate(edge).cipherText.length, ML_KEM_768_CIPHERTEXT_BYTES);
});
