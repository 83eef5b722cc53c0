import assert from "node:assert/strict";
import {
  HKDF_SHA256_MAX_LENGTH,
  HKDF_SHA512_MAX_LENGTH,
  hkdfExpandSha256,
  hkdfExpandSha512,
  hkdfExtractSha256,
  hkdfExtractSha512,
  hkdfSha256,
  hkdfSha512,
} from "../../core/crypto/hkdf.ts";
import { fromHex, toHex, utf8 } from "../../core/crypto/bytes.ts";

interface Vector {
  name: string;
  hash: string;
  ikm: string;
  salt: string;
  info: string;
  length: number;
  prk: string;
  okm: string;
}

const VECTORS = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/hkdf/rfc5869.json", import.meta.url)),
) as Vector[];

Deno.test("hkdfSha256() reproduces PRK and OKM of RFC 5869 test cases 1, 2 and 3", () => {
  assert.deepEqual(VECTORS.map((v) => v.name.slice(0, 17)), [
    "A.1. Test Case 1 ",
    "A.2. Test Case 2 ",
    "A.3. Test Case 3 ",
  ]);
  for (const v of VECTORS) {
    assert.equal(v.hash, "SHA-256");
    const [ikm, salt, info] = [fromHex(v.ikm), fromHex(v.salt), fromHex(v.info)];
    const prk = hkdfExtractSha256(salt, ikm);
    assert.equal(toHex(prk), v.prk, v.name);
    assert.equal(toHex(hkdfExpandSha256(prk, info, v.length)), v.okm, v.name);
    assert.equal(toHex(hkdfSha256(ikm, salt, info, v.length)), v.okm, v.name);
  }
});

Deno.test("hkdfSha256() with an empty salt equals a salt of 32 zero bytes (RFC 5869 section 2.2)", () => {
  const v = VECTORS[2]!;
  assert.equal(v.salt, "");
  const zeros = new Uint8Array(32);
  assert.equal(toHex(hkdfExtractSha256(zeros, fromHex(v.ikm))), v.prk);
  assert.equal(toHex(hkdfSha256(fromHex(v.ikm), zeros, new Uint8Array(0), v.length)), v.okm);
});

Deno.test("hkdfSha512() is extract then expand with SHA-512 and differs from SHA-256", () => {
  const ikm = utf8("input keying material");
  const salt = utf8("salt");
  const info = utf8("FastChat test");
  const prk = hkdfExtractSha512(salt, ikm);
  assert.equal(prk.length, 64);
  const okm = hkdfSha512(ikm, salt, info, 100);
  assert.equal(okm.length, 100);
  assert.deepEqual(hkdfExpandSha512(prk, info, 100), okm);
  // Expand is a prefix construction: a shorter output is the start of a longer one.
  assert.deepEqual(hkdfSha512(ikm, salt, info, 10), okm.subarray(0, 10));
  assert.notDeepEqual(hkdfSha256(ikm, salt, info, 100), okm);
});

Deno.test("hkdf functions accept exactly 1 to 255 * HashLen bytes of output", () => {
  const ikm = new Uint8Array(32).fill(1);
  const none = new Uint8Array(0);
  assert.equal(HKDF_SHA256_MAX_LENGTH, 8160);
  assert.equal(HKDF_SHA512_MAX_LENGTH, 16320);
  assert.equal(hkdfSha256(ikm, none, none, 8160).length, 8160);
  assert.equal(hkdfSha512(ikm, none, none, 16320).length, 16320);
  assert.equal(hkdfSha256(ikm, none, none, 1).length, 1);
  assert.throws(() => hkdfSha256(ikm, none, none, 8161), {
    name: "RangeError",
    message: "Expected length to be between 1 and 8160 bytes, got 8161",
  });
  assert.throws(() => hkdfSha512(ikm, none, none, 16321), {
    name: "RangeError",
    message: "Expected length to be between 1 and 16320 bytes, got 16321",
  });
  assert.throws(() => hkdfSha256(ikm, none, none, 0), RangeError);
  assert.throws(() => hkdfSha256(ikm, none, none, -1), RangeError);
  assert.throws(() => hkdfSha256(ikm, none, none, 1.5), {
    name: "RangeError",
    message: "Expected length to be a whole number of bytes, got 1.5",
  });
  assert.throws(() => hkdfSha256(ikm, none, none, "32" as unknown as number), {
    name: "TypeError",
    message: "Expected length to be a number of bytes, got string",
  });
  assert.throws(() => hkdfExpandSha256(ikm, none, 8161), RangeError);
  assert.throws(() => hkdfExpandSha512(new Uint8Array(64), none, 16321), RangeError);
});

Deno.test("hkdf functions check their byte arguments first", () => {
  const b = new Uint8Array(32);
  assert.throws(() => hkdfSha256("ikm" as unknown as Uint8Array, b, b, 32), {
    name: "TypeError",
    message: "Expected ikm to be a Uint8Array, got string",
  });
  assert.throws(() => hkdfSha256(b, undefined as unknown as Uint8Array, b, 32), {
    name: "TypeError",
    message: "Expected salt to be a Uint8Array, got undefined",
  });
  assert.throws(() => hkdfSha512(b, b, [1] as unknown as Uint8Array, 32), {
    name: "TypeError",
    message: "Expected info to be a Uint8Array, got Array",
  });
  assert.throws(() => hkdfExtractSha512(b, null as unknown as Uint8Array), TypeError);
  // RFC 5869 section 2.3: the PRK is at least HashLen bytes.
  assert.throws(() => hkdfExpandSha256(new Uint8Array(31), b, 32), {
    name: "RangeError",
    message: "Expected prk to be at least 32 bytes (HashLen), got 31",
  });
  assert.throws(() => hkdfExpandSha512(new Uint8Array(32), b, 32), RangeError);
});

interface WycheproofHkdf {
  algorithm: string;
  testGroups: {
    tests: {
      tcId: number;
      comment: string;
      flags: string[];
      ikm: string;
      salt: string;
      info: string;
      size: number;
      okm: string;
      result: "valid" | "invalid";
    }[];
  }[];
}

for (
  const [file, fn, algorithm] of [
    ["wycheproof_hkdf_sha256_test.json", hkdfSha256, "HKDF-SHA-256"],
    ["wycheproof_hkdf_sha512_test.json", hkdfSha512, "HKDF-SHA-512"],
  ] as const
) {
  Deno.test(`${fn.name}() passes the kept Wycheproof ${algorithm} cases`, async () => {
    const data = JSON.parse(
      await Deno.readTextFile(new URL(`../testdata/hkdf/${file}`, import.meta.url)),
    ) as WycheproofHkdf;
    assert.equal(data.algorithm, algorithm);
    const tests = data.testGroups.flatMap((g) => g.tests);
    assert.ok(tests.some((t) => t.flags.includes("MaximalOutputSize")));
    assert.ok(tests.some((t) => t.flags.includes("SizeTooLarge")));
    for (const t of tests) {
      const args = [fromHex(t.ikm), fromHex(t.salt), fromHex(t.info), t.size] as const;
      const label = `tcId ${t.tcId} ${t.flags.join(",")}`;
      if (t.result === "valid") assert.equal(toHex(fn(...args)), t.okm, label);
      else assert.throws(() => fn(...args), RangeError, label);
    }
  });
}
