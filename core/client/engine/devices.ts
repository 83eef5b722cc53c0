/**
 * This account's devices (issue 21; docs/CRYPTO.md "The device list"): making this device the
 * account's first when the account has none, listing the devices (`devices`), and removing
 * one (`unlink NAME`).
 *
 * **The first device.** An account from before devices, or a new one, is one key pair in one
 * keystore. Once logged in to a server that knows devices (the `devices` feature), the client
 * makes that keystore the account's device 1: a signing key of its own (kept in the keystore
 * before anything is published, so a crash cannot lose it), the account's RSA key pair as the
 * device's, and a first list signed by the account's identity key. Publishing it ends the
 * account's password sessions, and this connection goes on as the device (the server's answer
 * carries the new session token, which replaces the old one). From then on the client logs in
 * with the device key (`connection.ts`).
 *
 * **Lists are checked here, not trusted.** Every list read from the server is checked from the
 * version this keystore pinned (the chain rules of `core/e2e/device_list.ts`), and the newest
 * checked one is pinned; a rollback or a fork is refused by the keystore.
 *
 * **Watching.** At every key check (each login and every 10 minutes, `key_watch.ts`) the
 * lists of the user and of every pinned user are read on from the pinned version. A device
 * that appears is told: quietly for someone else ("bob linked a new device: laptop"), loudly
 * for the user's own account when this device did not add it. A list that does not check (a
 * forged signature, a removed device back, a version gone back or two versions at once) is
 * reported loudly, once per list the server shows, and the pinned list stays as it was: a
 * server that forges or rolls back lists is caught by every client that saw the real one.
 *
 * @module
 */

import { fromBase64Url, generateIdentityKeyPair, toBase64Url } from "../../crypto/mod.ts";
import {
  checkDeviceListChain,
  type DeviceList,
  deviceListHash,
  E2eError,
  parseDeviceList,
  serializeDeviceList,
  signFirstDeviceList,
  signNextDeviceList,
} from "../../e2e/mod.ts";
import { KeystoreError } from "../../keystore/keystore_types.ts";
import { FEATURES } from "../../protocol/mod.ts";
import { CLIENT_ERRORS, ClientError, RequestError } from "./errors.ts";
import type { EventSink } from "./events.ts";
import type { LiveConnection } from "./connection.ts";
import type { AccountPort, ChatConnection, DevicesPort, FriendsPort } from "./ports.ts";
import type { Secrets } from "./secrets.ts";

/** Tries of an `unlink` that lost a race with another device's change. */
const _PUBLISH_TRIES = 3;

/** Pages of lists read for one user in one check (12 lists each): a long chain is read on next time. */
const _MAX_PAGES = 8;

/** What {@linkcode Devices} needs. */
export interface DevicesDeps {
  readonly ks:
    & DevicesPort
    & Pick<AccountPort, "userId" | "username" | "account" | "setSessionToken">
    & Pick<FriendsPort, "friends">;
  readonly link: LiveConnection;
  readonly secrets: Pick<Secrets, "identitySecret" | "identityPublic">;
  readonly emit: EventSink;
  readonly now: () => number;
  /** This device's name, for the first list (the host name, or the browser's). */
  readonly deviceName: string;
}

/** This account's devices; see the module documentation. */
export class Devices {
  readonly #d: DevicesDeps;
  /** Lists reported as not checking, as "user:version:hash", so each is reported once. */
  readonly #reported = new Set<string>();

  constructor(deps: DevicesDeps) {
    this.#d = deps;
  }

  /** This device's ID in the account's list, or null while it is not a device yet. */
  get deviceId(): number | null {
    return this.#d.ks.deviceIdentity()?.deviceId ?? null;
  }

