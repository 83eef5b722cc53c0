import assert from "node:assert/strict";
import { scrypt } from "@noble/hashes/scrypt.js";
import {
  DEFAULT_PASSWORD_PARAMS,
  hashPassword,
  hashPasswordAsync,
  verifyPassword,
  verifyPasswordAsync,
} from "../../core/crypto/password.ts";
import { fromBase64Url, toBase64Url, utf8 } from "../../core/crypto/bytes.ts";
import { KeyFormatError } from "../../core/crypto/errors.ts";

// Small N keeps the suite fast; one test below runs the defaults.
const FAST = { N: 2 ** 10 };
const FORMAT = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

function _parts(encoded: string) {
  const m = FORMAT.exec(encoded);
  assert.ok(m !== null, `unexpected format: ${encoded}`);
  return {
    ln: Number(m[1]),
    r: Number(m[2]),
    p: Number(m[3]),
    salt: fromBase64Url(m[4]!),
    key: fromBase64Url(m[5]!),
  };
}

Deno.test("hashPassword() round-trips with verifyPassword()", () => {
  for (
    const pw of ["correct horse battery staple", "", "p", "pässwörd 🔑 日本語", "a".repeat(1000)]
  ) {
    const encoded = hashPassword(pw, FAST);
    assert.equal(verifyPassword(pw, encoded), true, pw);
  }
});

Deno.test("verifyPassword() returns false for a wrong password", () => {
  const encoded = hashPassword("Secret123", FAST);
  for (const wrong of ["secret123", "Secret123 ", " Secret123", "Secret12", "Secret1234", ""]) {
    assert.equal(verifyPassword(wrong, encoded), false, wrong);
  }
});

Deno.test("verifyPassword() compares the UTF-8 bytes as given, without normalization", () => {
  const nfc = "caf\u00e9";
  const nfd = "cafe\u0301";
  const encoded = hashPassword(nfc, FAST);
  assert.equal(verifyPassword(nfc, encoded), true);
  assert.equal(verifyPassword(nfd, encoded), false);
  assert.equal(verifyPassword(nfd.normalize("NFC"), encoded), true);
});

Deno.test("hashPassword() uses a fresh random 16-byte salt each time", () => {
  const a = hashPassword("same", FAST);
  const b = hashPassword("same", FAST);
  assert.notEqual(a, b);
  assert.equal(_parts(a).salt.length, 16);
  assert.notDeepEqual(_parts(a).salt, _parts(b).salt);
  assert.notDeepEqual(_parts(a).key, _parts(b).key);
  assert.equal(verifyPassword("same", a), true);
  assert.equal(verifyPassword("same", b), true);
});

Deno.test("hashPassword() embeds the parameters, salt and key in the documented format", () => {
  const encoded = hashPassword("pw", { N: 2 ** 11, r: 4, p: 2, dkLen: 48 });
  const parts = _parts(encoded);
  assert.deepEqual([parts.ln, parts.r, parts.p], [11, 4, 2]);
  assert.equal(parts.key.length, 48);
  assert.ok(encoded.startsWith("$scrypt$ln=11,r=4,p=2$"));
  assert.ok(!encoded.split("$").slice(3).join("").includes("="), "salt and key are unpadded");
  // The key is exactly scrypt(UTF-8 password, salt) with those parameters.
  const expected = scrypt(utf8("pw"), parts.salt, { N: 2 ** 11, r: 4, p: 2, dkLen: 48 });
  assert.deepEqual(parts.key, expected);
});

Deno.test("verifyPassword() honors the parameters stored in the encoded string", () => {
  const encoded = hashPassword("pw", { N: 2 ** 11, r: 4, p: 2, dkLen: 20 });
  assert.equal(verifyPassword("pw", encoded), true);
  // Same salt and key under different parameters no longer match.
  for (const changed of ["ln=10,r=4,p=2", "ln=11,r=5,p=2", "ln=11,r=4,p=1"]) {
    const altered = encoded.replace("ln=11,r=4,p=2", changed);
    assert.notEqual(altered, encoded);
    assert.equal(verifyPassword("pw", altered), false, changed);
  }
  // A hash written elsewhere with known salt and parameters verifies.
  const salt = utf8("0123456789abcdef");
  const key = scrypt(utf8("hunter2"), salt, { N: 16, r: 1, p: 1, dkLen: 32 });
  const external = `$scrypt$ln=4,r=1,p=1$${toBase64Url(salt, false)}$${toBase64Url(key, false)}`;
  assert.equal(verifyPassword("hunter2", external), true);
  assert.equal(verifyPassword("hunter3", external), false);
});

