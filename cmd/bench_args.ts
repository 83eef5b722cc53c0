/**
 * `fastchat bench` command line: parsing and validation into a
 * {@linkcode BenchCommandLine}, kept pure so every rule and message is unit-tested. A bad
 * value is a {@linkcode UsageError} naming the option, what was given and what is expected.
 *
 * @module
 */

import {
  BENCH_STRATEGIES,
  type BenchOptions,
  type BenchStrategy,
  defaultGenerators,
  MAX_CLIENTS,
  MAX_CONNECTIONS,
  MAX_GENERATORS,
  MAX_RATES,
  type MessageMix,
  RATE_RANGE,
} from "../core/bench/options.ts";
import type { StoreBackend } from "../core/store/open_store.ts";
import { UsageError } from "./command.ts";
import { choiceFlag, intFlag, numberFlag, parseFlags, portFlag, textFlag } from "./flags.ts";

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
  | { readonly kind: "generate"; readonly slice: number }
  | { readonly kind: "run"; readonly options: BenchOptions };

/** The usage text of `fastchat bench`. */
export const BENCH_USAGE = `Usage: fastchat bench [options]

Starts its own cluster (balancer + N servers on a fresh main database) for each strategy,
store backend and rate, connects simulated clients through the balancer with the real protocol,
measures the servers' idle CPU per connected client for 2 s, sends real Fernet ciphertexts, and
reports throughput, end-to-end latency, balance, server CPU and memory, and lost or duplicated
messages (either one makes it exit 1).

Users register with a cheap scrypt cost (N=1024): registration is not what is measured.

Options:
  --servers N            Chat server processes (default 3)
  --clients M            Simulated clients (default 200)
  --duration S           Measured seconds (default 10)
  --warmup S             Seconds of load before measuring (default 2)
  --strategy S           ${BENCH_STRATEGIES.join(", ")} or all (default load)
  --backend B            sqlite, postgres or both: the main database every strategy runs
                         on, side by side in one run (default sqlite). Both are durable:
                         SQLite fsyncs every commit, PostgreSQL flushes its WAL
  --db URL               With postgres: benchmark on this server (postgres://...; its user
                         must be allowed to create databases; each run gets a fresh one,
                         dropped afterwards). Without it, a throw-away PostgreSQL is
                         started (needs Debian's postgresql package)
  --mix dm=A,group=B     Share of direct and group messages (default dm=80,group=20)
  --group-size K         Members per group (default 10)
  --rate R[,R2...]       Open loop: R messages per second in total, spread over clients.
                         A list (up to ${MAX_RATES}, e.g. 100,1000,3000) runs each rate in turn,
                         each on a fresh cluster per strategy and backend, and adds a cost
                         curve: server CPU per message and latency from idle to saturation
  --window W             Closed loop: W messages in flight per client (default 8)
  --message-bytes B      Plaintext bytes per message (default 200)
  --generators G         Load generator processes (1 to ${MAX_GENERATORS}; default 1): each
                         drives a contiguous slice of the
                         clients with its share of the rate (or window), so one process's
                         event loop is not inside every latency; 1 runs the load in this
                         process. Users are registered here once; gen CPU% sums them all
  --baseline             Also measure a bare WebSocket echo server with the same load
                         (with one --rate at most)
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
      throw new UsageError(
        `--mix must be KIND=SHARE pairs separated by commas (e.g. dm=80,group=20), got "${text}"`,
      );
    }
    const [, kind, share] = m as unknown as [string, string, string];
    if (kind !== "dm" && kind !== "group") {
      throw new UsageError(`--mix has an unknown kind "${kind}"; expected dm or group`);
    }
    if (shares.has(kind)) throw new UsageError(`--mix names "${kind}" twice`);
    shares.set(kind, Number(share));
  }
  const dm = shares.get("dm") ?? 0;
  const group = shares.get("group") ?? 0;
  const total = dm + group;
  if (!(total > 0)) {
    throw new UsageError(`--mix must give a share above 0 to dm or group, got "${text}"`);
  }
  return { dm: dm / total, group: group / total };
}

/**
 * Parses a `--rate` value: one rate (`2500`, checked as before) or a comma-separated list
 * of up to {@linkcode MAX_RATES} distinct rates (`100,1000,3000`), kept in the order given.
 *
 * @throws {UsageError} On an empty item, a non-number, a rate out of range, a rate given
 *   twice, or too many rates.
 */
export function parseRates(text: string): number[] {
  const range = { min: RATE_RANGE.min, max: RATE_RANGE.max };
  if (!text.includes(",")) return [numberFlag("--rate", text, range)];
  const items = text.split(",").map((item) => item.trim());
  if (items.some((item) => item === "")) {
    throw new UsageError(
      `--rate has an empty item in "${text}"; expected rates separated by commas, such as 100,1000,3000`,
    );
  }
  if (items.length > MAX_RATES) {
    throw new UsageError(
      `--rate lists ${items.length} rates, got "${text}"; expected at most ${MAX_RATES}`,
    );
  }
  const rates: number[] = [];
  for (const item of items) {
    const n = /^[0-9]{1,9}(\.[0-9]{1,6})?$/.test(item) ? Number(item) : NaN;
    if (!(n >= range.min && n <= range.max)) {
      throw new UsageError(
        `--rate must list numbers from ${range.min} to ${range.max}, got "${item}" in "${text}"`,
      );
    }
    if (rates.includes(n)) {
      throw new UsageError(`--rate lists ${n} twice in "${text}"; expected each rate once`);
    }
    rates.push(n);
  }
  return rates;
}

/** Parses `fastchat bench` arguments (after the command name). */
export function parseBenchArgs(args: readonly string[]): BenchCommandLine {
  const values = parseFlags(args, {
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
    generate: { type: "string" },
    generators: { type: "string" },
    balancer: { type: "string" },
    prefix: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return { kind: "help" };
  if (values["echo-server"] !== undefined) {
    if (Object.keys(values).length > 1) {
      throw new UsageError("--echo-server runs alone; it takes no other option");
    }
    return { kind: "echo_server", port: portFlag("--echo-server", values["echo-server"]) };
  }
  if (values.hold !== undefined) return _holdLine(values);
  if (values.generate !== undefined) {
    if (Object.keys(values).length > 1) {
      throw new UsageError("--generate runs alone; it takes no other option");
    }
    return {
      kind: "generate",
      slice: intFlag("--generate", values.generate, { min: 0, max: MAX_GENERATORS - 1 }),
    };
  }
  if (values.balancer !== undefined || values.prefix !== undefined) {
    throw new UsageError("--balancer and --prefix belong to --hold");
  }

  const clients = intFlag("--clients", values.clients, { min: 2, max: MAX_CLIENTS, fallback: 200 });
  const mix = values.mix === undefined ? { dm: 0.8, group: 0.2 } : parseMix(values.mix);
  const groupSize = intFlag("--group-size", values["group-size"], {
    min: 2,
    max: 256,
    fallback: 10,
  });
  if (mix.group > 0 && groupSize > clients) {
    throw new UsageError(
      `--group-size must be at most --clients (${clients}) when the mix has group messages, got ${groupSize}`,
    );
  }
  if (values.rate !== undefined && values.window !== undefined) {
    throw new UsageError(
      "--rate (open loop) and --window (closed loop) exclude each other; give one",
    );
  }
  const rates = values.rate === undefined ? null : parseRates(values.rate);
  if (rates !== null && rates.length > 1 && values.baseline) {
    throw new UsageError(
      "--baseline measures one load; give a single --rate with it, not a list",
    );
  }
  const connections = values.connections === undefined
    ? null
    : intFlag("--connections", values.connections, { min: 2, max: MAX_CONNECTIONS });
  if (connections !== null && values.baseline) {
    throw new UsageError(
      "--baseline measures message throughput; it does not apply with --connections",
    );
  }
  if (values.generators !== undefined && connections !== null) {
    throw new UsageError(
      "--generators spreads the message load; it does not apply with --connections",
    );
  }
  // Idle-scale mode has its own connection holders; the load runs in generator processes.
  const generators = connections !== null
    ? 1
    : values.generators === undefined
    ? defaultGenerators(clients)
    : intFlag("--generators", values.generators, { min: 1, max: MAX_GENERATORS });
  if (generators > clients / 2) {
    throw new UsageError(
      `--generators must leave each generator at least 2 clients (--clients ${clients}), got ${generators}`,
    );
  }
  const report = values.report === undefined
    ? null
    : textFlag("--report", values.report, "a file name");
  const backends = _backends(
    choiceFlag("--backend", values.backend, ["sqlite", "postgres", "both"], {
      fallback: "sqlite",
    }),
  );
  if (values.db !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(values.db)) {
      throw new UsageError(`--db must be a postgres:// URL, got "${values.db}"`);
    }
    if (!backends.includes("postgres")) {
      throw new UsageError("--db applies to PostgreSQL; add --backend postgres or both");
    }
  }
  return {
    kind: "run",
    options: {
      servers: intFlag("--servers", values.servers, { min: 1, max: 32, fallback: 3 }),
      clients,
      durationS: numberFlag("--duration", values.duration, { min: 0.1, max: 3600, fallback: 10 }),
      warmupS: numberFlag("--warmup", values.warmup, { min: 0, max: 600, fallback: 2 }),
      strategies: _strategies(
        choiceFlag("--strategy", values.strategy, [...BENCH_STRATEGIES, "all"], {
          fallback: "load",
        }),
      ),
      backends,
      pgUrl: values.db ?? null,
      mix,
      groupSize,
      rates,
      window: intFlag("--window", values.window, { min: 1, max: 1024, fallback: 8 }),
      messageBytes: intFlag("--message-bytes", values["message-bytes"], {
        min: 1,
        max: 65_536,
        fallback: 200,
      }),
      baseline: values.baseline ?? false,
      connections,
      generators,
      json: values.json ?? false,
      report,
    },
  };
}