  /**
   * After a login on `conn`: makes this keystore the account's first device when the server
   * knows devices and the account has none (see the module documentation). Does nothing for
   * a keystore that is a device already.
   */
  async adopt(conn: ChatConnection): Promise<void> {
    if (!conn.features?.includes(FEATURES.devices)) return;
    const { ks, secrets, now } = this.#d;
    if (ks.deviceIdentity()?.deviceId != null) return;
    const me = ks.deviceIdentity() ?? this.#newIdentity();
    const chain = await this.#chain(conn);
    if (chain !== null) {
      // Published before (a crash right after, or another terminal on this keystore did it).
      const mine = chain.devices.find((d) => d.sign === me.signPublicKey);
      if (mine === undefined) {
        throw new ClientError(
          CLIENT_ERRORS.notADevice,
          "This account has devices and this keystore is not one of them: link this device " +
            "from one of the account's devices",
        );
      }
      ks.setDeviceId(mine.id);
      return;
    }
    const first = signFirstDeviceList({
      user: ks.userId,
      device: { name: me.name, sign: me.signPublicKey, rsa: me.rsaPublicKey },
      accountSecretKey: secrets.identitySecret,
      now: now(),
    });
    const stored = await conn.request({
      type: "publish_device_list",
      list: serializeDeviceList(first),
    });
    if (stored.session_token !== undefined) ks.setSessionToken(stored.session_token);
    ks.setDeviceId(first.devices[0]!.id);
    this.#pin(first);
  }

  /**
   * Reads on the lists of the user and of every pinned user, checks them, pins what checks,
   * and tells what changed (see the module documentation). Never throws: a user whose lists
   * cannot be read now is read next time.
   */
  async watch(): Promise<void> {
    const { ks, link } = this.#d;
    if (!link.connected) return;
    const conn = link.live();
    if (!conn.features?.includes(FEATURES.devices)) return;
    const me = { userId: ks.userId, username: ks.username, key: this.#d.secrets.identityPublic };
    const others = ks.friends().map((f) => ({
      userId: f.userId,
      username: f.username,
      key: fromBase64Url(f.identityKey),
    }));
    for (const u of [me, ...others]) {
      try {
        await this.#watchOne(conn, u);
      } catch (err) {
        if (!(err instanceof E2eError || err instanceof KeystoreError)) continue; // next time
        this.#invalid(u, err);
      }
    }
  }

  /** Reads on and checks one user's lists; tells the devices that appeared. */
  async #watchOne(
    conn: ChatConnection,
    u: { userId: number; username: string; key: Uint8Array },
  ): Promise<void> {
    const { ks, emit, now } = this.#d;
    const pinned = ks.deviceList(u.userId);
    const known = pinned === null ? null : parseDeviceList(pinned.body);
    const lists = await _read(conn, u.userId, (known?.version ?? 0) + 1);
    if (lists.length === 0) {
      if (lists.latest < (known?.version ?? 0)) {
        throw new E2eError(
          "device_list_rollback",
          `The server shows version ${lists.latest} of ${u.username}'s device list, older ` +
            `than version ${known!.version} seen before`,
        );
      }
      return;
    }
    const { head } = checkDeviceListChain(known, lists, u.key);
    ks.pinDeviceList(u.userId, {
      version: head.version,
      hash: deviceListHash(head),
      body: serializeDeviceList(head),
      checkedAt: now(),
    });
    if (known === null) return; // first seen: nothing to compare with
    const before = new Set(known.devices.map((d) => d.id));
    const mine = u.userId === ks.userId;
    for (const d of head.devices) {
      if (before.has(d.id)) continue;
      emit({
        event: "device_linked",
        user: u.username,
        id: u.userId,
        device: d.name,
        own: mine,
        message: mine
          ? `A new device was linked to your account: ${d.name}. If that was not you, run ` +
            `"unlink ${d.name}" now and change your password.`
          : `${u.username} linked a new device: ${d.name}`,
      });
    }
  }

