/**
 * Friends and their keys: public keys pinned on first use from the server's directory (a
 * later change is reported loudly and blocks encryption until the user accepts it), and the
 * Fernet key each pair shares, offered wrapped with RSA-OAEP for the friend and signed with
 * the user's identity key. Which of two offers wins is `key_rules.ts`'s decision.
 *
 * Pinning a user does not make them a contact (someone the user chose to talk to):
 * `consent.ts` decides that. A contact the user verified (safety numbers compared) whose
 * keys change is reported louder still.
 *
 * @module
 */

import {
  fromBase64Url,
  generateFernetKey,
  importRsaPublicKey,
  safetyNumber,
} from "../../crypto/mod.ts";
import type { UserFrame } from "../../protocol/mod.ts";
import type { LiveConnection } from "./connection.ts";
import { E2eError, fernetKeyId, type OpenedFriendKey, sealFriendKey } from "../../e2e/mod.ts";
import { CLIENT_ERRORS, ClientError, RequestError } from "./errors.ts";
import type { EventSink } from "./events.ts";
import { friendKeyMessageId, friendKeyWins, type KeyAge } from "./key_rules.ts";
import type { FriendRecord } from "../../keystore/keystore_types.ts";
import type { FriendsPort } from "./ports.ts";
import type { Secrets } from "./secrets.ts";
import type { Tracker } from "./tracker.ts";

/** The refusal to encrypt to a friend whose keys changed and are not accepted yet. */
export function keysChangedError(username: string): ClientError {
  return new ClientError(
    CLIENT_ERRORS.keysChanged,
    `${username}'s keys have changed; compare safety numbers ("fingerprint ${username}") ` +
      `and run "accept_key ${username}" before sending`,
  );
}

/** What {@linkcode Friends} needs. */
export interface FriendsDeps {
  readonly ks: FriendsPort;
  readonly link: LiveConnection;
  readonly emit: EventSink;
  readonly secrets: Secrets;
  /** Key offers are tracked like messages, so the client waits for them before exiting. */
  readonly tracker: Tracker;
  /** The clock of key timestamps (default `Date.now`). */
  now?(): number;
}

/** Friends, pinned keys and shared keys. */
export class Friends {
  readonly #now: () => number;
  readonly #ks: FriendsPort;
  readonly #link: LiveConnection;
  readonly #emit: EventSink;
  readonly #secrets: Secrets;
  readonly #tracker: Tracker;
  /** My key offers not yet accepted by the server, by friend ID. */
  readonly #offers = new Map<number, KeyAge & { kid: string }>();

  constructor(deps: FriendsDeps) {
    this.#now = deps.now ?? Date.now;
    this.#ks = deps.ks;
    this.#link = deps.link;
    this.#emit = deps.emit;
    this.#secrets = deps.secrets;
    this.#tracker = deps.tracker;
  }

  /**
   * Looks a user up and pins their keys on first use; returns the friend record. A user
   * pinned here is not a contact (yet).
   */
  async pin(who: string | number): Promise<FriendRecord> {
    const ks = this.#ks;
    const known = typeof who === "number" ? ks.friend(who) : ks.friendByName(who);
    if (known) return known;
    const u = await this.lookup(who);
    if (u.user_id === ks.userId) throw new ClientError(CLIENT_ERRORS.isSelf, "That is you");
    return ks.friend(u.user_id) ?? ks.addFriend({
      userId: u.user_id,
      username: u.username,
      rsaPublicKey: u.rsa_public_key,
      identityKey: u.identity_key,
      contact: false,
    });
  }

