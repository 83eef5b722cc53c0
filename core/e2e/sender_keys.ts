/**
 * Group sender keys, modelled on Signal's Sender Keys (docs/CRYPTO.md, "Forward secrecy: group
 * sender keys (issue 22)"). Each member device has its own sender key per group: a chain key
 * advanced by an HMAC per message and an Ed25519 signing key made for this sender key alone. The
 * device sends its sender key to every other member device once, as a distribution message over
 * the pairwise Double Ratchet sessions (the caller encrypts it), then encrypts each group
 * message once for all of them. Pure: no I/O; the caller stores the states.
 *
 * Parameters:
 * - Chain: message key = HMAC-SHA-256(ck, 0x01), next chain key = HMAC-SHA-256(ck, 0x02) (as the
 *   Double Ratchet's KDF_CK); the old chain key is zeroed as soon as it advances.
 * - Fernet key of a message key: HKDF-SHA-256(ikm = mk, salt = 32 zero bytes,
 *   info = "fastchat-sender-key-v1 fernet", 32 bytes), as padded url-safe base64.
 * - Signature: Ed25519 by the sender key's own signing key over
 *   `"fastchat-sender-key-v1" 0x00 || u64(group) || kid (8 bytes) || u32(n) || u32(len(ct)) ||
 *   ct || u32(len(ad)) || ad` (big-endian; `ct` the token's ASCII text, `ad` the caller's
 *   associated data, authenticated, not sent). It is checked before anything is decrypted, so
 *   a member (who holds the chain key) cannot forge another member's messages and any change to
 *   the group, key ID, iteration, token or associated data is refused.
 * - Out of order: a message may skip at most {@linkcode SENDER_KEY_MAX_SKIP} keys; at most
 *   {@linkcode SENDER_KEY_MAX_SKIPPED_KEYS} skipped keys are kept, oldest dropped.
 * - Replacement: {@linkcode senderKeyNeedsReplacing} after {@linkcode SENDER_KEY_MAX_MESSAGES}
 *   messages or {@linkcode SENDER_KEY_MAX_AGE_MS}; the caller also replaces it when a member or
 *   one of their devices leaves or is removed.
 *
 * Wire forms (JSON, binary fields url-safe base64 without padding):
 * - Distribution: `{ "v": 1, "t": "sender_key", "group", "user", "device", "kid", "iteration",
 *   "chain_key", "sign" }`.
 * - Message: `{ "v": 1, "t": "sk", "group", "kid", "n", "ct", "sig" }`.
 *
 * @module
 */

import { chainStep, messageFernetKey } from "./chain_keys.ts";
import {
  assertBytes,
  concat,
  fromBase64Url,
  randomBytes,
  toBase64Url,
  utf8,
  zeroize,
} from "../crypto/bytes.ts";
import { generateIdentityKeyPair, sign, verify } from "../crypto/ed25519.ts";
import { InvalidToken } from "../crypto/errors.ts";
import { fernetDecrypt, fernetEncrypt } from "../crypto/fernet.ts";
import { LIMITS } from "../protocol/limits.ts";
import { checkTimestamp } from "./e2e_common.ts";
import { E2eError } from "./e2e_errors.ts";
import {
  assertLiveSenderKey,
  SENDER_KEY_ID_BYTES,
  SENDER_KEY_MAX_AGE_MS,
  SENDER_KEY_MAX_ITERATION,
  SENDER_KEY_MAX_MESSAGES,
  SENDER_KEY_MAX_SKIP,
  SENDER_KEY_MAX_SKIPPED_KEYS,
  type SenderKeyState,
} from "./sender_key_state.ts";
import { parseJsonText, WireFields } from "./wire_fields.ts";

