/**
 * The state of a group sender key (docs/CRYPTO.md, "Forward secrecy: group sender keys") and
 * its stored form: {@linkcode serializeSenderKeyState} writes JSON for the keystore to seal,
 * {@linkcode parseSenderKeyState} reads it back strictly, {@linkcode endSenderKey} zeroes
 * every secret of a state that is no longer needed.
 *
 * Stored form, version 1 (binary fields url-safe base64 without padding):
 * `{ "v": 1, "own": bool, "group": int, "user": int, "device": int, "kid": <8 bytes>,
 *   "sign": <Ed25519 public key>, "sign_secret": <Ed25519 secret key> | null,
 *   "chain_key": <32 bytes>, "iteration": int, "first": int, "created_at": int, "sent": int,
 *   "skipped": [{ "n": int, "mk": <32 bytes> }, ...] }`, skipped keys oldest first. Only our
 * own sender key has `sign_secret` (and no skipped keys); a received one has `sent` 0.
 * The JSON text holds secrets and a JS string cannot be wiped: seal it at once and drop it.
 *
 * @module
 */

import { toBase64Url, zeroize } from "../crypto/bytes.ts";
import { publicKeyFromSecret } from "../crypto/ed25519.ts";
import { MAX_U32, parseJsonText, WireFields } from "./wire_fields.ts";

/** Messages a sender key may send before {@linkcode senderKeyNeedsReplacing} says to replace it. */
export const SENDER_KEY_MAX_MESSAGES = 100;
/** Age (ms) after which {@linkcode senderKeyNeedsReplacing} says to replace a sender key: 7 days. */
export const SENDER_KEY_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/** Most message keys one message may skip ahead in a sender's chain. */
export const SENDER_KEY_MAX_SKIP = 1000;
/** Most skipped message keys a receiving state keeps; beyond it the oldest are dropped. */
export const SENDER_KEY_MAX_SKIPPED_KEYS = 2000;
/** Length of a sender key's random ID, in bytes. */
export const SENDER_KEY_ID_BYTES = 8;
/** Largest iteration (message index) of a sender key chain: encoded as u32 when signed. */
export const SENDER_KEY_MAX_ITERATION: number = MAX_U32;

/**
 * One device's sender key for one group: our own (we send with it) or a member device's (we
 * read with it). Mutated by `senderKeyEncrypt` / `senderKeyDecrypt`. Treat it as opaque outside
 * `core/e2e/`.
 */
export interface SenderKeyState {
  /** True for our own sender key (can encrypt), false for one received (can decrypt). */
  own: boolean;
  /** The group's ID. */
  group: number;
  /** The sending member's user ID. */
  user: number;
  /** The sending member's device ID. */
  device: number;
  /** The key's ID: 8 random bytes, url-safe base64 without padding. */
  kid: string;
  /** The sender key's Ed25519 public key (32 bytes). */
  signPublic: Uint8Array;
  /** The sender key's Ed25519 secret key; only in our own state. */
  signSecret: Uint8Array | undefined;
  /** The chain key of message `iteration` (32 bytes). */
  chainKey: Uint8Array;
  /** The index of the next message the chain key leads to. */
  iteration: number;
  /** The first iteration this state could ever read (0 for our own key). */
  first: number;
  /** When this state was made or received (Unix ms). */
  createdAt: number;
  /** Messages sent with this key (our own key only; 0 otherwise). */
  sent: number;
  /** Message keys of skipped messages by iteration; insertion order is their age, oldest first. */
  skipped: Map<number, Uint8Array>;
  /** True once {@linkcode endSenderKey} zeroed it; every later use throws `TypeError`. */
  ended: boolean;
}

const _FIELDS = [
  "v",
  "own",
  "group",
  "user",
  "device",
  "kid",
  "sign",
  "sign_secret",
  "chain_key",
  "iteration",
  "first",
  "created_at",
  "sent",
  "skipped",
];
// 2,000 skipped keys of about 60 characters each, plus the rest.
const _STATE_MAX_CHARS = 200_000;

/**
 * Serializes a sender key state to JSON for the keystore. The state stays usable; call
 * {@linkcode endSenderKey} when it is no longer kept in memory.
 *
 * @throws {TypeError} If the state was ended.
 */
export function serializeSenderKeyState(state: SenderKeyState): string {
  assertLiveSenderKey(state);
  const b = (bytes: Uint8Array) => toBase64Url(bytes, false);
  return JSON.stringify({
    v: 1,
    own: state.own,
    group: state.group,
    user: state.user,
    device: state.device,
    kid: state.kid,
    sign: b(state.signPublic),
    sign_secret: state.signSecret === undefined ? null : b(state.signSecret),
    chain_key: b(state.chainKey),
    iteration: state.iteration,
    first: state.first,
    created_at: state.createdAt,
    sent: state.sent,
    skipped: [...state.skipped].map(([n, mk]) => ({ n, mk: b(mk) })),
  });
}

