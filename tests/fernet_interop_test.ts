/**
 * Live interop with Python's `cryptography.fernet` (tests/python/fernet_interop.py): tokens
 * we make decrypt there, tokens made there decrypt here, and both reject the same tokens.
 */

import assert from "node:assert/strict";
import { fernetDecrypt, fernetEncrypt, generateFernetKey } from "../core/crypto/fernet.ts";
import {
  fromBase64Url,
  fromHex,
  randomBytes,
  toBase64Url,
  toHex,
  utf8,
} from "../core/crypto/bytes.ts";
import { InvalidToken } from "../core/crypto/errors.ts";
import { runPython } from "./helpers/python.ts";

type Op =
  | { op: "generate_key" }
  | { op: "encrypt"; key: string; data: string }
  | { op: "encrypt_from_parts"; key: string; data: string; now: number; iv: string }
  | { op: "decrypt"; key: string; token: string; ttl?: number; now?: number };
interface Result {
  key?: string;
  token?: string;
  data?: string;
  error?: string;
}

function _python(ops: Op[]): Promise<Result[]> {
  return runPython<Result[]>("fernet_interop.py", ops);
}

const PLAINTEXTS: Uint8Array[] = [
  new Uint8Array(0),
  utf8("hello"),
  utf8("héllo wörld, 你好, 👋 \u0000 end"),
  Uint8Array.from({ length: 256 }, (_, i) => i),
  new Uint8Array(16).fill(16),
  randomBytes(1000),
];

Deno.test("fernetEncrypt() tokens decrypt with Python cryptography", async () => {
  const key = generateFernetKey();
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (const p of PLAINTEXTS) {
    tokens.push(fernetEncrypt(key, p));
    tokens.push(fernetEncrypt(key, p, { now: 499162800, iv: randomBytes(16) }));
  }
  const ops: Op[] = [];
  for (const token of tokens) {
    ops.push({ op: "decrypt", key, token });
  }
  // The fresh tokens also pass Python's ttl check at the current time.
  for (let i = 0; i < tokens.length; i += 2) {
    ops.push({ op: "decrypt", key, token: tokens[i]!, ttl: 60, now });
  }
  const results = await _python(ops);
  assert.equal(results.length, ops.length);
  for (let i = 0; i < tokens.length; i++) {
    assert.equal(results[i]!.data, toHex(PLAINTEXTS[Math.floor(i / 2)]!), `token ${i}`);
  }
  for (let i = 0; i < PLAINTEXTS.length; i++) {
    assert.equal(results[tokens.length + i]!.data, toHex(PLAINTEXTS[i]!), `ttl token ${i}`);
  }
});

Deno.test("fernetEncrypt() with a fixed now and iv is byte-identical to Python", async () => {
  const key = generateFernetKey();
  const cases = PLAINTEXTS.map((p, i) => ({
    data: p,
    now: [0, 1, 499162800, 1700000000, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER][i]!,
    iv: randomBytes(16),
  }));
  const results = await _python(
    cases.map((c) => ({
      op: "encrypt_from_parts",
      key,
      data: toHex(c.data),
      now: c.now,
      iv: toHex(c.iv),
    })),
  );
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    assert.equal(fernetEncrypt(key, c.data, { now: c.now, iv: c.iv }), results[i]!.token);
  }
});

Deno.test("fernetDecrypt() decrypts tokens made by Python cryptography", async () => {
  const [{ key }] = await _python([{ op: "generate_key" }]) as [Result];
  assert.ok(key !== undefined);
  assert.equal(fromBase64Url(key).length, 32);
  const results = await _python(PLAINTEXTS.map((p) => ({ op: "encrypt", key, data: toHex(p) })));
  for (let i = 0; i < PLAINTEXTS.length; i++) {
    const token = results[i]!.token!;
    assert.deepEqual(fernetDecrypt(key, token), PLAINTEXTS[i]);
    assert.deepEqual(fernetDecrypt(key, token, { ttl: 60 }), PLAINTEXTS[i]);
    // Our own tokens under Python's key work too.
    assert.deepEqual(fernetDecrypt(key, fernetEncrypt(key, PLAINTEXTS[i]!)), PLAINTEXTS[i]);
  }
});

Deno.test("fernetDecrypt() accepts and rejects exactly the tokens Python does", async () => {
  const key = generateFernetKey();
  const T = 1700000000;
  const token = fernetEncrypt(key, utf8("boundary"), { now: T });
  const bytes = fromBase64Url(token);
  const tampered = bytes.slice();
  tampered[30]! ^= 4;
  const cases: { token: string; ttl?: number; now?: number }[] = [
    { token },
    { token, ttl: 60, now: T + 60 },
    { token, ttl: 60, now: T + 61 },
    { token, ttl: 0, now: T },
    { token, ttl: 0, now: T + 1 },
    { token, ttl: 60, now: T - 60 },
    { token, ttl: 60, now: T - 61 },
    { token, ttl: 10 ** 9, now: T - 61 },
    { token, ttl: 60, now: 0 },
    { token: toBase64Url(tampered) },
    { token: toBase64Url(bytes.subarray(0, bytes.length - 1)) },
    { token: toBase64Url(bytes.subarray(0, 72)) },
    { token: fernetEncrypt(generateFernetKey(), utf8("boundary"), { now: T }) },
    { token: "%%%%" },
    { token: "" },
  ];
  const results = await _python(cases.map((c) => ({ op: "decrypt", key, ...c })));
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    const opts = c.ttl === undefined ? {} : { ttl: c.ttl, now: c.now! };
    let ours: string;
    try {
      ours = toHex(fernetDecrypt(key, c.token, opts));
    } catch (e) {
      assert.ok(e instanceof InvalidToken, `case ${i}: ${e}`);
      ours = "InvalidToken";
    }
    assert.equal(ours, results[i]!.data ?? results[i]!.error, `case ${i}`);
  }
  // Sanity: the set mixes accepted and rejected tokens.
  const accepted = results.filter((r) => r.data !== undefined).length;
  assert.ok(accepted > 0 && accepted < cases.length);
  assert.equal(fromHex(results[0]!.data!).length, 8);
});
