/**
 * The session handshake between two devices (issue 22; docs/CRYPTO.md, "Forward secrecy: the
 * session handshake"): PQXDH (Signal's specification, revision 3) over X25519 (RFC 7748),
 * ML-KEM-768 (FIPS 203) and HKDF-SHA-256 (RFC 5869), with FastChat's twist: a random 32-byte
 * secret R, wrapped with RSAES-OAEP-SHA-256 (RFC 8017) to the recipient device's RSA key, is
 * mixed in too, so an attacker must break X25519 and ML-KEM-768 and RSA to learn the key.
 * Pure functions; the prekeys themselves are in `prekeys.ts`.
 *
 * Alice (initiator) holds Bob's verified bundle (`verifyPrekeyBundle`) and sends one initial
 * message: `{ v: 1, t: "pqxdh", ik, iksig, ek, spk_id, opk_id, pqpk_id, kem_ct, rsa_ct }`.
 * - `ik`, `iksig`: Alice's X25519 identity key and its signature by her device's signing key
 *   (kind "ik" of `prekeySignedBytes`), so Bob checks it with the key her device list names.
 * - `ek`: Alice's ephemeral X25519 public key, new for each handshake.
 * - `spk_id`, `opk_id` (null when Bob had no one-time prekey left: the last resort),
 *   `pqpk_id` (Bob's signed ML-KEM prekey or a one-time one).
 * - `kem_ct`: ML-KEM-768 encapsulation to that PQ prekey (1,088 bytes); `rsa_ct`: R under
 *   Bob's RSA key, OAEP label {@linkcode PQXDH_RSA_LABEL}.
 *
 * Both compute DH1 = DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B) and
 * DH4 = DH(EK_A, OPK_B) when a one-time prekey was used, SS the KEM secret, and
 * SK = HKDF-SHA-256(salt = 32 zero bytes, ikm = F || DH1 || DH2 || DH3 [|| DH4] || SS || R,
 * info = {@linkcode PQXDH_INFO}, 32 bytes) with F = 32 bytes of 0xFF (X3DH section 2.2).
 * AD = Encode(IK_A) || Encode(IK_B) || user_A (8 bytes) || device_A (4) || user_B (8) ||
 * device_B (4), big-endian, Encode(K) = 0x05 || K (Signal's EncodeEC). SK and AD go to the
 * Double Ratchet; Bob's signed prekey is the initiator's first ratchet key. Nothing here
 * authenticates SK directly: a tampered message yields another SK, found by the ratchet's
 * first decryption (ML-KEM decapsulation never fails; it rejects implicitly).
 *
 * Bob accepts with {@linkcode acceptSession}, which refuses a prekey ID it never made
 * (`unknown_prekey`), one already used or retired (`prekey_used`: a replay), and returns his
 * secrets without the one-time prekeys used; the caller must store them before answering.
 *
 * For the interop test only, {@linkcode classicalX3dhInitiator} and
 * {@linkcode classicalX3dhResponder} compute the classical part alone (no SS, no R): the X3DH
 * that independent implementations can express. FastChat never uses them for a session.
 *
 * @module
 */

import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { assertBytes, concat, randomBytes, utf8, zeroize } from "../crypto/bytes.ts";
import { verify } from "../crypto/ed25519.ts";
import { DecryptionError } from "../crypto/errors.ts";
import { rsaDecrypt, rsaEncrypt } from "../crypto/rsa.ts";
import type { RsaPrivateKey, RsaPublicKey } from "../crypto/rsa_types.ts";
import { assertId } from "./e2e_common.ts";
import { E2eError } from "./e2e_errors.ts";
import {
  identityKeyPair,
  isVerifiedBundle,
  type KemPrekeySecret,
  keyBytes,
  keyText,
  type PrekeyBundle,
  type PrekeySecrets,
  prekeySignedBytes,
  validPrekeySecrets,
  type X25519KeyPair,
  type X25519PrekeySecret,
} from "./prekeys.ts";
import { MAX_U32, parseJsonText, WireFields } from "./wire_fields.ts";

/** The initial message format version (the `v` field). */
export const PQXDH_VERSION = 1;

