/**
 * Tests of the SQLite main database: the shared conformance suite, then what is specific
 * to SQLite files shared by several processes (WAL, locking, ID assignment across
 * connections and processes, concurrent schema creation, durability across reopen).
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  openSqliteStore,
  SQLITE_SCHEMA_VERSION,
  type SqliteStore,
} from "../core/store/sqlite_store.ts";
import type { NewMessage, NewUser } from "../core/store/store.ts";
import { storeConformance } from "./store_conformance.ts";

const WORKER = new URL("./helpers/sqlite_store_worker.ts", import.meta.url).pathname;

storeConformance("SqliteStore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_store_" });
  const store = await openSqliteStore(`${dir}/main.db`);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

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

Deno.test("SqliteStore never reuses a message ID after the newest message's body is cleared", async () => {
  await _withDir(async (dir) => {
    const store = await openSqliteStore(`${dir}/main.db`);
    try {
      const ada = await store.createUser(_newUser("ada"));
      const bob = await store.createUser(_newUser("bob"));
      const [m1] = await store.saveMessages([_direct(ada.id, "m1", bob.id)]);
      await store.ackDeliveries(bob.id, [m1!.id]);
      const [m2] = await store.saveMessages([_direct(ada.id, "m2", bob.id)]);
      assert.ok(m2!.id > m1!.id);
    } finally {
      await store.close();
    }
  });
});

Deno.test("SqliteStore clears a message body once its last delivery is acked", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const store = await openSqliteStore(path);
    const raw = new DatabaseSync(path);
    try {
      const ada = await store.createUser(_newUser("ada"));
      const bob = await store.createUser(_newUser("bob"));
      const cy = await store.createUser(_newUser("cy"));
      const [m] = await store.saveMessages([{
        ..._direct(ada.id, "m1", bob.id, "secret"),
        recipients: [{ userId: bob.id }, { userId: cy.id, body: "wrapped" }],
      }]);
      const body = () =>
        (raw.prepare("SELECT body FROM messages WHERE id = ?").get(m!.id) as { body: string })
          .body;
      await store.ackDeliveries(bob.id, [m!.id]);
      assert.equal(body(), "secret");
      await store.ackDeliveries(cy.id, [m!.id]);
      assert.equal(body(), "");
    } finally {
      raw.close();
      await store.close();
    }
  });
});

Deno.test("two SqliteStore instances on one file see each other's writes", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const a = await openSqliteStore(path);
    const b = await openSqliteStore(path);
    try {
      const ada = await a.createUser(_newUser("ada"));
      assert.deepEqual(await b.getUserById(ada.id), ada);
      await assert.rejects(b.createUser(_newUser("ada")), { code: "username_taken" });
      const bob = await b.createUser(_newUser("bob"));
      await b.setPresence(bob.id, 2);
      assert.deepEqual(await a.getPresence([bob.id]), [{ userId: bob.id, serverId: 2 }]);
      const [m] = await a.saveMessages([_direct(ada.id, "m1", bob.id)]);
      assert.deepEqual((await b.pendingFor(bob.id, 0, 10)).map((p) => p.id), [m!.id]);
      const [dup] = await b.saveMessages([_direct(ada.id, "m1", bob.id)]);
      assert.deepEqual(dup, { ...m!, duplicate: true });
      assert.equal((await b.ackDeliveries(bob.id, [m!.id])).length, 1);
      assert.deepEqual(await a.ackDeliveries(bob.id, [m!.id]), []);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

Deno.test("two SqliteStore instances interleaving inserts never collide on IDs", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const stores = [await openSqliteStore(path), await openSqliteStore(path)] as const;
    try {
      const userIds: number[] = [];
      for (let i = 0; i < 20; i++) {
        userIds.push((await stores[i % 2]!.createUser(_newUser(`user${i}`))).id);
      }
      assert.equal(new Set(userIds).size, userIds.length);
      assert.deepEqual(userIds, [...userIds].sort((x, y) => x - y));
      const [to] = userIds as [number];
      const messageIds: number[] = [];
      for (let i = 0; i < 100; i++) {
        const from = userIds[1 + (i % 5)]!;
        const saved = await stores[i % 2]!.saveMessages([
          _direct(from, `m${i}`, to),
          _direct(from, `n${i}`, to),
        ]);
        messageIds.push(...saved.map((s) => s.id));
      }
      assert.equal(new Set(messageIds).size, 200);
      assert.deepEqual(messageIds, [...messageIds].sort((x, y) => x - y));
      const pending = await stores[1].pendingFor(to, 0, 1000);
      assert.deepEqual(pending.map((p) => p.id), messageIds);
    } finally {
      for (const s of stores) await s.close();
    }
  });
});

Deno.test("several processes saving messages at once get unique increasing IDs", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const setup = await openSqliteStore(path);
    const inbox = await setup.createUser(_newUser("inbox"));
    await setup.close();

    const perWorker = 300;
    const batches = [1, 1, 10];
    const workers = batches.map((batch, i) =>
      _spawn([path, "messages", `w${i}`, String(inbox.id), String(perWorker), String(batch)])
    );
    for (const w of workers) assert.equal(await w.nextLine(), "ready");
    for (const w of workers) await w.send("go\n");
    const results = await Promise.all(workers.map((w) => w.finish()));

    const all: number[] = [];
    const senders = new Map<number, number>();
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, `worker ${i} failed: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /locked|busy/i);
      const out = JSON.parse(r.lines.at(-1)!) as { userId: number; ids: number[] };
      assert.equal(out.ids.length, perWorker);
      assert.deepEqual(out.ids, [...out.ids].sort((x, y) => x - y), `worker ${i} IDs increase`);
      for (const id of out.ids) senders.set(id, out.userId);
      all.push(...out.ids);
    }
    assert.equal(new Set(all).size, perWorker * workers.length);
    const order = [...all].sort((x, y) => x - y).map((id) => senders.get(id));
    const switches = order.filter((s, i) => i > 0 && s !== order[i - 1]).length;
    assert.ok(switches >= workers.length, `workers ran one after another (${switches} switches)`);

    const store = await openSqliteStore(path);
    try {
      const pending = await store.pendingFor(inbox.id, 0, 10_000);
      assert.equal(pending.length, all.length);
      assert.deepEqual(pending.map((p) => p.id), [...all].sort((x, y) => x - y));
      for (const p of pending) assert.equal(p.senderId, senders.get(p.id));
      assert.deepEqual(await store.stats(), {
        users: 1 + workers.length,
        messages: all.length,
        pendingDeliveries: all.length,
      });
    } finally {
      await store.close();
    }
  });
});

Deno.test("several processes creating the schema on a new file at once all succeed", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/new.db`;
    const workers = [0, 1, 2, 3].map((i) => _spawn([path, "init", String(i)]));
    const results = await Promise.all(workers.map((w) => w.finish()));
    const ids: number[] = [];
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, `worker ${i} failed: ${r.stderr}`);
      ids.push((JSON.parse(r.lines.at(-1)!) as { userId: number }).userId);
    }
    assert.deepEqual([...ids].sort((x, y) => x - y), [1, 2, 3, 4]);
    const store = await openSqliteStore(path);
    try {
      assert.equal((await store.stats()).users, 4);
    } finally {
      await store.close();
    }
  });
});

Deno.test("SqliteStore waits for a SQLite write lock taken outside the store instead of failing", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const store = await openSqliteStore(path);
    try {
      const holder = _spawn([path, "hold", "400"]);
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
      const holder = _spawn([path, "holdwriter", "300"]);
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
      const holder = _spawn([path, "holdwriter", "300"]);
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

Deno.test("SqliteStore fails with 'database is locked' after busyTimeoutMs", async () => {
  await _withDir(async (dir) => {
    const path = `${dir}/main.db`;
    const store: SqliteStore = await openSqliteStore(path, { busyTimeoutMs: 50 });
    try {
      const holder = _spawn([path, "hold", "1000"]);
      assert.equal(await holder.nextLine(), "locked");
      await assert.rejects(store.createUser(_newUser("ada")), /database is locked/);
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

/** A running worker process with line-wise access to its stdout. */
interface _Worker {
  nextLine(): Promise<string>;
  send(text: string): Promise<void>;
  finish(): Promise<{ code: number; lines: string[]; stderr: string }>;
}

function _spawn(args: string[]): _Worker {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WORKER, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = child.stdin.getWriter();
  let buffered = "";
  const lines: string[] = [];
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`Worker ended before a full line; stderr: ${await stderr}`);
      buffered += value;
    }
  };
  return {
    nextLine,
    send: (text) => writer.write(new TextEncoder().encode(text)),
    finish: async () => {
      await writer.close();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
      }
      lines.push(...buffered.split("\n").filter((l) => l !== ""));
      const status = await child.status;
      return { code: status.code, lines, stderr: await stderr };
    },
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
