/**
 * Live RSA interop with Python (tests/python/rsa_interop.py): PKCS#1 v1.5 encryption with
 * the `rsa` library, OAEP-SHA-256 with `cryptography`, RSASSA-PKCS1-v1_5-SHA-256 with
 * both, in both directions, with our keys and with keys Python generates. Keys cross as
 * raw integers; PEM interop is tested with the PEM code.
 */

import assert from "node:assert/strict";
import { fromHex, toHex, utf8 } from "../core/crypto/bytes.ts";
import { DecryptionError } from "../core/crypto/errors.ts";
import { rsaDecrypt, rsaEncrypt, rsaMaxMessageLength } from "../core/crypto/rsa.ts";
import { generateRsaKeyPair, rsaPrivateKeyFromPrimes } from "../core/crypto/rsa_keygen.ts";
import { rsaSign, rsaVerify } from "../core/crypto/rsa_sign.ts";
import type { RsaPadding, RsaPrivateKey, RsaPublicKey } from "../core/crypto/rsa_types.ts";
import { runPython } from "./helpers/python.ts";

const SCRIPT = "rsa_interop.py";
const KEY_1024 = generateRsaKeyPair(1024);
const KEY_2048 = generateRsaKeyPair(2048);

interface PyKey {
  n: string;
  e: string;
  d: string;
  p: string;
  q: string;
}

function pyPublic(key: RsaPublicKey): Pick<PyKey, "n" | "e"> {
  return { n: key.n.toString(), e: key.e.toString() };
}

function pyPrivate(key: RsaPrivateKey): PyKey {
  const { n, e, d, p, q } = key;
  return { n: n.toString(), e: e.toString(), d: d.toString(), p: p.toString(), q: q.toString() };
}

function fromPy(key: PyKey): RsaPrivateKey {
  const imported = rsaPrivateKeyFromPrimes(
    BigInt(key.p),
    BigInt(key.q),
    BigInt(key.e),
    BigInt(key.d),
  );
  assert.equal(imported.n, BigInt(key.n));
  return imported;
}

function messagesFor(key: RsaPublicKey, padding: RsaPadding): Uint8Array[] {
  const max = rsaMaxMessageLength(key, padding);
  return [
    new Uint8Array(0),
    utf8("hello from FastChat"),
    crypto.getRandomValues(new Uint8Array(32)),
    crypto.getRandomValues(new Uint8Array(max)),
  ];
}

async function pyEncrypt(
  key: RsaPublicKey,
  padding: RsaPadding,
  messages: Uint8Array[],
  label?: Uint8Array,
): Promise<Uint8Array[]> {
  const reply = await runPython<{ ciphertexts: string[] }>(SCRIPT, {
    op: "encrypt",
    key: pyPublic(key),
    padding,
    label: label ? toHex(label) : undefined,
    messages: messages.map(toHex),
  });
  return reply.ciphertexts.map(fromHex);
}

async function pyDecrypt(
  key: RsaPrivateKey,
  padding: RsaPadding,
  ciphertexts: Uint8Array[],
  label?: Uint8Array,
): Promise<(Uint8Array | null)[]> {
  const reply = await runPython<{ messages: (string | null)[] }>(SCRIPT, {
    op: "decrypt",
    key: pyPrivate(key),
    padding,
    label: label ? toHex(label) : undefined,
    ciphertexts: ciphertexts.map(toHex),
  });
  return reply.messages.map((m) => m === null ? null : fromHex(m));
}

for (const [bits, pair] of [[1024, KEY_1024], [2048, KEY_2048]] as const) {
  Deno.test(`rsaDecrypt() decrypts Python rsa.encrypt() PKCS#1 v1.5 ciphertexts (${bits} bits)`, async () => {
    const messages = messagesFor(pair.publicKey, "pkcs1v15");
    const cts = await pyEncrypt(pair.publicKey, "pkcs1v15", messages);
    cts.forEach((ct, i) =>
      assert.deepEqual(rsaDecrypt(pair.privateKey, ct, "pkcs1v15"), messages[i])
    );
  });

  Deno.test(`rsaEncrypt() PKCS#1 v1.5 ciphertexts decrypt with Python rsa.decrypt() (${bits} bits)`, async () => {
    const messages = messagesFor(pair.publicKey, "pkcs1v15");
    const cts = messages.map((m) => rsaEncrypt(pair.publicKey, m, "pkcs1v15"));
    assert.deepEqual(await pyDecrypt(pair.privateKey, "pkcs1v15", cts), messages);
  });

  Deno.test(`rsaDecrypt() decrypts Python cryptography OAEP-SHA-256 ciphertexts (${bits} bits)`, async () => {
    const messages = messagesFor(pair.publicKey, "oaep");
    const label = utf8("fastchat label");
    const plain = await pyEncrypt(pair.publicKey, "oaep", messages);
    plain.forEach((ct, i) =>
      assert.deepEqual(rsaDecrypt(pair.privateKey, ct, "oaep"), messages[i])
    );
    const labelled = await pyEncrypt(pair.publicKey, "oaep", messages, label);
    labelled.forEach((ct, i) => {
      assert.deepEqual(rsaDecrypt(pair.privateKey, ct, "oaep", label), messages[i]);
      assert.throws(() => rsaDecrypt(pair.privateKey, ct, "oaep"), DecryptionError);
    });
  });

  Deno.test(`rsaEncrypt() OAEP-SHA-256 ciphertexts decrypt with Python cryptography (${bits} bits)`, async () => {
    const messages = messagesFor(pair.publicKey, "oaep");
    const label = utf8("fastchat label");
    const plain = messages.map((m) => rsaEncrypt(pair.publicKey, m, "oaep"));
    assert.deepEqual(await pyDecrypt(pair.privateKey, "oaep", plain), messages);
    const labelled = messages.map((m) => rsaEncrypt(pair.publicKey, m, "oaep", label));
    assert.deepEqual(await pyDecrypt(pair.privateKey, "oaep", labelled, label), messages);
    // Python must reject them under another label, as we do.
    const wrong = await pyDecrypt(pair.privateKey, "oaep", labelled, utf8("other label"));
    assert.deepEqual(wrong, messages.map(() => null));
  });
}

