/**
 * CPace, a balanced PAKE (draft-irtf-cfrg-cpace-21), cipher suite CPaceRISTR255: the group
 * ristretto255 (RFC 9496) with SHA-512, in the initiator-responder setting. Two parties who
 * share a low-entropy password (PRS) each send one 32-byte message and derive the same
 * 64-byte intermediate session key (ISK) only if their passwords, channel identifier (CI),
 * session ID (sid) and both transcripts match. An attacker gets one online guess per run.
 *
 * The flow (draft section 7.2, "CPace protocol instructions"):
 * - both: `g = cpaceGenerator(PRS, CI, sid)`; the initiator sends `Ya = ya*g` with its
 *   associated data `ADa` ({@linkcode cpaceStart}), the responder `Yb = yb*g` with `ADb`;
 * - each computes `K = y*Y_peer`, aborting when `Y_peer` does not decode or `K` is the identity
 *   ({@linkcode cpaceSharedPoint}), then
 *   `ISK = SHA-512(lv_cat(DSI || "_ISK", sid, K) || lv_cat(Ya, ADa) || lv_cat(Yb, ADb))`
 *   ({@linkcode cpaceFinish});
 * - optional explicit key confirmation (draft section 10.4, the construction it suggests):
 *   `mac_key = SHA-512("CPaceMac" || sid || ISK)`, each side sends
 *   `HMAC-SHA-512(mac_key, lv_cat(Y, AD))` over the message it sent
 *   ({@linkcode cpaceConfirmationTag}).
 *
 * The generator, as draft 21 defines it for ristretto255 (section 8.3): the generator string
 * `lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid)` (zero padding fills SHA-512's first
 * 128-byte block after DSI and PRS), hashed with SHA-512 to 64 bytes, mapped to a point with
 * RFC 9496's element derivation (section 4.3.4, noble's `deriveToCurve`). This is not RFC 9380's
 * `hash_to_ristretto255`, which would first run expand_message_xmd. The draft's published
 * vectors (tests/testdata/cpace/) check every intermediate value.
 *
 * Scalars are 32 bytes little-endian, sampled as the draft recommends (32 random bytes with the
 * bits above 252 cleared, never zero). Secret scalars must never be reused; the caller zeroes
 * them with `zeroize` when done.
 *
 * @module
 */

import { ristretto255, ristretto255_hasher } from "@noble/curves/ed25519.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { assertBytes, concat, randomBytes, utf8, zeroize } from "./bytes.ts";
import { CpaceError } from "./errors.ts";

/** The domain separation identifier of CPaceRISTR255 (draft section 8.3). */
export const CPACE_DSI = "CPaceRistretto255";
/** Bytes of a scalar (little-endian). */
export const CPACE_SCALAR_BYTES = 32;
/** Bytes of a CPace message (an encoded ristretto255 element). */
export const CPACE_MESSAGE_BYTES = 32;
/** Bytes of the ISK (a SHA-512 output). */
export const CPACE_ISK_BYTES = 64;
/** Bytes of a key confirmation tag (an HMAC-SHA-512 output, not truncated). */
export const CPACE_TAG_BYTES = 64;

// SHA-512's input block size, H.s_in_bytes in the draft.
const _HASH_BLOCK_BYTES = 128;
// The group order of ristretto255, 2^252 + 27742317777372353535851937790883648493.
const _ORDER = ristretto255.Point.Fn.ORDER;
const _DSI = utf8(CPACE_DSI);
const _DSI_ISK = utf8(CPACE_DSI + "_ISK");
const _MAC_PREFIX = utf8("CPaceMac");

/** One party's message and associated data, as both parties saw them. */
export interface CpaceSide {
  /** The party's 32-byte CPace message (`Ya` or `Yb`). */
  message: Uint8Array;
  /** The party's associated data (`ADa` or `ADb`); may be empty. */
  ad: Uint8Array;
}

/** What {@linkcode cpaceStart} returns. */
export interface CpaceStarted {
  /** The secret 32-byte scalar; keep it until {@linkcode cpaceFinish}, then zero it. */
  scalar: Uint8Array;
  /** The 32-byte message to send (`Y = scalar*g`). */
  message: Uint8Array;
}

