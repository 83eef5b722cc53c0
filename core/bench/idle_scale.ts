/**
 * Idle-scale mode (`--connections C`): how much server memory an authenticated connection
 * costs and whether messages still get through quickly with C of them open. Reads each
 * server's resident memory, connects and registers C users through the balancer (a bounded
 * number at a time; past {@linkcode PROBE_POOL}, in connection holder processes), lets the
 * servers settle, reads memory again, then sends direct messages one at a time between the
 * users this process holds, through the loaded cluster, and times each to its recipient.
 *
 * @module
 */

import { sleep } from "./async_util.ts";
import type { BenchCluster } from "./bench_cluster.ts";
import { type BenchUser, closeUsers, connectUsers } from "./bench_users.ts";
import { startHolders } from "./holder_pool.ts";
import { countOpenFds, readMemory } from "./proc_stats.ts";

/** Direct messages timed through the loaded cluster. */
export const PROBE_MESSAGES = 200;
/** How long one probe message may take before it counts as lost. */
const _PROBE_TIMEOUT_MS = 10_000;
/** Pause before each memory reading, so allocations from connecting settle. */
const _SETTLE_MS = 2_000;

/** Memory of one server before and after the connections, in bytes. */
export interface IdleServerMemory {
  readonly serverId: number;
  readonly pid: number;
  readonly rssBeforeBytes: number | null;
  readonly rssAfterBytes: number | null;
  readonly peakBytes: number | null;
  readonly openFds: number | null;
}

/** What idle-scale mode measured. */
export interface IdleResult {
  readonly connections: number;
  /** How long connecting and registering every user took (ms). */
  readonly connectMs: number;
  readonly servers: readonly IdleServerMemory[];
  /** Server ID of each user, from the balancer's assignments. */
  readonly assignments: readonly number[];
  /** Probe latencies (ms), one per probe received. */
  readonly latencies: readonly number[];
  readonly probesSent: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly disconnected: number;
  /** Processes holding connections: this one and its holders. */
  readonly generatorProcesses: number;
  /** Descriptors open in all of them. */
  readonly generatorOpenFds: number | null;
  /** Resident memory of all of them, in bytes. */
  readonly generatorRssBytes: number | null;
}

/**
 * Users the benchmark process holds itself; probes run between them. The rest are held by
 * connection holder processes (`conn_holder.ts`), since one process's open-file limit
 * caps its connections.
 */
export const PROBE_POOL = 500;

/** How to split `connections` between this process and holders of at most `perHolder`. */
export function splitConnections(
  connections: number,
  perHolder: number,
): { local: number; holders: number[] } {
  if (!(perHolder >= 1)) throw new RangeError(`perHolder must be at least 1, got ${perHolder}`);
  const local = Math.min(connections, PROBE_POOL);
  const rest = connections - local;
  const n = Math.ceil(rest / perHolder);
  const holders = Array.from(
    { length: n },
    (_, k) => Math.floor(rest / n) + (k < rest % n ? 1 : 0),
  );
  return { local, holders };
}

/**
 * Runs idle-scale mode on `cluster`; every connection is closed, and every holder process
 * gone, before this settles. `perHolder` is the most connections one holder opens.
 */
