/**
 * RSAES-OAEP (RFC 8017 section 7.1) with SHA-256 as the hash and MGF1-SHA-256 (RFC 8017
 * appendix B.2.1) as the mask generation function, with an optional label. The same
 * choice as `cryptography`'s `OAEP(mgf=MGF1(SHA256()), algorithm=SHA256(), label=...)`.
 *
 * Decryption follows the note of 7.1.2: every check on the decoded block (leading byte,
 * label hash, separator) is computed without early exits, and all failures, including a
 * ciphertext of the wrong length or out of range, throw the same `DecryptionError`, so
 * neither timing nor the error tells an attacker which check failed (Manger's attack).
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bigIntToBytes, bitLength, bytesToBigInt } from "./bigint.ts";
import { assertBytes, randomBytes, zeroize } from "./bytes.ts";
import { DecryptionError } from "./errors.ts";
import { assertRsaPrivateKey, assertRsaPublicKey, rsadp, rsaep } from "./rsa_primitive.ts";
import type { RsaPrivateKey, RsaPublicKey } from "./rsa_types.ts";

/** hLen: the SHA-256 output length in bytes. */
const _H_LEN = 32;

const _EMPTY = new Uint8Array(0);

/**
 * The longest message OAEP-SHA-256 can encrypt under `key`: k - 2 * hLen - 2 bytes
 * (RFC 8017 7.1.1 step 1.b), e.g. 190 for RSA-2048. Throws `RangeError` when the modulus
 * is too small for OAEP-SHA-256 at all (fewer than 66 bytes).
 */
export function oaepMaxMessageLength(key: RsaPublicKey): number {
  assertRsaPublicKey(key);
  const k = Math.ceil(bitLength(key.n) / 8);
  const max = k - 2 * _H_LEN - 2;
  if (max < 0) {
    throw new RangeError(
      `An RSA-${bitLength(key.n)} key is too small for OAEP with SHA-256: ` +
        `expected a modulus of at least ${2 * _H_LEN + 2} bytes, got ${k}`,
    );
  }
  return max;
}

/**
 * XORs MGF1-SHA-256(seed, target.length) (RFC 8017 B.2.1) into `target` in place, so no
 * mask buffer outlives the call; each hash block is zeroed after use.
 */
function _mgf1Xor(seed: Uint8Array, target: Uint8Array): void {
  const input = new Uint8Array(seed.length + 4);
  input.set(seed);
  const view = new DataView(input.buffer);
  for (let counter = 0, o = 0; o < target.length; counter++, o += _H_LEN) {
    view.setUint32(seed.length, counter);
    const block = sha256(input);
    const end = Math.min(_H_LEN, target.length - o);
    for (let i = 0; i < end; i++) target[o + i]! ^= block[i]!;
    zeroize(block);
  }
  zeroize(input);
}

/**
 * RSAES-OAEP-ENCRYPT (RFC 8017 7.1.1) with SHA-256 and MGF1-SHA-256. Throws `RangeError`
 * when `message` exceeds {@linkcode oaepMaxMessageLength}.
 */
export function oaepEncrypt(
  key: RsaPublicKey,
  message: Uint8Array,
  label: Uint8Array = _EMPTY,
): Uint8Array {
  assertRsaPublicKey(key);
  assertBytes(message, "message");
  assertBytes(label, "label");
  const max = oaepMaxMessageLength(key);
  if (message.length > max) {
    throw new RangeError(
      `Message too long for RSA-${bitLength(key.n)} with OAEP (SHA-256): ` +
        `expected at most ${max} bytes, got ${message.length}`,
    );
  }
  const k = Math.ceil(bitLength(key.n) / 8);
  // EM = 0x00 || maskedSeed || maskedDB, DB = lHash || PS || 0x01 || M (step 2).
  const em = new Uint8Array(k);
  const seed = em.subarray(1, 1 + _H_LEN);
  const db = em.subarray(1 + _H_LEN);
  db.set(sha256(label));
  db[db.length - message.length - 1] = 0x01;
  db.set(message, db.length - message.length);
  const random = randomBytes(_H_LEN);
  seed.set(random);
  zeroize(random);
  _mgf1Xor(seed, db); // maskedDB = DB xor MGF(seed)
  _mgf1Xor(db, seed); // maskedSeed = seed xor MGF(maskedDB)
  const c = rsaep(key, bytesToBigInt(em));
  zeroize(em);
  return bigIntToBytes(c, k);
}

/**
 * RSAES-OAEP-DECRYPT (RFC 8017 7.1.2) with SHA-256 and MGF1-SHA-256. Throws
 * `DecryptionError`, always with the same message, for any invalid ciphertext or a label
 * other than the one used to encrypt; `TypeError` / `RangeError` only for bad arguments.
 */
export function oaepDecrypt(
  key: RsaPrivateKey,
  ciphertext: Uint8Array,
  label: Uint8Array = _EMPTY,
): Uint8Array {
  assertRsaPrivateKey(key);
  assertBytes(ciphertext, "ciphertext");
  assertBytes(label, "label");
  const k = Math.ceil(bitLength(key.n) / 8);
  // Step 1: length checks. They depend only on public values, so failing fast leaks nothing.
  if (k < 2 * _H_LEN + 2 || ciphertext.length !== k) throw new DecryptionError();
  const c = bytesToBigInt(ciphertext);
  if (c >= key.n) throw new DecryptionError();
  const em = bigIntToBytes(rsadp(key, c), k);
  // Step 3: unmask in place, then check everything before deciding.
  const seed = em.subarray(1, 1 + _H_LEN);
  const db = em.subarray(1 + _H_LEN);
  _mgf1Xor(db, seed); // seed = maskedSeed xor MGF(maskedDB)
  _mgf1Xor(seed, db); // DB = maskedDB xor MGF(seed)
  const lHash = sha256(label);
  let bad = em[0]!;
  for (let i = 0; i < _H_LEN; i++) bad |= db[i]! ^ lHash[i]!;
  // Find the 0x01 after the zero padding PS with branch-free bit arithmetic: `found`
  // becomes 1 at the first 0x01, `index` records it, and any other non-zero byte before
  // it marks the block invalid.
  let found = 0;
  let index = 0;
  for (let i = _H_LEN; i < db.length; i++) {
    const b = db[i]!;
    const isOne = ((b ^ 1) - 1) >>> 31;
    const isZero = (b - 1) >>> 31;
    const first = isOne & (found ^ 1);
    index |= -first & i;
    found |= isOne;
    bad |= (found ^ 1) & (isZero ^ 1);
  }
  bad |= found ^ 1;
  const message = bad === 0 ? db.slice(index + 1) : undefined;
  zeroize(em);
  if (message === undefined) throw new DecryptionError();
  return message;
}