/** The hidden holder mode: `--hold N --balancer URL --prefix P` and nothing else. */
function _holdLine(values: Record<string, unknown>): BenchCommandLine {
  const extra = Object.keys(values).filter((k) => !["hold", "balancer", "prefix"].includes(k));
  if (extra.length > 0) {
    throw new UsageError(`--hold takes only --balancer and --prefix, got --${extra[0]}`);
  }
  const balancerUrl = String(values.balancer ?? "");
  if (!/^https?:\/\/[^/]+\/?$/.test(balancerUrl)) {
    throw new UsageError(
      `--hold needs --balancer http://HOST:PORT, got "${balancerUrl}"`,
    );
  }
  const prefix = String(values.prefix ?? "");
  if (!/^[A-Za-z][A-Za-z0-9]{0,15}$/.test(prefix)) {
    throw new UsageError(
      `--prefix must be 1 to 16 letters and digits starting with a letter, got "${prefix}"`,
    );
  }
  return {
    kind: "hold",
    count: intFlag("--hold", String(values.hold), { min: 1, max: MAX_CONNECTIONS }),
    balancerUrl,
    prefix,
  };
}

function _backends(choice: StoreBackend | "both"): StoreBackend[] {
  return choice === "both" ? ["sqlite", "postgres"] : [choice];
}

function _strategies(choice: BenchStrategy | "all"): BenchStrategy[] {
  return choice === "all" ? [...BENCH_STRATEGIES] : [choice];
}
