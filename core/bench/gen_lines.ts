/**
 * The line protocol between `fastchat bench` and its load generator processes (the hidden
 * `fastchat bench --generate K` mode, `load_slice.ts`): one JSON object per line, the
 * parent's on the child's stdin ({@linkcode ParentLine}), the child's on its stdout
 * ({@linkcode ChildLine}). The parent drives the load with `start` (which carries the
 * measured window on the child's clock), `stop` and `finish`, so every slice measures the
 * same window; the child's stdin ending before `finish` means the parent is gone or
 * cancelled.
 *
 * @module
 */

import type { MessageMix } from "./options.ts";

/** What one generator process is asked to do: its slice of the users and its load share. */
export interface SliceConfig {
  /** This slice's number, 0 to `generators - 1`. */
  readonly k: number;
  /** How many generator processes share the load. */
  readonly generators: number;
  readonly balancerUrl: string;
  /** Global index of the slice's first user. */
  readonly first: number;
  /** Session tokens of the slice's users, in order (registered by the parent). */
  readonly tokens: readonly string[];
  /** Every user's ID, by global index (recipients of direct messages). */
  readonly userIds: readonly number[];
  /** Every user's group ID (null: none), by global index. */
  readonly groupOf: readonly (number | null)[];
  /** Members of each group, by group ID. */
  readonly groupSizes: Readonly<Record<string, number>>;
  /** Open loop: this slice's messages per second; null for the closed loop. */
  readonly rate: number | null;
  /** Closed loop: messages in flight per user. */
  readonly window: number;
  readonly mix: MessageMix;
  /** Plaintext bytes per message (the child makes its own body pool). */
  readonly messageBytes: number;
}

/** A line from the parent. */
export type ParentLine =
  | { readonly type: "config"; readonly config: SliceConfig }
  | { readonly type: "clock"; readonly n: number }
  | {
    readonly type: "start";
    /**
     * The measured window on the child's clock (the parent's window moved by the child's
     * offset), so every slice counts the same instants whatever its event loop's lag.
     */
    readonly measureFrom: number;
    readonly measureTo: number;
  }
  | { readonly type: "stop" }
  | { readonly type: "finish" };

/**
 * Messages a slice sent, in columns (one row per message). Times are the child's
 * `performance.now()`; `status` is 0 unanswered, 1 accepted, 2 failed (refused or error).
 */
export interface SentRows {
  readonly id: number[];
  readonly sender: number[];
  /** Recipient's global index for a direct message; -1 for a group message. */
  readonly to: number[];
  /** Group ID for a group message; -1 for a direct one. */
  readonly group: number[];
  readonly firstAt: number[];
  readonly status: number[];
  /** 1 if sent within the measured window. */
  readonly measured: number[];
  readonly expected: number[];
}

/**
 * Messages the slice's users received (raw frames, repeats included), in columns. `id` is
 * the benchmark's message number from the `client_msg_id` (`b<id>`), -1 for another message.
 */
export interface RecvRows {
  readonly user: number[];
  readonly msgId: number[];
  readonly id: number[];
  readonly at: number[];
  /** 1 if received within the measured window. */
  readonly inWindow: number[];
}

/** Empty {@linkcode SentRows}, to append to. */
export function emptySentRows(): SentRows {
  return {
    id: [],
    sender: [],
    to: [],
    group: [],
    firstAt: [],
    status: [],
    measured: [],
    expected: [],
  };
}

/** Empty {@linkcode RecvRows}, to append to. */
export function emptyRecvRows(): RecvRows {
  return { user: [], msgId: [], id: [], at: [], inWindow: [] };
}

/** What a slice counted itself (everything the sender's process knows). */
export interface SliceSummary {
  readonly sent: number;
  readonly sentDirect: number;
  readonly sentGroup: number;
  readonly accepted: number;
  readonly acceptedInWindow: number;
  readonly acceptLatencies: number[];
  readonly acceptLatenciesFirst: number[];
  readonly busy: number;
  readonly refused: number;
  /** By the slice's own user order. */
  readonly acceptedPerUser: number[];
  readonly sendErrors: number;
  readonly errorSamples: string[];
  /** Global indices of the users whose connection closed. */
  readonly closed: number[];
  readonly late: number;
  readonly skipped: number;
  readonly maxSendLagMs: number;
  readonly drainMs: number;
  /** The process's resident memory when it reported, bytes (it exits right after). */
  readonly rssBytes: number;
}

/** A line from a generator process. */
export type ChildLine =
  | { readonly type: "progress"; readonly done: number }
  | {
    readonly type: "load";
    readonly sent: number;
    readonly accepted: number;
    readonly delivered: number;
    readonly outstanding: number;
  }
  | { readonly type: "ready"; readonly assignments: number[] }
  | { readonly type: "clock"; readonly n: number; readonly now: number }
  | { readonly type: "drained" }
  | ({ readonly type: "sent" } & SentRows)
  | ({ readonly type: "recv" } & RecvRows)
  | { readonly type: "result"; readonly summary: SliceSummary }
  | { readonly type: "failed"; readonly message: string };

const _PARENT_TYPES = new Set(["config", "clock", "start", "stop", "finish"]);
const _CHILD_TYPES = new Set([
  "progress",
  "load",
  "ready",
  "clock",
  "drained",
  "sent",
  "recv",
  "result",
  "failed",
]);

/** Parses a parent line; throws TypeError when it is not one. */
export function parseParentLine(text: string): ParentLine {
  return _parse(text, _PARENT_TYPES, "Generator input") as ParentLine;
}

/** Parses a generator's line; throws TypeError when it is not one. */
export function parseChildLine(text: string): ChildLine {
  return _parse(text, _CHILD_TYPES, "Generator line") as ChildLine;
}

function _parse(text: string, types: Set<string>, what: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new TypeError(`${what} is not JSON: ${text.slice(0, 80)}`);
  }
  const type = (v as { type?: unknown } | null)?.type;
  if (typeof type !== "string" || !types.has(type)) {
    throw new TypeError(`${what} has an unknown type: ${text.slice(0, 80)}`);
  }
  return v;
}

/**
 * Calls `onLine` with each non-empty line of `stream`. Chunks are kept apart until a line
 * ends, so a line of several megabytes (a slice's results) is joined once, not rescanned.
 */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let parts: string[] = [];
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    let from = 0;
    let nl;
    while ((nl = chunk.indexOf("\n", from)) >= 0) {
      parts.push(chunk.slice(from, nl));
      const line = parts.join("");
      parts = [];
      from = nl + 1;
      if (line.trim() !== "") onLine(line);
    }
    if (from < chunk.length) parts.push(chunk.slice(from));
  }
  const last = parts.join("");
  if (last.trim() !== "") onLine(last);
}

/** Splits `rows` (columns of equal length) into chunks of at most `size` rows. */
export function chunkRows<T extends { [K in keyof T]: number[] }>(rows: T, size: number): T[] {
  const keys = Object.keys(rows) as (keyof T)[];
  const n = keys.length === 0 ? 0 : rows[keys[0]!].length;
  const out: T[] = [];
  for (let i = 0; i < n; i += size) {
    out.push(Object.fromEntries(keys.map((key) => [key, rows[key].slice(i, i + size)])) as T);
  }
  return out;
}
