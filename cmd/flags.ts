/**
 * Command-line flags for every `fastchat` subcommand: one `node:util` `parseArgs` wrapper and
 * the checks the commands share (ports, bounded integers and numbers, choices, the scrypt
 * cost, origins). Pure, so every rule and message is unit-tested without a process.
 *
 * Every bad flag becomes a {@linkcode UsageError} whose message names the flag, says what
 * was given and what is expected, in one shape: `--port must be a port from 1 to 65535,
 * got "http"`. A helper given `undefined` returns its `fallback`, or says the flag is
 * required when there is none.
 *
 * @module
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { OriginError, parseOrigins } from "../core/ws/origin.ts";
import { UsageError } from "./command.ts";

/** The flags a command takes, as `node:util` `parseArgs` describes them. */
export type FlagSpec = ParseArgsOptionsConfig;

/** The values {@linkcode parseFlags} returns for a {@linkcode FlagSpec}. */
export type FlagValues<S extends FlagSpec> = ReturnType<
  typeof parseArgs<{ args: string[]; options: S; strict: true; allowPositionals: false }>
>["values"];

/** Bounds of a whole-number flag. */
export interface IntBounds {
  readonly min: number;
  readonly max: number;
  /** The value when the flag is not given; without it the flag is required. */
  readonly fallback?: number;
  /** A word on what some values mean, e.g. `0 for no cap`; shown in the message. */
  readonly note?: string;
}

/** The scrypt costs a crypto module accepts: powers of two from `min` to `max`. */
export interface ScryptNRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Parses `args` (the words after the subcommand) against `spec`: options only, no
 * positional arguments. Unlike bare `parseArgs`, a mistake names the flag and what was
 * expected (the closest flag for a typo, `--port VALUE` for a missing value).
 *
 * @throws {UsageError} For an unknown option, a missing or unexpected value, or a
 *   positional argument.
 */
export function parseFlags<const S extends FlagSpec>(
  args: readonly string[],
  spec: S,
): FlagValues<S> {
  const problem = _firstProblem(args, spec);
  if (problem !== undefined) throw new UsageError(problem);
  try {
    return parseArgs({ args: [...args], options: spec, strict: true, allowPositionals: false })
      .values as FlagValues<S>;
  } catch (err) {
    // _firstProblem reports every mistake strict parsing knows; this is a safety net.
    throw new UsageError((err as Error).message);
  }
}

/**
 * A TCP port. Port 0 (the system picks a free one) only with `allowZero`.
 *
 * @throws {UsageError} If `raw` is not a whole number in range (or is missing without a
 *   fallback).
 */
export function portFlag(
  name: string,
  raw: string | undefined,
  { allowZero = false, fallback }: { allowZero?: boolean; fallback?: number } = {},
): number {
  const min = allowZero ? 0 : 1;
  const what = `a port from ${min} to 65535${allowZero ? " (0 picks a free port)" : ""}`;
  if (raw === undefined) return _fallback(name, fallback, what);
  const port = /^[0-9]{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= min && port <= 65535)) _bad(name, raw, what);
  return port;
}

/**
 * A whole number from `min` to `max` (decimal digits only: no sign, exponent or hex).
 *
 * @throws {UsageError} If `raw` is not one (or is missing without a fallback).
 */
export function intFlag(name: string, raw: string | undefined, bounds: IntBounds): number {
  const { min, max, fallback, note } = bounds;
  const what = `an integer from ${min} to ${max}${note !== undefined ? ` (${note})` : ""}`;
  if (raw === undefined) return _fallback(name, fallback, what);
  const n = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) _bad(name, raw, what);
  return n;
}

/**
 * A decimal number from `min` to `max`, such as `2.5` (no sign or exponent).
 *
 * @throws {UsageError} If `raw` is not one (or is missing without a fallback).
 */
export function numberFlag(name: string, raw: string | undefined, bounds: IntBounds): number {
  const { min, max, fallback, note } = bounds;
  const what = `a number from ${min} to ${max}${note !== undefined ? ` (${note})` : ""}`;
  if (raw === undefined) return _fallback(name, fallback, what);
  const n = /^[0-9]{1,9}(\.[0-9]{1,6})?$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) _bad(name, raw, what);
  return n;
}

/**
 * One of `choices`, e.g. a balancing strategy or a log level.
 *
 * @throws {UsageError} If `raw` is not one (or is missing without a fallback).
 */