/** HKDF info of SK: the protocol, then its curve, KEM, RSA padding and hash (PQXDH section 3.2). */
export const PQXDH_INFO = "fastchat-pqxdh-v1 X25519 ML-KEM-768 RSA-OAEP-2048 SHA-256";

/** OAEP label of `rsa_ct`, so the wrapped secret cannot pass for any other RSA ciphertext. */
export const PQXDH_RSA_LABEL = "fastchat-pqxdh-v1 rsa secret";

/** Bytes of SK, of R, and of each DH output. */
export const PQXDH_SECRET_BYTES = 32;

/** Longest initial message text accepted (an RSA-8192 `rsa_ct` fits). */
export const INITIAL_MESSAGE_MAX_CHARS = 8 * 1024;

/** Signal's EncodeEC curve byte for Curve25519 keys in AD. */
export const X25519_ENCODING_BYTE = 0x05;

/** A device's identity for a handshake: its IDs, X25519 identity key pair and `iksig`. */
export interface SessionIdentity {
  /** User ID. */
  readonly user: number;
  /** Device ID. */
  readonly device: number;
  /** The X25519 identity key pair. */
  readonly ik: X25519KeyPair;
  /** The identity key's signature by the device's signing key (from its prekey secrets). */
  readonly iksig: string;
}

/** The device that sent an initial message, as the recipient knows it. */
export interface SenderDevice {
  /** User ID (the server-stamped sender). */
  readonly user: number;
  /** Device ID. */
  readonly device: number;
  /** The device's Ed25519 signing public key, from its account's verified device list. */
  readonly signingPublicKey: Uint8Array;
}

/** The initiator's one message; see the module documentation. */
export interface InitialMessage {
  /** Format version, {@linkcode PQXDH_VERSION}. */
  readonly v: 1;
  /** Object type. */
  readonly t: "pqxdh";
  /** The initiator's X25519 identity key, url-safe base64 (43 characters). */
  readonly ik: string;
  /** Its signature by the initiator device's signing key (86 characters). */
  readonly iksig: string;
  /** The ephemeral X25519 public key (43 characters). */
  readonly ek: string;
  /** The recipient's signed X25519 prekey used. */
  readonly spk_id: number;
  /** The recipient's one-time X25519 prekey used, or null (the last resort). */
  readonly opk_id: number | null;
  /** The recipient's ML-KEM-768 prekey used: its signed one or a one-time one. */
  readonly pqpk_id: number;
  /** The ML-KEM-768 ciphertext (1,088 bytes). */
  readonly kem_ct: string;
  /** R wrapped with RSA-OAEP-SHA-256 to the recipient device's RSA key. */
  readonly rsa_ct: string;
}

/** Options of {@linkcode initiateSession}. */
export interface InitiateSessionOptions {
  /** Our own device: IDs, X25519 identity key pair, `iksig` ({@linkcode sessionIdentity}). */
  readonly myIdentity: SessionIdentity;
  /** The recipient device's bundle, returned by `verifyPrekeyBundle`. */
  readonly bundle: PrekeyBundle;
  /**
   * The one-time X25519 prekey to use: its ID, null for none (the last resort); the bundle's
   * first one (or none) when omitted.
   */
  readonly opkId?: number | null;
  /** The ML-KEM prekey to use; the bundle's first one-time one, else its signed one, when omitted. */
  readonly pqId?: number;
  /** The recipient device's RSA public key, from its account's verified device list. */
  readonly recipientRsaPublicKey: RsaPublicKey;
}

/** What {@linkcode initiateSession} returns. */
export interface InitiatedSession {
  /** The 32-byte shared secret, the Double Ratchet's first root key material. */
  readonly sk: Uint8Array;
  /** The associated data, for the ratchet's AEAD (Fernet) step. */
  readonly ad: Uint8Array;
  /** The message to send the recipient device. */
  readonly initialMessage: InitialMessage;
  /** The recipient's signed prekey (32 bytes): the ratchet's first remote DH key. */
  readonly theirSignedPrekey: Uint8Array;
}

