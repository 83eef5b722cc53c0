/**
 * Byte helpers shared by the crypto core: encodings (base64, base64url, hex, UTF-8),
 * constant-time comparison, and zeroing of secrets.
 *
 * Encoders follow RFC 4648. Decoders are strict: they reject characters outside the
 * alphabet, bad padding and non-canonical trailing bits, because a lenient decoder lets
 * two different strings stand for the same bytes (token malleability).
 *
 * @module
 */

import { randomBytes as _nobleRandomBytes } from "@noble/hashes/utils.js";

const _B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const _B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function _decodeTable(alphabet: string): Int16Array {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}
const _B64_TABLE = _decodeTable(_B64);
const _B64URL_TABLE = _decodeTable(_B64URL);

function _encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = "";
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[v >> 18]! + alphabet[(v >> 12) & 63]! + alphabet[(v >> 6) & 63]! +
      alphabet[v & 63]!;
  }
  const rest = n - i;
  if (rest === 1) {
    const v = bytes[i]! << 16;
    out += alphabet[v >> 18]! + alphabet[(v >> 12) & 63]! + (pad ? "==" : "");
  } else if (rest === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[v >> 18]! + alphabet[(v >> 12) & 63]! + alphabet[(v >> 6) & 63]! +
      (pad ? "=" : "");
  }
  return out;
}

function _decode(text: string, table: Int16Array, name: string, padRequired: boolean): Uint8Array {
  if (typeof text !== "string") {
    throw new TypeError(`Expected a ${name} string, got ${typeof text}`);
  }
  let end = text.length;
  let padding = 0;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) {
    end--;
    padding++;
  }
  if (padding > 2) throw new SyntaxError(`Invalid ${name}: too much "=" padding`);
  if (padding > 0 && text.length % 4 !== 0) {
    throw new SyntaxError(`Invalid ${name}: padded length must be a multiple of 4`);
  }
  if (padRequired && text.length % 4 !== 0) {
    throw new SyntaxError(`Invalid ${name}: length must be a multiple of 4`);
  }
  const rem = end % 4;
  if (rem === 1) throw new SyntaxError(`Invalid ${name}: impossible length ${end}`);
  if (padding > 0 && (4 - rem) % 4 !== padding) {
    throw new SyntaxError(`Invalid ${name}: wrong amount of "=" padding`);
  }
  const out = new Uint8Array(Math.floor(end * 3 / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? table[c]! : -1;
    if (v < 0) throw new SyntaxError(`Invalid ${name}: unexpected character at position ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero, otherwise two strings decode to the same bytes.
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) {
    throw new SyntaxError(`Invalid ${name}: non-zero trailing bits`);
  }
  return out;
}

/** Encodes bytes as standard base64 with padding (RFC 4648 section 4). */
export function toBase64(bytes: Uint8Array): string {
  return _encode(bytes, _B64, true);
}

/** Decodes standard base64; padding is required. Throws `SyntaxError` on any malformed input. */
export function fromBase64(text: string): Uint8Array {
  return _decode(text, _B64_TABLE, "base64", true);
}

/** Encodes bytes as url-safe base64 with padding (RFC 4648 section 5), as Python's `urlsafe_b64encode`. */
export function toBase64Url(bytes: Uint8Array, pad = true): string {
  return _encode(bytes, _B64URL, pad);
}

/** Decodes url-safe base64, padded or not. Throws `SyntaxError` on any malformed input. */
export function fromBase64Url(text: string): Uint8Array {
  return _decode(text, _B64URL_TABLE, "base64url", false);
}

/** Encodes bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Decodes hex (either case). Throws `SyntaxError` on odd length or a non-hex character. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== "string") throw new TypeError(`Expected a hex string, got ${typeof hex}`);
  if (hex.length % 2 !== 0) throw new SyntaxError("Invalid hex: length must be even");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const pair = hex.slice(2 * i, 2 * i + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) {
      throw new SyntaxError(`Invalid hex: unexpected character near position ${2 * i}`);
    }
    out[i] = parseInt(pair, 16);
  }
  return out;
}

const _encoder = new TextEncoder();
const _decoder = new TextDecoder("utf-8", { fatal: true });

/** Encodes a string as UTF-8. */
export function utf8(text: string): Uint8Array {
  return _encoder.encode(text);
}

/** Decodes UTF-8, throwing `TypeError` on invalid sequences rather than inserting U+FFFD. */
export function fromUtf8(bytes: Uint8Array): string {
  return _decoder.decode(bytes);
}

/** Concatenates byte arrays into a new array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Compares two byte arrays in time that depends only on their lengths, never on where
 * they differ, so comparing MACs or hashes leaks nothing to a timing attacker.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) {
    throw new TypeError("Expected two Uint8Array values to compare");
  }
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Overwrites secrets with zeros; best effort, since the GC may already hold copies. */
export function zeroize(...arrays: Uint8Array[]): void {
  for (const a of arrays) a.fill(0);
}

/** Returns `n` bytes (any count) from the operating system's CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Expected a non-negative byte count, got ${n}`);
  }
  if (n <= 65536) return _nobleRandomBytes(n);
  // getRandomValues fills at most 64 KiB per call.
  const out = new Uint8Array(n);
  for (let o = 0; o < n; o += 65536) out.set(_nobleRandomBytes(Math.min(65536, n - o)), o);
  return out;
}

/** Throws `TypeError` unless `value` is a `Uint8Array` (of `length`, when given). */
export function assertBytes(
  value: unknown,
  name: string,
  length?: number,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`Expected ${name} to be a Uint8Array, got ${_describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`Expected ${name} to be ${length} bytes, got ${value.length}`);
  }
}

function _describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}
