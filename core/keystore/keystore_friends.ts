/**
 * Friends in the keystore: pinned public keys with explicit acceptance of key changes, and
 * the Fernet keys shared with each friend (one active for sending, older ones kept so the
 * history stays readable). `Keystore` exposes these as methods and documents them.
 *
 * Pinning is trust on first use: the keys seen when a friend is added are pinned; keys the
 * directory shows later that differ are only kept as a pending change, and the friend's
 * keys count as unusable until the user accepts it, so a server that swaps a key cannot
 * silently read what is sent next.
 *
 * Every pinned user is a row here; `contact` tells the user's contacts (whom they chose to
 * talk to) from users pinned only to check signatures. A verification mark belongs to the
 * pinned keys: any key change clears it.
 *
 * @module
 */

import {
  checkBoolean,
  checkCount,
  checkFernetKey,
  checkId,
  checkObject,
  checkShortId,
  checkUsername,
  normalizeIdentityKey,
  normalizeRsaPublicKey,
} from "./keystore_check.ts";
import {
  friendKeyContext,
  type KeystoreContext,
  noFriendError,
  type Row,
  runTransaction,
} from "./keystore_context.ts";
import {
  type AddFriendKeyOptions,
  type FriendInput,
  type FriendKeyRecord,
  type FriendKeysInput,
  type FriendRecord,
  KeystoreError,
} from "./keystore_types.ts";

/** Implements `Keystore.addFriend`. */
export function addFriend(ctx: KeystoreContext, friend: FriendInput): FriendRecord {
  checkObject("friend", friend);
  checkId("friend.userId", friend.userId);
  checkUsername("friend.username", friend.username);
  const rsa = normalizeRsaPublicKey("friend.rsaPublicKey", friend.rsaPublicKey);
  const identity = normalizeIdentityKey("friend.identityKey", friend.identityKey);
  const contact = friend.contact ?? true;
  checkBoolean("friend.contact", contact);
  if (friend.userId === ctx.userId) {
    throw new RangeError("friend.userId is your own user ID; add another user");
  }
  const now = Date.now();
  const row = ctx.st.insertFriend.get(
    friend.userId,
    friend.username,
    rsa,
    identity,
    now,
    now,
    contact ? 1 : 0,
  );
  if (row === undefined) {
    throw new KeystoreError(
      "already_exists",
      `User ${friend.userId} is already a friend; use observeFriendKeys() to check new keys`,
    );
  }
  return friendById(ctx, friend.userId)!;
}

/** Implements `Keystore.friend`. */
export function friendById(ctx: KeystoreContext, userId: number): FriendRecord | null {
  checkId("userId", userId);
  const row = ctx.st.friend.get(userId) as Row | undefined;
  return row === undefined ? null : _friend(row);
}

/** Implements `Keystore.friendByName`. */
export function friendByName(ctx: KeystoreContext, username: string): FriendRecord | null {
  checkUsername("username", username);
  const row = ctx.st.friendByName.get(username) as Row | undefined;
  return row === undefined ? null : _friend(row);
}

/** Implements `Keystore.friends`. */
export function listFriends(ctx: KeystoreContext): FriendRecord[] {
  return (ctx.st.friends.all() as Row[]).map(_friend);
}

/** Implements `Keystore.contacts`. */
export function listContacts(ctx: KeystoreContext): FriendRecord[] {
  return (ctx.st.contacts.all() as Row[]).map(_friend);
}

/** Implements `Keystore.setContact`. */
export function setContact(ctx: KeystoreContext, userId: number, contact: boolean): FriendRecord {
  checkId("userId", userId);
  checkBoolean("contact", contact);
  if (ctx.st.setContact.get(contact ? 1 : 0, userId) === undefined) throw noFriendError(userId);
  return friendById(ctx, userId)!;
}

/** Implements `Keystore.verifyFriend`. */
export function verifyFriend(ctx: KeystoreContext, userId: number): FriendRecord {
  checkId("userId", userId);
  if (ctx.st.friend.get(userId) === undefined) throw noFriendError(userId);
  if (ctx.st.setVerified.get(Date.now(), userId) === undefined) {
    throw new KeystoreError(
      "pending_change",
      `User ${userId}'s keys have changed; accept the change before verifying the new keys`,
    );
  }
  return friendById(ctx, userId)!;
}

/** Implements `Keystore.observeFriendKeys`. */
export function observeFriendKeys(
  ctx: KeystoreContext,
  userId: number,
  keys: FriendKeysInput,
): "changed" | "unchanged" {
  checkId("userId", userId);
  checkObject("keys", keys);
  const rsa = normalizeRsaPublicKey("keys.rsaPublicKey", keys.rsaPublicKey);
  const identity = normalizeIdentityKey("keys.identityKey", keys.identityKey);
  const row = ctx.st.friend.get(userId) as Row | undefined;
  if (row === undefined) throw noFriendError(userId);
  if (row["rsa_public_key"] === rsa && row["identity_key"] === identity) {
    ctx.st.clearPending.run(userId);
    return "unchanged";
  }
  ctx.st.setPending.run(rsa, identity, Date.now(), userId);
  return "changed";
}

