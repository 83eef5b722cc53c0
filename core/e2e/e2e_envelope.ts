/**
 * End-to-end envelopes, version 1: their types, strict parsing, the canonical bytes that get
 * signed, and key IDs. No cryptography beyond hashing happens here; `mod.ts` seals and opens.
 *
 * An envelope is the `body` of a wire frame: a JSON object `{ "v": 1, "t": <type>, ... }`.
 * Binary fields are url-safe base64 without padding (RFC 4648 section 5); Fernet tokens stay
 * as Fernet writes them (padded). Parsing is strict, because every byte comes from the
 * network: exact field set (unknown fields rejected), types, lengths, alphabet, canonical
 * base64, integer ranges, and a body no longer than `LIMITS.bodyChars`.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { fromBase64Url, toBase64Url, utf8, zeroize } from "../crypto/bytes.ts";
import { LIMITS } from "../protocol/limits.ts";
import { E2eError } from "./e2e_errors.ts";

/** The envelope format version this code writes and reads. */
export const E2E_VERSION = 1;

/** Envelope types: friend key, direct message, group key, group message. */
export const ENVELOPE_TYPES = ["friend_key", "dm", "group_key", "gm"] as const;

/** One of {@linkcode ENVELOPE_TYPES}. */
export type EnvelopeType = typeof ENVELOPE_TYPES[number];

/** A Fernet key for one friend, RSA-wrapped to them and signed. */
export interface FriendKeyEnvelope {
  /** Format version. */
  v: 1;
  /** Envelope type. */
  t: "friend_key";
  /** Key ID of the wrapped key; see {@linkcode fernetKeyId}. */
  kid: string;
  /** RSA-OAEP-SHA256 ciphertext of the key's text, url-safe base64 without padding. */
  wrapped: string;
  /** When the key was made, Unix milliseconds. */
  ts: number;
  /** Ed25519 signature, url-safe base64 without padding (86 characters). */
  sig: string;
}

/** A direct message (text or one file chunk), Fernet-encrypted and signed. */
export interface DirectEnvelope {
  /** Format version. */
  v: 1;
  /** Envelope type. */
  t: "dm";
  /** Key ID of the Fernet key used. */
  kid: string;
  /** Fernet token of the inner JSON. */
  ct: string;
  /** Ed25519 signature, url-safe base64 without padding (86 characters). */
  sig: string;
}

/** One epoch's group key, RSA-wrapped to one member and signed by the admin. */
export interface GroupKeyEnvelope {
  /** Format version. */
  v: 1;
  /** Envelope type. */
  t: "group_key";
  /** Group ID (positive integer). */
  group: number;
  /** Key epoch (non-negative integer); each rotation makes a new one. */
  epoch: number;
  /** Key ID of the wrapped key. */
  kid: string;
  /** RSA-OAEP-SHA256 ciphertext of the key's text, url-safe base64 without padding. */
  wrapped: string;
  /** Ed25519 signature, url-safe base64 without padding (86 characters). */
  sig: string;
}

/** A group message (text or one file chunk) under one epoch's key, signed. */
export interface GroupEnvelope {
  /** Format version. */
  v: 1;
  /** Envelope type. */
  t: "gm";
  /** Group ID; must be the group the message arrived in. */
  group: number;
  /** Epoch of the key used. */
  epoch: number;
  /** Key ID of the Fernet key used. */
  kid: string;
  /** Fernet token of the inner JSON. */
  ct: string;
  /** Ed25519 signature, url-safe base64 without padding (86 characters). */
  sig: string;
}

/** Any version 1 envelope. */
export type Envelope = FriendKeyEnvelope | DirectEnvelope | GroupKeyEnvelope | GroupEnvelope;

/** Envelopes by type. */
export interface EnvelopesByType {
  friend_key: FriendKeyEnvelope;
  dm: DirectEnvelope;
  group_key: GroupKeyEnvelope;
  gm: GroupEnvelope;
}

/** Domain separation prefix of every signed byte string; names the format and version. */
export const SIGNED_DATA_PREFIX = "fastchat-e2e-v1";

/** Length of a key ID: 8 bytes in url-safe base64 without padding. */
export const KID_CHARS = 11;

type _Rule = "kid" | "sig" | "wrapped" | "ct" | "ts" | "group" | "epoch";

/** Each type's fields besides `v` and `t`, in the order they are written. */
const _FIELDS: { readonly [T in EnvelopeType]: Readonly<Record<string, _Rule>> } = {
  friend_key: { kid: "kid", wrapped: "wrapped", ts: "ts", sig: "sig" },
  dm: { kid: "kid", ct: "ct", sig: "sig" },
  group_key: { group: "group", epoch: "epoch", kid: "kid", wrapped: "wrapped", sig: "sig" },
  gm: { group: "group", epoch: "epoch", kid: "kid", ct: "ct", sig: "sig" },
};

