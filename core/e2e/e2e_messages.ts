/**
 * Message envelopes: a text or one file chunk, Fernet-encrypted and signed by the sender.
 *
 * - "dm": under the key two friends share, found by key ID.
 * - "gm": under a group epoch's key, found by epoch; a member without that epoch's key (a
 *   removed member, after rotation) gets `no_key` naming the epoch.
 *
 * The ciphertext is a Fernet token (the Fernet spec) of the inner JSON (`e2e_content.ts`);
 * the Ed25519 signature (RFC 8032) is verified before any key lookup or decryption. See
 * `mod.ts` for the format as a whole.
 *
 * @module
 */

import { assertBytes, fromUtf8, utf8, zeroize } from "../crypto/bytes.ts";
import { InvalidToken } from "../crypto/errors.ts";
import { fernetDecrypt, fernetEncrypt } from "../crypto/fernet.ts";
import {
  assertEpoch,
  assertFunction,
  assertId,
  checkTimestamp,
  serializeChecked,
  signEnvelope,
  verifyEnvelope,
} from "./e2e_common.ts";
import { encodeContent, type OpenedContent, parseContent } from "./e2e_content.ts";
import { fernetKeyId, parseEnvelopeAs } from "./e2e_envelope.ts";
import { E2eError } from "./e2e_errors.ts";
import type { FileChunk } from "./e2e_file.ts";

// ---- Direct messages ----------------------------------------------------------------------

/** Arguments of {@linkcode sealDirect}. */
export interface SealDirectOptions {
  /** My user ID. */
  fromId: number;
  /** The friend's user ID. */
  toId: number;
  /** The Fernet key shared with this friend. */
  fernetKey: string;
  /** A text, or one chunk from `splitFile`. */
  plaintext: string | FileChunk;
  /** My 32-byte Ed25519 identity secret key. */
  senderIdentitySecret: Uint8Array;
  /** Timestamp to put inside, Unix milliseconds; defaults to now. */
  now?: number;
  /**
   * The message's client message ID, bound into the signature, so a server cannot replay
   * an old envelope as a new message (the receiver also drops a repeated ID). Empty if not
   * given; the opener must then pass none either.
   */
  clientMsgId?: string;
}

/** Routing context and keys for {@linkcode openDirect}. */
export interface OpenDirectContext {
  /** The sender, as stamped by the server. */
  fromId: number;
  /** My user ID. */
  toId: number;
  /** Returns the Fernet key with this key ID shared with the sender, if I have it. */
  keysByKid: (kid: string) => string | undefined;
  /** The sender's 32-byte Ed25519 identity public key. */
  senderIdentityPublic: Uint8Array;
  /** The client message ID the message arrived with (see the seal options). */
  clientMsgId?: string;
}

/** An opened direct message: the content and the ID of the key it used. */
export type OpenedDirect = OpenedContent & { kid: string };

/**
 * Encrypts and signs a direct message: a "dm" envelope.
 *
 * @throws {E2eError} `too_large` when the envelope would not fit in a message body.
 * @throws {TypeError | RangeError} On bad arguments.
 */
export function sealDirect(opts: SealDirectOptions): string {
  assertId(opts.fromId, "fromId");
  assertId(opts.toId, "toId");
  const kid = fernetKeyId(opts.fernetKey);
  assertBytes(opts.senderIdentitySecret, "senderIdentitySecret", 32);
  const ts = checkTimestamp(opts.now);
  const ct = _encrypt(opts.fernetKey, opts.plaintext, ts);
  const sig = signEnvelope(opts.senderIdentitySecret, "dm", [
    opts.fromId,
    opts.toId,
    kid,
    ct,
    opts.clientMsgId ?? "",
  ]);
  return serializeChecked({ v: 1, t: "dm", kid, ct, sig });
}

/**
 * Verifies and decrypts a "dm" envelope.
 *
 * @throws {E2eError} `bad_envelope`, `bad_signature`, `no_key` (no key with this ID),
 *   `bad_key` (the key found has another ID), or `bad_content`.
 * @throws {TypeError | RangeError} On bad arguments.
 */
export function openDirect(body: string, ctx: OpenDirectContext): OpenedDirect {
  assertId(ctx.fromId, "fromId");
  assertId(ctx.toId, "toId");
  assertFunction(ctx.keysByKid, "keysByKid");
  assertBytes(ctx.senderIdentityPublic, "senderIdentityPublic", 32);
  const env = parseEnvelopeAs(body, "dm");
  verifyEnvelope(ctx.senderIdentityPublic, "dm", [
    ctx.fromId,
    ctx.toId,
    env.kid,
    env.ct,
    ctx.clientMsgId ?? "",
  ], env.sig);
  const key = ctx.keysByKid(env.kid);
  if (key === undefined) {
    throw new E2eError(
      "no_key",
      `Cannot decrypt: you do not have the key ${env.kid} this message was encrypted with`,
      { kid: env.kid },
    );
  }
  _checkKeyId(key, env.kid, `The key returned for key ID ${env.kid}`);
  return { ..._decrypt(key, env.ct), kid: env.kid };
}

// ---- Group messages -----------------------------------------------------------------------

