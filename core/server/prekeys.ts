/**
 * Prekeys (issue 22; docs/PROTOCOL.md "Devices"): each device of an account with devices
 * publishes a prekey bundle and one-time prekeys (`publish_prekeys`), and anyone logged in
 * may fetch a listed device's (`fetch_prekeys`) to start a session with it: the bundle comes
 * with one one-time prekey, which is then used up (of two fetches at once, each gets another),
 * or with none once they run out (the bundle's last-resort prekey serves then).
 *
 * The server tells a device to publish more (`prekeys_low`) when a fetch leaves it fewer than
 * `LIMITS.prekeysLow`, on the connections it has on this server, and at each of its logins
 * while that is so. The server only stores and hands out: bundles and prekeys are opaque to
 * it, and clients check every signature in them against the device's key in its checked list.
 *
 * @module
 */

import { ERROR_CODES, LIMITS, ProtocolError } from "../protocol/mod.ts";
import type { DeviceList } from "../e2e/mod.ts";
import { StoreError } from "../store/store.ts";
import type { ClientSession } from "./client_session.ts";
import type { ServerContext } from "./context.ts";

/** What {@linkcode Prekeys} needs besides the server context. */
export interface PrekeysOptions {
  /** The account's newest device list, parsed; null for an account without devices. */
  readonly latestDevices: (userId: number) => Promise<DeviceList | null>;
}

/** Prekeys; see the module documentation. */
export class Prekeys {
  readonly #ctx: ServerContext;
  readonly #opts: PrekeysOptions;

  constructor(ctx: ServerContext, opts: PrekeysOptions) {
    this.#ctx = ctx;
    this.#opts = opts;
  }

  /** Answers `publish_prekeys`: from a device's connection only. */
  async publish(
    session: ClientSession,
    ref: number,
    bundle: string,
    oneTime: readonly string[],
    replace: boolean,
  ): Promise<void> {
    if (session.deviceId === null) {
      throw new ProtocolError(
        ERROR_CODES.deviceRequired,
        "Prekeys belong to a device: log in as one (login_device) to publish them",
        ref,
      );
    }
    let count: number;
    try {
      count = await this.#ctx.store.putPrekeys(
        session.userId,
        session.deviceId,
        bundle,
        oneTime,
        replace,
        this.#ctx.now(),
      );
    } catch (err) {
      if (err instanceof StoreError && err.code === "too_many") {
        throw new ProtocolError(
          ERROR_CODES.forbidden,
          `A device keeps at most ${LIMITS.prekeysMax} one-time prekeys on the server; ` +
            "publish fewer, or replace them",
          ref,
        );
      }
      throw err;
    }
    session.send({ type: "prekeys_stored", ref, one_time: count });
  }

  /** Answers `fetch_prekeys`: a listed device's bundle and one one-time prekey. */
  async fetch(
    session: ClientSession,
    ref: number,
    userId: number,
    deviceId: number,
  ): Promise<void> {
    const list = await this.#opts.latestDevices(userId);
    if (!list?.devices.some((d) => d.id === deviceId)) {
      throw new ProtocolError(
        ERROR_CODES.notFound,
        `User ${userId} has no device ${deviceId} in their list of devices`,
        ref,
      );
    }
    const taken = await this.#ctx.store.takePrekeys(userId, deviceId);
    if (taken === null) {
      throw new ProtocolError(
        ERROR_CODES.notFound,
        `Device ${deviceId} of user ${userId} has published no prekeys yet`,
        ref,
      );
    }
    session.send({
      type: "prekeys",
      ref,
      user_id: userId,
      device_id: deviceId,
      bundle: taken.bundle,
      one_time: taken.oneTime,
    });
    if (taken.remaining < LIMITS.prekeysLow) this.#tellLow(userId, deviceId, taken.remaining);
  }

  /** After a device's login: tells it when it has few one-time prekeys left. */
  async loggedIn(session: ClientSession): Promise<void> {
    if (session.deviceId === null) return;
    const left = await this.#ctx.store.prekeyCount(session.userId, session.deviceId);
    if (left !== null && left < LIMITS.prekeysLow) {
      session.send({ type: "prekeys_low", remaining: left });
    }
  }

  /** The device was unlinked: its prekeys must not start any session. */
  async forget(userId: number, deviceId: number): Promise<void> {
    await this.#ctx.store.deletePrekeys(userId, deviceId);
  }

  /** Tells the device's connections on this server to publish more. */
  #tellLow(userId: number, deviceId: number, remaining: number): void {
    for (const s of this.#ctx.presence.localSessions(userId)) {
      if (s.deviceId === deviceId) s.send({ type: "prekeys_low", remaining });
    }
  }
}
