/**
 * What each incoming message means: a friend key, a group key, a direct or group message (a
 * text or a file chunk), or a group event from the server. Envelopes are opened and their
 * signatures checked against the sender's pinned identity key; the result is stored and
 * reported. A message whose key has not arrived yet answers "wait" (the inbox parks it).
 * Before any of that, consent (`consent.ts`) screens the sender: a message from someone who
 * is not a contact is kept as a request, one from a blocked user is dropped, and a file is
 * saved only if consent admits it. Being put in a group is screened too (`group_consent.ts`):
 * a group a stranger put the user in is a request, and its messages are stored but not
 * shown until the user accepts.
 *
 * @module
 */

import { GROUP_EVENTS } from "../../protocol/mod.ts";
import type { MessageFrame } from "../../protocol/mod.ts";
import {
  E2eError,
  openDirect,
  type OpenedContent,
  openFriendKey,
  openGroup,
  openGroupKey,
  parseEnvelopeType,
} from "../../e2e/mod.ts";
import type { Consent } from "./consent.ts";
import { screenGroupJoin } from "./consent_rules.ts";
import { CLIENT_ERRORS, ClientError } from "./errors.ts";
import type { EventSink } from "./events.ts";
import type { FileTransfer } from "./file_transfer.ts";
import type { Friends } from "./friends.ts";
import type { GroupKeys } from "./group_keys.ts";
import type { GroupConsent } from "./group_consent.ts";
import type { Handled } from "./inbox.ts";
import { type GroupChange, groupKeyPlan, groupKeyRefusal, isMember } from "./key_rules.ts";
import type { GroupLeaving, GroupRecord } from "../../keystore/keystore_types.ts";
import { userName, userNames } from "./lookup.ts";
import type { KeystorePort } from "./ports.ts";
import type { Secrets } from "./secrets.ts";

/** What {@linkcode Incoming} needs. */
export interface IncomingDeps {
  readonly ks: KeystorePort;
  readonly secrets: Secrets;
  readonly friends: Friends;
  readonly groupKeys: GroupKeys;
  readonly files: Pick<FileTransfer, "receive">;
  readonly consent: Pick<Consent, "screen" | "admitFile">;
  readonly groupConsent: Pick<GroupConsent, "pending" | "request" | "refuse">;
  readonly emit: EventSink;
  /** A key arrived: messages parked for one may open now. */
  keyArrived(): void;
}

/** A group event's body, as the server writes it. */
interface _GroupEvent {
  event: GroupChange;
  group: { id: number; name: string; admin: number; members: number[] };
  user_id: number;
  by: number;
}

/** Handles incoming messages by kind. */
export class Incoming {
  readonly #d: IncomingDeps;

  constructor(deps: IncomingDeps) {
    this.#d = deps;
  }

  /** Handles one message; throws to reject it. */
  async handle(m: MessageFrame): Promise<Handled> {
    if (m.kind === "group_event") return await this.#groupEvent(m);
    const type = parseEnvelopeType(m.body);
    if (await this.#d.consent.screen(m, type) === "done") return "done";
    if (m.kind === "key" && type === "friend_key") return await this.#friendKey(m);
    if (m.kind === "key" && type === "group_key") return await this.#groupKey(m);
    if (m.kind === "direct" && type === "dm") return await this.#direct(m);
    if (m.kind === "group" && type === "gm") return await this.#group(m);
    throw new ClientError(
      CLIENT_ERRORS.badMessage,
      `Unexpected ${m.kind} message of type ${type ?? "unknown"}`,
    );
  }

  /** Shows a stored incoming text message that this process has not shown yet. */
  reshow(msgId: number): void {
    const { ks } = this.#d;
    const r = ks.incoming(msgId);
    if (r === null || r.file !== null) return;
    const group = r.kind === "group" ? ks.group(r.peerId) : null;
    if (group !== null && this.#d.groupConsent.pending(group.groupId)) return;
    this.#d.emit({
      event: "message",
      id: msgId,
      from: r.senderId,
      from_name: userName(ks, r.senderId),
      group: group?.groupId ?? null,
      group_name: group?.name ?? null,
      text: r.text,
      sent_at: r.sentAt,
    });
  }