/** Options of {@linkcode acceptSession}. */
export interface AcceptSessionOptions {
  /** Our prekey secrets, as stored. */
  readonly mySecrets: PrekeySecrets;
  /** The initial message, parsed ({@linkcode parseInitialMessage}) or as received text. */
  readonly initialMessage: InitialMessage | string;
  /** The device that sent it. */
  readonly senderIdentity: SenderDevice;
  /** Our device's RSA private key. */
  readonly rsaPrivateKey: RsaPrivateKey;
}

/** What {@linkcode acceptSession} returns. */
export interface AcceptedSession {
  /** The 32-byte shared secret. */
  readonly sk: Uint8Array;
  /** The associated data. */
  readonly ad: Uint8Array;
  /** The one-time X25519 prekey used, or null (the last resort). */
  readonly usedOpkId: number | null;
  /** The ML-KEM prekey used. */
  readonly usedPqId: number;
  /** Our secrets without the one-time prekeys used; store them before answering. */
  readonly secrets: PrekeySecrets;
  /** Our signed prekey pair: the ratchet's first own DH key pair. */
  readonly mySignedPrekey: X25519KeyPair;
}

/** The secrets SK is derived from; see {@linkcode deriveSessionKey}. */
export interface SessionKeyParts {
  /** DH1, DH2, DH3 and optionally DH4, 32 bytes each. */
  readonly dh: readonly Uint8Array[];
  /** The ML-KEM-768 shared secret, 32 bytes. */
  readonly ss: Uint8Array;
  /** The RSA-wrapped secret R, 32 bytes. */
  readonly r: Uint8Array;
}

/** Options of {@linkcode classicalX3dhInitiator} (interop tests only). */
export interface ClassicalInitiatorOptions {
  /** Our X25519 identity secret key. */
  readonly identitySecret: Uint8Array;
  /** Our ephemeral X25519 secret key. */
  readonly ephemeralSecret: Uint8Array;
  /** Their X25519 identity public key. */
  readonly peerIdentity: Uint8Array;
  /** Their signed prekey. */
  readonly peerSignedPrekey: Uint8Array;
  /** Their one-time prekey, if one is used. */
  readonly peerOneTimePrekey?: Uint8Array;
}

/** Options of {@linkcode classicalX3dhResponder} (interop tests only). */
export interface ClassicalResponderOptions {
  /** Our X25519 identity secret key. */
  readonly identitySecret: Uint8Array;
  /** Our signed prekey's secret key. */
  readonly signedPrekeySecret: Uint8Array;
  /** Our one-time prekey's secret key, if the initiator used one. */
  readonly oneTimePrekeySecret?: Uint8Array;
  /** Their X25519 identity public key. */
  readonly peerIdentity: Uint8Array;
  /** Their ephemeral public key. */
  readonly peerEphemeral: Uint8Array;
}

const _F = new Uint8Array(PQXDH_SECRET_BYTES).fill(0xff);
const _SALT = new Uint8Array(32);
const _INFO = utf8(PQXDH_INFO);
const _RSA_LABEL = utf8(PQXDH_RSA_LABEL);
const _MESSAGE = new WireFields("bad_handshake", "initial message");
const _MESSAGE_FIELDS = [
  "v",
  "t",
  "ik",
  "iksig",
  "ek",
  "spk_id",
  "opk_id",
  "pqpk_id",
  "kem_ct",
  "rsa_ct",
];

/** The identity of the device whose prekey secrets these are, for {@linkcode initiateSession}. */
export function sessionIdentity(secrets: PrekeySecrets): SessionIdentity {
  const s = validPrekeySecrets(secrets);
  return { user: s.user, device: s.device, ik: identityKeyPair(s), iksig: s.iksig };
}

/**
 * SK = HKDF-SHA-256(salt = 32 zero bytes, ikm = F || DH1 || DH2 || DH3 [|| DH4] || SS || R,
 * info = {@linkcode PQXDH_INFO}, 32). Exported so tests can show that replacing any one part
 * changes SK.
 *
 * @throws {TypeError | RangeError} Unless there are 3 or 4 DH outputs and every part is 32 bytes.
 */
