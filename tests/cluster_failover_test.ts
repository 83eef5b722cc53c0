/**
 * Failures with real processes: servers killed with SIGKILL while messages are in flight.
 * Nothing a server acknowledged may be lost, and nothing may be delivered twice to a user.
 */

import assert from "node:assert/strict";
import { ProtocolClient } from "../core/client/transport/protocol_client.ts";
import type { AcceptedFrame, MessageFrame } from "../core/protocol/mod.ts";
import { openStore } from "../core/store/open_store.ts";
import { TestCluster, testEachBackend, until } from "./helpers/cluster.ts";

/** Fires `n` sends without waiting; returns the accepted frames as they arrive. */
function _burst(client: ProtocolClient, to: number, n: number, prefix: string) {
  const accepted = new Map<string, AcceptedFrame>();
  const all = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}-${i}`;
    all.push(
      client.send(to, `body-${id}`, id).then((a) => void accepted.set(id, a)).catch(() => {}),
    );
  }
  return { accepted, settled: Promise.all(all) };
}

/** Sends with 32 in flight until the connection dies; returns attempted IDs and acceptances. */
function _stream(client: ProtocolClient, to: number, prefix: string) {
  const accepted = new Map<string, AcceptedFrame>();
  const attempted: string[] = [];
  const worker = async () => {
    while (!client.closed) {
      const id = `${prefix}-${attempted.length}`;
      attempted.push(id);
      try {
        accepted.set(id, await client.send(to, `body-${id}`, id));
      } catch {
        return;
      }
    }
  };
  const done = Promise.all(Array.from({ length: 32 }, worker));
  return { accepted, attempted, done };
}

/** Connects through the balancer, retrying while it still names a server that just died. */
async function _viaBalancer(c: TestCluster): Promise<ProtocolClient> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const res = await fetch(`http://127.0.0.1:${c.balancerPort}/assign`);
    if (res.ok) {
      const { url } = await res.json();
      try {
        return await ProtocolClient.connect(url, { timeoutMs: 2000 });
      } catch {
        // a dead server still inside its 3 s liveness window: ask again
      }
    } else {
      await res.body?.cancel();
    }
    // A retry pause, not a wait for something known: the balancer names a dead server until
    // its reports are 3 s old (bounded by the attempts).
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("No live server through the balancer");
}

testEachBackend(
  "cluster loses nothing the sender's server acknowledged when it is SIGKILLed",
  async (backend) => {
    const c = await TestCluster.start(3, { balancer: "round-robin", backend });
    try {
      const alice = await c.user(1, "alice");
      const bob = await c.user(2, "bob");
      const got = new Map<number, MessageFrame>();
      let dupes = 0;
      bob.client.onFrame = (f) => {
        if (f.type !== "message") return;
        if (got.has(f.msg_id)) dupes++;
      };
      bob.client.onMessage = (m) => got.set(m.msg_id, m);

      const { accepted, attempted, done } = _stream(alice.client, bob.id, "k");
      await until(() => accepted.size >= 300, "some messages to be accepted");
      await c.kill(1, "SIGKILL");
      await done;
      const total = attempted.length;
      assert.ok(accepted.size < total, `some sends were in flight (${accepted.size}/${total})`);

      // Every message the dead server acknowledged reaches bob, who stays connected to server 2.
      await until(
        () => [...accepted.values()].every((a) => got.has(a.msg_id)),
        "bob to receive every acknowledged message",
        20_000,
      );

      // Alice comes back elsewhere and resends everything; acknowledged ones are not duplicated.
      const back = await _viaBalancer(c);
      await back.resume(alice.token);
      const results = await Promise.all(attempted.map((id) => back.send(bob.id, `body-${id}`, id)));
      for (const [id, a] of accepted) {
        const again = results[attempted.indexOf(id)]!;
        assert.equal(again.msg_id, a.msg_id, `${id} kept its message ID`);
        assert.equal(again.duplicate, true);
      }
      await until(() => got.size === total, `all ${total} messages exactly once`, 20_000);
      const bodies = [...got.values()].map((m) => m.body).sort();
      assert.deepEqual(bodies, attempted.map((id) => `body-${id}`).sort());
      assert.equal(new Set(results.map((r) => r.msg_id)).size, total, "one stored message per ID");
      assert.equal(dupes, 0, "the recipient's client saw no message twice");
    } finally {
      await c.stop();
    }
  },
);

