/**
 * The Double Ratchet, as in Signal's specification (https://signal.org/docs/specifications/
 * doubleratchet/, revision 4, sections 3.2 to 3.5), with every message body a Fernet token as
 * the seed's format says. Pure: no I/O; the caller stores the state (ratchet_state.ts) and
 * sends the envelopes (ratchet_message.ts).
 *
 * Parameters (docs/CRYPTO.md, "Forward secrecy: the Double Ratchet (issue 22)"):
 * - DH: X25519. GENERATE_DH: a fresh key pair from the OS CSPRNG.
 * - KDF_RK(rk, dh_out) = HKDF-SHA-256(salt = rk, ikm = dh_out, info = "fastchat-ratchet-v1
 *   root", 64 bytes): the first 32 are the new root key, the last 32 the new chain key.
 * - KDF_CK(ck): message key = HMAC-SHA-256(ck, 0x01), next chain key = HMAC-SHA-256(ck, 0x02)
 *   (the specification's recommendation).
 * - The message key becomes a Fernet key: HKDF-SHA-256(ikm = mk, salt = 32 zero bytes,
 *   info = "fastchat-ratchet-v1 fernet", 32 bytes): the first 16 are Fernet's HMAC-SHA-256
 *   signing key, the last 16 its AES-128-CBC key (a Fernet key is 16 + 16 bytes; see
 *   core/crypto/fernet.ts), as padded url-safe base64.
 * - The header is bound inside the token (see ratchet_message.ts): the plaintext is
 *   `SHA-256(binding of ad and header) || body`, checked when opening.
 * - MAX_SKIP = 1000 keys per chain per message; at most 2000 skipped keys kept, oldest dropped.
 *
 * Keys used are deleted: a message key is zeroed once its message is sealed or opened (a
 * skipped one once its message opens), a chain key as soon as it advances, the root key and
 * the old DH secret at each DH step. Decryption changes nothing unless the message opens
 * (the specification's advice in section 3.5), so forged messages cannot disturb a session.
 * Fernet takes its key as text, which JavaScript cannot wipe; it lives only for one call.
 *
 * @module
 */

import { CHAIN_KEY_BYTE, chainStep, MESSAGE_KEY_BYTE, messageFernetKey } from "./chain_keys.ts";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { assertBytes, concat, equalBytes, toBase64Url, utf8, zeroize } from "../crypto/bytes.ts";
import { InvalidToken } from "../crypto/errors.ts";
import { fernetDecrypt, fernetEncrypt } from "../crypto/fernet.ts";
import { LIMITS } from "../protocol/limits.ts";
import { E2eError } from "./e2e_errors.ts";
import {
  encodeRatchetMessage,
  parseRatchetMessage,
  RATCHET_BINDING_BYTES,
  RATCHET_MAX_INDEX,
  type RatchetHeader,
  ratchetHeaderHash,
} from "./ratchet_message.ts";
import {
  assertLiveState,
  MAX_RETIRED_KEYS,
  MAX_SKIP,
  MAX_SKIPPED_KEYS,
  type RatchetKeyPair,
  type RatchetState,
  skippedKeyId,
  wipeChains,
} from "./ratchet_state.ts";

/** HKDF info of KDF_RK. */
export const RATCHET_ROOT_INFO = "fastchat-ratchet-v1 root";
/** HKDF info turning a message key into a Fernet key. */
export const RATCHET_FERNET_INFO = "fastchat-ratchet-v1 fernet";
/** KDF_CK's HMAC input for the message key. */
export const RATCHET_MESSAGE_KEY_BYTE = MESSAGE_KEY_BYTE;
/** KDF_CK's HMAC input for the next chain key. */
export const RATCHET_CHAIN_KEY_BYTE = CHAIN_KEY_BYTE;

const _ROOT_INFO = utf8(RATCHET_ROOT_INFO);
const _FERNET_INFO = utf8(RATCHET_FERNET_INFO);
// Envelope overhead besides the token: {"v":1,"t":"rm","dh":"<43>","pn":<10>,"n":<10>,"ct":""}.
const _ENVELOPE_OVERHEAD = 110;

/**
 * RatchetInitAlice: the initiator's state from the handshake's shared secret `sk` and the
 * responder's ratchet public key (their signed prekey in X3DH). The initiator can send at once.
 *
 * @throws {TypeError | RangeError} If `sk` or `bobDhPublic` is not 32 bytes.
 * @throws {E2eError} `ratchet_bad_message` if `bobDhPublic` is a low-order point.
 */
