/**
 * `fastchat bench` from start to finish: for each store backend and strategy, a fresh
 * cluster on a fresh main database, users through
 * the balancer, groups, the load (or idle-scale mode), CPU and memory from /proc, and the
 * cluster stopped again; then the optional echo baseline. Produces one
 * {@linkcode BenchReport} (the `--json` object) whose `failures` list every correctness
 * problem (lost, duplicated or misrouted messages, errors, restarts, leftover processes).
 * Every process it starts is stopped before it settles, also when `signal` aborts.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import type { ClusterProcess } from "../cluster/supervisor.ts";
import { checkCancelled, sleep } from "./async_util.ts";
import { runEchoBaseline } from "./baseline.ts";
import { BENCH_SCRYPT_N, type BenchCluster, startBenchCluster } from "./bench_cluster.ts";
import { benchDatabases } from "./bench_db.ts";
import type { StoreBackend } from "../store/open_store.ts";
import {
  type BenchGroup,
  type BenchUser,
  closeUsers,
  connectUsers,
  createGroups,
} from "./bench_users.ts";
import { type GeneratorPool, type SpreadUsers, startGenerators } from "./gen_pool.ts";
import { makeBodyPool } from "./body_pool.ts";
import { runIdleScale } from "./idle_scale.ts";
import { type LoadResult, runLoad } from "./load_generator.ts";
import type { BenchOptions, BenchStrategy } from "./options.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  type MachineCpu,
  readCpuSnapshot,
  readCpuTicks,
  readMemory,
  readOpenFileLimit,
} from "./proc_stats.ts";
import { fetchServerCounters, type ServerCounters } from "./server_metrics.ts";
import { cpuPercent, perSecond, round, spread, summarizeLatencies } from "./stats.ts";

/** Descriptors kept free for the runtime, the balancer fetches and the children's pipes. */
const _FD_MARGIN = 500;

/**
 * How long the servers' CPU is measured with every client connected and no message sent,
 * before the load: what holding idle connections costs (presence, pings, timers). Two
 * seconds is 200 clock ticks per core, enough to see half a percent of a core.
 */
export const IDLE_WINDOW_MS = 2_000;

/** One server process as measured. */
export interface ServerProcessResult {
  /** Its ID, as in the cluster's servers file. */
  readonly server_id: number;
  /** Its process ID. */
  readonly pid: number;
  /** CPU over the measured window, % of one core. */
  readonly cpu_percent: number | null;
  /**
   * CPU over the idle window before the load (every client connected, no message sent),
   * % of one core; null in idle-scale mode or when it could not be read.
   */
  readonly idle_cpu_percent: number | null;
  /** Resident memory at the end, MiB. */
  readonly rss_mb: number | null;
  /** Peak resident memory over its life, MiB. */
  readonly peak_rss_mb: number | null;
  /** From its `GET /metrics` at the end: messages the redelivery sweep pushed again. */
  readonly redelivered: number | null;
  /** Storage commits it made (each a group commit of many messages). */
  readonly store_batches: number | null;
  /** Messages per storage commit, on average. */
  readonly mean_batch_messages: number | null;
  /** Event-loop lag it measured (smoothed), ms. */
  readonly lag_ms: number | null;
  /**
   * Messages it refused with `busy` (admission control, `core/server/admission.ts`) because
   * its store queue waited too long or held too many; the next three count the other reasons.
   */
  readonly busy_queue: number | null;
  /** Refused because the sender had more waiting than the average sender (fairness). */
  readonly busy_fair_share: number | null;
  /** Refused because the event loop lagged. */
  readonly busy_lag: number | null;
  /** Refused because the sender's own connection had too much unread output. */
  readonly busy_outbound: number | null;
}

/** Fields every result has (load and idle-scale mode). */
export interface ResultBase {
  /** The balancing strategy the cluster ran. */
  readonly strategy: BenchStrategy;
  /** The main database the cluster ran on. */
  readonly backend: StoreBackend;
  /** Which mode measured it: `load` or `connections` (idle scale). */
  readonly mode: "load" | "connections";
  /** Deliveries per second in the measured window (null in idle-scale mode). */
  readonly delivered_per_s: number | null;
  /** Deliveries received in all (a group message counts once per recipient). */
  readonly deliveries: number;
  /** End-to-end latency (send to receipt), median, ms; null without samples. */
  readonly p50_ms: number | null;
  /** The same, 95th percentile. */
  readonly p95_ms: number | null;
  /** The same, 99th percentile. */
  readonly p99_ms: number | null;
  /** The same, worst. */
  readonly max_ms: number | null;
  /** The same, mean. */
  readonly mean_ms: number | null;
  /** How many deliveries the latencies are taken from. */
  readonly latency_samples: number;
  /** Messages some recipient never received (a failure). */
  readonly lost: number;
  /** Messages a recipient received twice on the wire (a failure). */
  readonly duplicated: number;
  /** How many clients the balancer assigned to each server, by server ID. */
  readonly clients_per_server: Readonly<Record<string, number>>;
  /** The fewest of those. */
  readonly clients_per_server_min: number;
  /** The most of those. */
  readonly clients_per_server_max: number;
  /** Their standard deviation: how evenly the strategy spread clients. */
  readonly clients_per_server_stddev: number;
  /** Each chat server process as measured. */
  readonly servers: readonly ServerProcessResult[];
  /** Ports the run used (all closed again when it ends). */
  readonly ports: { readonly balancer: number; readonly servers: readonly number[] };
}

