/**
 * Linked devices in the keystore (docs/CRYPTO.md, issue 21): this device's own keys, and
 * the device lists pinned per user. `Keystore` exposes these as methods and documents them.
 *
 * This device's signing and RSA secret keys never leave it, so they are sealed at rest like
 * the account's secrets, each under its own context; the public halves, the name and the
 * device ID are in the clear (the server's device list shows them to everyone anyway).
 *
 * A pinned device list is the newest version the caller checked (its chain, its
 * signatures) for one user, kept as the signed JSON text with the version and hash the
 * caller read from it: the keystore does not parse lists. What it does enforce is that a
 * pinned list never goes back: a lower version is a rollback, the same version with
 * another hash a fork, and both are refused, so a server cannot bring back a list from
 * before a device was unlinked. Lists are public (the server serves them), so nothing of
 * them is sealed.
 *
 * @module
 */

import { fromBase64Url, toBase64Url } from "../crypto/mod.ts";
import {
  checkCount,
  checkDeviceListBody,
  checkDeviceListHash,
  checkDeviceName,
  checkId,
  checkIdentityKeyPair,
  checkObject,
  checkRsaKeyPair,
  normalizeIdentityKey,
  normalizeRsaPublicKey,
} from "./keystore_check.ts";
import {
  DEVICE_RSA_PRIVATE_KEY_CONTEXT,
  DEVICE_SIGN_SECRET_CONTEXT,
  type KeystoreContext,
  type Row,
  runTransaction,
} from "./keystore_context.ts";
import { type DeviceIdentity, KeystoreError, type PinnedDeviceList } from "./keystore_types.ts";

/** Implements `Keystore.deviceIdentity`. */
export function deviceIdentity(ctx: KeystoreContext): DeviceIdentity | null {
  const row = ctx.st.deviceIdentity.get() as Row | undefined;
  if (row === undefined) return null;
  const { cipher } = ctx;
  return {
    deviceId: row["device_id"] as number | null,
    name: row["name"] as string,
    signPublicKey: row["sign_public_key"] as string,
    signSecretKey: fromBase64Url(
      cipher.open(DEVICE_SIGN_SECRET_CONTEXT, row["sign_secret_key_enc"] as string),
    ),
    rsaPublicKey: row["rsa_public_key"] as string,
    rsaPrivateKey: cipher.open(
      DEVICE_RSA_PRIVATE_KEY_CONTEXT,
      row["rsa_private_key_enc"] as string,
    ),
  };
}

/** Implements `Keystore.setDeviceIdentity`. */
export function setDeviceIdentity(ctx: KeystoreContext, device: DeviceIdentity): void {
  checkObject("device", device);
  const deviceId = device.deviceId;
  if (deviceId !== null) checkId("device.deviceId", deviceId);
  checkDeviceName("device.name", device.name);
  const signPublicKey = normalizeIdentityKey("device.signPublicKey", device.signPublicKey);
  checkIdentityKeyPair("device.signSecretKey", device.signSecretKey, signPublicKey);
  const rsaPublicKey = normalizeRsaPublicKey("device.rsaPublicKey", device.rsaPublicKey);
  const rsaPrivateKey = checkRsaKeyPair("device.rsaPrivateKey", device.rsaPrivateKey, rsaPublicKey);
  const { cipher } = ctx;
  ctx.st.setDeviceIdentity.run(
    deviceId,
    device.name,
    signPublicKey,
    cipher.seal(DEVICE_SIGN_SECRET_CONTEXT, toBase64Url(device.signSecretKey, false)),
    rsaPublicKey,
    cipher.seal(DEVICE_RSA_PRIVATE_KEY_CONTEXT, rsaPrivateKey),
    Date.now(),
  );
}

/** Implements `Keystore.setDeviceId`. */
export function setDeviceId(ctx: KeystoreContext, deviceId: number): void {
  checkId("deviceId", deviceId);
  if (ctx.st.setDeviceId.get(deviceId, Date.now()) === undefined) {
    throw new KeystoreError(
      "not_found",
      "This device has no keys in the keystore yet; store them with setDeviceIdentity()",
    );
  }
}

/** Implements `Keystore.deviceList`. */
export function deviceList(ctx: KeystoreContext, userId: number): PinnedDeviceList | null {
  checkId("userId", userId);
  const row = ctx.st.deviceList.get(userId) as Row | undefined;
  return row === undefined ? null : _pinned(row);
}

/** Implements `Keystore.pinDeviceList`. */
export function pinDeviceList(ctx: KeystoreContext, userId: number, list: PinnedDeviceList): void {
  checkId("userId", userId);
  checkObject("list", list);
  checkId("list.version", list.version);
  checkDeviceListHash("list.hash", list.hash);
  checkDeviceListBody("list.body", list.body);
  checkCount("list.checkedAt", list.checkedAt);
  const { st } = ctx;
  // One transaction: another client of the same file pinning at once cannot slip between
  // the comparison and the write.
  runTransaction(ctx.db, () => {
    const row = st.deviceList.get(userId) as Row | undefined;
    if (row !== undefined) {
      const pinned = _pinned(row);
      if (list.version < pinned.version) {
        throw new KeystoreError(
          "device_list_rollback",
          `User ${userId}'s device list version ${list.version} is older than the pinned ` +
            `version ${pinned.version}; a device list never goes back`,
        );
      }
      if (list.version === pinned.version) {
        if (list.hash === pinned.hash) return;
        throw new KeystoreError(
          "device_list_fork",
          `User ${userId}'s device list version ${list.version} has hash ${list.hash}, but ` +
            `the pinned version ${pinned.version} has hash ${pinned.hash}; two lists claim ` +
            "the same version",
        );
      }
    }
    st.setDeviceList.run(userId, list.version, list.hash, list.body, list.checkedAt);
  });
}

function _pinned(row: Row): PinnedDeviceList {
  return {
    version: row["version"] as number,
    hash: row["hash"] as string,
    body: row["body"] as string,
    checkedAt: row["checked_at"] as number,
  };
}
