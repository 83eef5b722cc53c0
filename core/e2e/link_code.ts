/**
 * Link codes (docs/CRYPTO.md, "Linking a device"): 12 characters of Crockford base32
 * (https://www.crockford.com/base32.html, alphabet `0123456789ABCDEFGHJKMNPQRSTVWXYZ`), shown as
 * `XXXX-XXXX-XXXX`. The first 4 characters (20 bits) name the server's link slot; the last 8
 * (40 bits) are the CPace password and never reach the server.
 *
 * Reading is forgiving where people slip and strict otherwise: lower case, spaces and hyphens
 * anywhere are accepted, and Crockford's aliases are read as the digit they look like (`I`
 * and `L` as `1`, `O` as `0`); anything else, `U` included, is refused with
 * {@linkcode E2eError} `bad_link_code`.
 *
 * @module
 */

import { randomBytes, utf8, zeroize } from "../crypto/bytes.ts";
import { E2eError } from "./e2e_errors.ts";

/** The 32 characters of Crockford base32, in value order. */
export const LINK_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Characters in a link code (60 bits). */
export const LINK_CODE_CHARS = 12;
/** Characters of the code that name the server's slot (the rest is the password). */
export const LINK_SLOT_CHARS = 4;

const _EXPECTED = "expected 12 letters and digits, like 7KQ2-MX9D-4TPA";
// Longer input is refused before it is scanned; a pasted code is never this long.
const _MAX_INPUT_CHARS = 64;
const _ALIASES: Readonly<Record<string, string>> = { I: "1", L: "1", O: "0" };

/** A parsed link code. */
export interface LinkCode {
  /** The canonical code, `XXXX-XXXX-XXXX` in upper case. */
  code: string;
  /** The first 4 canonical characters: the slot, which the server sees. */
  slot: string;
  /** UTF-8 of the last 8 canonical characters: the CPace password, never sent anywhere. */
  password: Uint8Array;
}

/**
 * Makes a new link code from the CSPRNG (or `random`, for tests): 12 uniformly random
 * Crockford base32 characters, formatted `XXXX-XXXX-XXXX`.
 *
 * @param random Returns `n` random bytes; defaults to the operating system's CSPRNG.
 * @throws {TypeError} If `random` is not a function or does not return 12 bytes.
 */
export function newLinkCode(random: (n: number) => Uint8Array = randomBytes): string {
  if (typeof random !== "function") throw new TypeError("Expected random to be a function");
  const bytes = random(LINK_CODE_CHARS);
  if (!(bytes instanceof Uint8Array) || bytes.length !== LINK_CODE_CHARS) {
    throw new TypeError(`Expected random(${LINK_CODE_CHARS}) to return ${LINK_CODE_CHARS} bytes`);
  }
  let chars = "";
  // 256 is a multiple of 32, so the low 5 bits of a uniform byte are uniform.
  for (const b of bytes) chars += LINK_CODE_ALPHABET[b & 31]!;
  zeroize(bytes);
  return _format(chars);
}

/**
 * Reads a link code as a person typed or pasted it.
 *
 * @throws {E2eError} `bad_link_code` when it is not 12 Crockford base32 characters (after
 *   removing spaces and hyphens and reading `I`, `L`, `O` as `1`, `1`, `0`); the message says
 *   what was wrong and what is expected.
 * @throws {TypeError} If `text` is not a string.
 */
export function parseLinkCode(text: string): LinkCode {
  if (typeof text !== "string") {
    throw new TypeError(`Expected the link code to be a string, got ${typeof text}`);
  }
  if (text.length > _MAX_INPUT_CHARS) {
    throw new E2eError("bad_link_code", `The link code is too long; ${_EXPECTED}`);
  }
  let chars = "";
  for (const ch of text) {
    if (/^[\s-]$/.test(ch)) continue;
    // Only ASCII is upper-cased: "ß".toUpperCase() is "SS" and "ı" becomes "I".
    const upper = /^[a-z]$/.test(ch) ? ch.toUpperCase() : ch;
    const c = _ALIASES[upper] ?? upper;
    if (!LINK_CODE_ALPHABET.includes(c)) {
      throw new E2eError(
        "bad_link_code",
        `The link code contains ${JSON.stringify(ch)}, which link codes do not use; ${_EXPECTED}`,
      );
    }
    chars += c;
  }
  if (chars.length === 0) {
    throw new E2eError("bad_link_code", `The link code is empty; ${_EXPECTED}`);
  }
  if (chars.length !== LINK_CODE_CHARS) {
    throw new E2eError(
      "bad_link_code",
      `The link code has ${chars.length} letters and digits; ${_EXPECTED}`,
      { chars: chars.length },
    );
  }
  return {
    code: _format(chars),
    slot: chars.slice(0, LINK_SLOT_CHARS),
    password: utf8(chars.slice(LINK_SLOT_CHARS)),
  };
}

function _format(chars: string): string {
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
}
