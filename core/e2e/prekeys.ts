/**
 * Prekeys of a device for the session handshake (`pqxdh.ts`; docs/CRYPTO.md, "Forward secrecy:
 * the session handshake"; issue 22): making them, the public bundle a device publishes, its
 * strict parser and the check of every signature, and the private half a device keeps.
 *
 * A bundle is one JSON object: `{ v: 1, t: "prekeys", user, device, ik, iksig, spk: { id, key,
 * sig }, pqspk: { id, key, sig }, opks: [{ id, key }], pqopks: [{ id, key, sig }] }` (`pqopks`
 * may be absent). Keys and signatures are url-safe base64 without padding.
 * - `ik`: the device's X25519 (RFC 7748) identity key, its own key pair (not converted from
 *   the Ed25519 signing key, so each key has one use), bound to the device by `iksig`.
 * - `spk`: the signed X25519 prekey (rotated by the caller; also the last resort).
 * - `pqspk`: the signed ML-KEM-768 (FIPS 203) prekey, the post-quantum last resort.
 * - `opks`: one-time X25519 prekeys, each used at most once; `pqopks`: one-time ML-KEM-768
 *   prekeys, signed as PQXDH requires.
 *
 * Every signature is Ed25519 (RFC 8032) by the device's signing key (the one its account's
 * device list names) over {@linkcode prekeySignedBytes}: {@linkcode PREKEY_SIGNED_PREFIX}, a zero
 * byte, the kind ("ik", "spk", "pqspk" or "pqopk"), a zero byte, the user ID (8 bytes), the
 * device ID (4 bytes), the prekey ID (4 bytes, 0 for "ik"), all big-endian, then the raw key.
 * The kind keeps a KEM key from passing for an X25519 one (PQXDH section 4.1, the re-encoding
 * attack); the user and device keep one device's prekeys from being published as another's.
 *
 * **On the server.** The server keeps a device's bundle and its one-time prekeys apart, and
 * hands out one one-time prekey per fetch (docs/PROTOCOL.md "Devices", Prekeys):
 * {@linkcode splitBundleForServer} makes the texts to publish (the bundle without one-time
 * prekeys, and each one-time prekey as `{ kind: "opk", id, key }` or `{ kind: "pqopk", id, key,
 * sig }`), and {@linkcode joinBundleFromServer} puts a fetched bundle back together. No
 * signature covers the list of one-time prekeys (each signs one key), so both halves still
 * verify with {@linkcode verifyPrekeyBundle}.
 *
 * Prekey IDs come from one counter per device (`next_id` of the secrets), so an ID names one
 * key of one kind, and an ID below `next_id` that a device no longer holds was used or retired:
 * that is how a replayed handshake is told from a made-up one.
 *
 * @module
 */

import { x25519 } from "@noble/curves/ed25519.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import {
  assertBytes,
  concat,
  equalBytes,
  randomBytes,
  toBase64Url,
  utf8,
} from "../crypto/bytes.ts";
import { publicKeyFromSecret, sign, verify } from "../crypto/ed25519.ts";
import { assertId } from "./e2e_common.ts";
import { E2eError } from "./e2e_errors.ts";
import { MAX_U32, parseJsonText, WireFields } from "./wire_fields.ts";

/** The bundle and secrets format version (the `v` field). */
export const PREKEYS_VERSION = 1;

/** Domain separation prefix of every prekey signature; a zero byte follows it. */
export const PREKEY_SIGNED_PREFIX = "fastchat-prekey-v1";

/** Most one-time prekeys of each kind in one bundle (an upload or a refill). */
export const MAX_ONE_TIME_PREKEYS = 100;

/** Longest bundle text accepted, in characters: 100 of each kind fit. */
export const PREKEY_BUNDLE_MAX_CHARS = 256 * 1024;

/** Longest secrets text accepted, in characters. */
export const PREKEY_SECRETS_MAX_CHARS = 64 * 1024;

/** What a prekey signature signs; see {@linkcode prekeySignedBytes}. */
export type PrekeyKind = "ik" | "spk" | "pqspk" | "pqopk";

/** An X25519 key pair: 32-byte secret scalar and public u-coordinate (RFC 7748). */
export interface X25519KeyPair {
  /** 32 bytes. */
  readonly publicKey: Uint8Array;
  /** 32 bytes; keep it private. */
  readonly secretKey: Uint8Array;
}

