/**
 * Group invitations in the keystore: groups someone who is not a contact put the user in.
 * While one is pending, the group's messages are stored in the history as usual but not
 * shown; accepting removes the invitation (and shows them), leaving the group removes it
 * too. `Keystore` exposes these as methods and documents them.
 *
 * Nothing here is secret beyond what the `groups` table shows already (IDs, a username and
 * a time), so nothing is sealed.
 *
 * @module
 */

import { checkCount, checkId, checkUsername } from "./keystore_check.ts";
import { type KeystoreContext, noGroupError, type Row } from "./keystore_context.ts";
import type { GroupInviteRecord } from "./keystore_types.ts";

/** Implements `Keystore.addGroupInvite`. */
export function addGroupInvite(
  ctx: KeystoreContext,
  groupId: number,
  byId: number,
  byName: string,
  invitedAt: number = Date.now(),
): boolean {
  checkId("groupId", groupId);
  checkId("byId", byId);
  // A username, or `#ID` when the directory could not name them when they added the user.
  if (!/^#[0-9]{1,16}$/.test(byName)) checkUsername("byName", byName);
  checkCount("invitedAt", invitedAt);
  if (ctx.st.group.get(groupId) === undefined) throw noGroupError(groupId);
  return ctx.st.insertGroupInvite.get(groupId, byId, byName, invitedAt) !== undefined;
}

/** Implements `Keystore.groupInvite`. */
export function groupInviteById(ctx: KeystoreContext, groupId: number): GroupInviteRecord | null {
  checkId("groupId", groupId);
  const row = ctx.st.groupInvite.get(groupId) as Row | undefined;
  return row === undefined ? null : _invite(row);
}

/** Implements `Keystore.groupInvites`. */
export function listGroupInvites(ctx: KeystoreContext): GroupInviteRecord[] {
  return (ctx.st.groupInvites.all() as Row[]).map(_invite);
}

/** Implements `Keystore.removeGroupInvite`. */
export function removeGroupInvite(ctx: KeystoreContext, groupId: number): boolean {
  checkId("groupId", groupId);
  return ctx.st.deleteGroupInvite.get(groupId) !== undefined;
}

function _invite(row: Row): GroupInviteRecord {
  return {
    groupId: row["group_id"] as number,
    name: row["name"] as string,
    byId: row["by_id"] as number,
    byName: row["by_name"] as string,
    invitedAt: row["invited_at"] as number,
  };
}
