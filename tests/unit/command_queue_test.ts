/**
 * The command queue the terminal and web controllers share (core/view/command_queue.ts):
 * order, waiting for a typed command's answer, failures as notices, history asked once.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ClientCommand } from "../../core/client/engine/commands.ts";
import { CommandQueue, HISTORY_PAGE } from "../../core/view/command_queue.ts";
import { applyEvent, initialView, query, type ViewState } from "../../core/view/view_state.ts";

/** An engine whose commands finish when the test says so, recording what ran. */
class FakeEngine {
  readonly ran: string[] = [];
  readonly pending: { cmd: ClientCommand; done: PromiseWithResolvers<void> }[] = [];
  run(cmd: ClientCommand): Promise<void> {
    this.ran.push(cmd.name);
    const done = Promise.withResolvers<void>();
    this.pending.push({ cmd, done });
    return done.promise;
  }
}

function _setup() {
  const engine = new FakeEngine();
  let view: ViewState = applyEvent(initialView("alice"), {
    event: "ready",
    user: "alice",
    id: 1,
    server: 1,
  });
  const access = { get: () => view, set: (v: ViewState) => void (view = v) };
  return { engine, queue: new CommandQueue(engine, access), view: () => view, access };
}

/** Waits until the engine was given `n` commands. */
async function _started(engine: FakeEngine, n: number): Promise<void> {
  for (let turn = 0; engine.ran.length < n; turn++) {
    if (turn > 1_000) assert.fail(`expected ${n} commands, got ${engine.ran.join(", ")}`);
    await Promise.resolve();
  }
}

Deno.test("CommandQueue runs commands one at a time, in order", async () => {
  const { engine, queue } = _setup();
  void queue.run({ name: "friends" });
  const second = queue.run({ name: "groups" });
  await _started(engine, 1);
  assert.deepEqual(engine.ran, ["friends"]);
  engine.pending[0]!.done.resolve();
  await _started(engine, 2);
  engine.pending[1]!.done.resolve();
  await second;
  await queue.idle();
  assert.deepEqual(engine.ran, ["friends", "groups"]);
});

Deno.test("a typed command makes the view wait for its answer until it has run", async () => {
  const { engine, queue, view } = _setup();
  const ran = queue.run({ name: "friends" }, true);
  await _started(engine, 1);
  assert.deepEqual(view().awaiting, ["friends"]);
  engine.pending[0]!.done.resolve();
  await ran;
  assert.deepEqual(view().awaiting, []);
  // Not typed: nothing is awaited.
  const quiet = queue.run({ name: "groups" });
  await _started(engine, 2);
  assert.deepEqual(view().awaiting, []);
  engine.pending[1]!.done.resolve();
  await quiet;
});

Deno.test("a failed command becomes an error notice and the queue goes on", async () => {
  const { engine, queue, view } = _setup();
  const failed = queue.run({ name: "whoami" });
  const next = queue.run({ name: "friends" });
  await _started(engine, 1);
  engine.pending[0]!.done.reject(new Error("Not connected"));
  await failed;
  assert.equal(view().notice?.text, "Not connected");
  assert.equal(view().notice?.error, true);
  await _started(engine, 2);
  engine.pending[1]!.done.resolve();
  await next;
});

Deno.test("loadHistory() asks once per conversation, never for the status pane", async () => {
  const { engine, queue, access } = _setup();
  queue.loadHistory(access.get());
  access.set(query(access.get(), "bob"));
  queue.loadHistory(access.get());
  queue.loadHistory(access.get());
  await _started(engine, 1);
  engine.pending[0]!.done.resolve();
  await queue.idle();
  assert.equal(engine.pending.length, 1);
  assert.deepEqual(engine.pending[0]!.cmd, { name: "history", target: "bob", count: HISTORY_PAGE });
});
