/**
 * The mesh handshake as two pure state machines, one per side of a link: they take the
 * frames the other side sent and say what to send back, when the link is up, and when to
 * give up. No sockets and no timers here (the transport owns those), so every path is unit
 * tested in `tests/mesh_handshake_test.ts`. docs/PROTOCOL.md ("Handshake") is the reference.
 *
 * 1. The acceptor sends `peer_challenge` (its ID, nonce nA) as the link opens.
 * 2. The dialer checks that the acceptor is the server it meant to dial and sends `peer_auth`
 *    (its ID, proof over nA, its nonce nD).
 * 3. The acceptor checks that the dialer is another known server and that the proof verifies,
 *    then sends `peer_ready` (its proof over nD): for the acceptor the link is up.
 * 4. The dialer checks that proof: for the dialer the link is up.
 *
 * @module
 */

import { CLOSE_CODES, ERROR_CODES, type PeerFrame } from "../protocol/mod.ts";
import { checkPeerProof, newNonce, peerProof } from "./peer_auth.ts";

/** What a handshake step asks the transport to do. */
export type HandshakeStep =
  /** Send this frame and keep waiting. */
  | { readonly kind: "send"; readonly frame: PeerFrame }
  /** The link is up with `peerId`; send `frame` first if there is one. */
  | { readonly kind: "up"; readonly peerId: number; readonly frame?: PeerFrame }
  /** Close the link with this WebSocket close code and reason, after sending `answer` if any. */
  | {
    readonly kind: "fail";
    readonly code: number;
    readonly reason: string;
    readonly answer?: PeerFrame;
  };

/** What both sides know. */
export interface HandshakeOptions {
  /** This server's ID. */
  readonly selfId: number;
  /** The cluster secret. */
  readonly secret: Uint8Array;
  /** This side's nonce (default: a fresh random one; tests pass a fixed one). */
  readonly nonce?: string;
}

/** The dialer's side: it opened the link to `peerId`. */
export class DialerHandshake {
  readonly #opts: HandshakeOptions;
  readonly #peerId: number;
  readonly #nonce: string;
  #state: "challenge" | "ready" | "up" | "failed" = "challenge";

  /** Starts a handshake with `peerId`, the server this side dialed; throws on a bad ID. */
  constructor(opts: HandshakeOptions & { readonly peerId: number }) {
    _checkIds(opts.selfId, opts.peerId);
    this.#opts = opts;
    this.#peerId = opts.peerId;
    this.#nonce = opts.nonce ?? newNonce();
  }

  /** True once the acceptor proved itself. */
  get isUp(): boolean {
    return this.#state === "up";
  }

  /** Handles a frame from the acceptor; only call it before the link is up. */
  receive(frame: PeerFrame): HandshakeStep {
    const { selfId, secret } = this.#opts;
    if (this.#state === "challenge") {
      if (frame.type !== "peer_challenge" || frame.server_id !== this.#peerId) {
        return this.#fail("Unexpected peer");
      }
      this.#state = "ready";
      return {
        kind: "send",
        frame: {
          type: "peer_auth",
          server_id: selfId,
          mac: peerProof(secret, "dialer", selfId, this.#peerId, frame.nonce),
          nonce: this.#nonce,
        },
      };
    }
    if (this.#state === "ready") {
      if (
        frame.type !== "peer_ready" ||
        !checkPeerProof(secret, "acceptor", this.#peerId, selfId, this.#nonce, frame.mac)
      ) {
        return this.#fail("Peer failed to authenticate");
      }
      this.#state = "up";
      return { kind: "up", peerId: this.#peerId };
    }
    return this.#fail(this.#state === "up" ? "Handshake already complete" : "Handshake failed");
  }

  #fail(reason: string): HandshakeStep {
    this.#state = "failed";
    return { kind: "fail", code: CLOSE_CODES.peerAuthFailed, reason };
  }
}

/** The acceptor's side: a link opened to it by a server that claims one of `knownPeers`. */
export class AcceptorHandshake {
  readonly #opts: HandshakeOptions;
  readonly #known: ReadonlySet<number>;
  readonly #nonce: string;
  #state: "new" | "auth" | "up" | "failed" = "new";

  /** Waits for a dialer, which must prove it is one of `knownPeers`; throws on a bad ID. */
  constructor(opts: HandshakeOptions & { readonly knownPeers: ReadonlySet<number> }) {
    _checkIds(opts.selfId);
    this.#opts = opts;
    this.#known = opts.knownPeers;
    this.#nonce = opts.nonce ?? newNonce();
  }

  /** True once the dialer proved itself. */
  get isUp(): boolean {
    return this.#state === "up";
  }

  /** The challenge to send as the link opens. */
  start(): HandshakeStep {
    if (this.#state !== "new") return this.#fail("Handshake already started");
    this.#state = "auth";
    return {
      kind: "send",
      frame: { type: "peer_challenge", server_id: this.#opts.selfId, nonce: this.#nonce },
    };
  }

  /** Handles a frame from the dialer; only call it before the link is up. */
  receive(frame: PeerFrame): HandshakeStep {
    const { selfId, secret } = this.#opts;
    if (this.#state !== "auth") {
      return this.#fail(this.#state === "up" ? "Handshake already complete" : "Handshake failed");
    }
    if (
      frame.type !== "peer_auth" || frame.server_id === selfId ||
      !this.#known.has(frame.server_id) ||
      !checkPeerProof(secret, "dialer", frame.server_id, selfId, this.#nonce, frame.mac)
    ) {
      // Only a failed proof is answered: the dialer learns its secret is wrong.
      this.#state = "failed";
      return {
        kind: "fail",
        code: CLOSE_CODES.peerAuthFailed,
        reason: "Peer authentication failed",
        answer: {
          type: "error",
          code: ERROR_CODES.badPeerAuth,
          message: "Peer authentication failed",
        },
      };
    }
    this.#state = "up";
    return {
      kind: "up",
      peerId: frame.server_id,
      frame: {
        type: "peer_ready",
        mac: peerProof(secret, "acceptor", selfId, frame.server_id, frame.nonce),
      },
    };
  }

  #fail(reason: string): HandshakeStep {
    this.#state = "failed";
    return { kind: "fail", code: CLOSE_CODES.peerAuthFailed, reason };
  }
}

function _checkIds(...ids: number[]): void {
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id < 1) {
      throw new RangeError(`Server IDs must be positive integers, got ${id}`);
    }
  }
}
