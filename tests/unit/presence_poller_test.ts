/**
 * The presence polling the terminal and web clients share (core/view/presence_poller.ts)
 * and their session start (core/view/session_start.ts), driven by fakes: a view whose
 * contacts are set by hand, an engine that records lookups, and a timer fired by hand.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ClientCommand } from "../../core/client/engine/commands.ts";
import {
  PRESENCE_POLL_MS,
  type PresenceSource,
  type PresenceView,
  startPresencePolling,
} from "../../core/view/presence_poller.ts";
import { FIRST_LOADS, openSession, startEngine } from "../../core/view/session_start.ts";

/** A view with contacts `ids` and something watched (`current`), changed by hand. */
class FakeView implements PresenceView {
  ids: number[] = [2];
  current = "*";
  readonly seen: ReadonlyMap<number, boolean | null>[] = [];
  readonly #listeners = new Set<() => void>();
  contactIds(): number[] {
    return [...this.ids];
  }
  onPresence(online: ReadonlyMap<number, boolean | null>): void {
    (this.seen as ReadonlyMap<number, boolean | null>[]).push(online);
  }
  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
  /** A change of the view: every listener hears it. */
  changed(): void {
    for (const fn of this.#listeners) fn();
  }
  get listeners(): number {
    return this.#listeners.size;
  }
}

/** An engine that records the IDs each lookup asked about and answers "online". */
class FakeSource implements PresenceSource {
  readonly asked: number[][] = [];
  fail = false;
  presence(userIds: readonly number[]): Promise<ReadonlyMap<number, boolean | null>> {
    this.asked.push([...userIds]);
    if (this.fail) return Promise.reject(new Error("offline"));
    return Promise.resolve(new Map(userIds.map((id) => [id, true])));
  }
}

/** A timer fired by hand: `tick()` runs what was scheduled; `stopped` once stopped. */
function _timer() {
  const t = {
    fn: null as (() => void) | null,
    ms: 0,
    stopped: false,
    every: (fn: () => void, ms: number) => {
      t.fn = fn;
      t.ms = ms;
      return () => {
        t.stopped = true;
      };
    },
    tick: () => t.fn!(),
  };
  return t;
}

/** Lets pending promise callbacks run. */
const _settle = () => new Promise((r) => queueMicrotask(() => r(undefined)));

Deno.test("startPresencePolling() asks at once and applies the answer to the view", async () => {
  const view = new FakeView();
  const source = new FakeSource();
  const timer = _timer();
  const poller = startPresencePolling(view, source, { every: timer.every });
  await poller.first;
  assert.deepEqual(source.asked, [[2]]);
  assert.deepEqual([...view.seen[0]!], [[2, true]]);
  assert.equal(timer.ms, PRESENCE_POLL_MS);
  poller.stop();
});

Deno.test("startPresencePolling() asks again on every tick, and a failed tick is ignored", async () => {
  const view = new FakeView();
  const source = new FakeSource();
  const timer = _timer();
  const poller = startPresencePolling(view, source, { every: timer.every });
  await poller.first;
  source.fail = true;
  timer.tick();
  await _settle();
  source.fail = false;
  view.ids = [2, 3];
  timer.tick();
  await _settle();
  assert.deepEqual(source.asked, [[2], [2], [2, 3]]);
  assert.equal(view.seen.length, 2);
  poller.stop();
});

Deno.test("startPresencePolling() asks at once when a contact appears, not on other changes", async () => {
  const view = new FakeView();
  const source = new FakeSource();
  const poller = startPresencePolling(view, source, { every: _timer().every });
  await poller.first;
  view.changed();
  assert.equal(source.asked.length, 1);
  view.ids = [2, 5];
  view.changed();
  assert.deepEqual(source.asked, [[2], [2, 5]]);
  view.changed();
  assert.equal(source.asked.length, 2);
  poller.stop();
});

Deno.test("startPresencePolling() asks again when what it watches changes", async () => {
  const view = new FakeView();
  const source = new FakeSource();
  const poller = startPresencePolling(view, source, {
    every: _timer().every,
    watch: () => view.current,
  });
  await poller.first;
  view.current = "@bob";
  view.changed();
  view.changed();
  assert.equal(source.asked.length, 2);
  poller.stop();
});

Deno.test("stop() ends the timer and the subscription, once", async () => {
  const view = new FakeView();
  const source = new FakeSource();
  const timer = _timer();
  const poller = startPresencePolling(view, source, { every: timer.every });
  await poller.first;
  poller.stop();
  poller.stop();
  assert.equal(timer.stopped, true);
  assert.equal(view.listeners, 0);
  view.ids = [2, 3];
  view.changed();
  assert.equal(source.asked.length, 1);
});

Deno.test("the first lookup's failure is the caller's to handle", async () => {
  const source = new FakeSource();
  source.fail = true;
  const poller = startPresencePolling(new FakeView(), source, { every: _timer().every });
  await assert.rejects(poller.first, /offline/);
  poller.stop();
});

Deno.test("startEngine() resolves true once started, false when cancelled first", async () => {
  assert.equal(await startEngine({ start: () => Promise.resolve() }), true);
  const never = { start: () => new Promise<void>(() => {}) };
  assert.equal(await startEngine(never, [Promise.resolve()]), false);
  // A start cut short that fails later is not an unhandled rejection.
  let fail!: (err: Error) => void;
  const late = { start: () => new Promise<void>((_, reject) => (fail = reject)) };
  assert.equal(await startEngine(late, [Promise.resolve()]), false);
  fail(new Error("too late"));
  await _settle();
});

Deno.test("startEngine() rejects as start() does", async () => {
  const broken = { start: () => Promise.reject(new Error("wrong password")) };
  await assert.rejects(startEngine(broken), /wrong password/);
});

Deno.test("openSession() loads friends, groups and the extras in order, then polls", async () => {
  const view = new FakeView();
  const source = new FakeSource();
  const ran: ClientCommand[] = [];
  const poller = await openSession(view, source, {
    run: (cmd) => {
      // Nothing is polled before the lists are loaded.
      assert.equal(source.asked.length, 0);
      ran.push(cmd);
      return Promise.resolve();
    },
    extra: [{ name: "requests" }],
    presence: { every: _timer().every },
  });
  await poller.first;
  assert.deepEqual(ran, [...FIRST_LOADS, { name: "requests" }]);
  assert.deepEqual(ran.map((c) => c.name), ["friends", "groups", "requests"]);
  assert.deepEqual(source.asked, [[2]]);
  poller.stop();
});
