/**
 * The proof a device gives when it logs in (`login_device`, docs/PROTOCOL.md "Devices"; the
 * design in docs/CRYPTO.md): an Ed25519 signature by the device's signing key over the
 * server's one-time nonce, the account and the device. The nonce is the server's and lives
 * on one connection, so a recorded proof logs nobody in again; the account and device IDs
 * are signed so a proof for one device cannot be replayed as another's.
 *
 * @module
 */

import { concat, fromBase64Url, toBase64Url, utf8 } from "../crypto/bytes.ts";
import { sign, verify } from "../crypto/ed25519.ts";

/** What every signed login starts with (then a zero byte). */
export const DEVICE_LOGIN_PREFIX = "fastchat-device-login-v1";

/** Bytes of a 32-byte nonce as url-safe base64 without padding. */
const _NONCE_CHARS = 43;

/**
 * The bytes a device signs to log in: the prefix, a zero byte, the nonce's 32 bytes, then
 * the user ID and the device ID as 8-byte big-endian integers.
 *
 * @throws {TypeError} for a nonce that is not 32 bytes of url-safe base64, or IDs that are
 *   not positive safe integers.
 */
export function deviceLoginBytes(nonce: string, userId: number, deviceId: number): Uint8Array {
  if (typeof nonce !== "string" || nonce.length !== _NONCE_CHARS) {
    throw new TypeError("Expected the nonce as 43 characters of url-safe base64");
  }
  const raw = fromBase64Url(nonce);
  if (raw.length !== 32) throw new TypeError("Expected a nonce of 32 bytes");
  return concat(
    utf8(DEVICE_LOGIN_PREFIX),
    new Uint8Array([0]),
    raw,
    _u64(userId, "userId"),
    _u64(deviceId, "deviceId"),
  );
}

/** Signs a login for `deviceId` of `userId`; returns the signature as url-safe base64. */
export function signDeviceLogin(
  secretKey: Uint8Array,
  nonce: string,
  userId: number,
  deviceId: number,
): string {
  return toBase64Url(sign(secretKey, deviceLoginBytes(nonce, userId, deviceId)), false);
}

/**
 * Whether `signature` (url-safe base64) is the device's login over this nonce; false for a
 * malformed signature or key, never a throw for what came from the network.
 */
export function verifyDeviceLogin(
  publicKey: Uint8Array,
  signature: string,
  nonce: string,
  userId: number,
  deviceId: number,
): boolean {
  let sig: Uint8Array;
  try {
    sig = fromBase64Url(signature);
  } catch {
    return false;
  }
  if (sig.length !== 64 || publicKey.length !== 32) return false;
  return verify(publicKey, deviceLoginBytes(nonce, userId, deviceId), sig);
}

function _u64(n: number, name: string): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new TypeError(`Expected ${name} to be a positive safe integer, got ${String(n)}`);
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}