/** Version of the distribution and message formats. */
export const SENDER_KEY_VERSION = 1;
/** Signature prefix (followed by a zero byte) of a sender key message. */
export const SENDER_KEY_LABEL = "fastchat-sender-key-v1";
/** HKDF info turning a message key into a Fernet key. */
export const SENDER_KEY_FERNET_INFO = "fastchat-sender-key-v1 fernet";
/** The `t` of a distribution message. */
export const SENDER_KEY_DISTRIBUTION_TYPE = "sender_key";
/** The `t` of a group message under a sender key. */
export const SENDER_KEY_MESSAGE_TYPE = "sk";
/** Longest distribution message accepted, in characters. */
export const SENDER_KEY_DISTRIBUTION_MAX_CHARS = 1000;

/** A distribution message: what a member device sends each other member device, pairwise. */
export interface SenderKeyDistribution {
  /** Format version, 1. */
  v: 1;
  /** Always `"sender_key"`. */
  t: "sender_key";
  /** The group's ID. */
  group: number;
  /** The sending member's user ID. */
  user: number;
  /** The sending member's device ID. */
  device: number;
  /** The sender key's ID (8 bytes). */
  kid: string;
  /** The iteration `chain_key` belongs to: the first message the receiver can read. */
  iteration: number;
  /** The chain key at `iteration` (32 bytes). */
  chain_key: string;
  /** The sender key's Ed25519 public key (32 bytes). */
  sign: string;
}

/** A group message under a sender key, parsed; nothing is decrypted. */
export interface SenderKeyMessage {
  /** Format version, 1. */
  v: 1;
  /** Always `"sk"`. */
  t: "sk";
  /** The group's ID. */
  group: number;
  /** The sender key's ID (8 bytes). */
  kid: string;
  /** The message's iteration in the sender's chain. */
  n: number;
  /** The Fernet token. */
  ct: string;
  /** Ed25519 signature (64 bytes) by the sender key's signing key. */
  sig: string;
}

/** Options of {@linkcode newSenderKey}. */
export interface NewSenderKeyOptions {
  /** The group's ID. */
  groupId: number;
  /** Our user ID. */
  user: number;
  /** Our device ID. */
  device: number;
  /** Unix ms; defaults to `Date.now()`. */
  now?: number;
}

/** What {@linkcode newSenderKey} returns. */
export interface NewSenderKey {
  /** Our own state, to send with; store it sealed. */
  state: SenderKeyState;
  /** The distribution message (JSON) to send each member device over its pairwise session. */
  distribution: string;
}

/** Who the caller expects a distribution to be from (the pairwise session's peer). */
export interface ExpectedSender {
  /** The group the distribution must be for. */
  group?: number;
  /** The user the distribution must be from. */
  user?: number;
  /** The device the distribution must be from. */
  device?: number;
}

const _FERNET_INFO = utf8(SENDER_KEY_FERNET_INFO);
const _LABEL = concat(utf8(SENDER_KEY_LABEL), Uint8Array.of(0));
const _DISTRIBUTION_FIELDS = [
  "v",
  "t",
  "group",
  "user",
  "device",
  "kid",
  "iteration",
  "chain_key",
  "sign",
];
const _MESSAGE_FIELDS = ["v", "t", "group", "kid", "n", "ct", "sig"];
const _FERNET_TOKEN = /^[A-Za-z0-9_-]+={0,2}$/;
// A Fernet token of one block: 1 + 8 + 16 + 16 + 32 = 73 bytes = 100 base64 characters.
const _TOKEN_MIN_CHARS = 100;
// Envelope overhead besides the token: {"v":1,"t":"sk","group":<16>,"kid":"<11>","n":<10>,
// "ct":"","sig":"<86>"}.
const _ENVELOPE_OVERHEAD = 180;

/**
 * Makes a new sender key for this device in a group: a random chain key at iteration 0, a
 * fresh Ed25519 signing key pair and a random 8-byte key ID.
 *
 * @returns Our own state and the distribution message for the other member devices.
 * @throws {RangeError} If an ID is not a positive integer or `now` not a non-negative integer.
 */
