/**
 * The balancer in front of real server processes, which report their own load: each
 * strategy, and a dead server is never assigned.
 */

import assert from "node:assert/strict";
import type { BalancerStatus } from "../core/balancer/app.ts";
import { LAG_DEAD_ZONE_MS } from "../core/balancer/strategy.ts";
import { TestCluster, testEachBackend } from "./helpers/cluster.ts";
import { untilAsync } from "./helpers/wait.ts";

async function _assign(c: TestCluster): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${c.balancerPort}/assign`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.url, `ws://127.0.0.1:${c.port(body.id)}/ws`);
  return body.id;
}

/** The balancer's status (`GET /status?format=json`). */
async function _status(c: TestCluster): Promise<BalancerStatus> {
  const res = await fetch(`http://127.0.0.1:${c.balancerPort}/status?format=json`);
  return await res.json() as BalancerStatus;
}

testEachBackend(
  "balancer round-robin visits live servers in turn and drops a killed one",
  async (backend) => {
    const c = await TestCluster.start(3, { balancer: "round-robin", backend });
    try {
      const first = await Promise.all([0, 1, 2].map(() => _assign(c)));
      assert.deepEqual([...first].sort(), [1, 2, 3]);
      const seq: number[] = [];
      for (let i = 0; i < 6; i++) seq.push(await _assign(c));
      for (let i = 1; i < seq.length; i++) assert.equal(seq[i], (seq[i - 1]! % 3) + 1, `${seq}`);

      await c.kill(2, "SIGKILL");
      // Reports older than 3 s mean dead: the balancer's status says when it counts it so.
      await untilAsync(async () => (await _status(c)).live === 2, "server 2 counted dead");
      const after: number[] = [];
      for (let i = 0; i < 20; i++) after.push(await _assign(c));
      assert.ok(!after.includes(2), `dead server assigned: ${after}`);
      assert.deepEqual(new Set(after), new Set([1, 3]));
    } finally {
      await c.stop();
    }
  },
);

testEachBackend(
  "balancer load strategy picks the least loaded server from real reports",
  async (backend) => {
    const c = await TestCluster.start(3, { balancer: "load", backend });
    try {
      for (let i = 0; i < 4; i++) await c.user(1, `one${i}`);
      for (let i = 0; i < 2; i++) await c.user(2, `two${i}`);
      // Each server's report of its clients, with no lag past the dead zone: lag weighs
      // LAG_WEIGHT clients per millisecond, and servers that just started (or a loaded
      // machine) lag for a moment. The scores are then the client counts.
      await untilAsync(async () => {
        const servers = (await _status(c)).servers;
        return servers.map((s) => s.clients).join() === "4,2,0" &&
          servers.every((s) => s.lagMs <= LAG_DEAD_ZONE_MS);
      }, "each server's report of its clients, without lag");
      assert.equal(await _assign(c), 3);
      // A burst between reports spreads: assignments since the last report count as load.
      const burst: number[] = [];
      for (let i = 0; i < 6; i++) burst.push(await _assign(c));
      const counts = [1, 2, 3].map((id) => burst.filter((x) => x === id).length);
      assert.ok(counts[2]! >= 2 && counts[2]! <= 4, `burst ${burst}`);
      assert.ok(counts[0]! <= counts[1]!, `server 1 is the most loaded: ${burst}`);
    } finally {
      await c.stop();
    }
  },
);

testEachBackend("balancer random strategy spreads over every live server", async (backend) => {
  const c = await TestCluster.start(3, { balancer: "random", backend });
  try {
    const counts = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const id = await _assign(c);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    // Expected 100 each; below 50 has probability far under one in a billion.
    for (const id of [1, 2, 3]) assert.ok((counts.get(id) ?? 0) >= 50, `${[...counts]}`);
  } finally {
    await c.stop();
  }
});

testEachBackend("balancer answers 503 when every server is dead", async (backend) => {
  const c = await TestCluster.start(1, { balancer: "load", backend });
  try {
    await c.kill(1, "SIGKILL");
    await untilAsync(async () => (await _status(c)).live === 0, "server 1 counted dead");
    const res = await fetch(`http://127.0.0.1:${c.balancerPort}/assign`);
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.equal(body.error, "no_live_server");
  } finally {
    await c.stop();
  }
});
