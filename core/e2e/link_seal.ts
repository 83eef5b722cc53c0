/**
 * Linking a device (docs/CRYPTO.md, "Linking a device"): the exchange as pure step functions.
 * The new device shows a link code; the old device, where the person is logged in, types it.
 *
 * 1. New device: {@linkcode startLink} makes the offer (CPace initiator message `Ya`, with its
 *    name and public keys as associated data `ADa`) for the server's slot.
 * 2. Old device: {@linkcode answerLink} reads the offer, makes its CPace message `Yb` with
 *    `ADb` = (user, device), derives the ISK and answers with its confirmation tag `Tb`.
 * 3. New device: {@linkcode confirmLink} derives the ISK, checks `Tb` (a wrong code fails here:
 *    `link_failed`) and answers with its own tag `Ta`.
 * 4. Old device: {@linkcode checkConfirm} checks `Ta`; then the caller signs the device list
 *    naming `state.device` and {@linkcode sealHandover} seals what the new device needs.
 * 5. New device: {@linkcode openHandover} opens it.
 *
 * Cryptography: CPace (draft-irtf-cfrg-cpace-21, `core/crypto/cpace.ts`) with PRS = the UTF-8
 * of the code's 8 password characters, CI = `fastchat-link-v1`, the sid from the offer,
 * `ADa = lv_cat(name, sign, rsa)`, `ADb = lv_cat(user, device)` (decimal), so a server that
 * changes the new device's keys or the account makes the two ISKs differ. Key confirmation is
 * the draft's (section 10.4): `HMAC-SHA-512(SHA-512("CPaceMac" || sid || ISK), lv_cat(Y, AD))`
 * over each side's own message, 64 bytes, compared in constant time. The hand-over is
 * XChaCha20-Poly1305 under `HKDF-SHA-512(ISK, salt empty, info "fastchat-link-v1 seal")` (32
 * bytes), cut into parts of at most 96 KiB of ciphertext (tag included, before base64), each
 * part `base64url(nonce(24) || ciphertext)` with a random nonce and the associated data
 * `lv_cat("fastchat-link-v1 part", sid, index, count)` (decimal), so parts cannot be reordered,
 * dropped, added or moved from another link. At most 64 parts.
 *
 * States are mutable objects that each step advances (`step`); secrets in them (the scalar,
 * the seal key) are zeroed as soon as they are no longer needed, and after a failure. A state
 * used out of order throws `TypeError`; a failed one throws `link_failed` again.
 *
 * @module
 */

import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha512 } from "@noble/hashes/sha2.js";
import {
  assertBytes,
  concat,
  equalBytes,
  fromBase64Url,
  randomBytes,
  toBase64Url,
  utf8,
  zeroize,
} from "../crypto/bytes.ts";
import {
  cpaceConfirmationTag,
  cpaceFinish,
  type CpaceSide,
  cpaceStart,
  type CpaceStarted,
  lvCat,
} from "../crypto/cpace.ts";
import { CpaceError } from "../crypto/errors.ts";
import { assertId } from "./e2e_common.ts";
import { E2eError } from "./e2e_errors.ts";
import { parseLinkCode } from "./link_code.ts";
import {
  answerAssociatedData,
  LINK_SID_BYTES,
  LINK_VERSION,
  type LinkAccount,
  type LinkAnswer,
  type LinkConfirm,
  type LinkDeviceKeys,
  linkDeviceKeysProblem,
  type LinkOffer,
  offerAssociatedData,
  parseLinkAnswer,
  parseLinkConfirm,
  parseLinkOffer,
} from "./link_messages.ts";

