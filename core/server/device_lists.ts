/**
 * Device lists (docs/CRYPTO.md "The device list"; docs/PROTOCOL.md "Devices"): every
 * account's chain of signed lists, kept in the main database, served to anyone logged in
 * (`device_lists`), and extended by the account's own devices (`publish_device_list`).
 *
 * The server checks each new version as clients do (`checkDeviceListStep`: the next version,
 * the hash chain, signed by the account key for the first and by a device of the previous
 * version after that) so that garbage never reaches a client; clients check again and never
 * rely on it. What the server adds is order: the store appends a version only if it extends
 * the newest one, so two devices that publish at once cannot fork the chain.
 *
 * Publishing has effects on sessions:
 * - **the first list** turns the account into one with devices: every password session of it
 *   ends (so a password alone no longer keeps anyone logged in), and the publishing
 *   connection gets a new session bound to device 1, whose token the answer carries;
 * - **a list that drops devices** ends the dropped devices' sessions at once, on every
 *   server (as a logout does), and `login_device` refuses them from then on.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { fromBase64Url, randomBytes, toBase64Url } from "../crypto/bytes.ts";
import {
  checkDeviceListStep,
  type DeviceList,
  deviceListHash,
  E2eError,
  parseDeviceList,
} from "../e2e/mod.ts";
import { ERROR_CODES, LIMITS, ProtocolError } from "../protocol/mod.ts";
import { StoreError } from "../store/store.ts";
import type { ClientSession } from "./client_session.ts";
import type { ServerContext } from "./context.ts";
import { SESSION_MS } from "./auth.ts";

/** What {@linkcode DeviceLists} needs besides the server context. */
export interface DeviceListsOptions {
  /** A session was ended here: its other connections, here and on peers, must close. */
  readonly sessionEnded: (tokenHash: Uint8Array) => void;
  /** A device was removed from its account's list (its prekeys go). */
  readonly deviceRemoved?: (userId: number, deviceId: number) => Promise<void>;
}

/** Device lists; see the module documentation. */
export class DeviceLists {
  readonly #ctx: ServerContext;
  readonly #opts: DeviceListsOptions;

  constructor(ctx: ServerContext, opts: DeviceListsOptions) {
    this.#ctx = ctx;
    this.#opts = opts;
  }

  /** Answers `device_lists`: the user's lists from `fromVersion` on, as many as fit. */
  async chain(session: ClientSession, ref: number, userId: number, fromVersion: number) {
    const { store } = this.#ctx;
    if (!(await store.getUserById(userId))) {
      throw new ProtocolError(ERROR_CODES.notFound, `No user has ID ${userId}`, ref);
    }
    const [lists, latest] = await Promise.all([
      store.deviceLists(userId, fromVersion, LIMITS.deviceListsPerFrame),
      store.latestDeviceList(userId),
    ]);
    session.send({
      type: "device_chain",
      ref,
      user_id: userId,
      lists: lists.map((l) => l.body),
      latest: latest?.version ?? 0,
    });
  }

  /** The newest list of `userId`, parsed; null when the account has none. */
  async latest(userId: number): Promise<DeviceList | null> {
    const rec = await this.#ctx.store.latestDeviceList(userId);
    return rec === null ? null : parseDeviceList(rec.body);
  }

