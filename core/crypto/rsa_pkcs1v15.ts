/**
 * RSAES-PKCS1-v1_5 (RFC 8017 section 7.2), kept for compatibility with Python's `rsa`
 * library (`rsa.encrypt` / `rsa.decrypt`). New keys and messages should use OAEP.
 *
 * Decryption throws one `DecryptionError` for every failure and checks the whole block
 * without early exits (RFC 8017 7.2.2 note): the padding oracle of Bleichenbacher's
 * attack lives in any observable difference between failures.
 *
 * @module
 */

import { bigIntToBytes, bitLength, bytesToBigInt } from "./bigint.ts";
import { assertBytes, randomBytes, zeroize } from "./bytes.ts";
import { DecryptionError } from "./errors.ts";
import { assertRsaPrivateKey, assertRsaPublicKey, rsadp, rsaep } from "./rsa_primitive.ts";
import type { RsaPrivateKey, RsaPublicKey } from "./rsa_types.ts";

/** Minimum length of the random padding string PS (RFC 8017 7.2.1 step 2.a). */
const _MIN_PS = 8;

/** The longest message PKCS#1 v1.5 can encrypt under `key`: k - 11 bytes (7.2.1 step 1). */
export function pkcs1v15MaxMessageLength(key: RsaPublicKey): number {
  assertRsaPublicKey(key);
  return Math.ceil(bitLength(key.n) / 8) - _MIN_PS - 3;
}

// Fills `out` with random non-zero bytes: zeros are redrawn rather than mapped to another
// value, which would make some bytes twice as likely.
function _fillNonZero(out: Uint8Array): void {
  let filled = 0;
  while (filled < out.length) {
    const batch = randomBytes(out.length - filled + 16);
    for (let i = 0; i < batch.length && filled < out.length; i++) {
      if (batch[i] !== 0) out[filled++] = batch[i]!;
    }
    zeroize(batch);
  }
}

/**
 * RSAES-PKCS1-V1_5-ENCRYPT (RFC 8017 7.2.1): EM = 0x00 || 0x02 || PS || 0x00 || M with
 * at least 8 random non-zero bytes of PS. Throws `RangeError` when `message` exceeds
 * {@linkcode pkcs1v15MaxMessageLength}.
 */
export function pkcs1v15Encrypt(key: RsaPublicKey, message: Uint8Array): Uint8Array {
  assertRsaPublicKey(key);
  assertBytes(message, "message");
  const max = pkcs1v15MaxMessageLength(key);
  if (message.length > max) {
    throw new RangeError(
      `Message too long for RSA-${bitLength(key.n)} with PKCS#1 v1.5 padding: ` +
        `expected at most ${max} bytes, got ${message.length}`,
    );
  }
  const k = max + _MIN_PS + 3;
  const em = new Uint8Array(k);
  em[1] = 0x02;
  _fillNonZero(em.subarray(2, k - message.length - 1));
  em.set(message, k - message.length);
  const c = rsaep(key, bytesToBigInt(em));
  zeroize(em);
  return bigIntToBytes(c, k);
}

/**
 * RSAES-PKCS1-V1_5-DECRYPT (RFC 8017 7.2.2). Throws `DecryptionError`, always with the
 * same message, for any invalid ciphertext; `TypeError` / `RangeError` only for bad
 * arguments.
 */
export function pkcs1v15Decrypt(key: RsaPrivateKey, ciphertext: Uint8Array): Uint8Array {
  assertRsaPrivateKey(key);
  assertBytes(ciphertext, "ciphertext");
  const k = Math.ceil(bitLength(key.n) / 8);
  // Step 1: checks on public values only, so failing fast leaks nothing.
  if (ciphertext.length !== k || k < _MIN_PS + 3) throw new DecryptionError();
  const c = bytesToBigInt(ciphertext);
  if (c >= key.n) throw new DecryptionError();
  const em = bigIntToBytes(rsadp(key, c), k);
  // Step 3, branch-free: EM[0] = 0x00, EM[1] = 0x02, then the first zero byte after EM[1]
  // ends PS and must be at index 10 or later (PS of at least 8 bytes).
  let bad = em[0]! | (em[1]! ^ 0x02);
  let found = 0;
  let index = 0;
  for (let i = 2; i < k; i++) {
    const isZero = (em[i]! - 1) >>> 31;
    const first = isZero & (found ^ 1);
    index |= -first & i;
    found |= isZero;
  }
  bad |= found ^ 1;
  // index < 2 + 8 means PS was too short; (index - 10) is negative exactly then.
  bad |= (index - (2 + _MIN_PS)) >>> 31;
  const message = bad === 0 ? em.slice(index + 1) : undefined;
  zeroize(em);
  if (message === undefined) throw new DecryptionError();
  return message;
}
