/**
 * The parent's side of connection holders (see `conn_holder.ts`): spawns `fastchat bench
 * --hold N` processes, follows their JSON lines, and stops them. Every holder is gone when
 * {@linkcode HolderPool.close} settles; a holder that does not stop in time is killed.
 *
 * @module
 */

import { closeChild, killChild } from "./child_stop.ts";
import { selfCommand } from "../cluster/self_command.ts";
import { BenchCancelled } from "./async_util.ts";
import { type HolderLine, parseHolderLine } from "./conn_holder.ts";
import { readLines } from "./gen_lines.ts";

/**
 * What all holders report once every connection is open; their memory and descriptors are
 * read from /proc by their PIDs.
 */
export interface HoldersReady {
  /** Server ID of each held user (holders in order). */
  readonly assignments: readonly number[];
}

/** Running holder processes. */
export interface HolderPool {
  readonly pids: readonly number[];
  /** Settles when every holder has connected its users; rejects when one fails or exits. */
  readonly ready: Promise<HoldersReady>;
  /** Closes every holder's connections and waits for the processes to exit. */
  close(): Promise<{ readonly disconnected: number }>;
}

/** How long a holder gets to close its connections before it is killed. */
const _CLOSE_TIMEOUT_MS = 20_000;

/**
 * Spawns one holder per entry of `counts`, each connecting that many users through
 * `balancerUrl` with the username prefix `${prefix}${k}x`. `onProgress` hears the running
 * total over all holders.
 */
export function startHolders(opts: {
  readonly balancerUrl: string;
  readonly counts: readonly number[];
  readonly prefix: string;
  readonly signal: AbortSignal;
  readonly onProgress: (done: number) => void;
}): HolderPool {
  const holders = opts.counts.map((count, k) =>
    _spawn(opts.balancerUrl, count, `${opts.prefix}${k}x`)
  );
  const done = holders.map(() => 0);
  for (const [k, h] of holders.entries()) {
    h.onProgress = (n) => {
      done[k] = n;
      opts.onProgress(done.reduce((s, x) => s + x, 0));
    };
  }
  const onAbort = () => {
    for (const h of holders) h.kill();
  };
  opts.signal.addEventListener("abort", onAbort, { once: true });
  const ready = Promise.all(holders.map((h) => h.ready)).then((rs) => ({
    assignments: rs.flatMap((r) => r.assignments),
  }));
  ready.catch(() => {});
  return {
    pids: holders.map((h) => h.pid),
    ready,
    async close() {
      const results = await Promise.all(holders.map((h) => h.close()));
      opts.signal.removeEventListener("abort", onAbort);
      if (opts.signal.aborted) throw new BenchCancelled();
      return { disconnected: results.reduce((s, r) => s + r, 0) };
    },
  };
}

interface _Holder {
  readonly pid: number;
  onProgress: (done: number) => void;
  readonly ready: Promise<Extract<HolderLine, { type: "ready" }>>;
  /** Resolves with the holder's count of connections that closed early. */
  close(): Promise<number>;
  kill(): void;
}

function _spawn(balancerUrl: string, count: number, prefix: string): _Holder {
  const { cmd, args } = selfCommand([
    "bench",
    "--hold",
    String(count),
    "--balancer",
    balancerUrl,
    "--prefix",
    prefix,
  ]);
  const child = new Deno.Command(cmd, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const ready = Promise.withResolvers<Extract<HolderLine, { type: "ready" }>>();
  const closed = Promise.withResolvers<number>();
  ready.promise.catch(() => {});
  closed.promise.catch(() => {});
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    const why = new Error(
      `Connection holder ${prefix} exited with code ${s.code} before it was done`,
    );
    ready.reject(why);
    closed.reject(why);
    return s;
  });
  const holder: _Holder = {
    pid: child.pid,
    onProgress: () => {},
    ready: ready.promise,
    async close() {
      const settled = Promise.allSettled([closed.promise, status]);
      const [n] = await closeChild(stdin, settled, () => holder.kill(), _CLOSE_TIMEOUT_MS);
      if (n.status === "rejected") throw n.reason;
      return n.value;
    },
    kill: () => killChild(child, () => exited),
  };
  readLines(child.stdout, (text) => {
    const line = parseHolderLine(text);
    switch (line.type) {
      case "progress":
        holder.onProgress(line.done);
        break;
      case "ready":
        holder.onProgress(count);
        ready.resolve(line);
        break;
      case "closed":
        closed.resolve(line.disconnected);
        break;
      case "failed": {
        const err = new Error(`Connection holder ${prefix} failed: ${line.message}`);
        ready.reject(err);
        closed.reject(err);
        break;
      }
    }
  }).catch((err) => {
    ready.reject(err);
    closed.reject(err);
    holder.kill();
  });
  return holder;
}
