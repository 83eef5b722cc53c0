/**
 * Tests of the web client's image persister (web/image_persister.ts): a fake source (a
 * change counter whose image is the counter's value) and a fake sink that records writes
 * and can be made slow or failing; then the real sql.js database as the source.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SqlJsDatabase } from "../../core/keystore/sqljs_database.ts";
import { ImagePersister, type ImageSource, persisting } from "../../web/image_persister.ts";
import { loadSqlJsForTests } from "../helpers/sqljs.ts";

/** A source whose image is one byte: its change counter. */
class FakeSource implements ImageSource {
  changes = 0;
  export(): Uint8Array {
    return new Uint8Array([this.changes]);
  }
}

/** A sink that records each image; `slow` holds writes until released, `fail` rejects them. */
class FakeSink {
  readonly writes: Uint8Array[] = [];
  /** Each slow write's gate, in order. */
  readonly gates: PromiseWithResolvers<void>[] = [];
  slow = false;
  fail: Error | null = null;
  #waiters: { count: number; resolve: () => void }[] = [];

  readonly write = (bytes: Uint8Array): Promise<void> => {
    this.writes.push(bytes.slice());
    for (const w of this.#waiters.filter((w) => this.writes.length >= w.count)) w.resolve();
    this.#waiters = this.#waiters.filter((w) => this.writes.length < w.count);
    if (this.fail !== null) return Promise.reject(this.fail);
    if (!this.slow) return Promise.resolve();
    const gate = Promise.withResolvers<void>();
    this.gates.push(gate);
    return gate.promise;
  };

  /** The values written so far (each image's one byte). */
  get values(): number[] {
    return this.writes.map((w) => w[0]!);
  }

  /** Resolves once `count` writes have started. */
  started(count: number): Promise<void> {
    if (this.writes.length >= count) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ count, resolve });
    return promise;
  }
}

