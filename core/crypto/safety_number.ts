/**
 * Safety numbers: 60 digits two users compare out of band (read aloud, or side by side) to
 * make sure each holds the other's real identity key, after Signal's numeric fingerprints
 * (libsignal `NumericFingerprintGenerator`, version 0 display format).
 *
 * Construction, for each side with Ed25519 identity key `key` (32 bytes) and user id `id`:
 *
 *   1. `stableId` = UTF-8 of the id as text (a number is written in decimal, so `42` and
 *      `"42"` are the same user).
 *   2. `hash` = SHA-512(0x00 0x00 || key || stableId)      (2-byte version 0, big-endian)
 *   3. 5199 more times: `hash` = SHA-512(hash || key)      (5200 iterations in all)
 *   4. The first 30 bytes of `hash` are six 5-byte chunks; each, read as a big-endian
 *      40-bit unsigned integer mod 100000, gives 5 decimal digits, zero-padded: 30 digits.
 *
 * The two 30-digit halves are joined with the smaller string first, so both users see the
 * same 60 digits whoever computes them. The iterations make it costly to search for a
 * second key whose half collides with someone's. Unlike Signal, the key is the raw 32-byte
 * Ed25519 key, without Signal's one-byte key-type prefix, so the digits differ from Signal's.
 *
 * @module
 */

import { sha512 } from "@noble/hashes/sha2.js";
import { assertBytes, utf8 } from "./bytes.ts";

const _ITERATIONS = 5200;
const _VERSION = new Uint8Array([0, 0]);
const _KEY_LEN = 32;
const _HASH_LEN = 64;
const _MAX_ID_LEN = 1024;

/**
 * Computes the 60-digit safety number of two users' identity keys. Both users get the same
 * string: swapping "my" and "their" arguments does not change it.
 *
 * @param myUserId My user id: a non-negative safe integer or a non-empty string.
 * @param myIdentityKey My 32-byte Ed25519 public identity key.
 * @param theirUserId Their user id, as `myUserId`.
 * @param theirIdentityKey Their 32-byte Ed25519 public identity key.
 * @returns 60 decimal digits, without separators; see {@linkcode formatSafetyNumber}.
 * @throws {TypeError | RangeError} If an id or key is malformed.
 */
export function safetyNumber(
  myUserId: number | string,
  myIdentityKey: Uint8Array,
  theirUserId: number | string,
  theirIdentityKey: Uint8Array,
): string {
  const myId = _stableId(myUserId, "myUserId");
  const theirId = _stableId(theirUserId, "theirUserId");
  assertBytes(myIdentityKey, "myIdentityKey", _KEY_LEN);
  assertBytes(theirIdentityKey, "theirIdentityKey", _KEY_LEN);
  const mine = _half(myIdentityKey, myId);
  const theirs = _half(theirIdentityKey, theirId);
  return mine <= theirs ? mine + theirs : theirs + mine;
}

/** How {@linkcode formatSafetyNumber} lays the groups out. */
export interface FormatSafetyNumberOptions {
  /**
   * Groups per line, a divisor of 12: `4` gives Signal's three lines of four groups (23
   * columns each, for narrow terminals); the default `12` keeps all on one line.
   */
  readonly groupsPerLine?: 1 | 2 | 3 | 4 | 6 | 12;
}

/**
 * Formats a 60-digit safety number as 12 groups of 5 digits, the way it is shown to users:
 * groups separated by a space, lines (when `groupsPerLine` is less than 12) by `"\n"`.
 *
 * @example
 * ```ts
 * formatSafetyNumber("12345".repeat(12)); // "12345 12345 ... 12345" (one line)
 * formatSafetyNumber("12345".repeat(12), { groupsPerLine: 4 }); // three lines of four groups
 * ```
 *
 * @throws {TypeError} If `safetyNumber` is not a string of exactly 60 digits.
 * @throws {RangeError} If `groupsPerLine` does not divide 12.
 */
export function formatSafetyNumber(
  safetyNumber: string,
  options: FormatSafetyNumberOptions = {},
): string {
  if (typeof safetyNumber !== "string" || !/^[0-9]{60}$/.test(safetyNumber)) {
    throw new TypeError("Expected a safety number of exactly 60 decimal digits");
  }
  const perLine = options.groupsPerLine ?? 12;
  if (!Number.isInteger(perLine) || perLine < 1 || 12 % perLine !== 0) {
    throw new RangeError(`Expected groupsPerLine to divide 12, got ${perLine}`);
  }
  const groups = safetyNumber.match(/[0-9]{5}/g)!;
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += perLine) {
    lines.push(groups.slice(i, i + perLine).join(" "));
  }
  return lines.join("\n");
}

function _stableId(id: unknown, name: string): Uint8Array {
  if (typeof id === "number") {
    if (!Number.isSafeInteger(id) || id < 0) {
      throw new RangeError(`Expected ${name} to be a non-negative safe integer, got ${id}`);
    }
    return utf8(String(id));
  }
  if (typeof id === "string") {
    if (id.length === 0 || id.length > _MAX_ID_LEN) {
      throw new RangeError(
        `Expected ${name} to be a string of 1 to ${_MAX_ID_LEN} characters, got ${id.length}`,
      );
    }
    // Lone surrogates would all encode to U+FFFD, making distinct ids look the same.
    if (!id.isWellFormed()) {
      throw new TypeError(`Expected ${name} to be well-formed Unicode text`);
    }
    return utf8(id);
  }
  throw new TypeError(`Expected ${name} to be a number or a string, got ${typeof id}`);
}

/** The 30-digit half of one side: Signal's iterated hash and 5-digit chunk encoding. */
function _half(key: Uint8Array, stableId: Uint8Array): string {
  const first = new Uint8Array(_VERSION.length + _KEY_LEN + stableId.length);
  first.set(_VERSION, 0);
  first.set(key, _VERSION.length);
  first.set(stableId, _VERSION.length + _KEY_LEN);
  // Later rounds hash `hash || key`: keep the key in place after the hash in one buffer.
  const buf = new Uint8Array(_HASH_LEN + _KEY_LEN);
  buf.set(sha512(first), 0);
  buf.set(key, _HASH_LEN);
  for (let i = 1; i < _ITERATIONS; i++) buf.set(sha512(buf), 0);
  let digits = "";
  for (let chunk = 0; chunk < 6; chunk++) {
    let value = 0;
    // 40-bit values stay exact in a double; `value * 256` instead of `<< 8` avoids 32-bit overflow.
    for (let j = 0; j < 5; j++) value = value * 256 + buf[chunk * 5 + j]!;
    digits += String(value % 100000).padStart(5, "0");
  }
  return digits;
}
