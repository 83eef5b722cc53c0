/**
 * The key agreement rules, as pure decisions: which friend key wins when two were offered,
 * what a group's admin does with keys when membership changes, and which group keys a
 * member accepts. Both sides of a pair (and every member of a group) must decide the same
 * way from the same facts, so the rules live here, apart from the I/O that applies them.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { toBase64Url } from "../../crypto/bytes.ts";

/** Two friend-key offers made this close together crossed (both sides started at once). */
export const CROSSING_MS = 30_000;

/** A friend key as the rules see it: when it was made. */
export interface KeyAge {
  /** When the key was made, Unix milliseconds. */
  readonly createdAt: number;
}

/**
 * Whether a friend key offered by `fromId` (made at `offeredAt`) replaces `mine`: my active
 * key, or my own offer still in flight (it counts as mine, so both sides apply the same rule
 * to the same pair). With no key of mine, the offer wins. Offers that crossed: the lower
 * user ID's key wins on both sides. Otherwise the newer key wins (the friend re-keyed, e.g.
 * after a key change). The losing key is kept for reading.
 */
export function friendKeyWins(
  offer: { readonly fromId: number; readonly offeredAt: number },
  mine: KeyAge | null,
  myId: number,
): boolean {
  if (mine === null) return true;
  const crossed = Math.abs(offer.offeredAt - mine.createdAt) < CROSSING_MS;
  return crossed ? offer.fromId < myId : offer.offeredAt > mine.createdAt;
}

/** A change of a group's membership, as the server announces it. */
export type GroupChange = "created" | "added" | "removed" | "left" | "admin_changed" | "deleted";

/**
 * What the admin does with the group's keys after a change: nothing; `rotate` (a new epoch
 * for every member; with `onlyIfNone`, only if the group has no key yet); or `send_current`
 * (the current epoch's key to the members in `to`).
 */
export type GroupKeyPlan =
  | { readonly action: "none" }
  | { readonly action: "rotate"; readonly onlyIfNone: boolean }
  | { readonly action: "send_current"; readonly to: readonly number[] };

/**
 * The admin's key plan after a change. Keys follow membership: a new group gets its first
 * key (once, though both the command and the server's event ask); a removal or departure
 * rotates, so the one who left cannot read what follows; a new member gets the current key,
 * or a rotation when there is none. Anyone but the admin, or an admin no longer in the
 * group, does nothing.
 */
export function groupKeyPlan(facts: {
  readonly change: GroupChange;
  readonly myId: number;
  readonly adminId: number;
  readonly members: readonly number[];
  /** The member the change is about. */
  readonly userId: number;
  readonly hasKey: boolean;
}): GroupKeyPlan {
  if (facts.adminId !== facts.myId || !isMember(facts.myId, facts.members)) {
    return { action: "none" };
  }
  switch (facts.change) {
    case "created":
      return { action: "rotate", onlyIfNone: true };
    case "removed":
    case "left":
      return { action: "rotate", onlyIfNone: false };
    case "added":
      return facts.hasKey
        ? { action: "send_current", to: [facts.userId] }
        : { action: "rotate", onlyIfNone: false };
    case "admin_changed":
      // The new admin holds the current key as a member: it sends it to whoever joins next.
      return facts.hasKey ? { action: "none" } : { action: "rotate", onlyIfNone: true };
    case "deleted":
      return { action: "none" };
  }
}

/**
 * Membership follows the server's member list of the event, not the event's kind, so an
 * event handled late (after a later one) cannot re-add a member who has gone.
 */
export function isMember(userId: number, members: readonly number[]): boolean {
  return members.includes(userId);
}

/** The epoch after `current` (1 for a group without a key). */
export function nextEpoch(current: number | null): number {
  return (current ?? 0) + 1;
}

/**
 * Why a group key from `fromId` must be refused, or null to accept it: only the group's
 * admin makes keys, and a group the user has left takes none.
 */
export function groupKeyRefusal(
  group: { readonly name: string; readonly adminId: number; readonly isMember: boolean },
  fromId: number,
): string | null {
  if (!group.isMember) return `Key for group ${group.name}, which you have left`;
  if (group.adminId !== fromId) {
    return `Key for group ${group.name} from #${fromId}, who is not its admin`;
  }
  return null;
}

/** The client message ID of a friend-key offer: one per key, so a resend is idempotent. */
export function friendKeyMessageId(kid: string): string {
  return `fk-${kid}`;
}

/**
 * The client message ID of a group key sent for one epoch: to every member (`to` null, a
 * rotation), or to the members in `to` only (the current key for members just added).
 *
 * The server keeps one message per sender and client message ID: a frame sent again under
 * an ID it has seen is answered with the first message's ID and delivered to nobody new.
 * So the ID names the key and whom it is for: the same send again (the group event handled
 * a second time, after a reconnect) is recognized, while the epoch's key sent later to a new
 * member is a new message. One member's ID is written out; several (or one too long) are
 * hashed, to stay within the protocol's 64 characters.
 */
export function groupKeyMessageId(
  groupId: number,
  epoch: number,
  kid: string,
  to: readonly number[] | null = null,
): string {
  const base = `gk-${groupId}-${epoch}-${kid}`;
  if (to === null) return base;
  const ids = [...new Set(to)].sort((a, b) => a - b);
  const plain = `${base}-to-${ids[0]}`;
  if (ids.length === 1 && plain.length <= _CLIENT_MSG_ID_MAX) return plain;
  const digest = sha256(new TextEncoder().encode(ids.join(",")));
  return `${base}-to-h${toBase64Url(digest.subarray(0, 8), false)}`;
}

/** The longest client message ID the protocol takes (`LIMITS.clientMsgIdPattern`). */
const _CLIENT_MSG_ID_MAX = 64;