export function newSenderKey(options: NewSenderKeyOptions): NewSenderKey {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Expected options { groupId, user, device, now? }");
  }
  _assertId(options.groupId, "groupId");
  _assertId(options.user, "user");
  _assertId(options.device, "device");
  const now = checkTimestamp(options.now);
  const keys = generateIdentityKeyPair();
  const kidBytes = randomBytes(SENDER_KEY_ID_BYTES);
  const state: SenderKeyState = {
    own: true,
    group: options.groupId,
    user: options.user,
    device: options.device,
    kid: toBase64Url(kidBytes, false),
    signPublic: keys.publicKey,
    signSecret: keys.secretKey,
    chainKey: randomBytes(32),
    iteration: 0,
    first: 0,
    createdAt: now,
    sent: 0,
    skipped: new Map(),
    ended: false,
  };
  return { state, distribution: senderKeyDistribution(state) };
}

/**
 * The distribution message of our own sender key at its current iteration: for a member
 * device that joins later, which can then read messages from this iteration on only.
 *
 * @throws {TypeError} If `state` is not a live state of our own sender key.
 */
export function senderKeyDistribution(state: SenderKeyState): string {
  _assertOwn(state, true);
  const distribution: SenderKeyDistribution = {
    v: 1,
    t: SENDER_KEY_DISTRIBUTION_TYPE,
    group: state.group,
    user: state.user,
    device: state.device,
    kid: state.kid,
    iteration: state.iteration,
    chain_key: toBase64Url(state.chainKey, false),
    sign: toBase64Url(state.signPublic, false),
  };
  return JSON.stringify(distribution);
}

/**
 * Parses a distribution message strictly: exact field set, version, type, positive IDs,
 * canonical base64 of exact lengths, iteration from 0 to 2^32 - 1.
 *
 * @throws {E2eError} `sender_key_bad_distribution`, saying which part is wrong.
 */
export function parseSenderKeyDistribution(text: unknown): SenderKeyDistribution {
  const r: WireFields = new WireFields("sender_key_bad_distribution", "sender key distribution");
  const o = r.object(
    parseJsonText(text, SENDER_KEY_DISTRIBUTION_MAX_CHARS, r),
    _DISTRIBUTION_FIELDS,
  );
  if (o.v !== SENDER_KEY_VERSION) r.fail(`Unsupported version ${String(o.v)}; expected 1`);
  if (o.t !== SENDER_KEY_DISTRIBUTION_TYPE) {
    r.fail(`Expected a "sender_key" distribution, got ${JSON.stringify(o.t)}`);
  }
  const ids = ["group", "user", "device"].map((f) => r.int(o[f], f, 1, Number.MAX_SAFE_INTEGER));
  r.bytes(o.kid, "kid", SENDER_KEY_ID_BYTES);
  r.bytes(o.chain_key, "chain_key", 32);
  r.bytes(o.sign, "sign", 32);
  return {
    v: 1,
    t: SENDER_KEY_DISTRIBUTION_TYPE,
    group: ids[0]!,
    user: ids[1]!,
    device: ids[2]!,
    kid: o.kid as string,
    iteration: r.int(o.iteration, "iteration", 0, SENDER_KEY_MAX_ITERATION),
    chain_key: o.chain_key as string,
    sign: o.sign as string,
  };
}

/**
 * A receiving state from another member device's distribution message (already decrypted from
 * the pairwise session). It reads messages from the distribution's iteration on.
 *
 * @param expected The group, user and device the caller knows the distribution must be for and
 *   from (the pairwise session's peer); each one given is checked.
 * @throws {E2eError} `sender_key_bad_distribution` if it is malformed or not from `expected`.
 * @throws {RangeError} If `now` is not a non-negative integer.
 */
export function acceptSenderKey(
  distribution: string,
  expected: ExpectedSender = {},
  now?: number,
): SenderKeyState {
  const at = checkTimestamp(now);
  const d = parseSenderKeyDistribution(distribution);
  for (const field of ["group", "user", "device"] as const) {
    const want = expected[field];
    if (want !== undefined && want !== d[field]) {
      throw new E2eError(
        "sender_key_bad_distribution",
        `The sender key distribution is for ${field} ${d[field]}, expected ${want}`,
        { field, got: d[field], expected: want },
      );
    }
  }
  return {
    own: false,
    group: d.group,
    user: d.user,
    device: d.device,
    kid: d.kid,
    signPublic: fromBase64Url(d.sign),
    signSecret: undefined,
    chainKey: fromBase64Url(d.chain_key),
    iteration: d.iteration,
    first: d.iteration,
    createdAt: at,
    sent: 0,
    skipped: new Map(),
    ended: false,
  };
}

