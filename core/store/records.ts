/**
 * Pieces both store adapters build their answers with, so the two read alike.
 *
 * @module
 */

import {
  type DeviceListRecord,
  type GroupRecord,
  LINK_MAX_STEPS,
  type MessageKind,
  ONE_TIME_PREKEYS_MAX,
  type PendingMessage,
  type SessionRecord,
  StoreError,
  type UserRecord,
} from "./store.ts";

/**
 * The `not_found` error for a message batch naming unknown recipients or groups (shared by
 * the adapters so the message reads the same).
 */
export function missingRecipientsError(
  users: readonly number[],
  groups: readonly number[],
): StoreError {
  const parts: string[] = [];
  if (users.length > 0) parts.push(`recipient user ID(s) ${users.join(", ")}`);
  if (groups.length > 0) parts.push(`group ID(s) ${groups.join(", ")}`);
  return new StoreError(
    "not_found",
    `Unknown ${parts.join(" and ") || "recipient or group"}; nothing in the batch was saved`,
  );
}

/** The `not_found` error of `setContacts()` for unknown users (the owner among them, maybe). */
export function unknownContactsError(ids: readonly number[]): StoreError {
  return new StoreError(
    "not_found",
    `Unknown user ID(s) ${ids.join(", ")}; contacts must be registered users; nothing changed`,
  );
}

/** The `too_many` error of `setContacts()`. */
export function tooManyContactsError(ownerId: number, max: number): StoreError {
  return new StoreError(
    "too_many",
    `User ${ownerId} would have more than ${max} contacts and blocked users; nothing changed`,
  );
}

/**
 * The `username_taken` error for `wanted`, naming the `existing` spelling when it differs
 * only in case (shared by the adapters so the message reads the same).
 */
export function usernameTakenError(wanted: string, existing: string | null): StoreError {
  const clash = existing !== null && existing !== wanted
    ? ` ("${existing}" exists; usernames ignore case)`
    : "";
  return new StoreError(
    "username_taken",
    `Username "${wanted}" is already taken${clash}; choose another`,
  );
}

/** The `not_found` error for a group that does not exist or was deleted. */
export function noGroupError(groupId: number): StoreError {
  return new StoreError(
    "not_found",
    `No group with ID ${groupId} (it never existed or was deleted)`,
  );
}

/** The `conflict` error for a group change asked by a user who is not the group's admin. */
export function notGroupAdminError(groupId: number, userId: number, adminId: number): StoreError {
  return new StoreError(
    "conflict",
    `User ${userId} is not the admin of group ${groupId} (user ${adminId} is); nothing changed`,
  );
}

/** The `conflict` error for making a non-member a group's admin. */
export function notGroupMemberError(groupId: number, userId: number): StoreError {
  return new StoreError(
    "conflict",
    `User ${userId} is not a member of group ${groupId}; only a member can become its admin`,
  );
}

/**
 * The `conflict` error of `appendDeviceList()` for a version that does not extend the newest
 * stored one (`newest` 0: none stored), naming it so the caller fetches it and tries again.
 */
export function deviceListConflictError(
  userId: number,
  version: number,
  newest: number,
): StoreError {
  const head = newest === 0 ? "has no device list yet" : `has device list version ${newest}`;
  const why = version === newest + 1
    ? `its prevHash is not version ${newest}'s hash`
    : `only version ${newest + 1} can be appended`;
  return new StoreError(
    "conflict",
    `User ${userId} ${head}; version ${version} does not extend it (${why}); ` +
      "fetch the newest version and try again",
  );
}

/** The `not_found` error of `appendDeviceList()` for an unknown user. */
export function noDeviceListUserError(userId: number): StoreError {
  return new StoreError("not_found", `No user with ID ${userId}; cannot store a device list`);
}

/** The `not_found` error of `putPrekeys()` for an unknown user. */
export function noPrekeyUserError(userId: number): StoreError {
  return new StoreError("not_found", `No user with ID ${userId}; cannot store prekeys`);
}

