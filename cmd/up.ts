/**
 * `fastchat up`: the balancer and every server of servers.txt as child processes on one
 * main database: embedded SQLite by default (the README's "run it" command), or PostgreSQL
 * with `--db postgres://...`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { readServersFile } from "../core/cluster/servers_file.ts";
import { startCluster } from "../core/cluster/supervisor.ts";
import { upSummaryLines } from "../core/cluster/up_summary.ts";
import { parseLogLevel } from "../core/log/logger.ts";
import { redactUrl } from "../core/store/postgres_driver.ts";
import { DB_ENV, storeBackend } from "../core/store/open_store.ts";
import { OriginError, parseOrigins } from "../core/ws/origin.ts";
import { type Command, UsageError } from "./command.ts";

const _STRATEGIES = ["load", "random", "round-robin"];

const _USAGE = `Usage: fastchat up [options]

Starts the load balancer and every server in the servers file as child processes sharing
one main database: a SQLite file in the data directory, or PostgreSQL with --db; stops
them all on Ctrl-C or SIGTERM. Refuses to start while another fastchat up holds the data
directory (DIR/up.lock) or any of the ports. Once every process is healthy it prints where
clients connect and each process's ID; the children log only warnings and errors unless
--verbose or --log-level says otherwise.

Options:
  --servers FILE         Servers file (default ./servers.txt)
  --data DIR             Cluster secret and SQLite database directory (default ./data)
  --db DB                The main database instead: a SQLite path or a postgres:// URL
                         (${DB_ENV} gives it too)
  --strategy S           load, random or round-robin (default load)
  --balancer-port P      Balancer port (default 7100)
  --balancer-host H      Balancer address (default 127.0.0.1)
  --allowed-origins LIST Web pages that may connect to the servers besides the
                         balancer's own (http://127.0.0.1:P, http://localhost:P and
                         http://H:P, always allowed): comma-separated origins such as
                         https://chat.example.org
  --log-level LEVEL      The children's log level: debug, info, warn or error (default
                         warn: start-up and routine events are not shown)
  -v, --verbose          The same as --log-level info
  --scrypt-n N           scrypt cost for new passwords (default 32768; tests use less)
  -h, --help             Show this help`;

/** `fastchat up`. */
export const upCommand: Command = {
  name: "up",
  summary: "Start a local cluster: balancer + all servers on one embedded database",
  async run(args) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          servers: { type: "string" },
          data: { type: "string" },
          db: { type: "string" },
          strategy: { type: "string" },
          "balancer-port": { type: "string" },
          "balancer-host": { type: "string" },
          "allowed-origins": { type: "string" },
          "log-level": { type: "string" },
          verbose: { type: "boolean", short: "v" },
          "scrypt-n": { type: "string" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
        allowPositionals: false,
      }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (values.help) {
      console.log(_USAGE);
      return 0;
    }
    const strategy = values.strategy ?? "load";
    if (!_STRATEGIES.includes(strategy)) {
      throw new UsageError(
        `--strategy must be one of ${_STRATEGIES.join(", ")}, got "${strategy}"`,
      );
    }
    const port = Number(values["balancer-port"] ?? "7100");
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new UsageError(
        `--balancer-port must be a port from 1 to 65535, got "${values["balancer-port"]}"`,
      );
    }
    let allowedOrigins: string[];
    try {
      allowedOrigins = parseOrigins(values["allowed-origins"] ?? "");
    } catch (err) {
      if (!(err instanceof OriginError)) throw err;
      throw new UsageError(`--allowed-origins: ${err.message}`);
    }
    if (values.verbose && values["log-level"] !== undefined) {
      throw new UsageError("give --log-level or --verbose, not both");
    }
    let logLevel;
    try {
      logLevel = parseLogLevel(values["log-level"] ?? (values.verbose ? "info" : "warn"));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const scryptN = values["scrypt-n"] !== undefined ? Number(values["scrypt-n"]) : undefined;
    if (
      scryptN !== undefined &&
      (!Number.isSafeInteger(scryptN) || scryptN < 2 || (scryptN & (scryptN - 1)) !== 0)
    ) {
      throw new UsageError(`--scrypt-n must be a power of two, got "${values["scrypt-n"]}"`);
    }
    const serversFile = values.servers ?? "./servers.txt";
    const servers = await readServersFile(serversFile);
    const dataDir = values.data ?? "./data";
    const envDb = Deno.env.get(DB_ENV);
    const db = values.db ?? (envDb ? envDb : undefined);
    if (db !== undefined) storeBackend(db); // an empty value fails here, with one line
    const cluster = await startCluster({
      servers,
      serversFile,
      dataDir,
      db,
      strategy,
      balancerHost: values["balancer-host"] ?? "127.0.0.1",
      balancerPort: port,
      logLevel,
      scryptN,
      allowedOrigins,
    });
    // Last, after every child answered its health check, so it is not lost among their lines.
    const summary = upSummaryLines({
      servers,
      strategy,
      balancerUrl: cluster.balancerUrl,
      processes: cluster.processes(),
      dataDir,
      database: storeBackend(cluster.db) === "postgres" ? redactUrl(cluster.db) : cluster.db,
      quiet: logLevel === "warn" || logLevel === "error",
    });
    console.log(summary.join("\n"));
    const onSignal = () => void cluster.stop();
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
    await cluster.finished;
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    console.log("FastChat stopped.");
    return 0;
  },
};