Deno.test("rsaSign() signatures equal Python's and verify with rsa.verify() and cryptography", async () => {
  for (const pair of [KEY_1024, KEY_2048]) {
    const messages = [
      new Uint8Array(0),
      utf8("hello"),
      crypto.getRandomValues(new Uint8Array(3000)),
    ];
    const ours = messages.map((m) => rsaSign(pair.privateKey, m));
    const theirs = await runPython<{ rsa: string[]; cryptography: string[] }>(SCRIPT, {
      op: "sign",
      key: pyPrivate(pair.privateKey),
      messages: messages.map(toHex),
    });
    // PKCS#1 v1.5 signatures are deterministic: all three implementations agree byte for byte.
    assert.deepEqual(theirs.rsa, ours.map(toHex));
    assert.deepEqual(theirs.cryptography, ours.map(toHex));
    const verified = await runPython<{ rsa: boolean[]; cryptography: boolean[] }>(SCRIPT, {
      op: "verify",
      key: pyPublic(pair.publicKey),
      items: messages.map((m, i) => ({ message: toHex(m), signature: toHex(ours[i]!) })),
    });
    assert.deepEqual(verified, { rsa: [true, true, true], cryptography: [true, true, true] });
  }
});

Deno.test("rsaVerify() and Python agree on rejecting tampered signatures", async () => {
  const { publicKey, privateKey } = KEY_2048;
  const message = utf8("signed message");
  const signature = rsaSign(privateKey, message);
  const flipped = signature.slice();
  flipped[100]! ^= 0x04;
  const items = [
    { message: utf8("signed messagf"), signature },
    { message, signature: flipped },
    { message, signature: signature.subarray(1) },
  ];
  const verdicts = await runPython<{ rsa: boolean[]; cryptography: boolean[] }>(SCRIPT, {
    op: "verify",
    key: pyPublic(publicKey),
    items: items.map((item) => ({
      message: toHex(item.message),
      signature: toHex(item.signature),
    })),
  });
  const ours = items.map((item) => rsaVerify(publicKey, item.message, item.signature));
  assert.deepEqual(ours, [false, false, false]);
  assert.deepEqual(verdicts, { rsa: ours, cryptography: ours });
});

// Python `rsa` makes 2048-bit keys in pure Python (seconds, highly variable): 1024 is enough
// to cover its key shape (p and q of different sizes, d modulo (p - 1)(q - 1)).
for (
  const [library, bits] of [
    ["rsa", 1024],
    ["cryptography", 1024],
    ["cryptography", 2048],
  ] as const
) {
  Deno.test(`rsaPrivateKeyFromPrimes() imports a ${bits}-bit Python ${library} key that decrypts and signs`, async () => {
    const pyKey = await runPython<PyKey>(SCRIPT, { op: "generate", library, bits });
    const key = fromPy(pyKey);
    const publicKey = { n: key.n, e: key.e };
    // Python encrypts to its key, we decrypt with the imported one.
    for (const padding of ["pkcs1v15", "oaep"] as const) {
      const messages = messagesFor(publicKey, padding);
      const cts = await pyEncrypt(publicKey, padding, messages);
      cts.forEach((ct, i) => assert.deepEqual(rsaDecrypt(key, ct, padding), messages[i]));
    }
    // We sign with its key; Python verifies and signs the same bytes.
    const message = utf8(`signed with a ${library} key`);
    const signature = rsaSign(key, message);
    const theirs = await runPython<{ rsa: string[]; cryptography: string[] }>(SCRIPT, {
      op: "sign",
      key: pyKey,
      messages: [toHex(message)],
    });
    assert.deepEqual(theirs, { rsa: [toHex(signature)], cryptography: [toHex(signature)] });
    assert.equal(rsaVerify(publicKey, message, signature), true);
  });
}
