/**
 * Consent to groups: being put in a group by someone who is not a contact is a request,
 * as their direct message would be (`consent_rules.ts`'s `screenGroupJoin` decides). While
 * it is pending the group's messages are opened and stored (so nothing is lost), but not
 * shown and the group is not listed; `accept GROUP` shows them, `leave_group` or blocking
 * whoever added the user declines it. Being put in a group by a blocked user leaves it at
 * once, without a word.
 *
 * The invitation is kept in the keystore (`keystore_group_invites.ts`), so it survives a
 * restart.
 *
 * @module
 */

import { LIMITS } from "../../protocol/mod.ts";
import type { LiveConnection } from "./connection.ts";
import { CLIENT_ERRORS, ClientError } from "./errors.ts";
import type { EventSink } from "./events.ts";
import { MAX_HISTORY_LIMIT } from "../../keystore/keystore_check.ts";
import type { GroupInviteRecord, GroupRecord } from "../../keystore/keystore_types.ts";
import { userName, userNames } from "./lookup.ts";
import type { KeystorePort } from "./ports.ts";

/** What {@linkcode GroupConsent} needs. */
export interface GroupConsentDeps {
  readonly ks: KeystorePort;
  readonly link: Pick<LiveConnection, "live">;
  readonly emit: EventSink;
}

/** Group requests: kept, listed, accepted, declined. */
export class GroupConsent {
  readonly #d: GroupConsentDeps;

  constructor(deps: GroupConsentDeps) {
    this.#d = deps;
  }

  /** Whether the user has not accepted group `groupId` yet: its messages are not shown. */
  pending(groupId: number): boolean {
    return this.#d.ks.groupInvite(groupId) !== null;
  }

  /** Records that `by` (not a contact) put the user in `group`, and asks the user. */
  request(group: GroupRecord, by: number, byName: string): void {
    const { ks, emit } = this.#d;
    if (!ks.addGroupInvite(group.groupId, by, byName)) return;
    emit({
      event: "group_request",
      group: group.groupId,
      name: group.name,
      by,
      by_name: byName,
      admin: group.adminId,
      admin_name: userName(ks, group.adminId),
      members: [...group.members],
      member_names: userNames(ks, group.members),
    });
  }

  /**
   * Leaves `group` at once, without a word (a blocked user put the user in it). Kept as a
   * request meanwhile, so nothing of it shows even if leaving fails (offline).
   */
  async refuse(group: GroupRecord, by: number, byName: string): Promise<void> {
    this.#d.ks.addGroupInvite(group.groupId, by, byName);
    await this.#leave(group.groupId);
  }

  /** The pending invitation to the group named `ref` (by ID or unique name), or null. */
  find(ref: string): GroupInviteRecord | null {
    const { ks } = this.#d;
    if (/^[0-9]{1,15}$/.test(ref)) {
      const byId = ks.groupInvite(Number(ref));
      if (byId !== null) return byId;
    }
    const named = ks.groupInvites().filter((i) => i.name === ref);
    if (named.length > 1) {
      throw new ClientError(
        CLIENT_ERRORS.ambiguous,
        `"${ref}" names ${named.length} group requests (IDs ${
          named.map((i) => i.groupId).join(", ")
        }); use the ID`,
      );
    }
    return named[0] ?? null;
  }

  /**
   * The group request `accept ref` is about, or null when it is a person's: a group request
   * by that name counts unless someone asking to talk goes by the same name.
   */
  acceptTarget(ref: string): GroupInviteRecord | null {
    const { ks } = this.#d;
    const invite = this.find(ref);
    if (invite === null) return null;
    const person = LIMITS.usernamePattern.test(ref) ? ks.friendByName(ref) : null;
    return person === null || ks.request(person.userId) === null ? invite : null;
  }

  /** `accept GROUP`: the user joins; what the group sent meanwhile is shown now, in order. */
  accept(invite: GroupInviteRecord): void {
    const { ks, emit } = this.#d;
    const group = ks.group(invite.groupId);
    ks.removeGroupInvite(invite.groupId);
    if (group === null) return;
    const held = ks.history("group", group.groupId, MAX_HISTORY_LIMIT).filter((m) =>
      m.direction === "in" && m.file === null && m.msgId !== null &&
      (m.receivedAt ?? 0) >= invite.invitedAt
    );
    emit({
      event: "group_joined",
      group: group.groupId,
      name: group.name,
      by: invite.byId,
      by_name: invite.byName,
      admin: group.adminId,
      admin_name: userName(ks, group.adminId),
      members: [...group.members],
      member_names: userNames(ks, group.members),
      messages: held.length,
    });
    for (const m of held) {
      emit({
        event: "message",
        id: m.msgId!,
        from: m.senderId,
        from_name: userName(ks, m.senderId),
        group: group.groupId,
        group_name: group.name,
        text: m.text,
        sent_at: m.sentAt,
      });
    }
  }

  /**
   * Declines the group requests `userId` made (they were just blocked): the user leaves
   * each group.
   */
  async declineFrom(userId: number): Promise<void> {
    for (const invite of this.#d.ks.groupInvites()) {
      if (invite.byId === userId) await this.decline(invite);
    }
  }

  /**
   * After `block user`: their group requests are declined (the user leaves those groups).
   * A name that is not blocked (the block failed) declines nothing.
   */
  async declineBlocked(user: string): Promise<void> {
    const blocked = this.#d.ks.blockedByName(user);
    if (blocked !== null) await this.declineFrom(blocked.userId);
  }

  /** Leaves a group the user has not accepted, and says so. */
  async decline(invite: GroupInviteRecord): Promise<void> {
    await this.#leave(invite.groupId);
    this.#d.emit({
      event: "group_declined",
      group: invite.groupId,
      name: invite.name,
      by: invite.byId,
      by_name: invite.byName,
    });
  }

  /** Every pending group request, for the `requests` answer. */
  list(): { id: number; name: string; by: number; by_name: string; since: number }[] {
    return this.#d.ks.groupInvites().map((i) => ({
      id: i.groupId,
      name: i.name,
      by: i.byId,
      by_name: i.byName,
      since: i.invitedAt,
    }));
  }

  /**
   * Leaves a group on the server and marks it left here; its event, when it comes, is not
   * shown (the user knows).
   */
  async #leave(groupId: number): Promise<void> {
    const { ks, link } = this.#d;
    await link.live().request({ type: "leave_group", group_id: groupId });
    ks.removeGroupInvite(groupId);
    if (ks.group(groupId)?.isMember) ks.removeGroup(groupId, { by: ks.userId, how: "left" });
  }
}