  /** Reports a list that does not check, once per list the server shows. */
  #invalid(u: { userId: number; username: string }, err: E2eError | KeystoreError): void {
    const key = `${u.userId}:${err.message}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    const mine = u.userId === this.#d.ks.userId;
    this.#d.emit({
      event: "device_list_invalid",
      user: u.username,
      id: u.userId,
      message: `WARNING: the server shows ${mine ? "your" : `${u.username}'s`} list of ` +
        `devices in a form that does not check (${err.message}). The server may be trying to ` +
        `add a device ${mine ? "to your account" : `to ${u.username}'s account`}, or to ` +
        "bring back one that was removed. The list seen before is kept; compare safety " +
        'numbers ("fingerprint USER") if this persists.',
    });
  }

  /** The `devices` command: the account's devices, from its newest checked list. */
  async list(): Promise<void> {
    const head = await this.#current();
    const me = this.deviceId;
    this.#d.emit({
      event: "devices",
      version: head.version,
      devices: head.devices.map((d) => ({
        id: d.id,
        name: d.name,
        added: d.added,
        current: d.id === me,
      })),
    });
  }

  /**
   * The `unlink NAME` command: a new list without that device, signed by this one. The server
   * then logs it out everywhere and refuses it from then on.
   */
  async unlink(name: string): Promise<void> {
    const { ks, now, emit } = this.#d;
    const me = ks.deviceIdentity();
    if (me?.deviceId == null) {
      throw new ClientError(
        CLIENT_ERRORS.notADevice,
        "This keystore is not one of the account's devices yet",
      );
    }
    for (let attempt = 1;; attempt++) {
      const head = await this.#current();
      const target = head.devices.find((d) => d.name === name) ??
        head.devices.find((d) => d.name.toLowerCase() === name.toLowerCase());
      if (target === undefined) {
        throw new ClientError(
          CLIENT_ERRORS.notFound,
          `No device is named "${name}"; "devices" lists them`,
        );
      }
      if (target.id === me.deviceId) {
        throw new ClientError(
          CLIENT_ERRORS.isThisDevice,
          `"${target.name}" is this device; unlink it from another of your devices`,
        );
      }
      const next = signNextDeviceList(head, { remove: target.id }, {
        deviceId: me.deviceId,
        secretKey: me.signSecretKey,
      }, now());
      try {
        await this.#d.link.live().request({
          type: "publish_device_list",
          list: serializeDeviceList(next),
        });
      } catch (err) {
        if (err instanceof RequestError && err.code === "conflict" && attempt < _PUBLISH_TRIES) {
          continue; // another device changed the list meanwhile: again on the newest
        }
        throw err;
      }
      this.#pin(next);
      emit({ event: "device_unlinked", id: target.id, name: target.name });
      return;
    }
  }

  /** The account's newest list, checked from the pinned one and pinned in turn. */
  async #current(): Promise<DeviceList> {
    const head = await this.#chain(this.#d.link.live());
    if (head === null) {
      throw new ClientError(CLIENT_ERRORS.notFound, "This account has no devices yet");
    }
    return head;
  }

  /**
   * Reads the account's lists the keystore has not checked yet and checks them on from the
   * pinned one; returns the newest (pinned), or null when the account has none.
   */
  async #chain(conn: ChatConnection): Promise<DeviceList | null> {
    const { ks, secrets } = this.#d;
    const pinned = ks.deviceList(ks.userId);
    const known = pinned === null ? null : parseDeviceList(pinned.body);
    const lists = await _read(conn, ks.userId, (known?.version ?? 0) + 1);
    if (lists.length === 0) return known;
    try {
      const { head } = checkDeviceListChain(known, lists, secrets.identityPublic);
      this.#pin(head);
      return head;
    } catch (err) {
      // What the server shows does not check: said loudly, and the list checked before holds.
      if (!(err instanceof E2eError || err instanceof KeystoreError)) throw err;
      this.#invalid({ userId: ks.userId, username: ks.username }, err);
      return known;
    }
  }

  #pin(list: DeviceList): void {
    this.#d.ks.pinDeviceList(this.#d.ks.userId, {
      version: list.version,
      hash: deviceListHash(list),
      body: serializeDeviceList(list),
      checkedAt: this.#d.now(),
    });
  }

  /** Makes and keeps this device's signing key; the account's RSA pair serves as its own. */
  #newIdentity() {
    const { ks, deviceName } = this.#d;
    const account = ks.account();
    const keys = generateIdentityKeyPair();
    const identity = {
      deviceId: null,
      name: deviceName,
      signPublicKey: toBase64Url(keys.publicKey, false),
      signSecretKey: keys.secretKey,
      rsaPublicKey: account.rsaPublicKey,
      rsaPrivateKey: account.rsaPrivateKey,
    };
    ks.setDeviceIdentity(identity);
    return ks.deviceIdentity()!;
  }
}

/**
 * A user's lists from version `from` on, parsed, with the newest version the server says it
 * has (at most {@linkcode _MAX_PAGES} pages).
 */
async function _read(
  conn: ChatConnection,
  userId: number,
  from: number,
): Promise<DeviceList[] & { latest: number }> {
  const lists: DeviceList[] = [];
  let latest = 0;
  for (let page = 0; page < _MAX_PAGES; page++) {
    const got = await conn.request({ type: "device_lists", user_id: userId, from_version: from });
    latest = got.latest;
    for (const text of got.lists) lists.push(parseDeviceList(text));
    from += got.lists.length;
    if (got.lists.length === 0 || from > got.latest) break;
  }
  return Object.assign(lists, { latest });
}
