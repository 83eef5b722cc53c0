/**
 * Consent: who may reach the user. Each incoming message is screened by
 * `consent_rules.ts` (opened as usual, kept as a request, or dropped); requests wait in the
 * keystore until the user runs `accept` or `block`; received files are saved only from
 * contacts and up to the user's limit. The commands `accept`, `block`, `unblock`,
 * `requests` and `file_limit` are carried out here.
 *
 * A request keeps its messages as they came, sealed in the keystore (and acknowledged to
 * the server, so they are not delivered again). Each is opened once on arrival with the
 * keys the requester offered, so a forgery is rejected and the first text can be shown;
 * the offered key is not taken, and the requester is pinned but not a contact. A file from
 * a requester is never kept: it is refused and reported. Accepting makes the requester a
 * contact and replays what was kept through the inbox, as if it had just arrived.
 *
 * @module
 */

import type { MessageFrame } from "../../protocol/mod.ts";
import {
  E2eError,
  type FileMeta,
  openDirect,
  type OpenedDirect,
  type OpenedFriendKey,
  openFriendKey,
  parseEnvelopeType,
} from "../../e2e/mod.ts";
import { CLIENT_ERRORS, ClientError } from "./errors.ts";
import {
  FILE_LIMIT_SETTING,
  fileLimitFrom,
  type FileRefusal,
  fileRefusal,
  requestHasRoom,
  screenMessage,
} from "./consent_rules.ts";
import type { ClientEvent, EventSink } from "./events.ts";
import type { Friends } from "./friends.ts";
import type { FriendRecord, GroupRecord } from "../../keystore/keystore_types.ts";
import type { ConsentPort, FriendsPort } from "./ports.ts";
import type { Secrets } from "./secrets.ts";

/** The keystore as consent uses it. */
export type ConsentStore =
  & ConsentPort
  & Pick<FriendsPort, "userId" | "friend" | "friendByName" | "friendKey" | "setContact">;

/** What {@linkcode Consent} needs. */
export interface ConsentDeps {
  readonly ks: ConsentStore;
  readonly friends: Pick<Friends, "pin" | "lookup" | "verified">;
  readonly secrets: Pick<Secrets, "rsaPrivate">;
  readonly emit: EventSink;
  /**
   * Handles kept messages again, in order, as if they had just arrived (the inbox does);
   * resolves once they are handled, with the IDs of those to try again later.
   */
  replay(frames: readonly MessageFrame[]): Promise<readonly number[]>;
  /**
   * Runs `fn` once the messages received so far are handled (the inbox's queue): a request
   * that starts with a key is announced then, so that the message right behind the key is
   * announced with it, once. Default: at once.
   */
  afterQueued?(fn: () => void): void;
  /**
   * Hears that what `userId` is to the user changed (a contact, blocked, or neither), at
   * once, before anything the change leads to is sent (`contact_sync.ts` tells the server).
   */
  changed?(userId: number): void;
}

/** Refused files remembered (so each is reported once), before the oldest are forgotten. */
const _MAX_REFUSED = 1024;

/** The refusal to talk with a blocked user. */
export function blockedError(username: string): ClientError {
  return new ClientError(
    CLIENT_ERRORS.blocked,
    `You blocked ${username}; run "unblock ${username}" first`,
  );
}

/** Screens incoming messages and files; keeps requests; the consent commands. */
export class Consent {
  readonly #d: ConsentDeps;
  /** Keys offered by requesters, by user ID then key ID (opened from kept messages). */
  readonly #offers = new Map<number, Map<string, string>>();
  /** Requesters whose key came without text, not announced yet (see `#keep`). */
  readonly #keyOnly = new Set<number>();
  /** Files refused and reported, as `sender:file ID`. */
  readonly #refused = new Set<string>();

  constructor(deps: ConsentDeps) {
    this.#d = deps;
  }

