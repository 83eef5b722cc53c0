/**
 * Tests of the PostgreSQL main database: the shared conformance suite on a throw-away
 * server, then what is specific to PostgreSQL (migration of an older schema under a lock,
 * refusing a newer one, failing clearly when the server cannot be reached).
 *
 * @module
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { openPostgresStore, PG_SCHEMA_VERSION } from "../core/store/postgres/postgres_store.ts";
import { migratePostgres } from "../core/store/postgres/schema.ts";
import { STORE_ERRORS, StoreError } from "../core/store/store.ts";
import { openPool } from "../core/store/postgres/driver.ts";
import { freePort } from "../core/cluster/free_port.ts";
import { storeConformance } from "./store_conformance.ts";
import { freshPostgresDatabase, testPostgres } from "./helpers/postgres.ts";
import { spawnStoreWorker } from "./helpers/store_worker_proc.ts";

// Started before any test, so no test owns the server process.
await testPostgres();

storeConformance("PostgresStore", async () => {
  const location = await freshPostgresDatabase();
  const store = await openPostgresStore(location);
  const raw = postgres(location, { max: 1, onnotice: () => {} });
  return {
    store,
    location,
    storedBody: async (id) => {
      const rows = await raw.unsafe("SELECT body FROM messages WHERE id = $1", [id]);
      return rows.length === 0 ? null : String(rows[0]!["body"]);
    },
    storedRows: async (table) => {
      const rows = await raw.unsafe(`SELECT count(*) AS n FROM ${table}`);
      return Number(rows[0]!["n"]);
    },
    newLocation: () => freshPostgresDatabase(),
    legacyDatabase: async (usernames) => {
      const url = await freshPostgresDatabase();
      const sql = openPool(url, { max: 1, connectTimeoutS: 5, applicationName: "test" });
      try {
        await migratePostgres(sql, "test", 4);
        for (const name of usernames) {
          await sql.unsafe(
            `INSERT INTO users (username, password_hash, rsa_public_key, identity_key,
              created_at) VALUES ($1, 'h', 'k', 'i', 1)`,
            [name],
          );
        }
      } finally {
        await sql.end();
      }
      return url;
    },
    cleanup: async () => {
      await store.close();
      await raw.end({ timeout: 5 });
    },
  };
});

Deno.test("openPostgresStore() creates the schema at the current version", async () => {
  const url = await freshPostgresDatabase();
  const store = await openPostgresStore(url);
  const raw = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await raw.unsafe("SELECT version FROM fastchat_schema");
    assert.deepEqual(rows.map((r) => r["version"]), [PG_SCHEMA_VERSION]);
  } finally {
    await raw.end();
    await store.close();
  }
});

/** When the messages saved before a migration were accepted (within the idempotency window). */
const _MIGRATED_AT = Date.now();

Deno.test("openPostgresStore() migrates a version 1 database and keeps its data", async () => {
  const url = await freshPostgresDatabase();
  const sql = openPool(url, { max: 1, connectTimeoutS: 5, applicationName: "test" });
  try {
    await migratePostgres(sql, "test", 1);
    await sql.unsafe(`INSERT INTO users (username, password_hash, rsa_public_key, identity_key,
      created_at) VALUES ('ada', 'h', 'k', 'i', 1), ('bob', 'h', 'k', 'i', 2)`);
    await sql.unsafe("INSERT INTO presence (user_id, server_id, since) VALUES (1, 3, 5)");
    // The rows version 1's functions wrote for one pending message (older targets get tables
    // only: the functions are the current ones, set at the current version).
    await sql.unsafe(`INSERT INTO messages (id, sender_id, client_msg_id, kind, group_id, body,
      created_at, remaining) VALUES (nextval('message_ids'), 1, 'm1', 'direct', NULL, 'hi', 7, 1)`);
    await sql.unsafe("INSERT INTO deliveries (recipient_id, message_id) VALUES (2, 1)");
    const [v] = await sql.unsafe("SELECT version FROM fastchat_schema");
    assert.equal(v!["version"], 1);
    // Up to version 3, the last before deliveries were bounded and delivered rows deleted:
    // one message delivered and settled (its body cleared, nothing remaining), one
    // acknowledged whose acknowledgement waits in the settle queue.
    await migratePostgres(sql, "test", 3);
    await sql.unsafe(`INSERT INTO messages (id, sender_id, client_msg_id, kind, group_id, body,
      created_at, remaining, tx) VALUES
      (nextval('message_ids'), 1, 'm2', 'direct', NULL, '', ${_MIGRATED_AT}, 0,
        pg_current_xact_id()),
      (nextval('message_ids'), 1, 'm3', 'direct', NULL, 'y', ${_MIGRATED_AT}, 1,
        pg_current_xact_id())`);
    await sql.unsafe("INSERT INTO settle_queue (message_id) VALUES (3)");
  } finally {
    await sql.end();
  }
  // Several processes opening the old database at once: one migrates, the others wait.
  const workers = [0, 1, 2].map((i) => spawnStoreWorker([url, "init", `m${i}`]));
  for (const w of workers) {
    const r = await w.finish();
    assert.equal(r.code, 0, r.stderr);
  }
  const store = await openPostgresStore(url);
  try {
    assert.equal((await store.getUserByName("ada"))?.id, 1);
    assert.deepEqual(await store.getPresence([1]), [{ userId: 1, serverId: 3 }]);
    await store.addPresence(1, 4);
    assert.deepEqual((await store.getPresence([1])).map((p) => p.serverId), [3, 4]);
    const pending = await store.pendingFor(2, 0, 10);
    assert.deepEqual(pending.map((p) => [p.senderId, p.body]), [[1, "hi"]]);
    const [again] = await store.saveMessages([{
      senderId: 1,
      clientMsgId: "m1",
      kind: "direct",
      groupId: null,
      body: "hi",
      recipients: [{ userId: 2 }],
    }]);
    assert.equal(again?.duplicate, true);
    assert.equal((await store.stats()).users, 5);
    // The delivered messages keep only their idempotency records.
    await store.settle(100);
    assert.deepEqual(await store.stats(), { users: 5, messages: 1, pendingDeliveries: 1 });
    for (const [cmid, id] of [["m2", 2], ["m3", 3]] as const) {
      const [dup] = await store.saveMessages([{
        senderId: 1,
        clientMsgId: cmid,
        kind: "direct",
        groupId: null,
        body: "again",
        recipients: [{ userId: 2 }],
      }]);
      assert.deepEqual(dup, { id, createdAt: _MIGRATED_AT, duplicate: true });
    }
    // The pending message counts toward its recipient's bound.
    const bounds = { messages: 1, bytes: 1_000 };
    const m4 = {
      senderId: 1,
      clientMsgId: "m4",
      kind: "direct" as const,
      groupId: null,
      body: "z",
      recipients: [{ userId: 2 }],
    };
    assert.equal((await store.saveMessages([m4], bounds))[0]?.id, 0);
    await store.ackDeliveries(2, [1]);
    assert.ok((await store.saveMessages([m4], bounds))[0]!.id > 3);
  } finally {
    await store.close();
  }
});

