/**
 * Device lists: which devices speak for an account, as a hash chain of signed versions
 * (docs/CRYPTO.md, "The device list"; issue 21). Pure functions: parse, serialize, sign the
 * first, next and recovery versions, and check a chain. No I/O.
 *
 * A list is one JSON object, the same on the wire, in the database and in keystores:
 * `{ v, t: "device_list", user, version, prev, next_id, devices: [{ id, name, sign, rsa,
 * added }], ts, by, sig }`. `sig` is Ed25519 (RFC 8032) over the signed bytes:
 * {@linkcode DEVICE_LIST_SIGNED_PREFIX}, a zero byte, then the canonical JSON of every field
 * but `sig` (keys in that order, no spaces, as {@linkcode serializeDeviceList} writes them).
 * `prev` is the url-safe base64 (no padding) SHA-256 of the previous version's signed bytes
 * ({@linkcode deviceListHash}). Signatures and hashes cover the canonical form, never the
 * received text, so whitespace or escapes in transit change nothing.
 *
 * Parsing is strict, since lists come from the network and the server: exact field sets,
 * types, integer ranges, canonical base64, canonical SPKI PEM of an RSA key of at least
 * {@linkcode DEVICE_RSA_MIN_BITS} bits, and the rules of one version on its own: 1 to
 * {@linkcode DEVICE_LIMIT} devices in ascending ID order, IDs from 1 to below `next_id`,
 * unique names and signing keys, `prev` empty exactly in version 1, `by` 0 in version 1.
 *
 * Checking a chain ({@linkcode checkDeviceListStep}, {@linkcode checkDeviceListChain}):
 * version 1 is signed by the account key (`by` 0); each later version has the same user,
 * version one more, `prev` the hash of the one before, and is signed by a device of the one
 * before, or by the account key (`by` 0: a recovery, which the result flags so the caller can
 * report it as a key change). Devices kept keep their keys and `added` (a rename is allowed);
 * a device ID missing from the version before and below its `next_id` may not appear, so a
 * removed device can never come back; `next_id` never decreases. A checker that trusts a
 * version refuses an older head (`device_list_rollback`) and another list of the same version
 * (`device_list_fork`). Hashes are compared in constant time.
 *
 * Errors: anything wrong with a list from outside is an {@linkcode E2eError}
 * (`bad_device_list`, `bad_signature`, `device_list_rollback`, `device_list_fork`,
 * `device_list_gap`); a change a person asked for that the rules refuse is an `E2eError` too
 * (`too_many_devices`, `device_name_taken`, `last_device`), so a UI can say why. Arguments
 * that our own code got wrong (a malformed key, a device ID not in the list, a signer that is
 * not listed or whose secret key is not the listed one) throw `TypeError` / `RangeError`.
 *
 * Cost: a list of ten RSA-2048 devices is about 6 KB of JSON and takes about 2 ms to parse (it
 * parses every RSA key); checking a step adds one Ed25519 verification (about 0.5 ms). Lists
 * this module parsed or signed are frozen and not validated again.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bitLength } from "../crypto/bigint.ts";
import {
  assertBytes,
  concat,
  equalBytes,
  fromBase64Url,
  toBase64Url,
  utf8,
} from "../crypto/bytes.ts";
import { publicKeyFromSecret, sign, verify } from "../crypto/ed25519.ts";
import { exportRsaPublicKey, importRsaPublicKey } from "../crypto/rsa_pem.ts";
import { LIMITS } from "../protocol/limits.ts";
import { assertId, checkTimestamp } from "./e2e_common.ts";
import { E2eError } from "./e2e_errors.ts";

/** The device list format version this code writes and reads (the `v` field). */
export const DEVICE_LIST_FORMAT = 1;

/** Most devices an account may have at once. */
export const DEVICE_LIMIT = 10;

/** Longest device name, in UTF-16 code units (as group names are counted). */
export const DEVICE_NAME_MAX = 64;

/** Domain separation prefix of a device list's signed bytes; a zero byte follows it. */
export const DEVICE_LIST_SIGNED_PREFIX = "fastchat-device-list-v1";

/**
 * Longest device list text accepted, in characters: ten devices with the largest RSA key a
 * client may register (`LIMITS.publicKeyChars`) fit with room to spare.
 */
export const DEVICE_LIST_MAX_CHARS = 64 * 1024;

/** Smallest RSA modulus a device may have, in bits. */
export const DEVICE_RSA_MIN_BITS = 2048;