export function ratchetInitAlice(sk: Uint8Array, bobDhPublic: Uint8Array): RatchetState {
  assertBytes(sk, "sk", 32);
  assertBytes(bobDhPublic, "bobDhPublic", 32);
  const dhs = _generateDh();
  const dhOut = _dh(dhs.secretKey, bobDhPublic);
  const [rk, cks] = _kdfRk(sk, dhOut);
  zeroize(dhOut);
  return {
    dhs,
    dhr: bobDhPublic.slice(),
    rk,
    cks,
    ckr: undefined,
    ns: 0,
    nr: 0,
    pn: 0,
    skipped: new Map(),
    retired: [],
    ended: false,
  };
}

/**
 * RatchetInitBob: the responder's state from the shared secret `sk` and its ratchet key pair
 * (the signed prekey the initiator used). It can send only after the first message arrives.
 * The key pair is copied: the caller keeps (and may later erase) its own.
 *
 * @throws {TypeError | RangeError} If `sk` or a key is not 32 bytes, or the public key does not
 *   belong to the secret key.
 */
export function ratchetInitBob(sk: Uint8Array, bobDhKeyPair: RatchetKeyPair): RatchetState {
  assertBytes(sk, "sk", 32);
  if (typeof bobDhKeyPair !== "object" || bobDhKeyPair === null) {
    throw new TypeError("Expected bobDhKeyPair to be { secretKey, publicKey }");
  }
  assertBytes(bobDhKeyPair.secretKey, "bobDhKeyPair.secretKey", 32);
  assertBytes(bobDhKeyPair.publicKey, "bobDhKeyPair.publicKey", 32);
  const publicKey = x25519.getPublicKey(bobDhKeyPair.secretKey);
  if (!equalBytes(publicKey, bobDhKeyPair.publicKey)) {
    throw new RangeError("Expected bobDhKeyPair.publicKey to be the public key of its secretKey");
  }
  return {
    dhs: { secretKey: bobDhKeyPair.secretKey.slice(), publicKey },
    dhr: undefined,
    rk: sk.slice(),
    cks: undefined,
    ckr: undefined,
    ns: 0,
    nr: 0,
    pn: 0,
    skipped: new Map(),
    retired: [],
    ended: false,
  };
}

/**
 * RatchetEncrypt: seals `plaintext` with the next sending message key and returns the
 * envelope (ratchet_message.ts). `ad` is the associated data both sides agree on (e.g. both
 * devices' identity keys); it is authenticated, not sent.
 *
 * @throws {E2eError} `ratchet_not_ready` if this is the responder before the first message;
 *   `too_large` if the envelope would not fit in a message body (the state is unchanged).
 * @throws {TypeError} If `state` is not a live state or `plaintext` / `ad` not bytes.
 */
export function ratchetEncrypt(
  state: RatchetState,
  plaintext: Uint8Array,
  ad: Uint8Array,
): string {
  assertLiveState(state);
  assertBytes(plaintext, "plaintext");
  assertBytes(ad, "ad");
  if (state.cks === undefined) {
    throw new E2eError(
      "ratchet_not_ready",
      "This session cannot send yet: the responder sends only after the initiator's first " +
        "message has arrived",
    );
  }
  if (state.ns >= RATCHET_MAX_INDEX) {
    throw new RangeError("The sending chain is exhausted; this needs 2^32 messages in a row");
  }
  const size = _envelopeChars(plaintext.length);
  if (size > LIMITS.bodyChars) {
    throw new E2eError(
      "too_large",
      `Message too long: its envelope would be ${size} characters, more than the ` +
        `${LIMITS.bodyChars} a message body may be`,
    );
  }
  const header: RatchetHeader = { dh: state.dhs.publicKey.slice(), pn: state.pn, n: state.ns };
  const [cks, mk] = chainStep(state.cks);
  zeroize(state.cks);
  state.cks = cks;
  state.ns += 1;
  const sealed = concat(ratchetHeaderHash(ad, header), plaintext);
  try {
    return encodeRatchetMessage({
      header,
      ct: fernetEncrypt(messageFernetKey(mk, _FERNET_INFO), sealed),
    });
  } finally {
    zeroize(mk, sealed);
  }
}

