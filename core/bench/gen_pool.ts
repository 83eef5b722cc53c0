/**
 * The parent's side of a spread load (`fastchat bench --generators G`): spawns G
 * `fastchat bench --generate K` processes (`load_slice.ts`), each with a contiguous slice of
 * the registered users and its share of the rate, measures each one's clock offset, drives
 * the warm-up and the measured window for all of them (one window on the parent's clock,
 * moved onto each child's, so every slice measures the same instants and the CPU snapshots
 * bracket them), waits until every slice has drained, collects
 * their records and merges them (`gen_merge.ts`). Every child is gone when
 * {@linkcode GeneratorPool.close} settles; a child that dies fails the run.
 *
 * @module
 */

import { closeChild, killChild } from "./child_stop.ts";
import { selfCommand } from "../cluster/self_command.ts";
import { BenchCancelled } from "./async_util.ts";
import {
  type ChildLine,
  emptyRecvRows,
  emptySentRows,
  type ParentLine,
  parseChildLine,
  readLines,
  type RecvRows,
  type SentRows,
  type SliceConfig,
  type SliceSummary,
} from "./gen_lines.ts";
import { mergeSlices, type SliceRecords } from "./gen_merge.ts";
import type { LoadConfig, LoadResult } from "./load_generator.ts";
import type { MessageMix } from "./options.ts";

export { defaultGenerators, MAX_GENERATORS } from "./options.ts";

/** Splits `count` users into `g` contiguous slices of near-equal size: [first, count]. */
export function sliceUsers(count: number, g: number): { first: number; count: number }[] {
  if (!(g >= 1 && g <= count)) throw new RangeError(`Expected 1 to ${count} slices, got ${g}`);
  const out = [];
  let first = 0;
  for (let k = 0; k < g; k++) {
    const n = Math.floor(count / g) + (k < count % g ? 1 : 0);
    out.push({ first, count: n });
    first += n;
  }
  return out;
}

/** What the load runs over: the users the parent registered. */
export interface SpreadUsers {
  readonly balancerUrl: string;
  /** By global index. */
  readonly tokens: readonly string[];
  readonly userIds: readonly number[];
  readonly groupOf: readonly (number | null)[];
  /** Members of each group, by group ID. */
  readonly groupSizes: Readonly<Record<string, number>>;
}

/** What a spread load measured, beyond the merged result. */
export interface SpreadResult {
  readonly load: LoadResult;
  /** Whether each user's connection (in its generator) closed during the run, by index. */
  readonly closed: readonly boolean[];
  /** Each generator's resident memory at its end, bytes (they exit right after). */
  readonly rssBytes: readonly number[];
}

/** Running generator processes. */
export interface GeneratorPool {
  readonly pids: readonly number[];
  /** Settles with each user's server ID once every slice is connected; rejects if one fails. */
  readonly ready: Promise<readonly number[]>;
  /** Runs the load (as `runLoad` would) and resolves after every slice drained. */
  run(cfg: Omit<LoadConfig, "bodies" | "rate" | "window" | "mix">): Promise<SpreadResult>;
  /** Stops every generator and waits for the processes to exit. */
  close(): Promise<void>;
}

/** How long a generator gets to exit after its input closes before it is killed. */
const _CLOSE_TIMEOUT_MS = 15_000;
/** Clock pings per generator; the one with the shortest round trip gives the offset. */
const _CLOCK_ROUNDS = 5;

