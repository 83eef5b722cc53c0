/**
 * Mesh batching: the frames a server sends one peer during one event-loop turn go out as
 * few WebSocket frames as the protocol's limits allow (docs/PROTOCOL.md, "Sending and
 * receiving"). A group commit routes every message of its batch in one turn, so a busy mesh
 * costs one WebSocket frame per turn and peer instead of one per message and peer.
 *
 * @module
 */

import { LIMITS, utf8Length } from "../protocol/mod.ts";

/** Bytes a `peer_batch` adds around its frames: `{"type":"peer_batch","frames":[` and `]}`. */
const _BATCH_OVERHEAD = utf8Length('{"type":"peer_batch","frames":[]}');

/**
 * Writes encoded frames in order, as few WebSocket frames as the limits allow: one frame
 * alone as itself, runs of two or more as a `peer_batch` of at most `LIMITS.peerBatchFrames`
 * frames and `LIMITS.frameBytes` bytes. The batch is joined from the already encoded texts,
 * so no frame is encoded twice.
 */
export function writePeerFrames(
  socket: { send(text: string): void },
  texts: readonly string[],
): void {
  let run: string[] = [];
  let bytes = _BATCH_OVERHEAD;
  const emit = () => {
    if (run.length === 1) socket.send(run[0]!);
    else if (run.length > 1) socket.send(`{"type":"peer_batch","frames":[${run.join(",")}]}`);
    run = [];
    bytes = _BATCH_OVERHEAD;
  };
  for (const text of texts) {
    const size = utf8Length(text) + 1; // and its comma
    if (
      run.length > 0 && (bytes + size > LIMITS.frameBytes || run.length >= LIMITS.peerBatchFrames)
    ) {
      emit();
    }
    run.push(text);
    bytes += size;
  }
  emit();
}
