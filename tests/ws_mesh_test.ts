/**
 * The WebSocket mesh with real sockets in one process: two `WsMesh`es link up and carry
 * frames both ways; a peer that authenticates and then goes silent (a hung process) is taken
 * down after the stale window; a peer that restarts is linked again. Peers not listening yet
 * (a cluster starting) are logged at debug only; a link lost after it was up is logged.
 */

import assert from "node:assert/strict";
import { freePort } from "../core/cluster/free_port.ts";
import { createLogger } from "../core/log/logger.ts";
import { AcceptorHandshake, DialerHandshake } from "../core/mesh/handshake.ts";
import type { MeshEvents } from "../core/mesh/transport.ts";
import { WsMesh } from "../core/mesh/ws_mesh.ts";
import { listenHttp } from "../core/ws/http_listener.ts";
import { decode, encode, type PeerBatchedFrame, type PeerFrame } from "../core/protocol/mod.ts";
import { until } from "./helpers/wait.ts";

const _SECRET = new Uint8Array(32).map((_, i) => i + 7);

/** Records what a mesh reports. */
class _Events implements MeshEvents {
  readonly log: string[] = [];
  readonly frames: [number, PeerBatchedFrame][] = [];
  onFrame(peerId: number, frame: PeerBatchedFrame): void {
    this.frames.push([peerId, frame]);
  }
  onLinkUp(peerId: number): void {
    this.log.push(`up ${peerId}`);
  }
  onLinkDown(peerId: number): void {
    this.log.push(`down ${peerId}`);
  }
}

/** A mesh node: a WsMesh behind its own listener on a free port, logging to `log` if given. */
function _node(
  selfId: number,
  peers: { id: number; port: number }[],
  events: MeshEvents,
  log?: string[],
) {
  const self = peers.find((p) => p.id === selfId)!;
  const mesh = new WsMesh({
    selfId,
    peers: peers.map((p) => ({ id: p.id, host: "127.0.0.1", port: p.port })),
    secret: _SECRET,
    logger: log ? createLogger("debug", {}, (l) => log.push(l)) : createLogger("error"),
    events,
    heartbeatMs: 50,
    staleMs: 300,
  });
  const listener = listenHttp({
    hostname: "127.0.0.1",
    port: self.port,
    fetch: () => new Response("Not found", { status: 404 }),
    upgrade: () => ({ maxMessageBytes: 16 * 1024, accept: (socket) => mesh.accept(socket) }),
  });
  mesh.start();
  return {
    mesh,
    async stop() {
      mesh.close();
      await listener.close();
    },
  };
}

Deno.test("WsMesh links two servers both ways and delivers frames in order", async () => {
  const peers = [{ id: 1, port: freePort() }, { id: 2, port: freePort() }];
  const e1 = new _Events();
  const e2 = new _Events();
  const n1 = _node(1, peers, e1);
  const n2 = _node(2, peers, e2);
  try {
    await until(() => n1.mesh.isUp(2) && n2.mesh.isUp(1), "the link");
    assert.deepEqual(e1.log, ["up 2"]);
    assert.deepEqual(e2.log, ["up 1"]);
    for (let i = 1; i <= 300; i++) {
      assert.equal(n1.mesh.send(2, { type: "peer_presence_ack", seq: i }), true);
    }
    assert.equal(n2.mesh.send(1, { type: "peer_presence_ack", seq: 1 }), true);
    await until(() => e2.frames.length === 300 && e1.frames.length === 1, "the frames");
    assert.deepEqual(
      e2.frames.map(([from, f]) => [from, (f as { seq: number }).seq]),
      Array.from({ length: 300 }, (_, i) => [1, i + 1]),
    );
    // Heartbeats keep an idle link up and never reach the server logic. Real time on
    // purpose: the link must stay idle for more than twice its stale window (300 ms) on the
    // mesh's own timers.
    await new Promise((r) => setTimeout(r, 700));
    assert.ok(n1.mesh.isUp(2) && n2.mesh.isUp(1));
    assert.ok(e2.frames.every(([, f]) => f.type !== "peer_heartbeat"));
    assert.equal(n1.mesh.send(9, { type: "peer_heartbeat" }), false, "unknown peer");
  } finally {
    await n1.stop();
    await n2.stop();
  }
});

