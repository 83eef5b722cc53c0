/**
 * Key envelopes: a Fernet key RSA-wrapped to one recipient and signed by the sender.
 *
 * - "friend_key": the key a pair of friends shares for direct messages.
 * - "group_key": one epoch's group key, sent by the admin to each member.
 *
 * Wrapping is RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017 section 7.1) of the key's
 * 44-character text; the OAEP label differs per kind, so a wrapped friend key never unwraps
 * as a group key or the other way round. The signature is verified before the private key is
 * used. See `mod.ts` for the format as a whole.
 *
 * @module
 */

import {
  assertBytes,
  fromBase64Url,
  fromUtf8,
  toBase64Url,
  utf8,
  zeroize,
} from "../crypto/bytes.ts";
import { DecryptionError } from "../crypto/errors.ts";
import { rsaDecrypt, rsaEncrypt } from "../crypto/rsa.ts";
import type { RsaPrivateKey, RsaPublicKey } from "../crypto/rsa_types.ts";
import {
  assertEpoch,
  assertId,
  checkTimestamp,
  serializeChecked,
  signEnvelope,
  verifyEnvelope,
} from "./e2e_common.ts";
import { fernetKeyId, kidOfRawKey, parseEnvelopeAs, parseFernetKey } from "./e2e_envelope.ts";
import { E2eError } from "./e2e_errors.ts";

/** OAEP label of friend keys. */
export const FRIEND_KEY_LABEL = "fastchat friend key";
/** OAEP label of group keys. */
export const GROUP_KEY_LABEL = "fastchat group key";

const _FRIEND_LABEL = utf8(FRIEND_KEY_LABEL);
const _GROUP_LABEL = utf8(GROUP_KEY_LABEL);

// ---- Friend keys --------------------------------------------------------------------------

/** Arguments of {@linkcode sealFriendKey}. */
export interface SealFriendKeyOptions {
  /** My user ID. */
  fromId: number;
  /** The friend's user ID. */
  toId: number;
  /** The Fernet key to share with the friend. */
  fernetKey: string;
  /** The friend's RSA public key. */
  recipientRsaPublic: RsaPublicKey;
  /** My 32-byte Ed25519 identity secret key. */
  senderIdentitySecret: Uint8Array;
  /** Timestamp to record, Unix milliseconds; defaults to now. */
  now?: number;
}

/** Routing context and keys for {@linkcode openFriendKey}. */
export interface OpenFriendKeyContext {
  /** The sender, as stamped by the server. */
  fromId: number;
  /** My user ID. */
  toId: number;
  /** My RSA private key. */
  recipientRsaPrivate: RsaPrivateKey;
  /** The sender's 32-byte Ed25519 identity public key. */
  senderIdentityPublic: Uint8Array;
}

/** An opened friend key. */
export interface OpenedFriendKey {
  /** The shared Fernet key. */
  fernetKey: string;
  /** Its key ID. */
  kid: string;
  /** When the sender made it, Unix milliseconds. */
  ts: number;
}

/**
 * Wraps a Fernet key for a friend and signs it: a "friend_key" envelope.
 *
 * @returns The body to send in a `key` frame to `toId`.
 * @throws {TypeError | RangeError} On bad arguments.
 */
export function sealFriendKey(opts: SealFriendKeyOptions): string {
  assertId(opts.fromId, "fromId");
  assertId(opts.toId, "toId");
  const kid = fernetKeyId(opts.fernetKey);
  assertBytes(opts.senderIdentitySecret, "senderIdentitySecret", 32);
  const ts = checkTimestamp(opts.now);
  const wrapped = _wrap(opts.recipientRsaPublic, opts.fernetKey, _FRIEND_LABEL);
  const sig = signEnvelope(opts.senderIdentitySecret, "friend_key", [
    opts.fromId,
    opts.toId,
    kid,
    wrapped,
    ts,
  ]);
  return serializeChecked({ v: 1, t: "friend_key", kid, wrapped, ts, sig });
}

/**
 * Verifies and unwraps a "friend_key" envelope.
 *
 * @throws {E2eError} `bad_envelope`, `bad_signature`, or `bad_key` (does not unwrap with my
 *   key, is not a Fernet key, or does not match its key ID).
 * @throws {TypeError | RangeError} On bad arguments.
 */
export function openFriendKey(body: string, ctx: OpenFriendKeyContext): OpenedFriendKey {
  assertId(ctx.fromId, "fromId");
  assertId(ctx.toId, "toId");
  assertBytes(ctx.senderIdentityPublic, "senderIdentityPublic", 32);
  const env = parseEnvelopeAs(body, "friend_key");
  verifyEnvelope(ctx.senderIdentityPublic, "friend_key", [
    ctx.fromId,
    ctx.toId,
    env.kid,
    env.wrapped,
    env.ts,
  ], env.sig);
  const fernetKey = _unwrap(ctx.recipientRsaPrivate, env.wrapped, _FRIEND_LABEL, env.kid);
  return { fernetKey, kid: env.kid, ts: env.ts };
}

