/**
 * The main databases benchmark runs use: none to prepare for SQLite (each cluster makes its
 * own file), and for PostgreSQL a fresh database per run, on the server `--db` names or on a
 * throw-away server the benchmark starts (durable: fsync on, as in production). Every
 * database made here is dropped, and a server started here stopped, by `close()`.
 *
 * @module
 */

import { type LocalPostgres, startLocalPostgres } from "./local_postgres.ts";
import type { StoreBackend } from "../store/open_store.ts";
import { openPool, redactUrl, type Sql } from "../store/postgres/driver.ts";

/** Fresh databases for benchmark runs. */
export interface BenchDatabases {
  /** A location for one run's cluster; undefined means "the cluster's own SQLite file". */
  next(backend: StoreBackend): Promise<string | undefined>;
  /** Where PostgreSQL runs, for the report (password hidden); null before the first run. */
  readonly postgres: string | null;
  /** Drops what was made and stops what was started. */
  close(): Promise<void>;
}

/** Prepares databases for `backends`; `pgUrl` names a server to use instead of a local one. */
export function benchDatabases(
  pgUrl: string | null,
  progress: (line: string) => void,
): BenchDatabases {
  let local: LocalPostgres | null = null;
  let admin: Sql | null = null;
  let where: string | null = null;
  const made: string[] = [];
  let n = 0;
  const adminPool = async (): Promise<{ sql: Sql; base: URL }> => {
    if (admin === null) {
      let url = pgUrl;
      if (url === null) {
        progress("postgres: starting a throw-away PostgreSQL server (fsync on)");
        local = await startLocalPostgres({ durable: true, maxConnections: 300 });
        url = local.url("postgres");
      }
      where = redactUrl(url);
      admin = openPool(url, { max: 1, connectTimeoutS: 10, applicationName: "fastchat-bench" });
    }
    return { sql: admin, base: new URL(pgUrl ?? local!.url("postgres")) };
  };
  return {
    get postgres() {
      return where;
    },
    async next(backend) {
      if (backend === "sqlite") return undefined;
      const { sql, base } = await adminPool();
      const name = `fastchat_bench_${Deno.pid}_${++n}`;
      try {
        await sql.unsafe(`CREATE DATABASE ${name}`);
      } catch (err) {
        throw new Error(
          `Could not create database ${name} on ${redactUrl(base.toString())}: ` +
            `${(err as Error).message}; the --db user must be allowed to create databases`,
        );
      }
      made.push(name);
      const url = new URL(base);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async close() {
      if (admin !== null) {
        for (const name of made) {
          await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
        }
        await admin.end({ timeout: 5 });
      }
      await (local as LocalPostgres | null)?.stop();
    },
  };
}
