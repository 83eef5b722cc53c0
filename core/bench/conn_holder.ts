/**
 * A connection holder: the hidden `fastchat bench --hold N` mode. One process cannot open
 * more connections than its open-file limit allows (20,000 on the project's machine), so
 * idle-scale mode spreads its connections over several holder processes. A holder connects
 * and registers N users through the balancer, keeps them, and reports on stdout, one JSON
 * object per line ({@linkcode HolderLine}). It closes every connection and exits when its
 * stdin ends: the parent closes it, and so does the kernel if the parent dies.
 *
 * @module
 */

import { type BenchUser, closeUsers, connectUsers } from "./bench_users.ts";

/** One line a holder writes on stdout. */
export type HolderLine =
  | { readonly type: "progress"; readonly done: number }
  | {
    readonly type: "ready";
    /** Server ID of each user, in order. */
    readonly assignments: readonly number[];
  }
  | { readonly type: "closed"; readonly disconnected: number }
  | { readonly type: "failed"; readonly message: string };

/** What a holder is asked to do. */
export interface HoldOptions {
  /** The balancer that assigns the connections. */
  readonly balancerUrl: string;
  /** How many users to connect and hold. */
  readonly count: number;
  /** Username prefix; each holder has its own so names never collide. */
  readonly prefix: string;
  /** How often (in users) to report progress. */
  readonly progressEvery: number;
}

/**
 * Runs a holder: connects, reports `ready`, waits for `stdin` to end (or `signal`), then
 * closes every connection and reports `closed`. Errors are reported as `failed` lines and
 * rethrown.
 */
export async function holdConnections(
  opts: HoldOptions,
  io: {
    readonly write: (line: HolderLine) => void;
    readonly stdinEnded: Promise<void>;
    readonly signal: AbortSignal;
  },
): Promise<void> {
  let users: BenchUser[] = [];
  try {
    users = await connectUsers({
      balancerUrl: opts.balancerUrl,
      count: opts.count,
      signal: io.signal,
      prefix: opts.prefix,
      onProgress: (n) => {
        if (n % opts.progressEvery === 0 || n === opts.count) {
          io.write({ type: "progress", done: n });
        }
      },
    });
    io.write({ type: "ready", assignments: users.map((u) => u.serverId) });
    await Promise.race([
      io.stdinEnded,
      new Promise<void>((r) => io.signal.addEventListener("abort", () => r(), { once: true })),
    ]);
    const disconnected = users.filter((u) => u.closed !== null).length;
    await closeUsers(users, 10_000);
    users = [];
    io.write({ type: "closed", disconnected });
  } catch (err) {
    io.write({ type: "failed", message: (err as Error).message });
    throw err;
  } finally {
    await closeUsers(users, 10_000);
  }
}

/** Parses one holder line; throws TypeError when it is not one. */
export function parseHolderLine(text: string): HolderLine {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new TypeError(`Holder line is not JSON: ${text.slice(0, 80)}`);
  }
  const o = v as Record<string, unknown> | null;
  const type = o?.type;
  if (
    (type === "progress" && typeof o!.done === "number") ||
    (type === "ready" && Array.isArray(o!.assignments)) ||
    (type === "closed" && typeof o!.disconnected === "number") ||
    (type === "failed" && typeof o!.message === "string")
  ) {
    return v as HolderLine;
  }
  throw new TypeError(`Holder line has an unknown shape: ${text.slice(0, 80)}`);
}