Deno.test("openPostgresStore() migrates a version 8 database: its sessions stay, bound to no device", async () => {
  const url = await freshPostgresDatabase();
  const sql = openPool(url, { max: 1, connectTimeoutS: 5, applicationName: "test" });
  const later = Date.now() + 60_000;
  try {
    await migratePostgres(sql, "test", 8);
    await sql.unsafe(`INSERT INTO users (username, password_hash, rsa_public_key, identity_key,
      created_at) VALUES ('ada', 'h', 'k', 'i', 1)`);
    await sql.unsafe(
      "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (decode($1, 'hex'), 1, $2)",
      ["01".repeat(32), later],
    );
  } finally {
    await sql.end();
  }
  const store = await openPostgresStore(url);
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

Deno.test("openPostgresStore() sets every function again on start: stale bodies replaced, obsolete ones dropped", async () => {
  const url = await freshPostgresDatabase();
  const raw = postgres(url, { max: 1, onnotice: () => {} });
  const functions = async () =>
    (await raw.unsafe(`SELECT p.oid::regprocedure::text AS f FROM pg_proc AS p
      WHERE p.proname LIKE 'fastchat\\_%' ORDER BY 1`)).map((r) => String(r["f"]));
  try {
    await (await openPostgresStore(url)).close();
    const live = await functions();
    assert.ok(live.includes("fastchat_ack(bigint[],bigint[])"), live.join(", "));
    // As an older FastChat (or a hand edit) may have left them: a body that is not this
    // code's, and a signature no code calls.
    await raw.unsafe(`CREATE OR REPLACE FUNCTION
      fastchat_settle(max_rows integer, now_ms bigint, keep_ids_ms bigint)
      RETURNS integer LANGUAGE plpgsql AS $fn$ BEGIN RAISE EXCEPTION 'stale body'; END $fn$`);
    await raw.unsafe(`CREATE FUNCTION fastchat_pending_ended(users bigint[], sizes bigint[])
      RETURNS void LANGUAGE sql AS 'SELECT'`);
    const store = await openPostgresStore(url);
    try {
      assert.equal(await store.settle(100), 0);
    } finally {
      await store.close();
    }
    assert.deepEqual(await functions(), live);
  } finally {
    await raw.end();
  }
});

Deno.test("openPostgresStore() refuses a database with a newer schema version", async () => {
  const url = await freshPostgresDatabase();
  const raw = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await raw.unsafe("CREATE TABLE fastchat_schema (version integer NOT NULL)");
    await raw.unsafe(`INSERT INTO fastchat_schema VALUES (${PG_SCHEMA_VERSION + 1})`);
  } finally {
    await raw.end();
  }
  await assert.rejects(openPostgresStore(url), (err: unknown) => {
    assert.ok(err instanceof RangeError);
    assert.match(err.message, /newer than this FastChat supports/);
    return true;
  });
});

Deno.test("openPostgresStore() rejects a URL that is not postgres:// and bad options", async () => {
  await assert.rejects(openPostgresStore("mysql://x"), TypeError);
  await assert.rejects(openPostgresStore("postgres://x/y", { poolSize: 0 }), RangeError);
  await assert.rejects(openPostgresStore("postgres://x/y", { queryTimeoutMs: -1 }), RangeError);
});

Deno.test("openPostgresStore() fails with retryable StoreError unavailable when nothing listens", async () => {
  const url = `postgres://fc:secret@127.0.0.1:${freePort()}/fastchat`;
  await assert.rejects(openPostgresStore(url, { queryTimeoutMs: 2000 }), (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, STORE_ERRORS.unavailable);
    assert.equal(err.retryable, true);
    assert.doesNotMatch(err.message, /secret/, "the password stays out of messages");
    return true;
  });
});
