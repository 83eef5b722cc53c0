/**
 * The three messages of linking a device (docs/CRYPTO.md, "Linking a device"), version 1: their
 * shapes, strict parsing, and the CPace associated data they carry. The server stores and
 * forwards them as opaque JSON; `link_seal.ts` makes and checks them.
 *
 * | Message   | From       | Fields                                   |
 * | --------- | ---------- | ---------------------------------------- |
 * | offer     | new device | `v, sid, ya, name, sign, rsa`            |
 * | answer    | old device | `v, yb, user, device, tag`               |
 * | confirm   | new device | `v, tag`                                 |
 *
 * Binary fields are url-safe base64 without padding (RFC 4648 section 5). Parsing is strict,
 * because every byte comes through the server: exact field set, types, lengths, canonical
 * base64, integer ranges, a device name of 1 to 64 characters without control characters, and
 * an RSA key in the canonical SPKI PEM that `exportRsaPublicKey` writes. Anything else throws
 * {@linkcode E2eError} `bad_envelope` saying what is wrong.
 *
 * @module
 */

import { fromBase64Url, utf8 } from "../crypto/bytes.ts";
import { CPACE_MESSAGE_BYTES, CPACE_TAG_BYTES, lvCat } from "../crypto/cpace.ts";
import { exportRsaPublicKey, importRsaPublicKey } from "../crypto/rsa_pem.ts";
import { E2eError } from "./e2e_errors.ts";

/** The link message format version this code writes and reads. */
export const LINK_VERSION = 1;
/** Bytes of the session ID the new device picks. */
export const LINK_SID_BYTES = 16;
/** Longest device name, in characters (code points). */
export const LINK_NAME_MAX_CHARS = 64;
// An RSA-4096 SPKI PEM is about 800 characters; anything far longer is not a key.
const _RSA_PEM_MAX_CHARS = 4096;
// Longest JSON text of a link message accepted by the parsers.
const _MESSAGE_MAX_CHARS = 8192;
const _ED25519_KEY_BYTES = 32;

/** The new device's name and public keys: what the old device will put in the device list. */
export interface LinkDeviceKeys {
  /** The device's name, 1 to 64 characters, no control characters. */
  name: string;
  /** Its Ed25519 signing public key, url-safe base64 without padding (43 characters). */
  sign: string;
  /** Its RSA public key, SPKI PEM as `exportRsaPublicKey(key, "spki")` writes it. */
  rsa: string;
}

/** The account and the old device that answered. */
export interface LinkAccount {
  /** The account's user ID. */
  user: number;
  /** The old device's ID in the account's device list. */
  device: number;
}

/** Step 1, new device to old (through the slot): its CPace message and its keys. */
export interface LinkOffer extends LinkDeviceKeys {
  /** Format version. */
  v: 1;
  /** The CPace session ID: 16 random bytes, url-safe base64 (22 characters). */
  sid: string;
  /** The new device's CPace message `Ya`, 32 bytes, url-safe base64 (43 characters). */
  ya: string;
}

/** Step 2, old device to new: its CPace message, the account, and its key confirmation. */
export interface LinkAnswer extends LinkAccount {
  /** Format version. */
  v: 1;
  /** The old device's CPace message `Yb`, 32 bytes, url-safe base64 (43 characters). */
  yb: string;
  /** The old device's confirmation tag, 64 bytes, url-safe base64 (86 characters). */
  tag: string;
}

/** Step 3, new device to old: its key confirmation. */
export interface LinkConfirm {
  /** Format version. */
  v: 1;
  /** The new device's confirmation tag, 64 bytes, url-safe base64 (86 characters). */
  tag: string;
}

/**
 * Parses a link offer (an object, or its JSON text) strictly.
 *
 * @throws {E2eError} `bad_envelope`, saying what is wrong.
 */
export function parseLinkOffer(input: unknown): LinkOffer {
  const o = _object(input, "offer", ["v", "sid", "ya", "name", "sign", "rsa"]);
  _base64Field(o, "offer", "sid", LINK_SID_BYTES);
  _base64Field(o, "offer", "ya", CPACE_MESSAGE_BYTES);
  const keys = { name: o.name, sign: o.sign, rsa: o.rsa };
  const problem = linkDeviceKeysProblem(keys);
  if (problem !== undefined) throw new E2eError("bad_envelope", `The link offer's ${problem}`);
  return {
    v: LINK_VERSION,
    sid: o.sid as string,
    ya: o.ya as string,
    name: keys.name as string,
    sign: keys.sign as string,
    rsa: keys.rsa as string,
  };
}

/**
 * Parses a link answer (an object, or its JSON text) strictly.
 *
 * @throws {E2eError} `bad_envelope`, saying what is wrong.
 */
export function parseLinkAnswer(input: unknown): LinkAnswer {
  const o = _object(input, "answer", ["v", "yb", "user", "device", "tag"]);
  _base64Field(o, "answer", "yb", CPACE_MESSAGE_BYTES);
  _idField(o, "answer", "user");
  _idField(o, "answer", "device");
  _base64Field(o, "answer", "tag", CPACE_TAG_BYTES);
  return {
    v: LINK_VERSION,
    yb: o.yb as string,
    user: o.user as number,
    device: o.device as number,
    tag: o.tag as string,
  };
}

