/**
 * Keeps this device's prekeys on the server (issue 22; docs/PROTOCOL.md "Devices", Prekeys), so
 * other devices can start sessions with it while it is offline.
 *
 * Once the client is a device and the server knows devices, each attach makes sure the server
 * holds this device's bundle: a device without prekey secrets makes them (50 one-time prekeys),
 * keeps the secrets in the keystore FIRST (sealed under the password), then publishes the
 * bundle and its one-time prekeys, replacing whatever the server held. Keeping before publishing
 * means no published prekey is ever without its secret: a crash in between only leaves secrets
 * nobody has, and they are made again. The bundle text as published is kept once the server
 * answered: it marks the secrets as published, and each refill sends it again (every publish
 * carries the bundle).
 *
 * When the server says few one-time prekeys are left (`prekeys_low`, on a fetch or at login),
 * 50 more are made with fresh IDs, kept, then published next to the ones left.
 *
 * @module
 */

import {
  addOneTimePrekeys,
  makePrekeys,
  oneTimePrekeyText,
  parsePrekeySecrets,
  type PrekeySecrets,
  serializePrekeySecrets,
  splitBundleForServer,
} from "../../e2e/mod.ts";
import { FEATURES } from "../../protocol/mod.ts";
import type { LiveConnection } from "./connection.ts";
import type { EventSink } from "./events.ts";
import type { AccountPort, ChatConnection, DevicesPort } from "./ports.ts";

/** The keystore secret holding this device's prekey secrets (`serializePrekeySecrets`). */
export const PREKEY_SECRETS_NAME = "device_prekeys";

/** The keystore secret holding the bundle text the server holds (kept once it answered). */
export const PREKEY_BUNDLE_NAME = "device_prekeys_bundle";

/** One-time prekeys made at first and at each refill. */
export const PREKEYS_PER_BATCH = 50;

/**
 * One-time prekey secrets kept at most, newest first: the server holds at most 200, and those
 * handed out longer ago than this many were used or never will be.
 */
const _KEEP_ONE_TIME = 400;

/** What {@linkcode PrekeyKeeper} needs. */
export interface PrekeyKeeperDeps {
  readonly ks:
    & Pick<DevicesPort, "deviceIdentity" | "secret" | "setSecret">
    & Pick<AccountPort, "userId">;
  readonly link: LiveConnection;
  readonly emit: EventSink;
}

/** Keeps this device's prekeys on the server; see the module documentation. */
export class PrekeyKeeper {
  readonly #d: PrekeyKeeperDeps;
  /** The work in progress: one at a time, so secrets are never written by two at once. */
  #running: Promise<void> = Promise.resolve();
  /** A refill was asked for and not started yet. */
  #lowAsked = false;
  /** A refill is queued or running: more `prekeys_low` meanwhile were sent before it landed. */
  #refilling = false;

  constructor(deps: PrekeyKeeperDeps) {
    this.#d = deps;
  }

  /**
   * After a login on `conn` (once `Devices.adopt` ran): publishes this device's prekeys when the
   * server holds none of this keystore's, and refills when the server asked meanwhile. Never
   * throws: failures are `error` events, and the next login tries again.
   */
  attached(conn: ChatConnection): Promise<void> {
    return this.#queue(() => this.#ensure(conn));
  }

  /** The server's `prekeys_low`: more one-time prekeys are published, once attached. */
  low(_remaining: number): void {
    if (this.#refilling) return;
    this.#lowAsked = true;
    // Before the connection is attached (the push at login), `attached` does it.
    if (!this.#d.link.connected) return;
    const conn = this.#d.link.live();
    this.#refilling = true;
    void this.#queue(() => this.#ensure(conn)).finally(() => this.#refilling = false);
  }

  /** Resolves once the work queued so far is done (for tests and an orderly stop). */
  idle(): Promise<void> {
    return this.#running;
  }

  #queue(work: () => Promise<void>): Promise<void> {
    this.#running = this.#running.then(work).catch((err) => {
      if (!this.#d.link.connected) return; // the next login tries again
      this.#d.emit({
        event: "error",
        message: `Could not publish this device's prekeys: ${(err as Error).message}`,
      });
    });
    return this.#running;
  }

  async #ensure(conn: ChatConnection): Promise<void> {
    const { ks } = this.#d;
    if (conn.closed || !conn.features?.includes(FEATURES.devices)) return;
    const me = ks.deviceIdentity();
    if (me?.deviceId == null) return;
    const stored = this.#stored(me.deviceId);
    const bundle = ks.secret(PREKEY_BUNDLE_NAME);
    if (stored === null || bundle === null) {
      await this.#publishNew(conn, me.deviceId, me.signSecretKey, stored);
      this.#lowAsked = false;
      return;
    }
    if (!this.#lowAsked) return;
    this.#lowAsked = false;
    const added = addOneTimePrekeys(me.signSecretKey, stored, PREKEYS_PER_BATCH);
    this.#keep(added.secrets);
    await conn.request({
      type: "publish_prekeys",
      bundle,
      one_time: added.oneTime.map(oneTimePrekeyText),
      replace: false,
    });
  }

  /** Makes new prekeys (same identity key when there were some), keeps them, then publishes. */
  async #publishNew(
    conn: ChatConnection,
    deviceId: number,
    signSecretKey: Uint8Array,
    old: PrekeySecrets | null,
  ): Promise<void> {
    const { ks } = this.#d;
    const made = makePrekeys(signSecretKey, {
      user: ks.userId,
      device: deviceId,
      opks: PREKEYS_PER_BATCH,
      firstId: old?.next_id,
    });
    ks.setSecret(PREKEY_BUNDLE_NAME, null);
    this.#keep(made.secrets);
    const server = splitBundleForServer(made.bundle);
    await conn.request({
      type: "publish_prekeys",
      bundle: server.bundle,
      one_time: server.oneTime,
      replace: true,
    });
    ks.setSecret(PREKEY_BUNDLE_NAME, server.bundle);
  }

  /** This device's stored prekey secrets, or null (none, or another device's). */
  #stored(deviceId: number): PrekeySecrets | null {
    const text = this.#d.ks.secret(PREKEY_SECRETS_NAME);
    if (text === null) return null;
    const secrets = parsePrekeySecrets(text);
    return secrets.user === this.#d.ks.userId && secrets.device === deviceId ? secrets : null;
  }

  /** Keeps the secrets, dropping the oldest one-time ones past {@linkcode _KEEP_ONE_TIME}. */
  #keep(secrets: PrekeySecrets): void {
    const kept = secrets.opks.length > _KEEP_ONE_TIME
      ? { ...secrets, opks: secrets.opks.slice(-_KEEP_ONE_TIME) }
      : secrets;
    this.#d.ks.setSecret(PREKEY_SECRETS_NAME, serializePrekeySecrets(kept));
  }
}