const _B64URL = /^[A-Za-z0-9_-]+$/;
const _FERNET_TOKEN = /^[A-Za-z0-9_-]+={0,2}$/;
const _FERNET_KEY = /^[A-Za-z0-9_-]{43}=$/;
const _SIG_BYTES = 64;
// RSA-OAEP-SHA256 needs a modulus of at least 66 bytes; RSA-8192 is 1024.
const _WRAPPED_MIN_BYTES = 66;
const _WRAPPED_MAX_BYTES = 1024;
// A Fernet token of one block: 1 + 8 + 16 + 16 + 32 = 73 bytes = 100 base64 characters.
const _TOKEN_MIN_CHARS = 100;

/**
 * Returns the key ID of a Fernet key: url-safe base64 (no padding) of the first 8 bytes of
 * SHA-256 over the raw 32-byte key, 11 characters. It names a key without revealing it.
 *
 * @throws {TypeError | RangeError} If `fernetKey` is not a valid Fernet key.
 */
export function fernetKeyId(fernetKey: string): string {
  const raw = decodeFernetKey(fernetKey);
  try {
    return kidOfRawKey(raw);
  } finally {
    zeroize(raw);
  }
}

/** Returns the key ID of a raw 32-byte Fernet key; see {@linkcode fernetKeyId}. */
export function kidOfRawKey(raw: Uint8Array): string {
  const digest = sha256(raw);
  const kid = toBase64Url(digest.subarray(0, 8), false);
  zeroize(digest);
  return kid;
}

/**
 * Decodes a Fernet key (44 characters of padded url-safe base64) to its 32 raw bytes; the
 * caller zeroes them. Throws `TypeError` / `RangeError`: keys given to us are arguments.
 */
export function decodeFernetKey(fernetKey: string): Uint8Array {
  if (typeof fernetKey !== "string") {
    throw new TypeError(`Expected the Fernet key to be a string, got ${typeof fernetKey}`);
  }
  const raw = parseFernetKey(fernetKey);
  if (raw === undefined) {
    throw new RangeError(
      "Expected a Fernet key: 32 bytes in padded url-safe base64 (44 characters)",
    );
  }
  return raw;
}

/**
 * Returns the 32 raw bytes of a canonical Fernet key string, or undefined when `text` is not
 * one. Used on unwrapped keys, which come from the network.
 */
export function parseFernetKey(text: string): Uint8Array | undefined {
  if (!_FERNET_KEY.test(text)) return undefined;
  try {
    const raw = fromBase64Url(text);
    if (raw.length === 32) return raw;
    zeroize(raw);
    return undefined;
  } catch {
    // Non-canonical trailing bits.
    return undefined;
  }
}

/**
 * Builds the bytes an envelope's signature covers:
 * `"fastchat-e2e-v1\n" + t + "\n" + fields.join("\n")`, UTF-8. The fields (IDs from the
 * routing context, then envelope fields, in each type's fixed order) are decimal integers
 * or base64 text, so none can contain a newline and the encoding is unambiguous.
 *
 * @throws {TypeError} If a field is not a safe integer or a string without newlines.
 */
export function envelopeSignedData(
  t: EnvelopeType,
  fields: readonly (string | number)[],
): Uint8Array {
  if (!(ENVELOPE_TYPES as readonly string[]).includes(t)) {
    throw new TypeError(`Unknown envelope type ${JSON.stringify(t)}`);
  }
  let text = `${SIGNED_DATA_PREFIX}\n${t}`;
  for (const field of fields) {
    if (typeof field === "number" ? !Number.isSafeInteger(field) : typeof field !== "string") {
      throw new TypeError(`Signed fields must be safe integers or strings, got ${String(field)}`);
    }
    const value = String(field);
    if (value.includes("\n")) throw new TypeError("Signed fields must not contain a newline");
    text += `\n${value}`;
  }
  return utf8(text);
}

/**
 * Returns the envelope type of a body for dispatch, or null when the body is not a version 1
 * envelope of a known type. It does not validate the other fields: the `open*` functions do,
 * and say exactly what is wrong (including an unknown type or version).
 */
export function parseEnvelopeType(body: string): EnvelopeType | null {
  if (typeof body !== "string" || body.length > LIMITS.bodyChars) return null;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  if (!_isObject(value) || value.v !== E2E_VERSION) return null;
  const t = value.t;
  return typeof t === "string" && (ENVELOPE_TYPES as readonly string[]).includes(t)
    ? t as EnvelopeType
    : null;
}

/**
 * Parses and validates an envelope of any known type; nothing is verified or decrypted.
 *
 * @throws {E2eError} `bad_envelope`, saying what is wrong.
 */
export function parseEnvelope(body: string): Envelope {
  const value = _parseObject(body);
  return _validate(value, _typeOf(value));
}

/**
 * Parses and validates an envelope that must be of type `t`.
 *
 * @throws {E2eError} `bad_envelope`, saying what is wrong (e.g. a "gm" where a "dm" was due).
 */
