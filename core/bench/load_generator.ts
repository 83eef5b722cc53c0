/**
 * The benchmark's load: connected users send direct and group messages with real
 * ciphertext bodies, and every delivery is tracked by `client_msg_id` (which recipients see
 * in the `message` frame), all in this one process, so send and receipt times come from one
 * clock.
 *
 * Load models:
 * - closed loop: each user keeps `window` messages in flight; a message leaves the window
 *   when it is accepted and every recipient has it;
 * - open loop: `rate` messages per second in total, scheduled evenly over time and over
 *   users (round robin); a send issued more than {@linkcode LATE_MS} after its slot is
 *   counted late, and one skipped when {@linkcode MAX_OUTSTANDING} messages are already
 *   outstanding.
 *
 * Only the window after the warm-up counts toward rates and latency. After sending stops,
 * a drain waits for what is outstanding; then a message accepted but not received by every
 * recipient is lost. A `msg_id` a recipient receives twice on the wire (raw frames, before
 * the client's de-duplication) is a duplicate.
 *
 * @module
 */

import { SYSTEM_CLOCK, type TimerHandle } from "../async/clock.ts";
import { RequestError } from "../client/engine/errors.ts";
import { ERROR_CODES, type ServerFrame } from "../protocol/mod.ts";
import { sleep } from "./async_util.ts";
import type { BenchGroup, BenchUser } from "./bench_users.ts";
import type { MessageMix } from "./options.ts";
import { paceOpenLoop } from "./pacer.ts";

/** A send issued this many milliseconds after its open-loop slot counts as late. */
export const LATE_MS = 10;
/** Open loop: messages outstanding (sent, not yet complete) beyond which sends are skipped. */
export const MAX_OUTSTANDING = 200_000;
/** The drain lasts at least this long unless nothing is outstanding... */
export const DRAIN_MS = 5_000;
/** ...goes on past it while deliveries still arrive (one stall this long ends it)... */
export const DRAIN_STALL_MS = 2_000;
/**
 * ...and never longer than this (long enough for 80 messages in flight per client at a
 * few thousand a second: what is in flight must be able to finish).
 */
export const MAX_DRAIN_MS = 120_000;

/** What {@linkcode runLoad} needs. */
export interface LoadConfig {
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Open loop: messages per second in total; null for the closed loop. */
  readonly rate: number | null;
  /** Closed loop: messages in flight per user. */
  readonly window: number;
  readonly mix: MessageMix;
  /** Ciphertext bodies, used in turn. */
  readonly bodies: readonly string[];
  readonly signal: AbortSignal;
  /** Progress lines (stderr). */
  readonly progress: (line: string) => void;
  /** Prefix of progress lines. */
  readonly label: string;
  /** Called when the measured window starts and ends (to read CPU counters). */
  readonly onMeasureStart?: () => void;
  readonly onMeasureEnd?: () => void;
}

/** What a load run measured. */
export interface LoadResult {
  /** Messages sent, accepted (`accepted` frames), and their split by kind. */
  readonly sent: number;
  readonly sentDirect: number;
  readonly sentGroup: number;
  readonly accepted: number;
  /** Within the measured window. */
  readonly acceptedInWindow: number;
  readonly deliveredInWindow: number;
  readonly windowMs: number;
  /** Deliveries received in all (a group message counts one per recipient). */
  readonly deliveries: number;
  readonly expectedDeliveries: number;
  /** End-to-end latency (ms) of every delivery of messages sent in the window. */
  readonly latencies: readonly number[];
  /**
   * Send to `accepted` (ms, durable on the server) of messages sent in the window, from the
   * attempt the server admitted (what a server's queue adds).
   */
  readonly acceptLatencies: readonly number[];
  /** The same from the first attempt: the time spent waiting out `busy` answers included. */
  readonly acceptLatenciesFirst: readonly number[];
  /**
   * Attempts answered `busy`. In the closed loop each was sent again after its
   * `retry_after_ms`; in the open loop the message was dropped as excess (`refused`).
   */
  readonly busy: number;
  /** Open loop: messages refused with `busy` and not offered again. */
  readonly refused: number;
  /** Messages of each user accepted within the measured window, by user index. */
  readonly acceptedPerUser: readonly number[];
  /** Accepted messages some recipient never received, and the deliveries missing. */
  readonly lost: number;
  readonly lostDeliveries: number;
  /** A recipient received the same `msg_id` again (raw frames). */
  readonly duplicated: number;
  /** A message arrived at a user it was not for. */
  readonly misrouted: number;
  /** Requests answered with an error (or not at all within the client's timeout). */
  readonly sendErrors: number;
  readonly errorSamples: readonly string[];
  /** Sent but neither accepted nor failed by the end of the drain. */
  readonly unanswered: number;
  /** Users whose connection closed during the run. */
  readonly disconnected: number;
  /** Open loop: sends issued late, sends skipped, and the worst lag (ms). */
  readonly late: number;
  readonly skipped: number;
  readonly maxSendLagMs: number;
  /** How long the drain took (ms). */
  readonly drainMs: number;
}

