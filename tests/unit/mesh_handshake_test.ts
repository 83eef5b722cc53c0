/**
 * The mesh handshake state machines on their own: a dialer and an acceptor talking to each
 * other through plain function calls, and every way a handshake must fail.
 */

import assert from "node:assert/strict";
import {
  AcceptorHandshake,
  DialerHandshake,
  type HandshakeStep,
} from "../../core/mesh/handshake.ts";
import { CLOSE_CODES, type PeerFrame } from "../../core/protocol/mod.ts";

const _SECRET = new Uint8Array(32).map((_, i) => i + 1);
const _OTHER = new Uint8Array(32).map((_, i) => 100 + i);
const _KNOWN = new Set([1, 2, 3]);

function _frame(step: HandshakeStep): PeerFrame {
  assert.ok(step.kind !== "fail", `unexpected failure: ${step.kind === "fail" ? step.reason : ""}`);
  assert.ok(step.frame !== undefined, "the step carries a frame");
  return step.frame;
}

function _fails(step: HandshakeStep, reason: RegExp): void {
  assert.equal(step.kind, "fail");
  if (step.kind !== "fail") return;
  assert.equal(step.code, CLOSE_CODES.peerAuthFailed);
  assert.match(step.reason, reason);
}

Deno.test("DialerHandshake and AcceptorHandshake bring a link up on both sides", () => {
  const acceptor = new AcceptorHandshake({ selfId: 1, secret: _SECRET, knownPeers: _KNOWN });
  const dialer = new DialerHandshake({ selfId: 2, peerId: 1, secret: _SECRET });
  const challenge = _frame(acceptor.start());
  assert.equal(challenge.type, "peer_challenge");
  const auth = _frame(dialer.receive(challenge));
  assert.equal(auth.type, "peer_auth");
  const ready = acceptor.receive(auth);
  assert.equal(ready.kind, "up");
  assert.equal(ready.kind === "up" && ready.peerId, 2);
  assert.equal(acceptor.isUp, true);
  assert.equal(dialer.isUp, false);
  const up = dialer.receive(_frame(ready));
  assert.deepEqual(up, { kind: "up", peerId: 1 });
  assert.equal(dialer.isUp, true);
});

Deno.test("AcceptorHandshake refuses a dialer with another secret", () => {
  const acceptor = new AcceptorHandshake({ selfId: 1, secret: _SECRET, knownPeers: _KNOWN });
  const dialer = new DialerHandshake({ selfId: 2, peerId: 1, secret: _OTHER });
  const auth = _frame(dialer.receive(_frame(acceptor.start())));
  _fails(acceptor.receive(auth), /Peer authentication failed/);
  assert.equal(acceptor.isUp, false);
});

Deno.test("AcceptorHandshake refuses a server that is not in its servers file, or itself", () => {
  for (const claimed of [9, 1]) {
    // Both hold the secret; the proof is valid, but the claimed server may not link here.
    const acceptor = new AcceptorHandshake({ selfId: 1, secret: _SECRET, knownPeers: _KNOWN });
    const dialer = new DialerHandshake({ selfId: claimed, peerId: 1, secret: _SECRET });
    const auth = _frame(dialer.receive(_frame(acceptor.start())));
    _fails(acceptor.receive(auth), /Peer authentication failed/);
  }
});

Deno.test("DialerHandshake refuses a challenge from a server it did not dial", () => {
  const acceptor = new AcceptorHandshake({ selfId: 3, secret: _SECRET, knownPeers: _KNOWN });
  const dialer = new DialerHandshake({ selfId: 2, peerId: 1, secret: _SECRET });
  _fails(dialer.receive(_frame(acceptor.start())), /Unexpected peer/);
});

