/**
 * Fernet symmetric tokens, as in the Fernet spec (https://github.com/fernet/spec, Spec.md),
 * byte-compatible with Python's `cryptography.fernet` (checked against cryptography 38).
 *
 * Key:   url-safe base64 (with padding) of 32 bytes: the first 16 are the HMAC-SHA256 signing
 *        key, the last 16 the AES-128 encryption key.
 * Token: url-safe base64 (with padding) of
 *        `0x80 | timestamp (u64 big-endian, Unix seconds) | IV (16) | AES-128-CBC/PKCS#7
 *        ciphertext | HMAC-SHA256(signing key, everything before it) (32)`.
 *
 * Decryption follows `cryptography` exactly: without a ttl there is no time check at all; with
 * a ttl the token is rejected when `timestamp + ttl < now` or `timestamp > now + 60` (the
 * allowed clock skew). The MAC is checked, in constant time, before anything is decrypted, and
 * every failure throws the same `InvalidToken`, so an attacker learns nothing about which check
 * failed (no padding or MAC oracle).
 *
 * Decoding is stricter than Python's lenient base64 decoder, which skips characters outside
 * the alphabet: here keys and tokens must be canonical padded url-safe base64. Everything
 * `cryptography` produces is canonical, so this only rejects strings it would never write.
 *
 * @module
 */

import { cbc } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  assertBytes,
  equalBytes,
  fromBase64Url,
  randomBytes,
  toBase64Url,
  zeroize,
} from "./bytes.ts";
import { InvalidToken, KeyFormatError } from "./errors.ts";

/** Options of {@linkcode fernetEncrypt}. */
export interface FernetEncryptOptions {
  /** Token timestamp in Unix seconds, rounded down; defaults to the current time. */
  now?: number;
  /** 16-byte CBC initialization vector; defaults to fresh random bytes. Fix it only in tests. */
  iv?: Uint8Array;
}

/** Options of {@linkcode fernetDecrypt}. */
export interface FernetDecryptOptions {
  /** Maximum token age in seconds; without it the timestamp is not checked at all. */
  ttl?: number;
  /** Current time in Unix seconds; defaults to the current time. Only used with `ttl`. */
  now?: number;
}

const _VERSION = 0x80;
const _MAX_CLOCK_SKEW = 60;
const _IV_LEN = 16;
const _BLOCK = 16;
const _MAC_LEN = 32;
// version (1) + timestamp (8) + IV (16)
const _HEADER_LEN = 25;
// A token always holds at least one ciphertext block, since PKCS#7 always pads.
const _MIN_TOKEN_LEN = _HEADER_LEN + _BLOCK + _MAC_LEN;
const _KEY_B64_LEN = 44;
const _KEY_ERROR = "Invalid Fernet key: expected 32 url-safe base64-encoded bytes (44 characters)";

/**
 * Generates a new random Fernet key: 32 bytes from the OS CSPRNG as url-safe base64 with
 * padding (44 characters), the format of Python's `Fernet.generate_key()`.
 */
export function generateFernetKey(): string {
  const key = randomBytes(32);
  const text = toBase64Url(key);
  zeroize(key);
  return text;
}

/**
 * Encrypts `plaintext` into a Fernet token (url-safe base64 with padding, as Python writes).
 *
 * @param key A Fernet key from {@linkcode generateFernetKey} or Python's `Fernet.generate_key()`.
 * @param plaintext The bytes to encrypt; may be empty.
 * @param opts `now` (Unix seconds) and `iv` override the timestamp and the random IV.
 * @throws {KeyFormatError} If `key` is not 32 url-safe base64-encoded bytes.
 * @throws {TypeError | RangeError} If `plaintext` or `opts` are malformed.
 */
export function fernetEncrypt(
  key: string,
  plaintext: Uint8Array,
  opts: FernetEncryptOptions = {},
): string {
  _checkOptions(opts);
  assertBytes(plaintext, "plaintext");
  const now = opts.now === undefined ? _currentTime() : Math.floor(_checkSeconds(opts.now, "now"));
  if (opts.iv !== undefined) assertBytes(opts.iv, "iv", _IV_LEN);
  const iv = opts.iv ?? randomBytes(_IV_LEN);
  const k = _decodeKey(key);
  try {
    const ciphertext = cbc(k.subarray(16), iv).encrypt(plaintext);
    const macStart = _HEADER_LEN + ciphertext.length;
    const token = new Uint8Array(macStart + _MAC_LEN);
    token[0] = _VERSION;
    // The timestamp is a u64; split it because bit operations in JS are 32-bit.
    const view = new DataView(token.buffer);
    view.setUint32(1, Math.floor(now / 0x100000000));
    view.setUint32(5, now >>> 0);
    token.set(iv, 9);
    token.set(ciphertext, _HEADER_LEN);
    token.set(hmac(sha256, k.subarray(0, 16), token.subarray(0, macStart)), macStart);
    return toBase64Url(token);
  } finally {
    zeroize(k);
  }
}

