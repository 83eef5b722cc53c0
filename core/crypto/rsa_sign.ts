/**
 * RSASSA-PKCS1-v1_5 signatures (RFC 8017 section 8.2) with SHA-256, i.e. EMSA-PKCS1-v1_5
 * encoding (section 9.2) with the SHA-256 DigestInfo prefix of its note 1. Signatures are
 * deterministic and byte-identical to Python `rsa.sign(msg, key, "SHA-256")` and
 * `cryptography`'s `PKCS1v15()` with `SHA256()`.
 *
 * Verification re-encodes the expected block and compares it whole, in constant time
 * (8.2.2 step 3), instead of parsing the signed block: parsing verifiers have repeatedly
 * accepted forgeries (Bleichenbacher 2006, BERserk) by tolerating garbage in the ASN.1.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bigIntToBytes, bitLength, bytesToBigInt } from "./bigint.ts";
import { assertBytes, equalBytes } from "./bytes.ts";
import { assertRsaPrivateKey, assertRsaPublicKey, rsasp1, rsavp1 } from "./rsa_primitive.ts";
import type { RsaPrivateKey, RsaPublicKey } from "./rsa_types.ts";

/** DER of DigestInfo { AlgorithmIdentifier { id-sha256, NULL }, OCTET STRING (32) }. */
const _SHA256_DIGEST_INFO_PREFIX = new Uint8Array([
  0x30,
  0x31,
  0x30,
  0x0d,
  0x06,
  0x09,
  0x60,
  0x86,
  0x48,
  0x01,
  0x65,
  0x03,
  0x04,
  0x02,
  0x01,
  0x05,
  0x00,
  0x04,
  0x20,
]);

/** EMSA-PKCS1-v1_5-ENCODE (RFC 8017 9.2): 0x00 || 0x01 || PS (0xff...) || 0x00 || T. */
function _encode(message: Uint8Array, emLen: number): Uint8Array {
  const tLen = _SHA256_DIGEST_INFO_PREFIX.length + 32;
  // Cannot happen for moduli the key checks accept (>= 512 bits, 64 bytes >= 62).
  if (emLen < tLen + 11) throw new RangeError("Intended encoded message length too short");
  const em = new Uint8Array(emLen).fill(0xff, 2, emLen - tLen - 1);
  em[0] = 0x00;
  em[1] = 0x01;
  em[emLen - tLen - 1] = 0x00;
  em.set(_SHA256_DIGEST_INFO_PREFIX, emLen - tLen);
  em.set(sha256(message), emLen - 32);
  return em;
}

/**
 * RSASSA-PKCS1-V1_5-SIGN (RFC 8017 8.2.1) with SHA-256: returns a k-byte signature of
 * `message`. The private operation is blinded and fault-checked, so a glitch cannot
 * leak the key through a faulty signature.
 */
export function rsaSign(privateKey: RsaPrivateKey, message: Uint8Array): Uint8Array {
  assertRsaPrivateKey(privateKey);
  assertBytes(message, "message");
  const k = Math.ceil(bitLength(privateKey.n) / 8);
  const s = rsasp1(privateKey, bytesToBigInt(_encode(message, k)));
  return bigIntToBytes(s, k);
}

/**
 * RSASSA-PKCS1-V1_5-VERIFY (RFC 8017 8.2.2) with SHA-256. Returns false for every
 * invalid signature (wrong length, representative >= n, wrong encoding, other message);
 * throws (`TypeError` / `RangeError`) only when an argument has the wrong type or the key
 * is malformed.
 */
export function rsaVerify(
  publicKey: RsaPublicKey,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  assertRsaPublicKey(publicKey);
  assertBytes(message, "message");
  assertBytes(signature, "signature");
  const k = Math.ceil(bitLength(publicKey.n) / 8);
  if (signature.length !== k) return false;
  const s = bytesToBigInt(signature);
  if (s >= publicKey.n) return false;
  const em = bigIntToBytes(rsavp1(publicKey, s), k);
  return equalBytes(em, _encode(message, k));
}