/** One strategy under load. */
export interface LoadStrategyResult extends ResultBase {
  /** Load mode. */
  readonly mode: "load";
  /** Simulated clients (`--clients`). */
  readonly clients: number;
  /** `closed`: each client keeps `window` messages in flight; `open`: a fixed `rate`. */
  readonly load_model: "closed" | "open";
  /** Closed loop: messages in flight per client; null in the open loop. */
  readonly window: number | null;
  /** Open loop: messages per second in total (this run's rate); null in the closed loop. */
  readonly rate: number | null;
  /** Measured seconds. */
  readonly duration_s: number;
  /** Seconds of load before measuring. */
  readonly warmup_s: number;
  /** Messages sent, warm-up and drain included. */
  readonly sent: number;
  /** Of those, direct messages. */
  readonly sent_direct: number;
  /** Of those, group messages. */
  readonly sent_group: number;
  /** Messages the servers accepted (stored durably). */
  readonly accepted: number;
  /** Messages accepted per second in the measured window. */
  readonly accepted_per_s: number;
  /** Deliveries per second in the measured window: the headline throughput. */
  readonly delivered_per_s: number;
  /** Send to `accepted` (the message is durable), for messages sent in the window. */
  readonly accept_p50_ms: number | null;
  /** The same, 99th percentile. */
  readonly accept_p99_ms: number | null;
  /** The same from the first attempt: time spent waiting out `busy` answers included. */
  readonly accept_first_p50_ms: number | null;
  /** The same, 99th percentile. */
  readonly accept_first_p99_ms: number | null;
  /**
   * Attempts the servers answered `busy` (admission control): sent again in the closed loop,
   * dropped as excess in the open loop (`refused`).
   */
  readonly busy: number;
  /** Open loop: messages refused with `busy` and not offered again. */
  readonly refused: number;
  /**
   * Closed loop only (null open loop, where a client's share is random): messages accepted
   * per connected client within the window, fewest and median, and how many clients had
   * none accepted at all (starved).
   */
  readonly accepted_per_client_min: number | null;
  /** Closed loop: the median client's accepted messages. */
  readonly accepted_per_client_p50: number | null;
  /** Closed loop: clients that had no message accepted. */
  readonly starved_clients: number | null;
  /** Deliveries the accepted messages should have made. */
  readonly expected_deliveries: number;
  /** Of those, deliveries that never arrived. */
  readonly lost_deliveries: number;
  /** Messages that reached a user they were not for (a failure). */
  readonly misrouted: number;
  /** Sends answered with an error or not within the timeout (a failure). */
  readonly send_errors: number;
  /** Sends neither accepted nor failed by the end of the drain (a failure). */
  readonly unanswered: number;
  /** Clients whose connection closed during the run (a failure). */
  readonly disconnected: number;
  /** Open loop: sends issued more than 10 ms after their slot (the generator lagged). */
  readonly late_sends: number;
  /** Open loop: sends skipped (too many messages outstanding, or the sender disconnected). */
  readonly skipped_sends: number;
  /** Open loop: the latest a send was issued after its slot, ms. */
  readonly max_send_lag_ms: number;
  /** How long the drain after sending took, seconds. */
  readonly drain_s: number;
  /** Groups the clients send to. */
  readonly groups: number;
  /** Members per group on average; null without groups. */
  readonly mean_group_size: number | null;
  /** The balancer's CPU over the window, % of one core. */
  readonly balancer_cpu_percent: number | null;
  /**
   * Load generator processes (`--generators`): 1 is this process; more are child processes
   * that each drive a slice of the clients, with this one coordinating.
   */
  readonly generator_processes: number;
  /**
   * The load generators' CPU over the window, % of one core: every generator process and
   * this one, summed.
   */
  readonly generator_cpu_percent: number | null;
  /** The same for each process: the generator processes in slice order, then this one. */
  readonly generator_process_cpu_percent: readonly (number | null)[];
  /** The load generators' resident memory at the end (this process's included), MiB. */
  readonly generator_rss_mb: number | null;
  /** The whole machine over the window: busy and I/O-wait time, % of all cores. */
  readonly machine_busy_percent: number | null;
  /** The whole machine's I/O-wait time over the window, % of all cores. */
  readonly machine_iowait_percent: number | null;
  /** delivered_per_s / baseline_per_s; null without `--baseline`. */
  readonly baseline_ratio: number | null;
  /** All chat servers' CPU over the window, summed, % of one core. */
  readonly server_cpu_percent: number | null;
  /** Server CPU (all chat servers) per accepted message, microseconds. */
  readonly server_cpu_us_per_accepted: number | null;
  /** Server CPU (all chat servers) per delivered message, microseconds. */
  readonly server_cpu_us_per_delivered: number | null;
  /** The idle window before the load, seconds (see `idle_cpu_percent` of each server). */
  readonly idle_window_s: number;
  /** Clients connected during the idle window. */
  readonly idle_clients: number;
  /** All chat servers' CPU over the idle window, summed, % of one core. */
  readonly idle_server_cpu_percent: number | null;
  /**
   * What an idle connected client costs: microseconds of server CPU (all servers) per second
   * per connected client, over the idle window.
   */
  readonly idle_cpu_us_per_client_s: number | null;
  /** That as a multiple of the echo server's CPU per echo; null without `--baseline`. */
  readonly server_cpu_vs_echo: number | null;
  /** A few of the send errors' messages, to tell what failed. */
  readonly error_samples: readonly string[];
}

