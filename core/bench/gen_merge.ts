/**
 * The parent's half of a spread load (`--generators G`): every slice's records merged into
 * one {@linkcode LoadResult}, with the same checks `load_generator.ts` makes in one process.
 * A recipient's `msg_id` seen twice is a duplicate; a message that reached a user it was not
 * for is misrouted; an accepted message some recipient never received is lost. The
 * end-to-end latency joins the sender's send time to the recipient's receipt time, each
 * moved onto the parent's clock by its process's offset (measured before the load).
 *
 * @module
 */

import type { RecvRows, SentRows, SliceSummary } from "./gen_lines.ts";
import type { LoadResult } from "./load_generator.ts";

/** One slice as the parent received it. */
export interface SliceRecords {
  /** Global index of its first user, and how many it had. */
  readonly first: number;
  readonly count: number;
  /** Its `performance.now()` minus the parent's at the same instant, ms. */
  readonly clockOffsetMs: number;
  readonly sent: SentRows;
  readonly recv: RecvRows;
  readonly summary: SliceSummary;
}

/**
 * Merges `slices` (in user order) into one result. `groupOf` is every user's group ID by
 * global index (null: none); `windowMs` the measured window's length.
 */
export function mergeSlices(
  slices: readonly SliceRecords[],
  groupOf: readonly (number | null)[],
  windowMs: number,
): LoadResult {
  interface _Rec {
    sender: number;
    to: number;
    group: number;
    firstAt: number;
    status: number;
    measured: boolean;
    expected: number;
    received: number;
  }
  const records = new Map<number, _Rec>();
  let expectedDeliveries = 0;
  for (const s of slices) {
    const r = s.sent;
    for (let i = 0; i < r.id.length; i++) {
      const rec: _Rec = {
        sender: r.sender[i]!,
        to: r.to[i]!,
        group: r.group[i]!,
        firstAt: r.firstAt[i]! - s.clockOffsetMs,
        status: r.status[i]!,
        measured: r.measured[i] === 1,
        expected: r.expected[i]!,
        received: 0,
      };
      records.set(r.id[i]!, rec);
      if (rec.status !== 2) expectedDeliveries += rec.expected;
    }
  }
  const seen = new Map<number, Set<number>>();
  const latencies: number[] = [];
  let duplicated = 0;
  let misrouted = 0;
  let deliveries = 0;
  let deliveredInWindow = 0;
  for (const s of slices) {
    const r = s.recv;
    for (let i = 0; i < r.user.length; i++) {
      const user = r.user[i]!;
      let ids = seen.get(user);
      if (!ids) seen.set(user, ids = new Set());
      if (ids.has(r.msgId[i]!)) {
        duplicated++;
        continue;
      }
      ids.add(r.msgId[i]!);
      const rec = r.id[i]! >= 0 ? records.get(r.id[i]!) : undefined;
      if (!rec || rec.status === 2) continue; // not a benchmark message, or its request failed
      const forUser = rec.to >= 0
        ? rec.to === user
        : groupOf[user] === rec.group && rec.sender !== user;
      if (!forUser) {
        misrouted++;
        continue;
      }
      rec.received++;
      deliveries++;
      if (r.inWindow[i] === 1) deliveredInWindow++;
      if (rec.measured) latencies.push(r.at[i]! - s.clockOffsetMs - rec.firstAt);
    }
  }
  let lost = 0;
  let lostDeliveries = 0;
  let unanswered = 0;
  for (const rec of records.values()) {
    if (rec.status === 0) unanswered++;
    else if (rec.status === 1 && rec.received < rec.expected) {
      lost++;
      lostDeliveries += rec.expected - rec.received;
    }
  }
  const sum = (f: (x: SliceSummary) => number) => slices.reduce((a, s) => a + f(s.summary), 0);
  const acceptedPerUser: number[] = [];
  for (const s of slices) {
    s.summary.acceptedPerUser.forEach((v, j) => acceptedPerUser[s.first + j] = v);
  }
  return {
    sent: sum((x) => x.sent),
    sentDirect: sum((x) => x.sentDirect),
    sentGroup: sum((x) => x.sentGroup),
    accepted: sum((x) => x.accepted),
    acceptedInWindow: sum((x) => x.acceptedInWindow),
    deliveredInWindow,
    windowMs,
    deliveries,
    expectedDeliveries,
    latencies,
    acceptLatencies: slices.flatMap((s) => s.summary.acceptLatencies),
    acceptLatenciesFirst: slices.flatMap((s) => s.summary.acceptLatenciesFirst),
    busy: sum((x) => x.busy),
    refused: sum((x) => x.refused),
    acceptedPerUser,
    lost,
    lostDeliveries,
    duplicated,
    misrouted,
    sendErrors: sum((x) => x.sendErrors),
    errorSamples: slices.flatMap((s) => s.summary.errorSamples).slice(0, 10),
    unanswered,
    disconnected: sum((x) => x.closed.length),
    late: sum((x) => x.late),
    skipped: sum((x) => x.skipped),
    maxSendLagMs: Math.max(0, ...slices.map((s) => s.summary.maxSendLagMs)),
    drainMs: Math.max(0, ...slices.map((s) => s.summary.drainMs)),
  };
}
