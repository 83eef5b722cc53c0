/**
 * The public-key directory: `lookup` by ID or username, and the check that a recipient
 * exists. Users are never deleted, so a user seen once stays known and is not looked up
 * again.
 *
 * @module
 */

import { ERROR_CODES, normalizeUsername, ProtocolError } from "../protocol/mod.ts";
import type { ClientSession } from "./client_session.ts";
import type { ServerContext } from "./context.ts";

/** The directory; see the module documentation. */
export class Directory {
  readonly #ctx: ServerContext;
  readonly #known = new Set<number>();

  constructor(ctx: ServerContext) {
    this.#ctx = ctx;
  }

  /** Remembers that `userId` exists (after a login or a registration). */
  remember(userId: number): void {
    this.#known.add(userId);
  }

  /**
   * Answers a `lookup` with the user's public keys, or `not_found`. A name is found after
   * NFKC and ignoring case; the answer has the spelling the user registered.
   */
  async lookup(session: ClientSession, ref: number, userId?: number, username?: string) {
    const store = this.#ctx.store;
    const user = username !== undefined
      ? await store.getUserByName(normalizeUsername(username))
      : await store.getUserById(userId!);
    if (!user) throw new ProtocolError(ERROR_CODES.notFound, "No such user", ref);
    this.#known.add(user.id);
    session.send({
      type: "user",
      ref,
      user_id: user.id,
      username: user.username,
      rsa_public_key: user.rsaPublicKey,
      identity_key: user.identityKey,
      online: this.#ctx.presence.localSessions(user.id).size > 0 ||
        this.#ctx.presence.remoteServers(user.id).size > 0,
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