/**
 * Verifies and decrypts a Fernet token, with the same rules as Python's `Fernet.decrypt()`:
 * with a `ttl`, tokens older than `ttl` seconds or more than 60 seconds in the future are
 * rejected; without one, the timestamp is not checked.
 *
 * @param key The Fernet key the token was made with.
 * @param token The token, url-safe base64 with padding.
 * @param opts `ttl` (seconds) enables the age check; `now` (Unix seconds) overrides the clock.
 * @returns The plaintext.
 * @throws {InvalidToken} For every bad token, with one message whatever the reason.
 * @throws {KeyFormatError} If `key` is not 32 url-safe base64-encoded bytes.
 * @throws {TypeError | RangeError} If `token` is not a string or `opts` are malformed.
 */
export function fernetDecrypt(
  key: string,
  token: string,
  opts: FernetDecryptOptions = {},
): Uint8Array {
  _checkOptions(opts);
  const ttl = opts.ttl === undefined ? undefined : _checkSeconds(opts.ttl, "ttl");
  const now = opts.now === undefined ? undefined : _checkSeconds(opts.now, "now");
  _checkTokenType(token);
  const k = _decodeKey(key);
  try {
    const data = _decodeToken(token);
    if (ttl !== undefined) {
      const timestamp = _timestamp(data);
      const current = now ?? _currentTime();
      if (timestamp + ttl < current) throw new InvalidToken();
      if (current + _MAX_CLOCK_SKEW < timestamp) throw new InvalidToken();
    }
    _verifyMac(k, data);
    const iv = data.subarray(9, _HEADER_LEN);
    const ciphertext = data.subarray(_HEADER_LEN, data.length - _MAC_LEN);
    try {
      return cbc(k.subarray(16), iv).decrypt(ciphertext);
    } catch {
      // Bad PKCS#7 padding; only reachable with the right key, but keep the single error.
      throw new InvalidToken();
    }
  } finally {
    zeroize(k);
  }
}

/**
 * Returns a token's timestamp (Unix seconds) after verifying its MAC, like Python's
 * `Fernet.extract_timestamp()`. It does not decrypt and does not check the age. Timestamps
 * beyond 2^53 seconds (never written by a sane clock) come back rounded to a double.
 *
 * @throws {InvalidToken} If the token is malformed or its MAC does not verify.
 * @throws {KeyFormatError} If `key` is not 32 url-safe base64-encoded bytes.
 */
export function fernetTimestamp(key: string, token: string): number {
  _checkTokenType(token);
  const k = _decodeKey(key);
  try {
    const data = _decodeToken(token);
    _verifyMac(k, data);
    return _timestamp(data);
  } finally {
    zeroize(k);
  }
}

function _decodeKey(key: string): Uint8Array {
  if (typeof key !== "string") {
    throw new TypeError(`Expected the Fernet key to be a string, got ${typeof key}`);
  }
  // Python requires the padded form, so the key is always exactly 44 characters.
  if (key.length !== _KEY_B64_LEN) throw new KeyFormatError(_KEY_ERROR);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(key);
  } catch {
    throw new KeyFormatError(_KEY_ERROR);
  }
  if (bytes.length !== 32) {
    zeroize(bytes);
    throw new KeyFormatError(_KEY_ERROR);
  }
  return bytes;
}

function _checkTokenType(token: unknown): asserts token is string {
  // A wrong type is a programming error, not a bad token, as in Python.
  if (typeof token !== "string") {
    throw new TypeError(`Expected the Fernet token to be a string, got ${typeof token}`);
  }
}

/** Decodes and checks the token's structure; only the MAC and the padding are left. */
function _decodeToken(token: string): Uint8Array {
  // Padding is required, as in Python, so one token has one spelling.
  if (token.length % 4 !== 0) throw new InvalidToken();
  let data: Uint8Array;
  try {
    data = fromBase64Url(token);
  } catch {
    throw new InvalidToken();
  }
  if (
    data.length < _MIN_TOKEN_LEN || data[0] !== _VERSION ||
    (data.length - _HEADER_LEN - _MAC_LEN) % _BLOCK !== 0
  ) {
    throw new InvalidToken();
  }
  return data;
}

function _verifyMac(key: Uint8Array, data: Uint8Array): void {
  const macStart = data.length - _MAC_LEN;
  const expected = hmac(sha256, key.subarray(0, 16), data.subarray(0, macStart));
  if (!equalBytes(expected, data.subarray(macStart))) throw new InvalidToken();
}

function _timestamp(data: Uint8Array): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // Exact up to 2^53 seconds; larger values are far in the future either way.
  return view.getUint32(1) * 0x100000000 + view.getUint32(5);
}

function _currentTime(): number {
  return Math.floor(Date.now() / 1000);
}

function _checkOptions(opts: unknown): void {
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(
      `Expected options to be an object, got ${opts === null ? "null" : typeof opts}`,
    );
  }
}

function _checkSeconds(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`Expected ${name} to be a finite number of seconds, got ${String(value)}`);
  }
  if (value < 0 || value > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      `Expected ${name} to be between 0 and ${Number.MAX_SAFE_INTEGER} seconds, got ${value}`,
    );
  }
  return value;
}
