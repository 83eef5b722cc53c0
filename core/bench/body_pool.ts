/**
 * Message bodies for the benchmark: real Fernet tokens of random plaintext, made once before
 * the run so the generator's own crypto does not compete with the cluster for CPU. Servers
 * never look inside bodies, so reusing a pool measures them exactly as fresh tokens would.
 *
 * @module
 */

import { fernetEncrypt, generateFernetKey, randomBytes } from "../crypto/mod.ts";

/** Tokens in the default pool. */
export const BODY_POOL_SIZE = 512;

/**
 * Makes `count` Fernet tokens, each of `plaintextBytes` random bytes under one fresh key.
 *
 * @throws {RangeError} If `count` or `plaintextBytes` is not a positive integer.
 */
export function makeBodyPool(plaintextBytes: number, count = BODY_POOL_SIZE): string[] {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`Expected count to be a positive integer, got ${count}`);
  }
  if (!Number.isSafeInteger(plaintextBytes) || plaintextBytes < 1) {
    throw new RangeError(`Expected plaintextBytes to be a positive integer, got ${plaintextBytes}`);
  }
  const key = generateFernetKey();
  return Array.from({ length: count }, () => fernetEncrypt(key, randomBytes(plaintextBytes)));
}