/** CPace's channel identifier (CI) for linking, version 1. */
export const LINK_CI = "fastchat-link-v1";
/** HKDF info of the hand-over key. */
export const LINK_SEAL_INFO = "fastchat-link-v1 seal";
/** Most ciphertext bytes in one hand-over part (tag included, before base64): 96 KiB. */
export const HANDOVER_PART_MAX_BYTES = 96 * 1024;
/** Most parts in one hand-over. */
export const HANDOVER_MAX_PARTS = 64;
/** Most plaintext bytes one hand-over can carry (64 full parts). */
export const HANDOVER_MAX_BYTES = HANDOVER_MAX_PARTS * (HANDOVER_PART_MAX_BYTES - 16);

const _CI = utf8(LINK_CI);
const _SEAL_INFO = utf8(LINK_SEAL_INFO);
const _PART_LABEL = utf8("fastchat-link-v1 part");
const _KEY_BYTES = 32;
const _NONCE_BYTES = 24;
const _TAG_BYTES = 16;
const _PART_PLAINTEXT_BYTES = HANDOVER_PART_MAX_BYTES - _TAG_BYTES;

/** The new device's side of a link. */
export interface NewDeviceLinkState {
  /** Which device this state is for. */
  readonly side: "new";
  /** `offered` after startLink, `confirmed` after confirmLink, `done` once opened, or `failed`. */
  step: "offered" | "confirmed" | "done" | "failed";
  /** The offer this device sent. */
  readonly offer: LinkOffer;
  /** The account and the old device, from a verified answer (set by confirmLink). */
  account?: LinkAccount;
  /** Secret: the CPace scalar, until confirmLink. */
  scalar?: Uint8Array;
  /** Secret: the hand-over key, from confirmLink until the hand-over is opened. */
  sealKey?: Uint8Array;
}

/** The old device's side of a link. */
export interface OldDeviceLinkState {
  /** Which device this state is for. */
  readonly side: "old";
  /** `answered` after answerLink, `confirmed` after checkConfirm, `done` once sealed, or `failed`. */
  step: "answered" | "confirmed" | "done" | "failed";
  /** The session ID, 16 bytes. */
  readonly sid: Uint8Array;
  /**
   * The new device's name and keys from the offer. Put them in the device list only once
   * checkConfirm has passed: only then are they known to come from the device with the code.
   */
  readonly device: LinkDeviceKeys;
  /** The account and this device, as sent in the answer. */
  readonly account: LinkAccount;
  /** Secret: the new device's expected confirmation tag, until checkConfirm. */
  expectedTag?: Uint8Array;
  /** Secret: the hand-over key, until the hand-over is sealed. */
  sealKey?: Uint8Array;
}

/**
 * New device, step 1: starts a link for `code` (from {@linkcode newLinkCode}) and this
 * device's name and public keys. Send `offer` to the slot named by the code's first 4
 * characters; keep `state` for {@linkcode confirmLink}.
 *
 * @throws {E2eError} `bad_link_code` if `code` is not a link code.
 * @throws {TypeError | RangeError} If `keys` are not a valid name, Ed25519 key and SPKI PEM.
 */
export function startLink(
  code: string,
  keys: LinkDeviceKeys,
): { state: NewDeviceLinkState; offer: LinkOffer } {
  if (typeof keys !== "object" || keys === null) {
    throw new TypeError("Expected keys to be an object with name, sign and rsa");
  }
  const problem = linkDeviceKeysProblem({ name: keys.name, sign: keys.sign, rsa: keys.rsa });
  if (problem !== undefined) throw new RangeError(`This device's ${problem}`);
  const { password } = parseLinkCode(code);
  const sid = randomBytes(LINK_SID_BYTES);
  try {
    const { scalar, message } = cpaceStart(password, _CI, sid);
    const offer: LinkOffer = {
      v: LINK_VERSION,
      sid: toBase64Url(sid, false),
      ya: toBase64Url(message, false),
      name: keys.name,
      sign: keys.sign,
      rsa: keys.rsa,
    };
    return { state: { side: "new", step: "offered", offer, scalar }, offer };
  } finally {
    zeroize(password);
  }
}