/**
 * RatchetDecrypt: opens an envelope from the other side, taking a DH ratchet step when its
 * ratchet key is new and keeping the keys of messages it skips (at most
 * {@linkcode MAX_SKIP} per chain, {@linkcode MAX_SKIPPED_KEYS} overall, oldest dropped). The
 * state changes only when the message opens.
 *
 * @returns The plaintext.
 * @throws {E2eError} `bad_envelope` if `body` is malformed; `ratchet_replay` if the message's
 *   key is gone (already decrypted, or dropped); `ratchet_too_many_skipped` if it would skip
 *   more than MAX_SKIP keys in a chain; `ratchet_bad_message` if it does not open with the key
 *   its header leads to; `ratchet_bad_header` if it opens but was sealed with another header
 *   or associated data.
 * @throws {TypeError} If `state` is not a live state or `ad` not bytes.
 */
export function ratchetDecrypt(state: RatchetState, body: string, ad: Uint8Array): Uint8Array {
  assertLiveState(state);
  assertBytes(ad, "ad");
  const { header, ct } = parseRatchetMessage(body);
  const id = skippedKeyId(header.dh, header.n);
  const skippedKey = state.skipped.get(id);
  if (skippedKey !== undefined) {
    const plaintext = _open(skippedKey, ct, ad, header);
    state.skipped.delete(id);
    zeroize(skippedKey);
    return plaintext;
  }
  const dhB64 = toBase64Url(header.dh, false);
  // A chain we receive on; the initiator's first "dhr" (the responder's prekey) never is one.
  const sameChain = state.ckr !== undefined && equalBytes(header.dh, state.dhr!);
  if ((sameChain && header.n < state.nr) || state.retired.includes(dhB64)) {
    throw new E2eError(
      "ratchet_replay",
      `Message ${header.n} of this chain was already decrypted (a replay or duplicate), or ` +
        "its key was dropped; its key is gone",
      { n: header.n },
    );
  }
  // Work on a copy of the chains and collect skipped keys aside: commit only on success.
  const work = _copyChains(state);
  const newSkipped: [string, Uint8Array][] = [];
  let mk: Uint8Array | undefined;
  try {
    if (!sameChain) {
      _skipMessageKeys(work, header.pn, newSkipped);
      _dhRatchet(work, header.dh);
    }
    _skipMessageKeys(work, header.n, newSkipped);
    const [ckr, key] = chainStep(work.ckr!);
    zeroize(work.ckr!);
    work.ckr = ckr;
    work.nr += 1;
    mk = key;
    const plaintext = _open(mk, ct, ad, header);
    _commit(state, work, newSkipped, !sameChain);
    return plaintext;
  } catch (e) {
    wipeChains(work);
    for (const [, key] of newSkipped) zeroize(key);
    throw e;
  } finally {
    if (mk) zeroize(mk);
  }
}

/** Installs the working chains into `state`, zeroing what they replace. */
function _commit(
  state: RatchetState,
  work: RatchetState,
  newSkipped: [string, Uint8Array][],
  stepped: boolean,
): void {
  if (stepped && state.dhr !== undefined) {
    state.retired.push(toBase64Url(state.dhr, false));
    if (state.retired.length > MAX_RETIRED_KEYS) state.retired.shift();
  }
  wipeChains(state);
  state.dhs = work.dhs;
  state.dhr = work.dhr;
  state.rk = work.rk;
  state.cks = work.cks;
  state.ckr = work.ckr;
  state.ns = work.ns;
  state.nr = work.nr;
  state.pn = work.pn;
  for (const [id, key] of newSkipped) state.skipped.set(id, key);
  // Map keys iterate in insertion order, so the first ones are the oldest.
  for (const [id, key] of state.skipped) {
    if (state.skipped.size <= MAX_SKIPPED_KEYS) break;
    zeroize(key);
    state.skipped.delete(id);
  }
}

/** SkipMessageKeys: derives and keeps the receiving chain's keys up to index `until`. */
function _skipMessageKeys(
  work: RatchetState,
  until: number,
  out: [string, Uint8Array][],
): void {
  // Without a receiving chain there is nothing to skip (the first message of a session).
  if (work.ckr === undefined) return;
  if (until - work.nr > MAX_SKIP) {
    throw new E2eError(
      "ratchet_too_many_skipped",
      `The message would skip ${until - work.nr} messages of its chain, more than the ` +
        `${MAX_SKIP} a session keeps keys for`,
      { skipped: until - work.nr, max: MAX_SKIP },
    );
  }
  while (work.nr < until) {
    const [ckr, mk] = chainStep(work.ckr);
    zeroize(work.ckr);
    work.ckr = ckr;
    out.push([skippedKeyId(work.dhr!, work.nr), mk]);
    work.nr += 1;
  }
}

