/**
 * Presence over the mesh: tells peer servers which users connect to and leave this server,
 * and learns the same from them into the {@linkcode PresenceDirectory}.
 *
 * - Changes made during one event-loop turn go out after it as one `peer_presence` frame per
 *   peer (the latest state per user wins).
 * - When a link comes up, the full list goes first (`reset: true`), so a peer that restarted
 *   or was cut off starts from the truth. When a link goes down, what that peer said is
 *   forgotten: routing to it stops, and its users get their messages from the database.
 * - A login waits (at most `barrierMs`) until every peer that is up has applied the news
 *   (`peer_presence_ack`) before the replay of pending messages starts. So no message is
 *   missed in the move: one that a peer routed before it knew is committed before the replay
 *   reads, and one committed later is routed here.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { LIMITS, type PeerPresenceFrame } from "../protocol/mod.ts";
import { type Clock, SYSTEM_CLOCK, type TimerHandle } from "../async/clock.ts";
import type { MeshTransport } from "../mesh/transport.ts";
import type { PresenceDirectory } from "./presence.ts";

/** Options for {@linkcode PresenceGossip}. */
export interface PresenceGossipOptions {
  readonly mesh: MeshTransport;
  readonly directory: PresenceDirectory;
  /** Longest wait for peers to apply a login (default 500 ms; a hung peer is skipped). */
  readonly barrierMs?: number;
  /** Timers (default: the system clock). */
  readonly clock?: Clock;
}

interface _Barrier {
  waiting: Set<number>;
  resolve: () => void;
  timer: TimerHandle;
}

/** Presence gossip; see the module documentation. */
export class PresenceGossip {
  readonly #mesh: MeshTransport;
  readonly #dir: PresenceDirectory;
  readonly #barrierMs: number;
  readonly #clock: Clock;
  /** Changes not yet sent: user to online (true) or offline (false). */
  readonly #changes = new Map<number, boolean>();
  /** Logins waiting for the next flush to be acknowledged. */
  #waiters: (() => void)[] = [];
  #scheduled = false;
  #seq = 0;
  /** Flushes not yet acknowledged by every peer they went to, by sequence number. */
  readonly #barriers = new Map<number, _Barrier>();

  constructor(opts: PresenceGossipOptions) {
    this.#mesh = opts.mesh;
    this.#dir = opts.directory;
    this.#barrierMs = opts.barrierMs ?? 500;
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
  }

  /**
   * The user's first session here: tells every peer. Resolves once every peer that is up has
   * applied it, or after `barrierMs`.
   */
  announceOnline(userId: number): Promise<void> {
    this.#changes.set(userId, true);
    const done = new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#schedule();
    return done;
  }

  /** The user's last session here closed: tells every peer. */
  announceOffline(userId: number): void {
    this.#changes.set(userId, false);
    this.#schedule();
  }

  /** A link came up: sends that peer the full list of users connected here. */
  onLinkUp(peerId: number): void {
    const users = this.#dir.localUsers();
    let first = true;
    for (let i = 0; first || i < users.length; i += LIMITS.presenceIds) {
      this.#mesh.send(peerId, {
        type: "peer_presence",
        reset: first,
        online: users.slice(i, i + LIMITS.presenceIds),
        offline: [],
      });
      first = false;
    }
  }

  /** A link went down: forgets what that peer said and stops waiting for it. */
  onLinkDown(peerId: number): void {
    this.#dir.forgetServer(peerId);
    for (const [seq, b] of this.#barriers) {
      if (b.waiting.delete(peerId) && b.waiting.size === 0) this.#release(seq);
    }
  }

  /** Applies a peer's `peer_presence` and acknowledges it when asked. */
  onPresence(peerId: number, frame: PeerPresenceFrame): void {
    this.#dir.applyRoster(peerId, frame);
    if (frame.seq !== undefined) {
      this.#mesh.send(peerId, { type: "peer_presence_ack", seq: frame.seq });
    }
  }

  /** A peer applied flush `seq`. */
  onAck(peerId: number, seq: number): void {
    const b = this.#barriers.get(seq);
    if (b !== undefined && b.waiting.delete(peerId) && b.waiting.size === 0) this.#release(seq);
  }

  /** Stops waiting for anyone (server shutdown). */
  close(): void {
    for (const seq of [...this.#barriers.keys()]) this.#release(seq);
    for (const w of this.#waiters.splice(0)) w();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const online: number[] = [];
    const offline: number[] = [];
    for (const [userId, on] of this.#changes) (on ? online : offline).push(userId);
    this.#changes.clear();
    const waiters = this.#waiters.splice(0);
    // Only a flush that logins wait for asks to be acknowledged.
    const seq = waiters.length > 0 ? ++this.#seq : undefined;
    const sentTo = new Set<number>();
    const frames = _chunks(online, offline);
    for (const peerId of this.#mesh.upPeers()) {
      let ok = true;
      frames.forEach((f, i) => {
        const last = i === frames.length - 1 && seq !== undefined;
        ok = this.#mesh.send(peerId, last ? { ...f, seq } : f) && ok;
      });
      if (ok) sentTo.add(peerId);
    }
    const resolveAll = () => waiters.forEach((w) => w());
    if (seq === undefined || sentTo.size === 0) {
      resolveAll();
      return;
    }
    const timer = this.#clock.setTimeout(() => this.#release(seq), this.#barrierMs);
    this.#barriers.set(seq, { waiting: sentTo, resolve: resolveAll, timer });
  }

  #release(seq: number): void {
    const b = this.#barriers.get(seq);
    if (b === undefined) return;
    this.#barriers.delete(seq);
    this.#clock.clearTimeout(b.timer);
    b.resolve();
  }
}

/** Splits the changes into frames within the protocol's list limit (at least one frame). */
function _chunks(online: number[], offline: number[]): PeerPresenceFrame[] {
  const out: PeerPresenceFrame[] = [];
  const n = Math.max(online.length, offline.length);
  for (let i = 0; i === 0 || i < n; i += LIMITS.presenceIds) {
    out.push({
      type: "peer_presence",
      reset: false,
      online: online.slice(i, i + LIMITS.presenceIds),
      offline: offline.slice(i, i + LIMITS.presenceIds),
    });
  }
  return out;
}
