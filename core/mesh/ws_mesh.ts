/**
 * The mesh over WebSockets: this server's authenticated links to every other server in
 * servers.txt, as a {@linkcode MeshTransport}.
 *
 * Two sockets per peer. Each server dials every peer and *receives* on the link it dialed;
 * it *sends* on the link the peer dialed to it. Why that way round: Deno's WebSocket client
 * leaves Nagle's algorithm on, and a one-way stream of small frames from a client socket
 * stalls up to 40 ms waiting for the receiver's delayed ACK; the accepted socket (a
 * `ServerSocket`, with TCP_NODELAY) sends without delay. The two sockets make one logical
 * link: it is up when both have completed the handshake (`handshake.ts`), and when either
 * fails both are closed, so both servers notice at once and rebuild it. The dialer redials
 * with backoff.
 *
 * Hung peers. A peer that is stopped (SIGSTOP, a long pause) keeps its TCP connections open,
 * so a socket never closes by itself. Every link carries a frame at least every
 * `heartbeatMs` (a `peer_heartbeat` when there is nothing else), and a link on which nothing
 * arrived for `staleMs` is taken down; so is one whose unsent data passes `maxBufferedBytes`.
 * Frames for a peer that is down are not queued: `send()` returns false and the database is
 * the path (the peer's redelivery sweep, or the replay at login, delivers them).
 *
 * Logging. While a cluster starts, every server dials peers that are not listening yet; those
 * failures are expected and logged at debug only (`peer_unreachable`). A link logs `peer_up`
 * (info) once both directions are up; when a link that was up is lost, `peer_down` says so:
 * at info when the peer said it was shutting down, at warn otherwise (a crash, a hang, a
 * network fault), so `fastchat up`, whose children log at warn, still shows it.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { Backoff } from "../async/backoff.ts";
import {
  CLOSE_CODES,
  CLOSE_REASONS,
  decode,
  encode,
  type PeerBatchedFrame,
  type PeerFrame,
  ProtocolError,
} from "../protocol/mod.ts";
import type { Logger } from "../log/logger.ts";
import type { ServerSocket } from "../ws/server_socket.ts";
import { AcceptorHandshake, DialerHandshake, type HandshakeStep } from "./handshake.ts";
import { writePeerFrames } from "./peer_batch.ts";
import type { MeshEvents, MeshTransport } from "./transport.ts";

/** A peer server's address. */
export interface PeerAddress {
  /** The peer's server ID, as in servers.txt. */
  readonly id: number;
  /** The host to dial it at. */
  readonly host: string;
  /** The port to dial it at. */
  readonly port: number;
}

/** Mesh settings. */
export interface WsMeshOptions {
  /** This server's ID, as in servers.txt. */
  readonly selfId: number;
  /** Every server in servers.txt (this one may be among them; it is skipped). */
  readonly peers: readonly PeerAddress[];
  /** The cluster secret every server proves it holds in the handshake. */
  readonly secret: Uint8Array;
  /** Where link changes are logged (see "Logging" above). */
  readonly logger: Logger;
  /** Told of frames from peers and of links going up and down. */
  readonly events: MeshEvents;
  /** Dial with wss:// instead of ws://. */
  readonly tls?: boolean;
  /** Longest silence on a link before sending a heartbeat (default 500 ms). */
  readonly heartbeatMs?: number;
  /** Silence after which a peer counts as hung and its link is taken down (default 2,000 ms). */
  readonly staleMs?: number;
  /** Unsent bytes on a link beyond which the peer counts as hung (default 16 MiB). */
  readonly maxBufferedBytes?: number;
  /** How long a handshake may take (default 5,000 ms). */
  readonly handshakeMs?: number;
}

interface _Link {
  readonly peer: PeerAddress;
  /** The link this server dialed (receives the peer's frames), once authenticated or not. */
  dialed: WebSocket | null;
  dialedUp: boolean;
  /** The peer's authenticated link to this server (carries this server's frames). */
  accepted: ServerSocket | null;
  /** Both directions up and `onLinkUp` reported. */
  up: boolean;
  /** performance.now() of the last frame received on `dialed`. */
  lastHeard: number;
  /** performance.now() of the last frame written to `accepted`. */
  lastSent: number;
  /** Encoded frames sent during this event-loop turn, written together after it. */
  pending: string[];
  flushScheduled: boolean;
  /** Redial delays: 100 ms doubling to 2 s, half of each random (peers do not dial in step). */
  backoff: Backoff;
  redialTimer: ReturnType<typeof setTimeout> | undefined;
}

