/**
 * Group commit: items submitted together are flushed together, in order, one flush at a
 * time; each caller gets its own result, and a failed flush fails only its own batch.
 */

import assert from "node:assert/strict";
import { Batcher } from "../../core/server/batcher.ts";

/** Resolves after the current macrotask queue has run (the batcher schedules with one). */
function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("Batcher.submit() flushes items submitted in the same turn together, in order", async () => {
  const batches: number[][] = [];
  const b = new Batcher<number, number>((items) => {
    batches.push([...items]);
    return Promise.resolve(items.map((x) => x * 10));
  });
  const results = await Promise.all([b.submit(1), b.submit(2), b.submit(3)]);
  assert.deepEqual(batches, [[1, 2, 3]]);
  assert.deepEqual(results, [10, 20, 30]);
  assert.equal(b.pending, 0);
});

Deno.test("Batcher.submit() resolves each caller with its own result", async () => {
  const b = new Batcher<string, string>((items) =>
    Promise.resolve(items.map((s, i) => `${s}@${i}`))
  );
  const pa = b.submit("a");
  const pb = b.submit("b");
  const pc = b.submit("c");
  // Await out of order: each promise still holds its own item's result.
  assert.equal(await pc, "c@2");
  assert.equal(await pa, "a@0");
  assert.equal(await pb, "b@1");
});

Deno.test("Batcher.pending counts items waiting for the next flush", async () => {
  const b = new Batcher<number, number>((items) => Promise.resolve(items));
  const ps = [b.submit(1), b.submit(2)];
  assert.equal(b.pending, 2);
  await Promise.all(ps);
  assert.equal(b.pending, 0);
});

Deno.test("Batcher.submit() flushes separate turns as separate batches", async () => {
  const batches: number[][] = [];
  const b = new Batcher<number, number>((items) => {
    batches.push([...items]);
    return Promise.resolve(items);
  });
  await Promise.all([b.submit(1), b.submit(2)]);
  await b.submit(3);
  assert.deepEqual(batches, [[1, 2], [3]]);
});

Deno.test("Batcher.submit() splits batches at maxItems", async () => {
  const batches: number[][] = [];
  const b = new Batcher<number, number>((items) => {
    batches.push([...items]);
    return Promise.resolve(items.map((x) => -x));
  }, { maxItems: 2 });
  const results = await Promise.all([1, 2, 3, 4, 5].map((x) => b.submit(x)));
  assert.deepEqual(batches, [[1, 2], [3, 4], [5]]);
  assert.deepEqual(results, [-1, -2, -3, -4, -5]);
});

Deno.test("Batcher.submit() runs one flush at a time and batches what arrives meanwhile", async () => {
  let active = 0;
  let maxActive = 0;
  const batches: number[][] = [];
  const gates: PromiseWithResolvers<void>[] = [];
  const b = new Batcher<number, number>(async (items) => {
    active++;
    maxActive = Math.max(maxActive, active);
    batches.push([...items]);
    const gate = Promise.withResolvers<void>();
    gates.push(gate);
    await gate.promise;
    active--;
    return items;
  });
  const first = [b.submit(1), b.submit(2)];
  await tick();
  assert.deepEqual(batches, [[1, 2]]); // the first flush is running, held at its gate
  const second = [b.submit(3), b.submit(4), b.submit(5)];
  await tick();
  await tick();
  assert.deepEqual(batches, [[1, 2]], "no second flush while the first runs");
  assert.equal(b.pending, 3);
  gates[0]!.resolve();
  assert.deepEqual(await Promise.all(first), [1, 2]);
  await tick();
  assert.deepEqual(batches, [[1, 2], [3, 4, 5]]);
  gates[1]!.resolve();
  assert.deepEqual(await Promise.all(second), [3, 4, 5]);
  assert.equal(maxActive, 1);
});

Deno.test("Batcher.submit() rejects only the failed batch's callers; later batches still work", async () => {
  let calls = 0;
  const b = new Batcher<number, number>((items) => {
    calls++;
    if (items.includes(2)) return Promise.reject(new Error("disk full"));
    return Promise.resolve(items);
  }, { maxItems: 2 });
  const ps = [1, 2, 3, 4].map((x) => b.submit(x));
  const settled = await Promise.allSettled(ps);
  assert.equal(calls, 2);
  assert.equal(settled[0]!.status, "rejected");
  assert.equal(settled[1]!.status, "rejected");
  assert.equal((settled[0] as PromiseRejectedResult).reason.message, "disk full");
  assert.deepEqual(settled[2], { status: "fulfilled", value: 3 });
  assert.deepEqual(settled[3], { status: "fulfilled", value: 4 });
  // And the batcher keeps working afterwards.
  assert.equal(await b.submit(5), 5);
});

Deno.test("Batcher.submit() rejects the batch when the flush throws synchronously", async () => {
  let fail = true;
  const b = new Batcher<number, number>((items) => {
    if (fail) throw new TypeError("bad item");
    return Promise.resolve(items);
  });
  await assert.rejects(b.submit(1), TypeError);
  fail = false;
  assert.equal(await b.submit(2), 2);
});

Deno.test("Batcher.submit() rejects a batch whose flush returns the wrong number of results", async () => {
  const b = new Batcher<number, number>((items) => Promise.resolve(items.slice(1)));
  const ps = [b.submit(1), b.submit(2)];
  for (const p of ps) {
    await assert.rejects(p, /Batch flush returned 1 results for 2 items/);
  }
  const c = new Batcher<number, number>((items) => Promise.resolve([...items, 0]));
  await assert.rejects(c.submit(1), /returned 2 results for 1 items/);
});

Deno.test("Batcher() throws RangeError for a maxItems that is not a positive integer", () => {
  for (const maxItems of [0, -1, 1.5, NaN, Infinity, 2 ** 53]) {
    assert.throws(
      () => new Batcher<number, number>((items) => Promise.resolve(items), { maxItems }),
      (err: unknown) =>
        err instanceof RangeError && /maxItems to be a positive integer/.test(err.message),
      String(maxItems),
    );
  }
  // The default and 1 are fine.
  new Batcher<number, number>((items) => Promise.resolve(items));
  new Batcher<number, number>((items) => Promise.resolve(items), { maxItems: 1 });
});

Deno.test("Batcher.sojournMs() is the age of the oldest unanswered item, queued or being flushed", async () => {
  const clock = { t: 100 };
  const release = Promise.withResolvers<void>();
  const b = new Batcher<number, number>(async (items) => {
    await release.promise;
    return items;
  }, { now: () => clock.t });
  assert.equal(b.sojournMs(), 0);
  const first = b.submit(1);
  clock.t = 130;
  assert.equal(b.sojournMs(), 30, "queued, not flushed yet");
  await tick(); // the flush starts and waits
  const second = b.submit(2);
  clock.t = 180;
  assert.equal(b.queued, 2);
  assert.equal(b.sojournMs(), 80, "the flush's age counts from its oldest item");
  release.resolve();
  await Promise.all([first, second]);
  assert.equal(b.queued, 0);
  assert.equal(b.sojournMs(), 0);
});