Deno.test("WsMesh takes down the link to a peer that goes silent, and sends it nothing more", async () => {
  const port1 = freePort();
  const port2 = freePort();
  const e1 = new _Events();
  const log: string[] = [];
  const n1 = _node(1, [{ id: 1, port: port1 }, { id: 2, port: port2 }], e1, log);
  // Server 2 is played by hand: it authenticates both ways, then stops answering, as a
  // stopped process would (its sockets stay open).
  const received: PeerFrame[] = [];
  const ac = new AbortController();
  const fake = Deno.serve(
    { hostname: "127.0.0.1", port: port2, signal: ac.signal, onListen: () => {} },
    (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      const hs = new AcceptorHandshake({ selfId: 2, secret: _SECRET, knownPeers: new Set([1]) });
      socket.onopen = () => {
        const step = hs.start();
        if (step.kind === "send") socket.send(encode(step.frame));
      };
      socket.onmessage = (ev) => {
        const step = hs.receive(decode(ev.data, "peer"));
        if (step.kind === "up" && step.frame) socket.send(encode(step.frame));
        // ...and never a heartbeat after that.
      };
      return response;
    },
  );
  const dial = new WebSocket(`ws://127.0.0.1:${port1}/peer`);
  const dialer = new DialerHandshake({ selfId: 2, peerId: 1, secret: _SECRET });
  dial.onmessage = (ev) => {
    const frame = decode(ev.data, "peer");
    if (dialer.isUp) {
      received.push(frame);
      return;
    }
    const step = dialer.receive(frame);
    if (step.kind === "send") dial.send(encode(step.frame));
  };
  try {
    await until(() => n1.mesh.isUp(2), "the link to the fake peer");
    const upAt = performance.now();
    await until(() => e1.log.includes("down 2"), "the silent peer to be taken down", 3_000);
    const downAfter = performance.now() - upAt;
    assert.ok(downAfter >= 250, `taken down after ${downAfter.toFixed(0)} ms, before staleMs`);
    assert.equal(n1.mesh.isUp(2), false);
    assert.equal(n1.mesh.send(2, { type: "peer_heartbeat" }), false, "nothing is queued");
    // A peer lost without saying goodbye is a warning, visible at fastchat up's warn level.
    assert.ok(
      log.some((l) => / WARN peer_down peer=2 reason="no frames from the peer"$/.test(l)),
      log.join("\n"),
    );
  } finally {
    dial.close();
    await n1.stop();
    ac.abort();
    await fake.finished;
  }
});

Deno.test("WsMesh links again after a peer restarts, and reports the link down meanwhile", async () => {
  const peers = [{ id: 1, port: freePort() }, { id: 2, port: freePort() }];
  const e1 = new _Events();
  const n1 = _node(1, peers, e1);
  let n2 = _node(2, peers, new _Events());
  try {
    await until(() => n1.mesh.isUp(2), "the first link");
    await n2.stop();
    await until(() => e1.log.includes("down 2"), "the link to go down");
    n2 = _node(2, peers, new _Events());
    await until(() => n1.mesh.isUp(2) && n2.mesh.isUp(1), "the link again");
    assert.deepEqual(e1.log, ["up 2", "down 2", "up 2"]);
  } finally {
    await n1.stop();
    await n2.stop();
  }
});

Deno.test("WsMesh logs a peer that is not listening yet at debug only, and a link lost after it was up at info or above", async () => {
  const peers = [{ id: 1, port: freePort() }, { id: 2, port: freePort() }];
  const log: string[] = [];
  const e1 = new _Events();
  const n1 = _node(1, peers, e1, log);
  let n2: ReturnType<typeof _node> | null = null;
  const above = (l: string) => !/ DEBUG /.test(l);
  try {
    // Server 2 is not listening yet, as while a cluster starts: server 1's dials fail.
    await until(
      () => log.filter((l) => / DEBUG peer_unreachable peer=2/.test(l)).length >= 2,
      "failed dials",
    );
    n2 = _node(2, peers, new _Events());
    await until(() => n1.mesh.isUp(2), "the link");
    assert.deepEqual(log.filter(above).map((l) => l.split(" ").slice(1).join(" ")), [
      "INFO peer_up peer=2",
    ]);

    // Server 2 stops: it was up, so its going is logged above debug, as a shutdown.
    await n2.stop();
    n2 = null;
    await until(() => e1.log.includes("down 2"), "the link to go down");
    assert.ok(
      log.some((l) =>
        / INFO peer_down peer=2 reason=".* link closed: the peer shut down"$/.test(l)
      ),
      log.join("\n"),
    );
    assert.ok(
      log.some((l) => / INFO peer_link_closed peer=2 direction=(in|out) code=4002$/.test(l)),
    );
    assert.ok(!log.some((l) => / WARN /.test(l)), "a peer shutting down is no warning");
  } finally {
    await n1.stop();
    await n2?.stop();
  }
});
