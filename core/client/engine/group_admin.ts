/**
 * Groups as the user manages them: listing, creating (with its first key, so a message typed
 * right after can use it), changing members and admin, deleting and leaving, and which
 * group the user may write to. The server enforces who may do what; the rules here are the
 * user's side: groups are named by ID or unique name, a group not accepted yet is a request
 * (leaving it declines it), and a group the user is no longer in is refused with the reason.
 *
 * @module
 */

import type { LiveConnection } from "./connection.ts";
import { CLIENT_ERRORS, ClientError } from "./errors.ts";
import type { EventSink } from "./events.ts";
import type { Friends } from "./friends.ts";
import type { GroupConsent } from "./group_consent.ts";
import type { GroupKeys } from "./group_keys.ts";
import type { GroupRecord } from "../../keystore/keystore_types.ts";
import { findGroup, groupIncludingLeft, maybeGroup, userName, userNames } from "./lookup.ts";
import type { KeystorePort } from "./ports.ts";

/** What {@linkcode GroupAdmin} needs. */
export interface GroupAdminDeps {
  readonly ks: KeystorePort;
  readonly link: Pick<LiveConnection, "live">;
  readonly friends: Pick<Friends, "pin" | "nameOf">;
  readonly groupKeys: Pick<GroupKeys, "rotate">;
  readonly groupConsent: Pick<GroupConsent, "pending" | "decline">;
  readonly emit: EventSink;
}

/** A membership change the admin asks the server for. */
export type MemberChange = "add_member" | "remove_member" | "transfer_group";

/** The user's groups and the commands that change them. */
export class GroupAdmin {
  readonly #d: GroupAdminDeps;

  constructor(deps: GroupAdminDeps) {
    this.#d = deps;
  }

  /** The `groups` command: the user's groups, members named. */
  async list(): Promise<void> {
    const { ks, friends, groupConsent, emit } = this.#d;
    // A group the user has not accepted is a request, not one of theirs yet.
    const mine = ks.groups().filter((g) => !groupConsent.pending(g.groupId));
    // Members are looked up (and pinned) once, so the list names them.
    for (const g of mine) for (const id of [g.adminId, ...g.members]) await friends.nameOf(id);
    emit({
      event: "groups",
      groups: mine.map((g) => ({
        id: g.groupId,
        name: g.name,
        admin: g.adminId,
        members: [...g.members],
        epoch: g.epoch,
        admin_name: userName(ks, g.adminId),
        member_names: userNames(ks, g.members),
      })),
    });
  }

  /**
   * The `create_group` command: a group of the user and `users`, whose first key goes out
   * now. A second group of the same name is made, with a warning that says to use IDs.
   */
  async create(name: string, users: readonly string[]): Promise<void> {
    const { ks, link, friends } = this.#d;
    const same = ks.groups().filter((g) => g.name.toLowerCase() === name.toLowerCase());
    const members: number[] = [];
    for (const u of users) members.push((await friends.pin(u)).userId);
    const g = await link.live().request({ type: "create_group", name, members });
    const record = ks.upsertGroup({
      groupId: g.group.id,
      name: g.group.name,
      adminId: g.group.admin,
      members: g.group.members,
    });
    // The key goes out now, so a message typed right after can use it.
    await this.#d.groupKeys.rotate(record, true);
    if (same.length > 0) {
      this.#d.emit({
        event: "warning",
        message: `You are now in ${same.length + 1} groups named "${name}" (IDs ${
          [...same.map((g) => g.groupId), record.groupId].join(", ")
        }); use an ID to say which one`,
      });
    }
  }

  /** `add_member`, `remove_member` or `transfer_group`: `user` in group `ref`. */
  async change(change: MemberChange, ref: string, user: string): Promise<void> {
    const group = findGroup(this.#d.ks, ref);
    const who = await this.#d.friends.pin(user);
    await this.#d.link.live().request({
      type: change,
      group_id: group.groupId,
      user_id: who.userId,
    });
  }

  /** The `delete_group` command. */
  async delete(ref: string): Promise<void> {
    const group = findGroup(this.#d.ks, ref);
    await this.#d.link.live().request({ type: "delete_group", group_id: group.groupId });
  }

  /** The `leave_group` command; leaving a group not accepted yet declines it. */
  async leave(ref: string): Promise<void> {
    const { ks } = this.#d;
    const group = findGroup(ks, ref);
    const invite = ks.groupInvite(group.groupId);
    if (invite !== null) return await this.#d.groupConsent.decline(invite);
    await this.#d.link.live().request({ type: "leave_group", group_id: group.groupId });
  }

  /**
   * The group named `ref` that the user may write to. One the user is no longer in, or has
   * not accepted yet, is refused with a message that says so (not "no group").
   *
   * @throws {ClientError} "not_found", "ambiguous" or "not_member".
   */
  writable(ref: string): GroupRecord {
    const { ks } = this.#d;
    const current = maybeGroup(ks, ref);
    if (current !== null) {
      const invite = ks.groupInvite(current.groupId);
      if (invite !== null) {
        throw new ClientError(
          CLIENT_ERRORS.notMember,
          `You have not joined group "${current.name}" yet: ${invite.byName} added you ` +
            `("accept ${current.name}" joins it, "leave_group ${current.name}" declines)`,
        );
      }
      return current;
    }
    const left = groupIncludingLeft(ks, ref);
    if (left === null) return findGroup(ks, ref);
    const by = left.leftBy === null ? null : userName(ks, left.leftBy);
    const how = by === null || left.leftHow === null ? "" : {
      left: " (you left it)",
      removed: ` (${by} removed you)`,
      deleted: ` (${by} deleted it)`,
    }[left.leftHow];
    throw new ClientError(
      CLIENT_ERRORS.notMember,
      `You are no longer a member of group "${left.name}"${how}`,
    );
  }
}
