/**
 * Groups: creating them, the admin adding and removing members, members leaving, and the
 * `group_event` messages that tell every member (and a removed one) of each change. Events
 * are stored messages, so members who are offline learn of changes when they return.
 *
 * @module
 */

import { ERROR_CODES, LIMITS, ProtocolError, type WireGroup } from "../protocol/mod.ts";
import { type GroupRecord, type NewMessage, StoreError } from "../store/store.ts";
import type { ClientSession } from "./client_session.ts";
import type { ServerContext } from "./context.ts";
import type { Delivery } from "./delivery.ts";
import type { Directory } from "./directory.ts";

/** Group management; see the module documentation. */
export class Groups {
  readonly #ctx: ServerContext;
  readonly #delivery: Delivery;
  readonly #directory: Directory;

  constructor(ctx: ServerContext, delivery: Delivery, directory: Directory) {
    this.#ctx = ctx;
    this.#delivery = delivery;
    this.#directory = directory;
  }

  /** The group, if the session's user is a member; `not_found` or `not_member` otherwise. */
  async memberGroup(session: ClientSession, groupId: number, ref: number): Promise<GroupRecord> {
    const group = await this.#ctx.store.getGroup(groupId);
    if (!group) throw new ProtocolError(ERROR_CODES.notFound, `No group has ID ${groupId}`, ref);
    if (!group.members.includes(session.userId)) {
      throw new ProtocolError(
        ERROR_CODES.notMember,
        `You are not a member of group ${groupId}`,
        ref,
      );
    }
    return group;
  }

  /** Answers `list_groups`. */
  async list(session: ClientSession, ref: number): Promise<void> {
    const groups = await this.#ctx.store.listGroupsOf(session.userId);
    session.send({ type: "groups", ref, groups: groups.map(wireGroup) });
  }

  /** Answers `group_info` for a member. */
  async info(session: ClientSession, ref: number, groupId: number): Promise<void> {
    const group = await this.memberGroup(session, groupId, ref);
    session.send({ type: "group", ref, group: wireGroup(group) });
  }

  /** Creates a group administered by the session's user. */
  async create(session: ClientSession, ref: number, name: string, members: number[]) {
    const others = members.filter((m) => m !== session.userId);
    let group: GroupRecord;
    try {
      group = await this.#ctx.store.createGroup(name, session.userId, others);
    } catch (err) {
      if (err instanceof StoreError && err.code === "not_found") {
        throw new ProtocolError(ERROR_CODES.notFound, err.message, ref);
      }
      throw err;
    }
    this.#ctx.log.info("group_created", { group: group.id, admin: session.userId });
    session.send({ type: "group", ref, group: wireGroup(group) });
    await this.#announce(group, "created", session.userId, session.userId, []);
  }

  /** The admin adds a member. */
  async addMember(session: ClientSession, ref: number, groupId: number, userId: number) {
    const group = await this.#adminGroup(session, groupId, ref);
    await this.#directory.requireUser(userId, ref);
    if (group.members.includes(userId)) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        `User ${userId} is already a member of group ${groupId}`,
        ref,
      );
    }
    if (group.members.length >= LIMITS.groupMembers) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        `Group ${groupId} is full (${LIMITS.groupMembers} members)`,
        ref,
      );
    }
    await this.#ctx.store.addMember(groupId, userId);
    const updated = (await this.#ctx.store.getGroup(groupId))!;
    session.send({ type: "group", ref, group: wireGroup(updated) });
    await this.#announce(updated, "added", userId, session.userId, []);
  }

  /** The admin removes a member. */
  async removeMember(session: ClientSession, ref: number, groupId: number, userId: number) {
    const group = await this.#adminGroup(session, groupId, ref);
    if (userId === session.userId) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        "The admin cannot remove themselves; use leave_group",
        ref,
      );
    }
    if (!group.members.includes(userId)) {
      throw new ProtocolError(
        ERROR_CODES.notFound,
        `User ${userId} is not a member of group ${groupId}`,
        ref,
      );
    }
    await this.#ctx.store.removeMember(groupId, userId);
    const updated = (await this.#ctx.store.getGroup(groupId))!;
    session.send({ type: "group", ref, group: wireGroup(updated) });
    // The removed member is told too, so their client stops using the group.
    await this.#announce(updated, "removed", userId, session.userId, [userId]);
  }

  /** A member (not the admin) leaves. */
  async leave(session: ClientSession, ref: number, groupId: number) {
    const group = await this.memberGroup(session, groupId, ref);
    if (group.adminId === session.userId) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        "The admin cannot leave the group; only members can",
        ref,
      );
    }
    await this.#ctx.store.removeMember(groupId, session.userId);
    const updated = (await this.#ctx.store.getGroup(groupId)) ?? { ...group, members: [] };
    session.send({ type: "ok", ref });
    await this.#announce(updated, "left", session.userId, session.userId, [session.userId]);
  }

  async #adminGroup(session: ClientSession, groupId: number, ref: number): Promise<GroupRecord> {
    const group = await this.memberGroup(session, groupId, ref);
    if (group.adminId !== session.userId) {
      throw new ProtocolError(
        ERROR_CODES.notAdmin,
        `Only the admin of group ${groupId} can do that`,
        ref,
      );
    }
    return group;
  }

  /**
   * Tells every member (and `extra` users, e.g. one just removed) about a membership change,
   * as a stored `group_event` message so offline members learn it when they return.
   */
  async #announce(
    group: GroupRecord,
    event: "created" | "added" | "removed" | "left",
    userId: number,
    by: number,
    extra: number[],
  ): Promise<void> {
    const to = [...new Set([...group.members, ...extra])];
    const msg: NewMessage = {
      senderId: 0,
      clientMsgId: null,
      kind: "group_event",
      groupId: group.id,
      body: JSON.stringify({ event, group: wireGroup(group), user_id: userId, by }),
      recipients: to.map((uid) => ({ userId: uid })),
    };
    await this.#delivery.saveAndRoute(msg);
  }
}

/** A group as sent to clients. */
export function wireGroup(g: GroupRecord): WireGroup {
  return { id: g.id, name: g.name, admin: g.adminId, members: [...g.members] };
}