export function deriveSessionKey(parts: SessionKeyParts): Uint8Array {
  if (!Array.isArray(parts.dh) || parts.dh.length < 3 || parts.dh.length > 4) {
    throw new RangeError("Expected 3 or 4 DH outputs (DH1, DH2, DH3 and optionally DH4)");
  }
  parts.dh.forEach((d, i) => assertBytes(d, `dh[${i}]`, PQXDH_SECRET_BYTES));
  assertBytes(parts.ss, "ss", PQXDH_SECRET_BYTES);
  assertBytes(parts.r, "r", PQXDH_SECRET_BYTES);
  return _kdf([...parts.dh, parts.ss, parts.r]);
}

/** Signal's EncodeEC of an X25519 public key: 0x05 then the 32 bytes. */
export function encodeX25519PublicKey(key: Uint8Array): Uint8Array {
  assertBytes(key, "key", 32);
  return concat(new Uint8Array([X25519_ENCODING_BYTE]), key);
}

/**
 * AD = Encode(IK_A) || Encode(IK_B) || user_A (8 bytes) || device_A (4) || user_B (8) ||
 * device_B (4), big-endian; A is the initiator.
 */
export function sessionAssociatedData(
  initiator: { readonly user: number; readonly device: number; readonly ik: Uint8Array },
  responder: { readonly user: number; readonly device: number; readonly ik: Uint8Array },
): Uint8Array {
  return concat(
    encodeX25519PublicKey(initiator.ik),
    encodeX25519PublicKey(responder.ik),
    sessionIdsBytes(initiator, responder),
  );
}

/** The IDs part of the AD: user_A (8 bytes), device_A (4), user_B (8), device_B (4). */
export function sessionIdsBytes(
  initiator: { readonly user: number; readonly device: number },
  responder: { readonly user: number; readonly device: number },
): Uint8Array {
  const out = new Uint8Array(24);
  const view = new DataView(out.buffer);
  for (const [i, side] of [initiator, responder].entries()) {
    assertId(side.user, "user");
    if (!Number.isSafeInteger(side.device) || side.device < 1 || side.device > MAX_U32) {
      throw new RangeError(`Expected a device ID from 1 to ${MAX_U32}, got ${side.device}`);
    }
    view.setBigUint64(12 * i, BigInt(side.user));
    view.setUint32(12 * i + 8, side.device);
  }
  return out;
}

/**
 * Starts a session with the device whose verified bundle is `opts.bundle`: returns SK, AD and
 * the initial message to send it.
 *
 * @throws {TypeError} If the bundle did not pass `verifyPrekeyBundle`, or an argument is malformed.
 * @throws {RangeError} If `opkId` or `pqId` is not in the bundle.
 * @throws {E2eError} `bad_prekeys` if a key of the bundle is a low-order X25519 point.
 */
export function initiateSession(opts: InitiateSessionOptions): InitiatedSession {
  const { myIdentity: me, bundle } = opts;
  if (!isVerifiedBundle(bundle)) {
    throw new TypeError("Expected a prekey bundle returned by verifyPrekeyBundle");
  }
  _assertIdentity(me);
  const opk = _chooseOpk(bundle, opts.opkId);
  const pq = _choosePq(bundle, opts.pqId);
  const ikB = keyBytes(bundle.ik);
  const spkB = keyBytes(bundle.spk.key);
  const ek = x25519.keygen();
  const dh = _initiatorDh({
    identitySecret: me.ik.secretKey,
    ephemeralSecret: ek.secretKey,
    peerIdentity: ikB,
    peerSignedPrekey: spkB,
    ...(opk === null ? {} : { peerOneTimePrekey: keyBytes(opk.key) }),
  });
  const { cipherText, sharedSecret } = ml_kem768.encapsulate(keyBytes(pq.key));
  const r = randomBytes(PQXDH_SECRET_BYTES);
  const rsaCt = rsaEncrypt(opts.recipientRsaPublicKey, r, "oaep", _RSA_LABEL);
  const sk = _kdf([...dh, sharedSecret, r]);
  zeroize(ek.secretKey, sharedSecret, r, ...dh);
  const initialMessage: InitialMessage = Object.freeze({
    v: PQXDH_VERSION,
    t: "pqxdh",
    ik: keyText(me.ik.publicKey),
    iksig: me.iksig,
    ek: keyText(ek.publicKey),
    spk_id: bundle.spk.id,
    opk_id: opk === null ? null : opk.id,
    pqpk_id: pq.id,
    kem_ct: keyText(cipherText),
    rsa_ct: keyText(rsaCt),
  });
  const ad = sessionAssociatedData(
    { user: me.user, device: me.device, ik: me.ik.publicKey },
    { user: bundle.user, device: bundle.device, ik: ikB },
  );
  return { sk, ad, initialMessage, theirSignedPrekey: spkB };
}

