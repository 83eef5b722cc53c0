/**
 * Reading the messages the keystore holds: a conversation's history, and which failed
 * messages `resend` means. Conversations are named by friend name or group ID/name; a group
 * the user left still has its history, one not accepted yet has none to show.
 *
 * @module
 */

import type { ClientCommand } from "./commands.ts";
import { CLIENT_ERRORS, ClientError } from "./errors.ts";
import type { ClientEvent } from "./events.ts";
import type { MessageRecord } from "../../keystore/keystore_types.ts";
import { groupIncludingLeft, userName } from "./lookup.ts";
import type { KeystorePort } from "./ports.ts";

/**
 * The `history` answer: the last `count` messages with `target`.
 *
 * @throws {ClientError} "not_found" (no such friend or group) or "not_member" (a group not
 * accepted yet: its messages are not shown).
 */
export function historyEvent(
  ks: KeystorePort,
  pending: (groupId: number) => boolean,
  target: string,
  count: number,
): Extract<ClientEvent, { event: "history" }> {
  const group = groupIncludingLeft(ks, target);
  if (group !== null && pending(group.groupId)) {
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
  return {
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
  };
}

/**
 * The failed text messages `resend` sends again: of one conversation (`target`), one of
 * them (`index`, 1 the newest, or `clientMsgId`), or all.
 *
 * @throws {ClientError} "not_found" when there is no such conversation or message.
 */
export function failedToResend(
  ks: KeystorePort,
  cmd: Omit<Extract<ClientCommand, { name: "resend" }>, "name">,
): MessageRecord[] {
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
  return failed;
}
