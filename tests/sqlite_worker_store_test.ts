/**
 * Tests of the SQLite main database run in a worker thread (what `openStore` gives servers):
 * the shared conformance suite, errors keeping their types across the thread, and what
 * happens to calls when the worker is gone.
 *
 * @module
 */

import assert from "node:assert/strict";
import { openSqliteWorkerStore } from "../core/store/sqlite/worker_store.ts";
import { openStore } from "../core/store/open_store.ts";
import { STORE_ERRORS, StoreError } from "../core/store/store.ts";
import { storeConformance } from "./store_conformance.ts";
import { sqliteFixture } from "./helpers/sqlite_fixture.ts";

storeConformance("SqliteWorkerStore", () => sqliteFixture(openSqliteWorkerStore));

async function _withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_worker_store_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const _user = (username: string) => ({
  username,
  passwordHash: "h",
  rsaPublicKey: "k",
  identityKey: "i",
  createdAt: 1,
});

Deno.test("openStore() runs a SQLite database in a worker", async () => {
  await _withDir(async (dir) => {
    const store = await openStore(`${dir}/main.db`);
    try {
      assert.equal(store.constructor.name, "SqliteWorkerStore");
      const ada = await store.createUser(_user("ada"));
      assert.deepEqual(await store.getUserById(ada.id), ada);
    } finally {
      await store.close();
    }
  });
});

Deno.test("SqliteWorkerStore keeps error types and codes across the thread", async () => {
  await _withDir(async (dir) => {
    const store = await openSqliteWorkerStore(`${dir}/main.db`);
    try {
      await store.createUser(_user("ada"));
      await assert.rejects(
        store.createUser(_user("ADA")),
        (e) => e instanceof StoreError && e.code === STORE_ERRORS.usernameTaken && !e.retryable,
      );
      await assert.rejects(store.getUserById("1" as unknown as number), TypeError);
      await assert.rejects(store.getUserById(0), RangeError);
      // Calls of one turn still settle one by one: a failing one does not fail the others.
      const [bad, good] = await Promise.allSettled([
        store.getUserById(-1),
        store.getUserByName("ada"),
      ]);
      assert.equal(bad.status, "rejected");
      assert.equal(good.status === "fulfilled" && good.value?.username, "ada");
    } finally {
      await store.close();
    }
  });
});

Deno.test("SqliteWorkerStore fails calls with unavailable once closed, and refuses a bad file", async () => {
  await _withDir(async (dir) => {
    const store = await openSqliteWorkerStore(`${dir}/main.db`);
    const waiting = store.stats();
    store.terminate();
    await assert.rejects(waiting, (e) => e instanceof StoreError && e.code === "unavailable");
    await assert.rejects(
      store.getUserById(1),
      (e) => e instanceof StoreError && e.code === "unavailable" && e.retryable,
    );
    await store.close(); // closing twice is harmless
    await Deno.writeTextFile(
      `${dir}/not.db`,
      "this is not a database, it is plain text ".repeat(40),
    );
    await assert.rejects(openSqliteWorkerStore(`${dir}/not.db`));
  });
});