/** A device to add to a list: its name and public keys. */
export interface NewDevice {
  /** 1 to {@linkcode DEVICE_NAME_MAX} characters; see {@linkcode deviceNameProblem}. */
  readonly name: string;
  /** Ed25519 public key, url-safe base64 without padding (43 characters). */
  readonly sign: string;
  /** RSA public key as PEM; in a list, always canonical SPKI ("PUBLIC KEY") PEM. */
  readonly rsa: string;
}

/** One device of a list. */
export interface DeviceEntry extends NewDevice {
  /** Device ID, unique for the account forever (IDs are never reused). */
  readonly id: number;
  /** When the device was added, Unix milliseconds (informational). */
  readonly added: number;
}

/** One version of an account's device list; see the module documentation. */
export interface DeviceList {
  /** Format version, {@linkcode DEVICE_LIST_FORMAT}. */
  readonly v: 1;
  /** Object type. */
  readonly t: "device_list";
  /** The account's user ID. */
  readonly user: number;
  /** 1 for the first list, then one more per change. */
  readonly version: number;
  /** Empty in version 1, else {@linkcode deviceListHash} of the version before (43 characters). */
  readonly prev: string;
  /** The next device ID to hand out; above every ID this list or an earlier one used. */
  readonly next_id: number;
  /** 1 to {@linkcode DEVICE_LIMIT} devices in ascending ID order. */
  readonly devices: readonly DeviceEntry[];
  /** When this version was signed, Unix milliseconds (informational; clocks differ). */
  readonly ts: number;
  /** 0 when the account key signed (version 1, a recovery), else the signing device's ID. */
  readonly by: number;
  /** Ed25519 signature of {@linkcode deviceListSignedBytes}, url-safe base64 (86 characters). */
  readonly sig: string;
}

/**
 * One change to sign into the next version; at least one part. Applied in this order: remove,
 * rename, add (so a change can free a slot or a name and use it).
 */
export interface DeviceChange {
  /** A device to add; it gets the list's `next_id`. */
  readonly add?: NewDevice;
  /** The ID of a device to remove; the signer may remove itself. */
  readonly remove?: number;
  /** A device to rename, by ID. */
  readonly rename?: { readonly id: number; readonly name: string };
}

/** The device that signs the next version: its ID and Ed25519 secret key (32-byte seed). */
export interface DeviceListSigner {
  /** Its ID in the current version. */
  readonly deviceId: number;
  /** Its Ed25519 secret key; the public half must be its `sign` key in the current version. */
  readonly secretKey: Uint8Array;
}

/** Options of {@linkcode signFirstDeviceList}. */
export interface FirstDeviceListOptions {
  /** The account's user ID. */
  readonly user: number;
  /** The account's first device; it gets ID 1. */
  readonly device: NewDevice;
  /** The account key's Ed25519 secret key (the identity key contacts pin). */
  readonly accountSecretKey: Uint8Array;
  /** Unix milliseconds; the current time when omitted. */
  readonly now?: number;
}

/** What {@linkcode checkDeviceListStep} found. */
export interface DeviceListStep {
  /** True when the account key signed a version after the first: report it as a key change. */
  readonly recovered: boolean;
}

/** What {@linkcode checkDeviceListChain} found. */
export interface DeviceListChainResult {
  /** The newest checked list: the new version to trust (the known one if nothing is newer). */
  readonly head: DeviceList;
  /** True when a version checked here was a recovery (signed by the account key). */
  readonly recovered: boolean;
}

const _LIST_FIELDS = [
  "v",
  "t",
  "user",
  "version",
  "prev",
  "next_id",
  "devices",
  "ts",
  "by",
  "sig",
] as const;
const _DEVICE_FIELDS = ["id", "name", "sign", "rsa", "added"] as const;
const _B64URL = /^[A-Za-z0-9_-]+$/;
const _HASH_CHARS = 43;
const _KEY_CHARS = 43;
const _SIG_CHARS = 86;
// Characters that are not printable text in a name: C0/C1 controls and DEL, line and paragraph
// separators, and bidirectional controls (which could make a name read as another one).
const _NAME_UNPRINTABLE = /[\p{Cc}\p{Zl}\p{Zp}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const _EDGE_SPACE = /^\s|\s$/u;

// Lists this module parsed or signed: frozen and known to follow the rules of one version, so
// the checks need not validate them again.
const _valid = new WeakSet<DeviceList>();

/**
 * Returns why `name` cannot name a device, or undefined when it can: 1 to
 * {@linkcode DEVICE_NAME_MAX} characters of well-formed Unicode, no control characters, line
 * separators or bidirectional controls, and no space at either end. A UI checks a typed name
 * with it before linking.
 */
export function deviceNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return `must be a string, got ${_kind(name)}`;
  if (name.length < 1 || name.length > DEVICE_NAME_MAX) {
    return `must be 1 to ${DEVICE_NAME_MAX} characters, got ${name.length}`;
  }
  if (!name.isWellFormed()) return "must be well-formed Unicode (no lone surrogates)";
  if (_NAME_UNPRINTABLE.test(name)) {
    return "must be printable text (no control characters, line breaks or direction marks)";
  }
  if (_EDGE_SPACE.test(name)) return "must not start or end with a space";
  return undefined;
}

