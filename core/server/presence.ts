/**
 * Who is connected where, in memory: the sessions logged in on this server, and for each
 * peer server the users it reported connected (`peer_presence` frames over the mesh). A user
 * may be connected on several servers, and several times on one, at once. Routing a message
 * reads only this; the database's copy of presence is the recovery source after a crash.
 *
 * Pure and synchronous, so `tests/presence_test.ts` covers it without sockets.
 *
 * @module
 */

import type { ClientSession } from "./client_session.ts";

/** What one `peer_presence` frame says. */
export interface RosterUpdate {
  /** Forget what this peer said before, then apply `online`. */
  readonly reset: boolean;
  readonly online: readonly number[];
  readonly offline: readonly number[];
}

/** The presence directory; see the module documentation. */
export class PresenceDirectory {
  /** Logged-in sessions on this server, by user. */
  readonly #local = new Map<number, Set<ClientSession>>();
  /** Users each peer server reported connected. */
  readonly #rosters = new Map<number, Set<number>>();
  /** For each user, the peer servers that reported them. */
  readonly #remote = new Map<number, Set<number>>();

  /**
   * Adds a logged-in session. True when it is the user's first session here (peers must
   * hear that the user is now connected here).
   */
  addLocal(session: ClientSession): boolean {
    let set = this.#local.get(session.userId);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#local.set(session.userId, set);
    }
    set.add(session);
    return first;
  }

  /**
   * Removes a session. True when it was the user's last session here (peers must hear that
   * the user left this server).
   */
  removeLocal(session: ClientSession): boolean {
    const set = this.#local.get(session.userId);
    if (set === undefined || !set.delete(session)) return false;
    if (set.size > 0) return false;
    this.#local.delete(session.userId);
    return true;
  }

  /** The user's sessions on this server (empty when none). */
  localSessions(userId: number): ReadonlySet<ClientSession> {
    return this.#local.get(userId) ?? _EMPTY;
  }

  /** Users with at least one session on this server. */
  localUsers(): number[] {
    return [...this.#local.keys()];
  }

  /** Number of users with at least one session on this server. */
  get localUserCount(): number {
    return this.#local.size;
  }

  /** Applies what peer `serverId` reported. */
  applyRoster(serverId: number, update: RosterUpdate): void {
    if (update.reset) this.forgetServer(serverId);
    let roster = this.#rosters.get(serverId);
    if (roster === undefined) {
      roster = new Set();
      this.#rosters.set(serverId, roster);
    }
    for (const userId of update.offline) {
      if (!roster.delete(userId)) continue;
      const servers = this.#remote.get(userId);
      servers?.delete(serverId);
      if (servers?.size === 0) this.#remote.delete(userId);
    }
    for (const userId of update.online) {
      if (roster.has(userId)) continue;
      roster.add(userId);
      let servers = this.#remote.get(userId);
      if (servers === undefined) {
        servers = new Set();
        this.#remote.set(userId, servers);
      }
      servers.add(serverId);
    }
  }

  /** Forgets everything peer `serverId` reported (its link went down). */
  forgetServer(serverId: number): void {
    const roster = this.#rosters.get(serverId);
    if (roster === undefined) return;
    this.#rosters.delete(serverId);
    for (const userId of roster) {
      const servers = this.#remote.get(userId);
      servers?.delete(serverId);
      if (servers?.size === 0) this.#remote.delete(userId);
    }
  }

  /** Peer servers the user is connected to (empty when none). */
  remoteServers(userId: number): ReadonlySet<number> {
    return this.#remote.get(userId) ?? _EMPTY_IDS;
  }
}

const _EMPTY: ReadonlySet<ClientSession> = new Set();
const _EMPTY_IDS: ReadonlySet<number> = new Set();