/**
 * Old device, step 2: answers an offer read from the slot of `code`, for this account and
 * device. Send `answer` back through the slot; keep `state` for {@linkcode checkConfirm}.
 *
 * @throws {E2eError} `bad_link_code` if `code` is not a link code; `bad_envelope` if the offer
 *   is malformed; `link_failed` if its CPace message is invalid (an attack, not a typo).
 * @throws {RangeError} If `account` does not hold positive integer IDs.
 */
export function answerLink(
  code: string,
  offer: unknown,
  account: LinkAccount,
): { state: OldDeviceLinkState; answer: LinkAnswer } {
  if (typeof account !== "object" || account === null) {
    throw new TypeError("Expected account to be an object with user and device");
  }
  assertId(account.user, "account.user");
  assertId(account.device, "account.device");
  const parsed = parseLinkOffer(offer);
  const { password } = parseLinkCode(code);
  const sid = fromBase64Url(parsed.sid);
  const own = { user: account.user, device: account.device };
  let started: CpaceStarted;
  try {
    started = cpaceStart(password, _CI, sid);
  } finally {
    zeroize(password);
  }
  const initiator = { message: fromBase64Url(parsed.ya), ad: offerAssociatedData(parsed) };
  const responder = { message: started.message, ad: answerAssociatedData(own) };
  const isk = _finish(started.scalar, sid, initiator, responder, "responder");
  try {
    const answer: LinkAnswer = {
      v: LINK_VERSION,
      yb: toBase64Url(started.message, false),
      user: own.user,
      device: own.device,
      tag: toBase64Url(cpaceConfirmationTag(isk, sid, responder), false),
    };
    const state: OldDeviceLinkState = {
      side: "old",
      step: "answered",
      sid,
      device: { name: parsed.name, sign: parsed.sign, rsa: parsed.rsa },
      account: own,
      expectedTag: cpaceConfirmationTag(isk, sid, initiator),
      sealKey: _sealKey(isk),
    };
    return { state, answer };
  } finally {
    zeroize(isk);
  }
}

/**
 * New device, step 3: checks the old device's answer and makes this device's confirmation.
 * Send `confirm` back through the slot. On success `state.account` names the account.
 *
 * @throws {E2eError} `link_failed` if the answer's tag does not verify (the code typed on
 *   the other device did not match, or the exchange was altered); the state is then spent.
 *   `bad_envelope` if the answer is malformed (the state is kept).
 * @throws {TypeError} If `state` is not a new device's state after {@linkcode startLink}.
 */
export function confirmLink(
  state: NewDeviceLinkState,
  answer: unknown,
): { state: NewDeviceLinkState; confirm: LinkConfirm } {
  _checkState(state, "new", "offered", "startLink");
  const parsed = parseLinkAnswer(answer);
  const scalar = state.scalar!;
  state.scalar = undefined;
  const sid = fromBase64Url(state.offer.sid);
  const initiator = {
    message: fromBase64Url(state.offer.ya),
    ad: offerAssociatedData(state.offer),
  };
  const account = { user: parsed.user, device: parsed.device };
  const responder = { message: fromBase64Url(parsed.yb), ad: answerAssociatedData(account) };
  let isk: Uint8Array;
  try {
    isk = _finish(scalar, sid, initiator, responder, "initiator");
  } catch (e) {
    state.step = "failed";
    throw e;
  }
  try {
    const expected = cpaceConfirmationTag(isk, sid, responder);
    const ok = equalBytes(expected, fromBase64Url(parsed.tag));
    zeroize(expected);
    if (!ok) {
      state.step = "failed";
      throw _linkFailed(
        "The link code did not match: the other device used a different code, or the " +
          "exchange was altered on the way. Get a new code on this device and try again",
      );
    }
    const confirm: LinkConfirm = {
      v: LINK_VERSION,
      tag: toBase64Url(cpaceConfirmationTag(isk, sid, initiator), false),
    };
    state.sealKey = _sealKey(isk);
    state.account = account;
    state.step = "confirmed";
    return { state, confirm };
  } finally {
    zeroize(isk);
  }
}

