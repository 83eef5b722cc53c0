/**
 * `fastchat up`: the balancer and every server of servers.txt as child processes on one
 * main database: embedded SQLite by default (the README's "run it" command), or PostgreSQL
 * with `--db postgres://...`.
 *
 * @module
 */

import { STRATEGIES } from "../core/balancer/strategy.ts";
import { readServersFile } from "../core/cluster/servers_file.ts";
import { startCluster } from "../core/cluster/supervisor.ts";
import { upSummaryLines } from "../core/cluster/up_summary.ts";
import { PASSWORD_N_RANGE } from "../core/crypto/password.ts";
import { LOG_LEVELS } from "../core/log/logger.ts";
import { redactUrl } from "../core/store/postgres/driver.ts";
import { DB_ENV, storeBackend } from "../core/store/open_store.ts";
import { type Command, UsageError } from "./command.ts";
import {
  choiceFlag,
  originsFlag,
  parseFlags,
  portFlag,
  scryptCostFlag,
  textFlag,
} from "./flags.ts";

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
  --strategy S           ${STRATEGIES.join(", ")} (default load)
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
    const values = parseFlags(args, {
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
    });
    if (values.help) {
      console.log(_USAGE);
      return 0;
    }
    const strategy = choiceFlag("--strategy", values.strategy, STRATEGIES, { fallback: "load" });
    const port = portFlag("--balancer-port", values["balancer-port"], { fallback: 7100 });
    const balancerHost = textFlag(
      "--balancer-host",
      values["balancer-host"],
      "an address to listen on",
      {
        fallback: "127.0.0.1",
      },
    );
    const allowedOrigins = originsFlag("--allowed-origins", values["allowed-origins"]);
    if (values.verbose && values["log-level"] !== undefined) {
      throw new UsageError("Give --log-level or --verbose, not both");
    }
    const logLevel = choiceFlag("--log-level", values["log-level"], LOG_LEVELS, {
      fallback: values.verbose ? "info" : "warn",
    });
    const scryptN = scryptCostFlag("--scrypt-n", values["scrypt-n"], PASSWORD_N_RANGE);
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
      balancerHost,
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
