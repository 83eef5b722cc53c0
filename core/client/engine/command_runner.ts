/**
 * The commands (`commands.ts` parses them) carried out by the engine's parts: each one a few
 * lines of calls into friends, group keys, the sender or file transfer, answered with
 * events. A failure becomes an `error` event, never an exception.
 *
 * @module
 */

import { LIMITS } from "../../protocol/mod.ts";
import type { ClientCommand } from "./commands.ts";
import { helpText } from "./commands.ts";
import type { Connection } from "./connection.ts";
import type { Consent } from "./consent.ts";
import { CLIENT_ERRORS, ClientError, errorCode } from "./errors.ts";
import type { EventSink } from "./events.ts";
import type { FileTransfer } from "./file_transfer.ts";
import type { Friends } from "./friends.ts";
import type { GroupConsent } from "./group_consent.ts";
import type { GroupKeys } from "./group_keys.ts";
import type { GroupRecord } from "../../keystore/keystore_types.ts";
import { findGroup, groupIncludingLeft, maybeGroup, userName, userNames } from "./lookup.ts";
import type { KeystorePort } from "./ports.ts";
import type { Sender } from "./sender.ts";

/** What {@linkcode CommandRunner} needs. */
export interface CommandRunnerDeps {
  readonly ks: KeystorePort;
  readonly link: Pick<Connection, "connected" | "serverId" | "live" | "logout">;
  readonly friends: Friends;
  readonly groupKeys: GroupKeys;
  readonly sender: Sender;
  readonly files: FileTransfer;
  readonly consent: Consent;
  readonly groupConsent: GroupConsent;
  readonly emit: EventSink;
}

/** Runs commands. */
export class CommandRunner {
  readonly #d: CommandRunnerDeps;

  constructor(deps: CommandRunnerDeps) {
    this.#d = deps;
  }

  /** Runs one command; errors become `error` events. */
  async run(cmd: ClientCommand): Promise<void> {
    try {
      await this.#run(cmd);
    } catch (err) {
      const code = errorCode(err);
      this.#d.emit({ event: "error", message: (err as Error).message, ...(code ? { code } : {}) });
    }
  }