/**
 * Parses a link confirmation (an object, or its JSON text) strictly.
 *
 * @throws {E2eError} `bad_envelope`, saying what is wrong.
 */
export function parseLinkConfirm(input: unknown): LinkConfirm {
  const o = _object(input, "confirmation", ["v", "tag"]);
  _base64Field(o, "confirmation", "tag", CPACE_TAG_BYTES);
  return { v: LINK_VERSION, tag: o.tag as string };
}

/**
 * Says what is wrong with a device's name and keys ("name is empty", ...), or returns
 * undefined when they are valid. Used for our own keys (which then throw `RangeError`) and
 * for an offer's (`bad_envelope`).
 */
export function linkDeviceKeysProblem(keys: Record<string, unknown>): string | undefined {
  const { name, sign, rsa } = keys;
  if (typeof name !== "string") return `"name" must be a string, got ${_kind(name)}`;
  const chars = [...name].length;
  if (chars < 1 || chars > LINK_NAME_MAX_CHARS) {
    return `"name" must be 1 to ${LINK_NAME_MAX_CHARS} characters, got ${chars}`;
  }
  // Control characters would garble the device list on screen; a lone surrogate would encode
  // to the same UTF-8 as U+FFFD, so two names would give the same associated data.
  if (/[\p{Cc}\p{Cs}]/u.test(name)) {
    return `"name" must not contain control characters or lone surrogates`;
  }
  const signProblem = _base64Problem(sign, _ED25519_KEY_BYTES);
  if (signProblem !== undefined) return `"sign" ${signProblem}`;
  if (typeof rsa !== "string") return `"rsa" must be a string, got ${_kind(rsa)}`;
  if (rsa.length > _RSA_PEM_MAX_CHARS) {
    return `"rsa" must be an SPKI PEM of at most ${_RSA_PEM_MAX_CHARS} characters`;
  }
  let canonical: string | undefined;
  try {
    canonical = exportRsaPublicKey(importRsaPublicKey(rsa), "spki");
  } catch {
    canonical = undefined;
  }
  if (canonical !== rsa) {
    return `"rsa" must be an RSA public key in canonical SPKI PEM ("BEGIN PUBLIC KEY", ` +
      "64-character lines, a final newline)";
  }
  return undefined;
}

/** The new device's CPace associated data `ADa`: `lv_cat(name, sign, rsa)`, each UTF-8. */
export function offerAssociatedData(keys: LinkDeviceKeys): Uint8Array {
  return lvCat(utf8(keys.name), utf8(keys.sign), utf8(keys.rsa));
}

/** The old device's CPace associated data `ADb`: `lv_cat(user, device)`, each in decimal. */
export function answerAssociatedData(account: LinkAccount): Uint8Array {
  return lvCat(utf8(String(account.user)), utf8(String(account.device)));
}

function _object(
  input: unknown,
  what: string,
  fields: readonly string[],
): Record<string, unknown> {
  let value = input;
  if (typeof input === "string") {
    if (input.length > _MESSAGE_MAX_CHARS) {
      throw new E2eError(
        "bad_envelope",
        `The link ${what} is ${input.length} characters, more than ${_MESSAGE_MAX_CHARS}`,
      );
    }
    try {
      value = JSON.parse(input);
    } catch {
      throw new E2eError("bad_envelope", `The link ${what} is not JSON`);
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new E2eError("bad_envelope", `The link ${what} must be a JSON object`);
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!fields.includes(key)) {
      throw new E2eError(
        "bad_envelope",
        `The link ${what} has an unknown field ${JSON.stringify(key)}; expected ${
          fields.join(", ")
        }`,
      );
    }
  }
  for (const key of fields) {
    if (!Object.hasOwn(o, key)) {
      throw new E2eError("bad_envelope", `The link ${what} has no "${key}" field`);
    }
  }
  if (o.v !== LINK_VERSION) {
    throw new E2eError(
      "bad_envelope",
      `The link ${what} has version ${JSON.stringify(o.v)}; expected ${LINK_VERSION}`,
    );
  }
  return o;
}

function _base64Field(o: Record<string, unknown>, what: string, key: string, bytes: number): void {
  const problem = _base64Problem(o[key], bytes);
  if (problem !== undefined) {
    throw new E2eError("bad_envelope", `The link ${what}'s "${key}" ${problem}`);
  }
}

function _base64Problem(value: unknown, bytes: number): string | undefined {
  const chars = Math.ceil(bytes * 4 / 3);
  const expected =
    `must be ${bytes} bytes of url-safe base64 without padding (${chars} characters)`;
  if (typeof value !== "string" || value.length !== chars || !/^[A-Za-z0-9_-]+$/.test(value)) {
    return expected;
  }
  try {
    fromBase64Url(value); // refuses non-zero trailing bits, so the encoding is canonical
  } catch {
    return expected;
  }
  return undefined;
}

function _idField(o: Record<string, unknown>, what: string, key: string): void {
  const value = o[key];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new E2eError(
      "bad_envelope",
      `The link ${what}'s "${key}" must be a positive integer, got ${
        typeof value === "number" ? value : _kind(value)
      }`,
    );
  }
}

function _kind(value: unknown): string {
  return value === null ? "null" : typeof value;
}