// ---- Group keys ---------------------------------------------------------------------------

/** Arguments of {@linkcode sealGroupKey}. */
export interface SealGroupKeyOptions {
  /** The admin's user ID. */
  fromId: number;
  /** The member's user ID. */
  toId: number;
  /** The group's ID. */
  groupId: number;
  /** The key's epoch; each rotation makes a new, larger one. */
  epoch: number;
  /** The epoch's Fernet key. */
  fernetKey: string;
  /** The member's RSA public key. */
  recipientRsaPublic: RsaPublicKey;
  /** The admin's 32-byte Ed25519 identity secret key. */
  senderIdentitySecret: Uint8Array;
}

/** Routing context and keys for {@linkcode openGroupKey}. */
export interface OpenGroupKeyContext {
  /** The sender, as stamped by the server. */
  fromId: number;
  /** My user ID. */
  toId: number;
  /** My RSA private key. */
  recipientRsaPrivate: RsaPrivateKey;
  /** The sender's 32-byte Ed25519 identity public key. */
  senderIdentityPublic: Uint8Array;
}

/** An opened group key. The caller checks the sender is the admin and the epoch is new. */
export interface OpenedGroupKey {
  /** The group's ID, as signed by the sender. */
  groupId: number;
  /** The key's epoch. */
  epoch: number;
  /** The epoch's Fernet key. */
  fernetKey: string;
  /** Its key ID. */
  kid: string;
}

/**
 * Wraps one epoch's group key for one member and signs it: a "group_key" envelope.
 *
 * @throws {TypeError | RangeError} On bad arguments.
 */
export function sealGroupKey(opts: SealGroupKeyOptions): string {
  assertId(opts.fromId, "fromId");
  assertId(opts.toId, "toId");
  assertId(opts.groupId, "groupId");
  assertEpoch(opts.epoch);
  const kid = fernetKeyId(opts.fernetKey);
  assertBytes(opts.senderIdentitySecret, "senderIdentitySecret", 32);
  const wrapped = _wrap(opts.recipientRsaPublic, opts.fernetKey, _GROUP_LABEL);
  const { groupId: group, epoch } = opts;
  const sig = signEnvelope(opts.senderIdentitySecret, "group_key", [
    opts.fromId,
    opts.toId,
    group,
    epoch,
    kid,
    wrapped,
  ]);
  return serializeChecked({ v: 1, t: "group_key", group, epoch, kid, wrapped, sig });
}

/**
 * Verifies and unwraps a "group_key" envelope.
 *
 * @throws {E2eError} `bad_envelope`, `bad_signature` or `bad_key`.
 * @throws {TypeError | RangeError} On bad arguments.
 */
export function openGroupKey(body: string, ctx: OpenGroupKeyContext): OpenedGroupKey {
  assertId(ctx.fromId, "fromId");
  assertId(ctx.toId, "toId");
  assertBytes(ctx.senderIdentityPublic, "senderIdentityPublic", 32);
  const env = parseEnvelopeAs(body, "group_key");
  verifyEnvelope(ctx.senderIdentityPublic, "group_key", [
    ctx.fromId,
    ctx.toId,
    env.group,
    env.epoch,
    env.kid,
    env.wrapped,
  ], env.sig);
  const fernetKey = _unwrap(ctx.recipientRsaPrivate, env.wrapped, _GROUP_LABEL, env.kid);
  return { groupId: env.group, epoch: env.epoch, fernetKey, kid: env.kid };
}

// ---- Helpers ------------------------------------------------------------------------------

function _wrap(publicKey: RsaPublicKey, fernetKey: string, label: Uint8Array): string {
  const text = utf8(fernetKey);
  try {
    return toBase64Url(rsaEncrypt(publicKey, text, "oaep", label), false);
  } finally {
    zeroize(text);
  }
}

function _unwrap(
  privateKey: RsaPrivateKey,
  wrapped: string,
  label: Uint8Array,
  kid: string,
): string {
  let unwrapped: Uint8Array;
  try {
    unwrapped = rsaDecrypt(privateKey, fromBase64Url(wrapped), "oaep", label);
  } catch (err) {
    if (!(err instanceof DecryptionError)) throw err;
    throw new E2eError("bad_key", "The wrapped key does not unwrap with your RSA private key");
  }
  let text: string | undefined;
  let raw: Uint8Array | undefined;
  try {
    try {
      text = fromUtf8(unwrapped);
    } catch {
      // Invalid UTF-8; not a key.
    }
    raw = text === undefined ? undefined : parseFernetKey(text);
    if (raw === undefined) {
      throw new E2eError("bad_key", "The unwrapped key is not a Fernet key");
    }
    const actual = kidOfRawKey(raw);
    if (actual !== kid) {
      throw new E2eError(
        "bad_key",
        `The unwrapped key has key ID ${actual}, not the ${kid} the envelope names`,
      );
    }
    return text!;
  } finally {
    zeroize(unwrapped);
    if (raw !== undefined) zeroize(raw);
  }
}
