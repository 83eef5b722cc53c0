/**
 * `fastchat bench` command-line options: parsing (`node:util` `parseArgs`) and validation,
 * kept pure so every rule and message is unit-tested. A bad value is reported with the
 * option's name, what was given and what is expected, as {@linkcode BenchUsageError}.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { StoreBackend } from "../store/open_store.ts";

/** A balancing strategy the benchmark can run. */
export type BenchStrategy = "load" | "random" | "round-robin";

/** Every strategy, in the order `--strategy all` runs them. */
export const BENCH_STRATEGIES: readonly BenchStrategy[] = ["load", "random", "round-robin"];

/** The share of direct and group messages, as fractions that sum to 1. */
export interface MessageMix {
  /** Share of direct messages, 0 to 1. */
  readonly dm: number;
  /** Share of group messages, 0 to 1. */
  readonly group: number;
}

/** A validated benchmark configuration. */
export interface BenchOptions {
  /** Chat server processes per cluster. */
  readonly servers: number;
  /** Simulated clients (load mode). */
  readonly clients: number;
  /** Measured seconds, after the warm-up. */
  readonly durationS: number;
  /** Seconds of load before measuring (excluded from the statistics). */
  readonly warmupS: number;
  /** The strategies to run, each on its own cluster. */
  readonly strategies: readonly BenchStrategy[];
  /** The store backends to run every strategy on, in order. */
  readonly backends: readonly StoreBackend[];
  /**
   * A PostgreSQL server to benchmark on (a postgres:// URL whose user may create
   * databases); null: the benchmark starts a throw-away PostgreSQL of its own.
   */
  readonly pgUrl: string | null;
  /** How the messages divide between direct and group (`--mix`). */
  readonly mix: MessageMix;
  /** Members per group (the admin included). */
  readonly groupSize: number;
  /** Open loop: total messages per second; null for the closed loop. */
  readonly rate: number | null;
  /** Closed loop: messages in flight per client. */
  readonly window: number;
  /** Plaintext bytes per message (each body is a real Fernet token of this much). */
  readonly messageBytes: number;
  /** Also measure the raw WebSocket echo ceiling. */
  readonly baseline: boolean;
  /** Idle-scale mode: open this many authenticated connections; null for load mode. */
  readonly connections: number | null;
  /** Print one JSON object on stdout instead of a table. */
  readonly json: boolean;
  /** Write an HTML report with SVG charts to this file. */
  readonly report: string | null;
}

/** What the command line asks for. */
export type BenchCommandLine =
  | { readonly kind: "help" }
  | { readonly kind: "echo_server"; readonly port: number }
  | {
    readonly kind: "hold";
    readonly count: number;
    readonly balancerUrl: string;
    readonly prefix: string;
  }
  | { readonly kind: "run"; readonly options: BenchOptions };

/** Bad `fastchat bench` usage; the message says which option, what was given and what is expected. */
export class BenchUsageError extends Error {
  /** Stable code for callers. */
  readonly code = "usage";
  /** `message` says which option, what was given and what is expected. */
  constructor(message: string) {
    super(message);
    this.name = "BenchUsageError";
  }
}

/** Most simulated clients or connections one generator process opens. */
export const MAX_CLIENTS = 10_000;
/** Most idle connections (`--connections`); the open-file limit is checked at run time too. */
export const MAX_CONNECTIONS = 50_000;