/**
 * Encrypts a group message with our own sender key: the chain's next message key becomes a
 * Fernet key, the chain advances (the old chain key zeroed), and the sender key's signing key
 * signs the result with `ad`.
 *
 * @returns The message envelope (JSON).
 * @throws {E2eError} `too_large` if it would not fit in a message body (the state is unchanged).
 * @throws {TypeError} If `state` is not a live own state or `plaintext` / `ad` not bytes.
 * @throws {RangeError} If the chain is exhausted (2^32 messages; it is replaced long before).
 */
export function senderKeyEncrypt(
  state: SenderKeyState,
  plaintext: Uint8Array,
  ad: Uint8Array,
): string {
  _assertOwn(state, true);
  assertBytes(plaintext, "plaintext");
  assertBytes(ad, "ad");
  if (state.iteration >= SENDER_KEY_MAX_ITERATION) {
    throw new RangeError("The sender key chain is exhausted; replace the sender key");
  }
  const size = _envelopeChars(plaintext.length);
  if (size > LIMITS.bodyChars) {
    throw new E2eError(
      "too_large",
      `Message too long: its envelope would be ${size} characters, more than the ` +
        `${LIMITS.bodyChars} a message body may be`,
    );
  }
  const n = state.iteration;
  const [next, mk] = chainStep(state.chainKey);
  zeroize(state.chainKey);
  state.chainKey = next;
  state.iteration += 1;
  state.sent += 1;
  try {
    const ct = fernetEncrypt(messageFernetKey(mk, _FERNET_INFO), plaintext);
    const sig = sign(state.signSecret!, senderKeySignedBytes(state.group, state.kid, n, ct, ad));
    const message: SenderKeyMessage = {
      v: 1,
      t: SENDER_KEY_MESSAGE_TYPE,
      group: state.group,
      kid: state.kid,
      n,
      ct,
      sig: toBase64Url(sig, false),
    };
    return JSON.stringify(message);
  } finally {
    zeroize(mk);
  }
}

/**
 * Decrypts a group message with the receiving state of its sender device. Checks, in order:
 * the envelope's shape, that it is for this state's group and key ID, the signature, then the
 * iteration (not before the state's first, not already read, not too far ahead). Keys of
 * skipped messages are kept (bounded) for messages arriving out of order; each message key is
 * deleted once used. The state changes only when the message opens.
 *
 * @returns The plaintext.
 * @throws {E2eError} `bad_envelope` if `body` is malformed; `sender_key_unknown` if it is under
 *   another group or sender key than `state`'s; `sender_key_bad_signature` if the signature
 *   does not verify (any change to the group, key ID, iteration, token or `ad`);
 *   `sender_key_too_old` if it is before the iteration this state was received at;
 *   `sender_key_replay` if its key is gone (already read, or dropped); `sender_key_too_far` if
 *   it would skip more than SENDER_KEY_MAX_SKIP keys; `sender_key_bad_message` if it is signed
 *   but its token does not open with the chain's key.
 * @throws {TypeError} If `state` is not a live received state or `ad` not bytes.
 */