Deno.test("hashPassword() with default parameters writes ln=15,r=8,p=1 and verifies", () => {
  assert.deepEqual({ ...DEFAULT_PASSWORD_PARAMS }, { N: 2 ** 15, r: 8, p: 1, dkLen: 32 });
  assert.ok(Object.isFrozen(DEFAULT_PASSWORD_PARAMS));
  const encoded = hashPassword("correct horse battery staple");
  const parts = _parts(encoded);
  assert.deepEqual([parts.ln, parts.r, parts.p, parts.key.length], [15, 8, 1, 32]);
  assert.equal(verifyPassword("correct horse battery staple", encoded), true);
  assert.equal(verifyPassword("correct horse battery stapler", encoded), false);
});

Deno.test("hashPasswordAsync() and verifyPasswordAsync() match the sync functions", async () => {
  const encoded = await hashPasswordAsync("async pw", { N: 2 ** 10, r: 2, p: 3 });
  assert.ok(encoded.startsWith("$scrypt$ln=10,r=2,p=3$"));
  assert.equal(verifyPassword("async pw", encoded), true);
  assert.equal(await verifyPasswordAsync("async pw", encoded), true);
  assert.equal(await verifyPasswordAsync("async pw!", encoded), false);
  const sync = hashPassword("sync pw", FAST);
  assert.equal(await verifyPasswordAsync("sync pw", sync), true);
  await assert.rejects(() => verifyPasswordAsync("x", "$scrypt$nope"), KeyFormatError);
  await assert.rejects(() => hashPasswordAsync("x", { N: 1000 }), RangeError);
});

Deno.test("verifyPassword() rejects malformed encoded strings with KeyFormatError", () => {
  const good = hashPassword("pw", FAST);
  const { salt, key } = _parts(good);
  const s = toBase64Url(salt, false);
  const k = toBase64Url(key, false);
  const bad = [
    "",
    "pw",
    "$scrypt$",
    `$scrypt$ln=10,r=8,p=1$${s}`,
    `$scrypt$ln=10,r=8,p=1$${s}$`,
    `$scrypt$ln=10,r=8,p=1$$${k}`,
    `$scrypt$ln=10,r=8$${s}$${k}`,
    `$scrypt$r=8,ln=10,p=1$${s}$${k}`,
    `$scrypt$ln=10,r=8,p=1,x=1$${s}$${k}`,
    `$argon2id$ln=10,r=8,p=1$${s}$${k}`,
    `scrypt$ln=10,r=8,p=1$${s}$${k}`,
    `$scrypt$ln=10,r=8,p=1$${s}$${k}$`,
    `$scrypt$ln=10,r=8,p=1$${s}$${k} `,
    ` $scrypt$ln=10,r=8,p=1$${s}$${k}`,
    `$scrypt$ln=10,r=8,p=1$${s}$${k}\n`,
    `$scrypt$ln=010,r=8,p=1$${s}$${k}`, // leading zero
    `$scrypt$ln=0,r=8,p=1$${s}$${k}`,
    `$scrypt$ln=21,r=8,p=1$${s}$${k}`,
    `$scrypt$ln=99,r=8,p=1$${s}$${k}`,
    `$scrypt$ln=-1,r=8,p=1$${s}$${k}`,
    `$scrypt$ln=10,r=0,p=1$${s}$${k}`,
    `$scrypt$ln=10,r=33,p=1$${s}$${k}`,
    `$scrypt$ln=10,r=8,p=0$${s}$${k}`,
    `$scrypt$ln=10,r=8,p=17$${s}$${k}`,
    `$scrypt$ln=20,r=8,p=1$${s}$${k}`, // 1 GiB of memory
    `$scrypt$ln=17,r=8,p=16$${s}$${k}`, // 2 GiB of work
    `$scrypt$ln=1e1,r=8,p=1$${s}$${k}`,
    `$scrypt$ln=10,r=8,p=1$${s}==$${k}`, // padding
    `$scrypt$ln=10,r=8,p=1$${s.replace(/.$/, "+")}$${k}`, // standard alphabet
    `$scrypt$ln=10,r=8,p=1$${s}$${k.slice(0, -1)}B`, // non-canonical trailing bits
    `$scrypt$ln=10,r=8,p=1$${s}$${k}AA`, // impossible base64 length
    `$scrypt$ln=10,r=8,p=1$AAAAAA$${k}`, // 4-byte salt
    `$scrypt$ln=10,r=8,p=1$${toBase64Url(new Uint8Array(65), false)}$${k}`,
    `$scrypt$ln=10,r=8,p=1$${s}$${toBase64Url(new Uint8Array(8), false)}`, // 8-byte key
    `$scrypt$ln=10,r=8,p=1$${s}$${toBase64Url(new Uint8Array(65), false)}`,
  ];
  for (const encoded of bad) {
    assert.throws(() => verifyPassword("pw", encoded), (e: unknown) => {
      assert.ok(e instanceof KeyFormatError, `${JSON.stringify(encoded)}: got ${e}`);
      assert.match(e.message, /^Invalid password hash: /);
      assert.equal(e.code, "bad_key_format");
      return true;
    });
  }
  assert.equal(verifyPassword("pw", good), true);
});