/** A signed prekey in a bundle. */
export interface SignedPrekey {
  /** Prekey ID, 1 to 2^32 - 1, unique per device. */
  readonly id: number;
  /** The public key, url-safe base64: 32 bytes (X25519) or 1,184 bytes (ML-KEM-768). */
  readonly key: string;
  /** Ed25519 signature of {@linkcode prekeySignedBytes}, url-safe base64 (86 characters). */
  readonly sig: string;
}

/** A one-time X25519 prekey in a bundle (unsigned, as in X3DH). */
export interface OneTimePrekey {
  /** Prekey ID. */
  readonly id: number;
  /** The 32-byte X25519 public key, url-safe base64 (43 characters). */
  readonly key: string;
}

/** The public prekeys a device publishes; see the module documentation. */
export interface PrekeyBundle {
  /** Format version, {@linkcode PREKEYS_VERSION}. */
  readonly v: 1;
  /** Object type. */
  readonly t: "prekeys";
  /** The account's user ID. */
  readonly user: number;
  /** The device's ID in its account's device list. */
  readonly device: number;
  /** The device's X25519 identity public key (43 characters). */
  readonly ik: string;
  /** Ed25519 signature binding `ik` to the device (kind "ik", ID 0). */
  readonly iksig: string;
  /** The signed X25519 prekey. */
  readonly spk: SignedPrekey;
  /** The signed ML-KEM-768 prekey (the post-quantum last resort). */
  readonly pqspk: SignedPrekey;
  /** One-time X25519 prekeys; may be empty. */
  readonly opks: readonly OneTimePrekey[];
  /** One-time ML-KEM-768 prekeys, signed; absent when the device publishes none. */
  readonly pqopks?: readonly SignedPrekey[];
}

/** A private X25519 prekey the device keeps: ID and 32-byte secret, url-safe base64. */
export interface X25519PrekeySecret {
  /** Prekey ID. */
  readonly id: number;
  /** The 32-byte secret scalar. */
  readonly priv: string;
}

/** A private ML-KEM-768 prekey the device keeps: ID and the 64-byte key generation seed. */
export interface KemPrekeySecret {
  /** Prekey ID. */
  readonly id: number;
  /** The 64-byte seed (d || z) the key pair is derived from (FIPS 203 ML-KEM.KeyGen_internal). */
  readonly seed: string;
}

/**
 * The private half of a device's prekeys, plain JSON (store it with the keystore, under the
 * password-derived key). Never sent anywhere.
 */
export interface PrekeySecrets {
  /** Format version, {@linkcode PREKEYS_VERSION}. */
  readonly v: 1;
  /** Object type. */
  readonly t: "prekey_secrets";
  /** The account's user ID. */
  readonly user: number;
  /** The device's ID. */
  readonly device: number;
  /** The X25519 identity secret key, url-safe base64. */
  readonly ik: string;
  /** The identity key's signature, as published in bundles. */
  readonly iksig: string;
  /** The signed X25519 prekey. */
  readonly spk: X25519PrekeySecret;
  /** The signed ML-KEM-768 prekey. */
  readonly pqspk: KemPrekeySecret;
  /** One-time X25519 prekeys not yet used. */
  readonly opks: readonly X25519PrekeySecret[];
  /** One-time ML-KEM-768 prekeys not yet used. */
  readonly pqopks: readonly KemPrekeySecret[];
  /** The next prekey ID to hand out; every ID ever used is below it. */
  readonly next_id: number;
}

/** Options of {@linkcode makePrekeys}. */
export interface MakePrekeysOptions {
  /** The account's user ID. */
  readonly user: number;
  /** The device's ID. */
  readonly device: number;
  /** How many one-time X25519 prekeys, 0 to {@linkcode MAX_ONE_TIME_PREKEYS}. */
  readonly opks: number;
  /** How many one-time ML-KEM-768 prekeys, 0 (the default) to {@linkcode MAX_ONE_TIME_PREKEYS}. */
  readonly pqopks?: number;
  /** The device's existing X25519 identity key pair; a new one is made when omitted. */
  readonly identity?: X25519KeyPair;
  /** The first prekey ID to use (the old secrets' `next_id` when replacing prekeys); 1 if omitted. */
  readonly firstId?: number;
}

/** What {@linkcode makePrekeys} returns. */
export interface MadePrekeys {
  /** The public bundle to publish. */
  readonly bundle: PrekeyBundle;
  /** The private half to keep. */
  readonly secrets: PrekeySecrets;
}

