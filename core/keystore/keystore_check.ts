/**
 * Input checks of the keystore. Every public method checks its arguments here before it
 * touches the database, so a bad call fails with a TypeError or RangeError that says what
 * was wrong and what was expected, and nothing half-written is left behind.
 *
 * Keys are also normalized here, so that comparing a friend's pinned keys with the ones
 * the directory shows does not depend on how they were spelled: RSA public keys become
 * SPKI PEM, identity keys url-safe base64 without padding (the server's form).
 *
 * Identifiers follow the protocol's limits (`core/protocol/limits.ts`): the keystore
 * stores what the server and peers sent, which the protocol has already bounded.
 *
 * @module
 */

import {
  exportRsaPublicKey,
  fromBase64Url,
  importRsaPrivateKey,
  importRsaPublicKey,
  publicKeyFromSecret,
  toBase64Url,
  utf8,
  zeroize,
} from "../crypto/mod.ts";
import { LIMITS } from "../protocol/limits.ts";
import type { ConversationKind, FileMeta } from "./keystore_types.ts";

/** Most characters in a stored message text (1 MiB of UTF-16 code units). */
export const MAX_TEXT_CHARS = 1024 * 1024;
/** Most messages one `history()` call returns. */
export const MAX_HISTORY_LIMIT = 10_000;
/** Most characters in a device's name (docs/CRYPTO.md, "Labels and parameters"). */
export const MAX_DEVICE_NAME_CHARS = 64;
/** Most UTF-8 bytes of a pinned device list's JSON text (64 KiB). */
export const MAX_DEVICE_LIST_BYTES = 64 * 1024;

const _MAX_PASSWORD_CHARS = 1024;
const _MAX_TOKEN_CHARS = 512;
const _MAX_FILE_NAME_CHARS = 255;
const _MAX_PATH_CHARS = 4096;
const _MAX_PEM_CHARS = 16 * 1024;
const _TOKEN = /^[\x21-\x7e]+$/;
const _SHA256_HEX = /^[0-9a-f]{64}$/;
const _FERNET_KEY = /^[A-Za-z0-9_-]{43}=$/;
const _IDENTITY_KEY = /^[A-Za-z0-9_-]{43}=?$/;
const _SHA256_B64URL = /^[A-Za-z0-9_-]{43}$/;
// Control characters (C0, DEL, C1): a name is shown on one line in lists of devices.
const _CONTROL = /\p{Cc}/u;

/** Names a value's type for an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

/** Throws TypeError unless `value` is a non-null, non-array object. */
export function checkObject(name: string, value: unknown): asserts value is object {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object, got ${describeValue(value)}`);
  }
}

/** A server-side ID: a positive safe integer. */
export function checkId(name: string, value: unknown): asserts value is number {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${describeValue(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

/** A count, epoch or Unix-milliseconds time: a non-negative safe integer. */
export function checkCount(name: string, value: unknown): asserts value is number {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${describeValue(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

/** A `history()` limit: 1 to {@linkcode MAX_HISTORY_LIMIT}. */
export function checkLimit(name: string, value: unknown): asserts value is number {
  checkCount(name, value);
  if (value < 1 || value > MAX_HISTORY_LIMIT) {
    throw new RangeError(`${name} must be from 1 to ${MAX_HISTORY_LIMIT}, got ${value}`);
  }
}

/** A boolean. */
export function checkBoolean(name: string, value: unknown): asserts value is boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(`${name} must be a boolean, got ${describeValue(value)}`);
  }
}

/** A string matching `pattern`, described as `expected` in the error. */
function _pattern(name: string, value: unknown, pattern: RegExp, expected: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${describeValue(value)}`);
  }
  if (!pattern.test(value)) throw new RangeError(`${name} must be ${expected}, got "${value}"`);
  return value;
}

/** A username as the protocol allows. */
export function checkUsername(name: string, value: unknown): asserts value is string {
  _pattern(
    name,
    value,
    LIMITS.usernamePattern,
    "3 to 32 letters, digits, '_', '.' or '-', starting with a letter or digit",
  );
}

/** A client message ID or a key ID: 1 to 64 letters, digits, `_`, `.`, `:`, `-`. */
export function checkShortId(name: string, value: unknown): asserts value is string {
  _pattern(
    name,
    value,
    LIMITS.clientMsgIdPattern,
    "1 to 64 letters, digits, '_', '.', ':' or '-'",
  );
}

