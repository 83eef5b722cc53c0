/**
 * Password hashing with scrypt (RFC 7914) from @noble/hashes, for server logins.
 *
 * Encoded form, one ASCII string holding everything needed to verify:
 *
 *   `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>`
 *
 * e.g. `$scrypt$ln=15,r=8,p=1$<22 chars>$<43 chars>`. `salt` (16 random bytes when we hash)
 * and `key` (the derived key, `dkLen` bytes, 32 by default) are url-safe base64 without
 * padding (RFC 4648 section 5). The numbers are decimal without leading zeros. The layout
 * follows passlib's scrypt hashes, but the base64 alphabet differs, so they are not
 * interchangeable. `dkLen` is the length of `key`; nothing else is implied.
 *
 * The password is hashed as the UTF-8 bytes of the string exactly as given, with no Unicode
 * normalization, as Python's `hashlib.scrypt(password.encode())`: a client that wants
 * "é" typed two ways to match must normalize (NFC) before sending. Strings with lone
 * surrogates are refused, because UTF-8 encoding would silently replace them.
 *
 * Defaults: N = 2^15, r = 8, p = 1 (32 MiB of memory), about 0.1 s per hash in pure JS on
 * the 2-core build machine. r = 8, p = 1 are RFC 7914 section 2's choice; N = 2^15 is above
 * the scrypt paper's 2^14 for interactive logins but below OWASP's current 2^17, to keep a
 * login near 0.1 s: raise N where logins can afford it (each doubling doubles time and memory).
 * Parameters are bounded both when hashing and when
 * verifying, since an encoded string read back from storage must not be able to make the
 * server allocate gigabytes: N from 2^1 to 2^20, r from 1 to 32, p from 1 to 16,
 * 128·r·N at most 256 MiB, 128·r·N·p at most 1 GiB, dkLen from 16 to 64 bytes.
 *
 * Errors: a wrong password makes `verifyPassword` return false; an encoded string that is not
 * in the format above (or has parameters out of bounds) throws `KeyFormatError`, because it
 * means corrupt storage, not a failed login; arguments of the wrong type throw `TypeError`.
 * The `*Async` variants give the same results without blocking the event loop.
 *
 * @module
 */

import { scrypt, scryptAsync } from "@noble/hashes/scrypt.js";
import { equalBytes, fromBase64Url, randomBytes, toBase64Url, utf8, zeroize } from "./bytes.ts";
import { KeyFormatError } from "./errors.ts";

/** scrypt cost parameters for {@linkcode hashPassword}; any left out take the defaults. */
export interface PasswordHashOptions {
  /** CPU/memory cost, a power of two from 2 to 2^20; default 2^15. */
  N?: number;
  /** Block size, 1 to 32; default 8. */
  r?: number;
  /** Parallelization, 1 to 16; default 1. */
  p?: number;
  /** Derived key length in bytes, 16 to 64; default 32. */
  dkLen?: number;
}

/** The default scrypt parameters of {@linkcode hashPassword}. */
export const DEFAULT_PASSWORD_PARAMS: Readonly<Required<PasswordHashOptions>> = Object.freeze({
  N: 2 ** 15,
  r: 8,
  p: 1,
  dkLen: 32,
});

interface _Params {
  N: number;
  r: number;
  p: number;
  dkLen: number;
}

interface _Parsed extends _Params {
  salt: Uint8Array;
  key: Uint8Array;
}

const _SALT_LEN = 16;
const _MIN_SALT_LEN = 8;
const _MAX_SALT_LEN = 64;
const _MAX_LOG_N = 20;
const _MAX_R = 32;
const _MAX_P = 16;
const _MIN_DKLEN = 16;
const _MAX_DKLEN = 64;
const _MAX_MEM = 256 * 1024 * 1024;
const _MAX_WORK = 1024 * 1024 * 1024;
/**
 * The scrypt costs N that {@linkcode hashPassword} accepts with the default r and p: powers
 * of two from `min` to `max` (2^18: 128·r·N may need at most 256 MiB). For command-line
 * checks, so a bad cost is refused at start-up rather than at the first registration.
 */
