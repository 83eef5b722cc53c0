/**
 * Groups: creating them, the admin adding and removing members, handing the group to
 * another member or deleting it, members leaving, and the `group_event` messages that tell
 * every member (and one removed or leaving) of each change. Events are stored messages, so
 * members who are offline learn of changes when they return.
 *
 * Checks read the group first and answer with the precise error; the store then re-checks
 * what matters atomically (the admin, membership), so a change that raced another one (the
 * admin's other connection, a member leaving) is refused, re-checked and answered as if it
 * had come second.
 *
 * @module
 */

import {
  ERROR_CODES,
  type GroupEventBody,
  type GroupEventName,
  LIMITS,
  ProtocolError,
  type WireGroup,
} from "../protocol/mod.ts";
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
        `You are not a member of ${_label(group)}`,
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
        `${await this.#who(userId)} is already a member of ${_label(group)}`,
        ref,
      );
    }
    if (group.members.length >= LIMITS.groupMembers) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        `${_label(group)} is full (${LIMITS.groupMembers} members)`,
        ref,
      );
    }
    await this.#ctx.store.addMember(groupId, userId);
    const updated = await this.#current(groupId, ref);
    session.send({ type: "group", ref, group: wireGroup(updated) });
    await this.#announce(updated, "added", userId, session.userId, []);
  }

  /** The admin removes a member. */
  async removeMember(session: ClientSession, ref: number, groupId: number, userId: number) {
    const group = await this.#adminGroup(session, groupId, ref);
    if (userId === session.userId) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        "The admin cannot remove themselves; hand the group to another member with " +
          "transfer_group and then leave it, or delete it with delete_group",
        ref,
      );
    }
    if (!group.members.includes(userId)) throw _notInGroup(await this.#who(userId), group, ref);
    await this.#ctx.store.removeMember(groupId, userId);
    const updated = await this.#current(groupId, ref);
    session.send({ type: "group", ref, group: wireGroup(updated) });
    // The removed member is told too, so their client stops using the group.
    await this.#announce(updated, "removed", userId, session.userId, [userId]);
  }

  /** A member (not the admin) leaves. */
  async leave(session: ClientSession, ref: number, groupId: number) {
    const group = await this.memberGroup(session, groupId, ref);
    if (group.adminId === session.userId) throw _adminCannotLeave(ref);
    try {
      await this.#ctx.store.removeMember(groupId, session.userId);
    } catch (err) {
      // Made the admin meanwhile (a handover raced the leave).
      if (err instanceof StoreError && err.code === "conflict") throw _adminCannotLeave(ref);
      throw err;
    }
    const updated = (await this.#ctx.store.getGroup(groupId)) ?? { ...group, members: [] };
    session.send({ type: "ok", ref });
    await this.#announce(updated, "left", session.userId, session.userId, [session.userId]);
  }

  /**
   * The admin hands the group to another member, who becomes its admin; the old admin stays
   * a member (and may then leave).
   */
  async transfer(session: ClientSession, ref: number, groupId: number, userId: number) {
    const group = await this.#adminGroup(session, groupId, ref);
    if (userId === session.userId) {
      throw new ProtocolError(
        ERROR_CODES.forbidden,
        `You are the admin of group ${groupId} already; name another member`,
        ref,
      );
    }
    if (!group.members.includes(userId)) throw _notInGroup(await this.#who(userId), group, ref);
    let updated: GroupRecord;
    try {
      updated = await this.#ctx.store.setGroupAdmin(groupId, session.userId, userId);
    } catch (err) {
      throw await this.#changedMeanwhile(err, session, groupId, ref, userId);
    }
    this.#ctx.log.info("group_admin_changed", { group: groupId, from: session.userId, to: userId });
    session.send({ type: "group", ref, group: wireGroup(updated) });
    await this.#announce(updated, "admin_changed", userId, session.userId, []);
  }

  /** The admin deletes the group; everyone who was a member is told. */
  async delete(session: ClientSession, ref: number, groupId: number) {
    await this.#adminGroup(session, groupId, ref);
    let was: GroupRecord;
    try {
      was = await this.#ctx.store.deleteGroup(groupId, session.userId);
    } catch (err) {
      throw await this.#changedMeanwhile(err, session, groupId, ref);
    }
    this.#ctx.log.info("group_deleted", { group: groupId, admin: session.userId });
    session.send({ type: "ok", ref });
    // The group as it is now, empty; the event goes to everyone who was in it.
    const gone = { ...was, members: [] };
    await this.#announce(gone, "deleted", session.userId, session.userId, [...was.members]);
  }

  /** A user's name for messages people read, or "user N" if it cannot be found. */
  async #who(userId: number): Promise<string> {
    const user = await this.#ctx.store.getUserById(userId).catch(() => null);
    return user ? user.username : `user ${userId}`;
  }

  /** The group just after a change; `not_found` when it was deleted meanwhile. */
  async #current(groupId: number, ref: number): Promise<GroupRecord> {
    const group = await this.#ctx.store.getGroup(groupId);
    if (!group) throw new ProtocolError(ERROR_CODES.notFound, `No group has ID ${groupId}`, ref);
    return group;
  }

  /**
   * The error for a change the store refused after the checks allowed it: the group changed
   * in between, so the checks run again on what it is now and their error is the answer
   * (`member`: who had to be a member). Other failures pass through.
   */
  async #changedMeanwhile(
    err: unknown,
    session: ClientSession,
    groupId: number,
    ref: number,
    member?: number,
  ): Promise<unknown> {
    if (!(err instanceof StoreError) || (err.code !== "not_found" && err.code !== "conflict")) {
      return err;
    }
    const group = await this.#adminGroup(session, groupId, ref);
    if (member !== undefined && !group.members.includes(member)) {
      return _notInGroup(await this.#who(member), group, ref);
    }
    return new ProtocolError(
      ERROR_CODES.forbidden,
      `Group ${groupId} changed while this request was handled; try again`,
      ref,
    );
  }

  async #adminGroup(session: ClientSession, groupId: number, ref: number): Promise<GroupRecord> {
    const group = await this.memberGroup(session, groupId, ref);
    if (group.adminId !== session.userId) {
      throw new ProtocolError(
        ERROR_CODES.notAdmin,
        `Only the admin of ${_label(group)} can do that`,
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
    event: GroupEventName,
    userId: number,
    by: number,
    extra: number[],
  ): Promise<void> {
    const to = [...new Set([...group.members, ...extra])];
    const body: GroupEventBody = { event, group: wireGroup(group), user_id: userId, by };
    const msg: NewMessage = {
      senderId: 0,
      clientMsgId: null,
      kind: "group_event",
      groupId: group.id,
      body: JSON.stringify(body),
      recipients: to.map((uid) => ({ userId: uid })),
    };
    await this.#delivery.saveAndRoute(msg);
  }
}

/** A group as sent to clients. */
export function wireGroup(g: GroupRecord): WireGroup {
  return { id: g.id, name: g.name, admin: g.adminId, members: [...g.members] };
}

function _notInGroup(who: string, group: GroupRecord, ref: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.notFound, `${who} is not a member of ${_label(group)}`, ref);
}

/** A group as people read it: its name, with its ID in case two share a name. */
function _label(group: GroupRecord): string {
  return `"${group.name}" (group ${group.id})`;
}

function _adminCannotLeave(ref: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.forbidden,
    "The admin cannot leave the group; hand it to another member with transfer_group " +
      "first, or delete it with delete_group",
    ref,
  );
}