  /** Answers `publish_device_list`; see the module documentation. */
  async publish(session: ClientSession, ref: number, text: string): Promise<void> {
    const { store, log } = this.#ctx;
    const next = _parse(text, ref);
    if (next.user !== session.userId) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        `The list is user ${next.user}'s; you can publish only your own (user ${session.userId})`,
        ref,
      );
    }
    const user = await store.getUserById(session.userId);
    if (!user) throw new ProtocolError(ERROR_CODES.notFound, "Your account no longer exists", ref);
    const stored = await store.latestDeviceList(session.userId);
    const prev = stored === null ? null : parseDeviceList(stored.body);
    _checkPublisher(session, prev, next, ref);
    if (prev !== null && next.version <= prev.version) {
      // Made on a list that was current a moment ago: another device published meanwhile.
      throw new ProtocolError(
        ERROR_CODES.conflict,
        `Version ${prev.version} is published already; read the newest list and publish your ` +
          "change on it",
        ref,
      );
    }
    try {
      checkDeviceListStep(prev, next, fromBase64Url(user.identityKey));
    } catch (err) {
      if (err instanceof E2eError) {
        throw new ProtocolError(ERROR_CODES.badDeviceList, _sentence(err.message), ref);
      }
      throw err;
    }
    const hash = deviceListHash(next);
    try {
      await store.appendDeviceList({
        userId: next.user,
        version: next.version,
        prevHash: next.prev,
        hash,
        body: text,
        createdAt: this.#ctx.now(),
      });
    } catch (err) {
      if (err instanceof StoreError && err.code === "conflict") {
        throw new ProtocolError(
          ERROR_CODES.conflict,
          `Version ${next.version} was published meanwhile; read the newest list and ` +
            "publish your change on it",
          ref,
        );
      }
      throw err;
    }
    log.info("device_list_published", { user: next.user, version: next.version });
    if (prev === null) {
      const token = await this.#firstList(session, next);
      session.send({
        type: "device_list_stored",
        ref,
        version: next.version,
        session_token: token,
      });
      return;
    }
    // A removed device is gone everywhere before the publisher hears the list is stored.
    const kept = new Set(next.devices.map((d) => d.id));
    for (const d of prev.devices) {
      if (!kept.has(d.id)) await this.#endDevice(next.user, d.id);
    }
    session.send({ type: "device_list_stored", ref, version: next.version });
  }

  /**
   * The account now has devices: its password sessions end, and this connection continues
   * on a new session bound to device 1.
   */
  async #firstList(session: ClientSession, first: DeviceList): Promise<string> {
    const { store } = this.#ctx;
    const device = first.devices[0]!;
    const token = randomBytes(32);
    const hash = sha256(token);
    await store.createSession(hash, {
      userId: first.user,
      expiresAt: this.#ctx.now() + SESSION_MS,
      deviceId: device.id,
    });
    // This connection moves to its new session first, so ending the old ones closes only
    // the others.
    session.sessionHash = hash;
    session.deviceId = device.id;
    for (const ended of await store.deleteUnboundSessions(first.user)) {
      this.#opts.sessionEnded(ended);
    }
    return toBase64Url(token, false);
  }

  /** Ends every session of a removed device, here and on peers. */
  async #endDevice(userId: number, deviceId: number): Promise<void> {
    await this.#opts.deviceRemoved?.(userId, deviceId);
    const hashes = await this.#ctx.store.deleteDeviceSessions(userId, deviceId);
    this.#ctx.log.info("device_unlinked", {
      user: userId,
      device: deviceId,
      sessions: hashes.length,
    });
    for (const h of hashes) this.#opts.sessionEnded(h);
  }
}

function _parse(text: string, ref: number): DeviceList {
  try {
    return parseDeviceList(text);
  } catch (err) {
    if (err instanceof E2eError) {
      throw new ProtocolError(ERROR_CODES.badDeviceList, _sentence(err.message), ref);
    }
    throw err;
  }
}

/**
 * Who may publish: the first list from a password session (the account's only key so far),
 * every later one from a device session, signed by that very device.
 */
function _checkPublisher(
  session: ClientSession,
  prev: DeviceList | null,
  next: DeviceList,
  ref: number,
): void {
  if (prev === null) {
    if (session.deviceId !== null) {
      throw new ProtocolError(ERROR_CODES.forbidden, "This session is a device's already", ref);
    }
    return;
  }
  if (session.deviceId === null) {
    throw new ProtocolError(
      ERROR_CODES.deviceRequired,
      "This account has devices: log in as one of them (login_device) to change its list",
      ref,
    );
  }
  if (next.by !== session.deviceId) {
    throw new ProtocolError(
      ERROR_CODES.forbidden,
      `The list is signed by device ${next.by}, but this connection is device ${session.deviceId}`,
      ref,
    );
  }
}

function _sentence(message: string): string {
  return message.length === 0 ? message : message[0]!.toUpperCase() + message.slice(1);
}