/** A session token: 1 to 512 printable ASCII characters (not spaces). */
export function checkSessionToken(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${describeValue(value)}`);
  }
  if (value.length < 1 || value.length > _MAX_TOKEN_CHARS || !_TOKEN.test(value)) {
    // The token is a secret: never echo it.
    throw new RangeError(`${name} must be 1 to ${_MAX_TOKEN_CHARS} printable ASCII characters`);
  }
}

/** A Fernet key: url-safe base64 with padding of 32 bytes (44 characters). */
export function checkFernetKey(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${describeValue(value)}`);
  }
  // The last character before '=' carries 2 unused bits, which must be zero to be canonical.
  if (!_FERNET_KEY.test(value) || !_decodes(value, 32)) {
    // The key is a secret: never echo it.
    throw new RangeError(`${name} must be a Fernet key (url-safe base64 of 32 bytes, 44 chars)`);
  }
}

/**
 * A password: a well-formed string of 1 to 1024 characters.
 *
 * @throws {TypeError} If it is not a string or has lone surrogates.
 * @throws {RangeError} If it is empty or too long.
 */
export function checkPassword(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${describeValue(value)}`);
  }
  if (value.length === 0 || value.length > _MAX_PASSWORD_CHARS) {
    throw new RangeError(
      `${name} must be 1 to ${_MAX_PASSWORD_CHARS} characters, got ${value.length}`,
    );
  }
  // UTF-8 encoding would silently replace lone surrogates, so two passwords would collide.
  if (!value.isWellFormed()) {
    throw new TypeError(`${name} must be well-formed Unicode (no lone surrogates)`);
  }
}

/** A group name: 1 to 64 characters without NUL. */
export function checkGroupName(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${describeValue(value)}`);
  }
  if (value.length < LIMITS.groupNameMin || value.length > LIMITS.groupNameMax) {
    throw new RangeError(
      `${name} must be ${LIMITS.groupNameMin} to ${LIMITS.groupNameMax} characters, got ${value.length}`,
    );
  }
  if (value.includes("\0")) throw new TypeError(`${name} must not contain NUL characters`);
  _wellFormed(name, value);
}

/** A message text: well-formed, at most {@linkcode MAX_TEXT_CHARS}; may be empty. */
export function checkText(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${describeValue(value)}`);
  }
  if (value.length > MAX_TEXT_CHARS) {
    throw new RangeError(
      `${name} must be at most ${MAX_TEXT_CHARS} characters, got ${value.length}`,
    );
  }
  // Stored as UTF-8, which cannot carry lone surrogates.
  if (!value.isWellFormed()) {
    throw new TypeError(`${name} must be well-formed Unicode (no lone surrogates)`);
  }
}

/** `"direct"` or `"group"`. */
export function checkKind(name: string, value: unknown): asserts value is ConversationKind {
  if (value !== "direct" && value !== "group") {
    throw new TypeError(`${name} must be "direct" or "group", got ${String(value)}`);
  }
}

/** Member IDs: positive integers, each once, at most the protocol's group size; sorted copy. */
export function checkMembers(name: string, value: unknown): number[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${name} must be an array of user IDs, got ${describeValue(value)}`);
  }
  if (value.length > LIMITS.groupMembers) {
    throw new RangeError(
      `${name} must list at most ${LIMITS.groupMembers} members, got ${value.length}`,
    );
  }
  const seen = new Set<number>();
  for (let i = 0; i < value.length; i++) {
    const id: unknown = value[i];
    checkId(`${name}[${i}]`, id);
    if (seen.has(id)) throw new RangeError(`${name} lists user ID ${id} twice; list each once`);
    seen.add(id);
  }
  return [...seen].sort((a, b) => a - b);
}

/** File details of a file message; returns a plain copy. */
export function checkFileMeta(name: string, value: unknown): FileMeta {
  checkObject(name, value);
  const f = value as Partial<FileMeta>;
  if (typeof f.name !== "string") {
    throw new TypeError(`${name}.name must be a string, got ${describeValue(f.name)}`);
  }
  if (f.name.length < 1 || f.name.length > _MAX_FILE_NAME_CHARS || /[\0/\\]/.test(f.name)) {
    throw new RangeError(
      `${name}.name must be 1 to ${_MAX_FILE_NAME_CHARS} characters without '/', '\\' or NUL`,
    );
  }
  _wellFormed(`${name}.name`, f.name);
  if (f.path !== null) {
    if (typeof f.path !== "string") {
      throw new TypeError(`${name}.path must be a string or null, got ${describeValue(f.path)}`);
    }
    if (f.path.length < 1 || f.path.length > _MAX_PATH_CHARS || f.path.includes("\0")) {
      throw new RangeError(
        `${name}.path must be 1 to ${_MAX_PATH_CHARS} characters without NUL, or null`,
      );
    }
    _wellFormed(`${name}.path`, f.path);
  }
  checkCount(`${name}.size`, f.size);
  _pattern(`${name}.sha256`, f.sha256, _SHA256_HEX, "64 lowercase hex digits");
  return { name: f.name, path: f.path, size: f.size, sha256: f.sha256 as string };
}