/** Lets every ready microtask and timer-free continuation run. */
function _flush(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

/** Whether `p` has settled, tracked as it goes. */
function _track(p: Promise<unknown>): { settled: boolean } {
  const state = { settled: false };
  p.then(() => state.settled = true, () => state.settled = true);
  return state;
}

Deno.test("ImagePersister() rejects a negative delayMs", () => {
  assert.throws(
    () => new ImagePersister(new FakeSource(), new FakeSink().write, { delayMs: -1 }),
    RangeError,
  );
});

Deno.test("persisted() resolves at once when nothing changed", async () => {
  const src = new FakeSource();
  src.changes = 3; // Changes before the persister was made count as stored.
  const sink = new FakeSink();
  const p = new ImagePersister(src, sink.write);
  assert.equal(p.dirty, false);
  await p.persisted();
  assert.deepEqual(sink.values, []);
});

Deno.test("persisted() after a change writes once and resolves after the sink does", async () => {
  const src = new FakeSource();
  const sink = new FakeSink();
  sink.slow = true;
  const p = new ImagePersister(src, sink.write);
  src.changes = 1;
  assert.equal(p.dirty, true);
  const done = p.persisted();
  const state = _track(done);
  await _flush();
  assert.deepEqual(sink.values, [1]);
  assert.equal(state.settled, false, "resolved before the sink stored the image");
  assert.equal(p.dirty, true);
  sink.gates[0]!.resolve();
  await done;
  assert.equal(p.dirty, false);
  await p.persisted();
  assert.deepEqual(sink.values, [1], "a clean persister writes nothing more");
});

Deno.test("persisted() writes changes made during a slow write in exactly one more write", async () => {
  const src = new FakeSource();
  const sink = new FakeSink();
  sink.slow = true;
  const p = new ImagePersister(src, sink.write);
  src.changes = 1;
  const first = p.persisted();
  await sink.started(1);
  src.changes = 2;
  src.changes = 3;
  const second = p.persisted(); // A second caller while the first write is under way.
  src.changes = 4;
  const firstState = _track(first);
  const secondState = _track(second);
  sink.gates[0]!.resolve();
  await sink.started(2);
  await _flush();
  assert.deepEqual(sink.values, [1, 4]);
  assert.equal(firstState.settled, false, "resolved before the later changes were stored");
  assert.equal(secondState.settled, false);
  sink.gates[1]!.resolve();
  await Promise.all([first, second]);
  assert.deepEqual(sink.values, [1, 4]);
  assert.equal(p.dirty, false);
});

Deno.test("persisted() rejects when the write fails and stays dirty, so the next one writes again", async () => {
  const src = new FakeSource();
  const sink = new FakeSink();
  const p = new ImagePersister(src, sink.write);
  src.changes = 1;
  sink.fail = new Error("quota exceeded");
  await assert.rejects(p.persisted(), { message: "quota exceeded" });
  assert.equal(p.dirty, true);
  sink.fail = null;
  await p.persisted();
  assert.deepEqual(sink.values, [1, 1]);
  assert.equal(p.dirty, false);
});

Deno.test("touch() coalesces a burst of changes into one write after delayMs", async () => {
  const src = new FakeSource();
  const sink = new FakeSink();
  const p = new ImagePersister(src, sink.write, { delayMs: 0 });
  p.touch(); // Clean: no write is planned.
  for (let i = 1; i <= 3; i++) {
    src.changes = i;
    p.touch();
  }
  assert.deepEqual(sink.values, [], "written at once instead of after the delay");
  await sink.started(1);
  await p.persisted();
  assert.deepEqual(sink.values, [3]);
  assert.equal(p.dirty, false);
});

Deno.test("touch() reports a failed background write to onError", async () => {
  const src = new FakeSource();
  const sink = new FakeSink();
  sink.fail = new Error("disk full");
  const errors = Promise.withResolvers<Error>();
  const p = new ImagePersister(src, sink.write, { delayMs: 0, onError: errors.resolve });
  src.changes = 1;
  p.touch();
  assert.equal((await errors.promise).message, "disk full");
  assert.equal(p.dirty, true);
});

Deno.test("stop() cancels a planned write", async () => {
  const src = new FakeSource();
  const sink = new FakeSink();
  const p = new ImagePersister(src, sink.write, { delayMs: 0 });
  src.changes = 1;
  p.touch();
  p.stop();
  await _flush();
  assert.deepEqual(sink.values, []);
  assert.equal(p.dirty, true);
});

/** A stand-in for the keystore: private state, a getter, sync and async methods, close. */
class FakeStore {
  readonly log: string[] = [];
  readonly closed = Promise.withResolvers<void>();
  #src: FakeSource;
  #items: string[] = [];
  constructor(src: FakeSource) {
    this.#src = src;
  }
  get count(): number {
    return this.#items.length;
  }
  put(item: string): number {
    this.#items.push(item);
    this.#src.changes++;
    return this.#items.length;
  }
  async putLater(item: string): Promise<string> {
    await Promise.resolve();
    this.#items.push(item);
    this.#src.changes++;
    return item.toUpperCase();
  }
  close(): void {
    this.log.push("close");
    this.closed.resolve();
  }
}

function _persisting(delayMs = 0) {
  const src = new FakeSource();
  const sink = new FakeSink();
  const store = new FakeStore(src);
  const persister = new ImagePersister(src, (bytes) => {
    store.log.push(`write ${bytes[0]}`);
    return sink.write(bytes);
  }, { delayMs });
  return { src, sink, store, wrapped: persisting(store, persister) };
}

Deno.test("persisting() writes after a method call", async () => {
  const { sink, wrapped } = _persisting();
  assert.equal(wrapped.put("a"), 1);
  assert.deepEqual(sink.values, []);
  await sink.started(1);
  assert.deepEqual(sink.values, [1]);
});

Deno.test("persisting() writes after an async method's promise settles", async () => {
  const { sink, wrapped } = _persisting();
  assert.equal(await wrapped.putLater("b"), "B");
  await sink.started(1);
  await wrapped.persisted();
  assert.deepEqual(sink.values, [1]);
});

Deno.test("persisting() passes through return values and getters", async () => {
  const { sink, wrapped } = _persisting(60_000);
  assert.equal(wrapped.count, 0);
  assert.equal(wrapped.put("a"), 1);
  assert.equal(wrapped.put("b"), 2);
  assert.equal(wrapped.count, 2);
  // persisted() writes now rather than after the (long) delay.
  await wrapped.persisted();
  assert.deepEqual(sink.values, [2]);
  wrapped.close(); // Stops the timer, so the test ends without one pending.
  await wrapped.closed.promise;
});

Deno.test("persisting() close() waits for the last write, then closes", async () => {
  const { sink, store, wrapped } = _persisting(60_000);
  sink.slow = true;
  wrapped.put("a");
  wrapped.close();
  await sink.started(1);
  await _flush();
  assert.deepEqual(store.log, ["write 1"], "closed before the image was stored");
  sink.gates[0]!.resolve();
  await store.closed.promise;
  assert.deepEqual(store.log, ["write 1", "close"]);
});

Deno.test("persisting() close() still closes when the last write fails", async () => {
  const { sink, store, wrapped } = _persisting(60_000);
  sink.fail = new Error("disk full");
  wrapped.put("a");
  wrapped.close();
  await store.closed.promise;
  assert.deepEqual(store.log, ["write 1", "close"]);
});

Deno.test("persisted() stores a SqlJsDatabase image that opens with the row", async () => {
  const SQL = await loadSqlJsForTests();
  const db = new SqlJsDatabase(SQL);
  const sink = new FakeSink();
  const persister = new ImagePersister(db, sink.write);
  const wrapped = persisting(db, persister);
  wrapped.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  const insert = wrapped.prepare("INSERT INTO notes (body) VALUES (?)");
  assert.equal(insert.run("hello").changes, 1);
  assert.equal(persister.dirty, true);
  await wrapped.persisted();
  assert.equal(persister.dirty, false);
  const image = sink.writes.at(-1)!;
  const copy = new SqlJsDatabase(SQL, image);
  try {
    assert.deepEqual(copy.prepare("SELECT id, body FROM notes").all(), [{ id: 1, body: "hello" }]);
  } finally {
    copy.close();
  }
  const writes = sink.writes.length;
  wrapped.close();
  await _flush();
  assert.equal(db.closed, true);
  assert.equal(sink.writes.length, writes, "close() wrote again though nothing changed");
});
