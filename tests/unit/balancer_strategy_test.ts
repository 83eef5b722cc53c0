import assert from "node:assert/strict";
import {
  Balancer,
  isLive,
  isStrategy,
  LAG_DEAD_ZONE_MS,
  LAG_WEIGHT,
  loadScore,
  type RandomInt,
  randomInt,
  STRATEGIES,
} from "../../core/balancer/strategy.ts";
import type { ServerRecord } from "../../core/store/store.ts";

const NOW = 1_700_000_000_000;

function _server(id: number, over: Partial<ServerRecord> = {}): ServerRecord {
  return {
    id,
    host: "127.0.0.1",
    port: 9000 + id,
    clients: 0,
    lagMs: 0,
    reportedAt: NOW - 100,
    ...over,
  };
}

function _ids(b: Balancer, servers: ServerRecord[], n: number, now = NOW): (number | null)[] {
  return Array.from({ length: n }, () => b.pick(servers, now)?.id ?? null);
}

/** mulberry32: a small seeded PRNG, so the "random" assertions are reproducible. */
function _seeded(seed: number): RandomInt {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    return Math.floor(r * n);
  };
}

function _counts(ids: (number | null)[]): Map<number | null, number> {
  const m = new Map<number | null, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

Deno.test("isStrategy() accepts exactly the three strategies", () => {
  assert.deepEqual(STRATEGIES, ["load", "random", "round-robin"]);
  for (const s of STRATEGIES) assert.ok(isStrategy(s));
  for (const s of ["", "Load", "roundrobin", "least"]) assert.ok(!isStrategy(s));
});

Deno.test("new Balancer() rejects an unknown strategy with a RangeError", () => {
  // deno-lint-ignore no-explicit-any
  assert.throws(() => new Balancer("fastest" as any), {
    name: "RangeError",
    message: /expected one of: load, random, round-robin/,
  });
});

Deno.test("isLive() is true within 3 s of the report and false after or if never reported", () => {
  assert.ok(isLive(_server(1, { reportedAt: NOW }), NOW));
  assert.ok(isLive(_server(1, { reportedAt: NOW - 3000 }), NOW));
  assert.ok(!isLive(_server(1, { reportedAt: NOW - 3001 }), NOW));
  assert.ok(!isLive(_server(1, { reportedAt: 0 }), NOW));
  // A little clock skew is tolerated; a report from far in the future is not.
  assert.ok(isLive(_server(1, { reportedAt: NOW + 500 }), NOW));
  assert.ok(!isLive(_server(1, { reportedAt: NOW + 60_000 }), NOW));
});

Deno.test("pick() returns null when no server is live, for every strategy", () => {
  const dead = [
    _server(1, { reportedAt: 0 }),
    _server(2, { reportedAt: NOW - 3001 }),
  ];
  for (const s of STRATEGIES) {
    const b = new Balancer(s);
    assert.equal(b.pick(dead, NOW), null);
    assert.equal(b.pick([], NOW), null);
  }
});

Deno.test("pick() never returns a stale or never-reported server, for every strategy", () => {
  const servers = [
    _server(1, { reportedAt: NOW - 3500 }),
    _server(2, { clients: 100 }),
    _server(3, { reportedAt: 0 }),
    _server(4, { clients: 200 }),
  ];
  for (const s of STRATEGIES) {
    const picked = new Set(_ids(new Balancer(s), servers, 200));
    assert.deepEqual([...picked].sort(), [2, 4], `strategy ${s}`);
  }
});

Deno.test("pick() with round-robin visits live servers in turn by ascending ID", () => {
  const b = new Balancer("round-robin");
  // Input order does not matter.
  const servers = [_server(3), _server(1), _server(2)];
  assert.deepEqual(_ids(b, servers, 7), [1, 2, 3, 1, 2, 3, 1]);
});

Deno.test("pick() with round-robin skips dead servers", () => {
  const b = new Balancer("round-robin");
  const servers = [_server(1), _server(2, { reportedAt: NOW - 4000 }), _server(3)];
  assert.deepEqual(_ids(b, servers, 4), [1, 3, 1, 3]);
});

Deno.test("pick() with round-robin continues after the last ID when a server dies or returns", () => {
  const b = new Balancer("round-robin");
  const all = [_server(1), _server(2), _server(3), _server(4)];
  assert.deepEqual(_ids(b, all, 2), [1, 2]);
  // Server 3 dies: the rotation goes on to 4 rather than restarting at 1.
  const without3 = all.filter((s) => s.id !== 3);
  assert.deepEqual(_ids(b, without3, 3), [4, 1, 2]);
  // Server 3 returns: it gets its turn right after 2.
  assert.deepEqual(_ids(b, all, 3), [3, 4, 1]);
  // The last assigned server (1) dies: the next is the next live ID after it.
  const without1 = all.filter((s) => s.id !== 1);
  assert.deepEqual(_ids(b, without1, 2), [2, 3]);
});

Deno.test("pick() with load picks the server with the fewest clients", () => {
  const b = new Balancer("load");
  const servers = [
    _server(1, { clients: 40 }),
    _server(2, { clients: 7 }),
    _server(3, { clients: 30 }),
  ];
  assert.equal(b.pick(servers, NOW)?.id, 2);
});

Deno.test("pick() with load counts assignments since the last report, so a burst spreads", () => {
  const b = new Balancer("load");
  const servers = [
    _server(1, { clients: 10 }),
    _server(2, { clients: 10 }),
    _server(3, { clients: 13 }),
  ];
  const ids = _ids(b, servers, 9);
  // 1 and 2 tie (lowest ID first) until both reach 13, then all three take turns.
  assert.deepEqual(ids, [1, 2, 1, 2, 1, 2, 1, 2, 3]);
  const counts = _counts(ids);
  assert.equal(counts.get(1), 4);
  assert.equal(counts.get(2), 4);
  assert.equal(counts.get(3), 1);
});

Deno.test("pick() with load resets the assignment count when a newer report arrives", () => {
  const b = new Balancer("load");
  const first = [_server(1, { clients: 0 }), _server(2, { clients: 5 })];
  assert.deepEqual(_ids(b, first, 5), [1, 1, 1, 1, 1]);
  assert.equal(b.assignedSinceReport(first[0]!), 5);
  // Server 1 reports again: the 5 clients are now in its count, not counted twice.
  const second = [_server(1, { clients: 5, reportedAt: NOW }), _server(2, { clients: 5 })];
  assert.equal(b.assignedSinceReport(second[0]!), 0);
  assert.deepEqual(_ids(b, second, 2), [1, 2]);
});

Deno.test("pick() with load weighs event-loop lag past 2 ms at 10 clients per millisecond", () => {
  assert.equal(LAG_WEIGHT, 10);
  assert.equal(LAG_DEAD_ZONE_MS, 2);
  assert.equal(loadScore(5, 2), 5);
  assert.equal(loadScore(5, 4), 25);
  const b = new Balancer("load");
  // Server 1 has fewer clients but lags 20 ms (score 190) against server 2's 150.
  const servers = [_server(1, { clients: 10, lagMs: 20 }), _server(2, { clients: 150 })];
  assert.equal(b.pick(servers, NOW)?.id, 2);
  // Timer jitter of 1-2 ms does not count at all.
  const b3 = new Balancer("load");
  const servers3 = [_server(1, { clients: 4, lagMs: 2 }), _server(2, { clients: 5, lagMs: 0 })];
  assert.equal(b3.pick(servers3, NOW)?.id, 1);
  // Small lag differences do not outweigh large client differences.
  const b2 = new Balancer("load");
  const servers2 = [_server(1, { clients: 10, lagMs: 2 }), _server(2, { clients: 150 })];
  assert.equal(b2.pick(servers2, NOW)?.id, 1);
});

Deno.test("loadScore() treats nonsense reports as maximally loaded, not as idle", () => {
  assert.equal(loadScore(-5, 0), 0);
  assert.equal(loadScore(3, Number.NaN), Infinity);
  const b = new Balancer("load");
  const servers = [_server(1, { lagMs: Number.NaN }), _server(2, { clients: 1000 })];
  assert.equal(b.pick(servers, NOW)?.id, 2);
});

Deno.test("pick() with random spreads evenly with a seeded RNG (chi-square bound)", () => {
  const b = new Balancer("random", { randomInt: _seeded(42) });
  const servers = [_server(1), _server(2), _server(3), _server(4, { reportedAt: 0 })];
  const n = 6000;
  const counts = _counts(_ids(b, servers, n));
  assert.deepEqual([...counts.keys()].sort(), [1, 2, 3]);
  const expected = n / 3;
  let chi2 = 0;
  for (const c of counts.values()) chi2 += (c - expected) ** 2 / expected;
  // 2 degrees of freedom: P(chi2 > 13.8) = 0.001.
  assert.ok(chi2 < 13.8, `chi-square ${chi2.toFixed(2)} too large: ${[...counts]}`);
});

Deno.test("pick() with random and the real RNG gives each of 3 servers 800-1200 of 3000", () => {
  const b = new Balancer("random");
  const servers = [_server(1), _server(2), _server(3), _server(4, { reportedAt: NOW - 5000 })];
  const counts = _counts(_ids(b, servers, 3000));
  assert.deepEqual([...counts.keys()].sort(), [1, 2, 3]);
  // Mean 1000, standard deviation ~26: 200 away is over 7 sigma, so this cannot flake.
  for (const [id, c] of counts) assert.ok(c >= 800 && c <= 1200, `server ${id} got ${c}`);
});

Deno.test("pick() with random rejects an out-of-range injected RNG result", () => {
  const b = new Balancer("random", { randomInt: (n) => n });
  assert.throws(() => b.pick([_server(1)], NOW), RangeError);
});

Deno.test("randomInt() returns integers in [0, n) and rejects a bad n", () => {
  for (const n of [1, 2, 3, 7, 1000, 2 ** 32]) {
    for (let i = 0; i < 200; i++) {
      const x = randomInt(n);
      assert.ok(Number.isInteger(x) && x >= 0 && x < n, `randomInt(${n}) gave ${x}`);
    }
  }
  for (const n of [0, -1, 1.5, Number.NaN, 2 ** 32 + 1]) {
    assert.throws(() => randomInt(n), RangeError);
  }
});