  async #run(cmd: ClientCommand): Promise<void> {
    const { ks, link, friends, emit } = this.#d;
    switch (cmd.name) {
      case "help":
        return emit({ event: "help", text: helpText() });
      case "whoami":
        return emit({
          event: "whoami",
          user: ks.username,
          id: ks.userId,
          server: link.serverId,
          connected: link.connected,
        });
      case "quit":
        return;
      case "logout":
        return await link.logout();
      case "friends":
        return emit({
          event: "friends",
          friends: ks.contacts().map((f) => ({
            id: f.userId,
            user: f.username,
            verified_keys: f.pendingKeyChange === null,
            verified: f.verifiedAt !== null,
          })),
        });
      case "groups": {
        // A group the user has not accepted is a request, not one of theirs yet.
        const mine = ks.groups().filter((g) => !this.#d.groupConsent.pending(g.groupId));
        // Members are looked up (and pinned) once, so the list names them.
        for (const g of mine) for (const id of [g.adminId, ...g.members]) await friends.nameOf(id);
        return emit({
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
      case "add_friend":
        await this.#contact(cmd.user);
        return await friends.add(cmd.user);
      case "single_message":
        await this.#contact(cmd.user);
        return await this.#d.sender.sendDirect(await friends.ensure(cmd.user), cmd.text);
      case "group_message":
        return await this.#d.sender.sendGroup(this.#memberOf(cmd.group), cmd.text);
      case "create_group":
        return await this.#createGroup(cmd.group, cmd.users);
      case "add_member": {
        const group = findGroup(ks, cmd.group);
        const user = await friends.pin(cmd.user);
        await link.live().request({
          type: "add_member",
          group_id: group.groupId,
          user_id: user.userId,
        });
        return;
      }
      case "remove_member": {
        const group = findGroup(ks, cmd.group);
        const user = await friends.pin(cmd.user);
        await link.live().request({
          type: "remove_member",
          group_id: group.groupId,
          user_id: user.userId,
        });
        return;
      }
      case "transfer_group": {
        const group = findGroup(ks, cmd.group);
        const user = await friends.pin(cmd.user);
        await link.live().request({
          type: "transfer_group",
          group_id: group.groupId,
          user_id: user.userId,
        });
        return;
      }
      case "delete_group": {
        const group = findGroup(ks, cmd.group);
        await link.live().request({ type: "delete_group", group_id: group.groupId });
        return;
      }
      case "leave_group": {
        const group = findGroup(ks, cmd.group);
        // Leaving a group not accepted yet declines it.
        const invite = ks.groupInvite(group.groupId);
        if (invite !== null) return await this.#d.groupConsent.decline(invite);
        await link.live().request({ type: "leave_group", group_id: group.groupId });
        return;
      }
      case "send_file":
        return await this.#sendFile(cmd.target, cmd.path);
      case "history":
        return this.#history(cmd.target, cmd.count);
      case "resend":
        return await this.#resend(cmd);
      case "fingerprint": {
        const f = await friends.ensure(cmd.user, false);
        return emit({
          event: "fingerprint",
          user: f.username,
          id: f.userId,
          safety_number: friends.safetyNumber(
            f.userId,
            f.pendingKeyChange?.identityKey ?? f.identityKey,
          ),
        });
      }
      case "accept_key": {
        const f = ks.friendByName(cmd.user);
        if (!f) throw new ClientError(CLIENT_ERRORS.notFound, `${cmd.user} is not a friend`);
        if (!f.pendingKeyChange) {
          throw new ClientError(CLIENT_ERRORS.keysUnchanged, `${cmd.user}'s keys have not changed`);
        }
        ks.acceptKeyChange(f.userId);
        emit({ event: "key_accepted", user: f.username, id: f.userId });
        // The old shared key was agreed with the old keys: agree a new one.
        return await friends.offerKey(f.userId);
      }
      case "verify": {
        const f = await friends.pin(cmd.user);
        if (f.pendingKeyChange) {
          throw new ClientError(
            CLIENT_ERRORS.keysChanged,
            `${f.username}'s keys have changed: compare the new safety number ("fingerprint ` +
              `${f.username}"), run "accept_key ${f.username}", then "verify ${f.username}"`,
          );
        }
        const v = ks.verifyFriend(f.userId);
        return emit({
          event: "verified",
          user: v.username,
          id: v.userId,
          safety_number: friends.safetyNumber(v.userId, v.identityKey),
        });
      }
      case "requests":
        return this.#d.consent.list(this.#d.groupConsent.list());
      case "accept": {
        // A group request by that name (and no person asking by it) is the group's.
        const invite = this.#d.groupConsent.find(cmd.user);
        const person = invite !== null && LIMITS.usernamePattern.test(cmd.user)
          ? ks.friendByName(cmd.user)
          : null;
        if (invite !== null && (person === null || ks.request(person.userId) === null)) {
          return this.#d.groupConsent.accept(invite);
        }
        return await this.#d.consent.accept(cmd.user);
      }
      case "block": {
        await this.#d.consent.block(cmd.user);
        // Their group requests are declined: the user leaves those groups.
        const blocked = ks.blockedByName(cmd.user);
        if (blocked !== null) await this.#d.groupConsent.declineFrom(blocked.userId);
        return;
      }
      case "unblock":
        return this.#d.consent.unblock(cmd.user);
      case "file_limit":
        return this.#d.consent.setFileLimit(cmd.bytes);
    }
  }

  /**
   * Writing to someone (or adding them) is choosing to talk to them: they become a contact,
   * and their request, if any, is taken first (their key then serves, no new one is made).
   */
  async #contact(user: string): Promise<void> {
    await this.#d.consent.welcome(await this.#d.friends.pin(user));
  }

  /**
   * The group named `ref` that the user may write to. One the user is no longer in, or has
   * not accepted yet, is refused with a message that says so (not "no group").
   *
   * @throws {ClientError} "not_found", "ambiguous" or "not_member".
   */
  #memberOf(ref: string): GroupRecord {
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

  async #createGroup(name: string, users: readonly string[]): Promise<void> {
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

  async #sendFile(target: string, path: string): Promise<void> {
    const { ks, friends, files } = this.#d;
    const file = await files.read(path);
    const group = maybeGroup(ks, target);
    if (!group) await this.#contact(target);
    await files.send(
      file,
      path,
      group
        ? { group, label: group.name }
        : { friend: await friends.ensure(target), label: target },
    );
  }

  /** Sends failed messages again: of one conversation, or one of them, or all. */
  async #resend(cmd: Extract<ClientCommand, { name: "resend" }>): Promise<void> {
    const { ks } = this.#d;
    let failed = ks.failed().filter((m) => m.file === null);
    let where = "";
    if (cmd.target !== null) {
      const group = groupIncludingLeft(ks, cmd.target);
      const friend = group ? null : ks.friendByName(cmd.target);
      if (!group && !friend) {
        throw new ClientError(CLIENT_ERRORS.notFound, `No friend or group "${cmd.target}"`);
      }
      failed = failed.filter((m) =>
        group
          ? m.kind === "group" && m.peerId === group.groupId
          : m.kind === "direct" && m.peerId === friend!.userId
      );
      where = ` to ${group ? group.name : friend!.username}`;
    }
    if (cmd.clientMsgId !== undefined) {
      failed = failed.filter((m) => m.clientMsgId === cmd.clientMsgId);
    }
    if (failed.length === 0) {
      throw new ClientError(CLIENT_ERRORS.notFound, `No failed messages${where} to resend`);
    }
    if (cmd.index !== null) {
      const one = failed[failed.length - cmd.index];
      if (one === undefined) {
        throw new ClientError(
          CLIENT_ERRORS.notFound,
          `There are ${failed.length} failed messages${where}; N must be 1 to ${failed.length}`,
        );
      }
      failed = [one];
    }
    await this.#d.sender.resend(failed);
  }

  #history(target: string, count: number): void {
    const { ks } = this.#d;
    const group = groupIncludingLeft(ks, target);
    if (group !== null && this.#d.groupConsent.pending(group.groupId)) {
      throw new ClientError(
        CLIENT_ERRORS.notMember,
        `You have not joined group "${group.name}" yet ("accept ${group.name}" joins it)`,
      );
    }
    const friend = group ? null : ks.friendByName(target);
    if (!group && !friend) {
      throw new ClientError(CLIENT_ERRORS.notFound, `No friend or group "${target}"`);
    }
    const rows = group
      ? ks.history("group", group.groupId, count)
      : ks.history("direct", friend!.userId, count);
    this.#d.emit({
      event: "history",
      target,
      messages: rows.map((r) => ({
        id: r.msgId,
        from: r.senderId,
        from_name: userName(ks, r.senderId),
        text: r.text,
        sent_at: r.sentAt,
        state: r.state,
        file: r.file?.path ?? null,
        file_name: r.file?.name ?? null,
        file_size: r.file?.size ?? null,
        client_msg_id: r.clientMsgId,
      })),
    });
  }
}
