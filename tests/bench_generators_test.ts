/**
 * The load generator processes of `fastchat bench --generators G` (`core/bench/gen_pool.ts`)
 * as processes: a generator that dies fails the run with a message naming it, and closing
 * or cancelling the pool leaves no process behind. No cluster: the "balancer" hangs up on
 * every connection, so the generators keep retrying it until they are stopped.
 */

import assert from "node:assert/strict";
import { freePort } from "../core/bench/async_util.ts";
import { startGenerators } from "../core/bench/gen_pool.ts";
import { until } from "./helpers/cluster.ts";

function _hangingUpBalancer() {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const state = { tries: 0 };
  const loop = (async () => {
    for await (const conn of listener) {
      state.tries++;
      conn.close();
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    async close() {
      listener.close();
      await loop;
    },
  };
}

function _start(balancerUrl: string, signal: AbortSignal) {
  return startGenerators({
    users: {
      balancerUrl,
      tokens: ["a", "b", "c", "d"].map((c) => c.repeat(43)),
      userIds: [1, 2, 3, 4],
      groupOf: [null, null, null, null],
      groupSizes: {},
    },
    generators: 2,
    rate: 10,
    window: 1,
    mix: { dm: 1, group: 0 },
    messageBytes: 20,
    signal,
    onProgress: () => {},
  });
}

async function _gone(pids: readonly number[]): Promise<void> {
  for (const pid of pids) {
    await assert.rejects(Deno.stat(`/proc/${pid}/stat`), Deno.errors.NotFound, `generator ${pid}`);
  }
}

Deno.test("startGenerators() fails with a message naming a generator that died, and stops the others", async () => {
  const balancer = _hangingUpBalancer();
  try {
    const pool = _start(balancer.url, new AbortController().signal);
    await until(() => balancer.state.tries >= 4, "both generators to try the balancer", 30_000);
    Deno.kill(pool.pids[0]!, "SIGKILL");
    await assert.rejects(
      pool.ready,
      /Load generator 1 of 2 \(PID \d+\) exited with code \d+ before it was done/,
    );
    const t0 = performance.now();
    await pool.close();
    assert.ok(performance.now() - t0 < 10_000, "stopped by the end of its stdin, not killed later");
    await _gone(pool.pids);
  } finally {
    await balancer.close();
  }
});

Deno.test("startGenerators() kills every generator when the run is cancelled", async () => {
  const balancer = _hangingUpBalancer();
  try {
    const ac = new AbortController();
    const pool = _start(balancer.url, ac.signal);
    await until(() => balancer.state.tries >= 2, "the generators to try the balancer", 30_000);
    ac.abort();
    await assert.rejects(pool.ready, /Load generator \d of 2/);
    await pool.close();
    await _gone(pool.pids);
  } finally {
    await balancer.close();
  }
});
