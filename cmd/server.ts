/**
 * `fastchat server --id N`: one chat server of the cluster described by servers.txt.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { readServersFile } from "../core/cluster/servers_file.ts";
import { loadClusterSecret, SECRET_ENV } from "../core/cluster/secret.ts";
import { untilStopped } from "../core/cluster/until_stopped.ts";
import { createLogger, parseLogLevel } from "../core/log/logger.ts";
import type { Quotas } from "../core/server/quotas.ts";
import { startServer } from "../core/server/serve.ts";
import { DB_ENV, dbLocation, openStore, storeBackend } from "../core/store/open_store.ts";
import { OriginError, parseOrigins } from "../core/ws/origin.ts";
import { type Command, UsageError } from "./command.ts";

const _USAGE = `Usage: fastchat server --id N [options]

Runs chat server N from the servers file: clients connect to ws://HOST:PORT/ws, peers
to /peer; GET /healthz and GET /metrics (Prometheus) report its state.

Options:
  --id N              This server's ID in the servers file (required)
  --servers FILE      Servers file, "ID HOST PORT" per line (default ./servers.txt)
  --db DB             The main database: a SQLite file shared by servers on this
                      machine, or a postgres://user:pass@host:port/name URL for
                      servers on several machines (default ./data/fastchat.db;
                      ${DB_ENV} gives it too)
  --secret-file FILE  Cluster secret (default: cluster.secret beside a SQLite
                      database, ./data/cluster.secret with PostgreSQL);
                      ${SECRET_ENV} overrides it
  --listen HOST       Address to bind (default: the host in the servers file)
  --tls-cert FILE     Serve wss:// and https:// with this PEM certificate...
  --tls-key FILE      ...and this PEM private key
  --allowed-origins LIST
                      Web pages that may connect, comma-separated origins such as
                      http://127.0.0.1:7100,https://chat.example.org (default: none;
                      clients that send no Origin, such as the terminal client and
                      peers, may always connect; a browser from elsewhere gets 403)
  --scrypt-n N        scrypt cost N for new passwords (power of two, default 32768)
  --max-conns-per-addr N
                      Most open connections from one address (default 1024; 0 = no
                      cap; raise it behind a proxy or NAT that many users share)
  --send-rate N       Messages a second one user may send to this server, sustained
                      (burst 4 times that; default 50; 0 = no limit, for benchmarks)
  --registrations-per-hour N
                      New accounts one address may register per hour (default 10)
  --pending-expiry-days D
                      Days an undelivered message waits before it is dropped
                      (default 30)
  --log-level LEVEL   debug, info, warn or error (default info)
  -h, --help          Show this help`;

/** `fastchat server`. */
export const serverCommand: Command = {
  name: "server",
  summary: "Run one chat server of the cluster (servers.txt)",
  async run(args) {
    const { values } = _parse(args);
    if (values.help) {
      console.log(_USAGE);
      return 0;
    }
    if (values.id === undefined) throw new UsageError("--id is required");
    if (!/^[1-9][0-9]*$/.test(values.id)) {
      throw new UsageError(`--id must be a positive integer, got "${values.id}"`);
    }
    if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
      throw new UsageError("--tls-cert and --tls-key go together");
    }
    let logLevel;
    try {
      logLevel = parseLogLevel(values["log-level"] ?? "info");
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    let allowedOrigins: string[] = [];
    try {
      allowedOrigins = parseOrigins(values["allowed-origins"] ?? "");
    } catch (err) {
      if (!(err instanceof OriginError)) throw err;
      throw new UsageError(`--allowed-origins: ${err.message}`);
    }
    let scryptN: number | undefined;
    if (values["scrypt-n"] !== undefined) {
      scryptN = Number(values["scrypt-n"]);
      if (!Number.isSafeInteger(scryptN) || scryptN < 2 || (scryptN & (scryptN - 1)) !== 0) {
        throw new UsageError(`--scrypt-n must be a power of two, got "${values["scrypt-n"]}"`);
      }
    }
    let maxConnsPerAddr: number | undefined;
    if (values["max-conns-per-addr"] !== undefined) {
      maxConnsPerAddr = Number(values["max-conns-per-addr"]);
      if (!/^[0-9]{1,9}$/.test(values["max-conns-per-addr"])) {
        throw new UsageError(
          `--max-conns-per-addr must be a whole number (0 for no cap), got "${
            values["max-conns-per-addr"]
          }"`,
        );
      }
    }
    let send: Quotas["send"] | undefined;
    let pendingExpiryMs: number | undefined;
    if (values["send-rate"] !== undefined) {
      if (!/^[0-9]{1,6}$/.test(values["send-rate"])) {
        throw new UsageError(
          `--send-rate must be a whole number (0 for no limit), got "${values["send-rate"]}"`,
        );
      }
      const rate = Number(values["send-rate"]);
      send = rate === 0
        ? null
        : { burst: 4 * rate, intervalMs: Math.max(1, Math.round(1000 / rate)) };
    }
    let register: Quotas["register"] | undefined;
    if (values["registrations-per-hour"] !== undefined) {
      if (!/^[1-9][0-9]{0,5}$/.test(values["registrations-per-hour"])) {
        throw new UsageError(
          `--registrations-per-hour must be a positive whole number, got "${
            values["registrations-per-hour"]
          }"`,
        );
      }
      const n = Number(values["registrations-per-hour"]);
      register = { burst: n, intervalMs: Math.max(1, Math.round(3_600_000 / n)) };
    }
    if (values["pending-expiry-days"] !== undefined) {
      if (!/^[1-9][0-9]{0,4}$/.test(values["pending-expiry-days"])) {
        throw new UsageError(
          `--pending-expiry-days must be a positive whole number, got "${
            values["pending-expiry-days"]
          }"`,
        );
      }
      pendingExpiryMs = Number(values["pending-expiry-days"]) * 86_400_000;
    }
    const id = Number(values.id);
    const serversFile = values.servers ?? "./servers.txt";
    const servers = await readServersFile(serversFile);
    const self = servers.find((s) => s.id === id);
    if (!self) {
      throw new UsageError(
        `server ${id} is not in ${serversFile} (it lists ${servers.map((s) => s.id).join(", ")})`,
      );
    }
    const db = dbLocation(values.db);
    const sqlite = storeBackend(db) === "sqlite";
    const dataDir = sqlite ? dirname(db) : "./data";
    if (sqlite) await Deno.mkdir(dataDir, { recursive: true });
    const secret = await loadClusterSecret(
      values["secret-file"] ?? join(dataDir, "cluster.secret"),
    );
    const tls = values["tls-cert"] !== undefined
      ? {
        cert: await Deno.readTextFile(values["tls-cert"]),
        key: await Deno.readTextFile(values["tls-key"]!),
      }
      : undefined;
    const logger = createLogger(logLevel);
    const store = await openStore(db, { applicationName: `fastchat-server-${id}` });
    let running;
    try {
      running = await startServer({
        self,
        servers,
        store,
        secret,
        logger,
        tls,
        listenHost: values.listen,
        passwordCost: scryptN !== undefined ? { N: scryptN, r: 8, p: 1 } : undefined,
        httpLimits: maxConnsPerAddr !== undefined ? { maxConnsPerAddr } : undefined,
        quotas: { send, pendingExpiryMs, register },
        allowedOrigins,
      });
    } catch (err) {
      await store.close();
      if (err instanceof Deno.errors.AddrInUse) {
        throw new Error(
          `cannot listen on ${values.listen ?? self.host}:${self.port}: the port is in use ` +
            "(is another server " + id + " running?)",
        );
      }
      throw err;
    }
    if (await untilStopped() === "supervisor_gone") {
      console.error(`fastchat server: server ${id} stopping: its supervisor (fastchat up) is gone`);
    }
    await running.close();
    await store.close();
    return 0;
  },
};

function _parse(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        id: { type: "string" },
        servers: { type: "string" },
        db: { type: "string" },
        "secret-file": { type: "string" },
        listen: { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "allowed-origins": { type: "string" },
        "scrypt-n": { type: "string" },
        "max-conns-per-addr": { type: "string" },
        "send-rate": { type: "string" },
        "pending-expiry-days": { type: "string" },
        "registrations-per-hour": { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
