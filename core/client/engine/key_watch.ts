/**
 * Live key checks: the directory's keys are compared with the pinned ones after every login
 * and reconnect (`ChatClient` runs {@linkcode KeyWatch.check} when a connection attaches)
 * and every {@linkcode KEY_CHECK_MS} while connected, so a key change is noticed while the
 * client runs, not only at the next start.
 *
 * Each check then reads on everyone's device lists (`devices.ts`, `watch()`).
 *
 * Each check also compares the keys the server publishes for the user themself with the
 * ones on this device. They differ when the server lies about the user (so that friends
 * who pin those keys would encrypt to someone else) or when the account was registered
 * again elsewhere. The client cannot tell which, and cannot fix either: what it sends is
 * encrypted to friends' pinned keys and signed with the device's own key, so it stays as
 * safe as before. So it warns loudly (`own_keys_changed`, once per different published
 * key) and keeps working; the user should compare safety numbers with their contacts.
 *
 * @module
 */

import { type Clock, SYSTEM_CLOCK } from "../../async/clock.ts";
import { every as everyMs, type StopTimer } from "../../async/every.ts";
import type { UserFrame } from "../../protocol/mod.ts";
import type { LiveConnection } from "./connection.ts";
import type { EventSink } from "./events.ts";
import type { Friends } from "./friends.ts";
import { normalizeIdentityKey, normalizeRsaPublicKey } from "../../keystore/keystore_check.ts";
import type { AccountPort } from "./ports.ts";

/** How often pinned keys are checked while connected: every 10 minutes. */
export const KEY_CHECK_MS = 10 * 60_000;

/** The user's own public keys, as this device keeps them. */
export interface OwnKeys {
  /** RSA public key, PEM. */
  readonly rsaPublicKey: string;
  /** Identity key, url-safe base64. */
  readonly identityKey: string;
}

/** What {@linkcode KeyWatch} needs. */
export interface KeyWatchDeps {
  readonly ks: Pick<AccountPort, "userId" | "username">;
  readonly own: OwnKeys;
  readonly friends: Pick<Friends, "refreshKeys" | "lookup">;
  readonly link: Pick<LiveConnection, "connected">;
  readonly emit: EventSink;
  /** Reads on and checks everyone's device lists after the keys (`devices.ts`). */
  readonly watchDevices?: () => Promise<void>;
  /** Milliseconds between periodic checks (default {@linkcode KEY_CHECK_MS}; 0: none). */
  readonly intervalMs?: number;
  /** The clock of the periodic checks (default: the system clock). */
  readonly clock?: Clock;
}

/**
 * Whether the directory's entry for the user shows the keys this device has: the same user
 * and the same keys, compared in normal form. A malformed key counts as different.
 */
export function ownKeysMatch(userId: number, own: OwnKeys, published: UserFrame): boolean {
  if (published.user_id !== userId) return false;
  try {
    return normalizeRsaPublicKey("rsa", published.rsa_public_key) ===
        normalizeRsaPublicKey("rsa", own.rsaPublicKey) &&
      normalizeIdentityKey("identity", published.identity_key) ===
        normalizeIdentityKey("identity", own.identityKey);
  } catch {
    return false;
  }
}

/** Checks published keys at each login and periodically. */
export class KeyWatch {
  readonly #d: KeyWatchDeps;
  #running: Promise<void> | null = null;
  #timer: StopTimer | undefined;
  /** The published own keys last reported as different, so each is reported once. */
  #reported: string | null = null;

  constructor(deps: KeyWatchDeps) {
    this.#d = deps;
  }

  /** Checks the own keys, then every pinned user's; a check already running is shared. */
  check(): Promise<void> {
    this.#running ??= (async () => {
      try {
        await this.#checkOwn();
        await this.#d.friends.refreshKeys();
        await this.#d.watchDevices?.();
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  /** Starts the periodic checks (only while connected). */
  start(): void {
    const every = this.#d.intervalMs ?? KEY_CHECK_MS;
    if (every <= 0 || this.#timer !== undefined) return;
    this.#timer = everyMs(this.#d.clock ?? SYSTEM_CLOCK, every, () => {
      if (this.#d.link.connected) this.check().catch(() => {});
    });
  }

  /** Stops the periodic checks. */
  stop(): void {
    this.#timer?.();
    this.#timer = undefined;
  }

  async #checkOwn(): Promise<void> {
    const { ks, own } = this.#d;
    let published: UserFrame;
    try {
      published = await this.#d.friends.lookup(ks.userId);
    } catch {
      return; // the directory cannot answer now: next time
    }
    if (ownKeysMatch(ks.userId, own, published)) {
      this.#reported = null;
      return;
    }
    const seen = `${published.user_id}\n${published.rsa_public_key}\n${published.identity_key}`;
    if (this.#reported === seen) return;
    this.#reported = seen;
    this.#d.emit({
      event: "own_keys_changed",
      user: ks.username,
      id: ks.userId,
      message: `WARNING: the server publishes keys for you (${ks.username}) that are not the ` +
        "keys on this device. The server may be lying about you, or your account was set up " +
        "again on another device. Anyone who starts talking to you now may be encrypting to " +
        "someone else, and your contacts may see a key change for you. What you send is " +
        "still encrypted to your contacts' pinned keys and signed by this device. Compare " +
        'safety numbers ("fingerprint USER") with your contacts in person or on a call.',
    });
  }
}
