/**
 * `fastchat balance`: runs the load balancer that tells new clients which chat server to
 * connect to. Thin: parses flags, opens the store, hands over to `core/balancer/` and, once
 * it listens, registers the servers of the servers file.
 *
 * @module
 */

import { embeddedWebAssets } from "../core/balancer/embedded_web.ts";
import { dirname } from "node:path";
import type { Command } from "./command.ts";
import { choiceFlag, parseFlags, portFlag, textFlag } from "./flags.ts";
import { startBalancer, STRATEGIES } from "../core/balancer/mod.ts";
import { readServersFile, ServersFileError } from "../core/cluster/servers_file.ts";
import { untilStopped } from "../core/cluster/until_stopped.ts";
import { LOG_LEVELS } from "../core/log/logger.ts";
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
  const values = parseFlags(args, {
    strategy: { type: "string" },
    port: { type: "string" },
    host: { type: "string" },
    servers: { type: "string", default: "./servers.txt" },
    db: { type: "string" },
    "log-level": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(_USAGE);
    return 0;
  }
  const strategy = choiceFlag("--strategy", values.strategy, STRATEGIES);
  const port = portFlag("--port", values.port, { allowZero: true, fallback: 7100 });
  const host = textFlag("--host", values.host, "an address to listen on", {
    fallback: "127.0.0.1",
  });
  const logLevel = choiceFlag("--log-level", values["log-level"], LOG_LEVELS, {
    fallback: "info",
  });

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
        host,
        store,
        web: embeddedWebAssets(),
      });
    } catch (err) {
      if (err instanceof Deno.errors.AddrInUse || err instanceof Deno.errors.PermissionDenied) {
        console.error(`fastchat balance: cannot listen on ${host}:${port}: ${err.message}`);
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
    const shown = balancer.host.includes(":") ? `[${balancer.host}]` : balancer.host;
    if (logLevel === "debug" || logLevel === "info") {
      console.log(`balancer listening on http://${shown}:${balancer.port} strategy=${strategy}`);
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
