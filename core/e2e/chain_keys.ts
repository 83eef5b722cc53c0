/**
 * The symmetric-key chain both the Double Ratchet (`double_ratchet.ts`) and group sender keys
 * (`sender_keys.ts`) advance once per message, after Signal's Double Ratchet specification
 * (section 5.2, KDF_CK with HMAC-SHA-256 and the constants it recommends), and the house step
 * that turns each message key into a Fernet key so every message body stays a Fernet token
 * (docs/CRYPTO.md).
 *
 * @module
 */

import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { toBase64Url, zeroize } from "../crypto/bytes.ts";

/** The HMAC input that derives a message key from a chain key. */
export const MESSAGE_KEY_BYTE = 0x01;
/** The HMAC input that derives the next chain key. */
export const CHAIN_KEY_BYTE = 0x02;

const _ZERO_SALT = new Uint8Array(32);

/** One chain step: (next chain key, message key) = (HMAC(ck, 0x02), HMAC(ck, 0x01)). */
export function chainStep(ck: Uint8Array): [Uint8Array, Uint8Array] {
  return [
    hmac(sha256, ck, Uint8Array.of(CHAIN_KEY_BYTE)),
    hmac(sha256, ck, Uint8Array.of(MESSAGE_KEY_BYTE)),
  ];
}

/**
 * The Fernet key of a message key: HKDF-SHA-256(mk, 32 zero bytes as salt, `info`), 32 bytes
 * (16 signing, 16 encryption, as a Fernet key holds), url-safe base64.
 */
export function messageFernetKey(mk: Uint8Array, info: Uint8Array): string {
  const raw = hkdf(sha256, mk, _ZERO_SALT, info, 32);
  const key = toBase64Url(raw);
  zeroize(raw);
  return key;
}