export function senderKeyDecrypt(
  state: SenderKeyState,
  body: string,
  ad: Uint8Array,
): Uint8Array {
  _assertOwn(state, false);
  assertBytes(ad, "ad");
  const m = parseSenderKeyMessage(body);
  if (m.group !== state.group || m.kid !== state.kid) {
    throw new E2eError(
      "sender_key_unknown",
      `The message is under sender key ${m.kid} of group ${m.group}; the key held is ` +
        `${state.kid} of group ${state.group}`,
      { group: m.group, kid: m.kid },
    );
  }
  const signed = senderKeySignedBytes(m.group, m.kid, m.n, m.ct, ad);
  if (!verify(state.signPublic, signed, fromBase64Url(m.sig))) {
    throw new E2eError(
      "sender_key_bad_signature",
      `Message ${m.n} is not signed by its sender key: it was altered, forged, or sealed with ` +
        "other associated data",
      { n: m.n },
    );
  }
  if (m.n < state.first) {
    throw new E2eError(
      "sender_key_too_old",
      `Message ${m.n} is from before this device received the sender key (at message ` +
        `${state.first}); its key was never held`,
      { n: m.n, first: state.first },
    );
  }
  const skippedKey = state.skipped.get(m.n);
  if (skippedKey !== undefined) {
    const plaintext = _open(skippedKey, m.ct, m.n);
    state.skipped.delete(m.n);
    zeroize(skippedKey);
    return plaintext;
  }
  if (m.n < state.iteration) {
    throw new E2eError(
      "sender_key_replay",
      `Message ${m.n} was already decrypted (a replay or duplicate), or its key was dropped; ` +
        "its key is gone",
      { n: m.n },
    );
  }
  if (m.n - state.iteration > SENDER_KEY_MAX_SKIP) {
    throw new E2eError(
      "sender_key_too_far",
      `Message ${m.n} would skip ${m.n - state.iteration} messages of its sender's chain, more ` +
        `than the ${SENDER_KEY_MAX_SKIP} a group keeps keys for`,
      { n: m.n, skipped: m.n - state.iteration, max: SENDER_KEY_MAX_SKIP },
    );
  }
  // Walk a copy of the chain and collect skipped keys aside: commit only on success.
  let chainKey: Uint8Array = state.chainKey.slice();
  const newSkipped: [number, Uint8Array][] = [];
  let mk: Uint8Array | undefined;
  try {
    for (let i = state.iteration; i < m.n; i++) {
      const [next, key] = chainStep(chainKey);
      zeroize(chainKey);
      chainKey = next;
      newSkipped.push([i, key]);
    }
    const [next, key] = chainStep(chainKey);
    zeroize(chainKey);
    chainKey = next;
    mk = key;
    const plaintext = _open(mk, m.ct, m.n);
    zeroize(state.chainKey);
    state.chainKey = chainKey;
    state.iteration = m.n + 1;
    for (const [i, k] of newSkipped) state.skipped.set(i, k);
    // Map keys iterate in insertion order, so the first ones are the oldest.
    for (const [i, k] of state.skipped) {
      if (state.skipped.size <= SENDER_KEY_MAX_SKIPPED_KEYS) break;
      zeroize(k);
      state.skipped.delete(i);
    }
    return plaintext;
  } catch (e) {
    zeroize(chainKey);
    for (const [, k] of newSkipped) zeroize(k);
    throw e;
  } finally {
    if (mk) zeroize(mk);
  }
}

/**
 * True when our own sender key should be replaced: after {@linkcode SENDER_KEY_MAX_MESSAGES}
 * messages or once {@linkcode SENDER_KEY_MAX_AGE_MS} old, so a group heals after a compromise.
 *
 * @throws {TypeError} If `state` is not a live state of our own sender key.
 * @throws {RangeError} If `now` is not a non-negative integer.
 */
export function senderKeyNeedsReplacing(state: SenderKeyState, now?: number): boolean {
  _assertOwn(state, true);
  const at = checkTimestamp(now);
  return state.sent >= SENDER_KEY_MAX_MESSAGES || at - state.createdAt >= SENDER_KEY_MAX_AGE_MS;
}

/**
 * Parses a group message envelope strictly; nothing is decrypted or verified.
 *
 * @throws {E2eError} `bad_envelope`, saying which part is wrong.
 */