/**
 * Old device, step 4: checks the new device's confirmation. Only after this may the caller
 * sign a device list naming `state.device` and call {@linkcode sealHandover}.
 *
 * @throws {E2eError} `link_failed` if the tag does not verify (the state is then spent);
 *   `bad_envelope` if the confirmation is malformed (the state is kept).
 * @throws {TypeError} If `state` is not an old device's state after {@linkcode answerLink}.
 */
export function checkConfirm(state: OldDeviceLinkState, confirm: unknown): void {
  _checkState(state, "old", "answered", "answerLink");
  const parsed = parseLinkConfirm(confirm);
  const expected = state.expectedTag!;
  state.expectedTag = undefined;
  const ok = equalBytes(expected, fromBase64Url(parsed.tag));
  zeroize(expected);
  if (!ok) {
    state.step = "failed";
    zeroize(state.sealKey!);
    state.sealKey = undefined;
    throw _linkFailed(
      "The link code did not match: the new device's confirmation does not verify, so it " +
        "used a different code or the exchange was altered on the way. Get a new code on the " +
        "new device and try again",
    );
  }
  state.step = "confirmed";
}

/**
 * Old device, step 4 (end): seals `payload` (the hand-over: device list, account, contacts,
 * groups) for the new device, in parts of at most 96 KiB of ciphertext. Seals once: the key
 * is zeroed afterwards.
 *
 * @throws {E2eError} `too_large` if `payload` needs more than 64 parts (6 MiB).
 * @throws {TypeError} If `state` has not passed {@linkcode checkConfirm} or `payload` is not
 *   a `Uint8Array`.
 */
export function sealHandover(state: OldDeviceLinkState, payload: Uint8Array): string[] {
  _checkState(state, "old", "confirmed", "checkConfirm");
  assertBytes(payload, "payload");
  if (payload.length > HANDOVER_MAX_BYTES) {
    throw new E2eError(
      "too_large",
      `The hand-over is ${payload.length} bytes, more than the ${HANDOVER_MAX_BYTES} a link ` +
        `can carry (${HANDOVER_MAX_PARTS} parts)`,
    );
  }
  const key = state.sealKey!;
  const count = Math.max(1, Math.ceil(payload.length / _PART_PLAINTEXT_BYTES));
  const parts: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const chunk = payload.subarray(i * _PART_PLAINTEXT_BYTES, (i + 1) * _PART_PLAINTEXT_BYTES);
      const nonce = randomBytes(_NONCE_BYTES);
      const sealed = xchacha20poly1305(key, nonce, _partAd(state.sid, i, count)).encrypt(chunk);
      parts.push(toBase64Url(concat(nonce, sealed), false));
    }
  } finally {
    zeroize(key);
    state.sealKey = undefined;
    state.step = "done";
  }
  return parts;
}

/**
 * New device, step 5: opens the hand-over's parts, in order, and returns the payload. Opens
 * once: the key is zeroed afterwards. A failure keeps the state, so parts fetched again can
 * be tried.
 *
 * @throws {E2eError} `bad_handover` if there are not 1 to 64 parts, a part is malformed, or
 *   any part fails to open (altered, missing, extra, reordered, or from another link).
 * @throws {TypeError} If `state` has not passed {@linkcode confirmLink}.
 */