export function choiceFlag<const T extends string>(
  name: string,
  raw: string | undefined,
  choices: readonly T[],
  { fallback }: { fallback?: T } = {},
): T {
  const what = `one of ${choices.join(", ")}`;
  if (raw === undefined) return _fallback(name, fallback, what);
  if (!(choices as readonly string[]).includes(raw)) _bad(name, raw, what);
  return raw as T;
}

/**
 * A scrypt cost N: a power of two within `range`, the bounds of the crypto module that
 * will use it (so a bad cost is refused here, not when the first password is hashed).
 * Undefined when the flag is not given: the module's default applies.
 *
 * @throws {UsageError} If `raw` is not such a power of two.
 */
export function scryptCostFlag(
  name: string,
  raw: string | undefined,
  range: ScryptNRange,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= range.min && n <= range.max && Number.isInteger(Math.log2(n)))) {
    _bad(
      name,
      raw,
      `a power of two from ${range.min} to ${range.max} ` +
        `(2^${Math.log2(range.min)} to 2^${Math.log2(range.max)})`,
    );
  }
  return n;
}

/**
 * A value that must not be empty, such as an address or a file name; `what` says what it
 * names (`an address to listen on`).
 *
 * @throws {UsageError} If `raw` is empty (or missing without a fallback).
 */
export function textFlag(
  name: string,
  raw: string | undefined,
  what: string,
  { fallback }: { fallback?: string } = {},
): string {
  if (raw === undefined) return _fallback(name, fallback, what);
  if (raw === "") throw new UsageError(`${name} needs ${what}, got an empty value`);
  return raw;
}

/**
 * A comma-separated list of web origins (`https://chat.example.org`); empty or missing
 * means none.
 *
 * @throws {UsageError} Naming the flag and the first entry that is not an origin.
 */
export function originsFlag(name: string, raw: string | undefined): string[] {
  try {
    return parseOrigins(raw ?? "");
  } catch (err) {
    if (!(err instanceof OriginError)) throw err;
    throw new UsageError(`${name}: ${err.message}`);
  }
}

function _fallback<T>(name: string, fallback: T | undefined, what: string): T {
  if (fallback === undefined) throw new UsageError(`${name} is required: ${what}`);
  return fallback;
}

function _bad(name: string, raw: string, what: string): never {
  throw new UsageError(`${name} must be ${what}, got "${raw}"`);
}

/**
 * The first mistake in `args` that strict parsing would refuse, said in our words; found
 * from the lenient parse's tokens, since `parseArgs` errors name no option in a field.
 */
function _firstProblem(args: readonly string[], spec: FlagSpec): string | undefined {
  const { tokens } = parseArgs({
    args: [...args],
    options: spec,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === "positional") {
      return `Unexpected argument "${token.value}"; expected options only, such as --name VALUE`;
    }
    if (token.kind !== "option") continue;
    const option = Object.hasOwn(spec, token.name) ? spec[token.name] : undefined;
    const known = option !== undefined &&
      (token.rawName.startsWith("--") || option.short === token.rawName.slice(1));
    if (!known) return _unknown(token.rawName, spec);
    const flag = `--${token.name}`;
    if (option.type === "boolean") {
      if (token.value !== undefined) {
        return `${flag} takes no value, got "${token.rawName}=${token.value}"`;
      }
      continue;
    }
    if (token.value === undefined) return `${flag} needs a value, as in ${flag} VALUE`;
    if (!token.inlineValue && token.value.startsWith("-")) {
      return `${flag} needs a value, got the option "${token.value}"; ` +
        `write ${flag}=${token.value} if that is the value`;
    }
  }
  return undefined;
}

function _unknown(rawName: string, spec: FlagSpec): string {
  const names = Object.keys(spec);
  const typed = rawName.replace(/^-+/, "");
  const near = names
    .map((n) => ({ n, d: _distance(typed, n) }))
    .filter(({ n, d }) => d <= Math.max(1, Math.floor(n.length / 3)) || n.startsWith(typed))
    .sort((a, b) => a.d - b.d)[0];
  if (near !== undefined && typed.length > 1) {
    return `Unknown option '${rawName}'; did you mean --${near.n}?`;
  }
  return `Unknown option '${rawName}'; expected one of ${names.map((n) => `--${n}`).join(", ")}`;
}

/**
 * Edit distance (optimal string alignment): how many letters to insert, delete, change or
 * swap with the next one to turn `a` into `b`.
 */
function _distance(a: string, b: string): number {
  const d = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