Deno.test("verifyPassword() rejects arguments that are not strings with TypeError", () => {
  const good = hashPassword("pw", FAST);
  for (const bad of [undefined, null, 1, utf8("pw")]) {
    assert.throws(() => verifyPassword(bad as unknown as string, good), TypeError);
    assert.throws(() => verifyPassword("pw", bad as unknown as string), TypeError);
    assert.throws(() => hashPassword(bad as unknown as string, FAST), TypeError);
  }
});

Deno.test("hashPassword() refuses ill-formed Unicode and verifyPassword() returns false", () => {
  // A lone surrogate would become U+FFFD in UTF-8, so "\ud800" would match "\ufffd".
  assert.throws(() => hashPassword("a\ud800b", FAST), TypeError);
  const encoded = hashPassword("a\ufffdb", FAST);
  assert.equal(verifyPassword("a\ufffdb", encoded), true);
  assert.equal(verifyPassword("a\ud800b", encoded), false);
});

Deno.test("hashPassword() rejects absurd or malformed parameters", () => {
  const rangeErrors = [
    { N: 0 },
    { N: 1 },
    { N: 3 },
    { N: 1000 },
    { N: 2 ** 21 },
    { N: 2 ** 32 },
    { N: 2 ** 20, r: 8 }, // 1 GiB of memory
    { N: 2 ** 17, r: 8, p: 16 }, // 2 GiB of work
    { r: 0 },
    { r: 33 },
    { p: 0 },
    { p: 17 },
    { dkLen: 0 },
    { dkLen: 15 },
    { dkLen: 65 },
    { N: -1024 },
  ];
  for (const opts of rangeErrors) {
    assert.throws(() => hashPassword("pw", opts), RangeError, JSON.stringify(opts));
  }
  const typeErrors = [
    { N: 1024.5 },
    { N: NaN },
    { N: Infinity },
    { N: "1024" },
    { r: 8n },
    { p: null },
    { dkLen: "32" },
  ];
  for (const opts of typeErrors) {
    assert.throws(
      () => hashPassword("pw", opts as unknown as { N: number }),
      TypeError,
      String(Object.keys(opts)),
    );
  }
  assert.throws(() => hashPassword("pw", null as unknown as object), TypeError);
  // The bounds themselves are allowed.
  assert.ok(
    hashPassword("pw", { N: 2, r: 1, p: 1, dkLen: 16 }).startsWith("$scrypt$ln=1,r=1,p=1$"),
  );
  assert.equal(_parts(hashPassword("pw", { N: 16, r: 32, p: 16, dkLen: 64 })).key.length, 64);
});