interface _Msg {
  sender: number;
  /** When the first attempt was sent. */
  firstAt: number;
  /** Recipient user index for a direct message; -1 for a group message. */
  to: number;
  groupId: number | null;
  sentAt: number;
  expected: number;
  received: number;
  accepted: boolean;
  measured: boolean;
}

/**
 * How long a generator waits before it sends a message refused with `busy` again: what the
 * server asked (`retry_after_ms`), plus up to 10 % of jitter from `rng` so that refused clients
 * do not come back in step, as the reference client does.
 */
export function busyRetryDelayMs(err: RequestError, rng: () => number): number {
  return (err.retryAfterMs ?? 50) * (1 + rng() * 0.1);
}

/** Runs the load over `users` (and their `groups`) and resolves after the drain. */
export async function runLoad(
  users: readonly BenchUser[],
  groups: readonly BenchGroup[],
  cfg: LoadConfig,
): Promise<LoadResult> {
  if (users.length < 2) throw new RangeError(`Expected at least 2 users, got ${users.length}`);
  const rng = mulberry32(0x5eed_f00d);
  const groupSize = new Map(groups.map((g) => [g.id, g.members.length]));
  const records = new Map<number, _Msg>();
  const seen = users.map(() => new Set<number>());
  const inflight = new Int32Array(users.length);
  const latencies: number[] = [];
  const acceptLatencies: number[] = [];
  const acceptLatenciesFirst: number[] = [];
  let busy = 0;
  let refused = 0;
  const acceptedPerUser = new Array<number>(users.length).fill(0);
  const errorSamples: string[] = [];
  const closedLoop = cfg.rate === null;
  let seq = 0;
  let sending = true;
  let sentDirect = 0;
  let sentGroup = 0;
  let accepted = 0;
  let acceptedInWindow = 0;
  let deliveredInWindow = 0;
  let deliveries = 0;
  let expectedDeliveries = 0;
  let duplicated = 0;
  let misrouted = 0;
  let sendErrors = 0;
  let late = 0;
  let skipped = 0;
  let maxSendLagMs = 0;
  const start = performance.now();
  const mStart = start + cfg.warmupMs;
  const mEnd = mStart + cfg.durationMs;

  const inWindow = (t: number) => t >= mStart && t < mEnd;

  const finish = (id: number, rec: _Msg) => {
    records.delete(id);
    inflight[rec.sender]!--;
    if (closedLoop && sending) send(rec.sender);
  };

  const send = (i: number) => {
    const u = users[i]!;
    if (u.closed !== null) return;
    const id = seq++;
    const now = performance.now();
    const asGroup = u.groupId !== null && (cfg.mix.dm === 0 || rng() < cfg.mix.group);
    const rec: _Msg = {
      sender: i,
      firstAt: now,
      to: -1,
      groupId: null,
      sentAt: now,
      expected: 1,
      received: 0,
      accepted: false,
      measured: inWindow(now),
    };
    if (asGroup) {
      rec.groupId = u.groupId;
      rec.expected = (groupSize.get(u.groupId!) ?? 1) - 1;
      sentGroup++;
    } else {
      let to = Math.floor(rng() * (users.length - 1));
      if (to >= i) to++;
      rec.to = to;
      sentDirect++;
    }
    records.set(id, rec);
    expectedDeliveries += rec.expected;
    inflight[i]!++;
    attempt(id, rec);
  };

  /** Sends (again, after `busy`) the message `id`, with the same client message ID. */
  const attempt = (id: number, rec: _Msg) => {
    const u = users[rec.sender]!;
    const body = cfg.bodies[id % cfg.bodies.length]!;
    rec.sentAt = performance.now();
    const reply = rec.groupId !== null
      ? u.client.groupSend(rec.groupId, body, `b${id}`)
      : u.client.send(users[rec.to]!.userId, body, `b${id}`);
    reply.then((a) => {
      const r = records.get(id);
      if (!r) return;
      r.accepted = true;
      accepted++;
      const now = performance.now();
      if (inWindow(now)) {
        acceptedInWindow++;
        acceptedPerUser[r.sender]!++;
      }
      if (r.measured) {
        acceptLatencies.push(now - r.sentAt);
        acceptLatenciesFirst.push(now - r.firstAt);
      }
      if (a.duplicate) _sample(errorSamples, `b${id} was accepted as a duplicate`);
      if (r.received >= r.expected) finish(id, r);
    }, (err: Error) => {
      const r = records.get(id);
      if (r && err instanceof RequestError && err.code === ERROR_CODES.busy) {
        busy++;
        if (!closedLoop || cfg.signal.aborted) {
          // Open loop: the offered rate is the load; what the server refuses as excess is
          // counted, not offered again on top of it (it stored nothing).
          refused++;
          expectedDeliveries -= r.expected - r.received;
          finish(id, r);
          return;
        }
        // The server is overloaded and stored nothing: send the same message again.
        const wait = busyRetryDelayMs(err, rng);
        timers.push(setTimeout(() => {
          if (records.get(id) === r && users[r.sender]!.closed === null) attempt(id, r);
        }, wait));
        return;
      }
      sendErrors++;
      _sample(errorSamples, `b${id}: ${err.message}`);
      if (r) {
        expectedDeliveries -= r.expected - r.received;
        finish(id, r);
      }
    });
  };

  const receiver = (i: number) => (f: ServerFrame) => {
    if (f.type !== "message") return;
    const ids = seen[i]!;
    if (ids.has(f.msg_id)) {
      duplicated++;
      return;
    }
    ids.add(f.msg_id);
    const cmid = f.client_msg_id;
    if (cmid === null || cmid.charCodeAt(0) !== 98 /* "b" */) return;
    const id = Number(cmid.slice(1));
    const rec = records.get(id);
    if (!rec) return; // a message whose request failed
    if (rec.to >= 0 ? rec.to !== i : (users[i]!.groupId !== rec.groupId || rec.sender === i)) {
      misrouted++;
      return;
    }
    const now = performance.now();
    rec.received++;
    deliveries++;
    if (inWindow(now)) deliveredInWindow++;
    if (rec.measured) latencies.push(now - rec.firstAt);
    if (rec.accepted && rec.received >= rec.expected) finish(id, rec);
  };
  users.forEach((u, i) => u.onFrame = receiver(i));

  const timers: TimerHandle[] = [];
  timers.push(setTimeout(() => cfg.onMeasureStart?.(), cfg.warmupMs));
  const ended = Promise.withResolvers<void>();
  timers.push(setTimeout(() => {
    sending = false;
    cfg.onMeasureEnd?.();
    ended.resolve();
  }, cfg.warmupMs + cfg.durationMs));
  const onAbort = () => {
    sending = false;
    ended.resolve();
  };
  cfg.signal.addEventListener("abort", onAbort, { once: true });
  let lastDelivered = 0;
  let lastAt = start;
  const progressTimer = setInterval(() => {
    const now = performance.now();
    const rate = ((deliveries - lastDelivered) * 1000) / (now - lastAt);
    lastDelivered = deliveries;
    lastAt = now;
    cfg.progress(
      `${cfg.label}: ${((now - start) / 1000).toFixed(0)} s, sent ${seq}, accepted ${accepted}, ` +
        `delivered ${deliveries} (${Math.round(rate)}/s), outstanding ${records.size}`,
    );
  }, 1_000);

  if (closedLoop) {
    for (let w = 0; w < cfg.window; w++) for (let i = 0; i < users.length; i++) send(i);
  } else {
    paceOpenLoop({
      rate: cfg.rate!,
      start,
      count: users.length,
      active: () => sending,
      timers,
      onSlot: (sender, lag) => {
        if (lag > LATE_MS) late++;
        if (lag > maxSendLagMs) maxSendLagMs = lag;
        if (records.size >= MAX_OUTSTANDING || users[sender]!.closed !== null) skipped++;
        else send(sender);
      },
    });
  }

  await ended.promise;
  const drainStart = performance.now();
  let lastCount = -1;
  let lastChange = drainStart;
  while (records.size > 0 && !cfg.signal.aborted) {
    const now = performance.now();
    const count = deliveries + accepted + sendErrors;
    if (count !== lastCount) {
      lastCount = count;
      lastChange = now;
    }
    const elapsed = now - drainStart;
    if (elapsed >= MAX_DRAIN_MS) break;
    if (elapsed >= DRAIN_MS && now - lastChange >= DRAIN_STALL_MS) break;
    await sleep(50, cfg.signal);
  }
  const drainMs = performance.now() - drainStart;
  clearInterval(progressTimer);
  for (const t of timers) SYSTEM_CLOCK.clearTimeout(t);
  cfg.signal.removeEventListener("abort", onAbort);
  for (const u of users) u.onFrame = () => {};

  let lost = 0;
  let lostDeliveries = 0;
  let unanswered = 0;
  for (const rec of records.values()) {
    if (!rec.accepted) {
      unanswered++;
    } else if (rec.received < rec.expected) {
      lost++;
      lostDeliveries += rec.expected - rec.received;
    }
  }
  return {
    sent: seq,
    sentDirect,
    sentGroup,
    accepted,
    acceptedInWindow,
    deliveredInWindow,
    windowMs: cfg.durationMs,
    deliveries,
    expectedDeliveries,
    latencies,
    acceptLatencies,
    acceptLatenciesFirst,
    busy,
    refused,
    acceptedPerUser,
    lost,
    lostDeliveries,
    duplicated,
    misrouted,
    sendErrors,
    errorSamples,
    unanswered,
    disconnected: users.filter((u) => u.closed !== null).length,
    late,
    skipped,
    maxSendLagMs,
    drainMs,
  };
}

function _sample(samples: string[], line: string): void {
  if (samples.length < 10) samples.push(line);
}

/** A small seeded PRNG (mulberry32), so runs pick the same recipients and kinds. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