/**
 * Parses and validates a device list (the rules of one version on its own); nothing is
 * verified: {@linkcode checkDeviceListStep} and {@linkcode checkDeviceListChain} do. The
 * result is frozen.
 *
 * @throws {E2eError} `bad_device_list`, naming the field and what was expected.
 */
export function parseDeviceList(text: string): DeviceList {
  if (typeof text !== "string") {
    throw new E2eError("bad_device_list", `A device list must be a string, got ${_kind(text)}`);
  }
  if (text.length > DEVICE_LIST_MAX_CHARS) {
    throw new E2eError(
      "bad_device_list",
      `Device list is too long: ${text.length} characters, at most ${DEVICE_LIST_MAX_CHARS} allowed`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new E2eError("bad_device_list", "Device list is not valid JSON");
  }
  return _validList(value);
}

/**
 * Writes a device list as canonical JSON: fields in the documented order, no spaces. Parsing
 * the result gives the same list.
 */
export function serializeDeviceList(list: DeviceList): string {
  return JSON.stringify({ ..._unsigned(list), sig: list.sig });
}

/**
 * Returns the bytes a device list's signature covers: {@linkcode DEVICE_LIST_SIGNED_PREFIX},
 * a zero byte, then the canonical JSON of every field but `sig`, UTF-8.
 */
export function deviceListSignedBytes(list: DeviceList): Uint8Array {
  return concat(
    utf8(DEVICE_LIST_SIGNED_PREFIX),
    new Uint8Array([0]),
    utf8(JSON.stringify(_unsigned(list))),
  );
}

/**
 * Returns a device list's hash, what the next version's `prev` holds: SHA-256 of
 * {@linkcode deviceListSignedBytes}, url-safe base64 without padding (43 characters).
 */
export function deviceListHash(list: DeviceList): string {
  return toBase64Url(sha256(deviceListSignedBytes(list)), false);
}

/** Returns the device with ID `id` in `list`, or undefined. */
export function findDevice(list: DeviceList, id: number): DeviceEntry | undefined {
  return list.devices.find((d) => d.id === id);
}

/**
 * Signs version 1 of an account's device list with the account key: the one device `device`
 * with ID 1, `next_id` 2, `by` 0. Done once, at registration.
 *
 * @throws {TypeError | RangeError} If an argument is malformed (a bad name or key, an RSA key
 *   under {@linkcode DEVICE_RSA_MIN_BITS} bits, a secret key that is not 32 bytes).
 */
export function signFirstDeviceList(opts: FirstDeviceListOptions): DeviceList {
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError("Expected the options of signFirstDeviceList to be an object");
  }
  assertId(opts.user, "user");
  const device = _newDevice(opts.device, "device");
  assertBytes(opts.accountSecretKey, "accountSecretKey", 32);
  const now = checkTimestamp(opts.now);
  return _sign({
    v: DEVICE_LIST_FORMAT,
    t: "device_list",
    user: opts.user,
    version: 1,
    prev: "",
    next_id: 2,
    devices: [{ id: 1, ...device, added: now }],
    ts: now,
    by: 0,
  }, opts.accountSecretKey);
}

/**
 * Signs the version after `prev` with one of its devices, applying `change`: remove, then
 * rename, then add (the new device gets `prev.next_id`). `by` is the signer's ID.
 *
 * @throws {E2eError} `too_many_devices` when an add would pass {@linkcode DEVICE_LIMIT},
 *   `device_name_taken` when another device has the new name, `last_device` when nothing
 *   would be left, `bad_device_list` when the new device's signing key is already listed or
 *   `prev` is malformed.
 * @throws {TypeError | RangeError} If an argument is malformed: an empty change, a bad name or
 *   key, a device ID not in `prev`, a signer not in `prev` or whose secret key is not its
 *   listed key.
 */