/**
 * Accepts a session from an initial message: checks the sender's identity key signature,
 * finds the prekeys it names, decapsulates, unwraps R and derives the same SK and AD as the
 * initiator. The one-time prekeys used are gone from the returned `secrets`.
 *
 * @throws {E2eError} `bad_handshake` (malformed message, `ik` not signed by the sender's
 *   device, `rsa_ct` does not open, a low-order `ek`), `unknown_prekey` (an ID this device
 *   never made, or of another kind), `prekey_used` (a one-time prekey already used: a replay).
 */
export function acceptSession(opts: AcceptSessionOptions): AcceptedSession {
  const secrets = validPrekeySecrets(opts.mySecrets);
  const msg = typeof opts.initialMessage === "string"
    ? parseInitialMessage(opts.initialMessage)
    : _validMessage(opts.initialMessage);
  const sender = opts.senderIdentity;
  if (typeof sender !== "object" || sender === null) {
    throw new TypeError("Expected senderIdentity to be { user, device, signingPublicKey }");
  }
  assertId(sender.user, "senderIdentity.user");
  assertBytes(sender.signingPublicKey, "senderIdentity.signingPublicKey", 32);
  const ikA = keyBytes(msg.ik);
  const signed = prekeySignedBytes("ik", sender.user, sender.device, 0, ikA);
  if (!verify(sender.signingPublicKey, signed, keyBytes(msg.iksig))) {
    throw new E2eError(
      "bad_handshake",
      `The initial message's identity key is not signed by user ${sender.user}'s device ` +
        `${sender.device}; it was forged or altered`,
      { user: sender.user, device: sender.device },
    );
  }
  if (msg.spk_id !== secrets.spk.id) _noPrekey(secrets, msg.spk_id, "signed prekey");
  let opk: X25519PrekeySecret | null = null;
  if (msg.opk_id !== null) {
    opk = secrets.opks.find((p) => p.id === msg.opk_id) ??
      _noPrekey(secrets, msg.opk_id, "one-time prekey");
  }
  let pq: KemPrekeySecret;
  if (msg.pqpk_id === secrets.pqspk.id) pq = secrets.pqspk;
  else {
    pq = secrets.pqopks.find((p) => p.id === msg.pqpk_id) ??
      _noPrekey(secrets, msg.pqpk_id, "post-quantum prekey");
  }

  let r: Uint8Array;
  try {
    r = rsaDecrypt(opts.rsaPrivateKey, keyBytes(msg.rsa_ct), "oaep", _RSA_LABEL);
  } catch (e) {
    if (!(e instanceof DecryptionError)) throw e;
    throw new E2eError(
      "bad_handshake",
      "The initial message's RSA part does not open with this device's key",
    );
  }
  if (r.length !== PQXDH_SECRET_BYTES) {
    throw new E2eError(
      "bad_handshake",
      `The initial message's RSA part must hold 32 bytes, got ${r.length}`,
    );
  }
  const me = identityKeyPair(secrets);
  const spkSecret = keyBytes(secrets.spk.priv);
  const ek = keyBytes(msg.ek);
  const opkSecret = opk === null ? undefined : keyBytes(opk.priv);
  const dh = _responderDh({
    identitySecret: me.secretKey,
    signedPrekeySecret: spkSecret,
    ...(opkSecret === undefined ? {} : { oneTimePrekeySecret: opkSecret }),
    peerIdentity: ikA,
    peerEphemeral: ek,
  });
  const kemSeed = keyBytes(pq.seed);
  const kemSecret = ml_kem768.keygen(kemSeed).secretKey;
  const ss = ml_kem768.decapsulate(keyBytes(msg.kem_ct), kemSecret);
  const sk = _kdf([...dh, ss, r]);
  zeroize(kemSeed, kemSecret, ss, r, me.secretKey, ...dh, ...(opkSecret ? [opkSecret] : []));

  const usedOpkId = opk === null ? null : opk.id;
  const usedPq = pq === secrets.pqspk ? null : pq.id;
  const updated = validPrekeySecrets({
    ...secrets,
    opks: secrets.opks.filter((p) => p.id !== usedOpkId),
    pqopks: secrets.pqopks.filter((p) => p.id !== usedPq),
  });
  const ad = sessionAssociatedData(
    { user: sender.user, device: sender.device, ik: ikA },
    { user: secrets.user, device: secrets.device, ik: me.publicKey },
  );
  return {
    sk,
    ad,
    usedOpkId,
    usedPqId: pq.id,
    secrets: updated,
    mySignedPrekey: { secretKey: spkSecret, publicKey: x25519.getPublicKey(spkSecret) },
  };
}

