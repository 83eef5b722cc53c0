/**
 * Between what a person types or reads and the IDs the protocol uses: groups found by ID or
 * name, and user and group IDs named for people (`#7` when the name is not known).
 *
 * @module
 */

import { CLIENT_ERRORS, ClientError } from "./errors.ts";
import type { GroupRecord } from "../../keystore/keystore_types.ts";
import type { FriendsPort, GroupsPort } from "./ports.ts";

/** A user's name for people: mine, a friend's, else `#id`. */
export function userName(
  ks: Pick<FriendsPort, "userId" | "username" | "friend">,
  userId: number,
): string {
  if (userId === ks.userId) return ks.username;
  return ks.friend(userId)?.username ?? `#${userId}`;
}

/** Names for several users, in the same order. */
export function userNames(
  ks: Pick<FriendsPort, "userId" | "username" | "friend">,
  userIds: readonly number[],
): string[] {
  return userIds.map((id) => userName(ks, id));
}

/** A group's name for people, else `#id`. */
export function groupName(ks: Pick<GroupsPort, "group">, groupId: number): string {
  return ks.group(groupId)?.name ?? `#${groupId}`;
}

/**
 * A group the user is in, by ID or, when unambiguous, by name; null if none.
 *
 * @throws {ClientError} "ambiguous" when several groups have this name.
 */
export function maybeGroup(ks: Pick<GroupsPort, "group" | "groupsByName">, ref: string) {
  if (/^[0-9]+$/.test(ref)) {
    const g = ks.group(Number(ref));
    if (g?.isMember) return g;
  }
  const named = ks.groupsByName(ref);
  if (named.length > 1) {
    throw new ClientError(
      CLIENT_ERRORS.ambiguous,
      `"${ref}" names ${named.length} groups (IDs ${
        named.map((g) => g.groupId).join(", ")
      }); use the ID`,
    );
  }
  return named[0] ?? null;
}

/**
 * Like {@linkcode maybeGroup}, but throws when there is none.
 *
 * @throws {ClientError} "not_found" or "ambiguous".
 */
export function findGroup(
  ks: Pick<GroupsPort, "group" | "groupsByName">,
  ref: string,
): GroupRecord {
  const g = maybeGroup(ks, ref);
  if (!g) throw new ClientError(CLIENT_ERRORS.notFound, `No group "${ref}"; "groups" lists yours`);
  return g;
}

/** A group by ID or unique name, including groups the user has left (for history). */
export function groupIncludingLeft(
  ks: Pick<GroupsPort, "group" | "groupsByName">,
  ref: string,
): GroupRecord | null {
  if (/^[0-9]+$/.test(ref)) return ks.group(Number(ref));
  const named = ks.groupsByName(ref, { includeLeft: true });
  return named.length === 1 ? named[0]! : null;
}