Deno.test("DialerHandshake refuses an acceptor whose proof is wrong or replayed", () => {
  // A proof made for another nonce (a recorded peer_ready from an earlier link) fails.
  const acceptor = new AcceptorHandshake({ selfId: 1, secret: _SECRET, knownPeers: _KNOWN });
  const old = new DialerHandshake({ selfId: 2, peerId: 1, secret: _SECRET, nonce: "A".repeat(43) });
  const recorded = _frame(acceptor.receive(_frame(old.receive(_frame(acceptor.start())))));
  const fresh = new AcceptorHandshake({ selfId: 1, secret: _SECRET, knownPeers: _KNOWN });
  const dialer = new DialerHandshake({ selfId: 2, peerId: 1, secret: _SECRET });
  dialer.receive(_frame(fresh.start()));
  _fails(dialer.receive(recorded), /Peer failed to authenticate/);
  // An impostor without the secret cannot make one either.
  const impostor = new AcceptorHandshake({ selfId: 1, secret: _OTHER, knownPeers: _KNOWN });
  const victim = new DialerHandshake({ selfId: 2, peerId: 1, secret: _SECRET });
  const auth = _frame(victim.receive(_frame(impostor.start())));
  const ready = impostor.receive(auth); // the impostor cannot check the proof either
  assert.equal(ready.kind, "fail");
  _fails(victim.receive({ type: "peer_ready", mac: "B".repeat(43) }), /failed to authenticate/);
});

Deno.test("a proof cannot be reflected back to the side that made it", () => {
  // The dialer's own peer_auth mac sent back as peer_ready fails: the role is bound.
  const acceptor = new AcceptorHandshake({ selfId: 1, secret: _SECRET, knownPeers: _KNOWN });
  const dialer = new DialerHandshake({ selfId: 2, peerId: 1, secret: _SECRET });
  const auth = _frame(dialer.receive(_frame(acceptor.start())));
  assert.equal(auth.type, "peer_auth");
  if (auth.type !== "peer_auth") return;
  _fails(dialer.receive({ type: "peer_ready", mac: auth.mac }), /failed to authenticate/);
});

Deno.test("both handshakes fail on frames out of order and stay failed", () => {
  const acceptor = new AcceptorHandshake({ selfId: 1, secret: _SECRET, knownPeers: _KNOWN });
  _fails(acceptor.receive({ type: "peer_heartbeat" }), /Handshake failed/);
  _fails(acceptor.start(), /already started/);
  const a2 = new AcceptorHandshake({ selfId: 1, secret: _SECRET, knownPeers: _KNOWN });
  a2.start();
  _fails(a2.receive({ type: "peer_ready", mac: "C".repeat(43) }), /authentication failed/);
  _fails(a2.receive({ type: "peer_auth", server_id: 2, mac: "x", nonce: "y" }), /failed/);
  const dialer = new DialerHandshake({ selfId: 2, peerId: 1, secret: _SECRET });
  _fails(dialer.receive({ type: "peer_ready", mac: "C".repeat(43) }), /Unexpected peer/);
  _fails(dialer.receive({ type: "peer_challenge", server_id: 1, nonce: "D".repeat(43) }), /failed/);
});

Deno.test("a handshake that is up refuses further handshake frames", () => {
  const acceptor = new AcceptorHandshake({ selfId: 1, secret: _SECRET, knownPeers: _KNOWN });
  const dialer = new DialerHandshake({ selfId: 2, peerId: 1, secret: _SECRET });
  const challenge = _frame(acceptor.start());
  const auth = _frame(dialer.receive(challenge));
  dialer.receive(_frame(acceptor.receive(auth)));
  _fails(acceptor.receive(auth), /already complete/);
  _fails(dialer.receive(challenge), /already complete/);
});

Deno.test("handshakes reject server IDs that are not positive integers", () => {
  assert.throws(() => new DialerHandshake({ selfId: 0, peerId: 1, secret: _SECRET }), RangeError);
  assert.throws(() => new DialerHandshake({ selfId: 1, peerId: 1.5, secret: _SECRET }), RangeError);
  assert.throws(
    () => new AcceptorHandshake({ selfId: -1, secret: _SECRET, knownPeers: _KNOWN }),
    RangeError,
  );
});
