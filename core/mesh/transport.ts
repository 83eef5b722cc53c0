/**
 * What the chat server needs of the mesh, and what the mesh tells it. The delivery logic
 * depends on these two small interfaces only, so it runs in-process against a fake mesh in
 * tests (`tests/helpers/fake_mesh.ts`) and over WebSockets in production (`ws_mesh.ts`).
 *
 * @module
 */

import type { PeerBatchedFrame } from "../protocol/mod.ts";

/** Sending to peer servers. */
export interface MeshTransport {
  /**
   * Queues a frame for `peerId`; frames for one peer arrive in the order sent. Returns false,
   * sending nothing, when the peer is not reachable now (its link is down, or it stopped
   * answering): the database is then the only path, and the redelivery sweep on the peer's
   * side or a replay at login delivers what it holds.
   */
  send(peerId: number, frame: PeerBatchedFrame): boolean;
  /** True when frames for `peerId` go out now. */
  isUp(peerId: number): boolean;
  /** The peers that are up now, by ascending ID. */
  upPeers(): number[];
}

/** What the mesh reports, in order, for each peer. */
export interface MeshEvents {
  /** An authenticated frame from `peerId` (a `peer_batch` arrives as its frames, in order). */
  onFrame(peerId: number, frame: PeerBatchedFrame): void;
  /** The link with `peerId` is up in both directions: frames sent from now on reach it. */
  onLinkUp(peerId: number): void;
  /**
   * The link with `peerId` went down or the peer stopped answering. Nothing more arrives from
   * it until the next `onLinkUp`; what it said before (who is connected there) is stale.
   */
  onLinkDown(peerId: number): void;
}