/** One strategy in idle-scale mode. */
export interface IdleStrategyResult extends ResultBase {
  /** Idle-scale mode. */
  readonly mode: "connections";
  /** Not measured in this mode. */
  readonly delivered_per_s: null;
  /** Authenticated connections held open (`--connections`). */
  readonly connections: number;
  /** How long connecting and registering every user took, seconds. */
  readonly connect_s: number;
  /** The chat servers' resident memory in all before connecting, MiB. */
  readonly rss_before_mb: number | null;
  /** The same with every connection open. */
  readonly rss_after_mb: number | null;
  /** The difference: the memory the connections cost. */
  readonly rss_growth_mb: number | null;
  /** That per connection, bytes: what an idle connection costs a server. */
  readonly bytes_per_connection: number | null;
  /** Probe messages sent across the idle connections to check they still work. */
  readonly probes_sent: number;
  /** Connections closed during the run (a failure). */
  readonly disconnected: number;
  /** File descriptors open in each chat server, in server order. */
  readonly server_open_fds: readonly (number | null)[];
  /** Processes that held the connections: the benchmark and its connection holders. */
  readonly generator_processes: number;
  /** Descriptors open in all of them. */
  readonly generator_open_fds: number | null;
  /** Their resident memory in all. */
  readonly generator_rss_mb: number | null;
}

/** The echo baseline as reported. */
export interface BaselineSummary {
  /** Echoes received per second in the measured window: the ceiling. */
  readonly echoes_per_s: number;
  /** WebSocket connections the load ran over. */
  readonly connections: number;
  /** Frames sent. */
  readonly sent: number;
  /** Frames echoed back. */
  readonly echoes: number;
  /** Round-trip time, median, ms. */
  readonly p50_ms: number | null;
  /** The same, 99th percentile. */
  readonly p99_ms: number | null;
  /** The same, worst. */
  readonly max_ms: number | null;
  /** Frames never echoed by the end of the drain. */
  readonly lost: number;
  /** Sends issued late (the generator lagged). */
  readonly late_sends: number;
  /** The echo server's CPU over the window, % of one core. */
  readonly server_cpu_percent: number | null;
  /** The echo server's CPU per echo, microseconds. */
  readonly server_cpu_us_per_echo: number | null;
  /** Its resident memory at the end, MiB. */
  readonly server_rss_mb: number | null;
  /** The load generator's CPU over the window, % of one core. */
  readonly generator_cpu_percent: number | null;
  /** The port the echo server listened on. */
  readonly port: number;
}

/** Everything one `fastchat bench` run found: the `--json` object. */
export interface BenchReport {
  /** The FastChat version that ran. */
  readonly fastchat_version: string;
  /** What was run: the options, and the machine it ran on. */
  readonly config: {
    /** Chat servers per cluster. */
    readonly servers: number;
    /** Simulated clients (load mode). */
    readonly clients: number;
    /** Connections held (idle-scale mode); null in load mode. */
    readonly connections: number | null;
    /** The strategies run. */
    readonly strategies: readonly BenchStrategy[];
    /** The store backends each strategy ran on. */
    readonly backends: readonly StoreBackend[];
    /** The PostgreSQL server the postgres runs used (password hidden), if any. */
    readonly postgres: string | null;
    /** Measured seconds. */
    readonly duration_s: number;
    /** Seconds of load before measuring. */
    readonly warmup_s: number;
    /** Shares of direct and group messages. */
    readonly mix: { readonly dm: number; readonly group: number };
    /** Members per group. */
    readonly group_size: number;
    /** Open loop: messages per second, one run per rate in this order; null in the closed loop. */
    readonly rates: readonly number[] | null;
    /** Closed loop: messages in flight per client; null in the open loop. */
    readonly window: number | null;
    /** Plaintext bytes per message. */
    readonly message_bytes: number;
    /** The scrypt cost the simulated users register with (low, so registering is quick). */
    readonly scrypt_n: number;
    /** Load generator processes per load run (`--generators`; 1: this process). */
    readonly generators: number;
    /** Logical CPUs of the machine. */
    readonly cpus: number;
  };
  /** One result per strategy and backend, in the order run. */
  readonly results: readonly (LoadStrategyResult | IdleStrategyResult)[];
  /** The echo baseline's echoes per second; null without `--baseline`. */
  readonly baseline_per_s: number | null;
  /** The echo baseline; null without `--baseline`. */
  readonly baseline: BaselineSummary | null;
  /** Every correctness problem; empty when the run is good. */
  readonly failures: readonly string[];
  /** True when `failures` is empty. */
  readonly ok: boolean;
}

