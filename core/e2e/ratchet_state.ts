/**
 * The Double Ratchet's state (Signal's specification, section 3.2) and its storage form:
 * {@linkcode serializeRatchetState} writes JSON for the keystore to seal,
 * {@linkcode parseRatchetState} reads it back strictly, {@linkcode endRatchetState} zeroes
 * every secret of a state that is no longer needed.
 *
 * Stored form, version 1 (binary fields url-safe base64 without padding, 32 bytes each):
 * `{ "v": 1, "dhs": <own ratchet secret key>, "dhr": <their ratchet public key> | null,
 *   "rk": <root key>, "cks": <sending chain key> | null, "ckr": <receiving chain key> | null,
 *   "ns": int, "nr": int, "pn": int, "skipped": [{ "dh": b64, "n": int, "mk": b64 }, ...],
 *   "retired": [b64, ...] }`, skipped keys oldest first, retired keys oldest first.
 * The JSON text holds secrets and a JS string cannot be wiped: seal it at once and drop it.
 *
 * @module
 */

import { x25519 } from "@noble/curves/ed25519.js";
import { fromBase64Url, toBase64Url, zeroize } from "../crypto/bytes.ts";
import { E2eError } from "./e2e_errors.ts";
import { RATCHET_MAX_INDEX } from "./ratchet_message.ts";

/** Most message keys skipped in one chain by one message (the specification's MAX_SKIP). */
export const MAX_SKIP = 1000;
/** Most skipped message keys kept overall; beyond it the oldest are dropped. */
export const MAX_SKIPPED_KEYS = 2000;
/** How many previous receiving ratchet keys are remembered, to name a replay as one. */
export const MAX_RETIRED_KEYS = 32;

/** An X25519 key pair. */
export interface RatchetKeyPair {
  /** 32-byte secret key. */
  secretKey: Uint8Array;
  /** 32-byte public key. */
  publicKey: Uint8Array;
}

/**
 * One side's Double Ratchet state, mutated by `ratchetEncrypt` / `ratchetDecrypt`. Field
 * names follow the specification. Treat it as opaque outside `core/e2e/`.
 */
export interface RatchetState {
  /** DHs: our current ratchet key pair. */
  dhs: RatchetKeyPair;
  /** DHr: their current ratchet public key; undefined for the responder before message one. */
  dhr: Uint8Array | undefined;
  /** RK: the root key. */
  rk: Uint8Array;
  /** CKs: the sending chain key; undefined for the responder before message one. */
  cks: Uint8Array | undefined;
  /** CKr: the receiving chain key; undefined until a message has been received. */
  ckr: Uint8Array | undefined;
  /** Ns: messages sent in the current sending chain. */
  ns: number;
  /** Nr: messages received in the current receiving chain. */
  nr: number;
  /** PN: messages in the previous sending chain. */
  pn: number;
  /**
   * MKSKIPPED: message keys of skipped messages, by `skippedKeyId(dh, n)`; the Map's insertion
   * order is their age, oldest first.
   */
  skipped: Map<string, Uint8Array>;
  /** Previous receiving ratchet public keys (url-safe base64), oldest first, bounded. */
  retired: string[];
  /** True once {@linkcode endRatchetState} zeroed it; every later use throws `TypeError`. */
  ended: boolean;
}

const _FIELDS = ["v", "dhs", "dhr", "rk", "cks", "ckr", "ns", "nr", "pn", "skipped", "retired"];
const _B64URL = /^[A-Za-z0-9_-]{43}$/;

/** The id of a skipped message key: its chain's ratchet public key and its index. */
export function skippedKeyId(dh: Uint8Array, n: number): string {
  return `${toBase64Url(dh, false)}.${n}`;
}

/**
 * Serializes a state to JSON for the keystore. The state stays usable; call
 * {@linkcode endRatchetState} when it is no longer kept in memory.
 *
 * @throws {TypeError} If the state was ended.
 */
export function serializeRatchetState(state: RatchetState): string {
  assertLiveState(state);
  const b = (bytes: Uint8Array | undefined) =>
    bytes === undefined ? null : toBase64Url(bytes, false);
  const skipped = [];
  for (const [id, mk] of state.skipped) {
    const dot = id.indexOf(".");
    skipped.push({ dh: id.slice(0, dot), n: Number(id.slice(dot + 1)), mk: b(mk) });
  }
  return JSON.stringify({
    v: 1,
    dhs: b(state.dhs.secretKey),
    dhr: b(state.dhr),
    rk: b(state.rk),
    cks: b(state.cks),
    ckr: b(state.ckr),
    ns: state.ns,
    nr: state.nr,
    pn: state.pn,
    skipped,
    retired: [...state.retired],
  });
}

/**
 * Parses a state written by {@linkcode serializeRatchetState}: exact field set, canonical
 * base64 of 32-byte keys, integer ranges, at most {@linkcode MAX_SKIPPED_KEYS} distinct
 * skipped keys and {@linkcode MAX_RETIRED_KEYS} distinct retired keys, and consistent chains
 * (no sending chain only on the responder's side before the first message).
 *
 * @throws {E2eError} `ratchet_bad_state`, saying which part is wrong.
 */