  /** A user's name, pinning them if needed; `#id` when the directory cannot say. */
  async nameOf(userId: number): Promise<string> {
    if (userId === this.#ks.userId) return this.#ks.username;
    try {
      return (await this.pin(userId)).username;
    } catch {
      return `#${userId}`;
    }
  }

  /** The `add_friend` command: shares a key unless one is shared already. */
  async add(user: string): Promise<void> {
    const f = await this.pin(user);
    if (this.#ks.activeFriendKey(f.userId)) {
      this.#emit({ event: "friend", user: f.username, id: f.userId, initiated_by: "me" });
      return;
    }
    await this.offerKey(f.userId, true);
  }

  /** A friend with a shared key (made and sent first when there is none, unless `needKey` is false). */
  async ensure(user: string, needKey = true): Promise<FriendRecord> {
    const f = await this.pin(user);
    if (needKey && !this.#ks.activeFriendKey(f.userId)) await this.offerKey(f.userId);
    return this.#ks.friend(f.userId)!;
  }

  /**
   * Makes a Fernet key, keeps it, and sends it wrapped and signed. Reported with `friend`
   * only when `announce` (the user ran `add_friend`): a key sent before a first message, or
   * after `accept_key`, is not something the user asked about.
   */
  async offerKey(friendId: number, announce = false): Promise<void> {
    const ks = this.#ks;
    const f = ks.friend(friendId)!;
    if (!ks.friendKeysUsable(friendId)) throw keysChangedError(f.username);
    const key = generateFernetKey();
    const kid = fernetKeyId(key);
    // Kept for reading, but used for sending only once the server has accepted the offer,
    // so a failed send never leaves us encrypting with a key the friend never got.
    const createdAt = this.#now();
    ks.addFriendKey(friendId, kid, key, { active: false, createdAt });
    this.#offers.set(friendId, { kid, createdAt });
    const body = sealFriendKey({
      fromId: ks.userId,
      toId: friendId,
      fernetKey: key,
      recipientRsaPublic: importRsaPublicKey(f.rsaPublicKey),
      senderIdentitySecret: this.#secrets.identitySecret,
    });
    await this.#tracker.track(
      this.#link.live().request({
        type: "key",
        to: friendId,
        body,
        client_msg_id: friendKeyMessageId(kid),
      }),
    );
    // The friend's own offer may have crossed ours meanwhile and won.
    if (this.#offers.get(friendId)?.kid === kid) this.#offers.delete(friendId);
    if (!ks.activeFriendKey(friendId)) ks.setActiveFriendKey(friendId, kid);
    if (announce) {
      this.#emit({ event: "friend", user: f.username, id: friendId, initiated_by: "me" });
    }
  }

  /** Keeps a friend key received from `from`, active if it wins over mine. */
  receiveKey(from: number, opened: OpenedFriendKey): void {
    const ks = this.#ks;
    const mine = ks.activeFriendKey(from) ?? this.#offers.get(from) ?? null;
    const adopt = friendKeyWins({ fromId: from, offeredAt: opened.ts }, mine, ks.userId);
    ks.addFriendKey(from, opened.kid, opened.fernetKey, { active: adopt });
    if (adopt) this.#offers.delete(from);
    const f = ks.friend(from)!;
    this.#emit({ event: "friend", user: f.username, id: f.userId, initiated_by: "them" });
  }

  /**
   * Re-reads the published keys of every pinned user, so a change is noticed at every
   * login and every periodic check (`key_watch.ts`).
   */
  async refreshKeys(): Promise<void> {
    for (const f of this.#ks.friends()) {
      try {
        this.observeKeys(await this.lookup(f.userId));
      } catch {
        // the directory cannot answer for this user now: try again next time
      }
    }
  }