const _X25519_BYTES = 32;
const _KEM_PUBLIC_BYTES = 1184;
const _KEM_SEED_BYTES = 64;
const _SIG_BYTES = 64;
const _KINDS: readonly PrekeyKind[] = ["ik", "spk", "pqspk", "pqopk"];
const _BUNDLE = new WireFields("bad_prekeys", "prekey bundle");
const _SECRETS = new WireFields("bad_prekeys", "prekey secrets");
const _BUNDLE_FIELDS = ["v", "t", "user", "device", "ik", "iksig", "spk", "pqspk", "opks"];
const _SECRETS_FIELDS = [
  "v",
  "t",
  "user",
  "device",
  "ik",
  "iksig",
  "spk",
  "pqspk",
  "opks",
  "pqopks",
  "next_id",
];

// Bundles that verifyPrekeyBundle checked: initiateSession takes no other.
const _verified = new WeakSet<PrekeyBundle>();
// Objects this module parsed or made: frozen and known to be well formed.
const _wellFormed = new WeakSet<object>();

/**
 * Returns the bytes a prekey signature covers: {@linkcode PREKEY_SIGNED_PREFIX}, 0x00, `kind`,
 * 0x00, `user` (8 bytes), `device` (4 bytes), `id` (4 bytes; 0 for "ik"), big-endian, then the
 * raw public key.
 */
export function prekeySignedBytes(
  kind: PrekeyKind,
  user: number,
  device: number,
  id: number,
  key: Uint8Array,
): Uint8Array {
  if (!_KINDS.includes(kind)) throw new TypeError(`Unknown prekey kind ${String(kind)}`);
  assertId(user, "user");
  _assertU32(device, "device", 1);
  _assertU32(id, "id", kind === "ik" ? 0 : 1);
  assertBytes(key, "key");
  const ids = new Uint8Array(16);
  const view = new DataView(ids.buffer);
  view.setBigUint64(0, BigInt(user));
  view.setUint32(8, device);
  view.setUint32(12, id);
  return concat(
    utf8(PREKEY_SIGNED_PREFIX),
    new Uint8Array([0]),
    utf8(kind),
    new Uint8Array([0]),
    ids,
    key,
  );
}

/**
 * Makes a device's prekeys: its X25519 identity key (unless given), one signed X25519 prekey,
 * one signed ML-KEM-768 prekey, and `opts.opks` / `opts.pqopks` one-time prekeys, all signed
 * with the device's Ed25519 `signingSecret`. IDs run from `opts.firstId` (1) upwards.
 *
 * @throws {TypeError | RangeError} If an argument is malformed.
 */
export function makePrekeys(signingSecret: Uint8Array, opts: MakePrekeysOptions): MadePrekeys {
  assertBytes(signingSecret, "signingSecret", 32);
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError("Expected the options of makePrekeys to be an object");
  }
  const { user, device } = opts;
  assertId(user, "user");
  _assertU32(device, "device", 1);
  const opkCount = _count(opts.opks, "opks");
  const pqopkCount = _count(opts.pqopks ?? 0, "pqopks");
  let nextId = opts.firstId ?? 1;
  _assertU32(nextId, "firstId", 1);
  if (nextId + 2 + opkCount + pqopkCount > MAX_U32) {
    throw new RangeError("Prekey IDs would pass 2^32 - 1; make a new identity key instead");
  }
  const identity = opts.identity ?? x25519.keygen();
  assertBytes(identity.secretKey, "identity.secretKey", _X25519_BYTES);
  assertBytes(identity.publicKey, "identity.publicKey", _X25519_BYTES);
  if (!equalBytes(x25519.getPublicKey(identity.secretKey), identity.publicKey)) {
    throw new RangeError("The identity key pair's public key is not its secret key's");
  }
  const sig = (kind: PrekeyKind, id: number, key: Uint8Array) =>
    _b64(sign(signingSecret, prekeySignedBytes(kind, user, device, id, key)));

  const spk = x25519.keygen();
  const spkId = nextId++;
  const pqSeed = randomBytes(_KEM_SEED_BYTES);
  const pq = ml_kem768.keygen(pqSeed);
  const pqId = nextId++;
  const opks = Array.from({ length: opkCount }, () => ({ id: nextId++, pair: x25519.keygen() }));
  const pqopks = Array.from({ length: pqopkCount }, () => {
    const seed = randomBytes(_KEM_SEED_BYTES);
    return { id: nextId++, seed, publicKey: ml_kem768.keygen(seed).publicKey };
  });

  const bundle: PrekeyBundle = {
    v: PREKEYS_VERSION,
    t: "prekeys",
    user,
    device,
    ik: _b64(identity.publicKey),
    iksig: sig("ik", 0, identity.publicKey),
    spk: { id: spkId, key: _b64(spk.publicKey), sig: sig("spk", spkId, spk.publicKey) },
    pqspk: { id: pqId, key: _b64(pq.publicKey), sig: sig("pqspk", pqId, pq.publicKey) },
    opks: opks.map((o) => ({ id: o.id, key: _b64(o.pair.publicKey) })),
    ...(pqopkCount > 0
      ? {
        pqopks: pqopks.map((o) => ({
          id: o.id,
          key: _b64(o.publicKey),
          sig: sig("pqopk", o.id, o.publicKey),
        })),
      }
      : {}),
  };
  const secrets: PrekeySecrets = {
    v: PREKEYS_VERSION,
    t: "prekey_secrets",
    user,
    device,
    ik: _b64(identity.secretKey),
    iksig: bundle.iksig,
    spk: { id: spkId, priv: _b64(spk.secretKey) },
    pqspk: { id: pqId, seed: _b64(pqSeed) },
    opks: opks.map((o) => ({ id: o.id, priv: _b64(o.pair.secretKey) })),
    pqopks: pqopks.map((o) => ({ id: o.id, seed: _b64(o.seed) })),
    next_id: nextId,
  };
  return { bundle: _freeze(bundle), secrets: _freeze(secrets) };
}