export const PASSWORD_N_RANGE: Readonly<{ min: number; max: number }> = Object.freeze({
  min: 2,
  max: Math.min(2 ** _MAX_LOG_N, _MAX_MEM / (128 * DEFAULT_PASSWORD_PARAMS.r)),
});
const _ENCODED =
  /^\$scrypt\$ln=([1-9][0-9]?),r=([1-9][0-9]?),p=([1-9][0-9]?)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/**
 * Hashes a password with scrypt and a fresh random 16-byte salt, returning the encoded form
 * `$scrypt$ln=15,r=8,p=1$<salt>$<key>`. Blocks for the whole computation (about 0.1 s with
 * the defaults); servers should prefer {@linkcode hashPasswordAsync}.
 *
 * @param password The password; hashed as UTF-8 without normalization.
 * @param opts scrypt parameters; see {@linkcode PasswordHashOptions} for bounds.
 * @throws {TypeError} If `password` is not a well-formed string or a parameter not an integer.
 * @throws {RangeError} If a parameter is out of bounds (e.g. N not a power of two, or so large
 *   it would need more than 256 MiB of memory).
 */
export function hashPassword(password: string, opts: PasswordHashOptions = {}): string {
  const params = _resolveParams(opts);
  const pw = _passwordBytes(password);
  const salt = randomBytes(_SALT_LEN);
  const key = scrypt(pw, salt, _nobleOpts(params));
  try {
    return _encode(params, salt, key);
  } finally {
    zeroize(pw, key);
  }
}

/**
 * Checks a password against an encoded hash from {@linkcode hashPassword}, comparing the
 * derived keys in constant time. Uses the parameters stored in `encoded`.
 *
 * @returns true if the password matches, false otherwise.
 * @throws {KeyFormatError} If `encoded` is malformed or its parameters are out of bounds.
 * @throws {TypeError} If an argument is not a string.
 */
export function verifyPassword(password: string, encoded: string): boolean {
  const parsed = _parse(encoded);
  const pw = _verifyPasswordBytes(password);
  if (pw === undefined) return false;
  const key = scrypt(pw, parsed.salt, _nobleOpts(parsed));
  try {
    return equalBytes(key, parsed.key);
  } finally {
    zeroize(pw, key, parsed.key);
  }
}

/**
 * As {@linkcode hashPassword}, but yields to the event loop while it works, so a server
 * keeps serving other connections during the hash.
 */
export async function hashPasswordAsync(
  password: string,
  opts: PasswordHashOptions = {},
): Promise<string> {
  const params = _resolveParams(opts);
  const pw = _passwordBytes(password);
  const salt = randomBytes(_SALT_LEN);
  const key = await scryptAsync(pw, salt, _nobleOpts(params));
  try {
    return _encode(params, salt, key);
  } finally {
    zeroize(pw, key);
  }
}

/**
 * As {@linkcode verifyPassword}, but yields to the event loop while it works. Rejects with
 * the same errors `verifyPassword` throws.
 */
export async function verifyPasswordAsync(password: string, encoded: string): Promise<boolean> {
  const parsed = _parse(encoded);
  const pw = _verifyPasswordBytes(password);
  if (pw === undefined) return false;
  const key = await scryptAsync(pw, parsed.salt, _nobleOpts(parsed));
  try {
    return equalBytes(key, parsed.key);
  } finally {
    zeroize(pw, key, parsed.key);
  }
}

function _passwordBytes(password: unknown): Uint8Array {
  if (typeof password !== "string") {
    throw new TypeError(`Expected the password to be a string, got ${typeof password}`);
  }
  if (!password.isWellFormed()) {
    throw new TypeError("Expected the password to be well-formed Unicode (no lone surrogates)");
  }
  return utf8(password);
}

/** Like `_passwordBytes`, but a password that could never have been hashed just fails. */
function _verifyPasswordBytes(password: unknown): Uint8Array | undefined {
  if (typeof password !== "string") {
    throw new TypeError(`Expected the password to be a string, got ${typeof password}`);
  }
  return password.isWellFormed() ? utf8(password) : undefined;
}

