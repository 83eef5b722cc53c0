/**
 * What users told the server others are to them (`contacts` frames): contacts and blocked
 * users, kept in the main database. Two things depend on it:
 * - **presence**: `lookup` tells whether a user is online only to that user's contacts (and
 *   the user); anyone else, a blocked user included, learns nothing of it;
 * - **receipts**: when a user acknowledges a message from someone they blocked, the sender
 *   gets no receipt.
 *
 * The acknowledgement path reads no database for this: each server keeps, in memory, whom
 * each user logged in on it blocked, loaded at every login and changed by that user's
 * `contacts` frames, here or, told with `peer_blocks`, on the other servers the user is
 * connected to. A server whose link was down then hears of it at the user's next login
 * there (see docs/PROTOCOL.md, "Contacts and blocks").
 *
 * @module
 */

import {
  type ContactState,
  ERROR_CODES,
  LIMITS,
  type PeerBlocksFrame,
  ProtocolError,
} from "../protocol/mod.ts";
import type { ContactChange } from "../store/store.ts";
import type { ClientSession } from "./client_session.ts";
import type { ServerContext } from "./context.ts";

/** Reads of a user's blocks at login; the last is kept even if changes kept coming. */
const _LOAD_ATTEMPTS = 3;

/** Contacts and blocks; see the module documentation. */
export class Contacts {
  readonly #ctx: ServerContext;
  /** For each user logged in here, whom they blocked. */
  readonly #blocked = new Map<number, Set<number>>();
  /**
   * Changes made here per user, so a login's load that read the database before a change
   * does not overwrite it with the older list.
   */
  readonly #changes = new Map<number, number>();

  constructor(ctx: ServerContext) {
    this.#ctx = ctx;
  }

  /** Loads whom `userId` blocked (at each login here, before anything is acknowledged). */
  async load(userId: number): Promise<void> {
    // A change heard while reading may be missing from what was read (it is in the database
    // before anyone hears of it): read again then.
    for (let attempt = 0; attempt < _LOAD_ATTEMPTS; attempt++) {
      const before = this.#changes.get(userId) ?? 0;
      const blocked = await this.#ctx.store.listContacts(userId, "blocked");
      const changed = (this.#changes.get(userId) ?? 0) !== before;
      if (changed && attempt < _LOAD_ATTEMPTS - 1) continue;
      if (blocked.length === 0) this.#blocked.delete(userId);
      else this.#blocked.set(userId, new Set(blocked));
      return;
    }
  }

  /** Forgets `userId`'s list (their last connection here closed). */
  forget(userId: number): void {
    this.#blocked.delete(userId);
    this.#changes.delete(userId);
  }

  /** True when `userId`, logged in here, blocked `otherId` (no database read). */
  blocks(userId: number, otherId: number): boolean {
    return this.#blocked.get(userId)?.has(otherId) ?? false;
  }

  /**
   * Whether `askerId` may learn if `userId` is online: the user made the asker a contact,
   * or the asker is the user.
   */
  async tellsPresence(userId: number, askerId: number): Promise<boolean> {
    if (userId === askerId) return true;
    return await this.#ctx.store.contactState(userId, askerId) === "contact";
  }

  /**
   * Applies a `contacts` frame of the session's user and answers `ok`: all its changes, or
   * none (`not_found` for an unknown user, `contacts_full` past `LIMITS.contactsMax`).
   */
  async apply(
    session: ClientSession,
    ref: number,
    users: Readonly<Record<string, ContactState>>,
  ): Promise<void> {
    const owner = session.userId;
    const changes: ContactChange[] = Object.entries(users).map(([id, state]) => ({
      userId: Number(id),
      state,
    }));
    if (changes.some((c) => c.userId === owner)) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        `User ${owner} is you; a contacts frame names other users`,
        ref,
      );
    }
    // A StoreError `too_many` is answered `contacts_full`, `not_found` as itself.
    await this.#ctx.store.setContacts(owner, changes, LIMITS.contactsMax);
    const frame: PeerBlocksFrame = {
      type: "peer_blocks",
      user_id: owner,
      blocked: changes.filter((c) => c.state === "blocked").map((c) => c.userId),
      unblocked: changes.filter((c) => c.state !== "blocked").map((c) => c.userId),
    };
    this.onPeerBlocks(frame);
    // The user's other servers: their acknowledgements there obey the change too.
    const mesh = this.#ctx.mesh();
    for (const serverId of this.#ctx.presence.remoteServers(owner)) mesh?.send(serverId, frame);
    session.send({ type: "ok", ref });
  }

  /**
   * Applies a change of whom a user blocked (made here, or on a peer that says so); nothing
   * when the user is not connected here (their next login here reads the database).
   */
  onPeerBlocks(f: PeerBlocksFrame): void {
    const owner = f.user_id;
    if (this.#ctx.presence.localSessions(owner).size === 0) return;
    this.#changes.set(owner, (this.#changes.get(owner) ?? 0) + 1);
    let blocked = this.#blocked.get(owner);
    for (const id of f.unblocked) blocked?.delete(id);
    for (const id of f.blocked) {
      if (blocked === undefined) this.#blocked.set(owner, blocked = new Set());
      blocked.add(id);
    }
    if (blocked?.size === 0) this.#blocked.delete(owner);
  }
}
