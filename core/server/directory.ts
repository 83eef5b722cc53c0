/**
 * The public-key directory: `lookup` by ID or username, and the check that a recipient
 * exists. Users are never deleted, so a user seen once stays known and is not looked up
 * again. A lookup says whether the user is online only to the user's contacts
 * (`contacts.ts`).
 *
 * @module
 */

import { ERROR_CODES, normalizeUsername, ProtocolError } from "../protocol/mod.ts";
import type { ClientSession } from "./client_session.ts";
import type { Contacts } from "./contacts.ts";
import type { ServerContext } from "./context.ts";

/** The directory; see the module documentation. */
export class Directory {
  readonly #ctx: ServerContext;
  readonly #known = new Set<number>();
  readonly #contacts: Pick<Contacts, "tellsPresence">;

  constructor(ctx: ServerContext, contacts: Pick<Contacts, "tellsPresence">) {
    this.#ctx = ctx;
    this.#contacts = contacts;
  }

  /** Remembers that `userId` exists (after a login or a registration). */
  remember(userId: number): void {
    this.#known.add(userId);
  }

  /**
   * Answers a `lookup` with the user's public keys, or `not_found`. A name is found after
   * NFKC and ignoring case; the answer has the spelling the user registered. `online` is
   * told only when the user made the asker a contact; otherwise it is left out when
   * `absentWhenUntold` (the connection has the `contacts` feature), else `false`, which is
   * also what an offline user looks like, so neither says anything.
   */
  async lookup(
    session: ClientSession,
    ref: number,
    who: { readonly userId?: number; readonly username?: string },
    absentWhenUntold: boolean,
  ) {
    const store = this.#ctx.store;
    const user = who.username !== undefined
      ? await store.getUserByName(normalizeUsername(who.username))
      : await store.getUserById(who.userId!);
    if (!user) throw new ProtocolError(ERROR_CODES.notFound, "No such user", ref);
    this.#known.add(user.id);
    const tell = await this.#contacts.tellsPresence(user.id, session.userId);
    const { presence } = this.#ctx;
    const online = tell &&
      (presence.localSessions(user.id).size > 0 || presence.remoteServers(user.id).size > 0);
    session.send({
      type: "user",
      ref,
      user_id: user.id,
      username: user.username,
      rsa_public_key: user.rsaPublicKey,
      identity_key: user.identityKey,
      ...(tell || !absentWhenUntold ? { online } : {}),
    });
  }

  /** Throws `not_found` unless user `userId` exists. */
  async requireUser(userId: number, ref: number): Promise<void> {
    if (this.#known.has(userId)) return;
    if (!(await this.#ctx.store.getUserById(userId))) {
      throw new ProtocolError(ERROR_CODES.notFound, `No user has ID ${userId}`, ref);
    }
    this.#known.add(userId);
  }
}
