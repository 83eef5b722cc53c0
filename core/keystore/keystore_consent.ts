/**
 * Consent in the keystore: requests (what someone who is not a contact sent, kept sealed
 * until the user accepts or blocks them), blocked users, and the user's settings.
 * `Keystore` exposes these as methods and documents them.
 *
 * A requester is pinned first (a `friends` row that is not a contact), so their messages
 * can be checked against their keys. Kept messages are opaque to the keystore: the engine
 * stores each frame as it came, sealed under the master key like the history.
 *
 * @module
 */

import { checkCount, checkId, checkShortId, checkText, checkUsername } from "./keystore_check.ts";
import {
  type KeystoreContext,
  noFriendError,
  requestMessageContext,
  requestPreviewContext,
  type Row,
  runTransaction,
  secretSettingContext,
} from "./keystore_context.ts";
import type { BlockedRecord, RequestMessageRecord, RequestRecord } from "./keystore_types.ts";

/** Longest setting value, in characters. */
const _MAX_SETTING_CHARS = 1024;

/** Longest secret setting value, in characters: a device's prekey secrets (issue 22) fit. */
const _MAX_SECRET_CHARS = 64 * 1024;

/** Implements `Keystore.addRequestMessage`. */
export function addRequestMessage(
  ctx: KeystoreContext,
  userId: number,
  msgId: number,
  frame: string,
  receivedAt: number = Date.now(),
): boolean {
  checkId("userId", userId);
  checkId("msgId", msgId);
  _checkFrame(frame);
  checkCount("receivedAt", receivedAt);
  const { st, cipher } = ctx;
  return runTransaction(ctx.db, () => {
    if (st.friend.get(userId) === undefined) throw noFriendError(userId);
    st.insertRequest.run(userId, receivedAt, receivedAt);
    const sealed = cipher.seal(requestMessageContext(userId, msgId), frame);
    if (st.insertRequestMessage.get(msgId, userId, sealed, receivedAt) === undefined) return false;
    st.touchRequest.run(receivedAt, userId);
    return true;
  });
}

/** Implements `Keystore.setRequestPreview`. */
export function setRequestPreview(ctx: KeystoreContext, userId: number, text: string): boolean {
  checkId("userId", userId);
  checkText("text", text);
  const sealed = ctx.cipher.seal(requestPreviewContext(userId), text);
  return ctx.st.setRequestPreview.get(sealed, userId) !== undefined;
}

/** Implements `Keystore.request`. */
export function requestById(ctx: KeystoreContext, userId: number): RequestRecord | null {
  checkId("userId", userId);
  const row = ctx.st.request.get(userId) as Row | undefined;
  return row === undefined ? null : _request(ctx, row);
}

/** Implements `Keystore.requests`. */
export function listRequests(ctx: KeystoreContext): RequestRecord[] {
  return (ctx.st.requests.all() as Row[]).map((r) => _request(ctx, r));
}

/** Implements `Keystore.requestMessages`. */
export function requestMessages(ctx: KeystoreContext, userId: number): RequestMessageRecord[] {
  checkId("userId", userId);
  return (ctx.st.requestMessages.all(userId) as Row[]).map((r) => {
    const msgId = r["msg_id"] as number;
    return {
      msgId,
      userId,
      frame: ctx.cipher.open(requestMessageContext(userId, msgId), r["frame_enc"] as string),
      receivedAt: r["received_at"] as number,
    };
  });
}

/** Implements `Keystore.removeRequest`. */
export function removeRequest(ctx: KeystoreContext, userId: number): boolean {
  checkId("userId", userId);
  return runTransaction(ctx.db, () => _removeRequest(ctx, userId));
}

/** Implements `Keystore.block`. */
export function block(ctx: KeystoreContext, userId: number, username: string): BlockedRecord {
  checkId("userId", userId);
  checkUsername("username", username);
  if (userId === ctx.userId) throw new RangeError("userId is your own user ID; block another user");
  const { st } = ctx;
  runTransaction(ctx.db, () => {
    st.block.run(userId, username, Date.now());
    _removeRequest(ctx, userId);
    st.setContact.run(0, userId);
  });
  return blockedById(ctx, userId)!;
}

