/**
 * Files, end to end: a file is split into chunks, each sealed like a message (its client
 * message ID names the file and chunk) and sent with a few in flight at once; the receiver
 * reassembles and checks them (`FileAssembler`) and saves the file under a name that never
 * overwrites another. The bytes come from and go to a {@linkcode FilePort}.
 *
 * @module
 */

import type { MessageFrame } from "../../protocol/mod.ts";
import type { LiveConnection } from "./connection.ts";
import {
  FileAssembler,
  type FileChunk,
  MAX_FILE_SIZE,
  sealDirect,
  sealGroup,
  splitFile,
} from "../../e2e/mod.ts";
import { CLIENT_ERRORS, ClientError } from "./errors.ts";
import type { EventSink } from "./events.ts";
import { keysChangedError } from "./friends.ts";
import type { FriendRecord, GroupRecord } from "../../keystore/keystore_types.ts";
import { userName } from "./lookup.ts";
import type { FilePort, FriendsPort, GroupsPort, MessagesPort } from "./ports.ts";
import type { Tracker } from "./tracker.ts";

/** File chunks in flight at once while sending. */
const _WINDOW = 4;

/** The keystore as file transfer uses it. */
export type FileStore =
  & Pick<FriendsPort, "userId" | "username" | "friend" | "friendKeysUsable" | "activeFriendKey">
  & Pick<GroupsPort, "currentGroupKey">
  & Pick<MessagesPort, "addOutgoing" | "markAccepted" | "addIncoming">;

/** What {@linkcode FileTransfer} needs. */
export interface FileTransferDeps {
  readonly ks: FileStore;
  readonly files: FilePort;
  /** Where received files are saved. */
  readonly saveDir: string;
  readonly link: LiveConnection;
  readonly emit: EventSink;
  readonly identitySecret: Uint8Array;
  readonly tracker: Tracker;
}

/** Where a file goes: a friend with a shared key, or a group with a key. */
export type FileTarget =
  | { readonly friend: FriendRecord; readonly group?: undefined; readonly label: string }
  | { readonly group: GroupRecord; readonly friend?: undefined; readonly label: string };

/** Sends and receives files. */
export class FileTransfer {
  readonly #d: FileTransferDeps;
  readonly #assembler = new FileAssembler();

  constructor(deps: FileTransferDeps) {
    this.#d = deps;
  }

  /** Reads the file at `path`, checking its size first; the name is its last segment. */
  async read(path: string): Promise<{ name: string; bytes: Uint8Array }> {
    let bytes: Uint8Array;
    try {
      const { size } = await this.#d.files.stat(path);
      if (size > MAX_FILE_SIZE) {
        throw new ClientError(
          CLIENT_ERRORS.tooLarge,
          `File too large: ${size} bytes, at most ${MAX_FILE_SIZE} can be sent`,
        );
      }
      bytes = await this.#d.files.readFile(path);
    } catch (err) {
      if (err instanceof ClientError) throw err;
      throw new ClientError(
        CLIENT_ERRORS.cannotRead,
        `Cannot read ${path}: ${(err as Error).message}`,
      );
    }
    return { name: path.split(/[\\/]/).pop() || "file", bytes };
  }