/** Arguments of {@linkcode cpaceFinish}. */
export interface CpaceFinishOptions {
  /** This party's secret scalar from {@linkcode cpaceStart}. */
  scalar: Uint8Array;
  /** The session ID both parties used. */
  sid: Uint8Array;
  /** The initiator's message and associated data (`Ya`, `ADa`). */
  initiator: CpaceSide;
  /** The responder's message and associated data (`Yb`, `ADb`). */
  responder: CpaceSide;
  /** Which side this party is; the other side's message is the one multiplied. */
  role: "initiator" | "responder";
}

/**
 * `prepend_len` (draft appendix A.1.1): the LEB128 encoding of `data`'s length, then `data`.
 *
 * @throws {TypeError} If `data` is not a `Uint8Array`.
 */
export function prependLen(data: Uint8Array): Uint8Array {
  assertBytes(data, "data");
  const length: number[] = [];
  let n = data.length;
  do {
    length.push(n < 128 ? n : (n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  } while (n > 0);
  return concat(Uint8Array.from(length), data);
}

/**
 * `lv_cat` (draft appendix A.1.3): every argument with its length prepended, concatenated. An
 * unambiguous encoding of a list of byte strings.
 *
 * @throws {TypeError} If an argument is not a `Uint8Array`.
 */
export function lvCat(...parts: Uint8Array[]): Uint8Array {
  return concat(...parts.map(prependLen));
}

/**
 * `generator_string(DSI, PRS, CI, sid, 128)` (draft appendix A.2) for CPaceRISTR255:
 * `lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid)`.
 *
 * @throws {TypeError} If an argument is not a `Uint8Array`.
 */
export function cpaceGeneratorString(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Uint8Array {
  _checkSessionInputs(prs, ci, sid);
  const padding = Math.max(
    0,
    _HASH_BLOCK_BYTES - 1 - prependLen(prs).length - prependLen(_DSI).length,
  );
  return lvCat(_DSI, prs, new Uint8Array(padding), ci, sid);
}

/**
 * `calculate_generator` (draft section 8.3): the 32-byte encoding of the generator `g` for this
 * password, channel identifier and session ID.
 *
 * @throws {TypeError} If an argument is not a `Uint8Array`.
 */
export function cpaceGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Uint8Array {
  return _generatorPoint(prs, ci, sid).toBytes();
}

/**
 * `sample_scalar` (draft section 8.3): 32 random bytes with the bits above 252 cleared, read
 * little-endian; never zero.
 */
export function cpaceSampleScalar(): Uint8Array {
  for (;;) {
    const scalar = randomBytes(CPACE_SCALAR_BYTES);
    scalar[31]! &= 0x0f;
    if (scalar.some((b) => b !== 0)) return scalar;
  }
}

/**
 * Starts a run: computes the generator, takes a scalar (a fresh one unless `scalar` is given,
 * which only tests should do) and returns it with the message `Y = scalar*g` to send.
 *
 * @throws {TypeError} If an argument is not a `Uint8Array`.
 * @throws {RangeError} If `scalar` is not 32 bytes of a little-endian integer in [1, order).
 */
export function cpaceStart(
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
  scalar?: Uint8Array,
): CpaceStarted {
  _checkSessionInputs(prs, ci, sid);
  const y = scalar === undefined ? cpaceSampleScalar() : scalar.slice();
  const point = _generatorPoint(prs, ci, sid).multiply(_scalarValue(y));
  return { scalar: y, message: point.toBytes() };
}

/**
 * `scalar_mult_vfy` with the draft's abort (section 7.2): `K = scalar*Y_peer`, encoded.
 *
 * @throws {CpaceError} If `peerMessage` is not the canonical encoding of a ristretto255
 *   element, or `K` is the identity (the peer sent the identity element).
 * @throws {TypeError | RangeError} If `scalar` is not a valid 32-byte scalar, or
 *   `peerMessage` is not a `Uint8Array`.
 */
export function cpaceSharedPoint(scalar: Uint8Array, peerMessage: Uint8Array): Uint8Array {
  const y = _scalarValue(scalar);
  assertBytes(peerMessage, "peerMessage");
  const peer = _decodeMessage(peerMessage);
  // K is the identity exactly when the peer sent the identity: the group has prime order
  // and y is not zero. A peer that sends it would know K without the password.
  const k = peer.multiply(y);
  if (k.is0()) {
    throw new CpaceError(
      "The other party's CPace message is the identity element; the run is aborted",
    );
  }
  return k.toBytes();
}

/**
 * `transcript_ir` (draft appendix A.3.4): `lv_cat(Ya, ADa) || lv_cat(Yb, ADb)`.
 *
 * @throws {TypeError} If an argument is not a `Uint8Array`.
 */
export function cpaceTranscript(initiator: CpaceSide, responder: CpaceSide): Uint8Array {
  _checkSide(initiator, "initiator");
  _checkSide(responder, "responder");
  return concat(
    lvCat(initiator.message, initiator.ad),
    lvCat(responder.message, responder.ad),
  );
}

/**
 * Finishes a run: `K` from this party's scalar and the other party's message, then the
 * 64-byte `ISK = SHA-512(lv_cat(DSI || "_ISK", sid, K) || transcript_ir(Ya, ADa, Yb, ADb))`.
 * Both parties get the same ISK only if they used the same PRS, CI and sid and saw the same
 * messages and associated data.
 *
 * @throws {CpaceError} If the other party's message is invalid or the identity.
 * @throws {TypeError | RangeError} On malformed arguments.
 */
export function cpaceFinish(options: CpaceFinishOptions): Uint8Array {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Expected cpaceFinish options to be an object");
  }
  const { scalar, sid, initiator, responder, role } = options;
  assertBytes(sid, "sid");
  const transcript = cpaceTranscript(initiator, responder);
  if (role !== "initiator" && role !== "responder") {
    throw new TypeError(`Expected role to be "initiator" or "responder", got ${String(role)}`);
  }
  const peer = role === "initiator" ? responder : initiator;
  const k = cpaceSharedPoint(scalar, peer.message);
  const input = concat(lvCat(_DSI_ISK, sid, k), transcript);
  try {
    return sha512(input);
  } finally {
    zeroize(k, input);
  }
}

/**
 * An explicit key confirmation tag (draft section 10.4):
 * `HMAC-SHA-512(SHA-512("CPaceMac" || sid || ISK), lv_cat(Y, AD))` over the message and
 * associated data the tagging party sent. 64 bytes, not truncated. The receiver recomputes
 * it for the sender's side and compares with `equalBytes`.
 *
 * @throws {TypeError | RangeError} If `isk` is not 64 bytes or an argument is not a `Uint8Array`.
 */
export function cpaceConfirmationTag(
  isk: Uint8Array,
  sid: Uint8Array,
  side: CpaceSide,
): Uint8Array {
  assertBytes(isk, "isk", CPACE_ISK_BYTES);
  assertBytes(sid, "sid");
  _checkSide(side, "side");
  const keyInput = concat(_MAC_PREFIX, sid, isk);
  const macKey = sha512(keyInput);
  try {
    return hmac(sha512, macKey, lvCat(side.message, side.ad));
  } finally {
    zeroize(keyInput, macKey);
  }
}

// RFC 9496 section 4.3.4; noble's types mark deriveToCurve optional, ristretto255 has it.
function _elementDerivation(hash: Uint8Array) {
  return ristretto255_hasher.deriveToCurve!(hash);
}

function _generatorPoint(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array) {
  const generatorString = cpaceGeneratorString(prs, ci, sid);
  const hash = sha512(generatorString);
  try {
    return _elementDerivation(hash);
  } finally {
    // The generator string holds the password.
    zeroize(generatorString, hash);
  }
}

function _decodeMessage(message: Uint8Array): InstanceType<typeof ristretto255.Point> {
  try {
    if (message.length !== CPACE_MESSAGE_BYTES) throw new RangeError("wrong length");
    return ristretto255.Point.fromBytes(message);
  } catch {
    throw new CpaceError(
      "The other party's CPace message is not a valid ristretto255 element; the run is aborted",
    );
  }
}

function _scalarValue(scalar: Uint8Array): bigint {
  assertBytes(scalar, "scalar", CPACE_SCALAR_BYTES);
  let value = 0n;
  for (let i = CPACE_SCALAR_BYTES - 1; i >= 0; i--) value = (value << 8n) | BigInt(scalar[i]!);
  if (value === 0n || value >= _ORDER) {
    throw new RangeError("Expected scalar to be a little-endian integer from 1 to the group order");
  }
  return value;
}

function _checkSessionInputs(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): void {
  assertBytes(prs, "prs");
  assertBytes(ci, "ci");
  assertBytes(sid, "sid");
}

function _checkSide(side: CpaceSide, name: string): void {
  if (typeof side !== "object" || side === null) {
    throw new TypeError(`Expected ${name} to be an object with message and ad`);
  }
  assertBytes(side.message, `${name}.message`);
  assertBytes(side.ad, `${name}.ad`);
}
