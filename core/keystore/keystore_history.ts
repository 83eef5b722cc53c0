/**
 * Message history in the keystore: what was sent and received, with outgoing states, the
 * queue of messages typed while offline, and de-duplication by server message ID so that
 * redeliveries after a restart are stored once. `Keystore` exposes these as methods and
 * documents them.
 *
 * Texts and file details are sealed under their local row ID, so a message is inserted
 * first and sealed in the same transaction once SQLite has given it that ID.
 *
 * @module
 */

import {
  checkCount,
  checkFileMeta,
  checkId,
  checkKind,
  checkLimit,
  checkObject,
  checkShortId,
  checkText,
} from "./keystore_check.ts";
import {
  corruptError,
  type KeystoreContext,
  messageContext,
  type Row,
  runTransaction,
} from "./keystore_context.ts";
import {
  type ConversationKind,
  type FileMeta,
  type IncomingMessageInput,
  KeystoreError,
  type MessageRecord,
  type OutgoingMessageInput,
  type OutgoingState,
} from "./keystore_types.ts";

/** Implements `Keystore.addOutgoing`. */
export function addOutgoing(ctx: KeystoreContext, msg: OutgoingMessageInput): MessageRecord {
  checkObject("msg", msg);
  checkShortId("msg.clientMsgId", msg.clientMsgId);
  checkKind("msg.kind", msg.kind);
  checkId("msg.peerId", msg.peerId);
  checkText("msg.text", msg.text);
  const file = _file(msg.file);
  const sentAt = msg.sentAt ?? Date.now();
  checkCount("msg.sentAt", sentAt);
  const id = runTransaction(ctx.db, () => {
    const row = ctx.st.insertMessage.get(
      null,
      msg.clientMsgId,
      "out",
      msg.kind,
      msg.peerId,
      ctx.userId,
      sentAt,
      null,
      "queued",
    ) as Row | undefined;
    if (row === undefined) {
      throw new KeystoreError(
        "conflict",
        `Client message ID "${msg.clientMsgId}" is already used; make a new one`,
      );
    }
    return _seal(ctx, row["id"] as number, msg.text, file);
  });
  return {
    id,
    msgId: null,
    clientMsgId: msg.clientMsgId,
    direction: "out",
    kind: msg.kind,
    peerId: msg.peerId,
    senderId: ctx.userId,
    text: msg.text,
    file,
    sentAt,
    receivedAt: null,
    state: "queued",
  };
}

/** Implements `Keystore.addIncoming`. */
export function addIncoming(
  ctx: KeystoreContext,
  msg: IncomingMessageInput,
): MessageRecord | null {
  checkObject("msg", msg);
  checkId("msg.msgId", msg.msgId);
  if (msg.clientMsgId !== null) checkShortId("msg.clientMsgId", msg.clientMsgId);
  checkKind("msg.kind", msg.kind);
  checkId("msg.peerId", msg.peerId);
  checkId("msg.senderId", msg.senderId);
  if (msg.kind === "direct" && msg.peerId !== msg.senderId) {
    throw new RangeError(
      `msg.peerId must equal msg.senderId in a direct message, got ${msg.peerId} and ${msg.senderId}`,
    );
  }
  checkText("msg.text", msg.text);
  const file = _file(msg.file);
  checkCount("msg.sentAt", msg.sentAt);
  const receivedAt = msg.receivedAt ?? Date.now();
  checkCount("msg.receivedAt", receivedAt);
  const id = runTransaction(ctx.db, () => {
    const row = ctx.st.insertMessage.get(
      msg.msgId,
      msg.clientMsgId,
      "in",
      msg.kind,
      msg.peerId,
      msg.senderId,
      msg.sentAt,
      receivedAt,
      null,
    ) as Row | undefined;
    ctx.st.markSeen.run(msg.msgId);
    // No row: the server ID (or the sender's client ID) is already stored.
    return row === undefined ? null : _seal(ctx, row["id"] as number, msg.text, file);
  });
  if (id === null) return null;
  return {
    id,
    msgId: msg.msgId,
    clientMsgId: msg.clientMsgId,
    direction: "in",
    kind: msg.kind,
    peerId: msg.peerId,
    senderId: msg.senderId,
    text: msg.text,
    file,
    sentAt: msg.sentAt,
    receivedAt,
    state: null,
  };
}

/** Implements `Keystore.outgoing`. */
export function outgoing(ctx: KeystoreContext, clientMsgId: string): MessageRecord | null {
  checkShortId("clientMsgId", clientMsgId);
  const row = ctx.st.outgoing.get(clientMsgId) as Row | undefined;
  return row === undefined ? null : _message(ctx, row);
}

/** Implements `Keystore.outgoingByMsgId`. */
export function outgoingByMsgId(ctx: KeystoreContext, msgId: number): MessageRecord | null {
  checkId("msgId", msgId);
  const row = ctx.st.outgoingByMsgId.get(msgId) as Row | undefined;
  return row === undefined ? null : _message(ctx, row);
}

