/**
 * Tells the server who the user's contacts are and whom they blocked (`contacts` frames),
 * so that the server tells the user's online state only to contacts and sends a blocked
 * user no delivery receipts. The keystore stays the source of truth (`consent.ts` decides);
 * the server is told:
 * - **at each login**, before the replay is handled, the whole list when it changed since
 *   the server last confirmed it (a digest in the keystore's settings says so): so accounts
 *   from before this existed, and changes made while offline, reach the server, and their
 *   acknowledgements already obey the blocks;
 * - **at each change** (accept, a first message, block, unblock), at once, before anything
 *   else the change leads to is sent: the server handles one connection's frames in order,
 *   so a first message never reaches anyone before its sender's contact list says so.
 *
 * Only servers that turned the `contacts` feature on are told (older ones do not know the
 * frame).
 *
 * @module
 */

import { type ContactState, FEATURES, LIMITS } from "../../protocol/mod.ts";
import type { LiveConnection } from "./connection.ts";
import type { ChatConnection, ConsentPort, FriendsPort } from "./ports.ts";

/** The keystore setting holding the digest of the list the server last confirmed. */
export const CONTACTS_TOLD_SETTING = "server_contacts_digest";

/** The keystore as this module reads it. */
export type ContactSyncStore =
  & Pick<FriendsPort, "friends" | "friend">
  & Pick<ConsentPort, "blocked" | "blockedUsers" | "setting" | "setSetting">;

/** Keeps the server's copy of the user's contacts and blocks; see the module documentation. */
export class ContactSync {
  readonly #ks: ContactSyncStore;
  readonly #link: LiveConnection;
  /** What the server of the current connection was told, by user; null: nothing yet. */
  #told: Map<number, ContactState> | null = null;
  /** Requests not yet answered on the current connection. */
  #inFlight = 0;
  /** A request failed on the current connection: the next login tells everything again. */
  #failed = false;

  constructor(deps: { readonly ks: ContactSyncStore; readonly link: LiveConnection }) {
    this.#ks = deps.ks;
    this.#link = deps.link;
  }

  /** What `userId` is to the user, as the keystore says. */
  stateOf(userId: number): ContactState {
    if (this.#ks.blocked(userId) !== null) return "blocked";
    return this.#ks.friend(userId)?.contact ? "contact" : "none";
  }

  /**
   * Right after a login on `conn`, before its replay is handled: tells the server the whole
   * list, unless it confirmed this very list before.
   */
  loggedIn(conn: ChatConnection): void {
    this.#told = null;
    this.#inFlight = 0;
    this.#failed = false;
    if (!conn.features?.includes(FEATURES.contacts)) return;
    const told = this.#wanted();
    this.#told = new Map([...told].filter(([, s]) => s !== "none"));
    if (this.#ks.setting(CONTACTS_TOLD_SETTING) === _digest(this.#told)) return;
    const entries = [...told];
    for (let i = 0; i < entries.length; i += LIMITS.contactsPerFrame) {
      const users = Object.fromEntries(
        entries.slice(i, i + LIMITS.contactsPerFrame).map(([id, s]) => [String(id), s]),
      );
      this.#send(conn, users);
    }
  }

  /**
   * After the user's consent for `userId` may have changed (accepted, written to, blocked,
   * unblocked): the server is told now if it was told otherwise. Offline, the next login
   * tells it.
   */
  changed(userId: number): void {
    const told = this.#told;
    if (told === null) return;
    const state = this.stateOf(userId);
    if ((told.get(userId) ?? "none") === state) return;
    let conn: ChatConnection;
    try {
      conn = this.#link.live();
    } catch {
      this.#forget(); // not connected: the next login tells everything
      return;
    }
    if (state === "none") told.delete(userId);
    else told.set(userId, state);
    this.#send(conn, { [String(userId)]: state });
  }

  /** Sends one `contacts` frame now; the digest is kept once everything sent is confirmed. */
  #send(conn: ChatConnection, users: Record<string, ContactState>): void {
    this.#inFlight++;
    this.#ks.setSetting(CONTACTS_TOLD_SETTING, null); // unconfirmed until answered
    conn.request({ type: "contacts", users }).then(
      () => {
        if (--this.#inFlight > 0 || this.#failed || this.#told === null) return;
        this.#ks.setSetting(CONTACTS_TOLD_SETTING, _digest(this.#told));
      },
      () => {
        this.#inFlight--;
        this.#forget();
      },
    );
  }

  /** The server's copy is in doubt: everything is told again at the next login. */
  #forget(): void {
    this.#failed = true;
    this.#ks.setSetting(CONTACTS_TOLD_SETTING, null);
  }

  /**
   * Every user the keystore knows, with what they are: contacts and blocked users, and
   * "none" for users pinned without being either (so a relation ended while offline ends
   * on the server too).
   */
  #wanted(): Map<number, ContactState> {
    const out = new Map<number, ContactState>();
    for (const f of this.#ks.friends()) out.set(f.userId, f.contact ? "contact" : "none");
    for (const b of this.#ks.blockedUsers()) out.set(b.userId, "blocked");
    return out;
  }
}

/** A short digest of a list (not secret: it only says whether the list changed). */
function _digest(told: ReadonlyMap<number, ContactState>): string {
  const text = [...told].sort(([a], [b]) => a - b).map(([id, s]) => `${id}:${s}`).join(",");
  // FNV-1a, two 32-bit lanes: enough to notice a change, and a change missed (a collision)
  // only means the next change or a new device tells the server again.
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x811c9dc5) >>> 0;
  }
  return `${told.size}:${h1.toString(16)}${h2.toString(16)}`;
}
