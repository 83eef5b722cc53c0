/**
 * The test suite's throw-away PostgreSQL server: started once per test process, the first
 * time a test module imports this one, and stopped (its directory removed) when the process
 * ends. Each test gets its own empty database from {@linkcode freshPostgresDatabase}.
 *
 * fsync is off: these databases are thrown away, and creating one per test is then fast.
 * Durability is measured by the benchmark, which runs PostgreSQL with fsync on.
 *
 * @module
 */

import { type LocalPostgres, startLocalPostgres } from "../../core/bench/local_postgres.ts";

let _server: Promise<LocalPostgres> | null = null;
let _count = 0;

/** The shared test server (started on first use). */
export function testPostgres(): Promise<LocalPostgres> {
  _server ??= startLocalPostgres({ durable: false, maxConnections: 400 });
  return _server;
}

/** A new, empty database on the shared test server; returns its URL. */
export async function freshPostgresDatabase(): Promise<string> {
  const pg = await testPostgres();
  return await pg.createDatabase(`t${Deno.pid}_${++_count}`);
}
