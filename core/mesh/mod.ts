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