/** Starts `generators` processes over `users` with the load's rate or window and mix. */
export function startGenerators(opts: {
  readonly users: SpreadUsers;
  readonly generators: number;
  readonly rate: number | null;
  readonly window: number;
  readonly mix: MessageMix;
  readonly messageBytes: number;
  readonly signal: AbortSignal;
  readonly onProgress: (done: number) => void;
}): GeneratorPool {
  const total = opts.users.userIds.length;
  const slices = sliceUsers(total, opts.generators);
  const children = slices.map((s, k) =>
    _spawn(k, opts.generators, {
      k,
      generators: opts.generators,
      balancerUrl: opts.users.balancerUrl,
      first: s.first,
      tokens: opts.users.tokens.slice(s.first, s.first + s.count),
      userIds: opts.users.userIds,
      groupOf: opts.users.groupOf,
      groupSizes: opts.users.groupSizes,
      rate: opts.rate === null ? null : (opts.rate * s.count) / total,
      window: opts.window,
      mix: opts.mix,
      messageBytes: opts.messageBytes,
    })
  );
  const done = children.map(() => 0);
  children.forEach((c, k) =>
    c.onProgress = (n) => {
      done[k] = n;
      opts.onProgress(done.reduce((a, b) => a + b, 0));
    }
  );
  const onAbort = () => {
    for (const c of children) c.kill();
  };
  opts.signal.addEventListener("abort", onAbort, { once: true });
  const ready = Promise.all(children.map((c) => c.ready)).then((rs) => rs.flat());
  ready.catch(() => {});
  return {
    pids: children.map((c) => c.pid),
    ready,
    async run(cfg) {
      try {
        return await _run(children, slices, opts.users.groupOf, cfg);
      } catch (err) {
        if (cfg.signal.aborted) throw new BenchCancelled();
        throw err;
      }
    },
    async close() {
      await Promise.all(children.map((c) => c.close()));
      opts.signal.removeEventListener("abort", onAbort);
    },
  };
}

async function _run(
  children: readonly _Child[],
  slices: readonly { first: number; count: number }[],
  groupOf: readonly (number | null)[],
  cfg: Omit<LoadConfig, "bodies" | "rate" | "window" | "mix">,
): Promise<SpreadResult> {
  const offsets: number[] = [];
  for (const c of children) offsets.push(await c.clockOffset());
  const failed = Promise.race(children.map((c) => c.died));
  const aborted = new Promise<never>((_, reject) => {
    const fire = () => reject(new BenchCancelled());
    if (cfg.signal.aborted) fire();
    cfg.signal.addEventListener("abort", fire, { once: true });
  });
  aborted.catch(() => {});
  const guard = <T>(p: Promise<T>) => Promise.race([p, failed, aborted]);
  const timers: ReturnType<typeof setTimeout>[] = [];
  const start = performance.now();
  const progressTimer = setInterval(() => {
    const p = children.map((c) => c.load);
    const sum = (f: (x: _Load) => number) => p.reduce((a, x) => a + f(x), 0);
    cfg.progress(
      `${cfg.label}: ${((performance.now() - start) / 1000).toFixed(0)} s, sent ${
        sum((x) => x.sent)
      }, accepted ${sum((x) => x.accepted)}, delivered ${sum((x) => x.delivered)}, ` +
        `outstanding ${sum((x) => x.outstanding)} (${children.length} generator processes)`,
    );
  }, 1_000);
  try {
    // The window on our clock, sent to each child on its own: one window for every slice.
    const measureFrom = start + cfg.warmupMs;
    const measureTo = measureFrom + cfg.durationMs;
    children.forEach((c, k) =>
      c.send({
        type: "start",
        measureFrom: measureFrom + offsets[k]!,
        measureTo: measureTo + offsets[k]!,
      })
    );
    const ended = Promise.withResolvers<void>();
    timers.push(setTimeout(() => cfg.onMeasureStart?.(), cfg.warmupMs));
    timers.push(setTimeout(() => {
      for (const c of children) c.send({ type: "stop" });
      cfg.onMeasureEnd?.();
      ended.resolve();
    }, cfg.warmupMs + cfg.durationMs));
    await guard(ended.promise);
    await guard(Promise.all(children.map((c) => c.drained)));
    for (const c of children) c.send({ type: "finish" });
    const results = await guard(Promise.all(children.map((c) => c.result)));
    const records: SliceRecords[] = results.map((r, k) => ({
      ...slices[k]!,
      clockOffsetMs: offsets[k]!,
      ...r,
    }));
    const closed = new Array<boolean>(groupOf.length).fill(false);
    for (const r of results) for (const i of r.summary.closed) closed[i] = true;
    return {
      load: mergeSlices(records, groupOf, cfg.durationMs),
      closed,
      rssBytes: results.map((r) => r.summary.rssBytes),
    };
  } finally {
    clearInterval(progressTimer);
    for (const t of timers) clearTimeout(t);
  }
}