export function signNextDeviceList(
  prev: DeviceList,
  change: DeviceChange,
  signer: DeviceListSigner,
  now?: number,
): DeviceList {
  const base = _validList(prev);
  const { add, remove, rename } = _change(change);
  if (typeof signer !== "object" || signer === null) {
    throw new TypeError("Expected signer to be an object { deviceId, secretKey }");
  }
  assertId(signer.deviceId, "signer.deviceId");
  assertBytes(signer.secretKey, "signer.secretKey", 32);
  const ts = checkTimestamp(now);
  const me = findDevice(base, signer.deviceId);
  if (me === undefined) {
    throw new RangeError(
      `Device ${signer.deviceId} is not in version ${base.version} of the device list; ` +
        "only a listed device can sign the next version",
    );
  }
  if (!equalBytes(publicKeyFromSecret(signer.secretKey), fromBase64Url(me.sign))) {
    throw new RangeError(
      `The signer's secret key is not device ${me.id}'s listed signing key; pass that device's own key`,
    );
  }
  let devices: DeviceEntry[] = [...base.devices];
  if (remove !== undefined) {
    if (findDevice(base, remove) === undefined) {
      throw new RangeError(`Cannot remove device ${remove}: it is not in the device list`);
    }
    devices = devices.filter((d) => d.id !== remove);
  }
  if (rename !== undefined) {
    const i = devices.findIndex((d) => d.id === rename.id);
    if (i < 0) {
      throw new RangeError(`Cannot rename device ${rename.id}: it is not in the device list`);
    }
    _assertNameFree(devices, rename.name, rename.id);
    devices[i] = { ...devices[i]!, name: rename.name };
  }
  let nextId = base.next_id;
  if (add !== undefined) {
    if (devices.length >= DEVICE_LIMIT) {
      throw new E2eError(
        "too_many_devices",
        `The account already has ${devices.length} devices, the most it may have; ` +
          "unlink one before linking another",
        { limit: DEVICE_LIMIT },
      );
    }
    _assertNameFree(devices, add.name, 0);
    const same = devices.find((d) => d.sign === add.sign);
    if (same !== undefined) {
      throw new E2eError(
        "bad_device_list",
        `The new device's signing key is already device ${same.id}'s; each device has its own keys`,
      );
    }
    devices.push({ id: nextId, ...add, added: ts });
    nextId = _increment(nextId, "next_id");
  }
  if (devices.length === 0) {
    throw new E2eError(
      "last_device",
      `Cannot remove device ${remove}: it is the account's last device, and an account keeps at least one`,
    );
  }
  return _sign({
    v: DEVICE_LIST_FORMAT,
    t: "device_list",
    user: base.user,
    version: _increment(base.version, "version"),
    prev: deviceListHash(base),
    next_id: nextId,
    devices,
    ts,
    by: me.id,
  }, signer.secretKey);
}

/**
 * Signs a recovery: the version after `prev`, signed by the account key (`by` 0), naming only
 * `device` (with ID `prev.next_id`); every earlier device is removed. Contacts see it as a
 * key change (see docs/CRYPTO.md, "Recovery").
 *
 * @throws {E2eError} `bad_device_list` if `prev` is malformed.
 * @throws {TypeError | RangeError} If an argument is malformed.
 */
export function signRecoveryDeviceList(
  prev: DeviceList,
  device: NewDevice,
  accountSecretKey: Uint8Array,
  now?: number,
): DeviceList {
  const base = _validList(prev);
  const entry = _newDevice(device, "device");
  assertBytes(accountSecretKey, "accountSecretKey", 32);
  const ts = checkTimestamp(now);
  return _sign({
    v: DEVICE_LIST_FORMAT,
    t: "device_list",
    user: base.user,
    version: _increment(base.version, "version"),
    prev: deviceListHash(base),
    next_id: _increment(base.next_id, "next_id"),
    devices: [{ id: base.next_id, ...entry, added: ts }],
    ts,
    by: 0,
  }, accountSecretKey);
}

/**
 * Checks that `next` may follow `prev` (null: `next` must be version 1), under the account key
 * the checker pinned: the rules of docs/CRYPTO.md, "Checking a chain". Both lists are validated
 * too, unless this module parsed or signed them.
 *
 * @param prev The version the checker trusts, or null when it trusts none yet.
 * @param next The list to check.
 * @param accountKey The account's pinned Ed25519 public key (its identity key), 32 bytes.
 * @returns Whether `next` is a recovery (signed by the account key after version 1).
 * @throws {E2eError} `bad_device_list` (malformed, another user, a device that changed keys or
 *   came back, `next_id` going down), `bad_signature` (not signed by the account key or a
 *   device of `prev`), `device_list_rollback` (older than `prev`), `device_list_fork` (another
 *   list of `prev`'s version, or `prev` is not the one `next` follows), `device_list_gap`
 *   (versions missing in between).
 * @throws {TypeError | RangeError} If `accountKey` is not 32 bytes.
 */
