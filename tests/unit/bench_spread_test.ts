/**
 * The load spread over generator processes (`fastchat bench --generators G`), without
 * processes: how users are sliced, how the slices' records merge into one result (lost,
 * duplicated and misrouted decided across slices, latencies joined on one clock, accepted
 * counts by global user index), the line protocol, and the command line.
 */

import assert from "node:assert/strict";
import { parseBenchArgs } from "../../cmd/bench_args.ts";
import { UsageError } from "../../cmd/command.ts";
import {
  chunkRows,
  parseChildLine,
  parseParentLine,
  readLines,
  type RecvRows,
  type SentRows,
  type SliceSummary,
} from "../../core/bench/gen_lines.ts";
import { mergeSlices, type SliceRecords } from "../../core/bench/gen_merge.ts";
import { sliceUsers } from "../../core/bench/gen_pool.ts";
import type { BenchOptions } from "../../core/bench/options.ts";

function _summary(over: Partial<SliceSummary> = {}): SliceSummary {
  return {
    sent: 0,
    sentDirect: 0,
    sentGroup: 0,
    accepted: 0,
    acceptedInWindow: 0,
    acceptLatencies: [],
    acceptLatenciesFirst: [],
    busy: 0,
    refused: 0,
    acceptedPerUser: [],
    sendErrors: 0,
    errorSamples: [],
    closed: [],
    late: 0,
    skipped: 0,
    maxSendLagMs: 0,
    drainMs: 0,
    rssBytes: 0,
    ...over,
  };
}

/** One sent message: [id, sender, to, group, firstAt, status, measured, expected]. */
type _SentRow = [number, number, number, number, number, number, number, number];
/** One reception: [user, msgId, id, at, inWindow]. */
type _RecvRow = [number, number, number, number, number];

function _sent(rows: _SentRow[]): SentRows {
  const col = (i: number) => rows.map((r) => r[i]!);
  return {
    id: col(0),
    sender: col(1),
    to: col(2),
    group: col(3),
    firstAt: col(4),
    status: col(5),
    measured: col(6),
    expected: col(7),
  };
}

function _recv(rows: _RecvRow[]): RecvRows {
  const col = (i: number) => rows.map((r) => r[i]!);
  return { user: col(0), msgId: col(1), id: col(2), at: col(3), inWindow: col(4) };
}

/**
 * Users 0-1 in slice 0 (clock 100 ms ahead of the parent's), 2-3 in slice 1 (clock 50 ms
 * behind); users 0, 1 and 2 are in group 7, user 3 in none.
 */
const _GROUP_OF = [7, 7, 7, null];

function _slices(sent0: _SentRow[], recv0: _RecvRow[], sent1: _SentRow[], recv1: _RecvRow[]) {
  const a: SliceRecords = {
    first: 0,
    count: 2,
    clockOffsetMs: 100,
    sent: _sent(sent0),
    recv: _recv(recv0),
    summary: _summary({ sent: sent0.length, acceptedPerUser: [3, 4], acceptLatencies: [1, 2] }),
  };
  const b: SliceRecords = {
    first: 2,
    count: 2,
    clockOffsetMs: -50,
    sent: _sent(sent1),
    recv: _recv(recv1),
    summary: _summary({ sent: sent1.length, acceptedPerUser: [5, 0], acceptLatencies: [3] }),
  };
  return [a, b];
}

Deno.test("mergeSlices() joins deliveries across slices and measures latency on one clock", () => {
  const r = mergeSlices(
    _slices(
      // Slice 0, user 0: a direct message (id 0) to user 3 in slice 1, and a group message
      // (id 2) to group 7 (users 1 and 2), both sent at 200 on its clock (100 on ours).
      [[0, 0, 3, -1, 200, 1, 1, 1], [2, 0, -1, 7, 200, 1, 1, 2]],
      [[1, 11, 2, 205, 1]],
      // Slice 1, user 3: a direct message (id 1) to user 1 in slice 0, at 0 (50 on ours).
      [[1, 3, 1, -1, 0, 1, 0, 1]],
      [[3, 10, 0, 60, 1], [2, 12, 2, 70, 0], [2, 99, -1, 70, 0]],
    ),
    _GROUP_OF,
    1000,
  );
  // Message 1 was never received by user 1 (only the group message was): one lost.
  assert.equal(r.lost, 1);
  assert.equal(r.duplicated, 0);
  assert.equal(r.misrouted, 0);
  assert.equal(r.unanswered, 0);
  assert.equal(r.sent, 3);
  assert.equal(r.expectedDeliveries, 4);
  assert.equal(r.deliveries, 3);
  // Measured messages only: 0 → user 3 at 60 - (-50) = 110 on our clock; 2 → user 1 at 105
  // and user 2 at 120; all sent at 100.
  assert.deepEqual([...r.latencies].sort((x, y) => x - y), [5, 10, 20]);
  assert.equal(r.deliveredInWindow, 2);
  assert.deepEqual(r.acceptLatencies, [1, 2, 3], "each slice's own, concatenated");
  assert.deepEqual(r.acceptedPerUser, [3, 4, 5, 0], "by global user index");
  assert.equal(r.windowMs, 1000);
});

Deno.test("mergeSlices() counts a delivery missing in another slice as lost", () => {
  const r = mergeSlices(
    _slices([[0, 0, 3, -1, 0, 1, 1, 1]], [], [], []),
    _GROUP_OF,
    1000,
  );
  assert.equal(r.lost, 1);
  assert.equal(r.lostDeliveries, 1);
  assert.equal(r.deliveries, 0);
});