export async function runIdleScale(cluster: BenchCluster, opts: {
  connections: number;
  perHolder: number;
  body: string;
  signal: AbortSignal;
  progress: (line: string) => void;
}): Promise<IdleResult> {
  const label = `connections (${cluster.strategy})`;
  await sleep(_SETTLE_MS, opts.signal);
  const servers = cluster.processes().filter((p) => p.serverId !== null);
  const pids = servers.map((p) => p.pid);
  const before = await readMemory(pids);
  const split = splitConnections(opts.connections, opts.perHolder);
  if (split.holders.length > 0) {
    opts.progress(
      `${label}: ${split.local} connections here and ${split.holders.join(" + ")} in ` +
        `${split.holders.length} holder process(es)`,
    );
  }
  const t0 = performance.now();
  const step = Math.max(100, Math.round(opts.connections / 10));
  let localDone = 0;
  let heldDone = 0;
  let nextReport = step;
  const report = () => {
    const n = localDone + heldDone;
    if (n >= nextReport || (n === opts.connections && nextReport <= opts.connections)) {
      nextReport = n === opts.connections ? Infinity : (Math.floor(n / step) + 1) * step;
      opts.progress(`${label}: ${n} of ${opts.connections} connected and registered`);
    }
  };
  let users: BenchUser[] = [];
  const holders = split.holders.length > 0
    ? startHolders({
      balancerUrl: cluster.balancerUrl,
      counts: split.holders,
      prefix: "idleh",
      signal: opts.signal,
      onProgress: (n) => {
        heldDone = n;
        report();
      },
    })
    : null;
  let holdersClosed = false;
  try {
    const [local, held] = await Promise.all([
      connectUsers({
        balancerUrl: cluster.balancerUrl,
        count: split.local,
        signal: opts.signal,
        prefix: "idle",
        onProgress: (n) => {
          localDone = n;
          report();
        },
      }),
      holders?.ready ?? Promise.resolve(null),
    ]);
    users = local;
    const connectMs = performance.now() - t0;
    await sleep(_SETTLE_MS, opts.signal);
    const generatorPids = [Deno.pid, ...(holders?.pids ?? [])];
    const after = await readMemory([...pids, ...generatorPids]);
    const fds = await Promise.all(servers.map((p) => countOpenFds(p.pid)));
    const generatorFds = await Promise.all(generatorPids.map(countOpenFds));
    const probe = await _probe(users, opts.body, opts.signal);
    opts.progress(
      `${label}: ${probe.latencies.length} of ${probe.probesSent} probe messages delivered`,
    );
    const localDisconnected = users.filter((u) => u.closed !== null).length;
    holdersClosed = true;
    const heldDisconnected = holders ? (await holders.close()).disconnected : 0;
    return {
      connections: opts.connections,
      connectMs,
      servers: servers.map((p, i) => ({
        serverId: p.serverId!,
        pid: p.pid,
        rssBeforeBytes: before.get(p.pid)?.rssBytes ?? null,
        rssAfterBytes: after.get(p.pid)?.rssBytes ?? null,
        peakBytes: after.get(p.pid)?.peakBytes ?? null,
        openFds: fds[i] ?? null,
      })),
      assignments: [...users.map((u) => u.serverId), ...(held?.assignments ?? [])],
      ...probe,
      disconnected: localDisconnected + heldDisconnected,
      generatorProcesses: generatorPids.length,
      generatorOpenFds: _sum(generatorFds),
      generatorRssBytes: _sum(generatorPids.map((p) => after.get(p)?.rssBytes ?? null)),
    };
  } finally {
    await closeUsers(users, 10_000);
    if (holders && !holdersClosed) await holders.close().catch(() => {});
  }
}

function _sum(xs: readonly (number | null)[]): number | null {
  return xs.some((x) => x === null) ? null : xs.reduce<number>((s, x) => s + x!, 0);
}

async function _probe(users: readonly BenchUser[], body: string, signal: AbortSignal) {
  const seen = new Map<number, Set<number>>();
  let duplicated = 0;
  let waiting: { cmid: string; to: number; resolve: () => void } | null = null;
  users.forEach((u, i) => {
    u.onFrame = (f) => {
      if (f.type !== "message") return;
      const ids = seen.get(i) ?? new Set<number>();
      seen.set(i, ids);
      if (ids.has(f.msg_id)) {
        duplicated++;
        return;
      }
      ids.add(f.msg_id);
      if (waiting && f.client_msg_id === waiting.cmid && waiting.to === i) waiting.resolve();
    };
  });
  const latencies: number[] = [];
  let lost = 0;
  let sent = 0;
  for (let k = 0; k < PROBE_MESSAGES && !signal.aborted; k++) {
    // Spread senders and recipients over the user list (and so over the servers).
    const from = (k * 7919) % users.length;
    const to = (from + 1 + ((k * 104_729) % (users.length - 1))) % users.length;
    if (to === from) continue;
    const got = Promise.withResolvers<void>();
    waiting = { cmid: `p${k}`, to, resolve: got.resolve };
    const t = performance.now();
    sent++;
    const accepted = users[from]!.client.send(users[to]!.userId, body, `p${k}`);
    accepted.catch(() => {});
    const ok = await Promise.race([
      got.promise.then(() => true),
      sleep(_PROBE_TIMEOUT_MS, signal).then(() => false),
    ]);
    if (ok) latencies.push(performance.now() - t);
    else if (!signal.aborted) lost++;
    waiting = null;
  }
  // Give a late duplicate of the last probe a moment to show.
  await sleep(500, signal);
  for (const u of users) u.onFrame = () => {};
  return { latencies, probesSent: sent, lost, duplicated };
}