/** The mesh over WebSockets; see the module documentation. */
export class WsMesh implements MeshTransport {
  readonly #opts: WsMeshOptions;
  readonly #links = new Map<number, _Link>();
  readonly #known: ReadonlySet<number>;
  /** Inbound sockets still in their handshake, or authenticated. */
  readonly #inbound = new Set<ServerSocket>();
  readonly #heartbeatMs: number;
  readonly #staleMs: number;
  readonly #maxBuffered: number;
  readonly #handshakeMs: number;
  #watch: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /** Sets the mesh up without dialing yet; throws `RangeError` if `staleMs <= heartbeatMs`. */
  constructor(opts: WsMeshOptions) {
    this.#opts = opts;
    this.#heartbeatMs = opts.heartbeatMs ?? 500;
    this.#staleMs = opts.staleMs ?? 2_000;
    this.#maxBuffered = opts.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.#handshakeMs = opts.handshakeMs ?? 5_000;
    if (!(this.#staleMs > this.#heartbeatMs)) {
      throw new RangeError(
        `staleMs (${this.#staleMs}) must exceed heartbeatMs (${this.#heartbeatMs})`,
      );
    }
    for (const peer of opts.peers) {
      if (peer.id === opts.selfId) continue;
      this.#links.set(peer.id, {
        peer,
        dialed: null,
        dialedUp: false,
        accepted: null,
        up: false,
        lastHeard: 0,
        lastSent: 0,
        pending: [],
        flushScheduled: false,
        backoff: new Backoff({ firstMs: 100, maxMs: 2_000, jitter: 0.5 }),
        redialTimer: undefined,
      });
    }
    this.#known = new Set(this.#links.keys());
  }

  /** Starts dialing every peer and watching the links. */
  start(): void {
    for (const link of this.#links.values()) this.#dial(link);
    this.#watch = setInterval(() => this.#checkLinks(), Math.max(50, this.#heartbeatMs / 2));
  }

  /** True when frames for `peerId` go out now. */
  isUp(peerId: number): boolean {
    return this.#links.get(peerId)?.up === true;
  }

  /** The peers that are up now, by ascending ID. */
  upPeers(): number[] {
    return [...this.#links.values()].filter((l) => l.up).map((l) => l.peer.id).sort((a, b) =>
      a - b
    );
  }

  /**
   * Queues a frame for `peerId`, written after this event-loop turn together with the other
   * frames for that peer from the same turn (see `writePeerFrames`). False when the peer is
   * unknown or not up.
   */
  send(peerId: number, frame: PeerBatchedFrame): boolean {
    const link = this.#links.get(peerId);
    if (!link?.up) return false;
    this.#queue(link, encode(frame));
    return true;
  }

  /**
   * Handles an inbound peer connection (the acceptor side of the handshake). The dialer only
   * sends handshake frames on it, so its owner may keep a small message limit.
   */
  accept(socket: ServerSocket): void {
    if (this.#closed) {
      socket.onopen = () => socket.close(CLOSE_CODES.goingAway, _SHUTTING_DOWN);
      return;
    }
    const { selfId, secret, logger } = this.#opts;
    const hs = new AcceptorHandshake({ selfId, secret, knownPeers: this.#known });
    let peerId = 0;
    const timer = setTimeout(() => {
      if (peerId === 0) socket.close(CLOSE_CODES.peerAuthFailed, "Peer handshake timed out");
    }, this.#handshakeMs);
    this.#inbound.add(socket);
    socket.onopen = () => this.#apply(socket, hs.start());
    socket.onclose = (ev) => {
      clearTimeout(timer);
      this.#inbound.delete(socket);
      const link = this.#links.get(peerId);
      if (link?.accepted === socket) {
        logger.info("peer_link_closed", { peer: peerId, direction: "in", code: ev.code });
        link.accepted = null;
        this.#down(link, _closeReason("inbound", ev));
      }
    };
    socket.onerror = () => {/* onclose follows */};
    socket.onmessage = (ev) => {
      if (peerId !== 0) return; // after the handshake the dialer only receives on this link
      const frame = this.#decode(ev.data, 0);
      if (frame === null) {
        socket.close(CLOSE_CODES.peerAuthFailed, "Peer authentication failed");
        return;
      }
      const step = hs.receive(frame);
      if (step.kind === "fail") logger.warn("peer_auth_failed", { direction: "in" });
      this.#apply(socket, step);
      if (step.kind !== "up") return;
      peerId = step.peerId;
      clearTimeout(timer);
      const link = this.#links.get(peerId)!;
      // This is now the link for frames to that peer; an older one (from before the peer
      // restarted) is closed so that frames never split across two links.
      const previous = link.accepted;
      link.accepted = socket;
      link.lastSent = performance.now();
      if (previous !== null && previous !== socket) {
        _detach(previous);
        previous.close(CLOSE_CODES.goingAway, "Replaced by a newer link");
      }
      logger.debug("peer_link_up", { peer: peerId, direction: "in" });
      this.#maybeUp(link);
    };
  }

  /** Closes every link and stops redialing. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#watch);
    for (const link of this.#links.values()) {
      clearTimeout(link.redialTimer);
      link.up = false;
      for (const s of [link.dialed, link.accepted]) {
        if (s === null) continue;
        _detach(s);
        s.close(CLOSE_CODES.goingAway, _SHUTTING_DOWN);
      }
      link.dialed = null;
      link.accepted = null;
    }
    for (const s of this.#inbound) s.close(CLOSE_CODES.goingAway, _SHUTTING_DOWN);
  }

  #queue(link: _Link, text: string): void {
    link.pending.push(text);
    if (link.flushScheduled) return;
    link.flushScheduled = true;
    setImmediate(() => this.#flush(link));
  }

  #flush(link: _Link): void {
    link.flushScheduled = false;
    const texts = link.pending.splice(0);
    const socket = link.accepted;
    if (texts.length === 0 || socket === null || !link.up) return;
    if (socket.readyState !== WebSocket.OPEN) return;
    writePeerFrames(socket, texts);
    link.lastSent = performance.now();
  }

  /** Heartbeats on quiet links; takes down links whose peer went silent or stopped reading. */
  #checkLinks(): void {
    const now = performance.now();
    for (const link of this.#links.values()) {
      if (link.accepted !== null && now - link.lastSent >= this.#heartbeatMs) {
        if (link.accepted.readyState === WebSocket.OPEN) {
          link.accepted.send(encode({ type: "peer_heartbeat" }));
          link.lastSent = now;
        }
      }
      if (link.dialedUp && now - link.lastHeard > this.#staleMs) {
        this.#opts.logger.warn("peer_hung", {
          peer: link.peer.id,
          silent_ms: Math.round(now - link.lastHeard),
        });
        this.#down(link, "no frames from the peer");
      } else if (link.accepted !== null && link.accepted.bufferedAmount > this.#maxBuffered) {
        this.#opts.logger.warn("peer_hung", {
          peer: link.peer.id,
          buffered_bytes: link.accepted.bufferedAmount,
        });
        this.#down(link, "the peer stopped reading");
      }
    }
  }

  /** Reports the link up once both directions are authenticated. */
  #maybeUp(link: _Link): void {
    if (link.up || !link.dialedUp || link.accepted === null) return;
    link.up = true;
    this.#opts.logger.info("peer_up", { peer: link.peer.id });
    this.#opts.events.onLinkUp(link.peer.id);
  }

  /**
   * Takes the whole link down: both sockets are closed (so the peer notices and rebuilds it
   * too), queued frames are dropped, and the dialer redials. A link that was up is logged as
   * `peer_down`: at info when `why` is the peer's own shutdown, at warn for any other loss.
   */
  #down(link: _Link, why: string): void {
    const wasUp = link.up;
    link.up = false;
    link.pending.length = 0;
    const dialed = link.dialed;
    const accepted = link.accepted;
    link.dialed = null;
    link.dialedUp = false;
    link.accepted = null;
    for (const s of [dialed, accepted]) {
      if (s === null) continue;
      _detach(s);
      if (s === accepted) this.#inbound.delete(s);
      s.close(CLOSE_CODES.goingAway, "Link reset");
    }
    if (wasUp) {
      const fields = { peer: link.peer.id, reason: why };
      if (why.endsWith(_PEER_SHUT_DOWN)) this.#opts.logger.info("peer_down", fields);
      else this.#opts.logger.warn("peer_down", fields);
      this.#opts.events.onLinkDown(link.peer.id);
    }
    this.#redial(link);
  }

  #dial(link: _Link): void {
    if (this.#closed || link.dialed !== null) return;
    const { selfId, secret, logger, tls } = this.#opts;
    const url = `${tls ? "wss" : "ws"}://${_urlHost(link.peer.host)}:${link.peer.port}/peer`;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch (err) {
      logger.warn("peer_dial_failed", { peer: link.peer.id, error: (err as Error).message });
      this.#redial(link);
      return;
    }
    link.dialed = socket;
    const hs = new DialerHandshake({ selfId, peerId: link.peer.id, secret });
    const timer = setTimeout(() => {
      if (!hs.isUp && link.dialed === socket) this.#down(link, "handshake timed out");
    }, this.#handshakeMs);
    socket.onmessage = (ev) => {
      const frame = this.#decode(ev.data, link.peer.id);
      if (!hs.isUp) {
        const step: HandshakeStep = frame === null
          ? { kind: "fail", code: CLOSE_CODES.peerAuthFailed, reason: "Bad handshake frame" }
          : hs.receive(frame);
        if (step.kind === "fail") {
          logger.warn("peer_auth_failed", { peer: link.peer.id, direction: "out" });
          clearTimeout(timer);
        }
        this.#apply(socket, step);
        if (step.kind === "up") {
          clearTimeout(timer);
          link.dialedUp = true;
          link.lastHeard = performance.now();
          link.backoff.reset();
          logger.debug("peer_link_up", { peer: link.peer.id, direction: "out" });
          this.#maybeUp(link);
        }
        return;
      }
      link.lastHeard = performance.now();
      if (frame !== null) this.#receive(link.peer.id, frame);
    };
    socket.onclose = (ev) => {
      clearTimeout(timer);
      if (link.dialed !== socket) return;
      link.dialed = null;
      if (link.dialedUp || link.up) {
        logger.info("peer_link_closed", { peer: link.peer.id, direction: "out", code: ev.code });
        this.#down(link, _closeReason("outbound", ev));
      } else {
        // Never up: the peer is not listening yet (a cluster starting) or still down.
        logger.debug("peer_unreachable", { peer: link.peer.id, code: ev.code });
        this.#redial(link);
      }
    };
    socket.onerror = () => {/* onclose follows */};
  }

  #redial(link: _Link): void {
    if (this.#closed) return;
    clearTimeout(link.redialTimer);
    link.redialTimer = setTimeout(() => this.#dial(link), link.backoff.next());
  }

  /** Sends what a handshake step asks for, or closes the socket. */
  #apply(socket: WebSocket | ServerSocket, step: HandshakeStep): void {
    if (step.kind === "fail") {
      if (step.answer !== undefined) socket.send(encode(step.answer));
      socket.close(step.code, step.reason);
      return;
    }
    if (step.frame !== undefined && socket.readyState === WebSocket.OPEN) {
      socket.send(encode(step.frame));
    }
  }

  /** Decodes a peer frame; logs and returns null for one that does not decode. */
  #decode(data: unknown, peerId: number): PeerFrame | null {
    try {
      return decode(String(data), "peer");
    } catch (err) {
      const message = err instanceof ProtocolError ? err.message : "Invalid frame";
      this.#opts.logger.warn("peer_bad_frame", { peer: peerId || undefined, error: message });
      return null;
    }
  }

  /** Hands an authenticated frame on, unpacking a batch in order. */
  #receive(peerId: number, frame: PeerFrame): void {
    switch (frame.type) {
      case "peer_batch":
        for (const inner of frame.frames) this.#receive(peerId, inner);
        return;
      case "peer_heartbeat":
        return;
      case "error":
        this.#opts.logger.warn("peer_error", {
          peer: peerId,
          code: frame.code,
          error: frame.message,
        });
        return;
      case "peer_challenge":
      case "peer_auth":
      case "peer_ready":
        this.#opts.logger.warn("peer_bad_frame", {
          peer: peerId,
          error: `Unexpected ${frame.type} after the handshake`,
        });
        return;
      default:
        this.#opts.events.onFrame(peerId, frame);
    }
  }
}

/** The close reason a server gives its peers when it stops. */
const _SHUTTING_DOWN = CLOSE_REASONS.shuttingDown;
/** How `peer_down` says that the peer stopped on purpose. */
const _PEER_SHUT_DOWN = "the peer shut down";

/** Why a link went down, from the close of one of its sockets. */
function _closeReason(direction: string, ev: { code: number; reason: string }): string {
  if (ev.code === CLOSE_CODES.goingAway && ev.reason === _SHUTTING_DOWN) {
    return `${direction} link closed: ${_PEER_SHUT_DOWN}`;
  }
  return `${direction} link closed (code ${ev.code})`;
}

/** Stops a socket's handlers from reporting on a link that has moved on. */
function _detach(socket: WebSocket | ServerSocket): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = null;
}

function _urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
