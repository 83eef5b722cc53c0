/**
 * One client connection as the server tracks it: who is logged in on it, its
 * frame-processing chain (frames from one client are handled in arrival order), the answers
 * it is owed (sent in the order of the requests, whatever order they are ready in), what was
 * pushed on it and what it acknowledged (so the redelivery sweep can tell a lost
 * acknowledgement from a late one), and the buffer that keeps live pushes behind the
 * pending-message replay after login.
 *
 * @module
 */

import type { TimerHandle } from "../async/clock.ts";
import { encode, type MessageFrame, type ServerFrame } from "../protocol/mod.ts";
import type { Conn } from "./conn.ts";

/** Message IDs remembered per connection (see {@linkcode ClientSession.markPushed}). */
const _PUSHED_CAP = 20_000;

/** Who sent a pushed message: the fields its receipt needs. */
export interface PushOrigin {
  readonly senderId: number;
  readonly clientMsgId: string | null;
}

/**
 * Whether a frame answers a request: every answer carries the request's `ref` (an error may
 * lack it when the request's could not be read); pushes never carry one.
 */
function _isAnswer(frame: ServerFrame): boolean {
  return frame.type === "error" || "ref" in frame;
}

/** What {@linkcode ClientSession.pushed} shows before the first push. */
const _NONE_PUSHED: ReadonlyMap<number, number> = new Map();

/** An answer this connection is owed, in request order. */
interface _Slot {
  readonly ref: number | undefined;
  text: string | null;
}

/** A client connection's state. */
export class ClientSession {
  readonly conn: Conn;
  /** Logged-in user ID; 0 until register, login or resume succeeds. */
  userId = 0;
  username = "";
  /** SHA-256 of this connection's session token. */
  sessionHash: Uint8Array | null = null;
  /** The device logged in here (`login_device`, or a resumed device session); null if none. */
  deviceId: number | null = null;
  /** The nonce of this connection's `device_challenge`, until a `login_device` uses it. */
  loginNonce: string | null = null;
  /** Consecutive invalid frames. */
  invalidFrames = 0;
  /** Frames are handled one after another through this chain. */
  chain: Promise<void> = Promise.resolve();
  /** Acknowledgements being applied off the chain (see `ChatServer`'s `ack`). */
  acksInFlight = 0;
  /** Settles once this connection's latest message has entered the commit queue (or failed). */
  submitTail: Promise<void> = Promise.resolve();
  /** Frames received whose handling has not started (waiting on the chain). */
  backlog = 0;
  /** This connection's messages waiting for their group commit (admission's fair share). */
  storing = 0;
  /** True while pending messages are replayed after login; live pushes wait meanwhile. */
  syncing = false;
  /** Live pushes held back while syncing. */
  held: MessageFrame[] = [];
  /** Message IDs sent during the replay, so a held push is not sent twice. */
  replayed = new Set<number>();
  closed = false;
  /** The latest push time among the messages this connection acknowledged. */
  #lastAckedPushAt = -Infinity;
  /**
   * When each message was last pushed on this connection (the clock's time), or Infinity
   * once this connection acknowledged it. Live pushes, mesh pushes and the replay push a
   * message here at most once; the redelivery sweep pushes again one that stayed
   * unacknowledged too long. Bounded: the oldest IDs are forgotten past the cap. Made at
   * the first push: a server holds many connections that never get one.
   */
  #pushed: Map<number, number> | null = null;
  /**
   * Who sent each message pushed here and not yet acknowledged here, for its receipt: what
   * lets an acknowledgement be answered before it is written (`ack_log.ts`). Bounded with
   * {@linkcode #pushed}.
   */
  #origins: Map<number, PushOrigin> | null = null;
  /** Closes the connection if it has not logged in in time; cleared at login. */
  loginTimer: TimerHandle | undefined;
  /** Answers owed, oldest first; the head goes out as soon as it is ready. */
  readonly #slots: _Slot[] = [];

  readonly #now: () => number;

  /** A session on `conn`; `now` is the server's clock, in milliseconds. */
  constructor(conn: Conn, now: () => number = Date.now) {
    this.conn = conn;
    this.#now = now;
  }

  /** The remote address, for login throttling and logs. */
  get addr(): string {
    return this.conn.addr;
  }

  /** See {@linkcode markPushed}; empty until the first push. */
  get pushed(): ReadonlyMap<number, number> {
    return this.#pushed ?? _NONE_PUSHED;
  }

