/**
 * The load generator's answer to `busy` (`core/bench/load_generator.ts`), over fake users
 * whose server refuses every message once: in the closed loop the same message is sent
 * again at its appointment and counts once; in the open loop the refused excess is counted
 * and not offered again. Short real runs (a few hundred milliseconds of load).
 */

import assert from "node:assert/strict";
import { busyRetryDelayMs, runLoad } from "../../core/bench/load_generator.ts";
import type { BenchUser } from "../../core/bench/bench_users.ts";
import { RequestError } from "../../core/client/engine/errors.ts";
import type { ServerFrame } from "../../core/protocol/mod.ts";

/** Users whose fake server answers `busy` to each message's first attempt. */
function _users(n: number, acceptRetries: boolean) {
  const attempts = new Map<string, number>();
  let nextId = 1;
  const users: BenchUser[] = [];
  for (let i = 0; i < n; i++) {
    const client = {
      send(to: number, body: string, cmid: string) {
        const k = (attempts.get(cmid) ?? 0) + 1;
        attempts.set(cmid, k);
        if (k === 1 || !acceptRetries) {
          return Promise.reject(new RequestError("busy", "The server is busy", 5));
        }
        const msgId = nextId++;
        const frame: ServerFrame = {
          type: "message",
          msg_id: msgId,
          kind: "direct",
          from: i + 1,
          group_id: null,
          body,
          sent_at: Date.now(),
          client_msg_id: cmid,
        };
        queueMicrotask(() => users[to - 1]!.onFrame(frame));
        return Promise.resolve({
          type: "accepted" as const,
          ref: 1,
          client_msg_id: cmid,
          msg_id: msgId,
          duplicate: false,
        });
      },
      groupSend: () => Promise.reject(new Error("no groups here")),
    };
    users.push({
      index: i,
      userId: i + 1,
      serverId: 1,
      sessionToken: "",
      client: client as unknown as BenchUser["client"],
      onFrame: () => {},
      groupId: null,
      closed: null,
    });
  }
  return { users, attempts };
}

const _base = {
  warmupMs: 0,
  durationMs: 300,
  window: 1,
  mix: { dm: 1, group: 0 },
  bodies: ["x"],
  progress: () => {},
  label: "test",
};

Deno.test("runLoad() sends a message refused as busy again, closed loop, and counts it once", async () => {
  const { users, attempts } = _users(3, true);
  const r = await runLoad(users, [], {
    ..._base,
    rate: null,
    signal: new AbortController().signal,
  });
  assert.ok(r.accepted > 0);
  assert.equal(r.accepted, r.sent, "every message was accepted in the end");
  assert.equal(r.busy, r.sent, "each was refused once");
  assert.equal(r.refused, 0);
  assert.equal(r.sendErrors, 0);
  assert.equal(r.lost + r.unanswered + r.duplicated, 0);
  assert.ok([...attempts.values()].every((n) => n === 2));
  assert.equal(r.acceptLatencies.length, r.acceptLatenciesFirst.length);
});

Deno.test("runLoad() counts busy answers as refused excess in the open loop", async () => {
  const { users, attempts } = _users(3, false);
  const r = await runLoad(users, [], { ..._base, rate: 100, signal: new AbortController().signal });
  assert.ok(r.sent > 0);
  assert.equal(r.refused, r.sent);
  assert.equal(r.busy, r.sent);
  assert.equal(r.accepted, 0);
  assert.equal(r.sendErrors + r.lost + r.unanswered, 0);
  assert.ok([...attempts.values()].every((n) => n === 1), "nothing offered again");
});

Deno.test("busyRetryDelayMs() waits what the server asked plus at most 10 % of jitter", () => {
  const busy = new RequestError("busy", "The server is busy", 200);
  assert.equal(busyRetryDelayMs(busy, () => 0), 200);
  assert.equal(busyRetryDelayMs(busy, () => 0.5), 210);
  assert.ok(busyRetryDelayMs(busy, () => 0.999) < 220);
  // No retry_after_ms: 50 ms.
  assert.equal(busyRetryDelayMs(new RequestError("busy", "The server is busy"), () => 0), 50);
});