/** Parses an RSA public key PEM (SPKI or PKCS#1) and returns it as SPKI PEM. */
export function normalizeRsaPublicKey(name: string, value: unknown): string {
  const pem = _pem(name, value);
  try {
    return exportRsaPublicKey(importRsaPublicKey(pem), "spki");
  } catch (err) {
    throw new TypeError(
      `${name} must be an RSA public key PEM (SPKI or PKCS#1): ${(err as Error).message}`,
    );
  }
}

/**
 * Checks that an RSA private key PEM (PKCS#8 or PKCS#1) parses and belongs to the public
 * key `publicPem` (already normalized).
 */
export function checkRsaKeyPair(name: string, value: unknown, publicPem: string): string {
  const pem = _pem(name, value);
  let priv;
  try {
    priv = importRsaPrivateKey(pem);
  } catch (err) {
    // Not the parser's message: it could quote part of the secret.
    throw new TypeError(`${name} must be an RSA private key PEM (PKCS#8 or PKCS#1)`, {
      cause: err,
    });
  }
  const pub = importRsaPublicKey(publicPem);
  if (priv.n !== pub.n || priv.e !== pub.e) {
    throw new RangeError(`${name} does not match the RSA public key; pass the pair's own keys`);
  }
  return pem;
}

/** Checks url-safe base64 (padded or not) of 32 bytes and returns it without padding. */
export function normalizeIdentityKey(name: string, value: unknown): string {
  _pattern(name, value, _IDENTITY_KEY, "url-safe base64 of a 32-byte Ed25519 public key");
  const text = value as string;
  if (!_decodes(text, 32)) {
    throw new RangeError(`${name} must be url-safe base64 of a 32-byte Ed25519 public key`);
  }
  return text.endsWith("=") ? text.slice(0, -1) : text;
}

/** Checks a 32-byte Ed25519 secret key against its (normalized) public key. */
export function checkIdentityKeyPair(name: string, value: unknown, publicKey: string): void {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Uint8Array, got ${describeValue(value)}`);
  }
  if (value.length !== 32) {
    throw new RangeError(`${name} must be 32 bytes (an Ed25519 seed), got ${value.length}`);
  }
  const derived = publicKeyFromSecret(value);
  const ok = toBase64Url(derived, false) === publicKey;
  zeroize(derived);
  if (!ok) {
    throw new RangeError(
      `${name} does not match the identity public key; pass the pair's own keys`,
    );
  }
}

/** A device's name: 1 to 64 characters, well-formed, without control characters. */
export function checkDeviceName(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${describeValue(value)}`);
  }
  if (value.length < 1 || value.length > MAX_DEVICE_NAME_CHARS) {
    throw new RangeError(
      `${name} must be 1 to ${MAX_DEVICE_NAME_CHARS} characters, got ${value.length}`,
    );
  }
  _wellFormed(name, value);
  if (_CONTROL.test(value)) {
    throw new RangeError(`${name} must not contain control characters (tabs, newlines, ...)`);
  }
}

/** A device list's hash: url-safe base64 without padding of 32 bytes (43 characters). */
export function checkDeviceListHash(name: string, value: unknown): asserts value is string {
  _pattern(name, value, _SHA256_B64URL, "url-safe base64 of a 32-byte SHA-256 (43 characters)");
  if (!_decodes(value as string, 32)) {
    throw new RangeError(`${name} must be canonical url-safe base64 of 32 bytes, got "${value}"`);
  }
}

/** A device list's JSON text: not empty, well-formed, at most 64 KiB in UTF-8. */
export function checkDeviceListBody(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${describeValue(value)}`);
  }
  // Stored as UTF-8, which cannot carry lone surrogates.
  _wellFormed(name, value);
  const bytes = utf8(value).length;
  if (bytes < 1 || bytes > MAX_DEVICE_LIST_BYTES) {
    throw new RangeError(
      `${name} must be 1 to ${MAX_DEVICE_LIST_BYTES} bytes of JSON text, got ${bytes}`,
    );
  }
}

function _pem(name: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a PEM string, got ${describeValue(value)}`);
  }
  if (value.length === 0 || value.length > _MAX_PEM_CHARS) {
    throw new RangeError(`${name} must be 1 to ${_MAX_PEM_CHARS} characters, got ${value.length}`);
  }
  return value;
}

function _wellFormed(name: string, value: string): void {
  if (!value.isWellFormed()) {
    throw new TypeError(`${name} must be well-formed Unicode (no lone surrogates)`);
  }
}

/** Whether `text` is canonical url-safe base64 of `length` bytes. */
function _decodes(text: string, length: number): boolean {
  try {
    const bytes = fromBase64Url(text);
    const ok = bytes.length === length;
    zeroize(bytes);
    return ok;
  } catch {
    return false;
  }
}
