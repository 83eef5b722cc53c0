/**
 * `fastchat server --id N`: one chat server of the cluster described by servers.txt.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { MAX_SERVER_ID, readServersFile } from "../core/cluster/servers_file.ts";
import { loadClusterSecret, SECRET_ENV } from "../core/cluster/secret.ts";
import { untilStopped } from "../core/cluster/until_stopped.ts";
import { PASSWORD_N_RANGE } from "../core/crypto/password.ts";
import { createLogger, LOG_LEVELS } from "../core/log/logger.ts";
import type { Quotas } from "../core/server/quotas.ts";
import { startServer } from "../core/server/serve.ts";
import { DB_ENV, dbLocation, openStore, storeBackend } from "../core/store/open_store.ts";
import { type Command, UsageError } from "./command.ts";
import { choiceFlag, intFlag, originsFlag, parseFlags, scryptCostFlag, textFlag } from "./flags.ts";

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
    const values = parseFlags(args, {
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
    });
    if (values.help) {
      console.log(_USAGE);
      return 0;
    }
    const id = intFlag("--id", values.id, { min: 1, max: MAX_SERVER_ID });
    if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
      throw new UsageError("--tls-cert and --tls-key go together");
    }
    const listenHost = values.listen === undefined
      ? undefined
      : textFlag("--listen", values.listen, "an address to bind");
    const logLevel = choiceFlag("--log-level", values["log-level"], LOG_LEVELS, {
      fallback: "info",
    });
    const allowedOrigins = originsFlag("--allowed-origins", values["allowed-origins"]);
    const scryptN = scryptCostFlag("--scrypt-n", values["scrypt-n"], PASSWORD_N_RANGE);
    const maxConnsPerAddr = _optional(
      values["max-conns-per-addr"],
      (raw) =>
        intFlag("--max-conns-per-addr", raw, { min: 0, max: 999_999_999, note: "0 for no cap" }),
    );
    const send: Quotas["send"] | undefined = _optional(values["send-rate"], (raw) => {
      const rate = intFlag("--send-rate", raw, { min: 0, max: 999_999, note: "0 for no limit" });
      return rate === 0
        ? null
        : { burst: 4 * rate, intervalMs: Math.max(1, Math.round(1000 / rate)) };
    });
    const register: Quotas["register"] | undefined = _optional(
      values["registrations-per-hour"],
      (raw) => {
        const n = intFlag("--registrations-per-hour", raw, { min: 1, max: 999_999 });
        return { burst: n, intervalMs: Math.max(1, Math.round(3_600_000 / n)) };
      },
    );
    const pendingExpiryMs = _optional(
      values["pending-expiry-days"],
      (raw) => intFlag("--pending-expiry-days", raw, { min: 1, max: 99_999 }) * 86_400_000,
    );
    const serversFile = values.servers ?? "./servers.txt";
    const servers = await readServersFile(serversFile);
    const self = servers.find((s) => s.id === id);
    if (!self) {
      throw new UsageError(
        `Server ${id} is not in ${serversFile}; expected one of the IDs it lists: ${
          servers.map((s) => s.id).join(", ")
        }`,
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
        listenHost,
        passwordCost: scryptN !== undefined ? { N: scryptN, r: 8, p: 1 } : undefined,
        httpLimits: maxConnsPerAddr !== undefined ? { maxConnsPerAddr } : undefined,
        quotas: { send, pendingExpiryMs, register },
        allowedOrigins,
      });
    } catch (err) {
      await store.close();
      if (err instanceof Deno.errors.AddrInUse) {
        throw new Error(
          `cannot listen on ${listenHost ?? self.host}:${self.port}: the port is in use ` +
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

/** `undefined` for a flag not given, else `read(raw)`. */
function _optional<T>(raw: string | undefined, read: (raw: string) => T): T | undefined {
  return raw === undefined ? undefined : read(raw);
}