export function checkDeviceListStep(
  prev: DeviceList | null,
  next: DeviceList,
  accountKey: Uint8Array,
): DeviceListStep {
  assertBytes(accountKey, "accountKey", 32);
  const b = _validList(next);
  const where = `version ${b.version} of user ${b.user}'s device list`;
  if (prev === null) {
    if (b.version !== 1) {
      throw new E2eError(
        "device_list_gap",
        `Expected version 1 of user ${b.user}'s device list to start the chain, got version ${b.version}`,
        { user: b.user, expected: 1, got: b.version },
      );
    }
    _verify(b, accountKey, `${_upper(where)} is not signed by the account key`);
    return { recovered: false };
  }
  const a = _validList(prev);
  if (b.user !== a.user) {
    throw new E2eError(
      "bad_device_list",
      `Expected a device list of user ${a.user}, got one of user ${b.user}`,
      { user: a.user, got: b.user },
    );
  }
  const details = { user: a.user, known: a.version, got: b.version };
  if (b.version < a.version) {
    throw new E2eError(
      "device_list_rollback",
      `${_upper(where)} is older than version ${a.version}, which was already checked`,
      details,
    );
  }
  if (b.version === a.version) {
    if (_sameHash(deviceListHash(a), deviceListHash(b))) {
      throw new E2eError(
        "bad_device_list",
        `Expected version ${
          a.version + 1
        } of user ${a.user}'s device list, got version ${a.version} again`,
        details,
      );
    }
    throw new E2eError(
      "device_list_fork",
      `Two different lists claim to be ${where}`,
      details,
    );
  }
  if (b.version !== a.version + 1) {
    throw new E2eError(
      "device_list_gap",
      (b.version === a.version + 2
        ? `Version ${a.version + 1} of user ${a.user}'s device list is missing`
        : `Versions ${a.version + 1} to ${
          b.version - 1
        } of user ${a.user}'s device list are missing`) +
        ` between version ${a.version} and version ${b.version}`,
      details,
    );
  }
  if (!_sameHash(b.prev, deviceListHash(a))) {
    throw new E2eError(
      "device_list_fork",
      `${_upper(where)} follows another version ${a.version} than the one already checked`,
      details,
    );
  }
  let recovered = false;
  if (b.by === 0) {
    _verify(b, accountKey, `${_upper(where)} claims the account key signed it, but it did not`);
    recovered = true;
  } else {
    const signer = findDevice(a, b.by);
    if (signer === undefined) {
      throw new E2eError(
        "bad_signature",
        `${
          _upper(where)
        } is signed by device ${b.by}, which is not a device of version ${a.version}`,
        { ...details, device: b.by },
      );
    }
    _verify(b, fromBase64Url(signer.sign), `${_upper(where)} is not signed by device ${b.by}`);
  }
  if (b.next_id < a.next_id) {
    throw new E2eError(
      "bad_device_list",
      `Field "next_id" of ${where} went down from ${a.next_id} to ${b.next_id}; IDs are never reused`,
      details,
    );
  }
  for (const d of b.devices) {
    const before = findDevice(a, d.id);
    if (before === undefined) {
      if (d.id < a.next_id) {
        throw new E2eError(
          "bad_device_list",
          `Device ${d.id} in ${where} is not in version ${a.version}, and its ID is below that ` +
            `version's next_id ${a.next_id}: a removed device cannot come back`,
          { ...details, device: d.id },
        );
      }
    } else if (d.sign !== before.sign || d.rsa !== before.rsa || d.added !== before.added) {
      throw new E2eError(
        "bad_device_list",
        `Device ${d.id} in ${where} has other keys or another "added" than in version ` +
          `${a.version}; a device keeps its keys (only its name may change)`,
        { ...details, device: d.id },
      );
    }
  }
  return { recovered };
}

/**
 * Checks that `lists` (consecutive versions, oldest first) continue the list the checker
 * trusts, and returns the newest. Lists at or below `known`'s version are compared with it
 * (a different list of its version is a fork); each one after it is checked with
 * {@linkcode checkDeviceListStep}. With `known` null, `lists[0]` must be version 1.
 *
 * @param known The newest version the checker trusted before, or null.
 * @param lists One or more device lists of one user, consecutive versions, oldest first.
 * @param accountKey The account's pinned Ed25519 public key, 32 bytes.
 * @throws {E2eError} `device_list_rollback` when the newest list is older than `known`,
 *   `device_list_fork` when one differs from `known` at its version, `device_list_gap` or
 *   `bad_device_list` when the lists are not consecutive, and every error of
 *   {@linkcode checkDeviceListStep}.
 * @throws {TypeError | RangeError} If `lists` is not an array or `accountKey` not 32 bytes.
 */