/**
 * Parses an initial message strictly: exact fields, types, ID ranges, canonical base64 of the
 * right lengths (`rsa_ct` 256 to 1,024 bytes: RSA-2048 to RSA-8192). The result is frozen.
 *
 * @throws {E2eError} `bad_handshake`, naming the field and what was expected.
 */
export function parseInitialMessage(text: string): InitialMessage {
  return _validMessage(parseJsonText(text, INITIAL_MESSAGE_MAX_CHARS, _MESSAGE));
}

/** Writes an initial message as canonical JSON (the documented field order). */
export function serializeInitialMessage(message: InitialMessage): string {
  const m = _validMessage(message);
  return JSON.stringify(
    Object.fromEntries(_MESSAGE_FIELDS.map((f) => [f, m[f as keyof InitialMessage]])),
  );
}

/**
 * The classical X3DH secret alone, initiator side: HKDF-SHA-256(salt = 32 zero bytes,
 * ikm = F || DH1 || DH2 || DH3 [|| DH4], info = {@linkcode PQXDH_INFO}, 32). ONLY for the
 * interop test against python3-x3dh, which cannot express ML-KEM or the RSA secret; a session
 * always uses {@linkcode initiateSession}.
 */
export function classicalX3dhInitiator(opts: ClassicalInitiatorOptions): Uint8Array {
  return _kdf(_initiatorDh(opts));
}

/** The responder side of {@linkcode classicalX3dhInitiator}; ONLY for the interop test. */
export function classicalX3dhResponder(opts: ClassicalResponderOptions): Uint8Array {
  return _kdf(_responderDh(opts));
}

// DH1 = DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B), DH4 = DH(EK_A, OPK_B): one
// place for each side, shared by the handshake and the classical functions the interop test
// checks against python3-x3dh, so that test covers the code sessions run.
function _initiatorDh(opts: ClassicalInitiatorOptions): Uint8Array[] {
  return _dhOrThrow("bad_prekeys", () => [
    x25519.getSharedSecret(opts.identitySecret, opts.peerSignedPrekey),
    x25519.getSharedSecret(opts.ephemeralSecret, opts.peerIdentity),
    x25519.getSharedSecret(opts.ephemeralSecret, opts.peerSignedPrekey),
    ...(opts.peerOneTimePrekey === undefined
      ? []
      : [x25519.getSharedSecret(opts.ephemeralSecret, opts.peerOneTimePrekey)]),
  ]);
}

function _responderDh(opts: ClassicalResponderOptions): Uint8Array[] {
  return _dhOrThrow("bad_handshake", () => [
    x25519.getSharedSecret(opts.signedPrekeySecret, opts.peerIdentity),
    x25519.getSharedSecret(opts.identitySecret, opts.peerEphemeral),
    x25519.getSharedSecret(opts.signedPrekeySecret, opts.peerEphemeral),
    ...(opts.oneTimePrekeySecret === undefined
      ? []
      : [x25519.getSharedSecret(opts.oneTimePrekeySecret, opts.peerEphemeral)]),
  ]);
}

