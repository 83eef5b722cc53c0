/**
 * The `--baseline` measurement: the raw WebSocket echo ceiling. Starts the echo server
 * (`fastchat bench --echo-server PORT`) as a child process, opens as many plain WebSocket
 * connections as the benchmark has clients, and drives them with the same load model and
 * the same frames (a `single_message` frame with a Fernet body of the same size): closed
 * loop with `window` echoes outstanding per connection, or open loop at `rate` in total.
 * Echoes per second in the measured window are the ceiling the cluster's deliveries are
 * compared with. The child is stopped before this resolves, also on cancel.
 *
 * @module
 */

import { SYSTEM_CLOCK, type TimerHandle } from "../async/clock.ts";
import { selfCommand } from "../cluster/self_command.ts";
import { BENCH_HOST, checkCancelled, freePort, mapLimited, sleep, waitFor } from "./async_util.ts";
import { CONNECT_CONCURRENCY } from "./bench_users.ts";
import { LATE_MS, MAX_OUTSTANDING } from "./load_generator.ts";
import { paceOpenLoop } from "./pacer.ts";
import { CLOCK_TICKS_PER_SECOND, readCpuTicks, readMemory } from "./proc_stats.ts";
import { cpuPercent, perSecond } from "./stats.ts";

/** What {@linkcode runEchoBaseline} needs. */
export interface BaselineConfig {
  readonly connections: number;
  readonly bodies: readonly string[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly rate: number | null;
  readonly window: number;
  readonly signal: AbortSignal;
  readonly progress: (line: string) => void;
}

/** What the baseline measured. */
export interface BaselineResult {
  /** Echoes received per second in the measured window. */
  readonly echoesPerS: number;
  readonly sent: number;
  readonly echoes: number;
  /** Round-trip times (ms) of frames sent in the window. */
  readonly latencies: readonly number[];
  /** Frames never echoed by the end of the drain. */
  readonly lost: number;
  readonly late: number;
  readonly skipped: number;
  /** The echo server's CPU over the window (% of one core) and memory at the end. */
  readonly serverCpuPercent: number | null;
  readonly serverRssBytes: number | null;
  readonly generatorCpuPercent: number | null;
  readonly port: number;
}

interface _Cpu {
  server: number | null;
  self: number | null;
  at: number;
}

interface _Conn {
  socket: WebSocket;
  /** Send times of frames not yet echoed (echoes come back in order). */
  times: number[];
  head: number;
  open: boolean;
}

/** Runs the echo baseline; the child process is gone when this settles. */
export async function runEchoBaseline(cfg: BaselineConfig): Promise<BaselineResult> {
  const port = freePort();
  const { cmd, args } = selfCommand(["bench", "--echo-server", String(port)]);
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const conns: _Conn[] = [];
  try {
    await _waitHealthy(`http://${BENCH_HOST}:${port}/`, () => exited, cfg.signal);
    cfg.progress(
      `baseline: echo server up on port ${port}; opening ${cfg.connections} connections`,
    );
    await mapLimited(
      Array.from({ length: cfg.connections }, (_, i) => i),
      CONNECT_CONCURRENCY,
      cfg.signal,
      async (i) => {
        conns[i] = await _open(`ws://${BENCH_HOST}:${port}/echo`);
      },
    );
    return await _drive(conns, cfg, child.pid, port);
  } finally {
    await Promise.race([
      Promise.allSettled(conns.filter((c) => c).map(_close)),
      sleep(5_000),
    ]);
    _kill(child, "SIGTERM");
    const timer = setTimeout(() => _kill(child, "SIGKILL"), 5_000);
    await status;
    clearTimeout(timer);
  }
}

async function _drive(
  conns: _Conn[],
  cfg: BaselineConfig,
  pid: number,
  port: number,
): Promise<BaselineResult> {
  const latencies: number[] = [];
  const start = performance.now();
  const mStart = start + cfg.warmupMs;
  const mEnd = mStart + cfg.durationMs;
  let sending = true;
  let seq = 0;
  let echoes = 0;
  let inWindow = 0;
  let outstanding = 0;
  let late = 0;
  let skipped = 0;
  let cpu0: Promise<_Cpu> | null = null;
  let cpu1: Promise<_Cpu> | null = null;
  const snapshot = async (): Promise<_Cpu> => {
    const t0 = performance.now();
    const ticks = await readCpuTicks([pid, Deno.pid]);
    return {
      server: ticks.get(pid) ?? null,
      self: ticks.get(Deno.pid) ?? null,
      at: (t0 + performance.now()) / 2,
    };
  };

  const send = (i: number) => {
    const c = conns[i]!;
    if (!c.open) return;
    const id = seq++;
    const body = cfg.bodies[id % cfg.bodies.length]!;
    c.times.push(performance.now());
    outstanding++;
    c.socket.send(
      `{"type":"single_message","to":${
        i + 1
      },"body":"${body}","client_msg_id":"b${id}","ref":${id}}`,
    );
  };
  conns.forEach((c, i) => {
    c.socket.onmessage = () => {
      const now = performance.now();
      const sentAt = c.times[c.head++];
      if (c.head > 1024 && c.head * 2 > c.times.length) {
        c.times = c.times.slice(c.head);
        c.head = 0;
      }
      outstanding--;
      echoes++;
      if (now >= mStart && now < mEnd) inWindow++;
      if (sentAt !== undefined && sentAt >= mStart && sentAt < mEnd) latencies.push(now - sentAt);
      if (cfg.rate === null && sending) send(i);
    };
  });

  const timers: TimerHandle[] = [];
  timers.push(setTimeout(() => cpu0 = snapshot(), cfg.warmupMs));
  const ended = Promise.withResolvers<void>();
  timers.push(setTimeout(() => {
    sending = false;
    cpu1 = snapshot();
    ended.resolve();
  }, cfg.warmupMs + cfg.durationMs));
  const onAbort = () => {
    sending = false;
    ended.resolve();
  };
  cfg.signal.addEventListener("abort", onAbort, { once: true });
  const progressTimer = setInterval(() => {
    cfg.progress(
      `baseline: ${((performance.now() - start) / 1000).toFixed(0)} s, sent ${seq}, ` +
        `echoed ${echoes}, outstanding ${outstanding}`,
    );
  }, 1_000);

  if (cfg.rate === null) {
    for (let w = 0; w < cfg.window; w++) for (let i = 0; i < conns.length; i++) send(i);
  } else {
    paceOpenLoop({
      rate: cfg.rate,
      start,
      count: conns.length,
      active: () => sending,
      timers,
      onSlot: (i, lag) => {
        if (lag > LATE_MS) late++;
        if (outstanding >= MAX_OUTSTANDING) skipped++;
        else send(i);
      },
    });
  }
  await ended.promise;
  await waitFor(() => outstanding === 0, 5_000, cfg.signal, 50).catch(() => false);
  clearInterval(progressTimer);
  for (const t of timers) SYSTEM_CLOCK.clearTimeout(t);
  cfg.signal.removeEventListener("abort", onAbort);

  const c0 = await (cpu0 as Promise<_Cpu> | null);
  const c1 = await (cpu1 as Promise<_Cpu> | null);
  const pct = (key: "server" | "self") => {
    const a = c0?.[key];
    const b = c1?.[key];
    if (c0 == null || c1 == null || a == null || b == null) return null;
    return cpuPercent(b - a, CLOCK_TICKS_PER_SECOND, c1.at - c0.at);
  };
  return {
    echoesPerS: perSecond(inWindow, cfg.durationMs),
    sent: seq,
    echoes,
    latencies,
    lost: outstanding,
    late,
    skipped,
    serverCpuPercent: pct("server"),
    serverRssBytes: (await readMemory([pid])).get(pid)?.rssBytes ?? null,
    generatorCpuPercent: pct("self"),
    port,
  };
}

function _open(url: string): Promise<_Conn> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const conn: _Conn = { socket, times: [], head: 0, open: false };
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`Timed out connecting to ${url}`));
    }, 10_000);
    socket.onopen = () => {
      clearTimeout(timer);
      conn.open = true;
      resolve(conn);
    };
    socket.onclose = () => {
      clearTimeout(timer);
      conn.open = false;
      reject(new Error(`Connection to ${url} closed before it opened`));
    };
    socket.onerror = () => {/* onclose follows */};
  });
}

function _close(c: _Conn): Promise<void> {
  return new Promise((resolve) => {
    if (c.socket.readyState === WebSocket.CLOSED) return resolve();
    c.socket.onclose = () => resolve();
    c.socket.close(1000, "Baseline done");
  });
}

async function _waitHealthy(url: string, exited: () => boolean, signal: AbortSignal) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    checkCancelled(signal);
    if (exited()) throw new Error("The echo server exited before it was ready");
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`The echo server at ${url} was not ready in 20 s`);
    await sleep(100, signal);
  }
}

function _kill(child: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch {
    // already gone
  }
}
