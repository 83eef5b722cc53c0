/**
 * Idle-scale mode's connection holders: how connections are split between the benchmark and
 * holder processes, the open-file budget, the holder's line format and its hidden command
 * line. The real processes are exercised by bench_cmd_test.ts.
 */

import assert from "node:assert/strict";
import { PROBE_POOL, splitConnections } from "../core/bench/idle_scale.ts";
import { fdBudget, HOLDER_MAX } from "../core/bench/run_bench.ts";
import { parseHolderLine } from "../core/bench/conn_holder.ts";
import { parseBenchArgs } from "../cmd/bench_args.ts";
import { UsageError } from "../cmd/command.ts";
import { startHolders } from "../core/bench/holder_pool.ts";
import { freePort } from "../core/bench/async_util.ts";
import { until } from "./helpers/wait.ts";

Deno.test("splitConnections() keeps up to the probe pool here and spreads the rest evenly", () => {
  assert.deepEqual(splitConnections(200, 15_000), { local: 200, holders: [] });
  assert.deepEqual(splitConnections(PROBE_POOL, 15_000), { local: PROBE_POOL, holders: [] });
  assert.deepEqual(splitConnections(1_200, 15_000), { local: 500, holders: [700] });
  const big = splitConnections(50_000, 15_000);
  assert.equal(big.local, 500);
  assert.deepEqual(big.holders, [12_375, 12_375, 12_375, 12_375]);
  const odd = splitConnections(1_003, 250);
  assert.deepEqual(odd.holders, [168, 168, 167]);
  assert.equal(odd.local + odd.holders.reduce((a, b) => a + b, 0), 1_003);
  assert.throws(() => splitConnections(100, 0), RangeError);
});

Deno.test("fdBudget() checks every server's share and sizes holders by the open-file limit", () => {
  const idle = { clients: 200, servers: 3 };
  assert.equal(fdBudget({ ...idle, connections: 50_000 }, 20_000), HOLDER_MAX);
  assert.equal(fdBudget({ ...idle, connections: 50_000 }, null), HOLDER_MAX);
  assert.equal(fdBudget({ ...idle, connections: 6_000 }, 4_500), 4_000);
  assert.throws(
    () => fdBudget({ ...idle, servers: 1, connections: 50_000 }, 20_000),
    /50000 connections over 1 servers need about 53000 open files per server, but the limit \(ulimit -n\) is 20000; add servers/,
  );
  assert.equal(fdBudget({ connections: null, clients: 10_000, servers: 3 }, 20_000), HOLDER_MAX);
  assert.throws(
    () => fdBudget({ connections: null, clients: 10_000, servers: 3 }, 1_024),
    /10000 clients need about 10500 open files in this process, but the limit \(ulimit -n\) is 1024/,
  );
});

Deno.test("parseHolderLine() accepts the four line types and rejects anything else", () => {
  assert.deepEqual(parseHolderLine('{"type":"progress","done":500}'), {
    type: "progress",
    done: 500,
  });
  assert.equal(
    parseHolderLine('{"type":"ready","assignments":[1,2]}').type,
    "ready",
  );
  assert.equal(parseHolderLine('{"type":"closed","disconnected":0}').type, "closed");
  assert.equal(parseHolderLine('{"type":"failed","message":"no"}').type, "failed");
  assert.throws(() => parseHolderLine("Check main.ts"), TypeError);
  assert.throws(() => parseHolderLine('{"type":"progress"}'), /unknown shape/);
  assert.throws(() => parseHolderLine("null"), /unknown shape/);
});

Deno.test("parseBenchArgs() reads the hidden --hold mode and rejects what does not belong", () => {
  assert.deepEqual(
    parseBenchArgs(["--hold", "12375", "--balancer", "http://127.0.0.1:7100", "--prefix", "h1x"]),
    { kind: "hold", count: 12_375, balancerUrl: "http://127.0.0.1:7100", prefix: "h1x" },
  );
  const usage = (args: string[], message: RegExp) =>
    assert.throws(
      () => parseBenchArgs(args),
      (e) => e instanceof UsageError && message.test(e.message),
    );
  usage(
    ["--hold", "0", "--balancer", "http://a:1", "--prefix", "h"],
    /--hold must be an integer from 1/,
  );
  usage(["--hold", "5", "--prefix", "h"], /--hold needs --balancer http:\/\/HOST:PORT, got ""/);
  usage(["--hold", "5", "--balancer", "ftp://a", "--prefix", "h"], /--hold needs --balancer/);
  usage(["--hold", "5", "--balancer", "http://a:1", "--prefix=-x"], /--prefix must be 1 to 16/);
  usage(
    ["--hold", "5", "--balancer", "http://a:1", "--prefix", "h", "--json"],
    /takes only --balancer and --prefix, got --json/,
  );
  usage(["--balancer", "http://a:1"], /--balancer and --prefix belong to --hold/);
});

Deno.test("startHolders() stops a holder still connecting when it is closed, and leaves no process behind", async () => {
  // A "balancer" that hangs up on every connection: the holder keeps retrying it until it
  // is told to stop, and each try shows here.
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  let tries = 0;
  const hangingUp = (async () => {
    for await (const conn of listener) {
      tries++;
      conn.close();
    }
  })().catch(() => {});
  try {
    const pool = startHolders({
      balancerUrl: `http://127.0.0.1:${port}`,
      counts: [3],
      prefix: "t",
      signal: new AbortController().signal,
      onProgress: () => {},
    });
    await until(() => tries >= 2, "the holder to retry the balancer", 30_000);
    const t0 = performance.now();
    await assert.rejects(pool.close(), /Connection holder t0x (failed|exited)/);
    await assert.rejects(pool.ready, /Connection holder t0x/);
    assert.ok(performance.now() - t0 < 10_000, "stopped by the end of its stdin, not killed later");
    for (const pid of pool.pids) {
      await assert.rejects(Deno.stat(`/proc/${pid}/stat`), Deno.errors.NotFound, `holder ${pid}`);
    }
  } finally {
    listener.close();
    await hangingUp;
  }
});