/** Where a run reports progress, and how it is cancelled. */
export interface BenchIo {
  /** Called with one line of progress at a time (the command prints it on stderr). */
  readonly progress: (line: string) => void;
  /** Aborting it stops the run and everything it started. */
  readonly signal: AbortSignal;
}

/**
 * Runs the benchmark. Throws `BenchCancelled` when `io.signal` aborts (after
 * stopping everything it started) and Error when the machine cannot run it (open files).
 */
export async function runBench(opts: BenchOptions, io: BenchIo): Promise<BenchReport> {
  const limit = await readOpenFileLimit();
  const perHolder = fdBudget(opts, limit);
  const bodies = makeBodyPool(opts.messageBytes);
  const failures: string[] = [];
  const results: (LoadStrategyResult | IdleStrategyResult)[] = [];
  const dbs = benchDatabases(opts.pgUrl, io.progress);
  try {
    // Idle-scale mode sends no load, so it runs once whatever the rates.
    const rates = opts.connections !== null ? [null] : opts.rates ?? [null];
    for (const backend of opts.backends) {
      for (const strategy of opts.strategies) {
        for (const rate of rates) {
          checkCancelled(io.signal);
          const run: _Run = {
            strategy,
            backend,
            rate,
            db: await dbs.next(backend),
            showRate: rates.length > 1,
          };
          const result = opts.connections !== null
            ? await _idleStrategy(run, opts, perHolder, bodies[0]!, io, failures)
            : await _loadStrategy(run, opts, bodies, io, failures);
          results.push(result);
        }
      }
    }
  } finally {
    await dbs.close();
  }
  let baseline: BaselineSummary | null = null;
  if (opts.baseline) {
    checkCancelled(io.signal);
    const b = await runEchoBaseline({
      connections: opts.clients,
      bodies,
      warmupMs: opts.warmupS * 1000,
      durationMs: opts.durationS * 1000,
      // The command line allows --baseline with one rate only.
      rate: opts.rates?.[0] ?? null,
      window: opts.window,
      signal: io.signal,
      progress: io.progress,
    });
    checkCancelled(io.signal);
    const lat = summarizeLatencies(b.latencies);
    baseline = {
      echoes_per_s: round(b.echoesPerS)!,
      connections: opts.clients,
      sent: b.sent,
      echoes: b.echoes,
      p50_ms: round(lat.p50, 2),
      p99_ms: round(lat.p99, 2),
      max_ms: round(lat.max, 2),
      lost: b.lost,
      late_sends: b.late,
      server_cpu_percent: round(b.serverCpuPercent),
      server_cpu_us_per_echo: cpuMicrosPer(b.serverCpuPercent, b.echoesPerS),
      server_rss_mb: _mb(b.serverRssBytes),
      generator_cpu_percent: round(b.generatorCpuPercent),
      port: b.port,
    };
    if (b.lost > 0) failures.push(`baseline: ${b.lost} frames were never echoed`);
  }
  const echoUs = baseline?.server_cpu_us_per_echo ?? null;
  const withRatio = results.map((r) =>
    r.mode === "load" && baseline !== null && baseline.echoes_per_s > 0
      ? {
        ...r,
        baseline_ratio: round(r.delivered_per_s / baseline.echoes_per_s, 3),
        server_cpu_vs_echo: echoUs && r.server_cpu_us_per_delivered !== null
          ? round(r.server_cpu_us_per_delivered / echoUs, 1)
          : null,
      }
      : r
  );
  return {
    fastchat_version: VERSION,
    config: {
      servers: opts.servers,
      clients: opts.clients,
      connections: opts.connections,
      strategies: opts.strategies,
      backends: opts.backends,
      postgres: dbs.postgres,
      duration_s: opts.durationS,
      warmup_s: opts.warmupS,
      mix: opts.mix,
      group_size: opts.groupSize,
      rates: opts.rates,
      window: opts.rates === null ? opts.window : null,
      message_bytes: opts.messageBytes,
      scrypt_n: BENCH_SCRYPT_N,
      generators: opts.generators,
      cpus: navigator.hardwareConcurrency,
    },
    results: withRatio,
    baseline_per_s: baseline?.echoes_per_s ?? null,
    baseline,
    failures,
    ok: failures.length === 0,
  };
}

/**
 * The per-client fairness fields of a load result from each connected client's accepted
 * count in the window; all null for an open loop (`closedLoop` false) or no clients.
 */
export function perClientFairness(closedLoop: boolean, counts: readonly number[]): {
  accepted_per_client_min: number | null;
  accepted_per_client_p50: number | null;
  starved_clients: number | null;
} {
  if (!closedLoop || counts.length === 0) {
    return { accepted_per_client_min: null, accepted_per_client_p50: null, starved_clients: null };
  }
  const sorted = [...counts].sort((a, b) => a - b);
  return {
    accepted_per_client_min: sorted[0]!,
    accepted_per_client_p50: sorted[Math.floor((sorted.length - 1) / 2)]!,
    starved_clients: sorted.filter((n) => n === 0).length,
  };
}

/** Most connections one holder process opens, whatever the open-file limit. */
export const HOLDER_MAX = 15_000;