testEachBackend(
  "cluster hands undelivered messages to a user whose server was SIGKILLed",
  async (backend) => {
    const c = await TestCluster.start(3, { balancer: "round-robin", backend });
    try {
      const alice = await c.user(1, "alice");
      const bob = await c.user(2, "bob");
      const seen = new Set<number>();
      bob.client.onMessage = (m) => seen.add(m.msg_id);
      const { accepted, settled } = _burst(alice.client, bob.id, 300, "r");
      await until(() => accepted.size >= 30, "some messages to be accepted");
      await c.kill(2, "SIGKILL");
      await settled;
      assert.equal(accepted.size, 300, "the sender's server accepted everything");

      // Bob reconnects through the balancer to a live server and resumes his session.
      const again = await _viaBalancer(c);
      assert.notEqual(again.welcome.server_id, 2);
      const got: MessageFrame[] = [];
      let synced = false;
      again.onMessage = (m) => got.push(m);
      again.onSynced = () => synced = true;
      await again.resume(bob.token);
      await until(() => synced, "the replay");
      const all = new Set([...seen, ...got.map((m) => m.msg_id)]);
      for (const a of accepted.values()) assert.ok(all.has(a.msg_id), `message ${a.msg_id} lost`);
      // The replay is in acceptance order.
      const ids = got.map((m) => m.msg_id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      await again.close();
    } finally {
      await c.stop();
    }
  },
);

testEachBackend("cluster mesh reconnects after a peer restarts", async (backend) => {
  const c = await TestCluster.start(2, { backend });
  try {
    const alice = await c.user(1, "alice");
    await c.kill(2, "SIGKILL");
    c.startServer(2);
    await c.waitServer(2);
    const bob = await c.user(2, "bob");
    const got: string[] = [];
    bob.client.onMessage = (m) => got.push(m.body);
    await alice.client.send(bob.id, "after restart");
    await until(() => got.length === 1, "the message over the re-established link", 15_000);
    const metrics = await (await fetch(`http://127.0.0.1:${c.port(1)}/metrics`)).text();
    assert.match(metrics, /fastchat_peer_links\{server="1"\} 1/);
  } finally {
    await c.stop();
  }
});

testEachBackend("server redelivers a pending message whose live push was lost", async (backend) => {
  const c = await TestCluster.start(1, { backend });
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const got: MessageFrame[] = [];
    bob.client.onMessage = (m) => got.push(m);
    // Commit a message the way a server does, but push it nowhere: the state a server
    // leaves when it dies between commit and push.
    const store = await openStore(c.db);
    let saved;
    try {
      [saved] = await store.saveMessages([{
        senderId: alice.id,
        clientMsgId: "lost-push",
        kind: "direct",
        groupId: null,
        body: "never pushed",
        recipients: [{ userId: bob.id }],
      }]);
    } finally {
      await store.close();
    }
    await until(() => got.length === 1, "the sweep to push the message", 10_000);
    assert.equal(got[0]!.msg_id, saved!.id);
    assert.equal(got[0]!.body, "never pushed");
    // Once acked it is not pushed again: the sweep pushes only what is pending in the store,
    // and the ack removed it. Acks are applied off the connection's chain; one with a ref is
    // answered once applied (acking twice is fine).
    const applied = new Promise<void>((r) =>
      bob.client.onFrame = (f) => void (f.type === "ok" && f.ref === 1_000_000 && r())
    );
    bob.client.sendRaw(JSON.stringify({ type: "ack", ids: [saved!.id], ref: 1_000_000 }));
    await applied;
    const check = await openStore(c.db);
    try {
      assert.deepEqual(await check.pendingFor(bob.id, 0, 10), [], "nothing is pending for bob");
    } finally {
      await check.close();
    }
    assert.equal(got.length, 1);
    const metrics = await (await fetch(`http://127.0.0.1:${c.port(1)}/metrics`)).text();
    assert.match(metrics, /fastchat_redelivered_total\{server="1"\} 1\n/);
  } finally {
    await c.stop();
  }
});

Deno.test("cluster keeps accepting while a server is hung, and its user gets everything after SIGCONT (postgres)", async () => {
  // On PostgreSQL no server holds a lock between its round trips, so a stopped one stalls
  // nobody. (With SQLite, a process stopped inside a write transaction holds the file's
  // write lock: docs/DEPLOY.md says why clusters that must survive that use PostgreSQL.)
  const c = await TestCluster.start(3, { backend: "postgres" });
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const carol = await c.user(3, "carol");
    const toCarol = new Set<number>();
    const toBob = new Set<number>();
    const got = { bob: new Set<number>(), carol: new Set<number>() };
    carol.client.onMessage = (m) => got.carol.add(m.msg_id);
    bob.client.onMessage = (m) => got.bob.add(m.msg_id);
    const acceptedAt: number[] = [];
    let running = true;
    const load = (async () => {
      for (let i = 0; running; i++) {
        const target = i % 2 === 0 ? carol.id : bob.id;
        const a = await alice.client.send(target, `m${i}`, `m${i}`);
        acceptedAt.push(performance.now());
        (target === carol.id ? toCarol : toBob).add(a.msg_id);
      }
    })();
    await until(() => toCarol.size >= 5 && toBob.size >= 5, "the load to reach both servers");
    const stoppedAt = performance.now();
    c.servers.get(2)!.kill("SIGSTOP");
    // Real time on purpose: the test is that accepting goes on through 4 s of a hung server.
    await new Promise((r) => setTimeout(r, 4_000));
    c.servers.get(2)!.kill("SIGCONT");
    const resumedAt = performance.now();
    await until(() => acceptedAt.filter((t) => t > resumedAt).length >= 5, "accepts after SIGCONT");
    running = false;
    await load;
    // No second without an accepted message while server 2 was stopped.
    const during = acceptedAt.filter((t) => t >= stoppedAt && t <= resumedAt);
    let longest = 0;
    let last = stoppedAt;
    for (const t of [...during, resumedAt]) {
      longest = Math.max(longest, t - last);
      last = t;
    }
    assert.ok(during.length > 50, `only ${during.length} messages accepted while stopped`);
    assert.ok(longest < 1_000, `no message was accepted for ${longest.toFixed(0)} ms`);
    // Carol, on a healthy server, got everything; bob gets everything once server 2 runs.
    await until(() => [...toCarol].every((id) => got.carol.has(id)), "carol's messages", 5_000);
    await until(
      () => [...toBob].every((id) => got.bob.has(id)),
      `bob's messages (${got.bob.size} of ${toBob.size})`,
      15_000,
    );
  } finally {
    await c.stop();
  }
});
