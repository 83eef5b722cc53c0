import assert from "node:assert/strict";
import {
  decode,
  encode,
  frameFits,
  LIMITS,
  type PeerBatchedFrame,
  type PeerFrame,
} from "../../core/protocol/mod.ts";
import { writePeerFrames } from "../../core/mesh/peer_batch.ts";

function _deliver(msgId: number, body = "gAAAAAB-body"): PeerBatchedFrame {
  return {
    type: "peer_deliver",
    recipients: [2, 3],
    message: {
      msg_id: msgId,
      kind: "group",
      from: 1,
      group_id: 4,
      body,
      sent_at: 1_730_000_000_000,
      client_msg_id: `m-${msgId}`,
    },
  };
}

function _receipt(msgId: number): PeerBatchedFrame {
  return { type: "peer_delivered", sender_id: 1, msg_id: msgId, client_msg_id: null, to: 2 };
}

/** Writes the frames and returns what a receiving peer decodes, batches unpacked. */
function _roundTrip(frames: PeerBatchedFrame[]): { sent: string[]; received: PeerFrame[] } {
  const sent: string[] = [];
  writePeerFrames({ send: (text) => sent.push(text) }, frames.map(encode));
  const received: PeerFrame[] = [];
  for (const text of sent) {
    assert.ok(frameFits(text), `a written frame of ${text.length} characters is over the limit`);
    const frame = decode(text, "peer");
    if (frame.type === "peer_batch") received.push(...frame.frames);
    else received.push(frame);
  }
  return { sent, received };
}

Deno.test("writePeerFrames() sends a lone frame as itself", () => {
  const { sent, received } = _roundTrip([_receipt(7)]);
  assert.equal(sent.length, 1);
  assert.equal(sent[0], encode(_receipt(7)));
  assert.deepEqual(received, [_receipt(7)]);
});

Deno.test("writePeerFrames() joins several frames into one peer_batch, in order", () => {
  const frames = [_deliver(1), _receipt(1), _deliver(2), _receipt(2)];
  const { sent, received } = _roundTrip(frames);
  assert.equal(sent.length, 1);
  assert.equal(JSON.parse(sent[0]!).type, "peer_batch");
  assert.deepEqual(received, frames);
});

Deno.test("writePeerFrames() splits at the batch's frame count limit", () => {
  const frames = Array.from({ length: LIMITS.peerBatchFrames * 2 + 1 }, (_, i) => _receipt(i + 1));
  const { sent, received } = _roundTrip(frames);
  assert.equal(sent.length, 3);
  assert.equal(JSON.parse(sent[0]!).frames.length, LIMITS.peerBatchFrames);
  assert.equal(JSON.parse(sent[1]!).frames.length, LIMITS.peerBatchFrames);
  assert.equal(JSON.parse(sent[2]!).type, "peer_delivered"); // the last one alone
  assert.deepEqual(received, frames);
});

Deno.test("writePeerFrames() splits at the frame size limit, counting UTF-8 bytes", () => {
  // Three-byte characters: by UTF-16 length these would seem to fit three to a frame.
  const body = "€".repeat(30_000); // 90,000 bytes of UTF-8
  const frames = Array.from({ length: 7 }, (_, i) => _deliver(i + 1, body));
  const { sent, received } = _roundTrip(frames);
  assert.ok(sent.length >= 3, `expected at least 3 frames, got ${sent.length}`);
  assert.deepEqual(received, frames);
  // And large frames that do fit two at a time are still batched.
  const ascii = Array.from({ length: 4 }, (_, i) => _deliver(i + 1, "A".repeat(100_000)));
  const second = _roundTrip(ascii);
  assert.equal(second.sent.length, 2);
  assert.deepEqual(second.received, ascii);
});

Deno.test("writePeerFrames() sends nothing for no frames", () => {
  assert.deepEqual(_roundTrip([]).sent, []);
});