export function checkDeviceListChain(
  known: DeviceList | null,
  lists: readonly DeviceList[],
  accountKey: Uint8Array,
): DeviceListChainResult {
  if (!Array.isArray(lists)) throw new TypeError("Expected lists to be an array of device lists");
  assertBytes(accountKey, "accountKey", 32);
  const trustedBefore = known === null ? null : _validList(known);
  if (lists.length === 0) {
    if (trustedBefore === null) {
      throw new E2eError("bad_device_list", "Expected at least one device list, got none");
    }
    return { head: trustedBefore, recovered: false };
  }
  const checked = lists.map((list) => _validList(list));
  for (let i = 1; i < checked.length; i++) {
    const a = checked[i - 1]!;
    const b = checked[i]!;
    if (b.user !== a.user || b.version !== a.version + 1) {
      throw new E2eError(
        "bad_device_list",
        `Expected consecutive versions of one user's device list, got version ${a.version} of ` +
          `user ${a.user} then version ${b.version} of user ${b.user}`,
      );
    }
  }
  const newest = checked[checked.length - 1]!;
  if (trustedBefore !== null && newest.user !== trustedBefore.user) {
    throw new E2eError(
      "bad_device_list",
      `Expected device lists of user ${trustedBefore.user}, got lists of user ${newest.user}`,
      { user: trustedBefore.user, got: newest.user },
    );
  }
  if (trustedBefore !== null && newest.version < trustedBefore.version) {
    throw new E2eError(
      "device_list_rollback",
      `Version ${newest.version} of user ${newest.user}'s device list is older than version ` +
        `${trustedBefore.version}, which was already checked`,
      { user: newest.user, known: trustedBefore.version, got: newest.version },
    );
  }
  let head = trustedBefore;
  let recovered = false;
  for (let i = 0; i < checked.length; i++) {
    const list = checked[i]!;
    if (trustedBefore !== null && list.version <= trustedBefore.version) {
      // Already trusted: it must be the known list, or (below it) the one its chain names.
      const expected = list.version === trustedBefore.version
        ? deviceListHash(trustedBefore)
        : checked[i + 1]!.prev;
      if (!_sameHash(deviceListHash(list), expected)) {
        throw new E2eError(
          "device_list_fork",
          `Two different lists claim to be version ${list.version} of user ` +
            `${trustedBefore.user}'s device list`,
          { user: trustedBefore.user, known: trustedBefore.version, got: list.version },
        );
      }
      continue;
    }
    if (checkDeviceListStep(head, list, accountKey).recovered) recovered = true;
    head = list;
  }
  return { head: head!, recovered };
}

// ----------------------------------------------------------------------------------------
// Private helpers

type _Unsigned = Omit<DeviceList, "sig">;

/** The fields a signature covers, in canonical order (a fresh object, so JSON order holds). */
function _unsigned(list: DeviceList): _Unsigned {
  return {
    v: list.v,
    t: list.t,
    user: list.user,
    version: list.version,
    prev: list.prev,
    next_id: list.next_id,
    devices: list.devices.map((d) => ({
      id: d.id,
      name: d.name,
      sign: d.sign,
      rsa: d.rsa,
      added: d.added,
    })),
    ts: list.ts,
    by: list.by,
  };
}

/** Signs `body` and returns the frozen list. */
function _sign(body: _Unsigned, secretKey: Uint8Array): DeviceList {
  const unsigned = _unsigned(body as DeviceList);
  const sig = toBase64Url(sign(secretKey, deviceListSignedBytes(unsigned as DeviceList)), false);
  return _freeze({ ...unsigned, sig });
}

function _freeze(list: DeviceList): DeviceList {
  for (const d of list.devices) Object.freeze(d);
  Object.freeze(list.devices);
  Object.freeze(list);
  _valid.add(list);
  return list;
}

function _verify(list: DeviceList, publicKey: Uint8Array, message: string): void {
  if (!verify(publicKey, deviceListSignedBytes(list), fromBase64Url(list.sig))) {
    throw new E2eError("bad_signature", message, {
      user: list.user,
      version: list.version,
      by: list.by,
    });
  }
}

/** Compares two hashes in constant time (both are public, but the habit costs nothing). */
function _sameHash(a: string, b: string): boolean {
  return equalBytes(utf8(a), utf8(b));
}

