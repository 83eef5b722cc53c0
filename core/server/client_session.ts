/**
 * One client connection as the server tracks it: who is logged in on it, its
 * frame-processing chain (frames from one client are handled in arrival order), what was
 * pushed on it, and the buffer that keeps live pushes behind the pending-message replay
 * after login.
 *
 * @module
 */

import { encode, type MessageFrame, type ServerFrame } from "../protocol/mod.ts";
import type { Conn } from "./conn.ts";

/** Message IDs remembered per connection (see {@linkcode ClientSession.markPushed}). */
const _PUSHED_CAP = 20_000;

/** A client connection's state. */
export class ClientSession {
  readonly conn: Conn;
  /** Logged-in user ID; 0 until register, login or resume succeeds. */
  userId = 0;
  username = "";
  /** SHA-256 of this connection's session token. */
  sessionHash: Uint8Array | null = null;
  /** Consecutive invalid frames. */
  invalidFrames = 0;
  /** Frames are handled one after another through this chain. */
  chain: Promise<void> = Promise.resolve();
  /** True while pending messages are replayed after login; live pushes wait meanwhile. */
  syncing = false;
  /** Live pushes held back while syncing. */
  held: MessageFrame[] = [];
  /** Message IDs sent during the replay, so a held push is not sent twice. */
  replayed = new Set<number>();
  closed = false;
  /**
   * Message IDs already pushed on this connection. A WebSocket delivers in order or dies,
   * so nothing pushed here ever needs pushing here again: live pushes, mesh pushes, the
   * replay and the redelivery sweep all check it, and each message goes out at most once
   * per connection. Bounded: the oldest IDs are forgotten past the cap.
   */
  readonly pushed = new Set<number>();

  constructor(conn: Conn) {
    this.conn = conn;
  }

  /** The remote address, for login throttling and logs. */
  get addr(): string {
    return this.conn.addr;
  }

  /** Records that `msgId` is being pushed; false if it was pushed on this connection before. */
  markPushed(msgId: number): boolean {
    if (this.pushed.has(msgId)) return false;
    this.pushed.add(msgId);
    if (this.pushed.size > _PUSHED_CAP) {
      let drop = this.pushed.size - _PUSHED_CAP / 2;
      for (const id of this.pushed) {
        if (drop-- <= 0) break;
        this.pushed.delete(id);
      }
    }
    return true;
  }

  /** Sends a frame if the connection is open; returns whether it was sent. */
  send(frame: ServerFrame): boolean {
    return this.conn.send(encode(frame));
  }

  /** Sends pre-encoded text (fan-out encodes once for many recipients). */
  sendText(text: string): boolean {
    return this.conn.send(text);
  }

  /** Pushes a message now, or holds it while the pending replay runs. */
  push(frame: MessageFrame): boolean {
    if (this.syncing) {
      this.held.push(frame);
      return true;
    }
    return this.send(frame);
  }

  /** Closes the connection with a code and reason. */
  close(code: number, reason: string): void {
    this.conn.close(code, reason);
  }
}
