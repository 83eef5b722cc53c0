/**
 * Tests of the SQLite main database: the shared conformance suite, then what is specific
 * to SQLite files shared by several processes (WAL, the writer lock, migration of an older
 * file, durability across reopen).
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  openSqliteStore,
  SQLITE_SCHEMA_VERSION,
  type SqliteStore,
} from "../core/store/sqlite/sqlite_store.ts";
import type { NewMessage, NewUser } from "../core/store/store.ts";
import { storeConformance } from "./store_conformance.ts";
import { sqliteFixture } from "./helpers/sqlite_fixture.ts";
import { spawnStoreWorker } from "./helpers/store_worker_proc.ts";
import { migrateSqlite } from "../core/store/sqlite/schema.ts";
import { STORE_ERRORS, StoreError } from "../core/store/store.ts";

storeConformance("SqliteStore", () => sqliteFixture(openSqliteStore));

Deno.test("openSqliteStore() puts the file in WAL mode with the current schema version", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const store = await openSqliteStore(path);
    await store.createUser(_newUser("ada"));
    const raw = new DatabaseSync(path);
    try {
      assert.equal(_pragma(raw, "journal_mode"), "wal");
      assert.equal(_pragma(raw, "user_version"), SQLITE_SCHEMA_VERSION);
    } finally {
      raw.close();
      await store.close();
    }
  });
});

Deno.test("openSqliteStore() refuses a file with a newer schema version", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    raw.close();
    await assert.rejects(openSqliteStore(path), RangeError);
  });
});

Deno.test("openSqliteStore() migrates a version 1 file and keeps its data", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const raw = new DatabaseSync(path);
    migrateSqlite(raw, path, 1);
    raw.exec(`INSERT INTO users (username, password_hash, rsa_public_key, identity_key, created_at)
      VALUES ('ada', 'h', 'k', 'i', 1), ('bob', 'h', 'k', 'i', 2)`);
    raw.exec("INSERT INTO presence (user_id, server_id, since) VALUES (1, 3, 5)");
    raw.exec(`INSERT INTO messages (sender_id, client_msg_id, kind, group_id, body, created_at,
      remaining) VALUES (1, 'm1', 'direct', NULL, 'hi', 7, 1)`);
    raw.exec("INSERT INTO deliveries (recipient_id, message_id, body) VALUES (2, 1, NULL)");
    // Delivered before the upgrade: its row stays only until the migration.
    raw.exec(`INSERT INTO messages (sender_id, client_msg_id, kind, group_id, body, created_at,
      remaining) VALUES (1, 'm0', 'direct', NULL, '', 6, 0)`);
    assert.equal(_pragma(raw, "user_version"), 1);
    raw.close();

    // Several processes opening the old file at once: one migrates, the others find it done.
    const workers = [0, 1, 2].map((i) => spawnStoreWorker([path, "init", `m${i}`]));
    for (const w of workers) {
      const r = await w.finish();
      assert.equal(r.code, 0, r.stderr);
    }
    const store = await openSqliteStore(path);
    try {
      assert.equal((await store.getUserByName("ada"))?.id, 1);
      assert.deepEqual(await store.getPresence([1]), [{ userId: 1, serverId: 3 }]);
      await store.addPresence(1, 4);
      assert.deepEqual((await store.getPresence([1])).map((p) => p.serverId), [3, 4]);
      assert.deepEqual((await store.pendingFor(2, 0, 10)).map((p) => [p.id, p.body]), [[1, "hi"]]);
      const [again] = await store.saveMessages([_direct(1, "m1", 2)]);
      assert.equal(again?.duplicate, true);
      assert.equal((await store.stats()).users, 5);
      // The delivered message kept only its idempotency record.
      assert.equal((await store.stats()).messages, 1);
      assert.deepEqual(await store.saveMessages([_direct(1, "m0", 2)]), [
        { id: 2, createdAt: 6, duplicate: true },
      ]);
      // The pending message counts toward its recipient's bound.
      const bounds = { messages: 1, bytes: 1_000 };
      assert.equal((await store.saveMessages([_direct(1, "m2", 2)], bounds))[0]?.id, 0);
      await store.ackDeliveries(2, [1]);
      assert.ok((await store.saveMessages([_direct(1, "m2", 2)], bounds))[0]!.id > 2);
      await store.settle(100); // deletes the delivered message's row
    } finally {
      await store.close();
    }
    const check = new DatabaseSync(path);
    assert.equal(_pragma(check, "user_version"), SQLITE_SCHEMA_VERSION);
    assert.equal(check.prepare("SELECT count(*) AS n FROM messages WHERE id <= 2").get()?.n, 0);
    check.close();
  });
});

Deno.test("openSqliteStore() migrates a version 5 file: its sessions stay, bound to no device", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const raw = new DatabaseSync(path);
    migrateSqlite(raw, path, 5);
    raw.exec(`INSERT INTO users (username, password_hash, rsa_public_key, identity_key, created_at)
      VALUES ('ada', 'h', 'k', 'i', 1)`);
    const later = Date.now() + 60_000;
    raw.prepare("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, 1, ?)")
      .run(new Uint8Array(32).fill(1), later);
    raw.close();
    const store = await openSqliteStore(path);
    try {
      const old = await store.getSession(new Uint8Array(32).fill(1), Date.now());
      assert.deepEqual(old, { userId: 1, expiresAt: later });
      assert.ok(!("deviceId" in old!));
      await store.createSession(new Uint8Array(32).fill(2), {
        userId: 1,
        expiresAt: later,
        deviceId: 1,
      });
      assert.deepEqual(await store.deleteDeviceSessions(1, 1), [new Uint8Array(32).fill(2)]);
      assert.equal((await store.getSession(new Uint8Array(32).fill(1), Date.now()))?.userId, 1);
      const v1 = {
        userId: 1,
        version: 1,
        prevHash: "",
        hash: "h".repeat(43),
        body: "{}",
        createdAt: 5,
      };
      await store.appendDeviceList(v1);
      assert.deepEqual(await store.latestDeviceList(1), v1);
      await store.openLinkSlot("ABCD", "offer", 1, 2);
      assert.deepEqual((await store.linkSlot("ABCD", 1))?.steps, ["offer"]);
    } finally {
      await store.close();
    }
  });
});

Deno.test("openSqliteStore() rejects bad options before opening anything", async () => {
  await assert.rejects(openSqliteStore(""), TypeError);
  await assert.rejects(openSqliteStore("x.db", { busyTimeoutMs: -1 }), RangeError);
});

Deno.test("openSqliteStore() keeps data across close and reopen", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const first = await openSqliteStore(path);
    const ada = await first.createUser(_newUser("ada"));
    const bob = await first.createUser(_newUser("bob"));
    const group = await first.createGroup("g", ada.id, [bob.id]);
    const [saved] = await first.saveMessages([_direct(ada.id, "m1", bob.id)]);
    await first.close();

    const second = await openSqliteStore(path);
    try {
      assert.deepEqual(await second.getUserByName("ada"), ada);
      assert.deepEqual(await second.getGroup(group.id), group);
      const pending = await second.pendingFor(bob.id, 0, 10);
      assert.deepEqual(pending.map((p) => p.id), [saved!.id]);
      const cy = await second.createUser(_newUser("cy"));
      assert.ok(cy.id > bob.id);
      const [next] = await second.saveMessages([_direct(ada.id, "m2", bob.id)]);
      assert.ok(next!.id > saved!.id);
      const [resend] = await second.saveMessages([_direct(ada.id, "m1", bob.id)]);
      assert.equal(resend!.duplicate, true);
    } finally {
      await second.close();
    }
  });
});

Deno.test("SqliteStore waits for a SQLite write lock taken outside the store instead of failing", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const store = await openSqliteStore(path);
    try {
      const holder = spawnStoreWorker([path, "hold", "400"]);
      assert.equal(await holder.nextLine(), "locked");
      const started = performance.now();
      const ada = await store.createUser(_newUser("ada"));
      const waited = performance.now() - started;
      const r = await holder.finish();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(ada.id, 1);
      assert.ok(waited >= 100, `expected to wait for the lock, waited ${waited.toFixed(0)} ms`);
    } finally {
      await store.close();
    }
  });
});

Deno.test("SqliteStore waits for another store's write without blocking the event loop", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const store = await openSqliteStore(path);
    try {
      const holder = spawnStoreWorker([path, "holdwriter", "300"]);
      assert.equal(await holder.nextLine(), "locked");
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      const started = performance.now();
      try {
        assert.equal((await store.createUser(_newUser("ada"))).id, 1);
      } finally {
        clearInterval(ticker);
      }
      const waited = performance.now() - started;
      assert.equal((await holder.finish()).code, 0);
      assert.ok(
        waited >= 100,
        `expected to wait for the writer lock, waited ${waited.toFixed(0)} ms`,
      );
      assert.ok(ticks >= 5, `the event loop was blocked while waiting (${ticks} ticks)`);
    } finally {
      await store.close();
    }
  });
});

Deno.test("SqliteStore falls back on SQLite's locking when the writer lock is held too long", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const store = await openSqliteStore(path, { busyTimeoutMs: 50 });
    try {
      const holder = spawnStoreWorker([path, "holdwriter", "300"]);
      assert.equal(await holder.nextLine(), "locked");
      assert.equal((await store.createUser(_newUser("ada"))).id, 1);
      assert.equal((await holder.finish()).code, 0);
      assert.equal((await store.createUser(_newUser("bob"))).id, 2);
      assert.equal((await store.createUser(_newUser("cy"))).id, 3);
    } finally {
      await store.close();
    }
  });
});

Deno.test("SqliteStore fails with retryable StoreError unavailable after busyTimeoutMs", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const store: SqliteStore = await openSqliteStore(path, { busyTimeoutMs: 50 });
    try {
      const holder = spawnStoreWorker([path, "hold", "1000"]);
      assert.equal(await holder.nextLine(), "locked");
      await assert.rejects(store.createUser(_newUser("ada")), (err: unknown) => {
        assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
        assert.equal(err.code, STORE_ERRORS.unavailable);
        assert.equal(err.retryable, true);
        assert.match(err.message, /database is locked/);
        return true;
      });
      assert.equal((await holder.finish()).code, 0);
      assert.equal((await store.createUser(_newUser("ada"))).id, 1);
    } finally {
      await store.close();
    }
  });
});

async function _withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_store_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function _pragma(db: DatabaseSync, name: string): unknown {
  const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown>;
  return row[name];
}

function _newUser(username: string): NewUser {
  return {
    username,
    passwordHash: "$scrypt$x",
    rsaPublicKey: "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n",
    identityKey: "id",
  };
}

function _direct(senderId: number, clientMsgId: string, to: number, body = "hi"): NewMessage {
  return {
    senderId,
    clientMsgId,
    kind: "direct",
    groupId: null,
    body,
    recipients: [{ userId: to }],
  };
}

Deno.test("SqliteStore joins queued writes in one transaction and fails a bad one alone", async () => {
  await _withDir(async (dir) => {
    const store = await openSqliteStore(`${dir}/main.db`);
    try {
      const ada = await store.createUser(_newUser("ada"));
      // Queued together: they share one transaction; the duplicate must fail alone.
      const results = await Promise.allSettled([
        store.createUser(_newUser("bob")),
        store.createUser(_newUser("ada")),
        store.saveMessages([_direct(ada.id, "m1", ada.id)]),
        store.createUser(_newUser("cy")),
      ]);
      assert.deepEqual(results.map((r) => r.status), [
        "fulfilled",
        "rejected",
        "fulfilled",
        "fulfilled",
      ]);
      assert.equal((results[1] as PromiseRejectedResult).reason.code, "username_taken");
      assert.ok(await store.getUserByName("bob"));
      assert.ok(await store.getUserByName("cy"));
      assert.equal((await store.pendingFor(ada.id, 0, 10)).length, 1);
      assert.equal((await store.stats()).users, 3);
    } finally {
      await store.close();
    }
  });
});