export function parseSenderKeyMessage(body: unknown): SenderKeyMessage {
  const r: WireFields = new WireFields("bad_envelope", '"sk" envelope');
  const o = r.object(parseJsonText(body, LIMITS.bodyChars, r), _MESSAGE_FIELDS);
  if (o.v !== SENDER_KEY_VERSION) {
    r.fail(`Unsupported envelope version ${String(o.v)}; this client reads version 1`);
  }
  if (o.t !== SENDER_KEY_MESSAGE_TYPE) r.fail(`Expected an "sk" envelope, got ${String(o.t)}`);
  const group = r.int(o.group, "group", 1, Number.MAX_SAFE_INTEGER);
  r.bytes(o.kid, "kid", SENDER_KEY_ID_BYTES);
  const n = r.int(o.n, "n", 0, SENDER_KEY_MAX_ITERATION);
  const ct = o.ct;
  if (
    typeof ct !== "string" || ct.length < _TOKEN_MIN_CHARS || ct.length % 4 !== 0 ||
    !_FERNET_TOKEN.test(ct)
  ) {
    r.fail(
      'Field "ct" of an "sk" envelope must be a Fernet token (padded url-safe base64, at ' +
        "least 100 characters)",
    );
  }
  r.bytes(o.sig, "sig", 64);
  return {
    v: 1,
    t: SENDER_KEY_MESSAGE_TYPE,
    group,
    kid: o.kid as string,
    n,
    ct,
    sig: o.sig as string,
  };
}

/**
 * The bytes a sender key signs for a message:
 * `"fastchat-sender-key-v1" 0x00 || u64(group) || kid || u32(n) || u32(len(ct)) || ct ||
 * u32(len(ad)) || ad`.
 */
export function senderKeySignedBytes(
  group: number,
  kid: string,
  n: number,
  ct: string,
  ad: Uint8Array,
): Uint8Array {
  const token = utf8(ct);
  const fixed = new Uint8Array(8 + 4);
  const view = new DataView(fixed.buffer);
  view.setBigUint64(0, BigInt(group));
  view.setUint32(8, n);
  return concat(
    _LABEL,
    fixed.subarray(0, 8),
    fromBase64Url(kid),
    fixed.subarray(8),
    _u32(token.length),
    token,
    _u32(ad.length),
    ad,
  );
}

/** Opens a token with a message key. */
function _open(mk: Uint8Array, ct: string, n: number): Uint8Array {
  try {
    return fernetDecrypt(messageFernetKey(mk, _FERNET_INFO), ct);
  } catch (e) {
    if (!(e instanceof InvalidToken)) throw e;
    throw new E2eError(
      "sender_key_bad_message",
      `Message ${n} is signed by its sender key but does not decrypt with its chain's key`,
      { n },
    );
  }
}

function _u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

function _assertId(value: unknown, name: string): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Expected ${name} to be a positive integer ID, got ${String(value)}`);
  }
}

function _assertOwn(state: SenderKeyState, own: boolean): void {
  assertLiveSenderKey(state);
  if (state.own !== own) {
    throw new TypeError(
      own
        ? "Expected our own sender key (from newSenderKey); this one was received"
        : "Expected a received sender key (from acceptSenderKey); this one is our own",
    );
  }
}

/** Length of the envelope for a plaintext of `n` bytes (an upper bound). */
function _envelopeChars(n: number): number {
  // Fernet: version 1 + time 8 + IV 16 + CBC blocks (PKCS#7 always pads) + MAC 32, in base64.
  const tokenBytes = 57 + (Math.floor(n / 16) + 1) * 16;
  return _ENVELOPE_OVERHEAD + Math.ceil(tokenBytes / 3) * 4;
}

export {
  endSenderKey,
  parseSenderKeyState,
  SENDER_KEY_ID_BYTES,
  SENDER_KEY_MAX_AGE_MS,
  SENDER_KEY_MAX_ITERATION,
  SENDER_KEY_MAX_MESSAGES,
  SENDER_KEY_MAX_SKIP,
  SENDER_KEY_MAX_SKIPPED_KEYS,
  type SenderKeyState,
  serializeSenderKeyState,
} from "./sender_key_state.ts";
