/**
 * Live interop with Python's `hashlib.scrypt` (OpenSSL) through tests/python/scrypt_interop.py:
 * the key inside our encoded hash is what Python derives from the same salt and parameters.
 */

import assert from "node:assert/strict";
import { hashPassword, hashPasswordAsync, verifyPassword } from "../core/crypto/password.ts";
import { fromBase64Url, fromHex, toBase64Url, toHex } from "../core/crypto/bytes.ts";
import { runPython } from "./helpers/python.ts";

interface Case {
  password: string;
  salt: string;
  N: number;
  r: number;
  p: number;
  dkLen: number;
}

function _case(password: string, encoded: string): Case & { key: string } {
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(encoded);
  assert.ok(m !== null, encoded);
  const key = fromBase64Url(m[5]!);
  return {
    password,
    salt: toHex(fromBase64Url(m[4]!)),
    N: 2 ** Number(m[1]),
    r: Number(m[2]),
    p: Number(m[3]),
    dkLen: key.length,
    key: toHex(key),
  };
}

Deno.test("hashPassword() derives the same key as Python's hashlib.scrypt", async () => {
  const cases = [
    _case("correct horse battery staple", hashPassword("correct horse battery staple")),
    _case("", hashPassword("", { N: 2 ** 10 })),
    _case("pässwörd 🔑 日本語", hashPassword("pässwörd 🔑 日本語", { N: 2 ** 12, r: 4, p: 3 })),
    _case("x", hashPassword("x", { N: 2, r: 1, p: 1, dkLen: 16 })),
    _case("long", hashPassword("long", { N: 2 ** 10, r: 16, p: 2, dkLen: 64 })),
    _case("async", await hashPasswordAsync("async", { N: 2 ** 11 })),
  ];
  const keys = await runPython<string[]>(
    "scrypt_interop.py",
    cases.map(({ key: _key, ...c }) => c),
  );
  assert.deepEqual(keys, cases.map((c) => c.key));
});

Deno.test("verifyPassword() accepts a hash whose key Python derived", async () => {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const [key] = await runPython<string[]>("scrypt_interop.py", [
    { password: "from python", salt: toHex(salt), N: 2 ** 10, r: 8, p: 1, dkLen: 32 },
  ]);
  const keyBytes = fromHex(key!);
  const encoded = `$scrypt$ln=10,r=8,p=1$${toBase64Url(salt, false)}$${
    toBase64Url(keyBytes, false)
  }`;
  assert.equal(verifyPassword("from python", encoded), true);
  assert.equal(verifyPassword("from pythom", encoded), false);
});