/**
 * Checks that the open-file limit `limit` (null: unknown) lets this run's processes hold
 * their connections, and returns how many one connection holder may open. Load mode keeps
 * every client in this process; idle-scale mode spreads connections over holders, but each
 * server still holds its share. Throws Error saying what to change when it cannot fit.
 */
export function fdBudget(
  opts: Pick<BenchOptions, "connections" | "clients" | "servers">,
  limit: number | null,
): number {
  const usable = limit === null ? Infinity : limit - _FD_MARGIN;
  if (opts.connections === null) {
    if (opts.clients > usable) {
      throw new Error(
        `${opts.clients} clients need about ${opts.clients + _FD_MARGIN} open files in this ` +
          `process, but the limit (ulimit -n) is ${limit}; raise it or ask for fewer`,
      );
    }
    return HOLDER_MAX;
  }
  // Strategies balance within a few percent; allow 5 % over the even share.
  const perServer = Math.ceil((opts.connections / opts.servers) * 1.05);
  if (perServer > usable) {
    throw new Error(
      `${opts.connections} connections over ${opts.servers} servers need about ` +
        `${perServer + _FD_MARGIN} open files per server, but the limit (ulimit -n) is ` +
        `${limit}; add servers, raise the limit or ask for fewer`,
    );
  }
  return Math.max(1, Math.min(HOLDER_MAX, usable));
}

/** One benchmark run: a strategy on a backend at a rate, and the database it runs on. */
interface _Run {
  readonly strategy: BenchStrategy;
  readonly backend: StoreBackend;
  /** Open loop: this run's messages per second; null for the closed loop. */
  readonly rate: number | null;
  /** Whether the rate is part of the run's name (several rates). */
  readonly showRate: boolean;
  /** The main database; undefined: the cluster's own SQLite file. */
  readonly db: string | undefined;
}

async function _withCluster<T>(
  run: _Run,
  opts: BenchOptions,
  io: BenchIo,
  failures: string[],
  body: (cluster: BenchCluster) => Promise<T>,
): Promise<T> {
  const strategy = _label(run);
  io.progress(`${strategy}: starting a balancer and ${opts.servers} server(s)`);
  const cluster = await startBenchCluster({
    servers: opts.servers,
    strategy: run.strategy,
    db: run.db,
    progress: (l) => io.progress(`${strategy}: ${l}`),
  });
  const started = cluster.processes();
  io.progress(
    `${strategy}: cluster up: balancer ${cluster.balancerUrl}, servers ${
      cluster.servers.map((s) => `${s.host}:${s.port}`).join(" ")
    }`,
  );
  try {
    const result = await body(cluster);
    const now = new Map(cluster.processes().map((p) => [p.name, p.pid]));
    for (const p of started) {
      if (now.get(p.name) !== p.pid) failures.push(`${strategy}: ${p.name} died during the run`);
    }
    return result;
  } finally {
    io.progress(`${strategy}: stopping the cluster`);
    await cluster.stop();
    const all = [...started, ...cluster.processes()];
    const alive = await readCpuTicks([...new Set(all.map((p) => p.pid))]);
    for (const p of started) {
      if (alive.has(p.pid)) {
        failures.push(`${strategy}: ${p.name} (PID ${p.pid}) is still running after stop`);
      }
    }
  }
}