/** Implements `Keystore.acceptKeyChange`. */
export function acceptKeyChange(ctx: KeystoreContext, userId: number): FriendRecord {
  checkId("userId", userId);
  if (ctx.st.friend.get(userId) === undefined) throw noFriendError(userId);
  if (ctx.st.acceptPending.get(Date.now(), userId) === undefined) {
    throw new KeystoreError(
      "no_pending_change",
      `User ${userId} has no pending key change to accept`,
    );
  }
  return friendById(ctx, userId)!;
}

/** Implements `Keystore.friendKeysUsable`. */
export function friendKeysUsable(ctx: KeystoreContext, userId: number): boolean {
  checkId("userId", userId);
  const row = ctx.st.friend.get(userId) as Row | undefined;
  return row !== undefined && row["pending_rsa_public_key"] === null;
}

/** Implements `Keystore.addFriendKey`. */
export function addFriendKey(
  ctx: KeystoreContext,
  friendId: number,
  kid: string,
  key: string,
  opts: AddFriendKeyOptions,
): boolean {
  checkId("friendId", friendId);
  checkShortId("kid", kid);
  checkFernetKey("key", key);
  checkObject("Options", opts);
  const active = opts.active ?? false;
  checkBoolean("active", active);
  const createdAt = opts.createdAt ?? Date.now();
  checkCount("createdAt", createdAt);
  const { st, cipher } = ctx;
  return runTransaction(ctx.db, () => {
    if (st.friend.get(friendId) === undefined) throw noFriendError(friendId);
    const context = friendKeyContext(friendId, kid);
    const existing = st.friendKey.get(friendId, kid) as Row | undefined;
    if (existing !== undefined) {
      if (cipher.open(context, existing["key_enc"] as string) === key) return false;
      throw new KeystoreError(
        "conflict",
        `Friend ${friendId} already has a different key with ID "${kid}"; key IDs are not reused`,
      );
    }
    st.insertFriendKey.run(friendId, kid, cipher.seal(context, key), createdAt);
    if (active) _activate(ctx, friendId, kid);
    return true;
  });
}

/** Implements `Keystore.setActiveFriendKey`. */
export function setActiveFriendKey(ctx: KeystoreContext, friendId: number, kid: string): void {
  checkId("friendId", friendId);
  checkShortId("kid", kid);
  runTransaction(ctx.db, () => {
    if (ctx.st.friendKey.get(friendId, kid) === undefined) {
      throw new KeystoreError("not_found", `Friend ${friendId} has no key with ID "${kid}"`);
    }
    _activate(ctx, friendId, kid);
  });
}

/** Implements `Keystore.friendKey`. */
export function friendKey(
  ctx: KeystoreContext,
  friendId: number,
  kid: string,
): FriendKeyRecord | null {
  checkId("friendId", friendId);
  checkShortId("kid", kid);
  const row = ctx.st.friendKey.get(friendId, kid) as Row | undefined;
  return row === undefined ? null : _friendKey(ctx, row);
}

/** Implements `Keystore.activeFriendKey`. */
export function activeFriendKey(ctx: KeystoreContext, friendId: number): FriendKeyRecord | null {
  checkId("friendId", friendId);
  const row = ctx.st.activeFriendKey.get(friendId) as Row | undefined;
  return row === undefined ? null : _friendKey(ctx, row);
}

/** Implements `Keystore.friendKeys`. */
export function listFriendKeys(ctx: KeystoreContext, friendId: number): FriendKeyRecord[] {
  checkId("friendId", friendId);
  return (ctx.st.friendKeys.all(friendId) as Row[]).map((r) => _friendKey(ctx, r));
}

/** Makes `kid` the only active key; the caller holds a transaction. */
function _activate(ctx: KeystoreContext, friendId: number, kid: string): void {
  // Demote first: a partial unique index allows one active key per friend.
  ctx.st.demoteFriendKeys.run(friendId);
  ctx.st.activateFriendKey.run(friendId, kid);
}

function _friend(row: Row): FriendRecord {
  const pendingRsa = row["pending_rsa_public_key"] as string | null;
  return {
    userId: row["user_id"] as number,
    username: row["username"] as string,
    rsaPublicKey: row["rsa_public_key"] as string,
    identityKey: row["identity_key"] as string,
    pinnedAt: row["pinned_at"] as number,
    addedAt: row["added_at"] as number,
    pendingKeyChange: pendingRsa === null ? null : {
      rsaPublicKey: pendingRsa,
      identityKey: row["pending_identity_key"] as string,
      seenAt: row["pending_seen_at"] as number,
    },
    contact: row["contact"] === 1,
    verifiedAt: row["verified_at"] as number | null,
  };
}

function _friendKey(ctx: KeystoreContext, row: Row): FriendKeyRecord {
  const friendId = row["friend_id"] as number;
  const kid = row["kid"] as string;
  return {
    friendId,
    kid,
    key: ctx.cipher.open(friendKeyContext(friendId, kid), row["key_enc"] as string),
    createdAt: row["created_at"] as number,
    role: row["role"] as FriendKeyRecord["role"],
  };
}