  /**
   * Screens a message from another user before it is opened: "open" to handle it as usual,
   * "done" when it was kept as a request or dropped (a blocked sender). Throws, like
   * opening would, for a forged request, so the inbox reports it.
   */
  async screen(m: MessageFrame, envelopeType: string | null): Promise<"open" | "done"> {
    const { ks } = this.#d;
    const screening = screenMessage({
      envelopeType,
      contact: ks.friend(m.from)?.contact ?? false,
      blocked: ks.blocked(m.from) !== null,
    });
    if (screening === "open") return "open";
    if (screening === "request") await this.#keep(m, envelopeType);
    return "done";
  }

  /**
   * Whether a received file may be saved; if not, the user is told once per file (who,
   * what, how big, why) and its chunks are dropped.
   */
  admitFile(m: MessageFrame, file: FileMeta, group: GroupRecord | null): boolean {
    const sender = { contact: this.#d.ks.friend(m.from)?.contact ?? false };
    const reason = fileRefusal(file, sender, this.fileLimit);
    if (reason === null) return true;
    this.#refuse(m, file, group, reason);
    return false;
  }

  /** The largest file saved, in bytes (the user's setting, else the default). */
  get fileLimit(): number {
    return fileLimitFrom(this.#d.ks.setting(FILE_LIMIT_SETTING));
  }

  /** The `file_limit` command: sets the limit (unless null) and reports it. */
  setFileLimit(bytes: number | null): void {
    if (bytes !== null) this.#d.ks.setSetting(FILE_LIMIT_SETTING, String(bytes));
    this.#d.emit({ event: "file_limit", bytes: this.fileLimit });
  }

  /**
   * Makes `f` a contact (the user chose to talk to them): what they sent while asking is
   * handled now, in order, and their request is gone. Reported with `contact_added` when
   * there was a request, or when `announce`.
   *
   * @throws {ClientError} "blocked" for a blocked user.
   */
  async welcome(f: FriendRecord, announce = false): Promise<void> {
    const { ks, emit } = this.#d;
    if (ks.blocked(f.userId) !== null) throw blockedError(f.username);
    if (!f.contact) {
      ks.setContact(f.userId, true);
      this.#d.changed?.(f.userId);
    }
    const request = ks.request(f.userId);
    if (request === null && !announce) return;
    emit({
      event: "contact_added",
      user: f.username,
      id: f.userId,
      messages: request === null ? 0 : this.#kept(f.userId),
    });
    // The inbox may be keeping one more of theirs right now (screened before they became a
    // contact): after the replay it has, and it is replayed in turn.
    let failed = 0;
    const done = new Set<number>();
    for (let kept = ks.requestMessages(f.userId); kept.length > 0;) {
      failed += (await this.#d.replay(kept.map((r) => JSON.parse(r.frame) as MessageFrame)))
        .length;
      for (const r of kept) done.add(r.msgId);
      kept = ks.requestMessages(f.userId).filter((r) => !done.has(r.msgId));
    }
    // A message that failed for want of a connection stays kept, and the whole request is
    // handled again by settle() next time (what was handled is recognized then).
    if (failed === 0) ks.removeRequest(f.userId);
    this.#offers.delete(f.userId);
  }

  /**
   * Finishes requests left by an `accept` that did not complete (the client stopped
   * midway): their users are contacts already.
   */
  async settle(): Promise<void> {
    const { ks } = this.#d;
    for (const r of ks.requests()) {
      const f = ks.friend(r.userId);
      if (f?.contact) await this.welcome(f);
    }
  }

  /**
   * Writing to `user` (or adding them) is choosing to talk to them: they become a contact,
   * and their request, if any, is taken first (their key then serves, no new one is made).
   */
  async contact(user: string): Promise<void> {
    await this.welcome(await this.#d.friends.pin(user));
  }

  /** The `accept` command: `user` becomes a contact; what they sent is shown. */
  async accept(user: string): Promise<void> {
    await this.welcome(await this.#d.friends.pin(user), true);
  }

  /**
   * The `block` command: from now on nothing from `user` is shown or saved (dropped
   * without a word), and their request is forgotten; they are no longer a contact.
   */
  async block(user: string): Promise<void> {
    const { ks, friends, emit } = this.#d;
    const known = ks.friendByName(user) ?? ks.blockedByName(user);
    const who = known
      ? { id: known.userId, name: known.username }
      : await friends.lookup(user).then((u) => ({ id: u.user_id, name: u.username }));
    if (who.id === ks.userId) throw new ClientError(CLIENT_ERRORS.isSelf, "That is you");
    const dropped = ks.request(who.id) === null ? 0 : this.#kept(who.id);
    ks.block(who.id, who.name);
    this.#d.changed?.(who.id);
    this.#offers.delete(who.id);
    emit({ event: "blocked", user: who.name, id: who.id, dropped });
  }

  /** The `unblock` command: `user` is a stranger again (a new message is a request). */
  unblock(user: string): void {
    const { ks, emit } = this.#d;
    const pinned = ks.friendByName(user);
    const b = ks.blockedByName(user) ?? (pinned ? ks.blocked(pinned.userId) : null) ??
      (/^[0-9]{1,15}$/.test(user) ? ks.blocked(Number(user)) : null);
    if (b === null) {
      throw new ClientError(CLIENT_ERRORS.notFound, `${user} is not blocked`);
    }
    ks.unblock(b.userId);
    this.#d.changed?.(b.userId);
    emit({ event: "unblocked", user: b.username, id: b.userId });
  }

  /**
   * The `requests` command: pending requests, oldest first, blocked users, and the group
   * requests `groups` (group_consent.ts lists them).
   */
  list(groups: Extract<ClientEvent, { event: "requests" }>["groups"] = []): void {
    const { ks, emit } = this.#d;
    emit({
      event: "requests",
      requests: ks.requests().map((r) => ({
        id: r.userId,
        user: r.username,
        text: r.preview,
        messages: this.#kept(r.userId),
        since: r.firstAt,
      })),
      blocked: ks.blockedUsers().map((b) => ({ id: b.userId, user: b.username })),
      groups,
    });
  }

  /** Keeps a friend key or direct message from someone who is not a contact. */
  async #keep(m: MessageFrame, envelopeType: string | null): Promise<void> {
    const { ks, emit } = this.#d;
    const before = ks.request(m.from);
    if (before !== null && !requestHasRoom(before.messages)) return;
    const f = await this.#d.friends.pin(m.from);
    let text: string | null = null;
    if (envelopeType === "friend_key") {
      const offer = await this.#openOffer(m);
      (await this.#offered(m.from)).set(offer.kid, offer.fernetKey);
    } else {
      const opened = await this.#peek(m);
      if (opened?.kind === "file") return this.#refuse(m, opened.chunk.file, null, "not_contact");
      text = opened?.text ?? null;
    }
    if (!ks.addRequestMessage(m.from, m.msg_id, JSON.stringify(m))) return;
    // A key can come after the message it opens (another connection of the sender sent it, or
    // it was stored later): then what they wrote can be read now.
    if (envelopeType === "friend_key" && before?.preview === null) {
      text = await this.#firstText(m.from);
    }
    const previewSet = text !== null && ks.setRequestPreview(m.from, text);
    if (before !== null && !previewSet) return;
    const announce = () => {
      const r = ks.request(m.from);
      if (r === null) return; // accepted or blocked meanwhile
      emit({
        event: "request",
        user: f.username,
        id: f.userId,
        text: r.preview,
        messages: this.#kept(m.from),
      });
    };
    if (previewSet || envelopeType !== "friend_key") return announce();
    // Only a key so far: their first message is usually right behind it. Announce once the
    // queue is handled, unless that message announced the request already.
    const pending = this.#keyOnly;
    pending.add(m.from);
    const later = this.#d.afterQueued ?? ((fn: () => void) => fn());
    later(() => {
      if (pending.delete(m.from) && ks.request(m.from)?.preview === null) announce();
    });
  }

  /** The first text among `userId`'s kept messages that can be read now, if any. */
  async #firstText(userId: number): Promise<string | null> {
    for (const r of this.#d.ks.requestMessages(userId)) {
      const kept = JSON.parse(r.frame) as MessageFrame;
      if (parseEnvelopeType(kept.body) === "friend_key") continue;
      const opened = await this.#peek(kept).catch(() => null);
      if (opened?.kind === "text") return opened.text;
    }
    return null;
  }

  /** How many messages `userId`'s request keeps: what they wrote, not the keys they offered. */
  #kept(userId: number): number {
    return this.#d.ks.requestMessages(userId)
      .filter((r) => parseEnvelopeType((JSON.parse(r.frame) as MessageFrame).body) !== "friend_key")
      .length;
  }

  /** Opens a friend key a requester offered (checking its signature); nothing is stored. */
  async #openOffer(m: MessageFrame): Promise<OpenedFriendKey> {
    const { ks, secrets } = this.#d;
    return await this.#d.friends.verified(m.from, (identity) =>
      openFriendKey(m.body, {
        fromId: m.from,
        toId: ks.userId,
        recipientRsaPrivate: secrets.rsaPrivate,
        senderIdentityPublic: identity,
      }));
  }

  /** Opens a requester's direct message with the keys they offered; null without its key. */
  async #peek(m: MessageFrame): Promise<OpenedDirect | null> {
    const { ks } = this.#d;
    const offered = await this.#offered(m.from);
    try {
      return await this.#d.friends.verified(m.from, (identity) =>
        openDirect(m.body, {
          fromId: m.from,
          toId: ks.userId,
          keysByKid: (kid) => offered.get(kid) ?? ks.friendKey(m.from, kid)?.key,
          senderIdentityPublic: identity,
          clientMsgId: m.client_msg_id ?? "",
        }));
    } catch (err) {
      if (err instanceof E2eError && err.code === "no_key") return null;
      throw err;
    }
  }

  /** The keys a requester offered, opened from their kept messages once per session. */
  async #offered(userId: number): Promise<Map<string, string>> {
    let keys = this.#offers.get(userId);
    if (keys) return keys;
    keys = new Map();
    this.#offers.set(userId, keys);
    for (const r of this.#d.ks.requestMessages(userId)) {
      const m = JSON.parse(r.frame) as MessageFrame;
      if (parseEnvelopeType(m.body) !== "friend_key") continue;
      try {
        const offer = await this.#openOffer(m);
        keys.set(offer.kid, offer.fernetKey);
      } catch {
        // checked when it was kept; unreadable now (keys changed since): not usable
      }
    }
    return keys;
  }

  /** Reports a refused file once. */
  #refuse(m: MessageFrame, file: FileMeta, group: GroupRecord | null, reason: FileRefusal) {
    const { ks } = this.#d;
    const key = `${m.from}:${file.id}`;
    if (this.#refused.has(key)) return;
    if (this.#refused.size >= _MAX_REFUSED) this.#refused.clear();
    this.#refused.add(key);
    const from = ks.friend(m.from)?.username ?? `#${m.from}`;
    const limit = this.fileLimit;
    this.#d.emit({
      event: "file_refused",
      from: m.from,
      from_name: from,
      group: group?.groupId ?? null,
      group_name: group?.name ?? null,
      name: file.name,
      size: file.size,
      reason,
      limit,
      message: reason === "too_large"
        ? `${file.name} from ${from} (${_mib(file.size)}) was not saved: it is larger than ` +
          `your limit of ${_mib(limit)} ("file_limit MB" raises it; then ask for it again)`
        : `${file.name} from ${from} (${_mib(file.size)}) was not saved: ${from} is not a ` +
          `contact ("accept ${from}" or "add_friend ${from}", then ask for it again)`,
    });
  }
}

function _mib(bytes: number): string {
  if (bytes < 1024 * 1024) return `${bytes} bytes`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