export function parseRatchetState(text: unknown): RatchetState {
  if (typeof text !== "string") _bad(`The ratchet state must be a string, got ${typeof text}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    _bad("The ratchet state is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    _bad("The ratchet state must be a JSON object");
  }
  const o = value as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (!_FIELDS.includes(name)) _bad(`Unknown field ${JSON.stringify(name)} in the ratchet state`);
  }
  for (const name of _FIELDS) {
    if (!Object.hasOwn(o, name)) _bad(`Missing field "${name}" in the ratchet state`);
  }
  if (o.v !== 1) _bad(`Unsupported ratchet state version ${JSON.stringify(o.v)}; expected 1`);
  const secretKey = _key(o.dhs, "dhs");
  const state: RatchetState = {
    dhs: { secretKey, publicKey: x25519.getPublicKey(secretKey) },
    dhr: _optionalKey(o.dhr, "dhr"),
    rk: _key(o.rk, "rk"),
    cks: _optionalKey(o.cks, "cks"),
    ckr: _optionalKey(o.ckr, "ckr"),
    ns: _index(o.ns, "ns"),
    nr: _index(o.nr, "nr"),
    pn: _index(o.pn, "pn"),
    skipped: new Map(),
    retired: [],
    ended: false,
  };
  if (
    state.cks === undefined &&
    (state.ns !== 0 || state.pn !== 0 || state.dhr !== undefined || state.ckr !== undefined)
  ) {
    _bad("The ratchet state has no sending chain but records messages or a peer key");
  }
  if (state.ckr !== undefined && state.dhr === undefined) {
    _bad("The ratchet state has a receiving chain but no peer key");
  }
  if (state.ckr === undefined && state.nr !== 0) {
    _bad("The ratchet state has no receiving chain but counts received messages");
  }
  if (!Array.isArray(o.skipped) || o.skipped.length > MAX_SKIPPED_KEYS) {
    _bad(`Field "skipped" must be an array of at most ${MAX_SKIPPED_KEYS} keys`);
  }
  for (const entry of o.skipped) {
    if (
      typeof entry !== "object" || entry === null || Array.isArray(entry) ||
      Object.keys(entry).length !== 3
    ) {
      _bad('Each skipped key must be an object { "dh", "n", "mk" }');
    }
    const e = entry as Record<string, unknown>;
    const id = skippedKeyId(_key(e.dh, "skipped dh"), _index(e.n, "skipped n"));
    if (state.skipped.has(id)) _bad(`Skipped key ${id} appears twice`);
    state.skipped.set(id, _key(e.mk, "skipped mk"));
  }
  if (!Array.isArray(o.retired) || o.retired.length > MAX_RETIRED_KEYS) {
    _bad(`Field "retired" must be an array of at most ${MAX_RETIRED_KEYS} keys`);
  }
  for (const dh of o.retired) {
    const canonical = toBase64Url(_key(dh, "retired"), false);
    if (state.retired.includes(canonical)) _bad(`Retired key ${canonical} appears twice`);
    state.retired.push(canonical);
  }
  return state;
}

/** Zeroes every secret of a state and marks it ended; using it afterwards throws `TypeError`. */
export function endRatchetState(state: RatchetState): void {
  if (state.ended) return;
  wipeChains(state);
  for (const mk of state.skipped.values()) zeroize(mk);
  state.skipped.clear();
  state.ended = true;
}

/** Throws `TypeError` unless `state` is a live ratchet state. */
export function assertLiveState(state: RatchetState): void {
  if (typeof state !== "object" || state === null || !(state.skipped instanceof Map)) {
    throw new TypeError("Expected a ratchet state from ratchetInitAlice/Bob or parseRatchetState");
  }
  if (state.ended) throw new TypeError("The ratchet state was ended; parse the stored one again");
}

/** Zeroes the DH secret and chain keys of a state (not its skipped keys). */
export function wipeChains(state: RatchetState): void {
  zeroize(state.dhs.secretKey, state.rk);
  if (state.cks) zeroize(state.cks);
  if (state.ckr) zeroize(state.ckr);
}

function _key(v: unknown, name: string): Uint8Array {
  if (typeof v === "string" && _B64URL.test(v)) {
    try {
      const bytes = fromBase64Url(v);
      if (bytes.length === 32) return bytes;
    } catch {
      // Non-canonical trailing bits: reported below.
    }
  }
  _bad(`Field "${name}" of the ratchet state must be 32 bytes in url-safe base64 without padding`);
}

function _optionalKey(v: unknown, name: string): Uint8Array | undefined {
  return v === null ? undefined : _key(v, name);
}

function _index(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > RATCHET_MAX_INDEX) {
    _bad(`Field "${name}" of the ratchet state must be an integer from 0 to ${RATCHET_MAX_INDEX}`);
  }
  return v;
}

function _bad(message: string): never {
  throw new E2eError("ratchet_bad_state", message);
}
