/**
 * One load generator process: the hidden `fastchat bench --generate K` mode. With
 * `--generators G`, the benchmark registers every user itself, then hands each of G child
 * processes a contiguous slice of them (their session tokens, `gen_lines.ts`). A slice
 * resumes its users' sessions through the balancer, sends its share of the load exactly as
 * `load_generator.ts` does in one process (same mix, pacing, `busy` handling), and records
 * every message it sent and every message its users received. Whether each delivery arrived
 * (lost, duplicated, misrouted) and the end-to-end latency are decided by the parent, which
 * has every slice's records (`gen_merge.ts`).
 *
 * What differs from one process: a sender cannot see a recipient in another process, so a
 * message is complete (leaves the closed-loop window, ends the drain) when it is accepted and
 * the `delivered` receipt of every recipient came back to the sender's connection.
 *
 * @module
 */

import { SYSTEM_CLOCK, type TimerHandle } from "../async/clock.ts";
import { RequestError } from "../client/engine/errors.ts";
import { ERROR_CODES, type ServerFrame } from "../protocol/mod.ts";
import { sleep } from "./async_util.ts";
import { type BenchUser, closeUsers, resumeUsers } from "./bench_users.ts";
import { makeBodyPool } from "./body_pool.ts";
import {
  type ChildLine,
  chunkRows,
  emptyRecvRows,
  emptySentRows,
  type ParentLine,
  type SliceConfig,
} from "./gen_lines.ts";
import {
  busyRetryDelayMs,
  DRAIN_MS,
  DRAIN_STALL_MS,
  LATE_MS,
  MAX_DRAIN_MS,
  MAX_OUTSTANDING,
  mulberry32,
} from "./load_generator.ts";
import { paceOpenLoop } from "./pacer.ts";

/** Rows per `sent` or `recv` line. */
const _ROWS_PER_LINE = 20_000;

interface _Msg {
  row: number;
  /** The sender's index in this slice. */
  sender: number;
  firstAt: number;
  sentAt: number;
  to: number;
  groupId: number | null;
  expected: number;
  receipts: number;
  accepted: boolean;
  measured: boolean;
}

/**
 * Runs one slice: reads its config, resumes its users, reports `ready`, then follows the
 * parent's lines until `finish` (then it reports every record and `result`) or the end of
 * its input. Every connection is closed before this settles. Errors are reported as
 * `failed` lines and rethrown.
 */
export async function runSlice(io: {
  readonly write: (line: ChildLine) => void;
  /** The parent's next line; null when its input ended. */
  readonly next: () => Promise<ParentLine | null>;
  readonly signal: AbortSignal;
}): Promise<void> {
  let users: BenchUser[] = [];
  try {
    const first = await io.next();
    if (first?.type !== "config") {
      throw new TypeError(`Expected a config line first, got ${first?.type ?? "the end of input"}`);
    }
    const cfg = first.config;
    users = await resumeUsers({
      balancerUrl: cfg.balancerUrl,
      first: cfg.first,
      tokens: cfg.tokens,
      signal: io.signal,
      onProgress: (n) => {
        if (n % 100 === 0 || n === cfg.tokens.length) io.write({ type: "progress", done: n });
      },
    });
    for (const u of users) u.groupId = cfg.groupOf[u.index] ?? null;
    io.write({ type: "ready", assignments: users.map((u) => u.serverId) });
    const engine = _engine(cfg, users, io.write, io.signal);
    for (;;) {
      const line = await io.next();
      if (line === null) throw new Error("The benchmark closed the generator's input early");
      if (line.type === "clock") io.write({ type: "clock", n: line.n, now: performance.now() });
      else if (line.type === "start") engine.start(line.measureFrom, line.measureTo);
      else if (line.type === "stop") void engine.stop().then(() => io.write({ type: "drained" }));
      else if (line.type === "finish") {
        engine.report();
        break;
      }
    }
  } catch (err) {
    io.write({ type: "failed", message: (err as Error).message });
    throw err;
  } finally {
    await closeUsers(users, 10_000);
  }
}