/** Arguments of {@linkcode sealGroup}. */
export interface SealGroupOptions {
  /** My user ID. */
  fromId: number;
  /** The group's ID. */
  groupId: number;
  /** The epoch of `fernetKey`. */
  epoch: number;
  /** The group's current Fernet key. */
  fernetKey: string;
  /** A text, or one chunk from `splitFile`. */
  plaintext: string | FileChunk;
  /** My 32-byte Ed25519 identity secret key. */
  senderIdentitySecret: Uint8Array;
  /** Timestamp to put inside, Unix milliseconds; defaults to now. */
  now?: number;
  /**
   * The message's client message ID, bound into the signature, so a server cannot replay
   * an old envelope as a new message (the receiver also drops a repeated ID). Empty if not
   * given; the opener must then pass none either.
   */
  clientMsgId?: string;
}

/** Routing context and keys for {@linkcode openGroup}. */
export interface OpenGroupContext {
  /** The sender, as stamped by the server. */
  fromId: number;
  /** The group the message arrived in. */
  groupId: number;
  /** Returns my key for this epoch of the group, if I have it. */
  keyForEpoch: (epoch: number) => string | undefined;
  /** The sender's 32-byte Ed25519 identity public key. */
  senderIdentityPublic: Uint8Array;
  /** The client message ID the message arrived with (see the seal options). */
  clientMsgId?: string;
}

/** An opened group message: the content, its epoch and key ID. */
export type OpenedGroup = OpenedContent & { epoch: number; kid: string };

/**
 * Encrypts and signs a group message under one epoch's key: a "gm" envelope.
 *
 * @throws {E2eError} `too_large` when the envelope would not fit in a message body.
 * @throws {TypeError | RangeError} On bad arguments.
 */
export function sealGroup(opts: SealGroupOptions): string {
  assertId(opts.fromId, "fromId");
  assertId(opts.groupId, "groupId");
  assertEpoch(opts.epoch);
  const kid = fernetKeyId(opts.fernetKey);
  assertBytes(opts.senderIdentitySecret, "senderIdentitySecret", 32);
  const ts = checkTimestamp(opts.now);
  const ct = _encrypt(opts.fernetKey, opts.plaintext, ts);
  const { groupId: group, epoch } = opts;
  const sig = signEnvelope(opts.senderIdentitySecret, "gm", [
    opts.fromId,
    group,
    epoch,
    kid,
    ct,
    opts.clientMsgId ?? "",
  ]);
  return serializeChecked({ v: 1, t: "gm", group, epoch, kid, ct, sig });
}

/**
 * Verifies and decrypts a "gm" envelope.
 *
 * @throws {E2eError} `bad_envelope`, `bad_signature` (also when replayed into another group),
 *   `no_key` (no key for the epoch: `details.epoch` says which, as for a removed member),
 *   `bad_key` (my key for the epoch has another ID), or `bad_content`.
 * @throws {TypeError | RangeError} On bad arguments.
 */
export function openGroup(body: string, ctx: OpenGroupContext): OpenedGroup {
  assertId(ctx.fromId, "fromId");
  assertId(ctx.groupId, "groupId");
  assertFunction(ctx.keyForEpoch, "keyForEpoch");
  assertBytes(ctx.senderIdentityPublic, "senderIdentityPublic", 32);
  const env = parseEnvelopeAs(body, "gm");
  if (env.group !== ctx.groupId) {
    // The signature covers the routing group; the envelope's copy must name the same one.
    throw new E2eError(
      "bad_signature",
      `The "gm" envelope names group ${env.group} but arrived in group ${ctx.groupId}; ` +
        "it was re-addressed or replayed",
    );
  }
  verifyEnvelope(ctx.senderIdentityPublic, "gm", [
    ctx.fromId,
    ctx.groupId,
    env.epoch,
    env.kid,
    env.ct,
    ctx.clientMsgId ?? "",
  ], env.sig);
  const key = ctx.keyForEpoch(env.epoch);
  if (key === undefined) {
    throw new E2eError(
      "no_key",
      `Cannot decrypt: you do not have the key for epoch ${env.epoch}`,
      { group: env.group, epoch: env.epoch, kid: env.kid },
    );
  }
  _checkKeyId(key, env.kid, `Your key for epoch ${env.epoch}`);
  return { ..._decrypt(key, env.ct), epoch: env.epoch, kid: env.kid };
}

// ---- Helpers ------------------------------------------------------------------------------

function _encrypt(fernetKey: string, plaintext: string | FileChunk, ts: number): string {
  const bytes = utf8(encodeContent(plaintext, ts));
  try {
    return fernetEncrypt(fernetKey, bytes, { now: Math.floor(ts / 1000) });
  } finally {
    zeroize(bytes);
  }
}

function _decrypt(fernetKey: string, ct: string): OpenedContent {
  let bytes: Uint8Array;
  try {
    bytes = fernetDecrypt(fernetKey, ct);
  } catch (err) {
    if (!(err instanceof InvalidToken)) throw err;
    throw new E2eError(
      "bad_content",
      "The message does not decrypt with the key it names, though its signature is valid",
    );
  }
  let json: string;
  try {
    json = fromUtf8(bytes);
  } catch {
    throw new E2eError("bad_content", "Decrypted message is invalid: it is not UTF-8");
  } finally {
    zeroize(bytes);
  }
  return parseContent(json);
}

function _checkKeyId(fernetKey: string, kid: string, what: string): void {
  const actual = fernetKeyId(fernetKey);
  if (actual !== kid) {
    throw new E2eError(
      "bad_key",
      `${what} has key ID ${actual}, but the message was encrypted with ${kid}`,
      { kid },
    );
  }
}