  /** Notes a user's published keys; a change from the pinned ones is reported loudly. */
  observeKeys(u: UserFrame): void {
    const ks = this.#ks;
    const before = ks.friend(u.user_id);
    if (!before) return;
    const keys = { rsaPublicKey: u.rsa_public_key, identityKey: u.identity_key };
    if (ks.observeFriendKeys(u.user_id, keys) !== "changed" || before.pendingKeyChange) return;
    const verified = before.verifiedAt !== null;
    this.#emit({
      event: "key_changed",
      user: u.username,
      id: u.user_id,
      safety_number: this.safetyNumber(u.user_id, u.identity_key),
      message: verified ? _verifiedChanged(u.username) : _changed(u.username),
      verified,
    });
  }

  /** The `friends` command: the user's contacts, with whether their keys are settled. */
  list(): void {
    this.#emit({
      event: "friends",
      friends: this.#ks.contacts().map((f) => ({
        id: f.userId,
        user: f.username,
        verified_keys: f.pendingKeyChange === null,
        verified: f.verifiedAt !== null,
      })),
    });
  }

  /**
   * The `fingerprint` command: the safety number with `user`, of their new keys when they
   * changed (that is the one to compare before accepting them).
   */
  async fingerprint(user: string): Promise<void> {
    const f = await this.ensure(user, false);
    this.#emit({
      event: "fingerprint",
      user: f.username,
      id: f.userId,
      safety_number: this.safetyNumber(f.userId, f.pendingKeyChange?.identityKey ?? f.identityKey),
    });
  }

  /**
   * The `accept_key` command: `user`'s changed keys become the pinned ones, and a new shared
   * key is agreed (the old one was agreed with the old keys).
   *
   * @throws {ClientError} "not_found" (not a friend) or "keys_unchanged".
   */
  async acceptKey(user: string): Promise<void> {
    const f = this.#ks.friendByName(user);
    if (!f) throw new ClientError(CLIENT_ERRORS.notFound, `${user} is not a friend`);
    if (!f.pendingKeyChange) {
      throw new ClientError(CLIENT_ERRORS.keysUnchanged, `${user}'s keys have not changed`);
    }
    this.#ks.acceptKeyChange(f.userId);
    this.#emit({ event: "key_accepted", user: f.username, id: f.userId });
    await this.offerKey(f.userId);
  }

  /**
   * The `verify` command: the user compared safety numbers with `user`. Keys that changed
   * must be accepted first, so what is marked verified is the keys that were compared.
   *
   * @throws {ClientError} "keys_changed" while a key change is pending.
   */
  async verify(user: string): Promise<void> {
    const f = await this.pin(user);
    if (f.pendingKeyChange) {
      throw new ClientError(
        CLIENT_ERRORS.keysChanged,
        `${f.username}'s keys have changed: compare the new safety number ("fingerprint ` +
          `${f.username}"), run "accept_key ${f.username}", then "verify ${f.username}"`,
      );
    }
    const v = this.#ks.verifyFriend(f.userId);
    this.#emit({
      event: "verified",
      user: v.username,
      id: v.userId,
      safety_number: this.safetyNumber(v.userId, v.identityKey),
    });
  }

  /** The safety number of the user and `userId` with identity key `identityKey`. */
  safetyNumber(userId: number, identityKey: string): string {
    return safetyNumber(
      this.#ks.userId,
      this.#secrets.identityPublic,
      userId,
      fromBase64Url(identityKey),
    );
  }

  /**
   * Runs `open` with the sender's pinned identity key (pinning on first contact). On a bad
   * signature, re-reads the directory, so a key change is told apart from a forgery.
   */
  async verified<T>(from: number, open: (identity: Uint8Array) => T): Promise<T> {
    const f = this.#ks.friend(from) ?? await this.pin(from);
    try {
      return open(fromBase64Url(f.identityKey));
    } catch (err) {
      if (err instanceof E2eError && err.code === "bad_signature" && this.#link.connected) {
        this.observeKeys(await this.lookup(from));
      }
      throw err;
    }
  }

  /**
   * A user as the directory shows them now, by ID, or by name (an all-digit string is tried
   * as a name first); nothing is pinned.
   */
  async lookup(who: string | number): Promise<UserFrame> {
    const conn = this.#link.live();
    if (typeof who === "number") return await conn.request({ type: "lookup", user_id: who });
    try {
      return await conn.request({ type: "lookup", username: who });
    } catch (err) {
      if (!(err instanceof RequestError && err.code === "not_found")) throw err;
      if (/^[0-9]+$/.test(who)) return await conn.request({ type: "lookup", user_id: Number(who) });
      // The server says "No such user"; the person needs to know which name was not found.
      throw new ClientError(
        CLIENT_ERRORS.notFound,
        `No user named "${who}"; check the spelling (names are exact)`,
      );
    }
  }
}

function _changed(name: string): string {
  return `WARNING: ${name}'s keys have changed. Nothing will be encrypted to them ` +
    `until you compare safety numbers and run "accept_key ${name}".`;
}

function _verifiedChanged(name: string): string {
  return `WARNING: ${name}'s keys have changed, and ${name} is a VERIFIED contact: you ` +
    "compared safety numbers with them before. Someone may be impersonating them (or they " +
    `set up a new device). Nothing will be encrypted to them until you compare safety ` +
    `numbers again, in person or on a call, and run "accept_key ${name}".`;
}