/** DHRatchet: a new receiving chain from their new key, then a new sending chain from ours. */
function _dhRatchet(work: RatchetState, dh: Uint8Array): void {
  work.pn = work.ns;
  work.ns = 0;
  work.nr = 0;
  work.dhr = dh.slice();
  const received = _dh(work.dhs.secretKey, work.dhr);
  const [rk1, ckr] = _kdfRk(work.rk, received);
  zeroize(received, work.rk, work.dhs.secretKey);
  if (work.ckr) zeroize(work.ckr);
  if (work.cks) zeroize(work.cks);
  work.ckr = ckr;
  work.dhs = _generateDh();
  const sent = _dh(work.dhs.secretKey, work.dhr);
  const [rk2, cks] = _kdfRk(rk1, sent);
  zeroize(sent, rk1);
  work.rk = rk2;
  work.cks = cks;
}

/** Opens a token with a message key and checks its header binding. */
function _open(mk: Uint8Array, ct: string, ad: Uint8Array, header: RatchetHeader): Uint8Array {
  let sealed: Uint8Array;
  try {
    sealed = fernetDecrypt(messageFernetKey(mk, _FERNET_INFO), ct);
  } catch (e) {
    if (!(e instanceof InvalidToken)) throw e;
    throw new E2eError(
      "ratchet_bad_message",
      `Message ${header.n} does not decrypt with its chain's key: it was altered or forged, ` +
        "or belongs to another session",
      { n: header.n },
    );
  }
  const expected = ratchetHeaderHash(ad, header);
  const ok = sealed.length >= RATCHET_BINDING_BYTES &&
    equalBytes(sealed.subarray(0, RATCHET_BINDING_BYTES), expected);
  if (!ok) {
    zeroize(sealed);
    throw new E2eError(
      "ratchet_bad_header",
      `Message ${header.n} decrypts but was sealed with another header or associated data: ` +
        "its header was altered, or it was meant for another pair of devices",
      { n: header.n },
    );
  }
  const plaintext = sealed.slice(RATCHET_BINDING_BYTES);
  zeroize(sealed);
  return plaintext;
}

/** KDF_RK: HKDF-SHA-256(salt = rk, ikm = dhOut, info = RATCHET_ROOT_INFO) -> (rk, ck). */
function _kdfRk(rk: Uint8Array, dhOut: Uint8Array): [Uint8Array, Uint8Array] {
  const out = hkdf(sha256, dhOut, rk, _ROOT_INFO, 64);
  const keys: [Uint8Array, Uint8Array] = [out.slice(0, 32), out.slice(32)];
  zeroize(out);
  return keys;
}

function _dh(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  try {
    return x25519.getSharedSecret(secretKey, publicKey);
  } catch {
    // noble refuses low-order points (an all-zero shared secret): a forged ratchet key.
    throw new E2eError(
      "ratchet_bad_message",
      "The message's ratchet key is not a usable X25519 public key; it was forged",
    );
  }
}

function _generateDh(): RatchetKeyPair {
  const { secretKey, publicKey } = x25519.keygen();
  return { secretKey, publicKey };
}

function _copyChains(state: RatchetState): RatchetState {
  return {
    dhs: { secretKey: state.dhs.secretKey.slice(), publicKey: state.dhs.publicKey.slice() },
    dhr: state.dhr?.slice(),
    rk: state.rk.slice(),
    cks: state.cks?.slice(),
    ckr: state.ckr?.slice(),
    ns: state.ns,
    nr: state.nr,
    pn: state.pn,
    skipped: state.skipped,
    retired: state.retired,
    ended: false,
  };
}

/** Length of the envelope for a plaintext of `n` bytes (an upper bound on its overhead). */
function _envelopeChars(n: number): number {
  // Fernet: version 1 + time 8 + IV 16 + CBC blocks (PKCS#7 always pads) + MAC 32, in base64.
  const tokenBytes = 57 + (Math.floor((RATCHET_BINDING_BYTES + n) / 16) + 1) * 16;
  return _ENVELOPE_OVERHEAD + Math.ceil(tokenBytes / 3) * 4;
}

export {
  endRatchetState,
  MAX_RETIRED_KEYS,
  MAX_SKIP,
  MAX_SKIPPED_KEYS,
  parseRatchetState,
  type RatchetKeyPair,
  type RatchetState,
  serializeRatchetState,
} from "./ratchet_state.ts";
export {
  parseRatchetMessage,
  RATCHET_HEADER_LABEL,
  type RatchetHeader,
  ratchetHeaderHash,
  type RatchetMessage,
} from "./ratchet_message.ts";