function _resolveParams(opts: unknown): _Params {
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(
      `Expected options to be an object, got ${opts === null ? "null" : typeof opts}`,
    );
  }
  const o = opts as PasswordHashOptions;
  const d = DEFAULT_PASSWORD_PARAMS;
  // Only undefined means "default": a null or other stray value is a caller bug.
  const params = {
    N: _integer(o.N === undefined ? d.N : o.N, "N"),
    r: _integer(o.r === undefined ? d.r : o.r, "r"),
    p: _integer(o.p === undefined ? d.p : o.p, "p"),
    dkLen: _integer(o.dkLen === undefined ? d.dkLen : o.dkLen, "dkLen"),
  };
  const problem = _checkParams(params);
  if (problem !== undefined) throw new RangeError(problem);
  return params;
}

function _integer(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new TypeError(`Expected scrypt parameter ${name} to be an integer, got ${String(value)}`);
  }
  return value;
}

/** Returns what is wrong with the parameters, or undefined if they are within bounds. */
function _checkParams({ N, r, p, dkLen }: _Params): string | undefined {
  if (N < 2 || N > 2 ** _MAX_LOG_N || (N & (N - 1)) !== 0) {
    return `Expected scrypt N to be a power of two from 2 to 2^${_MAX_LOG_N}, got ${N}`;
  }
  if (r < 1 || r > _MAX_R) return `Expected scrypt r to be from 1 to ${_MAX_R}, got ${r}`;
  if (p < 1 || p > _MAX_P) return `Expected scrypt p to be from 1 to ${_MAX_P}, got ${p}`;
  if (dkLen < _MIN_DKLEN || dkLen > _MAX_DKLEN) {
    return `Expected scrypt dkLen to be from ${_MIN_DKLEN} to ${_MAX_DKLEN} bytes, got ${dkLen}`;
  }
  const mem = 128 * r * N;
  if (mem > _MAX_MEM) {
    return `Expected scrypt parameters needing at most 256 MiB (128·r·N), got ${mem} bytes`;
  }
  if (mem * p > _MAX_WORK) {
    return `Expected scrypt parameters with 128·r·N·p at most 1 GiB, got ${mem * p} bytes`;
  }
  return undefined;
}

function _nobleOpts({ N, r, p, dkLen }: _Params) {
  // noble's own memory cap (1 GiB by default) is looser than ours; give it the exact need.
  return { N, r, p, dkLen, maxmem: 128 * r * (N + p + 1) };
}

function _encode({ N, r, p }: _Params, salt: Uint8Array, key: Uint8Array): string {
  const ln = Math.log2(N);
  return `$scrypt$ln=${ln},r=${r},p=${p}$${toBase64Url(salt, false)}$${toBase64Url(key, false)}`;
}

function _parse(encoded: unknown): _Parsed {
  if (typeof encoded !== "string") {
    throw new TypeError(`Expected the encoded password hash to be a string, got ${typeof encoded}`);
  }
  const m = _ENCODED.exec(encoded);
  if (m === null) {
    throw new KeyFormatError(
      "Invalid password hash: expected $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>",
    );
  }
  const ln = Number(m[1]);
  if (ln > _MAX_LOG_N) {
    throw new KeyFormatError(
      `Invalid password hash: expected ln from 1 to ${_MAX_LOG_N}, got ${ln}`,
    );
  }
  let salt: Uint8Array;
  let key: Uint8Array;
  try {
    salt = fromBase64Url(m[4]!);
    key = fromBase64Url(m[5]!);
  } catch {
    throw new KeyFormatError("Invalid password hash: salt and key must be url-safe base64");
  }
  if (salt.length < _MIN_SALT_LEN || salt.length > _MAX_SALT_LEN) {
    throw new KeyFormatError(
      `Invalid password hash: expected a salt of ${_MIN_SALT_LEN} to ${_MAX_SALT_LEN} bytes, got ${salt.length}`,
    );
  }
  const params = { N: 2 ** ln, r: Number(m[2]), p: Number(m[3]), dkLen: key.length };
  const problem = _checkParams(params);
  if (problem !== undefined) throw new KeyFormatError(`Invalid password hash: ${problem}`);
  return { ...params, salt, key };
}