  /**
   * Sends a file (from {@linkcode read}) in chunks, reporting progress, then records it in
   * the history (with the ID of its last chunk) and reports it `sent` and `accepted`.
   */
  async send(
    file: { name: string; bytes: Uint8Array },
    path: string,
    target: FileTarget,
  ): Promise<void> {
    const { ks, emit } = this.#d;
    const chunks = splitFile(file.bytes, file.name);
    const meta = chunks[0]!.file;
    const seal = this.#sealer(target);
    const peerId = target.group ? target.group.groupId : target.friend.userId;
    const conn = this.#d.link.live();
    const what = `Sending ${meta.name} (${meta.size} bytes)`;
    let sent = 0;
    let next = 0;
    let lastReported = -1;
    let lastMsgId = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        const id = chunkMessageId(chunk);
        const body = seal(chunk, id);
        const acc = await this.#d.tracker.track(
          target.group
            ? conn.request({ type: "group_message", group_id: peerId, body, client_msg_id: id })
            : conn.request({ type: "single_message", to: peerId, body, client_msg_id: id }),
        );
        lastMsgId = Math.max(lastMsgId, acc.msg_id);
        sent += chunk.data.length;
        const tenth = Math.floor((sent / Math.max(1, meta.size)) * 10);
        if (chunks.length > 1 && tenth !== lastReported) {
          lastReported = tenth;
          emit({ event: "progress", what, done: sent, total: meta.size });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(_WINDOW, chunks.length) }, worker));
    const clientMsgId = `file-${meta.id}`;
    const text = `[file] ${meta.name}`;
    ks.addOutgoing({
      clientMsgId,
      kind: target.group ? "group" : "direct",
      peerId,
      text,
      file: { name: meta.name, path, size: meta.size, sha256: meta.sha256 },
    });
    // The file's history entry carries the ID of its last chunk (its receipt says delivered).
    ks.markAccepted(clientMsgId, lastMsgId);
    emit({
      event: "sent",
      client_msg_id: clientMsgId,
      to: target.label,
      group: target.group?.groupId ?? null,
      to_id: target.friend?.userId ?? null,
      text,
      state: "accepted",
      file: { name: meta.name, size: meta.size },
    });
    emit({ event: "accepted", client_msg_id: clientMsgId, id: lastMsgId });
  }

  /** Takes one received chunk; saves and reports the file when it completes. */
  async receive(m: MessageFrame, chunk: FileChunk, group: GroupRecord | null): Promise<void> {
    const { ks, emit } = this.#d;
    const from = userName(ks, m.from);
    const source = group ? `gm:${group.groupId}:${m.from}` : `dm:${m.from}`;
    const done = this.#assembler.add(chunk, source);
    if (!done) {
      if (chunk.file.count > 8) {
        const p = this.#assembler.progress().find((x) => x.id === chunk.file.id);
        if (p && p.received % Math.ceil(p.count / 10) === 0) {
          emit({
            event: "progress",
            what: `Receiving ${chunk.file.name} from ${from}`,
            done: p.received,
            total: p.count,
          });
        }
      }
      return;
    }
    const path = await this.#save(done.name, done.bytes);
    ks.addIncoming({
      msgId: m.msg_id,
      clientMsgId: m.client_msg_id,
      kind: group ? "group" : "direct",
      peerId: group ? group.groupId : m.from,
      senderId: m.from,
      text: `[file] ${done.name}`,
      file: { name: done.name, path, size: done.size, sha256: done.sha256 },
      sentAt: m.sent_at,
    });
    emit({
      event: "file",
      id: m.msg_id,
      from: m.from,
      from_name: from,
      group: group?.groupId ?? null,
      name: done.name,
      path,
      size: done.size,
      sha256: done.sha256,
      group_name: group?.name ?? null,
    });
  }

  /** Saves under `name`, or `name (2).ext`... when taken, so nothing is overwritten. */
  async #save(name: string, bytes: Uint8Array): Promise<string> {
    for (let i = 1; i <= 10_000; i++) {
      const saved = await this.#d.files.saveNew(this.#d.saveDir, numberedName(name, i), bytes);
      if (saved !== null) return saved;
    }
    throw new Error(`No free name for ${name} in ${this.#d.saveDir}`);
  }

  /** Seals one chunk for the target with the current key. */
  #sealer(target: FileTarget): (c: FileChunk, clientMsgId: string) => string {
    const { ks, identitySecret } = this.#d;
    if (target.group) {
      const groupId = target.group.groupId;
      const key = ks.currentGroupKey(groupId);
      if (!key) {
        throw new ClientError(CLIENT_ERRORS.noKey, `No key for group ${target.group.name} yet`);
      }
      return (c, clientMsgId) =>
        sealGroup({
          fromId: ks.userId,
          groupId,
          epoch: key.epoch,
          fernetKey: key.key,
          plaintext: c,
          senderIdentitySecret: identitySecret,
          clientMsgId,
        });
    }
    const f = target.friend;
    if (!ks.friendKeysUsable(f.userId)) throw keysChangedError(f.username);
    const key = ks.activeFriendKey(f.userId);
    if (!key) throw new ClientError(CLIENT_ERRORS.noKey, `No shared key with ${f.username} yet`);
    return (c, clientMsgId) =>
      sealDirect({
        fromId: ks.userId,
        toId: f.userId,
        fernetKey: key.key,
        plaintext: c,
        senderIdentitySecret: identitySecret,
        clientMsgId,
      });
  }
}

/** The client message ID of one file chunk (signed into its envelope). */
export function chunkMessageId(c: FileChunk): string {
  return `file-${c.file.id}-${c.file.index}`;
}

/** `name` for the first try, then `stem (2).ext`, `stem (3).ext`... */
export function numberedName(name: string, i: number): string {
  if (i === 1) return name;
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : "";
  return `${stem} (${i})${ext}`;
}