/**
 * Parses a state written by {@linkcode serializeSenderKeyState}: exact field set, canonical
 * base64 of exact lengths, integer ranges, a signing secret that matches the public key (own
 * states only), skipped keys distinct, at most {@linkcode SENDER_KEY_MAX_SKIPPED_KEYS}, and
 * between `first` and `iteration`.
 *
 * @throws {E2eError} `sender_key_bad_state`, saying which part is wrong.
 */
export function parseSenderKeyState(text: unknown): SenderKeyState {
  const r: WireFields = new WireFields("sender_key_bad_state", "sender key state");
  const o = r.object(parseJsonText(text, _STATE_MAX_CHARS, r), _FIELDS);
  if (o.v !== 1) r.fail(`Unsupported sender key state version ${String(o.v)}; expected 1`);
  if (typeof o.own !== "boolean") r.fail('Field "own" must be true or false');
  const own = o.own;
  const state: SenderKeyState = {
    own,
    group: r.int(o.group, "group", 1, Number.MAX_SAFE_INTEGER),
    user: r.int(o.user, "user", 1, Number.MAX_SAFE_INTEGER),
    device: r.int(o.device, "device", 1, Number.MAX_SAFE_INTEGER),
    kid: toBase64Url(r.bytes(o.kid, "kid", SENDER_KEY_ID_BYTES), false),
    signPublic: r.bytes(o.sign, "sign", 32),
    signSecret: o.sign_secret === null ? undefined : r.bytes(o.sign_secret, "sign_secret", 32),
    chainKey: r.bytes(o.chain_key, "chain_key", 32),
    iteration: r.int(o.iteration, "iteration", 0, SENDER_KEY_MAX_ITERATION),
    first: r.int(o.first, "first", 0, SENDER_KEY_MAX_ITERATION),
    createdAt: r.int(o.created_at, "created_at", 0, Number.MAX_SAFE_INTEGER),
    sent: r.int(o.sent, "sent", 0, SENDER_KEY_MAX_ITERATION),
    skipped: new Map(),
    ended: false,
  };
  if (state.first > state.iteration) r.fail('Field "first" is after "iteration"');
  if (own !== (state.signSecret !== undefined)) {
    r.fail(
      own ? 'Our own sender key needs "sign_secret"' : 'A received sender key has no "sign_secret"',
    );
  }
  if (state.signSecret !== undefined) {
    const pub = publicKeyFromSecret(state.signSecret);
    if (toBase64Url(pub, false) !== toBase64Url(state.signPublic, false)) {
      r.fail('Field "sign_secret" is not the secret key of "sign"');
    }
  }
  if (own && (state.first !== 0 || state.sent !== state.iteration)) {
    r.fail('Our own sender key starts at iteration 0 and has sent "iteration" messages');
  }
  if (!own && state.sent !== 0) r.fail('A received sender key has sent nothing ("sent" is 0)');
  const skipped = r.array(o.skipped, "skipped", own ? 0 : SENDER_KEY_MAX_SKIPPED_KEYS);
  for (const entry of skipped) {
    const e = r.object(entry, ["n", "mk"], "skipped.");
    const n = r.int(e.n, "skipped.n", state.first, state.iteration - 1);
    if (state.skipped.has(n)) r.fail(`Skipped key ${n} appears twice`);
    state.skipped.set(n, r.bytes(e.mk, "skipped.mk", 32));
  }
  return state;
}

/** Zeroes every secret of a sender key state and marks it ended; later use throws `TypeError`. */
export function endSenderKey(state: SenderKeyState): void {
  if (state.ended) return;
  zeroize(state.chainKey);
  if (state.signSecret) zeroize(state.signSecret);
  for (const mk of state.skipped.values()) zeroize(mk);
  state.skipped.clear();
  state.ended = true;
}

/** Throws `TypeError` unless `state` is a live sender key state. */
export function assertLiveSenderKey(state: SenderKeyState): void {
  if (typeof state !== "object" || state === null || !(state.skipped instanceof Map)) {
    throw new TypeError(
      "Expected a sender key state from newSenderKey, acceptSenderKey or parseSenderKeyState",
    );
  }
  if (state.ended) {
    throw new TypeError("The sender key state was ended; parse the stored one again");
  }
}
