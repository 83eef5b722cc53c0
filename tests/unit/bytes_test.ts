import assert from "node:assert/strict";
import {
  assertBytes,
  concat,
  equalBytes,
  fromBase64,
  fromBase64Url,
  fromHex,
  fromUtf8,
  randomBytes,
  toBase64,
  toBase64Url,
  toHex,
  utf8,
  zeroize,
} from "../../core/crypto/bytes.ts";

// RFC 4648 section 10 test vectors.
const RFC4648: [string, string][] = [
  ["", ""],
  ["f", "Zg=="],
  ["fo", "Zm8="],
  ["foo", "Zm9v"],
  ["foob", "Zm9vYg=="],
  ["fooba", "Zm9vYmE="],
  ["foobar", "Zm9vYmFy"],
];

Deno.test("toBase64() matches the RFC 4648 test vectors", () => {
  for (const [plain, b64] of RFC4648) assert.equal(toBase64(utf8(plain)), b64);
});

Deno.test("fromBase64() decodes the RFC 4648 test vectors", () => {
  for (const [plain, b64] of RFC4648) assert.equal(fromUtf8(fromBase64(b64)), plain);
});

Deno.test("toBase64Url() uses - and _ and agrees with toBase64() otherwise", () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0xbf, 0x00, 0x10]);
  assert.equal(toBase64(bytes), "+/+/ABA=");
  assert.equal(toBase64Url(bytes), "-_-_ABA=");
  assert.equal(toBase64Url(bytes, false), "-_-_ABA");
});

Deno.test("fromBase64Url() accepts padded and unpadded input", () => {
  assert.deepEqual(fromBase64Url("-_-_ABA="), new Uint8Array([0xfb, 0xff, 0xbf, 0x00, 0x10]));
  assert.deepEqual(fromBase64Url("-_-_ABA"), new Uint8Array([0xfb, 0xff, 0xbf, 0x00, 0x10]));
});

Deno.test("base64 round-trips every length from 0 to 64", () => {
  for (let n = 0; n <= 64; n++) {
    const bytes = randomBytes(n);
    assert.deepEqual(fromBase64(toBase64(bytes)), bytes);
    assert.deepEqual(fromBase64Url(toBase64Url(bytes)), bytes);
    assert.deepEqual(fromBase64Url(toBase64Url(bytes, false)), bytes);
  }
});

Deno.test("fromBase64() rejects malformed input with SyntaxError", () => {
  for (
    const bad of [
      "Zg", // missing padding
      "Zg=", // short padding
      "Zg===", // too much padding
      "Z===", // impossible length
      "Zh==", // non-zero trailing bits
      "Zm9v!", // bad character
      "Zm9v\n", // whitespace is not base64
      "-_-_", // url-safe alphabet in standard base64
      "Zm=v", // padding in the middle
      "é===",
    ]
  ) {
    assert.throws(() => fromBase64(bad), SyntaxError, `expected ${JSON.stringify(bad)} to fail`);
  }
});

Deno.test("fromBase64Url() rejects malformed input with SyntaxError", () => {
  for (const bad of ["+/+/", "Z", "Zh", "Zg=", "Zg===", "%%%%"]) {
    assert.throws(() => fromBase64Url(bad), SyntaxError, `expected ${JSON.stringify(bad)} to fail`);
  }
});

Deno.test("fromBase64() rejects a non-string with TypeError", () => {
  assert.throws(() => fromBase64(42 as unknown as string), TypeError);
});

Deno.test("toHex() and fromHex() round-trip and accept either case", () => {
  assert.equal(toHex(new Uint8Array([0, 1, 0xab, 0xff])), "0001abff");
  assert.deepEqual(fromHex("0001ABff"), new Uint8Array([0, 1, 0xab, 0xff]));
  assert.throws(() => fromHex("abc"), SyntaxError);
  assert.throws(() => fromHex("zz"), SyntaxError);
  assert.throws(() => fromHex("+1"), SyntaxError);
});

Deno.test("fromUtf8() rejects invalid UTF-8 instead of replacing it", () => {
  assert.equal(fromUtf8(utf8("héllo ✓")), "héllo ✓");
  assert.throws(() => fromUtf8(new Uint8Array([0xc3, 0x28])), TypeError);
});

Deno.test("equalBytes() compares contents and lengths", () => {
  assert.equal(equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])), true);
  assert.equal(equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])), false);
  assert.equal(equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2])), false);
  assert.equal(equalBytes(new Uint8Array(), new Uint8Array()), true);
  assert.throws(() => equalBytes([1] as unknown as Uint8Array, new Uint8Array([1])), TypeError);
});

Deno.test("concat() joins arrays in order", () => {
  assert.deepEqual(
    concat(new Uint8Array([1]), new Uint8Array(), new Uint8Array([2, 3])),
    new Uint8Array([1, 2, 3]),
  );
});

Deno.test("zeroize() overwrites every array it is given", () => {
  const a = new Uint8Array([1, 2]);
  const b = new Uint8Array([3]);
  zeroize(a, b);
  assert.deepEqual(a, new Uint8Array(2));
  assert.deepEqual(b, new Uint8Array(1));
});

Deno.test("randomBytes() returns distinct arrays of the asked length", () => {
  assert.equal(randomBytes(0).length, 0);
  assert.equal(randomBytes(33).length, 33);
  assert.notDeepEqual(randomBytes(16), randomBytes(16));
  const big = randomBytes(200_000);
  assert.equal(big.length, 200_000);
  assert.notDeepEqual(big.subarray(0, 65536), big.subarray(65536, 131072));
  assert.throws(() => randomBytes(-1), RangeError);
  assert.throws(() => randomBytes(1.5), RangeError);
});

Deno.test("assertBytes() names the argument and what was expected", () => {
  assert.throws(() => assertBytes("x", "iv"), /Expected iv to be a Uint8Array, got string/);
  assert.throws(
    () => assertBytes(new Uint8Array(3), "iv", 16),
    /Expected iv to be 16 bytes, got 3/,
  );
  assertBytes(new Uint8Array(16), "iv", 16);
});
