/**
 * What a device hands a newly linked one (docs/CRYPTO.md "Linking a device"), sealed by
 * `core/e2e/link_seal.ts`: the account, its list of devices naming the new one, the contacts
 * with their pinned keys, verified marks and consent state, the blocked users, and the groups
 * with their keys. History is not part of it.
 *
 * It comes from the other device through a channel only the two devices can open, but it is
 * still parsed strictly: a bug or a malicious device of the same person must not be able to
 * put malformed records in the new keystore.
 *
 * @module
 */

import { E2eError, parseDeviceList, serializeDeviceList } from "../../e2e/mod.ts";
import type { DeviceList } from "../../e2e/mod.ts";
import type { AccountPort, ConsentPort, FriendsPort, GroupsPort } from "./ports.ts";

/** A contact (or another pinned user) as handed over. */
export interface HandedFriend {
  readonly userId: number;
  readonly username: string;
  readonly rsaPublicKey: string;
  readonly identityKey: string;
  /** A contact (the person chose to talk with them), not only pinned. */
  readonly contact: boolean;
  /** When the person marked their keys verified; null if not. */
  readonly verifiedAt: number | null;
}

/** A group as handed over, with the keys of every epoch the device holds. */
export interface HandedGroup {
  readonly groupId: number;
  readonly name: string;
  readonly adminId: number;
  readonly members: readonly number[];
  /** Fernet keys by epoch. */
  readonly keys: Readonly<Record<string, string>>;
}

/** Everything the new device gets. */
export interface HandOver {
  readonly v: 1;
  readonly user: number;
  readonly username: string;
  /** The account's identity key (what contacts pin), url-safe base64. */
  readonly identityKey: string;
  /** The account's list naming the new device, as serialized. */
  readonly list: string;
  readonly friends: readonly HandedFriend[];
  readonly blocked: readonly { readonly userId: number; readonly username: string }[];
  readonly groups: readonly HandedGroup[];
}

/** The keystore as a hand-over reads it. */
export type HandOverSource =
  & Pick<AccountPort, "userId" | "username" | "account">
  & Pick<FriendsPort, "friends">
  & Pick<ConsentPort, "blockedUsers">
  & Pick<GroupsPort, "groups" | "groupKey">;

/** Builds the hand-over of keystore `ks` for the device that `list` newly names. */
export function buildHandOver(ks: HandOverSource, list: DeviceList): HandOver {
  return {
    v: 1,
    user: ks.userId,
    username: ks.username,
    identityKey: ks.account().identityPublicKey,
    list: serializeDeviceList(list),
    friends: ks.friends().map((f) => ({
      userId: f.userId,
      username: f.username,
      rsaPublicKey: f.rsaPublicKey,
      identityKey: f.identityKey,
      contact: f.contact,
      verifiedAt: f.verifiedAt,
    })),
    blocked: ks.blockedUsers().map((b) => ({ userId: b.userId, username: b.username })),
    groups: ks.groups().map((g) => {
      const keys: Record<string, string> = {};
      for (let e = 0; e <= (g.epoch ?? -1); e++) {
        const key = ks.groupKey(g.groupId, e);
        if (key !== null) keys[String(e)] = key;
      }
      return { groupId: g.groupId, name: g.name, adminId: g.adminId, members: g.members, keys };
    }),
  };
}

/**
 * Parses a hand-over's JSON strictly.
 *
 * @throws {E2eError} `bad_handover` naming what is malformed.
 */
export function parseHandOver(text: string): HandOver {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw _bad("it is not JSON");
  }
  const o = _object(v, "the hand-over", [
    "v",
    "user",
    "username",
    "identityKey",
    "list",
    "friends",
    "blocked",
    "groups",
  ]);
  if (o.v !== 1) throw _bad(`version ${String(o.v)} is not 1`);
  const list = _string(o.list, "list", 64 * 1024);
  const parsed = parseDeviceList(list);
  const user = _id(o.user, "user");
  if (parsed.user !== user) throw _bad("the device list is another account's");
  return {
    v: 1,
    user,
    username: _string(o.username, "username", 32),
    identityKey: _string(o.identityKey, "identityKey", 44),
    list,
    friends: _array(o.friends, "friends").map((f, i) => {
      const r = _object(f, `friends[${i}]`, [
        "userId",
        "username",
        "rsaPublicKey",
        "identityKey",
        "contact",
        "verifiedAt",
      ]);
      if (typeof r.contact !== "boolean") throw _bad(`friends[${i}].contact is not true or false`);
      return {
        userId: _id(r.userId, `friends[${i}].userId`),
        username: _string(r.username, `friends[${i}].username`, 32),
        rsaPublicKey: _string(r.rsaPublicKey, `friends[${i}].rsaPublicKey`, 4096),
        identityKey: _string(r.identityKey, `friends[${i}].identityKey`, 44),
        contact: r.contact,
        verifiedAt: r.verifiedAt === null ? null : _time(r.verifiedAt, `friends[${i}].verifiedAt`),
      };
    }),
    blocked: _array(o.blocked, "blocked").map((b, i) => {
      const r = _object(b, `blocked[${i}]`, ["userId", "username"]);
      return {
        userId: _id(r.userId, `blocked[${i}].userId`),
        username: _string(r.username, `blocked[${i}].username`, 32),
      };
    }),
    groups: _array(o.groups, "groups").map((g, i) => {
      const r = _object(g, `groups[${i}]`, ["groupId", "name", "adminId", "members", "keys"]);
      const keys = _object(r.keys, `groups[${i}].keys`, null);
      for (const [epoch, key] of Object.entries(keys)) {
        if (!/^(0|[1-9][0-9]{0,8})$/.test(epoch) || typeof key !== "string" || key.length > 64) {
          throw _bad(`groups[${i}].keys has a malformed entry for epoch ${JSON.stringify(epoch)}`);
        }
      }
      return {
        groupId: _id(r.groupId, `groups[${i}].groupId`),
        name: _string(r.name, `groups[${i}].name`, 64),
        adminId: _id(r.adminId, `groups[${i}].adminId`),
        members: _array(r.members, `groups[${i}].members`).map((m, j) =>
          _id(m, `groups[${i}].members[${j}]`)
        ),
        keys: keys as Record<string, string>,
      };
    }),
  };
}

function _bad(what: string): E2eError {
  return new E2eError("bad_handover", `The hand-over from the other device is malformed: ${what}`);
}

function _object(
  v: unknown,
  name: string,
  fields: readonly string[] | null,
): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw _bad(`${name} is not an object`);
  }
  const o = v as Record<string, unknown>;
  if (fields !== null) {
    for (const k of Object.keys(o)) {
      if (!fields.includes(k)) throw _bad(`${name} has an unexpected field "${k}"`);
    }
    for (const k of fields) if (!(k in o)) throw _bad(`${name} lacks the field "${k}"`);
  }
  return o;
}

function _array(v: unknown, name: string): unknown[] {
  if (!Array.isArray(v) || v.length > 100_000) throw _bad(`${name} is not a list`);
  return v;
}

function _string(v: unknown, name: string, max: number): string {
  if (typeof v !== "string" || v.length < 1 || v.length > max) {
    throw _bad(`${name} is not a string of 1 to ${max} characters`);
  }
  return v;
}

function _id(v: unknown, name: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) throw _bad(`${name} is not a positive ID`);
  return v as number;
}

function _time(v: unknown, name: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw _bad(`${name} is not a time`);
  return v as number;
}
