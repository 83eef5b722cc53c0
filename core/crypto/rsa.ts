/**
 * RSA encryption, the public entry point: RSAES-OAEP with SHA-256 (RFC 8017 section 7.1)
 * for new data and RSAES-PKCS1-v1_5 (RFC 8017 section 7.2) for compatibility with
 * Python's `rsa`. Arguments are checked first; then every decryption failure is the same
 * `DecryptionError`.
 *
 * @module
 */

import { assertBytes } from "./bytes.ts";
import { oaepDecrypt, oaepEncrypt, oaepMaxMessageLength } from "./rsa_oaep.ts";
import { pkcs1v15Decrypt, pkcs1v15Encrypt, pkcs1v15MaxMessageLength } from "./rsa_pkcs1v15.ts";
import { assertRsaPrivateKey, assertRsaPublicKey } from "./rsa_primitive.ts";
import type { RsaPadding, RsaPrivateKey, RsaPublicKey } from "./rsa_types.ts";

function _assertPadding(padding: unknown): asserts padding is RsaPadding {
  if (padding !== "oaep" && padding !== "pkcs1v15") {
    const shown = typeof padding === "string" ? JSON.stringify(padding) : typeof padding;
    throw new TypeError(`Expected padding to be "oaep" or "pkcs1v15", got ${shown}`);
  }
}

function _assertLabel(label: unknown, padding: RsaPadding): void {
  if (label === undefined) return;
  if (padding !== "oaep") {
    throw new TypeError(`A label is only allowed with "oaep" padding, not "${padding}"`);
  }
  assertBytes(label, "label");
}

/**
 * The longest message `rsaEncrypt` accepts for `publicKey` and `padding`: k - 66 bytes
 * for OAEP-SHA-256 (190 for RSA-2048), k - 11 for PKCS#1 v1.5 (245 for RSA-2048). Throws
 * `RangeError` for OAEP with a modulus under 66 bytes, which cannot hold OAEP at all.
 */
export function rsaMaxMessageLength(publicKey: RsaPublicKey, padding: RsaPadding): number {
  assertRsaPublicKey(publicKey);
  _assertPadding(padding);
  return padding === "oaep" ? oaepMaxMessageLength(publicKey) : pkcs1v15MaxMessageLength(publicKey);
}

/**
 * Encrypts `message` to `publicKey` with the given padding; the ciphertext is k bytes.
 * `label` (OAEP only) is bound to the ciphertext and must be given again to decrypt.
 * Throws `RangeError` naming the maximum when the message is too long for the key and
 * padding, and `TypeError` for arguments of the wrong type or a label with PKCS#1 v1.5.
 */
export function rsaEncrypt(
  publicKey: RsaPublicKey,
  message: Uint8Array,
  padding: RsaPadding,
  label?: Uint8Array,
): Uint8Array {
  assertRsaPublicKey(publicKey);
  assertBytes(message, "message");
  _assertPadding(padding);
  _assertLabel(label, padding);
  return padding === "oaep"
    ? oaepEncrypt(publicKey, message, label)
    : pkcs1v15Encrypt(publicKey, message);
}

/**
 * Decrypts a k-byte `ciphertext` with `privateKey`. Every failure caused by the
 * ciphertext or label (wrong length, out of range, bad padding, wrong key, other label)
 * throws the same `DecryptionError`; `TypeError` / `RangeError` mean a bad argument.
 */
export function rsaDecrypt(
  privateKey: RsaPrivateKey,
  ciphertext: Uint8Array,
  padding: RsaPadding,
  label?: Uint8Array,
): Uint8Array {
  assertRsaPrivateKey(privateKey);
  assertBytes(ciphertext, "ciphertext");
  _assertPadding(padding);
  _assertLabel(label, padding);
  return padding === "oaep"
    ? oaepDecrypt(privateKey, ciphertext, label)
    : pkcs1v15Decrypt(privateKey, ciphertext);
}