Deno.test("mergeSlices() finds duplicates per recipient and misrouted messages across slices", () => {
  const r = mergeSlices(
    _slices(
      [[0, 0, 3, -1, 0, 1, 1, 1], [2, 1, -1, 7, 0, 1, 1, 2]],
      // User 1 receives its own group message (misrouted); user 0 receives the direct
      // message meant for user 3 (misrouted).
      [[1, 20, 2, 1, 1], [0, 21, 0, 1, 1], [0, 20, 2, 1, 1]],
      [],
      // User 3 gets message 0 twice on the wire (same msg_id): a duplicate.
      [[3, 21, 0, 1, 1], [3, 21, 0, 2, 1], [2, 20, 2, 1, 1]],
    ),
    _GROUP_OF,
    1000,
  );
  assert.equal(r.duplicated, 1);
  assert.equal(r.misrouted, 2);
  assert.equal(r.lost, 0, "user 3 and, for the group message, users 0 and 2 got theirs");
  assert.equal(r.deliveries, 3);
});

Deno.test("mergeSlices() leaves failed sends out and counts unanswered ones", () => {
  const r = mergeSlices(
    _slices(
      [[0, 0, 3, -1, 0, 2, 1, 1], [2, 0, 2, -1, 0, 0, 1, 1]],
      [],
      [],
      [[3, 5, 0, 1, 1]],
    ),
    _GROUP_OF,
    1000,
  );
  assert.equal(r.expectedDeliveries, 1, "the refused message expects nothing");
  assert.equal(r.deliveries, 0, "a delivery of a failed send is not counted");
  assert.equal(r.unanswered, 1);
  assert.equal(r.lost, 0);
});

Deno.test("sliceUsers() splits users into contiguous slices of near-equal size", () => {
  assert.deepEqual(sliceUsers(10, 3), [
    { first: 0, count: 4 },
    { first: 4, count: 3 },
    { first: 7, count: 3 },
  ]);
  assert.deepEqual(sliceUsers(4, 1), [{ first: 0, count: 4 }]);
  assert.throws(() => sliceUsers(2, 3), RangeError);
});

Deno.test("chunkRows() and readLines() carry long lines split anywhere", async () => {
  const rows = { a: [1, 2, 3, 4, 5], b: [6, 7, 8, 9, 10] };
  assert.deepEqual(chunkRows(rows, 2), [
    { a: [1, 2], b: [6, 7] },
    { a: [3, 4], b: [8, 9] },
    { a: [5], b: [10] },
  ]);
  const text = `{"type":"drained"}\n\n${
    JSON.stringify({ type: "failed", message: "x".repeat(5000) })
  }\n`;
  const bytes = new TextEncoder().encode(text);
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7));
      c.close();
    },
  });
  const lines: string[] = [];
  await readLines(stream, (l) => lines.push(l));
  assert.deepEqual(lines.map((l) => parseChildLine(l).type), ["drained", "failed"]);
  assert.equal(lines[1]!.length, text.length - 21);
});

Deno.test("parseChildLine() and parseParentLine() reject what is not theirs", () => {
  assert.deepEqual(parseParentLine('{"type":"stop"}'), { type: "stop" });
  assert.throws(() => parseParentLine('{"type":"measure"}'), TypeError);
  assert.throws(() => parseParentLine('{"type":"drained"}'), TypeError);
  assert.throws(() => parseChildLine('{"type":"start"}'), TypeError);
  assert.throws(() => parseChildLine("not json"), TypeError);
});

function _options(args: string[]): BenchOptions {
  const line = parseBenchArgs(args);
  assert.equal(line.kind, "run");
  return (line as { options: BenchOptions }).options;
}

function _usage(args: string[], message: RegExp): void {
  assert.throws(() => parseBenchArgs(args), (err: unknown) => {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${err}`);
    assert.match(err.message, message);
    return true;
  });
}

Deno.test("parseBenchArgs() reads --generators: 1 unless asked, up to 8", () => {
  assert.equal(_options([]).generators, 1);
  assert.equal(_options(["--clients", "1000"]).generators, 1);
  assert.equal(_options(["--clients", "40", "--generators", "2"]).generators, 2);
  assert.equal(_options(["--clients", "1000", "--generators", "8"]).generators, 8);
  assert.equal(_options(["--clients", "1000", "--generators", "1"]).generators, 1);
  _usage(["--generators", "9"], /--generators must be an integer from 1 to 8, got "9"/);
  _usage(["--generators", "0"], /--generators must be an integer from 1 to 8, got "0"/);
  _usage(["--generators", "two"], /--generators must be an integer from 1 to 8, got "two"/);
  _usage(
    ["--clients", "6", "--group-size", "2", "--generators", "4"],
    /--generators must leave each generator at least 2 clients \(--clients 6\), got 4/,
  );
  _usage(
    ["--connections", "100", "--generators", "2"],
    /--generators spreads the message load; it does not apply with --connections/,
  );
});

Deno.test("parseBenchArgs() reads the hidden --generate mode, alone", () => {
  assert.deepEqual(parseBenchArgs(["--generate", "3"]), { kind: "generate", slice: 3 });
  _usage(["--generate", "8"], /--generate must be an integer from 0 to 7, got "8"/);
  _usage(["--generate", "0", "--json"], /--generate runs alone; it takes no other option/);
});
