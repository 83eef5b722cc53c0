/**
 * One line per event, logfmt style (`time level event key=value ...`), on stderr so stdout
 * stays free for program output. Values with spaces or quotes are quoted.
 *
 * @module
 */

/** Log levels, least to most severe. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Field values a log line can carry. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** A structured logger. */
export interface Logger {
  /** Detail for finding a fault; off by default (e.g. a peer not listening yet at start). */
  debug(event: string, fields?: LogFields): void;
  /** Normal life events worth a line (a link up, a server listening). */
  info(event: string, fields?: LogFields): void;
  /** Something went wrong that the program handles (a peer lost, a retry). */
  warn(event: string, fields?: LogFields): void;
  /** A failure someone should look at. */
  error(event: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  with(fields: LogFields): Logger;
}

/** Parses a `--log-level` value; throws `RangeError` listing the accepted levels. */
export function parseLogLevel(value: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new RangeError(`Unknown log level "${value}"; expected one of ${LOG_LEVELS.join(", ")}`);
}

/** Creates a logger writing lines at or above `level` to `write` (default: stderr). */
export function createLogger(
  level: LogLevel = "info",
  base: LogFields = {},
  write: (line: string) => void = _stderr,
): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const emit = (lvl: LogLevel, event: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(lvl) < min) return;
    let line = `${new Date().toISOString()} ${lvl.toUpperCase()} ${event}`;
    for (const [k, v] of Object.entries({ ...base, ...fields })) {
      if (v === undefined) continue;
      line += ` ${k}=${_value(v)}`;
    }
    write(line);
  };
  return {
    debug: (e, f) => emit("debug", e, f),
    info: (e, f) => emit("info", e, f),
    warn: (e, f) => emit("warn", e, f),
    error: (e, f) => emit("error", e, f),
    with: (f) => createLogger(level, { ...base, ...f }, write),
  };
}

function _value(v: string | number | boolean | null): string {
  const s = String(v);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

const _enc = new TextEncoder();
function _stderr(line: string): void {
  Deno.stderr.writeSync(_enc.encode(line + "\n"));
}