function _engine(
  cfg: SliceConfig,
  users: readonly BenchUser[],
  write: (line: ChildLine) => void,
  signal: AbortSignal,
) {
  const bodies = makeBodyPool(cfg.messageBytes);
  const rng = mulberry32((0x5eed_f00d + cfg.k * 0x9e37_79b9) >>> 0);
  const n = cfg.userIds.length;
  const closedLoop = cfg.rate === null;
  const records = new Map<number, _Msg>();
  const sent = emptySentRows();
  const recv = emptyRecvRows();
  const acceptLatencies: number[] = [];
  const acceptLatenciesFirst: number[] = [];
  const acceptedPerUser = new Array<number>(users.length).fill(0);
  const errorSamples: string[] = [];
  const timers: TimerHandle[] = [];
  let seq = 0;
  let sending = false;
  let measureFrom = Infinity;
  let measureTo = -Infinity;
  const inWindow = (t: number) => t >= measureFrom && t < measureTo;
  let sentDirect = 0;
  let sentGroup = 0;
  let accepted = 0;
  let acceptedInWindow = 0;
  let receipts = 0;
  let busy = 0;
  let refused = 0;
  let sendErrors = 0;
  let late = 0;
  let skipped = 0;
  let maxSendLagMs = 0;
  let drainMs = 0;
  let progressTimer: ReturnType<typeof setInterval> | undefined;

  const finish = (id: number, rec: _Msg) => {
    records.delete(id);
    if (closedLoop && sending) send(rec.sender);
  };

  const send = (j: number) => {
    const u = users[j]!;
    if (u.closed !== null) return;
    // Numbers unique over every slice, so a recipient anywhere names the message.
    const id = seq++ * cfg.generators + cfg.k;
    const now = performance.now();
    const asGroup = u.groupId !== null && (cfg.mix.dm === 0 || rng() < cfg.mix.group);
    const rec: _Msg = {
      row: sent.id.length,
      sender: j,
      firstAt: now,
      sentAt: now,
      to: -1,
      groupId: null,
      expected: 1,
      receipts: 0,
      accepted: false,
      measured: inWindow(now),
    };
    if (asGroup) {
      rec.groupId = u.groupId;
      rec.expected = (cfg.groupSizes[String(u.groupId)] ?? 1) - 1;
      sentGroup++;
    } else {
      let to = Math.floor(rng() * (n - 1));
      if (to >= u.index) to++;
      rec.to = to;
      sentDirect++;
    }
    sent.id.push(id);
    sent.sender.push(u.index);
    sent.to.push(rec.to);
    sent.group.push(rec.groupId ?? -1);
    sent.firstAt.push(_ms(now));
    sent.status.push(0);
    sent.measured.push(rec.measured ? 1 : 0);
    sent.expected.push(rec.expected);
    records.set(id, rec);
    attempt(id, rec);
  };

  const fail = (id: number, rec: _Msg) => {
    sent.status[rec.row] = 2;
    finish(id, rec);
  };

  const attempt = (id: number, rec: _Msg) => {
    const u = users[rec.sender]!;
    const body = bodies[id % bodies.length]!;
    rec.sentAt = performance.now();
    const reply = rec.groupId !== null
      ? u.client.groupSend(rec.groupId, body, `b${id}`)
      : u.client.send(cfg.userIds[rec.to]!, body, `b${id}`);
    reply.then((a) => {
      const r = records.get(id);
      if (!r) return;
      r.accepted = true;
      sent.status[r.row] = 1;
      accepted++;
      const now = performance.now();
      if (inWindow(now)) {
        acceptedInWindow++;
        acceptedPerUser[r.sender]!++;
      }
      if (r.measured) {
        acceptLatencies.push(_ms(now - r.sentAt));
        acceptLatenciesFirst.push(_ms(now - r.firstAt));
      }
      if (a.duplicate) _sample(errorSamples, `b${id} was accepted as a duplicate`);
      if (r.receipts >= r.expected) finish(id, r);
    }, (err: Error) => {
      const r = records.get(id);
      if (r && err instanceof RequestError && err.code === ERROR_CODES.busy) {
        busy++;
        if (!closedLoop || signal.aborted) {
          refused++;
          fail(id, r);
          return;
        }
        const wait = busyRetryDelayMs(err, rng);
        timers.push(setTimeout(() => {
          if (records.get(id) === r && users[r.sender]!.closed === null) attempt(id, r);
        }, wait));
        return;
      }
      sendErrors++;
      _sample(errorSamples, `b${id}: ${err.message}`);
      if (r) fail(id, r);
    });
  };

  const onReceipt = (j: number, cmid: string | null) => {
    if (cmid === null || cmid.charCodeAt(0) !== 98 /* "b" */) return;
    const id = Number(cmid.slice(1));
    const rec = records.get(id);
    if (!rec || rec.sender !== j) return;
    rec.receipts++;
    receipts++;
    if (rec.accepted && rec.receipts >= rec.expected) finish(id, rec);
  };

  const receiver = (j: number) => (f: ServerFrame) => {
    if (f.type === "delivered") return onReceipt(j, f.client_msg_id);
    if (f.type === "receipts") {
      for (const r of f.items) onReceipt(j, r.client_msg_id);
      return;
    }
    if (f.type !== "message") return;
    const cmid = f.client_msg_id;
    recv.user.push(users[j]!.index);
    recv.msgId.push(f.msg_id);
    recv.id.push(cmid !== null && cmid.charCodeAt(0) === 98 ? Number(cmid.slice(1)) : -1);
    const now = performance.now();
    recv.at.push(_ms(now));
    recv.inWindow.push(inWindow(now) ? 1 : 0);
  };

  return {
    start(from: number, to: number) {
      measureFrom = from;
      measureTo = to;
      users.forEach((u, j) => u.onFrame = receiver(j));
      sending = true;
      const start = performance.now();
      progressTimer = setInterval(() => {
        write({
          type: "load",
          sent: seq,
          accepted,
          delivered: recv.id.length,
          outstanding: records.size,
        });
      }, 1_000);
      if (closedLoop) {
        for (let w = 0; w < cfg.window; w++) for (let j = 0; j < users.length; j++) send(j);
        return;
      }
      paceOpenLoop({
        rate: cfg.rate!,
        start,
        count: users.length,
        active: () => sending,
        timers,
        onSlot: (j, lag) => {
          if (lag > LATE_MS) late++;
          if (lag > maxSendLagMs) maxSendLagMs = lag;
          const cap = MAX_OUTSTANDING / cfg.generators;
          if (records.size >= cap || users[j]!.closed !== null) skipped++;
          else send(j);
        },
      });
    },
    /** Stops sending and waits for this slice's messages to complete (the drain). */
    async stop() {
      sending = false;
      const drainStart = performance.now();
      let lastCount = -1;
      let lastChange = drainStart;
      while (records.size > 0 && !signal.aborted) {
        const now = performance.now();
        const count = receipts + accepted + sendErrors;
        if (count !== lastCount) {
          lastCount = count;
          lastChange = now;
        }
        const elapsed = now - drainStart;
        if (elapsed >= MAX_DRAIN_MS) break;
        if (elapsed >= DRAIN_MS && now - lastChange >= DRAIN_STALL_MS) break;
        await sleep(50, signal);
      }
      drainMs = performance.now() - drainStart;
    },
    /** Writes every record and the summary; receiving ends here. */
    report() {
      clearInterval(progressTimer);
      for (const t of timers) SYSTEM_CLOCK.clearTimeout(t);
      for (const u of users) u.onFrame = () => {};
      for (const rows of chunkRows(sent, _ROWS_PER_LINE)) write({ type: "sent", ...rows });
      for (const rows of chunkRows(recv, _ROWS_PER_LINE)) write({ type: "recv", ...rows });
      write({
        type: "result",
        summary: {
          sent: seq,
          sentDirect,
          sentGroup,
          accepted,
          acceptedInWindow,
          acceptLatencies,
          acceptLatenciesFirst,
          busy,
          refused,
          acceptedPerUser,
          sendErrors,
          errorSamples,
          closed: users.filter((u) => u.closed !== null).map((u) => u.index),
          late,
          skipped,
          maxSendLagMs: _ms(maxSendLagMs),
          drainMs: _ms(drainMs),
          rssBytes: Deno.memoryUsage().rss,
        },
      });
    },
  };
}

/** Milliseconds to the microsecond: what the lines carry. */
function _ms(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function _sample(samples: string[], line: string): void {
  if (samples.length < 10) samples.push(line);
}