/** Returns `list` if this module made it, else a validated frozen copy. */
function _validList(value: unknown): DeviceList {
  if (_valid.has(value as DeviceList)) return value as DeviceList;
  const obj = _object(value, "A device list");
  _exactFields(obj, _LIST_FIELDS, "a device list");
  if (obj.v !== DEVICE_LIST_FORMAT) {
    _bad("v", `must be ${DEVICE_LIST_FORMAT} (the format this client reads), got ${_show(obj.v)}`);
  }
  if (obj.t !== "device_list") _bad("t", `must be "device_list", got ${_show(obj.t)}`);
  const user = _int(obj.user, "user", 1, "a positive user ID");
  const version = _int(obj.version, "version", 1, "a positive integer");
  const nextId = _int(obj.next_id, "next_id", 2, "an integer of at least 2");
  if (version === 1) {
    if (obj.prev !== "") _bad("prev", `must be empty in version 1, got ${_show(obj.prev)}`);
  } else if (!_isB64(obj.prev, _HASH_CHARS, 32)) {
    _bad("prev", "must be a SHA-256 hash in url-safe base64 without padding (43 characters)");
  }
  if (!Array.isArray(obj.devices) || obj.devices.length < 1 || obj.devices.length > DEVICE_LIMIT) {
    _bad("devices", `must be an array of 1 to ${DEVICE_LIMIT} devices`);
  }
  const devices: DeviceEntry[] = [];
  const names = new Set<string>();
  const keys = new Set<string>();
  for (const [i, raw] of (obj.devices as unknown[]).entries()) {
    const d = _device(raw, `devices[${i}]`, nextId);
    const last = devices[devices.length - 1];
    if (last !== undefined && d.id <= last.id) {
      _bad(`devices[${i}].id`, `must be above the ID before it (${last.id}): IDs ascend`);
    }
    if (names.has(d.name)) _bad(`devices[${i}].name`, `repeats the name ${_show(d.name)}`);
    if (keys.has(d.sign)) _bad(`devices[${i}].sign`, "repeats another device's signing key");
    names.add(d.name);
    keys.add(d.sign);
    devices.push(d);
  }
  const ts = _int(obj.ts, "ts", 0, "a non-negative integer (Unix milliseconds)");
  const by = _int(obj.by, "by", 0, "0 or a device ID");
  if (by >= nextId) _bad("by", `must be 0 or a device ID below next_id ${nextId}, got ${by}`);
  if (version === 1 && by !== 0) {
    _bad("by", `must be 0 in version 1 (the account key signs it), got ${by}`);
  }
  if (!_isB64(obj.sig, _SIG_CHARS, 64)) {
    _bad("sig", "must be a 64-byte signature in url-safe base64 without padding (86 characters)");
  }
  return _freeze({
    v: DEVICE_LIST_FORMAT,
    t: "device_list",
    user,
    version,
    prev: obj.prev as string,
    next_id: nextId,
    devices,
    ts,
    by,
    sig: obj.sig as string,
  });
}

function _device(value: unknown, field: string, nextId: number): DeviceEntry {
  const obj = _object(value, `Field "${field}" of a device list`);
  _exactFields(obj, _DEVICE_FIELDS, `"${field}" of a device list`, `${field}.`);
  const id = _int(obj.id, `${field}.id`, 1, "a positive device ID");
  if (id >= nextId) _bad(`${field}.id`, `must be below next_id ${nextId}, got ${id}`);
  const nameProblem = deviceNameProblem(obj.name);
  if (nameProblem !== undefined) _bad(`${field}.name`, nameProblem);
  if (!_isB64(obj.sign, _KEY_CHARS, 32)) {
    _bad(
      `${field}.sign`,
      "must be a 32-byte Ed25519 public key in url-safe base64 without padding (43 characters)",
    );
  }
  const rsaProblem = _rsaProblem(obj.rsa, true);
  if (rsaProblem !== undefined) _bad(`${field}.rsa`, rsaProblem);
  const added = _int(obj.added, `${field}.added`, 0, "a non-negative integer (Unix milliseconds)");
  return { id, name: obj.name as string, sign: obj.sign as string, rsa: obj.rsa as string, added };
}

/**
 * Returns why `value` is not an acceptable device RSA key, or undefined. With `canonical`, it
 * must be exactly the SPKI PEM this code writes, so equal keys are equal strings.
 */
function _rsaProblem(value: unknown, canonical: boolean): string | undefined {
  if (typeof value !== "string" || value.length > LIMITS.publicKeyChars) {
    return `must be an RSA public key PEM of at most ${LIMITS.publicKeyChars} characters`;
  }
  let spki: string;
  try {
    const key = importRsaPublicKey(value);
    if (bitLength(key.n) < DEVICE_RSA_MIN_BITS) {
      return `must be an RSA key of at least ${DEVICE_RSA_MIN_BITS} bits, got ${bitLength(key.n)}`;
    }
    spki = exportRsaPublicKey(key, "spki");
  } catch (err) {
    return `must be an RSA public key PEM: ${(err as Error).message}`;
  }
  if (canonical && value !== spki) {
    return 'must be canonical SPKI PEM ("PUBLIC KEY", 64-character lines, LF line ends)';
  }
  return undefined;
}