function _kdf(parts: readonly Uint8Array[]): Uint8Array {
  const ikm = concat(_F, ...parts);
  const sk = hkdf(sha256, ikm, _SALT, _INFO, PQXDH_SECRET_BYTES);
  zeroize(ikm);
  return sk;
}

/**
 * Runs the DH computations; noble refuses a low-order point (an all-zero output, RFC 7748
 * section 6.1), which only a malicious peer sends: that is the peer's error, typed.
 */
function _dhOrThrow(code: "bad_prekeys" | "bad_handshake", run: () => Uint8Array[]): Uint8Array[] {
  try {
    return run();
  } catch (e) {
    if (e instanceof TypeError) throw e;
    throw new E2eError(
      code,
      "A public key of the handshake is not a valid X25519 key (a low-order point)",
    );
  }
}

function _noPrekey(secrets: PrekeySecrets, id: number, what: string): never {
  // IDs come from one counter: below next_id and not held means used (or retired), not invented.
  const held = [secrets.spk.id, secrets.pqspk.id, ...secrets.opks.map((p) => p.id)];
  for (const p of secrets.pqopks) held.push(p.id);
  if (id < secrets.next_id && !held.includes(id)) {
    throw new E2eError(
      "prekey_used",
      `The initial message names ${what} ${id}, which was already used or retired; it is a replay or too old`,
      { id },
    );
  }
  throw new E2eError(
    "unknown_prekey",
    `The initial message names ${what} ${id}, which this device does not have`,
    { id },
  );
}

function _chooseOpk(bundle: PrekeyBundle, id: number | null | undefined) {
  if (id === null) return null;
  if (id === undefined) return bundle.opks[0] ?? null;
  const opk = bundle.opks.find((p) => p.id === id);
  if (opk === undefined) throw new RangeError(`One-time prekey ${id} is not in the bundle`);
  return opk;
}

function _choosePq(bundle: PrekeyBundle, id: number | undefined) {
  if (id === undefined) return bundle.pqopks?.[0] ?? bundle.pqspk;
  if (id === bundle.pqspk.id) return bundle.pqspk;
  const pq = bundle.pqopks?.find((p) => p.id === id);
  if (pq === undefined) throw new RangeError(`Post-quantum prekey ${id} is not in the bundle`);
  return pq;
}

function _assertIdentity(me: SessionIdentity): void {
  if (typeof me !== "object" || me === null || typeof me.ik !== "object" || me.ik === null) {
    throw new TypeError(
      "Expected myIdentity to be { user, device, ik: { publicKey, secretKey }, iksig }",
    );
  }
  assertId(me.user, "myIdentity.user");
  assertId(me.device, "myIdentity.device");
  assertBytes(me.ik.secretKey, "myIdentity.ik.secretKey", 32);
  assertBytes(me.ik.publicKey, "myIdentity.ik.publicKey", 32);
  if (typeof me.iksig !== "string") throw new TypeError("Expected myIdentity.iksig to be a string");
}

function _validMessage(value: unknown): InitialMessage {
  const o = _MESSAGE.object(value, _MESSAGE_FIELDS);
  if (o.v !== PQXDH_VERSION) {
    _MESSAGE.fail(`Field "v" must be ${PQXDH_VERSION}, got ${String(o.v)}`);
  }
  if (o.t !== "pqxdh") _MESSAGE.fail(`Field "t" must be "pqxdh"`);
  const key = (field: string, min: number, max = min) => {
    _MESSAGE.bytes(o[field], field, min, max);
    return o[field] as string;
  };
  return Object.freeze({
    v: PQXDH_VERSION,
    t: "pqxdh",
    ik: key("ik", 32),
    iksig: key("iksig", 64),
    ek: key("ek", 32),
    spk_id: _MESSAGE.int(o.spk_id, "spk_id", 1, MAX_U32),
    opk_id: o.opk_id === null ? null : _MESSAGE.int(o.opk_id, "opk_id", 1, MAX_U32),
    pqpk_id: _MESSAGE.int(o.pqpk_id, "pqpk_id", 1, MAX_U32),
    kem_ct: key("kem_ct", ml_kem768.lengths.cipherText!),
    rsa_ct: key("rsa_ct", 256, 1024),
  });
}
