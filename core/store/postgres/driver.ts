/**
 * The glue to the npm `postgres` driver: a connection pool configured the way the
 * PostgreSQL store needs it (64-bit integers as numbers, prepared statements, no notices on
 * stdout), and the one place that reads the driver's errors.
 *
 * @module
 */

import postgres from "postgres";

/** A pool of connections (the driver's `sql` function). */
export type Sql = postgres.Sql<Record<string, never>>;

/** What {@linkcode openPool} takes. */
export interface PoolOptions {
  /** Most connections in the pool. */
  readonly max: number;
  /** Seconds to wait for a new connection before failing. */
  readonly connectTimeoutS: number;
  /** `application_name`, shown in `pg_stat_activity`. */
  readonly applicationName: string;
}

/** OIDs of the types the pool parses as numbers: int8 (bigint). */
const _INT8 = 20;

/** Opens a pool; connections are made on first use. */
export function openPool(url: string, opts: PoolOptions): Sql {
  return postgres(url, {
    max: opts.max,
    connect_timeout: opts.connectTimeoutS,
    idle_timeout: 60,
    prepare: true,
    onnotice: () => {},
    // Every ID and time fits a safe integer (the store checks what it writes).
    types: {
      bigint: {
        to: _INT8,
        from: [_INT8],
        serialize: (x: number) => String(x),
        parse: (x: string) => Number(x),
      },
    },
    connection: {
      application_name: opts.applicationName,
      // A safety net only: the store never leaves a transaction open between round trips
      // on its hot paths, but a migration or a bug must not hold locks forever.
      idle_in_transaction_session_timeout: 10_000,
      // Every statement is a handful of key lookups, but the functions' `enable_seqscan = off`
      // puts a disabled scan's huge cost on any plan that still scans (settle_queue has no
      // index), and past jit_above_cost PostgreSQL compiles the plan with LLVM: some 200-400 ms
      // of CPU for a statement that runs in under a millisecond, every second, from settle.
      jit: "off",
    },
  }) as unknown as Sql;
}

/** What a driver error means for the store. */
export type PgFailure = "unavailable" | "foreign_key" | "unique" | "bad_input" | null;

/**
 * Classifies a driver error by its code: a SQLSTATE from the server, or the driver's or the
 * socket's own code for a connection that failed.
 */
export function pgFailure(err: unknown): PgFailure {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return null;
  if (code === "23503") return "foreign_key";
  if (code === "23505") return "unique";
  // 22xxx data exceptions (e.g. 22021, a byte sequence the encoding cannot hold).
  if (code.startsWith("22")) return "bad_input";
  // 08 connection exception; 57P01-57P03 shutdown or not yet accepting; 53300 too many
  // connections; 40001/40P01 serialization failure and deadlock: worth retrying.
  if (
    code.startsWith("08") || /^57P0[1-3]$/.test(code) || code === "53300" ||
    code === "40001" || code === "40P01"
  ) {
    return "unavailable";
  }
  if (
    code.startsWith("CONNECT") || code.startsWith("E") // CONNECTION_CLOSED, ECONNREFUSED, ...
  ) {
    return "unavailable";
  }
  return null;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable PostgreSQL URL)";
  }
}