/** Implements `Keystore.incoming`. */
export function incoming(ctx: KeystoreContext, msgId: number): MessageRecord | null {
  checkId("msgId", msgId);
  const row = ctx.st.incoming.get(msgId) as Row | undefined;
  return row === undefined ? null : _message(ctx, row);
}

/** Implements `Keystore.history`. */
export function history(
  ctx: KeystoreContext,
  kind: ConversationKind,
  peerId: number,
  limit: number,
): MessageRecord[] {
  checkKind("kind", kind);
  checkId("peerId", peerId);
  checkLimit("limit", limit);
  return (ctx.st.history.all(kind, peerId, limit) as Row[]).map((r) => _message(ctx, r));
}

/** Implements `Keystore.markAccepted`. */
export function markAccepted(ctx: KeystoreContext, clientMsgId: string, msgId: number): boolean {
  checkShortId("clientMsgId", clientMsgId);
  checkId("msgId", msgId);
  const { st } = ctx;
  return runTransaction(ctx.db, () => {
    const row = st.outgoing.get(clientMsgId) as Row | undefined;
    if (row === undefined) return false;
    const current = row["msg_id"] as number | null;
    if (current === msgId) return true;
    if (current !== null) {
      throw new KeystoreError(
        "conflict",
        `Message "${clientMsgId}" already has server ID ${current}, not ${msgId}`,
      );
    }
    if (st.messageByMsgId.get(msgId) !== undefined) {
      throw new KeystoreError(
        "conflict",
        `Server ID ${msgId} already belongs to another message than "${clientMsgId}"`,
      );
    }
    st.setAccepted.run(msgId, row["id"] as number);
    return true;
  });
}

/** Implements `Keystore.markDelivered`. */
export function markDelivered(ctx: KeystoreContext, msgId: number): boolean {
  checkId("msgId", msgId);
  return ctx.st.setDelivered.get(msgId) !== undefined;
}

/** Implements `Keystore.markFailed`. */
export function markFailed(ctx: KeystoreContext, clientMsgId: string): boolean {
  checkShortId("clientMsgId", clientMsgId);
  return ctx.st.setFailed.get(clientMsgId) !== undefined;
}

/** Implements `Keystore.markRequeued`. */
export function markRequeued(ctx: KeystoreContext, clientMsgId: string): boolean {
  checkShortId("clientMsgId", clientMsgId);
  return ctx.st.setRequeued.get(clientMsgId) !== undefined;
}

/** Implements `Keystore.failed`. */
export function failed(ctx: KeystoreContext): MessageRecord[] {
  return (ctx.st.failed.all() as Row[]).map((r) => _message(ctx, r));
}

/** Implements `Keystore.queued`. */
export function queued(ctx: KeystoreContext): MessageRecord[] {
  return (ctx.st.queued.all() as Row[]).map((r) => _message(ctx, r));
}

/** Implements `Keystore.hasMessage`. */
export function hasMessage(ctx: KeystoreContext, msgId: number): boolean {
  checkId("msgId", msgId);
  return ctx.st.hasMessage.get(msgId) !== undefined;
}

/** Implements `Keystore.markSeen`. */
export function markSeen(ctx: KeystoreContext, msgId: number): void {
  checkId("msgId", msgId);
  ctx.st.markSeen.run(msgId);
}

/** Implements `Keystore.lastSeenMsgId`. */
export function lastSeenMsgId(ctx: KeystoreContext): number {
  return (ctx.st.lastSeen.get() as Row)["v"] as number;
}

function _file(value: FileMeta | null | undefined): FileMeta | null {
  return value === undefined || value === null ? null : checkFileMeta("msg.file", value);
}

/** Seals a message's text and file under its row ID; returns the ID. */
function _seal(ctx: KeystoreContext, id: number, text: string, file: FileMeta | null): number {
  const { cipher } = ctx;
  ctx.st.sealMessage.run(
    cipher.seal(messageContext(id, "text"), text),
    file === null ? null : cipher.seal(messageContext(id, "file"), JSON.stringify(file)),
    id,
  );
  return id;
}

function _message(ctx: KeystoreContext, row: Row): MessageRecord {
  const id = row["id"] as number;
  const fileToken = row["file_enc"] as string | null;
  return {
    id,
    msgId: row["msg_id"] as number | null,
    clientMsgId: row["client_msg_id"] as string | null,
    direction: row["direction"] as MessageRecord["direction"],
    kind: row["kind"] as ConversationKind,
    peerId: row["peer_id"] as number,
    senderId: row["sender_id"] as number,
    text: ctx.cipher.open(messageContext(id, "text"), row["text_enc"] as string),
    file: fileToken === null ? null : _openFile(ctx, id, fileToken),
    sentAt: row["sent_at"] as number,
    receivedAt: row["received_at"] as number | null,
    state: row["state"] as OutgoingState | null,
  };
}

function _openFile(ctx: KeystoreContext, id: number, token: string): FileMeta {
  const json = ctx.cipher.open(messageContext(id, "file"), token);
  try {
    return checkFileMeta("file", JSON.parse(json));
  } catch {
    throw corruptError(ctx.label, `the file details of message ${id} are malformed`);
  }
}