  async #friendKey(m: MessageFrame): Promise<Handled> {
    const { ks, secrets } = this.#d;
    const opened = await this.#d.friends.verified(m.from, (identity) =>
      openFriendKey(m.body, {
        fromId: m.from,
        toId: ks.userId,
        recipientRsaPrivate: secrets.rsaPrivate,
        senderIdentityPublic: identity,
      }));
    this.#d.friends.receiveKey(m.from, opened);
    this.#d.keyArrived();
    return "done";
  }

  async #groupKey(m: MessageFrame): Promise<Handled> {
    const { ks, secrets } = this.#d;
    const group = m.group_id !== null ? ks.group(m.group_id) : null;
    if (!group) return "wait"; // the group's event may come by another server
    const refusal = groupKeyRefusal(group, m.from);
    if (refusal !== null) throw new ClientError(CLIENT_ERRORS.badMessage, refusal);
    const opened = await this.#d.friends.verified(m.from, (identity) =>
      openGroupKey(m.body, {
        fromId: m.from,
        toId: ks.userId,
        recipientRsaPrivate: secrets.rsaPrivate,
        senderIdentityPublic: identity,
      }));
    this.#d.groupKeys.receive(group, m.from, opened);
    this.#d.keyArrived();
    return "done";
  }

  async #direct(m: MessageFrame): Promise<Handled> {
    const { ks } = this.#d;
    let opened;
    try {
      opened = await this.#d.friends.verified(m.from, (identity) =>
        openDirect(m.body, {
          fromId: m.from,
          toId: ks.userId,
          keysByKid: (kid) => ks.friendKey(m.from, kid)?.key,
          senderIdentityPublic: identity,
          clientMsgId: m.client_msg_id ?? "",
        }));
    } catch (err) {
      if (err instanceof E2eError && err.code === "no_key") return "wait";
      throw err;
    }
    await this.#received(m, opened, null);
    return "done";
  }

  async #group(m: MessageFrame): Promise<Handled> {
    const { ks } = this.#d;
    const group = m.group_id !== null ? ks.group(m.group_id) : null;
    if (!group) return "wait";
    let opened;
    try {
      opened = await this.#d.friends.verified(m.from, (identity) =>
        openGroup(m.body, {
          fromId: m.from,
          groupId: group.groupId,
          keyForEpoch: (epoch) => ks.groupKey(group.groupId, epoch) ?? undefined,
          senderIdentityPublic: identity,
          clientMsgId: m.client_msg_id ?? "",
        }));
    } catch (err) {
      if (err instanceof E2eError && err.code === "no_key") return "wait";
      throw err;
    }
    await this.#received(m, opened, group);
    return "done";
  }

  /**
   * Stores and shows an opened direct (`group` null) or group message; a file chunk goes to
   * reassembly. The same sender and client message ID again is a replay and is dropped.
   */
  async #received(m: MessageFrame, opened: OpenedContent, group: GroupRecord | null) {
    const { ks } = this.#d;
    const held = group !== null && this.#d.groupConsent.pending(group.groupId);
    if (opened.kind === "file") {
      // A file in a group the user has not accepted is not taken (as from a stranger).
      if (held) return;
      if (!this.#d.consent.admitFile(m, opened.chunk.file, group)) return;
      return await this.#d.files.receive(m, opened.chunk, group);
    }
    const stored = ks.addIncoming({
      msgId: m.msg_id,
      clientMsgId: m.client_msg_id,
      kind: group ? "group" : "direct",
      peerId: group ? group.groupId : m.from,
      senderId: m.from,
      text: opened.text,
      sentAt: m.sent_at,
    });
    if (!stored) {
      // Stored already: by another client of this keystore under this very message ID (show
      // it here too), or under another ID (a server replaying an old message: dropped).
      if (ks.incoming(m.msg_id) !== null) this.reshow(m.msg_id);
      return;
    }
    // Stored, shown once the user accepts the group.
    if (held) return;
    this.#d.emit({
      event: "message",
      id: m.msg_id,
      from: m.from,
      from_name: userName(ks, m.from),
      group: group?.groupId ?? null,
      group_name: group?.name ?? null,
      text: opened.text,
      sent_at: m.sent_at,
    });
  }

  async #groupEvent(m: MessageFrame): Promise<Handled> {
    const { ks, friends, groupConsent } = this.#d;
    const ev = JSON.parse(m.body) as _GroupEvent;
    // An event this client does not know (a newer server) is acknowledged and left alone.
    if (!(GROUP_EVENTS as readonly string[]).includes(ev.event)) return "done";
    const g = ev.group;
    const iAmIn = isMember(ks.userId, g.members);
    const before = ks.group(g.id);
    const wasPending = before !== null && groupConsent.pending(g.id);
    let record = ks.upsertGroup({
      groupId: g.id,
      name: g.name,
      adminId: g.admin,
      members: g.members,
    });
    if (!iAmIn) {
      ks.removeGroup(g.id, { by: ev.by, how: _leaving(ev.event) });
      ks.removeGroupInvite(g.id);
      record = ks.group(g.id)!;
    }
    // Members are looked up (and pinned) once, so receipts and lists name them.
    for (const id of g.members) await friends.nameOf(id);
    const who = await friends.nameOf(ev.user_id);
    const by = ev.by === ev.user_id ? who : await friends.nameOf(ev.by);
    const joining = iAmIn
      ? screenGroupJoin({
        myId: ks.userId,
        change: ev.event,
        userId: ev.user_id,
        by: ev.by,
        contact: ks.friend(ev.by)?.contact ?? false,
        blocked: ks.blocked(ev.by) !== null,
      })
      : "none";
    // Not shown: a group the user has not accepted (or was put in by a blocked user), or
    // one the user left here already (declined: the user knows).
    const quiet = wasPending || joining === "request" || joining === "leave" ||
      (!iAmIn && before !== null && !before.isMember);
    if (!quiet) {
      this.#d.emit({
        event: "group",
        group: g.id,
        name: g.name,
        change: ev.event,
        user: ev.user_id,
        user_name: who,
        by: ev.by,
        members: g.members,
        admin: g.admin,
        by_name: by,
        admin_name: userName(ks, g.admin),
        member_names: userNames(ks, g.members),
      });
    }
    if (joining === "leave") {
      await groupConsent.refuse(record, ev.by, by);
      return "done";
    }
    if (joining === "request") groupConsent.request(record, ev.by, by);
    const plan = groupKeyPlan({
      change: ev.event,
      myId: ks.userId,
      adminId: g.admin,
      members: g.members,
      userId: ev.user_id,
      hasKey: ks.currentGroupKey(g.id) !== null,
    });
    await this.#d.groupKeys.apply(record, plan);
    return "done";
  }
}

/** How a membership ended, from the event that ended it. */
function _leaving(change: GroupChange): GroupLeaving {
  if (change === "deleted") return "deleted";
  if (change === "left") return "left";
  return "removed";
}