function _loadStrategy(
  run: _Run,
  opts: BenchOptions,
  bodies: readonly string[],
  io: BenchIo,
  failures: string[],
): Promise<LoadStrategyResult> {
  const strategy = _label(run);
  return _withCluster(run, opts, io, failures, async (cluster) => {
    let users: BenchUser[] = [];
    let pool: GeneratorPool | null = null;
    try {
      const step = Math.max(100, Math.round(opts.clients / 5));
      users = await connectUsers({
        balancerUrl: cluster.balancerUrl,
        count: opts.clients,
        signal: io.signal,
        onProgress: (n) => {
          if (n % step === 0 || n === opts.clients) {
            io.progress(`${strategy}: ${n} of ${opts.clients} users connected and registered`);
          }
        },
      });
      const groups = opts.mix.group > 0 ? await createGroups(users, opts.groupSize, io.signal) : [];
      if (groups.length > 0) io.progress(`${strategy}: ${groups.length} groups created`);
      // Who sent and who received, by user index; with several generators, their connections.
      let assignments = users.map((u) => u.serverId);
      if (opts.generators > 1) {
        const spread = _spreadUsers(cluster.balancerUrl, users, groups);
        // The children resume these sessions on connections of their own.
        await closeUsers(users);
        users = [];
        pool = startGenerators({
          users: spread,
          generators: opts.generators,
          rate: run.rate,
          window: opts.window,
          mix: opts.mix,
          messageBytes: opts.messageBytes,
          signal: io.signal,
          onProgress: (n) => {
            if (n % step === 0 || n === opts.clients) {
              io.progress(
                `${strategy}: ${n} of ${opts.clients} users connected in ` +
                  `${opts.generators} generator processes`,
              );
            }
          },
        });
        assignments = [...await pool.ready];
      }
      const genPids = pool === null ? [Deno.pid] : [...pool.pids, Deno.pid];
      const procs = cluster.processes();
      let closed: readonly boolean[] = [];
      let childRss: readonly number[] = [];
      const isClosed = (i: number) => pool === null ? users[i]!.closed !== null : closed[i]!;
      const idleClients = pool === null
        ? users.filter((u) => u.closed === null).length
        : assignments.length;
      io.progress(
        `${strategy}: ${IDLE_WINDOW_MS / 1000} s idle with ${idleClients} clients connected ` +
          `(server CPU per connection)`,
      );
      const idle0 = await _snapshot(procs, genPids);
      await sleep(IDLE_WINDOW_MS, io.signal);
      checkCancelled(io.signal);
      const idle1 = await _snapshot(procs, genPids);
      const idleCpu = (pid: number) => _cpu(idle0, idle1, pid);
      let before: Promise<_Snapshot> | null = null;
      let after: Promise<_Snapshot> | null = null;
      io.progress(
        `${strategy}: ${opts.warmupS} s warm-up, then ${opts.durationS} s measured (${
          run.rate === null ? `closed loop, window ${opts.window}` : `open loop, ${run.rate}/s`
        }${pool === null ? "" : `, ${opts.generators} generator processes`})`,
      );
      const loadCfg = {
        warmupMs: opts.warmupS * 1000,
        durationMs: opts.durationS * 1000,
        signal: io.signal,
        progress: io.progress,
        label: strategy,
        onMeasureStart: () => before = _snapshot(procs, genPids),
        onMeasureEnd: () => after = _snapshot(procs, genPids),
      };
      let load: LoadResult;
      if (pool === null) {
        load = await runLoad(users, groups, {
          ...loadCfg,
          rate: run.rate,
          window: opts.window,
          mix: opts.mix,
          bodies,
        });
      } else {
        const spread = await pool.run(loadCfg);
        load = spread.load;
        closed = spread.closed;
        childRss = spread.rssBytes;
      }
      checkCancelled(io.signal);
      const s0 = await (before as Promise<_Snapshot> | null);
      const s1 = await (after as Promise<_Snapshot> | null);
      // The generator processes reported their memory as they finished (they are gone now).
      const memory = await readMemory([...procs.map((p) => p.pid), Deno.pid]);
      const counters = await _counters(cluster);
      const lat = summarizeLatencies(load.latencies);
      const acc = summarizeLatencies(load.acceptLatencies);
      const accFirst = summarizeLatencies(load.acceptLatenciesFirst);
      const balance = _balance(assignments, cluster);
      const cpu = (pid: number) => _cpu(s0, s1, pid);
      const genCpu = genPids.map((pid) => cpu(pid));
      const balancer = procs.find((p) => p.serverId === null);
      const serverProcs = procs.filter((p) => p.serverId !== null);
      const serverCpu = _sum(serverProcs.map((p) => cpu(p.pid)));
      const idleServerCpu = _sum(serverProcs.map((p) => idleCpu(p.pid)));
      const result: LoadStrategyResult = {
        strategy: run.strategy,
        backend: run.backend,
        mode: "load",
        clients: opts.clients,
        load_model: run.rate === null ? "closed" : "open",
        window: run.rate === null ? opts.window : null,
        rate: run.rate,
        duration_s: opts.durationS,
        warmup_s: opts.warmupS,
        sent: load.sent,
        sent_direct: load.sentDirect,
        sent_group: load.sentGroup,
        accepted: load.accepted,
        accepted_per_s: round(perSecond(load.acceptedInWindow, load.windowMs))!,
        delivered_per_s: round(perSecond(load.deliveredInWindow, load.windowMs))!,
        accept_p50_ms: round(acc.p50, 2),
        accept_p99_ms: round(acc.p99, 2),
        accept_first_p50_ms: round(accFirst.p50, 2),
        accept_first_p99_ms: round(accFirst.p99, 2),
        busy: load.busy,
        refused: load.refused,
        ...perClientFairness(
          run.rate === null,
          load.acceptedPerUser.filter((_, i) => !isClosed(i)),
        ),
        deliveries: load.deliveries,
        expected_deliveries: load.expectedDeliveries,
        p50_ms: round(lat.p50, 2),
        p95_ms: round(lat.p95, 2),
        p99_ms: round(lat.p99, 2),
        max_ms: round(lat.max, 2),
        mean_ms: round(lat.mean, 2),
        latency_samples: lat.count,
        lost: load.lost,
        lost_deliveries: load.lostDeliveries,
        duplicated: load.duplicated,
        misrouted: load.misrouted,
        send_errors: load.sendErrors,
        unanswered: load.unanswered,
        disconnected: load.disconnected,
        late_sends: load.late,
        skipped_sends: load.skipped,
        max_send_lag_ms: round(load.maxSendLagMs)!,
        drain_s: round(load.drainMs / 1000, 2)!,
        groups: groups.length,
        mean_group_size: groups.length > 0
          ? round(groups.reduce((s, g) => s + g.members.length, 0) / groups.length, 2)
          : null,
        ...balance,
        servers: serverProcs.map((p) => {
          const mem = memory.get(p.pid);
          return {
            server_id: p.serverId!,
            pid: p.pid,
            cpu_percent: round(cpu(p.pid)),
            idle_cpu_percent: round(idleCpu(p.pid), 2),
            rss_mb: _mb(mem?.rssBytes ?? null),
            peak_rss_mb: _mb(mem?.peakBytes ?? null),
            ..._counterFields(counters.get(p.serverId!)),
          };
        }),
        balancer_cpu_percent: balancer ? round(cpu(balancer.pid)) : null,
        generator_processes: opts.generators,
        generator_cpu_percent: round(_sum(genCpu)),
        generator_process_cpu_percent: genCpu.map((c) => round(c)),
        generator_rss_mb: _mb(
          _sum([memory.get(Deno.pid)?.rssBytes ?? null, ...childRss]),
        ),
        ..._machine(s0, s1),
        baseline_ratio: null,
        server_cpu_percent: round(serverCpu),
        server_cpu_us_per_accepted: cpuMicrosPer(
          serverCpu,
          perSecond(load.acceptedInWindow, load.windowMs),
        ),
        server_cpu_us_per_delivered: cpuMicrosPer(
          serverCpu,
          perSecond(load.deliveredInWindow, load.windowMs),
        ),
        idle_window_s: IDLE_WINDOW_MS / 1000,
        idle_clients: idleClients,
        idle_server_cpu_percent: round(idleServerCpu, 2),
        idle_cpu_us_per_client_s: idleServerCpu === null || idleClients === 0
          ? null
          : round((idleServerCpu / 100) * 1e6 / idleClients, 1),
        server_cpu_vs_echo: null,
        error_samples: load.errorSamples,
        ports: { balancer: cluster.balancerPort, servers: cluster.servers.map((s) => s.port) },
      };
      _checkLoad(strategy, result, failures);
      return result;
    } finally {
      await closeUsers(users);
      await pool?.close();
    }
  });
}

