/**
 * Groups in the keystore: name, admin, members, and one Fernet key per epoch. Old epochs'
 * keys are kept so the history stays readable, and leaving a group keeps them too.
 * `Keystore` exposes these as methods and documents them.
 *
 * An epoch's key is written once: a different key for a stored epoch is a conflict, not an
 * update, because silently replacing it would make earlier messages unreadable or let a
 * forged key message redirect what is sent next.
 *
 * @module
 */

import {
  checkBoolean,
  checkCount,
  checkFernetKey,
  checkGroupName,
  checkId,
  checkMembers,
  checkObject,
} from "./keystore_check.ts";
import {
  groupKeyContext,
  type KeystoreContext,
  noGroupError,
  type Row,
  runTransaction,
} from "./keystore_context.ts";
import {
  type GroupInput,
  type GroupKeyRecord,
  type GroupLeaving,
  type GroupLeavingInput,
  type GroupListOptions,
  type GroupRecord,
  KeystoreError,
} from "./keystore_types.ts";

/** Implements `Keystore.upsertGroup`. */
export function upsertGroup(ctx: KeystoreContext, group: GroupInput): GroupRecord {
  checkObject("group", group);
  checkId("group.groupId", group.groupId);
  checkGroupName("group.name", group.name);
  checkId("group.adminId", group.adminId);
  const members = checkMembers("group.members", group.members);
  runTransaction(ctx.db, () => {
    ctx.st.upsertGroup.run(group.groupId, group.name, group.adminId, Date.now());
    _replaceMembers(ctx, group.groupId, members);
  });
  return groupById(ctx, group.groupId)!;
}

/** Implements `Keystore.setGroupMembers`. */
export function setGroupMembers(
  ctx: KeystoreContext,
  groupId: number,
  members: readonly number[],
): GroupRecord {
  checkId("groupId", groupId);
  const ids = checkMembers("members", members);
  runTransaction(ctx.db, () => {
    if (Number(ctx.st.touchGroup.run(Date.now(), groupId).changes) === 0) {
      throw noGroupError(groupId);
    }
    _replaceMembers(ctx, groupId, ids);
  });
  return groupById(ctx, groupId)!;
}

/** Implements `Keystore.group`. */
export function groupById(ctx: KeystoreContext, groupId: number): GroupRecord | null {
  checkId("groupId", groupId);
  const row = ctx.st.group.get(groupId) as Row | undefined;
  return row === undefined ? null : _group(ctx, row);
}

/** Implements `Keystore.groups`. */
export function listGroups(ctx: KeystoreContext, opts: GroupListOptions): GroupRecord[] {
  const includeLeft = _includeLeft(opts);
  return (ctx.st.groups.all(includeLeft) as Row[]).map((r) => _group(ctx, r));
}

/** Implements `Keystore.groupsByName`. */
export function groupsByName(
  ctx: KeystoreContext,
  name: string,
  opts: GroupListOptions,
): GroupRecord[] {
  checkGroupName("name", name);
  const includeLeft = _includeLeft(opts);
  return (ctx.st.groupsByName.all(name, includeLeft) as Row[]).map((r) => _group(ctx, r));
}

/** Implements `Keystore.removeGroup`. */
export function removeGroup(
  ctx: KeystoreContext,
  groupId: number,
  leaving: GroupLeavingInput | null,
): void {
  checkId("groupId", groupId);
  if (leaving !== null) {
    checkObject("leaving", leaving);
    checkId("leaving.by", leaving.by);
    if (!_LEAVINGS.includes(leaving.how)) {
      throw new RangeError(
        `leaving.how must be one of ${_LEAVINGS.join(", ")}, got ${JSON.stringify(leaving.how)}`,
      );
    }
  }
  if (ctx.st.group.get(groupId) === undefined) throw noGroupError(groupId);
  const now = Date.now();
  ctx.st.leaveGroup.run(now, now, leaving?.by ?? null, leaving?.how ?? null, groupId);
}

const _LEAVINGS: readonly GroupLeaving[] = ["left", "removed", "deleted"];

/** Implements `Keystore.addGroupKey`. */
export function addGroupKey(
  ctx: KeystoreContext,
  groupId: number,
  epoch: number,
  key: string,
): boolean {
  checkId("groupId", groupId);
  checkCount("epoch", epoch);
  checkFernetKey("key", key);
  const { st, cipher } = ctx;
  return runTransaction(ctx.db, () => {
    if (st.group.get(groupId) === undefined) throw noGroupError(groupId);
    const context = groupKeyContext(groupId, epoch);
    const existing = st.groupKey.get(groupId, epoch) as Row | undefined;
    if (existing !== undefined) {
      if (cipher.open(context, existing["key_enc"] as string) === key) return false;
      throw new KeystoreError(
        "conflict",
        `Group ${groupId} already has a different key for epoch ${epoch}; epoch keys are set once`,
      );
    }
    st.insertGroupKey.run(groupId, epoch, cipher.seal(context, key), Date.now());
    return true;
  });
}

/** Implements `Keystore.groupKey`. */
export function groupKey(ctx: KeystoreContext, groupId: number, epoch: number): string | null {
  checkId("groupId", groupId);
  checkCount("epoch", epoch);
  const row = ctx.st.groupKey.get(groupId, epoch) as Row | undefined;
  if (row === undefined) return null;
  return ctx.cipher.open(groupKeyContext(groupId, epoch), row["key_enc"] as string);
}

/** Implements `Keystore.currentGroupKey`. */
export function currentGroupKey(ctx: KeystoreContext, groupId: number): GroupKeyRecord | null {
  checkId("groupId", groupId);
  const row = ctx.st.currentGroupKey.get(groupId) as Row | undefined;
  if (row === undefined) return null;
  const epoch = row["epoch"] as number;
  const key = ctx.cipher.open(groupKeyContext(groupId, epoch), row["key_enc"] as string);
  return { epoch, key };
}

/** Replaces a group's members; the caller holds a transaction. */
function _replaceMembers(ctx: KeystoreContext, groupId: number, members: readonly number[]) {
  ctx.st.deleteMembers.run(groupId);
  for (const id of members) ctx.st.insertMember.run(groupId, id);
}

/** `includeLeft` as the SQL parameter (SQLite has no booleans). */
function _includeLeft(opts: GroupListOptions): number {
  checkObject("Options", opts);
  const includeLeft = opts.includeLeft ?? false;
  checkBoolean("includeLeft", includeLeft);
  return includeLeft ? 1 : 0;
}

function _group(ctx: KeystoreContext, row: Row): GroupRecord {
  const groupId = row["group_id"] as number;
  const members = (ctx.st.membersOf.all(groupId) as Row[]).map((r) => r["user_id"] as number);
  return {
    groupId,
    name: row["name"] as string,
    adminId: row["admin_id"] as number,
    members,
    epoch: row["epoch"] as number | null,
    isMember: row["is_member"] === 1,
    leftAt: row["left_at"] as number | null,
    leftBy: row["left_by"] as number | null,
    leftHow: row["left_how"] as GroupLeaving | null,
    updatedAt: row["updated_at"] as number,
  };
}