/** Implements `Keystore.unblock`. */
export function unblock(ctx: KeystoreContext, userId: number): boolean {
  checkId("userId", userId);
  return ctx.st.unblock.get(userId) !== undefined;
}

/** Implements `Keystore.blocked`. */
export function blockedById(ctx: KeystoreContext, userId: number): BlockedRecord | null {
  checkId("userId", userId);
  const row = ctx.st.blocked.get(userId) as Row | undefined;
  return row === undefined ? null : _blocked(row);
}

/** Implements `Keystore.blockedByName`. */
export function blockedByName(ctx: KeystoreContext, username: string): BlockedRecord | null {
  checkUsername("username", username);
  const row = ctx.st.blockedByName.get(username) as Row | undefined;
  return row === undefined ? null : _blocked(row);
}

/** Implements `Keystore.blockedUsers`. */
export function listBlocked(ctx: KeystoreContext): BlockedRecord[] {
  return (ctx.st.blockedUsers.all() as Row[]).map(_blocked);
}

/** Implements `Keystore.setting`. */
export function setting(ctx: KeystoreContext, name: string): string | null {
  checkShortId("name", name);
  const row = ctx.st.setting.get(name) as Row | undefined;
  return row === undefined ? null : row["value"] as string;
}

/** Implements `Keystore.setSetting`. */
export function setSetting(ctx: KeystoreContext, name: string, value: string | null): void {
  checkShortId("name", name);
  if (name.startsWith("secret:")) {
    throw new RangeError(`name must not start with "secret:" (use setSecret()), got "${name}"`);
  }
  if (value === null) {
    ctx.st.deleteSetting.run(name);
    return;
  }
  checkText("value", value);
  if (value.length > _MAX_SETTING_CHARS) {
    throw new RangeError(`value must be at most ${_MAX_SETTING_CHARS} characters`);
  }
  ctx.st.setSetting.run(name, value);
}

/** Implements `Keystore.secret`. */
export function secret(ctx: KeystoreContext, name: string): string | null {
  checkShortId("name", name);
  const stored = `secret:${name}`;
  const row = ctx.st.setting.get(stored) as Row | undefined;
  if (row === undefined) return null;
  return ctx.cipher.open(secretSettingContext(stored), row["value"] as string);
}

/** Implements `Keystore.setSecret`. */
export function setSecret(ctx: KeystoreContext, name: string, value: string | null): void {
  checkShortId("name", name);
  const stored = `secret:${name}`;
  if (value === null) {
    ctx.st.deleteSetting.run(stored);
    return;
  }
  checkText("value", value);
  if (value.length > _MAX_SECRET_CHARS) {
    throw new RangeError(`value must be at most ${_MAX_SECRET_CHARS} characters`);
  }
  ctx.st.setSetting.run(stored, ctx.cipher.seal(secretSettingContext(stored), value));
}

/** Deletes a request and its messages; the caller holds a transaction. */
function _removeRequest(ctx: KeystoreContext, userId: number): boolean {
  ctx.st.deleteRequestMessages.run(userId);
  return ctx.st.deleteRequest.get(userId) !== undefined;
}

function _checkFrame(frame: unknown): asserts frame is string {
  checkText("frame", frame);
  if (frame.length === 0) throw new RangeError("frame must not be empty");
}

function _request(ctx: KeystoreContext, row: Row): RequestRecord {
  const userId = row["user_id"] as number;
  const preview = row["preview_enc"] as string | null;
  return {
    userId,
    username: row["username"] as string,
    firstAt: row["first_at"] as number,
    lastAt: row["last_at"] as number,
    preview: preview === null ? null : ctx.cipher.open(requestPreviewContext(userId), preview),
    messages: row["messages"] as number,
  };
}

function _blocked(row: Row): BlockedRecord {
  return {
    userId: row["user_id"] as number,
    username: row["username"] as string,
    blockedAt: row["blocked_at"] as number,
  };
}
