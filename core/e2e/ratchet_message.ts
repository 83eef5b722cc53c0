/**
 * Double Ratchet messages (docs/CRYPTO.md, "Forward secrecy: the Double Ratchet"): the
 * envelope, its strict parsing, and the header binding that the Fernet plaintext carries.
 *
 * Envelope: `{ "v": 1, "t": "rm", "dh": <b64url>, "pn": <int>, "n": <int>, "ct": <token> }`:
 * `dh` is the sender's ratchet public key (X25519, 32 bytes, url-safe base64 without padding,
 * 43 characters), `pn` the length of the sender's previous sending chain, `n` the message's
 * index in its chain (both 0 to 2^32 - 1), `ct` a Fernet token (padded, as Fernet writes it).
 * Parsing is strict, as in `e2e_envelope.ts`: exact field set, types, canonical base64,
 * integer ranges, and a body no longer than `LIMITS.bodyChars`.
 *
 * Header binding. Fernet has no associated data, so the header is bound inside the token: the
 * plaintext sealed is `SHA-256(binding) || body`, where
 * `binding = "fastchat-ratchet-v1 header" || u32(len(ad)) || ad || dh || u32(pn) || u32(n)`
 * (u32 big-endian; `ad` is the caller's associated data, e.g. both devices' identities). The
 * token is encrypted and MACed under the message key, so nobody without that key can make a
 * token whose prefix matches another header; opening compares the prefix in constant time.
 * A prefix (rather than an HMAC under a second derived key in a new envelope field) keeps the
 * envelope to the fields above and is expressible in python3-doubleratchet's AEAD interface,
 * which receives exactly this associated data.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { concat, fromBase64Url, toBase64Url, utf8 } from "../crypto/bytes.ts";
import { LIMITS } from "../protocol/limits.ts";
import { E2eError } from "./e2e_errors.ts";

/** The `t` of a ratchet message envelope. */
export const RATCHET_MESSAGE_TYPE = "rm";
/** Domain label at the start of the header binding. */
export const RATCHET_HEADER_LABEL = "fastchat-ratchet-v1 header";
/** Largest `pn` and `n`: they are encoded as u32 in the binding. */
export const RATCHET_MAX_INDEX = 0xffffffff;
/** Length of the header binding's hash at the start of every Fernet plaintext. */
export const RATCHET_BINDING_BYTES = 32;

/** A message header: the sender's ratchet public key and the two chain counters. */
export interface RatchetHeader {
  /** The sender's current ratchet public key (X25519, 32 bytes). */
  dh: Uint8Array;
  /** Number of messages in the sender's previous sending chain. */
  pn: number;
  /** The message's index in the current sending chain. */
  n: number;
}

/** A parsed ratchet message: its header and its Fernet token. */
export interface RatchetMessage {
  /** The header, as sent in clear (authenticated through the binding). */
  header: RatchetHeader;
  /** Fernet token of `SHA-256(binding) || body`. */
  ct: string;
}

const _FIELDS = ["v", "t", "dh", "pn", "n", "ct"];
const _DH_CHARS = 43;
const _B64URL = /^[A-Za-z0-9_-]+$/;
const _FERNET_TOKEN = /^[A-Za-z0-9_-]+={0,2}$/;
// A Fernet token of one block: 1 + 8 + 16 + 16 + 32 = 73 bytes = 100 base64 characters.
const _TOKEN_MIN_CHARS = 100;

/** Serializes a ratchet message envelope (fields in the documented order). */
export function encodeRatchetMessage(message: RatchetMessage): string {
  return JSON.stringify({
    v: 1,
    t: RATCHET_MESSAGE_TYPE,
    dh: toBase64Url(message.header.dh, false),
    pn: message.header.pn,
    n: message.header.n,
    ct: message.ct,
  });
}

/**
 * Parses and validates a ratchet message envelope; nothing is decrypted.
 *
 * @throws {E2eError} `bad_envelope`, saying which part is wrong.
 */
export function parseRatchetMessage(body: unknown): RatchetMessage {
  if (typeof body !== "string") _bad(`Envelope must be a string, got ${typeof body}`);
  if (body.length > LIMITS.bodyChars) {
    _bad(`Envelope is too long: ${body.length} characters, at most ${LIMITS.bodyChars} allowed`);
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    _bad("Envelope is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    _bad("Envelope must be a JSON object");
  }
  const o = value as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (!_FIELDS.includes(name)) _bad(`Unknown field ${_show(name)} in an "rm" envelope`);
  }
  for (const name of _FIELDS) {
    if (!Object.hasOwn(o, name)) _bad(`Missing field "${name}" in an "rm" envelope`);
  }
  if (o.v !== 1) _bad(`Unsupported envelope version ${_show(o.v)}; this client reads version 1`);
  if (o.t !== RATCHET_MESSAGE_TYPE) _bad(`Expected an "rm" envelope, got ${_show(o.t)}`);
  const dh = _key(o.dh);
  if (dh === undefined) {
    _bad('Field "dh" of an "rm" envelope must be 32 bytes in url-safe base64 without padding');
  }
  for (const name of ["pn", "n"]) {
    const v = o[name];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > RATCHET_MAX_INDEX) {
      _bad(`Field "${name}" of an "rm" envelope must be an integer from 0 to ${RATCHET_MAX_INDEX}`);
    }
  }
  const ct = o.ct;
  if (
    typeof ct !== "string" || ct.length < _TOKEN_MIN_CHARS || ct.length % 4 !== 0 ||
    !_FERNET_TOKEN.test(ct)
  ) {
    _bad(
      'Field "ct" of an "rm" envelope must be a Fernet token (padded url-safe base64, at ' +
        "least 100 characters)",
    );
  }
  return { header: { dh, pn: o.pn as number, n: o.n as number }, ct };
}

/**
 * Returns `SHA-256(binding)` of a header and the caller's associated data (see the module
 * doc): the prefix every ratchet plaintext starts with.
 */
export function ratchetHeaderHash(ad: Uint8Array, header: RatchetHeader): Uint8Array {
  return sha256(ratchetBinding(ad, header));
}

/**
 * Returns the header binding's bytes:
 * `"fastchat-ratchet-v1 header" || u32(len(ad)) || ad || dh || u32(pn) || u32(n)`.
 */
export function ratchetBinding(ad: Uint8Array, header: RatchetHeader): Uint8Array {
  return concat(
    utf8(RATCHET_HEADER_LABEL),
    _u32(ad.length),
    ad,
    header.dh,
    _u32(header.pn),
    _u32(header.n),
  );
}

function _u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

function _key(v: unknown): Uint8Array | undefined {
  if (typeof v !== "string" || v.length !== _DH_CHARS || !_B64URL.test(v)) return undefined;
  try {
    const bytes = fromBase64Url(v);
    return bytes.length === 32 ? bytes : undefined;
  } catch {
    // Non-canonical trailing bits.
    return undefined;
  }
}

function _bad(message: string): never {
  throw new E2eError("bad_envelope", message);
}

/** Shows an untrusted value in an error message, bounded. */
function _show(value: unknown): string {
  const text = value === undefined ? "undefined" : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