export function parseEnvelopeAs<T extends EnvelopeType>(body: string, t: T): EnvelopesByType[T] {
  const value = _parseObject(body);
  const actual = _typeOf(value);
  if (actual !== t) {
    throw new E2eError("bad_envelope", `Expected a "${t}" envelope, got "${actual}"`);
  }
  return _validate(value, t) as EnvelopesByType[T];
}

/** Serializes an envelope: `v`, `t`, its fields in order, `sig` last. */
export function serializeEnvelope(envelope: Envelope): string {
  const out: Record<string, unknown> = { v: envelope.v, t: envelope.t };
  const fields = envelope as unknown as Record<string, unknown>;
  for (const name of Object.keys(_FIELDS[envelope.t])) out[name] = fields[name];
  return JSON.stringify(out);
}

function _parseObject(body: string): Record<string, unknown> {
  if (typeof body !== "string") {
    throw new E2eError("bad_envelope", `Envelope must be a string, got ${typeof body}`);
  }
  if (body.length > LIMITS.bodyChars) {
    throw new E2eError(
      "bad_envelope",
      `Envelope is too long: ${body.length} characters, at most ${LIMITS.bodyChars} allowed`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new E2eError("bad_envelope", "Envelope is not valid JSON");
  }
  if (!_isObject(value)) {
    throw new E2eError("bad_envelope", "Envelope must be a JSON object");
  }
  return value;
}

function _typeOf(value: Record<string, unknown>): EnvelopeType {
  if (!("v" in value)) throw new E2eError("bad_envelope", 'Envelope has no version field "v"');
  if (value.v !== E2E_VERSION) {
    throw new E2eError(
      "bad_envelope",
      `Unsupported envelope version ${_show(value.v)}; this client reads version ${E2E_VERSION}`,
    );
  }
  const t = value.t;
  if (typeof t !== "string") {
    throw new E2eError("bad_envelope", 'Envelope has no string type field "t"');
  }
  if (!(ENVELOPE_TYPES as readonly string[]).includes(t)) {
    throw new E2eError("bad_envelope", `Unknown envelope type ${_show(t)}`);
  }
  return t as EnvelopeType;
}

function _validate(value: Record<string, unknown>, t: EnvelopeType): Envelope {
  const rules = _FIELDS[t];
  for (const name of Object.keys(value)) {
    if (name !== "v" && name !== "t" && !Object.hasOwn(rules, name)) {
      throw new E2eError("bad_envelope", `Unknown field ${_show(name)} in a "${t}" envelope`);
    }
  }
  for (const [name, rule] of Object.entries(rules)) {
    if (!Object.hasOwn(value, name)) {
      throw new E2eError("bad_envelope", `Missing field "${name}" in a "${t}" envelope`);
    }
    const problem = _check(value[name], rule);
    if (problem !== undefined) {
      throw new E2eError("bad_envelope", `Field "${name}" of a "${t}" envelope ${problem}`);
    }
  }
  return value as unknown as Envelope;
}

/** Returns what is wrong with a field value, or undefined when it follows its rule. */
function _check(v: unknown, rule: _Rule): string | undefined {
  switch (rule) {
    case "ts":
      return _isInt(v, 0) ? undefined : "must be a non-negative integer (Unix milliseconds)";
    case "group":
      return _isInt(v, 1) ? undefined : "must be a positive integer group ID";
    case "epoch":
      return _isInt(v, 0) ? undefined : "must be a non-negative integer";
    case "kid":
      return _isB64(v, 8, 8) ? undefined : `must be ${KID_CHARS} url-safe base64 characters`;
    case "sig":
      return _isB64(v, _SIG_BYTES, _SIG_BYTES)
        ? undefined
        : "must be a 64-byte signature in url-safe base64 without padding (86 characters)";
    case "wrapped":
      return _isB64(v, _WRAPPED_MIN_BYTES, _WRAPPED_MAX_BYTES)
        ? undefined
        : `must be ${_WRAPPED_MIN_BYTES} to ${_WRAPPED_MAX_BYTES} bytes in url-safe base64 ` +
          "without padding";
    case "ct":
      return typeof v === "string" && v.length >= _TOKEN_MIN_CHARS && v.length % 4 === 0 &&
          _FERNET_TOKEN.test(v)
        ? undefined
        : "must be a Fernet token (padded url-safe base64, at least 100 characters)";
  }
}

function _isInt(v: unknown, min: number): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min;
}

/** True when `v` is canonical url-safe base64 without padding of `min` to `max` bytes. */
function _isB64(v: unknown, min: number, max: number): boolean {
  if (typeof v !== "string") return false;
  // 4 characters per 3 bytes, rounded up, without padding.
  if (v.length < Math.ceil(min * 4 / 3) || v.length > Math.ceil(max * 4 / 3)) return false;
  if (!_B64URL.test(v)) return false;
  try {
    const n = fromBase64Url(v).length;
    return n >= min && n <= max;
  } catch {
    return false;
  }
}

function _isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Shows an untrusted value in an error message, bounded. */
function _show(value: unknown): string {
  const text = value === undefined ? "undefined" : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
