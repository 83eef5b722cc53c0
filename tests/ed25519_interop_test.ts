/**
 * Live interop with Python `cryptography`'s Ed25519 (OpenSSL) through
 * tests/python/ed25519_interop.py: signatures made here verify there and the other way round.
 */

import assert from "node:assert/strict";
import {
  generateIdentityKeyPair,
  publicKeyFromSecret,
  sign,
  verify,
} from "../core/crypto/ed25519.ts";
import { fromHex, randomBytes, toHex, utf8 } from "../core/crypto/bytes.ts";
import { runPython } from "./helpers/python.ts";

type Op =
  | { op: "generate" }
  | { op: "sign"; secretKey: string; message: string }
  | { op: "verify"; publicKey: string; message: string; signature: string };
interface Result {
  secretKey?: string;
  publicKey?: string;
  signature?: string;
  valid?: boolean;
}

function _python(ops: Op[]): Promise<Result[]> {
  return runPython<Result[]>("ed25519_interop.py", ops);
}

const MESSAGES = [
  new Uint8Array(0),
  utf8("hello"),
  utf8("héllo 👋"),
  Uint8Array.from({ length: 256 }, (_, i) => i),
  randomBytes(5000),
];

Deno.test("sign() signatures verify with Python cryptography", async () => {
  const ops: Op[] = [];
  const expected: boolean[] = [];
  for (let k = 0; k < 3; k++) {
    const { publicKey, secretKey } = generateIdentityKeyPair();
    for (const msg of MESSAGES) {
      const sig = sign(secretKey, msg);
      const base = { op: "verify" as const, publicKey: toHex(publicKey) };
      ops.push({ ...base, message: toHex(msg), signature: toHex(sig) });
      expected.push(true);
      const tampered = sig.slice();
      tampered[k * 20]! ^= 1;
      ops.push({ ...base, message: toHex(msg), signature: toHex(tampered) });
      expected.push(false);
      const other = new Uint8Array(msg.length + 1);
      other.set(msg);
      ops.push({ ...base, message: toHex(other), signature: toHex(sig) });
      expected.push(false);
    }
  }
  const results = await _python(ops);
  assert.deepEqual(results.map((r) => r.valid), expected);
});

Deno.test("verify() accepts signatures made by Python cryptography", async () => {
  const keys = await _python([{ op: "generate" }, { op: "generate" }]);
  const ops: Op[] = [];
  for (const k of keys) {
    for (const msg of MESSAGES) {
      ops.push({ op: "sign", secretKey: k.secretKey!, message: toHex(msg) });
    }
  }
  const results = await _python(ops);
  let i = 0;
  for (const k of keys) {
    const pk = fromHex(k.publicKey!);
    const sk = fromHex(k.secretKey!);
    assert.deepEqual(publicKeyFromSecret(sk), pk);
    for (const msg of MESSAGES) {
      const r = results[i++]!;
      assert.equal(r.publicKey, k.publicKey);
      const sig = fromHex(r.signature!);
      assert.equal(verify(pk, msg, sig), true);
      // Ed25519 is deterministic: the same key and message give the same bytes.
      assert.equal(toHex(sign(sk, msg)), r.signature);
      const tampered = sig.slice();
      tampered[63]! ^= 0x10;
      assert.equal(verify(pk, msg, tampered), false);
    }
  }
});

Deno.test("verify() and Python both reject a malleated signature (S + L)", async () => {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const { publicKey, secretKey } = generateIdentityKeyPair();
  const msg = utf8("malleable?");
  const sig = sign(secretKey, msg);
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
  s += L;
  const malleated = sig.slice();
  for (let i = 32; i < 64; i++) {
    malleated[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  const [python] = await _python([
    { op: "verify", publicKey: toHex(publicKey), message: toHex(msg), signature: toHex(malleated) },
  ]) as [Result];
  assert.equal(python.valid, false);
  assert.equal(verify(publicKey, msg, malleated), false);
});
