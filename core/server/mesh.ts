/**
 * The mesh: this server's authenticated links to every other server in servers.txt. Each
 * server dials every peer and receives on the links it dialed; it sends on the links its
 * peers dialed to it (the accepted side). Why that way round: Deno's WebSocket client leaves
 * Nagle's algorithm on, and a one-way stream of small frames from a client socket stalls up
 * to 40 ms waiting for the receiver's delayed ACK; the server side of a `Deno.serve` upgrade
 * sends without delay. A link that drops is redialed by its dialer with backoff, and frames
 * meant for a peer whose link is down wait in a bounded outbox until the peer dials again
 * (recipients who moved meanwhile are served from the database when they log in, and clients
 * drop duplicates by message ID).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import {
  CLOSE_CODES,
  decode,
  encode,
  ERROR_CODES,
  type PeerBatchedFrame,
  type PeerFrame,
  ProtocolError,
} from "../protocol/mod.ts";
import { writePeerFrames } from "./peer_batch.ts";
import type { ServerEntry } from "../cluster/servers_file.ts";
import type { Logger } from "../log/logger.ts";
import { checkPeerProof, newNonce, peerProof } from "./peer_auth.ts";

/** Frames kept per peer while its link is down. */
const _OUTBOX_LIMIT = 50_000;
/** How long a handshake may take. */
const _HANDSHAKE_MS = 5_000;

/** Mesh settings. */
export interface MeshOptions {
  selfId: number;
  peers: readonly ServerEntry[];
  secret: Uint8Array;
  logger: Logger;
  /** Dial with wss:// instead of ws://. */
  tls?: boolean;
  /** Called for every authenticated frame a peer sends (batches arrive unpacked, in order). */
  onFrame: (fromId: number, frame: PeerFrame) => void;
}

interface _Link {
  peer: ServerEntry;
  /** The link this server dialed (receives the peer's frames). */
  socket: WebSocket | null;
  /** The peer's authenticated link to this server (carries this server's frames). */
  sendSocket: WebSocket | null;
  outbox: string[];
  /** Encoded frames sent during this event-loop turn, written together after it. */
  pending: string[];
  flushScheduled: boolean;
  backoffMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Links to peer servers. */
export class Mesh {
  readonly #opts: MeshOptions;
  readonly #links = new Map<number, _Link>();
  readonly #accepted = new Set<WebSocket>();
  #closed = false;