/**
 * Parses a prekey bundle strictly: exact field sets, types, ID ranges, canonical base64 of the
 * right lengths, prekey IDs unique, at most {@linkcode MAX_ONE_TIME_PREKEYS} one-time prekeys of
 * each kind. Nothing is verified: {@linkcode verifyPrekeyBundle} does. The result is frozen.
 *
 * @throws {E2eError} `bad_prekeys`, naming the field and what was expected.
 */
export function parsePrekeyBundle(text: string): PrekeyBundle {
  const value = parseJsonText(text, PREKEY_BUNDLE_MAX_CHARS, _BUNDLE);
  const hasPq = typeof value === "object" && value !== null && Object.hasOwn(value, "pqopks");
  const o = _BUNDLE.object(value, hasPq ? [..._BUNDLE_FIELDS, "pqopks"] : _BUNDLE_FIELDS);
  if (o.v !== PREKEYS_VERSION) {
    _BUNDLE.fail(`Field "v" must be ${PREKEYS_VERSION}, got ${String(o.v)}`);
  }
  if (o.t !== "prekeys") _BUNDLE.fail(`Field "t" must be "prekeys"`);
  const bundle: PrekeyBundle = {
    v: PREKEYS_VERSION,
    t: "prekeys",
    user: _BUNDLE.int(o.user, "user", 1, Number.MAX_SAFE_INTEGER),
    device: _BUNDLE.int(o.device, "device", 1, MAX_U32),
    ik: _key(o.ik, "ik", _X25519_BYTES),
    iksig: _key(o.iksig, "iksig", _SIG_BYTES),
    spk: _signed(o.spk, "spk", _X25519_BYTES),
    pqspk: _signed(o.pqspk, "pqspk", _KEM_PUBLIC_BYTES),
    opks: _BUNDLE.array(o.opks, "opks", MAX_ONE_TIME_PREKEYS).map((item, i) => {
      const p = _BUNDLE.object(item, ["id", "key"], `opks[${i}].`);
      return {
        id: _BUNDLE.int(p.id, `opks[${i}].id`, 1, MAX_U32),
        key: _key(p.key, `opks[${i}].key`, _X25519_BYTES),
      };
    }),
    ...(hasPq
      ? {
        pqopks: _BUNDLE.array(o.pqopks, "pqopks", MAX_ONE_TIME_PREKEYS).map((item, i) =>
          _signed(item, `pqopks[${i}]`, _KEM_PUBLIC_BYTES)
        ),
      }
      : {}),
  };
  const ids = [bundle.spk.id, bundle.pqspk.id, ...bundle.opks.map((p) => p.id)];
  for (const p of bundle.pqopks ?? []) ids.push(p.id);
  if (new Set(ids).size !== ids.length) _BUNDLE.fail("Prekey IDs in a bundle must be unique");
  return _freeze(bundle);
}

