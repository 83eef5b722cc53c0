/**
 * The mesh between chat servers: the {@linkcode MeshTransport} and {@linkcode MeshEvents}
 * interfaces the chat server depends on, the handshake as pure state machines, the peer
 * proofs, batching, and the WebSocket implementation.
 *
 * @module
 */

export type { MeshEvents, MeshTransport } from "./transport.ts";
export { AcceptorHandshake, DialerHandshake, type HandshakeStep } from "./handshake.ts";
export { checkPeerProof, newNonce, peerProof } from "./peer_auth.ts";
export { writePeerFrames } from "./peer_batch.ts";
export { type PeerAddress, WsMesh, type WsMeshOptions } from "./ws_mesh.ts";

// Types the API above takes or returns, defined elsewhere: the peer frames (the mesh's wire
// format, core/protocol), the logger and the accepted socket.
export type {
  MessageFrame,
  PeerAuthFrame,
  PeerBatchedFrame,
  PeerBatchFrame,
  PeerBlocksFrame,
  PeerChallengeFrame,
  PeerDeliveredFrame,
  PeerDeliverFrame,
  PeerErrorFrame,
  PeerFrame,
  PeerHeartbeatFrame,
  PeerPresenceAckFrame,
  PeerPresenceFrame,
  PeerReadyFrame,
  PeerSessionEndedFrame,
  WireKind,
} from "../protocol/mod.ts";
export type { LogFields, Logger } from "../log/logger.ts";
export type {
  ByteStream,
  ServerSocket,
  ServerSocketOptions,
  SocketCloseEvent,
  SocketListener,
  SocketMessageEvent,
} from "../ws/server_socket.ts";
