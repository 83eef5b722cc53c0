/**
 * The keystore's encryption at rest: a master key derived from the user's password with
 * scrypt (RFC 7914, @noble/hashes), used as a Fernet key for every secret in the file.
 *
 * Derivation: scrypt(UTF-8 password, 16-byte random salt, N, r, p, dkLen 32) → url-safe
 * base64 → Fernet key. The derived bytes are zeroized at once; the base64 key string stays
 * in memory while the keystore is open (JS strings cannot be wiped).
 *
 * Each secret is sealed as the Fernet token of `context || 0x00 || value`, where `context`
 * names its place (e.g. `friend_key:7:k1`). Opening checks the context, so a token copied
 * into another row (say, friend B's key swapped into friend A's) is refused as corrupt
 * instead of being used: Fernet has no associated data, so this binds token to row.
 *
 * A verifier (the sealed form of a fixed string) lets `open()` tell a wrong password from
 * a damaged file without decrypting anything else.
 *
 * Parameters read back from a file are bounded like new ones (N up to 2^20, 128·r·N up to
 * 256 MiB), so a crafted file cannot make the client allocate gigabytes.
 *
 * @module
 */

import { scryptAsync } from "@noble/hashes/scrypt.js";
import {
  concat,
  equalBytes,
  fernetDecrypt,
  fernetEncrypt,
  fromUtf8,
  InvalidToken,
  randomBytes,
  toBase64Url,
  utf8,
  zeroize,
} from "../crypto/mod.ts";
import { describeValue } from "./keystore_check.ts";
import { KeystoreError, type KeystoreScryptOptions } from "./keystore_types.ts";

/** Resolved scrypt parameters of a master key. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelization. */
  readonly p: number;
}

/** Default master-key parameters: N = 2^15, r = 8, p = 1 (32 MiB, about 0.1 s). */
export const DEFAULT_KEYSTORE_SCRYPT: Readonly<ScryptParams> = Object.freeze({
  N: 2 ** 15,
  r: 8,
  p: 1,
});

/** Length of a fresh salt, in bytes. */
export const KEYSTORE_SALT_BYTES = 16;

const _MIN_LOG_N = 10;
const _MAX_LOG_N = 20;
const _MAX_R = 32;
const _MAX_P = 16;
const _MAX_MEM = 256 * 1024 * 1024;
const _VERIFIER_CONTEXT = "verifier";

/**
 * The scrypt costs N a new keystore accepts with the default r and p: powers of two from
 * `min` to `max` (2^18: 128·r·N may need at most 256 MiB). For command-line checks.
 */
export const KEYSTORE_N_RANGE: Readonly<{ min: number; max: number }> = Object.freeze({
  min: 2 ** _MIN_LOG_N,
  max: Math.min(2 ** _MAX_LOG_N, _MAX_MEM / (128 * DEFAULT_KEYSTORE_SCRYPT.r)),
});
const _VERIFIER_VALUE = "fastchat-keystore-v1";

/**
 * Fills in defaults and checks scrypt options from a caller.
 *
 * @throws {TypeError} If `opts` is not an object or a parameter not an integer.
 * @throws {RangeError} If a parameter is out of bounds.
 */
export function resolveScryptParams(
  opts: KeystoreScryptOptions | undefined,
  base: ScryptParams = DEFAULT_KEYSTORE_SCRYPT,
): ScryptParams {
  if (opts === undefined) return base;
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(`scrypt options must be an object, got ${describeValue(opts)}`);
  }
  // Only undefined means "default": a null or other stray value is a caller bug.
  const params = {
    N: _integer("scrypt N", opts.N === undefined ? base.N : opts.N),
    r: _integer("scrypt r", opts.r === undefined ? base.r : opts.r),
    p: _integer("scrypt p", opts.p === undefined ? base.p : opts.p),
  };
  const problem = scryptParamsProblem(params);
  if (problem !== undefined) throw new RangeError(problem);
  return params;
}