/** The `conflict` error of `openLinkSlot()` for a name in use. */
export function linkSlotTakenError(slot: string): StoreError {
  return new StoreError(
    "conflict",
    `Link slot ${slot} is in use until it expires; open another slot`,
  );
}

/** The `not_found` error of `appendLinkStep()` for a slot missing or expired. */
export function noLinkSlotError(slot: string): StoreError {
  return new StoreError("not_found", `No live link slot ${slot} (it never existed or expired)`);
}

/** The `too_many` error of `putPrekeys()` past the most a device may store. */
export function tooManyPrekeysError(userId: number, deviceId: number, would: number): StoreError {
  return new StoreError(
    "too_many",
    `Device ${deviceId} of user ${userId} would hold ${would} one-time prekeys; at most ` +
      `${ONE_TIME_PREKEYS_MAX} are stored (send fewer, or replace them)`,
  );
}

/** The `too_many` error of `appendLinkStep()` for a full slot. */
export function tooManyLinkStepsError(slot: string): StoreError {
  return new StoreError(
    "too_many",
    `Link slot ${slot} already holds ${LINK_MAX_STEPS} steps, the most a slot may hold`,
  );
}

/** The `conflict` error of `appendLinkStep()` for a step out of turn (`steps` stored). */
export function linkStepConflictError(slot: string, index: number, steps: number): StoreError {
  return new StoreError(
    "conflict",
    `Link slot ${slot} holds ${steps} steps, so the next is step ${steps}, not ${index}`,
  );
}

/** A device list version from a `device_lists` row. */
export function deviceListFromRow(r: Record<string, unknown>): DeviceListRecord {
  return {
    userId: r["user_id"] as number,
    version: r["version"] as number,
    prevHash: r["prev_hash"] as string,
    hash: r["hash"] as string,
    body: r["body"] as string,
    createdAt: r["created_at"] as number,
  };
}

/**
 * Groups from rows of (id, name, admin_id, created_at, member), ordered by group then
 * member (shared by the adapters).
 */
export function groupRows(rows: readonly Record<string, unknown>[]): GroupRecord[] {
  const out: { id: number; name: string; adminId: number; members: number[]; createdAt: number }[] =
    [];
  for (const r of rows) {
    const id = r["id"] as number;
    let last = out[out.length - 1];
    if (last === undefined || last.id !== id) {
      last = {
        id,
        name: r["name"] as string,
        adminId: r["admin_id"] as number,
        members: [],
        createdAt: r["created_at"] as number,
      };
      out.push(last);
    }
    last.members.push(r["member"] as number);
  }
  return out;
}

/** A user from a `users` row. */
export function userFromRow(row: Record<string, unknown>): UserRecord {
  return {
    id: row["id"] as number,
    username: row["username"] as string,
    passwordHash: row["password_hash"] as string,
    rsaPublicKey: row["rsa_public_key"] as string,
    identityKey: row["identity_key"] as string,
    createdAt: row["created_at"] as number,
  };
}

/** A session from a `sessions` row; `deviceId` only when the session is bound to a device. */
export function sessionFromRow(row: Record<string, unknown>): SessionRecord {
  const userId = row["user_id"] as number;
  const expiresAt = row["expires_at"] as number;
  const deviceId = row["device_id"] as number | null;
  return deviceId === null ? { userId, expiresAt } : { userId, expiresAt, deviceId };
}

/** A pending delivery from a row of the pending queries. */
export function pendingFromRow(r: Record<string, unknown>, recipientId: number): PendingMessage {
  return {
    id: r["id"] as number,
    senderId: r["sender_id"] as number,
    clientMsgId: r["client_msg_id"] as string | null,
    kind: r["kind"] as MessageKind,
    groupId: r["group_id"] as number | null,
    body: r["body"] as string,
    recipientId,
    createdAt: r["created_at"] as number,
  };
}

/**
 * The UTF-8 length of a well-formed string in bytes (the store checks text before it counts:
 * no lone surrogates), as PostgreSQL's `octet_length` counts it.
 */
export function utf8Bytes(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4; // a surrogate pair: one code point, four bytes
      i++;
    } else n += 3;
  }
  return n;
}