/** The usage text of `fastchat bench`. */
export const BENCH_USAGE = `Usage: fastchat bench [options]

Starts its own cluster (balancer + N servers on a fresh main database) for each strategy
and store backend, connects simulated clients through the balancer with the real protocol, sends
real Fernet ciphertexts, and reports throughput, end-to-end latency, balance, server CPU
and memory, and lost or duplicated messages (either one makes it exit 1).

Users register with a cheap scrypt cost (N=1024): registration is not what is measured.

Options:
  --servers N            Chat server processes (default 3)
  --clients M            Simulated clients (default 200)
  --duration S           Measured seconds (default 10)
  --warmup S             Seconds of load before measuring (default 2)
  --strategy S           load, random, round-robin or all (default load)
  --backend B            sqlite, postgres or both: the main database every strategy runs
                         on, side by side in one run (default sqlite). Both are durable:
                         SQLite fsyncs every commit, PostgreSQL flushes its WAL
  --db URL               With postgres: benchmark on this server (postgres://...; its user
                         must be allowed to create databases; each run gets a fresh one,
                         dropped afterwards). Without it, a throw-away PostgreSQL is
                         started (needs Debian's postgresql package)
  --mix dm=A,group=B     Share of direct and group messages (default dm=80,group=20)
  --group-size K         Members per group (default 10)
  --rate R               Open loop: R messages per second in total, spread over clients
  --window W             Closed loop: W messages in flight per client (default 8)
  --message-bytes B      Plaintext bytes per message (default 200)
  --baseline             Also measure a bare WebSocket echo server with the same load
  --connections C        Idle-scale mode: C authenticated connections (up to 50,000; past
                         500 they are held by extra generator processes, up to 15,000
                         each); report server memory per connection and the latency of
                         200 direct messages through them
  --json                 Print one JSON object on stdout (progress goes to stderr)
  --report FILE          Write an HTML report with SVG charts
  -h, --help             Show this help`;

/** Parses a `--mix` value such as `dm=80,group=20` into fractions that sum to 1. */
export function parseMix(text: string): MessageMix {
  const shares = new Map<string, number>();
  for (const part of text.split(",")) {
    const m = /^\s*([a-z]+)\s*=\s*([0-9]+(?:\.[0-9]+)?)\s*$/.exec(part);
    if (!m) {
      throw new BenchUsageError(
        `--mix must be KIND=SHARE pairs separated by commas (e.g. dm=80,group=20), got "${text}"`,
      );
    }
    const [, kind, share] = m as unknown as [string, string, string];
    if (kind !== "dm" && kind !== "group") {
      throw new BenchUsageError(`--mix has an unknown kind "${kind}"; expected dm or group`);
    }
    if (shares.has(kind)) throw new BenchUsageError(`--mix names "${kind}" twice`);
    shares.set(kind, Number(share));
  }
  const dm = shares.get("dm") ?? 0;
  const group = shares.get("group") ?? 0;
  const total = dm + group;
  if (!(total > 0)) {
    throw new BenchUsageError(`--mix must give a share above 0 to dm or group, got "${text}"`);
  }
  return { dm: dm / total, group: group / total };
}