  /**
   * Records that `msgId`, sent by `origin`, is being pushed; false if it was pushed on this
   * connection before.
   */
  markPushed(msgId: number, origin?: PushOrigin): boolean {
    if (this.#pushed?.has(msgId)) return false;
    this.#remember(msgId, this.#now());
    if (origin !== undefined) (this.#origins ??= new Map()).set(msgId, origin);
    return true;
  }

  /**
   * Who sent `msgId`, if it was pushed here (with its origin) and not acknowledged since;
   * forgets it, so a second acknowledgement of the same ID finds nothing.
   */
  takeOrigin(msgId: number): PushOrigin | undefined {
    const origin = this.#origins?.get(msgId);
    if (origin !== undefined) this.#origins!.delete(msgId);
    return origin;
  }

  /**
   * Records a push by the redelivery sweep, and says whether to make it: true (and the time
   * is updated) if `msgId` was never pushed here (a live push was missed), or was pushed at
   * least `afterMs` ago, is unacknowledged, and its acknowledgement was lost rather than
   * late: the connection has since acknowledged a message pushed after this one (a client
   * acknowledges in the order it receives), and nothing of the connection's waits here (no
   * frame still to handle, no acknowledgement being applied, nothing of ours still to write
   * to it). A connection that is merely slow, or a server that is behind, never gets a
   * second copy queued behind the first; one that sends nothing at all is closed by the idle
   * checks, and its user gets the message at the next login.
   */
  markRepushed(msgId: number, afterMs: number, origin?: PushOrigin): boolean {
    const now = this.#now();
    const last = this.#pushed?.get(msgId);
    if (last !== undefined) {
      if (now - last < afterMs) return false; // also false once acknowledged (Infinity)
      if (this.backlog > 0 || this.acksInFlight > 0 || this.conn.bufferedAmount > 0) return false;
      if (this.#lastAckedPushAt <= last) return false;
    }
    this.#remember(msgId, now);
    if (origin !== undefined) (this.#origins ??= new Map()).set(msgId, origin);
    return true;
  }

  /** Records that this connection acknowledged these messages: they are never pushed again. */
  markAcked(ids: readonly number[]): void {
    const pushed = this.#pushed;
    if (pushed === null) return;
    for (const id of ids) {
      const at = pushed.get(id);
      if (at === undefined) continue;
      if (at !== Infinity && at > this.#lastAckedPushAt) this.#lastAckedPushAt = at;
      pushed.set(id, Infinity);
    }
  }

  #remember(msgId: number, at: number): void {
    const pushed = this.#pushed ??= new Map();
    pushed.delete(msgId); // re-inserted last: the map stays in push order
    pushed.set(msgId, at);
    if (pushed.size > _PUSHED_CAP) {
      let drop = pushed.size - _PUSHED_CAP / 2;
      for (const id of pushed.keys()) {
        if (drop-- <= 0) break;
        pushed.delete(id);
        this.#origins?.delete(id);
      }
    }
  }

  /** True while a request is still waiting for its answer. */
  get owesAnswers(): boolean {
    return this.#slots.length > 0;
  }

  /**
   * Opens the place of the answer to one request (or to an invalid frame), in arrival
   * order. The answer with this `ref` fills it (see {@linkcode send}); answers go out in the
   * order their places were opened, so a quick answer never overtakes an earlier request's.
   */
  expectAnswer(ref: number | undefined): void {
    this.#slots.push({ ref, text: null });
  }

  /**
   * Sends a frame. An answer (with a `ref`, or an error) fills the oldest open place with
   * the same `ref` and waits for the answers owed before it; pushes go out at once. Returns
   * false once the connection is closed.
   */
  send(frame: ServerFrame): boolean {
    const text = encode(frame);
    if (this.#slots.length > 0 && _isAnswer(frame)) {
      const ref = "ref" in frame ? frame.ref : undefined;
      const slot = this.#slots.find((s) => s.text === null && s.ref === ref);
      if (slot !== undefined) {
        slot.text = text;
        return this.#flushAnswers();
      }
    }
    return this.conn.send(text);
  }

  /** Sends the answers that are ready, up to the first one still owed. */
  #flushAnswers(): boolean {
    let ok = true;
    while (this.#slots.length > 0 && this.#slots[0]!.text !== null) {
      ok = this.conn.send(this.#slots.shift()!.text!) && ok;
    }
    return ok;
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