/** Checks a device given by our own code and returns it with its RSA key as canonical SPKI. */
function _newDevice(value: unknown, name: string): NewDevice {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(`Expected ${name} to be an object { name, sign, rsa }`);
  }
  const d = value as Record<string, unknown>;
  const nameProblem = deviceNameProblem(d.name);
  if (nameProblem !== undefined) throw new RangeError(`${name}.name ${nameProblem}`);
  if (!_isB64(d.sign, _KEY_CHARS, 32)) {
    throw new RangeError(
      `${name}.sign must be a 32-byte Ed25519 public key in url-safe base64 without padding`,
    );
  }
  const rsaProblem = _rsaProblem(d.rsa, false);
  if (rsaProblem !== undefined) throw new RangeError(`${name}.rsa ${rsaProblem}`);
  const rsa = exportRsaPublicKey(importRsaPublicKey(d.rsa as string), "spki");
  return { name: d.name as string, sign: d.sign as string, rsa };
}

function _change(value: unknown): DeviceChange {
  if (typeof value !== "object" || value === null) {
    throw new TypeError("Expected change to be an object { add?, remove?, rename? }");
  }
  const c = value as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (key !== "add" && key !== "remove" && key !== "rename") {
      throw new TypeError(`Unknown part ${_show(key)} of a device list change`);
    }
  }
  if (c.add === undefined && c.remove === undefined && c.rename === undefined) {
    throw new RangeError("Expected a change: at least one of add, remove or rename");
  }
  const out: { add?: NewDevice; remove?: number; rename?: { id: number; name: string } } = {};
  if (c.add !== undefined) out.add = _newDevice(c.add, "change.add");
  if (c.remove !== undefined) {
    assertId(c.remove, "change.remove");
    out.remove = c.remove;
  }
  if (c.rename !== undefined) {
    if (typeof c.rename !== "object" || c.rename === null) {
      throw new TypeError("Expected change.rename to be an object { id, name }");
    }
    const r = c.rename as Record<string, unknown>;
    assertId(r.id, "change.rename.id");
    const problem = deviceNameProblem(r.name);
    if (problem !== undefined) throw new RangeError(`change.rename.name ${problem}`);
    out.rename = { id: r.id, name: r.name as string };
  }
  return out;
}

function _assertNameFree(devices: readonly DeviceEntry[], name: string, exceptId: number): void {
  const other = devices.find((d) => d.name === name && d.id !== exceptId);
  if (other !== undefined) {
    throw new E2eError(
      "device_name_taken",
      `Device ${other.id} is already named ${_show(name)}; choose another name`,
      { device: other.id, name },
    );
  }
}

function _increment(n: number, name: string): number {
  if (!Number.isSafeInteger(n + 1)) throw new RangeError(`The device list's ${name} is exhausted`);
  return n + 1;
}

function _object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new E2eError("bad_device_list", `${what} must be a JSON object, got ${_kind(value)}`);
  }
  return value as Record<string, unknown>;
}

function _exactFields(
  obj: Record<string, unknown>,
  fields: readonly string[],
  what: string,
  prefix = "",
): void {
  for (const name of Object.keys(obj)) {
    if (!fields.includes(name)) {
      throw new E2eError("bad_device_list", `Unknown field ${_show(prefix + name)} in ${what}`);
    }
  }
  for (const name of fields) {
    if (!Object.hasOwn(obj, name)) {
      throw new E2eError("bad_device_list", `Missing field "${prefix + name}" in ${what}`);
    }
  }
}

function _int(value: unknown, field: string, min: number, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    _bad(field, `must be ${what}, got ${_show(value)}`);
  }
  return value as number;
}

/** True when `v` is canonical url-safe base64 without padding of `chars` characters, `n` bytes. */
function _isB64(v: unknown, chars: number, n: number): v is string {
  if (typeof v !== "string" || v.length !== chars || !_B64URL.test(v)) return false;
  try {
    return fromBase64Url(v).length === n;
  } catch {
    // Non-zero trailing bits: not the canonical encoding.
    return false;
  }
}

function _bad(field: string, problem: string): never {
  throw new E2eError("bad_device_list", `Field "${field}" of a device list ${problem}`, { field });
}

function _upper(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function _kind(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/** Shows an untrusted value in an error message, bounded. */
function _show(value: unknown): string {
  const text = value === undefined ? "undefined" : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