/** What the generator processes need of the users registered here. */
function _spreadUsers(
  balancerUrl: string,
  users: readonly BenchUser[],
  groups: readonly BenchGroup[],
): SpreadUsers {
  return {
    balancerUrl,
    tokens: users.map((u) => u.sessionToken),
    userIds: users.map((u) => u.userId),
    groupOf: users.map((u) => u.groupId),
    groupSizes: Object.fromEntries(groups.map((g) => [String(g.id), g.members.length])),
  };
}

function _idleStrategy(
  run: _Run,
  opts: BenchOptions,
  perHolder: number,
  body: string,
  io: BenchIo,
  failures: string[],
): Promise<IdleStrategyResult> {
  const strategy = _label(run);
  return _withCluster(run, opts, io, failures, async (cluster) => {
    const idle = await runIdleScale(cluster, {
      connections: opts.connections!,
      perHolder,
      body,
      signal: io.signal,
      progress: io.progress,
    });
    checkCancelled(io.signal);
    const counters = await _counters(cluster);
    const lat = summarizeLatencies(idle.latencies);
    const sum = (xs: (number | null)[]) =>
      xs.some((x) => x === null) ? null : xs.reduce<number>((s, x) => s + x!, 0);
    const before = sum(idle.servers.map((s) => s.rssBeforeBytes));
    const after = sum(idle.servers.map((s) => s.rssAfterBytes));
    const growth = before !== null && after !== null ? after - before : null;
    const result: IdleStrategyResult = {
      strategy: run.strategy,
      backend: run.backend,
      mode: "connections",
      connections: idle.connections,
      connect_s: round(idle.connectMs / 1000, 2)!,
      delivered_per_s: null,
      deliveries: idle.latencies.length,
      p50_ms: round(lat.p50, 2),
      p95_ms: round(lat.p95, 2),
      p99_ms: round(lat.p99, 2),
      max_ms: round(lat.max, 2),
      mean_ms: round(lat.mean, 2),
      latency_samples: lat.count,
      probes_sent: idle.probesSent,
      lost: idle.lost,
      duplicated: idle.duplicated,
      disconnected: idle.disconnected,
      rss_before_mb: _mb(before),
      rss_after_mb: _mb(after),
      rss_growth_mb: _mb(growth),
      bytes_per_connection: growth !== null ? Math.round(growth / idle.connections) : null,
      ..._balance(idle.assignments, cluster),
      servers: idle.servers.map((s) => ({
        server_id: s.serverId,
        pid: s.pid,
        cpu_percent: null,
        idle_cpu_percent: null,
        rss_mb: _mb(s.rssAfterBytes),
        peak_rss_mb: _mb(s.peakBytes),
        ..._counterFields(counters.get(s.serverId)),
      })),
      server_open_fds: idle.servers.map((s) => s.openFds),
      generator_processes: idle.generatorProcesses,
      generator_open_fds: idle.generatorOpenFds,
      generator_rss_mb: _mb(idle.generatorRssBytes),
      ports: { balancer: cluster.balancerPort, servers: cluster.servers.map((s) => s.port) },
    };
    if (idle.lost > 0) failures.push(`${strategy}: ${idle.lost} probe messages lost`);
    if (idle.duplicated > 0) {
      failures.push(`${strategy}: ${idle.duplicated} probe messages duplicated on the wire`);
    }
    if (idle.disconnected > 0) {
      failures.push(`${strategy}: ${idle.disconnected} connections closed during the run`);
    }
    if (idle.latencies.length === 0) failures.push(`${strategy}: no probe message arrived`);
    return result;
  });
}