interface _Load {
  sent: number;
  accepted: number;
  delivered: number;
  outstanding: number;
}

interface _Child {
  readonly pid: number;
  onProgress: (done: number) => void;
  load: _Load;
  readonly ready: Promise<number[]>;
  readonly drained: Promise<void>;
  readonly result: Promise<{ sent: SentRows; recv: RecvRows; summary: SliceSummary }>;
  /** Rejects when the process fails or exits before its result. */
  readonly died: Promise<never>;
  send(line: ParentLine): void;
  /** Its clock minus ours, ms, from the ping with the shortest round trip. */
  clockOffset(): Promise<number>;
  close(): Promise<void>;
  kill(): void;
}

function _spawn(k: number, g: number, config: SliceConfig): _Child {
  const { cmd, args } = selfCommand(["bench", "--generate", String(k)]);
  const child = new Deno.Command(cmd, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const name = `Load generator ${k + 1} of ${g} (PID ${child.pid})`;
  const stdin = child.stdin.getWriter();
  const enc = new TextEncoder();
  let writing = Promise.resolve();
  const ready = Promise.withResolvers<number[]>();
  const drained = Promise.withResolvers<void>();
  const result = Promise.withResolvers<
    { sent: SentRows; recv: RecvRows; summary: SliceSummary }
  >();
  const died = Promise.withResolvers<never>();
  for (const p of [ready, drained, result, died]) p.promise.catch(() => {});
  const sent = emptySentRows();
  const recv = emptyRecvRows();
  let clockWaiter: ((now: number) => void) | null = null;
  let finished = false;
  let exited = false;
  const fail = (err: Error) => {
    ready.reject(err);
    drained.reject(err);
    result.reject(err);
    died.reject(err);
  };
  const status = child.status.then((s) => {
    exited = true;
    if (!finished) fail(new Error(`${name} exited with code ${s.code} before it was done`));
    return s;
  });
  const c: _Child = {
    pid: child.pid,
    onProgress: () => {},
    load: { sent: 0, accepted: 0, delivered: 0, outstanding: 0 },
    ready: ready.promise,
    drained: drained.promise,
    result: result.promise,
    died: died.promise,
    send(line) {
      const bytes = enc.encode(JSON.stringify(line) + "\n");
      writing = writing.then(() => stdin.write(bytes)).catch(() => {});
    },
    async clockOffset() {
      let best = { rtt: Infinity, offset: 0 };
      for (let n = 0; n < _CLOCK_ROUNDS; n++) {
        const got = new Promise<number>((resolve) => clockWaiter = resolve);
        const t0 = performance.now();
        c.send({ type: "clock", n });
        const now = await Promise.race([got, died.promise]);
        const t1 = performance.now();
        if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: now - (t0 + t1) / 2 };
      }
      return best.offset;
    },
    async close() {
      await writing;
      await closeChild(stdin, status, () => c.kill(), _CLOSE_TIMEOUT_MS);
    },
    kill: () => killChild(child, () => exited),
  };
  readLines(child.stdout, (text) => {
    const line: ChildLine = parseChildLine(text);
    switch (line.type) {
      case "progress":
        c.onProgress(line.done);
        break;
      case "ready":
        ready.resolve(line.assignments);
        break;
      case "load":
        c.load = line;
        break;
      case "clock":
        clockWaiter?.(line.now);
        clockWaiter = null;
        break;
      case "drained":
        drained.resolve();
        break;
      case "sent":
        for (const key of Object.keys(sent) as (keyof SentRows)[]) sent[key].push(...line[key]);
        break;
      case "recv":
        for (const key of Object.keys(recv) as (keyof RecvRows)[]) recv[key].push(...line[key]);
        break;
      case "result":
        finished = true;
        result.resolve({ sent, recv, summary: line.summary });
        break;
      case "failed":
        fail(new Error(`${name} failed: ${line.message}`));
        break;
    }
  }).catch((err) => {
    fail(err instanceof Error ? err : new Error(String(err)));
    c.kill();
  });
  c.send({ type: "config", config });
  return c;
}
