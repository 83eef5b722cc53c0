/**
 * `fastchat balance`: runs the load balancer that tells new clients which chat server to
 * connect to. Thin: parses flags, opens the store, hands over to `core/balancer/` and, once
 * it listens, registers the servers of the servers file.
 *
 * @module
 */

import { embeddedWebAssets } from "../core/balancer/embedded_web.ts";
import { parseArgs } from "node:util";
import { dirname } from "node:path";
import { type Command, UsageError } from "./command.ts";
import { isStrategy, startBalancer, STRATEGIES } from "../core/balancer/mod.ts";
import { readServersFile, ServersFileError } from "../core/cluster/servers_file.ts";
import { untilStopped } from "../core/cluster/until_stopped.ts";
import { parseLogLevel } from "../core/log/logger.ts";
import { DB_ENV, dbLocation, openStore, storeBackend } from "../core/store/open_store.ts";

const _USAGE = `Usage: fastchat balance --strategy STRATEGY [options]

Runs the load balancer. Clients call GET /assign to get the WebSocket URL of a live chat
server; GET / shows the servers and their load, GET /metrics exports Prometheus metrics.

Options:
  --strategy STRATEGY  How to pick a server (required): ${STRATEGIES.join(", ")}
                         load         least loaded: clients + 10 x event-loop lag (ms)
                         random       uniformly random live server
                         round-robin  live servers in turn by ID
  --port PORT          Port to listen on (default 7100; 0 picks a free port)
  --host HOST          Address to listen on (default 127.0.0.1)
  --servers FILE       Servers file, "ID HOST PORT" per line (default ./servers.txt)
  --db DB              The main database shared with the servers: a SQLite file or a
                       postgres:// URL (default ./data/fastchat.db; ${DB_ENV} gives it
                       too). Several balancers may share one database.
  --log-level LEVEL    debug, info, warn or error (default info); at warn or error the
                       "listening" line is left out (fastchat up passes warn)
  -h, --help           Show this help`;

/** `fastchat balance`. */
export const balanceCommand: Command = {
  name: "balance",
  summary: "Run the load balancer that assigns clients to chat servers",
  run: _run,
};

async function _run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        strategy: { type: "string" },
        port: { type: "string", default: "7100" },
        host: { type: "string", default: "127.0.0.1" },
        servers: { type: "string", default: "./servers.txt" },
        db: { type: "string" },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    console.log(_USAGE);
    return 0;
  }
  const strategy = values.strategy;
  if (strategy === undefined) {
    throw new UsageError(`Missing --strategy; expected one of: ${STRATEGIES.join(", ")}`);
  }
  if (!isStrategy(strategy)) {
    throw new UsageError(
      `Unknown strategy "${strategy}"; expected one of: ${STRATEGIES.join(", ")}`,
    );
  }
  const port = /^[0-9]{1,5}$/.test(values.port) ? Number(values.port) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new UsageError(`Invalid --port "${values.port}"; expected a port from 0 to 65535`);
  }
  if (values.host === "") throw new UsageError("Empty --host; expected an address to listen on");
  let logLevel;
  try {
    logLevel = parseLogLevel(values["log-level"]);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  let entries;
  try {
    entries = await readServersFile(values.servers);
  } catch (err) {
    if (err instanceof ServersFileError) {
      console.error(`fastchat balance: ${err.message}`);
      return 1;
    }
    throw err;
  }

  const db = dbLocation(values.db);
  if (storeBackend(db) === "sqlite") await Deno.mkdir(dirname(db), { recursive: true });
  const store = await openStore(db, { applicationName: "fastchat-balancer", poolSize: 2 });
  try {
    let balancer;
    try {
      balancer = await startBalancer({
        strategy,
        port,
        host: values.host,
        store,
        web: embeddedWebAssets(),
      });
    } catch (err) {
      if (err instanceof Deno.errors.AddrInUse || err instanceof Deno.errors.PermissionDenied) {
        console.error(`fastchat balance: cannot listen on ${values.host}:${port}: ${err.message}`);
        return 1;
      }
      throw err;
    }
    try {
      // Only now, owning the port, so a balancer that cannot start writes nothing; up front
      // of "listening" so GET / lists every server before it first reports.
      for (const entry of entries) await store.upsertServer(entry);
    } catch (err) {
      await balancer.close();
      throw err;
    }
    const host = balancer.host.includes(":") ? `[${balancer.host}]` : balancer.host;
    if (logLevel === "debug" || logLevel === "info") {
      console.log(`balancer listening on http://${host}:${balancer.port} strategy=${strategy}`);
    }

    if (await untilStopped() === "supervisor_gone") {
      console.error("fastchat balance: stopping: its supervisor (fastchat up) is gone");
    }
    await balancer.close();
    return 0;
  } finally {
    await store.close();
  }
}