async function _counters(cluster: BenchCluster): Promise<Map<number, ServerCounters>> {
  const all = await Promise.all(cluster.servers.map((s) => fetchServerCounters(s.host, s.port)));
  return new Map(cluster.servers.map((s, i) => [s.id, all[i]!]));
}

function _counterFields(c: ServerCounters | undefined) {
  const batches = c?.storeBatches ?? null;
  const messages = c?.storeBatchMessages ?? null;
  return {
    redelivered: c?.redelivered ?? null,
    store_batches: batches,
    mean_batch_messages: batches && messages !== null ? round(messages / batches, 1) : null,
    lag_ms: c?.lagMs ?? null,
    busy_queue: c?.busyQueue ?? null,
    busy_fair_share: c?.busyFairShare ?? null,
    busy_lag: c?.busyLag ?? null,
    busy_outbound: c?.busyOutbound ?? null,
  };
}

function _checkLoad(s: string, r: LoadStrategyResult, failures: string[]): void {
  if (r.lost > 0) {
    failures.push(`${s}: ${r.lost} messages lost (${r.lost_deliveries} deliveries missing)`);
  }
  if (r.duplicated > 0) {
    const swept = r.servers.reduce((n, x) => n + (x.redelivered ?? 0), 0);
    failures.push(
      `${s}: ${r.duplicated} messages duplicated on the wire (the servers' redelivery sweep ` +
        `pushed ${swept} pending messages again; p99 latency ${r.p99_ms} ms, max ${r.max_ms} ms)`,
    );
  }
  if (r.misrouted > 0) failures.push(`${s}: ${r.misrouted} messages reached the wrong user`);
  if (r.send_errors > 0) {
    failures.push(`${s}: ${r.send_errors} sends failed (${r.error_samples.join("; ")})`);
  }
  if (r.unanswered > 0) {
    failures.push(`${s}: ${r.unanswered} sends were never answered by the end of the drain`);
  }
  if (r.disconnected > 0) failures.push(`${s}: ${r.disconnected} clients were disconnected`);
  if (r.deliveries === 0) failures.push(`${s}: no message was delivered`);
}

interface _Snapshot {
  /** When the reading was taken (the middle of the `tail` run). */
  readonly at: number;
  readonly ticks: ReadonlyMap<number, number>;
  readonly machine: MachineCpu | null;
}

async function _snapshot(
  procs: readonly ClusterProcess[],
  generatorPids: readonly number[],
): Promise<_Snapshot> {
  const t0 = performance.now();
  const { ticks, machine } = await readCpuSnapshot([...procs.map((p) => p.pid), ...generatorPids]);
  return { at: (t0 + performance.now()) / 2, ticks, machine };
}

function _machine(a: _Snapshot | null, b: _Snapshot | null) {
  const m0 = a?.machine;
  const m1 = b?.machine;
  const total = m0 && m1 ? m1.total - m0.total : 0;
  if (!m0 || !m1 || !(total > 0)) {
    return { machine_busy_percent: null, machine_iowait_percent: null };
  }
  return {
    machine_busy_percent: round(((m1.busy - m0.busy) * 100) / total),
    machine_iowait_percent: round(((m1.iowait - m0.iowait) * 100) / total),
  };
}

function _cpu(a: _Snapshot | null, b: _Snapshot | null, pid: number): number | null {
  const t0 = a?.ticks.get(pid);
  const t1 = b?.ticks.get(pid);
  if (a === null || b === null || t0 == null || t1 == null) return null;
  return cpuPercent(t1 - t0, CLOCK_TICKS_PER_SECOND, b.at - a.at);
}

function _balance(assignments: readonly number[], cluster: BenchCluster) {
  const counts: Record<string, number> = {};
  for (const s of cluster.servers) counts[String(s.id)] = 0;
  for (const id of assignments) counts[String(id)] = (counts[String(id)] ?? 0) + 1;
  const sp = spread(Object.values(counts));
  return {
    clients_per_server: counts,
    clients_per_server_min: sp.min,
    clients_per_server_max: sp.max,
    clients_per_server_stddev: round(sp.stddev, 2)!,
  };
}

function _mb(bytes: number | null): number | null {
  return bytes === null ? null : round(bytes / (1024 * 1024), 1);
}

/** How a run is named in progress lines and failures: `load/postgres`, `load/sqlite@100/s`. */
function _label(run: _Run): string {
  const name = `${run.strategy}/${run.backend}`;
  return run.showRate && run.rate !== null ? `${name}@${run.rate}/s` : name;
}

/** The sum of `values`; null when any is unknown. */
function _sum(values: readonly (number | null)[]): number | null {
  return values.some((v) => v === null) ? null : values.reduce<number>((s, v) => s + v!, 0);
}

/**
 * CPU time per event in microseconds, from a CPU share (% of one core, summed over processes)
 * and an event rate; null when either is unknown or the rate is 0.
 */
export function cpuMicrosPer(cpuPercent: number | null, perSecond: number | null): number | null {
  if (cpuPercent === null || perSecond === null || !Number.isFinite(cpuPercent)) return null;
  if (!(perSecond > 0)) return null;
  return round((cpuPercent / 100) * 1e6 / perSecond, 1);
}