/** Says what is wrong with scrypt parameters, or returns undefined if they are in bounds. */
export function scryptParamsProblem({ N, r, p }: ScryptParams): string | undefined {
  if (N < 2 ** _MIN_LOG_N || N > 2 ** _MAX_LOG_N || (N & (N - 1)) !== 0) {
    return `scrypt N must be a power of two from 2^${_MIN_LOG_N} to 2^${_MAX_LOG_N}, got ${N}`;
  }
  if (r < 1 || r > _MAX_R) return `scrypt r must be from 1 to ${_MAX_R}, got ${r}`;
  if (p < 1 || p > _MAX_P) return `scrypt p must be from 1 to ${_MAX_P}, got ${p}`;
  if (128 * r * N > _MAX_MEM) {
    return `scrypt N and r must need at most 256 MiB (128·r·N), got ${128 * r * N} bytes`;
  }
  return undefined;
}

/** The master key of an open keystore: seals and opens the secrets stored in it. */
export class KeystoreCipher {
  readonly #key: string;

  private constructor(key: string) {
    this.#key = key;
  }

  /**
   * Derives the master key from a password (checked by the caller) without blocking the
   * event loop for the whole computation.
   */
  static async derive(
    password: string,
    salt: Uint8Array,
    params: ScryptParams,
  ): Promise<KeystoreCipher> {
    const pw = utf8(password);
    const { N, r, p } = params;
    try {
      // noble's own memory cap is looser than ours; give it the exact need.
      const maxmem = 128 * r * (N + p + 1);
      const key = await scryptAsync(pw, salt, { N, r, p, dkLen: 32, maxmem });
      try {
        return new KeystoreCipher(toBase64Url(key));
      } finally {
        zeroize(key);
      }
    } finally {
      zeroize(pw);
    }
  }

  /** Returns a fresh random salt for a new master key. */
  static newSalt(): Uint8Array {
    return randomBytes(KEYSTORE_SALT_BYTES);
  }

  /** Encrypts `value` for the place named `context` (a Fernet token). */
  seal(context: string, value: string): string {
    const plain = concat(utf8(context), new Uint8Array(1), utf8(value));
    try {
      return fernetEncrypt(this.#key, plain);
    } finally {
      zeroize(plain);
    }
  }

  /**
   * Decrypts a token sealed for `context`.
   *
   * @throws {KeystoreError} "corrupt" if the token does not decrypt or belongs elsewhere.
   */
  open(context: string, token: string): string {
    let plain: Uint8Array;
    try {
      plain = fernetDecrypt(this.#key, token);
    } catch (err) {
      if (err instanceof InvalidToken || err instanceof TypeError) throw _corrupt(context);
      throw err;
    }
    try {
      const label = utf8(context);
      const sep = label.length;
      if (
        plain.length <= sep || plain[sep] !== 0 || !equalBytes(plain.subarray(0, sep), label)
      ) {
        throw _corrupt(context);
      }
      try {
        return fromUtf8(plain.subarray(sep + 1));
      } catch {
        throw _corrupt(context);
      }
    } finally {
      zeroize(plain);
    }
  }

  /** Makes the verifier stored beside the salt. */
  makeVerifier(): string {
    return this.seal(_VERIFIER_CONTEXT, _VERIFIER_VALUE);
  }

  /** Whether `verifier` was made with this key, i.e. the password was right. */
  checkVerifier(verifier: string): boolean {
    try {
      return this.open(_VERIFIER_CONTEXT, verifier) === _VERIFIER_VALUE;
    } catch (err) {
      if (err instanceof KeystoreError) return false;
      throw err;
    }
  }
}

function _corrupt(context: string): KeystoreError {
  return new KeystoreError(
    "corrupt",
    `A stored secret (${context}) failed to decrypt; the keystore file is damaged or was ` +
      "changed outside FastChat",
  );
}

function _integer(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${String(value)}`);
  }
  return value;
}