/** Writes a bundle as canonical JSON (the field order of the module documentation). */
export function serializePrekeyBundle(bundle: PrekeyBundle): string {
  return JSON.stringify(bundle);
}

/**
 * Checks every signature of a bundle (`iksig`, `spk`, `pqspk`, each of `pqopks`) against the
 * device's Ed25519 signing public key, the one its account's verified device list names for
 * `bundle.user` / `bundle.device`. Returns the same bundle, now accepted by `initiateSession`.
 *
 * @throws {E2eError} `bad_prekeys` naming the first signature that does not verify, or when
 *   `bundle` was not made by {@linkcode parsePrekeyBundle} or {@linkcode makePrekeys} and is
 *   malformed.
 */
export function verifyPrekeyBundle(
  bundle: PrekeyBundle,
  deviceSigningPublicKey: Uint8Array,
): PrekeyBundle {
  assertBytes(deviceSigningPublicKey, "deviceSigningPublicKey", 32);
  // Re-parse what we did not parse ourselves, so a hand-built object gets the same checks.
  const b = _wellFormed.has(bundle) ? bundle : parsePrekeyBundle(JSON.stringify(bundle));
  const check = (kind: PrekeyKind, id: number, key: string, sig: string, field: string) => {
    const bytes = prekeySignedBytes(kind, b.user, b.device, id, _bytes(key));
    if (!verify(deviceSigningPublicKey, bytes, _bytes(sig))) {
      throw new E2eError(
        "bad_prekeys",
        `The signature of "${field}" in the prekey bundle of user ${b.user}, device ${b.device} ` +
          "does not verify with the device's signing key; it was forged or altered",
        { user: b.user, device: b.device },
      );
    }
  };
  check("ik", 0, b.ik, b.iksig, "ik");
  check("spk", b.spk.id, b.spk.key, b.spk.sig, "spk");
  check("pqspk", b.pqspk.id, b.pqspk.key, b.pqspk.sig, "pqspk");
  (b.pqopks ?? []).forEach((p, i) => check("pqopk", p.id, p.key, p.sig, `pqopks[${i}]`));
  _verified.add(b);
  return b;
}

/** True when `bundle` passed {@linkcode verifyPrekeyBundle}. */
export function isVerifiedBundle(bundle: PrekeyBundle): boolean {
  return _verified.has(bundle);
}

/**
 * Parses prekey secrets (what a keystore stored) strictly, as {@linkcode parsePrekeyBundle}
 * parses bundles, and checks that `iksig` is not empty and IDs are below `next_id` and unique.
 *
 * @throws {E2eError} `bad_prekeys`.
 */
export function parsePrekeySecrets(text: string): PrekeySecrets {
  const value = parseJsonText(text, PREKEY_SECRETS_MAX_CHARS, _SECRETS);
  return _validSecrets(value);
}

/** Writes prekey secrets as JSON, for the keystore. */
export function serializePrekeySecrets(secrets: PrekeySecrets): string {
  return JSON.stringify(secrets);
}

/** Checks secrets given as an object (parsed or made here, or from a caller); returns them frozen. */
export function validPrekeySecrets(secrets: PrekeySecrets): PrekeySecrets {
  if (_wellFormed.has(secrets)) return secrets;
  if (typeof secrets !== "object" || secrets === null) {
    throw new TypeError("Expected prekey secrets to be an object");
  }
  return _validSecrets(JSON.parse(JSON.stringify(secrets)));
}