  constructor(opts: MeshOptions) {
    this.#opts = opts;
    for (const peer of opts.peers) {
      if (peer.id === opts.selfId) continue;
      this.#links.set(peer.id, {
        peer,
        socket: null,
        sendSocket: null,
        outbox: [],
        pending: [],
        flushScheduled: false,
        backoffMs: 100,
        timer: undefined,
      });
    }
  }

  /** Starts dialing every peer. */
  start(): void {
    for (const link of this.#links.values()) this.#dial(link);
  }

  /** Number of peers this server can send to now (their authenticated link is open). */
  get readyLinks(): number {
    let n = 0;
    for (const l of this.#links.values()) if (_open(l.sendSocket)) n++;
    return n;
  }

  /** True when frames for `peerId` go out now rather than into the outbox. */
  isReady(peerId: number): boolean {
    const link = this.#links.get(peerId);
    return link !== undefined && _open(link.sendSocket);
  }

  /**
   * Sends a frame to a peer: after this event-loop turn, together with the other frames for
   * that peer from the same turn (see `writePeerFrames`), or into the outbox while the
   * link is down. Returns false only for an unknown peer or a full outbox.
   */
  send(peerId: number, frame: PeerBatchedFrame): boolean {
    const link = this.#links.get(peerId);
    if (!link) return false;
    if (!_open(link.sendSocket) && link.outbox.length + link.pending.length >= _OUTBOX_LIMIT) {
      this.#opts.logger.warn("peer_outbox_full", { peer: peerId });
      return false;
    }
    link.pending.push(encode(frame));
    if (!link.flushScheduled) {
      link.flushScheduled = true;
      setImmediate(() => this.#flush(link));
    }
    return true;
  }

  #flush(link: _Link): void {
    link.flushScheduled = false;
    const texts = link.pending.splice(0);
    if (texts.length === 0) return;
    if (_open(link.sendSocket)) {
      writePeerFrames(link.sendSocket!, texts);
      return;
    }
    const room = _OUTBOX_LIMIT - link.outbox.length;
    if (texts.length > room) {
      this.#opts.logger.warn("peer_outbox_full", {
        peer: link.peer.id,
        dropped: texts.length - room,
      });
    }
    for (const text of texts.slice(0, Math.max(0, room))) link.outbox.push(text);
  }

  /** Hands an authenticated frame to `onFrame`, unpacking a batch in order. */
  #receive(peerId: number, frame: PeerFrame): void {
    if (frame.type !== "peer_batch") {
      this.#opts.onFrame(peerId, frame);
      return;
    }
    for (const inner of frame.frames) this.#opts.onFrame(peerId, inner);
  }

  /** Handles an inbound peer connection (the acceptor side of the handshake). */
  accept(socket: WebSocket): void {
    const { selfId, secret, logger } = this.#opts;
    const nonce = newNonce();
    let peerId = 0;
    const timer = setTimeout(() => {
      if (peerId === 0) socket.close(CLOSE_CODES.peerAuthFailed, "Peer handshake timed out");
    }, _HANDSHAKE_MS);
    this.#accepted.add(socket);
    socket.onopen = () => socket.send(encode({ type: "peer_challenge", server_id: selfId, nonce }));
    socket.onclose = () => {
      clearTimeout(timer);
      this.#accepted.delete(socket);
      if (peerId === 0) return;
      const link = this.#links.get(peerId);
      if (link?.sendSocket === socket) link.sendSocket = null;
      logger.info("peer_link_closed", { peer: peerId, direction: "in" });
    };
    socket.onmessage = (ev) => {
      let frame: PeerFrame;
      try {
        frame = decode(String(ev.data), "peer");
      } catch (err) {
        const message = err instanceof ProtocolError ? err.message : "Invalid frame";
        logger.warn("peer_bad_frame", { peer: peerId || undefined, error: message });
        if (peerId === 0) socket.close(CLOSE_CODES.peerAuthFailed, "Peer authentication failed");
        return;
      }
      if (peerId === 0) {
        const ok = frame.type === "peer_auth" && this.#links.has(frame.server_id) &&
          checkPeerProof(secret, "dialer", frame.server_id, selfId, nonce, frame.mac);
        if (!ok || frame.type !== "peer_auth") {
          logger.warn("peer_auth_failed", { claimed: "server_id" in frame ? frame.server_id : "" });
          socket.send(encode({
            type: "error",
            code: ERROR_CODES.badPeerAuth,
            message: "Peer authentication failed",
          }));
          socket.close(CLOSE_CODES.peerAuthFailed, "Peer authentication failed");
          return;
        }
        peerId = frame.server_id;
        clearTimeout(timer);
        socket.send(encode({
          type: "peer_ready",
          mac: peerProof(secret, "acceptor", selfId, peerId, frame.nonce),
        }));
        // This is now the link for frames to that peer; an older one (from before the
        // peer restarted) is closed so that frames never split across two links.
        const link = this.#links.get(peerId)!;
        const previous = link.sendSocket;
        link.sendSocket = socket;
        if (previous !== null && previous !== socket) {
          previous.close(CLOSE_CODES.goingAway, "Replaced by a newer link");
        }
        const queued = link.outbox.splice(0);
        if (queued.length > 0) writePeerFrames(socket, queued);
        logger.info("peer_link_up", { peer: peerId, direction: "in", flushed: queued.length });
        return;
      }
      this.#receive(peerId, frame);
    };
  }

  /** Closes every link and stops redialing. */
  close(): void {
    this.#closed = true;
    for (const link of this.#links.values()) {
      clearTimeout(link.timer);
      link.socket?.close(CLOSE_CODES.goingAway, "Server shutting down");
    }
    for (const s of this.#accepted) s.close(CLOSE_CODES.goingAway, "Server shutting down");
  }

  #dial(link: _Link): void {
    if (this.#closed) return;
    const { selfId, secret, logger, tls } = this.#opts;
    const url = `${tls ? "wss" : "ws"}://${link.peer.host}:${link.peer.port}/peer`;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch (err) {
      logger.warn("peer_dial_failed", { peer: link.peer.id, error: (err as Error).message });
      this.#redial(link);
      return;
    }
    link.socket = socket;
    const myNonce = newNonce();
    let state: "challenge" | "ready" | "up" = "challenge";
    const timer = setTimeout(() => {
      if (state !== "up") socket.close(CLOSE_CODES.peerAuthFailed, "Peer handshake timed out");
    }, _HANDSHAKE_MS);
    socket.onmessage = (ev) => {
      let frame: PeerFrame;
      try {
        frame = decode(String(ev.data), "peer");
      } catch (err) {
        logger.warn("peer_bad_frame", { peer: link.peer.id, error: (err as Error).message });
        if (state !== "up") socket.close(CLOSE_CODES.peerAuthFailed, "Bad handshake frame");
        return;
      }
      if (state === "challenge") {
        if (frame.type !== "peer_challenge" || frame.server_id !== link.peer.id) {
          socket.close(CLOSE_CODES.peerAuthFailed, "Unexpected peer");
          return;
        }
        socket.send(encode({
          type: "peer_auth",
          server_id: selfId,
          mac: peerProof(secret, "dialer", selfId, link.peer.id, frame.nonce),
          nonce: myNonce,
        }));
        state = "ready";
        return;
      }
      if (state === "ready") {
        if (
          frame.type !== "peer_ready" ||
          !checkPeerProof(secret, "acceptor", link.peer.id, selfId, myNonce, frame.mac)
        ) {
          logger.warn("peer_auth_failed", { peer: link.peer.id, direction: "out" });
          socket.close(CLOSE_CODES.peerAuthFailed, "Peer failed to authenticate");
          return;
        }
        state = "up";
        clearTimeout(timer);
        link.backoffMs = 100;
        logger.info("peer_link_up", { peer: link.peer.id, direction: "out" });
        return;
      }
      if (frame.type === "error") {
        logger.warn("peer_error", { peer: link.peer.id, code: frame.code, error: frame.message });
        return;
      }
      // The peer's frames for this server arrive on the link this server dialed.
      this.#receive(link.peer.id, frame);
    };
    socket.onclose = () => {
      clearTimeout(timer);
      link.socket = null;
      if (state === "up") logger.info("peer_link_closed", { peer: link.peer.id, direction: "out" });
      this.#redial(link);
    };
    socket.onerror = () => {/* onclose follows and redials */};
  }

  #redial(link: _Link): void {
    if (this.#closed) return;
    clearTimeout(link.timer);
    link.timer = setTimeout(() => this.#dial(link), link.backoffMs);
    link.backoffMs = Math.min(2_000, link.backoffMs * 2);
  }
}

function _open(socket: WebSocket | null): boolean {
  return socket !== null && socket.readyState === WebSocket.OPEN;
}