/** Parses `fastchat bench` arguments (after the command name). */
export function parseBenchArgs(args: readonly string[]): BenchCommandLine {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        servers: { type: "string" },
        clients: { type: "string" },
        duration: { type: "string" },
        warmup: { type: "string" },
        strategy: { type: "string" },
        backend: { type: "string" },
        db: { type: "string" },
        mix: { type: "string" },
        "group-size": { type: "string" },
        rate: { type: "string" },
        window: { type: "string" },
        "message-bytes": { type: "string" },
        baseline: { type: "boolean" },
        connections: { type: "string" },
        json: { type: "boolean" },
        report: { type: "string" },
        "echo-server": { type: "string" },
        hold: { type: "string" },
        balancer: { type: "string" },
        prefix: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new BenchUsageError((err as Error).message);
  }
  if (values.help) return { kind: "help" };
  if (values["echo-server"] !== undefined) {
    if (Object.keys(values).length > 1) {
      throw new BenchUsageError("--echo-server runs alone; it takes no other option");
    }
    return { kind: "echo_server", port: _int(values["echo-server"], "--echo-server", 1, 65535) };
  }
  if (values.hold !== undefined) return _holdLine(values);
  if (values.balancer !== undefined || values.prefix !== undefined) {
    throw new BenchUsageError("--balancer and --prefix belong to --hold");
  }

  const clients = _int(values.clients, "--clients", 2, MAX_CLIENTS, 200);
  const mix = values.mix === undefined ? { dm: 0.8, group: 0.2 } : parseMix(values.mix);
  const groupSize = _int(values["group-size"], "--group-size", 2, 256, 10);
  if (mix.group > 0 && groupSize > clients) {
    throw new BenchUsageError(
      `--group-size must be at most --clients (${clients}) when the mix has group messages, got ${groupSize}`,
    );
  }
  if (values.rate !== undefined && values.window !== undefined) {
    throw new BenchUsageError(
      "--rate (open loop) and --window (closed loop) exclude each other; give one",
    );
  }
  const connections = values.connections === undefined
    ? null
    : _int(values.connections, "--connections", 2, MAX_CONNECTIONS);
  if (connections !== null && values.baseline) {
    throw new BenchUsageError(
      "--baseline measures message throughput; it does not apply with --connections",
    );
  }
  if (values.report === "") throw new BenchUsageError("--report needs a file name");
  const backends = _backends(values.backend ?? "sqlite");
  if (values.db !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(values.db)) {
      throw new BenchUsageError(`--db must be a postgres:// URL, got "${values.db}"`);
    }
    if (!backends.includes("postgres")) {
      throw new BenchUsageError("--db applies to PostgreSQL; add --backend postgres or both");
    }
  }
  return {
    kind: "run",
    options: {
      servers: _int(values.servers, "--servers", 1, 32, 3),
      clients,
      durationS: _number(values.duration, "--duration", 0.1, 3600, 10),
      warmupS: _number(values.warmup, "--warmup", 0, 600, 2),
      strategies: _strategies(values.strategy ?? "load"),
      backends,
      pgUrl: values.db ?? null,
      mix,
      groupSize,
      rate: values.rate === undefined ? null : _number(values.rate, "--rate", 0.1, 1_000_000),
      window: _int(values.window, "--window", 1, 1024, 8),
      messageBytes: _int(values["message-bytes"], "--message-bytes", 1, 65_536, 200),
      baseline: values.baseline ?? false,
      connections,
      json: values.json ?? false,
      report: values.report ?? null,
    },
  };
}

/** The hidden holder mode: `--hold N --balancer URL --prefix P` and nothing else. */
function _holdLine(values: Record<string, unknown>): BenchCommandLine {
  const extra = Object.keys(values).filter((k) => !["hold", "balancer", "prefix"].includes(k));
  if (extra.length > 0) {
    throw new BenchUsageError(`--hold takes only --balancer and --prefix, got --${extra[0]}`);
  }
  const balancerUrl = String(values.balancer ?? "");
  if (!/^https?:\/\/[^/]+\/?$/.test(balancerUrl)) {
    throw new BenchUsageError(
      `--hold needs --balancer http://HOST:PORT, got "${balancerUrl}"`,
    );
  }
  const prefix = String(values.prefix ?? "");
  if (!/^[A-Za-z][A-Za-z0-9]{0,15}$/.test(prefix)) {
    throw new BenchUsageError(
      `--prefix must be 1 to 16 letters and digits starting with a letter, got "${prefix}"`,
    );
  }
  return {
    kind: "hold",
    count: _int(String(values.hold), "--hold", 1, MAX_CONNECTIONS),
    balancerUrl,
    prefix,
  };
}

function _backends(text: string): StoreBackend[] {
  if (text === "both") return ["sqlite", "postgres"];
  if (text === "sqlite" || text === "postgres") return [text];
  throw new BenchUsageError(`--backend must be sqlite, postgres or both, got "${text}"`);
}

function _strategies(text: string): BenchStrategy[] {
  if (text === "all") return [...BENCH_STRATEGIES];
  if ((BENCH_STRATEGIES as readonly string[]).includes(text)) return [text as BenchStrategy];
  throw new BenchUsageError(
    `--strategy must be one of ${BENCH_STRATEGIES.join(", ")} or all, got "${text}"`,
  );
}

function _int(
  text: string | undefined,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number {
  if (text === undefined && fallback !== undefined) return fallback;
  const n = text !== undefined && /^[0-9]{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) {
    throw new BenchUsageError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

function _number(
  text: string | undefined,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number {
  if (text === undefined && fallback !== undefined) return fallback;
  const n = text !== undefined && /^[0-9]{1,9}(\.[0-9]{1,6})?$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) {
    throw new BenchUsageError(`${name} must be a number from ${min} to ${max}, got "${text}"`);
  }
  return n;
}