export function openHandover(state: NewDeviceLinkState, parts: unknown): Uint8Array {
  _checkState(state, "new", "confirmed", "confirmLink");
  if (!Array.isArray(parts) || parts.length < 1 || parts.length > HANDOVER_MAX_PARTS) {
    throw new E2eError(
      "bad_handover",
      `The hand-over must be 1 to ${HANDOVER_MAX_PARTS} parts, got ${
        Array.isArray(parts) ? parts.length : "something else"
      }`,
    );
  }
  const key = state.sealKey!;
  const sid = fromBase64Url(state.offer.sid);
  const opened: Uint8Array[] = [];
  for (let i = 0; i < parts.length; i++) {
    const bytes = _decodePart(parts[i], i);
    try {
      const cipher = xchacha20poly1305(
        key,
        bytes.subarray(0, _NONCE_BYTES),
        _partAd(sid, i, parts.length),
      );
      opened.push(cipher.decrypt(bytes.subarray(_NONCE_BYTES)));
    } catch {
      zeroize(...opened);
      throw new E2eError(
        "bad_handover",
        `Part ${i + 1} of ${parts.length} of the hand-over does not open: parts were altered, ` +
          "lost, added or reordered on the way, or come from another link. Link again with a " +
          "new code",
        { part: i + 1, parts: parts.length },
      );
    }
  }
  const payload = concat(...opened);
  zeroize(...opened, key);
  state.sealKey = undefined;
  state.step = "done";
  return payload;
}

/** Zeroes every secret in a link state and marks it spent, e.g. when the person cancels. */
export function endLink(state: NewDeviceLinkState | OldDeviceLinkState): void {
  if (typeof state !== "object" || state === null) throw new TypeError("Expected a link state");
  if (state.side === "new") {
    if (state.scalar) zeroize(state.scalar);
    state.scalar = undefined;
  } else {
    if (state.expectedTag) zeroize(state.expectedTag);
    state.expectedTag = undefined;
  }
  if (state.sealKey) zeroize(state.sealKey);
  state.sealKey = undefined;
  if (state.step !== "done") state.step = "failed";
}

function _finish(
  scalar: Uint8Array,
  sid: Uint8Array,
  initiator: CpaceSide,
  responder: CpaceSide,
  role: "initiator" | "responder",
): Uint8Array {
  try {
    return cpaceFinish({ scalar, sid, initiator, responder, role });
  } catch (e) {
    if (!(e instanceof CpaceError)) throw e;
    throw _linkFailed(
      "The other device's key exchange message is invalid, so the exchange was altered on " +
        "the way. Get a new code and try again",
    );
  } finally {
    zeroize(scalar);
  }
}

function _sealKey(isk: Uint8Array): Uint8Array {
  return hkdf(sha512, isk, new Uint8Array(0), _SEAL_INFO, _KEY_BYTES);
}

function _partAd(sid: Uint8Array, index: number, count: number): Uint8Array {
  return lvCat(_PART_LABEL, sid, utf8(String(index)), utf8(String(count)));
}

function _decodePart(part: unknown, index: number): Uint8Array {
  const minChars = Math.ceil((_NONCE_BYTES + _TAG_BYTES) * 4 / 3);
  const maxChars = Math.ceil((_NONCE_BYTES + HANDOVER_PART_MAX_BYTES) * 4 / 3);
  const bad = () =>
    new E2eError(
      "bad_handover",
      `Part ${index + 1} of the hand-over must be ${minChars} to ${maxChars} characters of ` +
        "url-safe base64 without padding",
      { part: index + 1 },
    );
  if (
    typeof part !== "string" || part.length < minChars || part.length > maxChars ||
    !/^[A-Za-z0-9_-]+$/.test(part)
  ) {
    throw bad();
  }
  try {
    return fromBase64Url(part);
  } catch {
    throw bad();
  }
}

function _linkFailed(message: string): E2eError {
  return new E2eError("link_failed", message);
}

function _checkState(
  state: NewDeviceLinkState | OldDeviceLinkState,
  side: "new" | "old",
  step: string,
  after: string,
): void {
  if (typeof state !== "object" || state === null || state.side !== side) {
    throw new TypeError(`Expected the ${side} device's link state`);
  }
  if (state.step === "failed") {
    throw _linkFailed(
      "This link has already failed or was cancelled. Get a new code and try again",
    );
  }
  if (state.step !== step) {
    throw new TypeError(
      `Expected the ${side} device's link state right after ${after}, but it is "${state.step}"`,
    );
  }
}