/** The device's X25519 identity key pair held in `secrets`. */
export function identityKeyPair(secrets: PrekeySecrets): X25519KeyPair {
  const secretKey = _bytes(validPrekeySecrets(secrets).ik);
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** A bundle as the server keeps it; see {@linkcode splitBundleForServer}. */
export interface ServerPrekeys {
  /** The bundle without one-time prekeys, as JSON text (`opks` empty, no `pqopks`). */
  readonly bundle: string;
  /** Each one-time prekey as JSON text, with its kind. */
  readonly oneTime: string[];
}

/** What {@linkcode addOneTimePrekeys} returns. */
export interface AddedPrekeys {
  /** The new one-time X25519 prekeys, to publish. */
  readonly oneTime: OneTimePrekey[];
  /** The secrets with the new ones added and `next_id` moved on; store them before publishing. */
  readonly secrets: PrekeySecrets;
}

/**
 * Splits a bundle into what `publish_prekeys` carries: the bundle without its one-time prekeys,
 * and each one-time prekey on its own (see the module documentation).
 */
export function splitBundleForServer(bundle: PrekeyBundle): ServerPrekeys {
  const b = _wellFormed.has(bundle) ? bundle : parsePrekeyBundle(JSON.stringify(bundle));
  const { pqopks, opks, ...rest } = b;
  return {
    bundle: JSON.stringify({ ...rest, opks: [] }),
    oneTime: [
      ...opks.map((p) => oneTimePrekeyText(p)),
      ...(pqopks ?? []).map((p) =>
        JSON.stringify({ kind: "pqopk", id: p.id, key: p.key, sig: p.sig })
      ),
    ],
  };
}

/** Writes one one-time X25519 prekey as the server keeps it: `{ kind: "opk", id, key }`. */
export function oneTimePrekeyText(prekey: OneTimePrekey): string {
  return JSON.stringify({ kind: "opk", id: prekey.id, key: prekey.key });
}

/**
 * Puts a fetched bundle back together: `bundleText` (no one-time prekeys) with the one
 * one-time prekey the server handed out, or none (`null`). Parsed strictly; verify the result
 * with {@linkcode verifyPrekeyBundle}.
 *
 * @throws {E2eError} `bad_prekeys`, naming what was malformed.
 */
export function joinBundleFromServer(bundleText: string, oneTimeText: string | null): PrekeyBundle {
  const bundle = parsePrekeyBundle(bundleText);
  if (bundle.opks.length > 0 || bundle.pqopks !== undefined) {
    _BUNDLE.fail(
      "A bundle from the server must carry no one-time prekeys; they come one per fetch",
    );
  }
  if (oneTimeText === null) return bundle;
  const one = new WireFields("bad_prekeys", "one-time prekey");
  const value = parseJsonText(oneTimeText, 4096, one);
  const kind = typeof value === "object" && value !== null
    ? (value as Record<string, unknown>).kind
    : undefined;
  // The whole bundle is parsed again, so the prekey's fields and ID get the bundle's checks.
  if (kind === "opk") {
    const o = one.object(value, ["kind", "id", "key"]);
    return parsePrekeyBundle(JSON.stringify({ ...bundle, opks: [{ id: o.id, key: o.key }] }));
  }
  if (kind === "pqopk") {
    const o = one.object(value, ["kind", "id", "key", "sig"]);
    return parsePrekeyBundle(
      JSON.stringify({ ...bundle, pqopks: [{ id: o.id, key: o.key, sig: o.sig }] }),
    );
  }
  return one.fail(`Field "kind" must be "opk" or "pqopk", got ${JSON.stringify(kind)}`);
}

/**
 * Makes `count` more one-time X25519 prekeys (a refill) with fresh IDs from the secrets'
 * `next_id`; the identity and signed prekeys stay. `signingSecret` must be the device's key
 * that signed `secrets.iksig`, so a refill cannot mix two devices' keys.
 *
 * @throws {TypeError | RangeError} If an argument is malformed, or the signing key is not the one
 *   that signed these secrets.
 */
export function addOneTimePrekeys(
  signingSecret: Uint8Array,
  secrets: PrekeySecrets,
  count: number,
): AddedPrekeys {
  assertBytes(signingSecret, "signingSecret", 32);
  const s = validPrekeySecrets(secrets);
  const n = _count(count, "count");
  const ik = x25519.getPublicKey(_bytes(s.ik));
  const signed = prekeySignedBytes("ik", s.user, s.device, 0, ik);
  if (!verify(publicKeyFromSecret(signingSecret), signed, _bytes(s.iksig))) {
    throw new RangeError("The signing key is not the one that signed these prekey secrets");
  }
  if (s.next_id + n > MAX_U32) {
    throw new RangeError("Prekey IDs would pass 2^32 - 1; make a new identity key instead");
  }
  const made = Array.from({ length: n }, (_, i) => ({ id: s.next_id + i, pair: x25519.keygen() }));
  return {
    oneTime: made.map((o) => _freeze({ id: o.id, key: _b64(o.pair.publicKey) })),
    secrets: _freeze({
      ...s,
      opks: [...s.opks, ...made.map((o) => ({ id: o.id, priv: _b64(o.pair.secretKey) }))],
      next_id: s.next_id + n,
    }),
  };
}

/** The url-safe base64 (unpadded) form used by every key of this module. */
export function keyText(bytes: Uint8Array): string {
  return _b64(bytes);
}

/** Decodes a key that a parser of this module already checked. */
export function keyBytes(text: string): Uint8Array {
  return _bytes(text);
}

function _validSecrets(value: unknown): PrekeySecrets {
  const o = _SECRETS.object(value, _SECRETS_FIELDS);
  if (o.v !== PREKEYS_VERSION) _SECRETS.fail(`Field "v" must be ${PREKEYS_VERSION}`);
  if (o.t !== "prekey_secrets") _SECRETS.fail(`Field "t" must be "prekey_secrets"`);
  const x = (item: unknown, field: string): X25519PrekeySecret => {
    const p = _SECRETS.object(item, ["id", "priv"], `${field}.`);
    return {
      id: _SECRETS.int(p.id, `${field}.id`, 1, MAX_U32),
      priv: _b64(_SECRETS.bytes(p.priv, `${field}.priv`, _X25519_BYTES)),
    };
  };
  const kem = (item: unknown, field: string): KemPrekeySecret => {
    const p = _SECRETS.object(item, ["id", "seed"], `${field}.`);
    return {
      id: _SECRETS.int(p.id, `${field}.id`, 1, MAX_U32),
      seed: _b64(_SECRETS.bytes(p.seed, `${field}.seed`, _KEM_SEED_BYTES)),
    };
  };
  const secrets: PrekeySecrets = {
    v: PREKEYS_VERSION,
    t: "prekey_secrets",
    user: _SECRETS.int(o.user, "user", 1, Number.MAX_SAFE_INTEGER),
    device: _SECRETS.int(o.device, "device", 1, MAX_U32),
    ik: _b64(_SECRETS.bytes(o.ik, "ik", _X25519_BYTES)),
    iksig: _b64(_SECRETS.bytes(o.iksig, "iksig", _SIG_BYTES)),
    spk: x(o.spk, "spk"),
    pqspk: kem(o.pqspk, "pqspk"),
    opks: _SECRETS.array(o.opks, "opks", 100_000).map((p, i) => x(p, `opks[${i}]`)),
    pqopks: _SECRETS.array(o.pqopks, "pqopks", 100_000).map((p, i) => kem(p, `pqopks[${i}]`)),
    next_id: _SECRETS.int(o.next_id, "next_id", 1, MAX_U32),
  };
  const ids = [secrets.spk.id, secrets.pqspk.id, ...secrets.opks.map((p) => p.id)];
  for (const p of secrets.pqopks) ids.push(p.id);
  if (new Set(ids).size !== ids.length) _SECRETS.fail("Prekey IDs must be unique");
  if (ids.some((id) => id >= secrets.next_id)) {
    _SECRETS.fail(`Every prekey ID must be below "next_id" (${secrets.next_id})`);
  }
  return _freeze(secrets);
}

function _signed(value: unknown, field: string, keyBytes: number): SignedPrekey {
  const p = _BUNDLE.object(value, ["id", "key", "sig"], `${field}.`);
  return {
    id: _BUNDLE.int(p.id, `${field}.id`, 1, MAX_U32),
    key: _key(p.key, `${field}.key`, keyBytes),
    sig: _key(p.sig, `${field}.sig`, _SIG_BYTES),
  };
}

function _key(value: unknown, field: string, length: number): string {
  _BUNDLE.bytes(value, field, length);
  return value as string;
}

function _count(value: unknown, name: string): number {
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 ||
    value > MAX_ONE_TIME_PREKEYS
  ) {
    throw new RangeError(
      `Expected ${name} to be an integer from 0 to ${MAX_ONE_TIME_PREKEYS}, got ${String(value)}`,
    );
  }
  return value;
}

function _assertU32(value: unknown, name: string, min: number): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > MAX_U32) {
    throw new RangeError(
      `Expected ${name} to be an integer from ${min} to ${MAX_U32}, got ${String(value)}`,
    );
  }
}

function _b64(bytes: Uint8Array): string {
  return toBase64Url(bytes, false);
}

function _bytes(text: string): Uint8Array {
  return _BUNDLE.bytes(text, "key", 0, 4096);
}

function _freeze<T extends object>(value: T): T {
  _deepFreeze(value);
  _wellFormed.add(value);
  return value;
}

function _deepFreeze(value: unknown): void {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) _deepFreeze(v);
    Object.freeze(value);
  }
}
