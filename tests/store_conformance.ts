/**
 * The conformance suite every {@linkcode Store} adapter must pass (SQLite and PostgreSQL).
 * It uses the `Store` interface, `openStore()` (for second instances and other processes)
 * and two small hooks for what the interface cannot show: the body kept at rest, and a
 * location for a database that does not exist yet. So one behaviour is pinned down for all
 * adapters. Each test opens a fresh, empty database and removes it afterwards.
 *
 * Usage, from an adapter's test file:
 *
 * ```ts ignore
 * storeConformance("SqliteStore", async () => {
 *   const dir = await Deno.makeTempDir();
 *   const location = `${dir}/main.db`;
 *   const store = await openSqliteStore(location);
 *   return {
 *     store,
 *     location,
 *     storedBody: (id) => ...,
 *     storedRows: (table) => ...,
 *     newLocation: () => ...,
 *     cleanup: async () => { await store.close(); await Deno.remove(dir, { recursive: true }); },
 *   };
 * });
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { openStore } from "../core/store/open_store.ts";
import {
  DEFAULT_IDEMPOTENCY_MS,
  DEVICE_LIST_MAX_BYTES,
  type GroupRecord,
  LINK_MAX_STEPS,
  LINK_OFFER_MAX_BYTES,
  LINK_STEP_MAX_BYTES,
  type NewDeviceList,
  type NewMessage,
  type NewUser,
  ONE_TIME_PREKEYS_MAX,
  ONE_TIME_PREKEYS_PER_PUT,
  PREKEY_BUNDLE_MAX_BYTES,
  type RateLimit,
  type Store,
  STORE_ERRORS,
  StoreError,
  type UserRecord,
} from "../core/store/store.ts";
import { spawnStoreWorker } from "./helpers/store_worker_proc.ts";

/** A fresh, empty database for one test, with the hooks the suite needs. */
export interface StoreFixture {
  /** An open store on the database. */
  readonly store: Store;
  /** The database as `openStore()` takes it, for second instances and other processes. */
  readonly location: string;
  /** The body the database keeps at rest for a message; null when it keeps no row. */
  storedBody(messageId: number): Promise<string | null>;
  /** How many rows a table holds (for state the interface does not show). */
  storedRows(
    table: "rate_limits" | "sent_ids" | "link_slots" | "link_steps",
  ): Promise<number>;
  /** A location for a database that does not exist yet (removed by `cleanup`). */
  newLocation(): Promise<string>;
  /**
   * A new database at the adapter's last schema version before usernames were unique
   * ignoring case (SQLite 3, PostgreSQL 4), holding users with these names, IDs 1, 2, ...
   * in order; returns its location (removed by `cleanup`).
   */
  legacyDatabase(usernames: readonly string[]): Promise<string>;
  /** Closes the store and removes every database the fixture made. */
  cleanup(): Promise<void>;
}

/** Opens a fresh fixture. */
export type OpenStore = () => Promise<StoreFixture>;

/** Registers the conformance tests for one adapter; test names start with `${name}: `. */
export function storeConformance(name: string, open: OpenStore): void {
  const fixtureTest = (title: string, fn: (f: StoreFixture) => Promise<void>) => {
    Deno.test(`${name}: ${title}`, async () => {
      const fixture = await open();
      try {
        await fn(fixture);
      } finally {
        await fixture.cleanup();
      }
    });
  };
  const test = (title: string, fn: (store: Store) => Promise<void>) =>
    fixtureTest(title, (f) => fn(f.store));

  // Users.

  test("createUser() assigns increasing IDs from 1", async (store) => {
    const a = await store.createUser(_newUser("ada"));
    const b = await store.createUser(_newUser("bob"));
    const c = await store.createUser(_newUser("cy"));
    assert.equal(a.id, 1);
    assert.ok(b.id > a.id && c.id > b.id, `IDs ${a.id}, ${b.id}, ${c.id} must increase`);
  });

  test("createUser() returns the stored fields with a creation time", async (store) => {
    const before = Date.now();
    const user = await store.createUser(_newUser("ada"));
    const after = Date.now();
    assert.deepEqual({ ...user, id: 0, createdAt: 0 }, { ..._newUser("ada"), id: 0, createdAt: 0 });
    assert.ok(user.createdAt >= before && user.createdAt <= after);
    assert.deepEqual(await store.getUserById(user.id), user);
  });

  test("createUser() rejects a taken username with StoreError username_taken", async (store) => {
    const first = await store.createUser(_newUser("ada"));
    await assert.rejects(store.createUser(_newUser("ada")), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, STORE_ERRORS.usernameTaken);
      assert.match(err.message, /ada/);
      return true;
    });
    assert.equal((await store.stats()).users, 1);
    const next = await store.createUser(_newUser("bob"));
    assert.ok(next.id > first.id);
  });

  test("createUser() refuses a name that differs only in case, naming the one that exists", async (store) => {
    const ada = await store.createUser(_newUser("ada"));
    for (const name of ["Ada", "ADA", "aDa"]) {
      await _rejectsWith(
        store.createUser(_newUser(name)),
        STORE_ERRORS.usernameTaken,
        new RegExp(`"${name}" is already taken \\("ada" exists; usernames ignore case\\)`),
      );
    }
    assert.equal((await store.stats()).users, 1);
    assert.deepEqual(await store.getUserById(ada.id), ada);
  });

  test("createUser() folds only ASCII letters: other characters compare exactly", async (store) => {
    // Both adapters fold A-Z only, whatever the database's locale.
    const lower = await store.createUser(_newUser("émile"));
    const upper = await store.createUser(_newUser("Émile"));
    assert.notEqual(lower.id, upper.id);
    assert.equal((await store.getUserByName("ÉMILE"))?.id, upper.id);
    assert.equal((await store.getUserByName("éMILE"))?.id, lower.id);
    await _rejectsWith(store.createUser(_newUser("ÉMILE")), STORE_ERRORS.usernameTaken);
  });

  test("createUser() rejects an empty username or key with TypeError", async (store) => {
    await assert.rejects(store.createUser(_newUser("")), TypeError);
    await assert.rejects(store.createUser({ ..._newUser("ada"), passwordHash: "" }), TypeError);
    await assert.rejects(store.createUser({ ..._newUser("ada"), rsaPublicKey: "" }), TypeError);
    await assert.rejects(store.createUser({ ..._newUser("ada"), identityKey: "" }), TypeError);
    assert.equal((await store.stats()).users, 0);
  });

  test("createUser() never reuses IDs across many registrations", async (store) => {
    const ids = new Set<number>();
    for (let i = 0; i < 50; i++) ids.add((await store.createUser(_newUser(`user${i}`))).id);
    assert.equal(ids.size, 50);
  });

  test("getUserById() returns the user, or null for an unknown ID", async (store) => {
    const ada = await store.createUser(_newUser("ada"));
    assert.deepEqual(await store.getUserById(ada.id), ada);
    assert.equal(await store.getUserById(ada.id + 1000), null);
  });

  test("getUserById() rejects IDs that are not positive integers with RangeError", async (store) => {
    for (const bad of [0, -1, 1.5, NaN, Infinity]) {
      await assert.rejects(store.getUserById(bad), RangeError, `ID ${bad}`);
    }
  });

  test("getUserByName() ignores case and answers with the registered spelling", async (store) => {
    const ada = await store.createUser(_newUser("Ada.Lovelace"));
    for (const name of ["Ada.Lovelace", "ada.lovelace", "ADA.LOVELACE", "aDA.lOVELACE"]) {
      assert.deepEqual(await store.getUserByName(name), ada, name);
    }
  });

  test("getUserByName() returns null for any other name", async (store) => {
    await store.createUser(_newUser("ada"));
    assert.equal(await store.getUserByName("ad"), null);
    assert.equal(await store.getUserByName("ada%"), null);
    assert.equal(await store.getUserByName("nobody"), null);
  });

  fixtureTest(
    "createUser() of one name in different cases, at once on two instances, succeeds once",
    async (f) => {
      const other = await openStore(f.location);
      try {
        const stores = [f.store, other];
        for (let round = 0; round < 5; round++) {
          const names = ["bob", "Bob", "BOB", "bOB", "boB", "BoB"].map((n) => `${n}${round}`);
          const results = await Promise.allSettled(
            names.map((n, i) => stores[i % 2]!.createUser(_newUser(n))),
          );
          const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
          assert.equal(won.length, 1, `round ${round}: ${won.length} registrations succeeded`);
          for (const r of results) {
            if (r.status === "fulfilled") continue;
            assert.ok(r.reason instanceof StoreError, String(r.reason));
            assert.equal(r.reason.code, STORE_ERRORS.usernameTaken);
          }
          assert.deepEqual(await other.getUserByName(`BOB${round}`), won[0]);
        }
        assert.equal((await f.store.stats()).users, 5);
      } finally {
        await other.close();
      }
    },
  );

  fixtureTest(
    "createUser() of one name in different cases, at once in several processes, succeeds once",
    async (f) => {
      const names = ["carol", "Carol", "CAROL"];
      const workers = names.map((n) => spawnStoreWorker([f.location, "register", n]));
      for (const w of workers) assert.equal(await w.nextLine(), "ready");
      await Promise.all(workers.map((w) => w.send("go\n")));
      const outcomes: Record<string, unknown>[] = [];
      for (const w of workers) {
        const r = await w.finish();
        assert.equal(r.code, 0, r.stderr);
        outcomes.push(JSON.parse(r.lines.at(-1)!));
      }
      const won = outcomes.filter((o) => "userId" in o);
      assert.equal(won.length, 1, JSON.stringify(outcomes));
      assert.deepEqual(
        outcomes.filter((o) => "error" in o).map((o) => o["error"]),
        [STORE_ERRORS.usernameTaken, STORE_ERRORS.usernameTaken],
      );
      assert.equal((await f.store.getUserByName("carol"))?.id, won[0]!["userId"]);
    },
  );

  fixtureTest(
    "opening a database from before names ignored case keeps users equal but for case",
    async (f) => {
      const location = await f.legacyDatabase(["bob", "Bob", "alice", "BOB"]);
      const store = await openStore(location);
      try {
        const names = [];
        for (const id of [1, 2, 3, 4]) names.push((await store.getUserById(id))?.username);
        assert.deepEqual(names, ["bob", "Bob", "alice", "BOB"], "every user is kept");
        // Each keeps its exact spelling; any other spelling finds the first registered.
        assert.equal((await store.getUserByName("bob"))?.id, 1);
        assert.equal((await store.getUserByName("Bob"))?.id, 2);
        assert.equal((await store.getUserByName("BOB"))?.id, 4);
        assert.equal((await store.getUserByName("bOb"))?.id, 1);
        assert.equal((await store.getUserByName("ALICE"))?.id, 3);
        // No new twin can be made; other names register as before.
        await _rejectsWith(store.createUser(_newUser("bOB")), STORE_ERRORS.usernameTaken, /"bob"/);
        await _rejectsWith(store.createUser(_newUser("Alice")), STORE_ERRORS.usernameTaken);
        const carol = await store.createUser(_newUser("Carol"));
        assert.ok(carol.id > 4);
        await _rejectsWith(store.createUser(_newUser("carol")), STORE_ERRORS.usernameTaken);
        assert.equal((await store.stats()).users, 5);
      } finally {
        await store.close();
      }
    },
  );

  // Sessions.

  test("createSession() stores a session that getSession() returns until expiry", async (store) => {
    const ada = await store.createUser(_newUser("ada"));
    const hash = _hash(1);
    await store.createSession(hash, { userId: ada.id, expiresAt: 10_000 });
    assert.deepEqual(await store.getSession(hash, 5_000), { userId: ada.id, expiresAt: 10_000 });
    assert.deepEqual(await store.getSession(hash, 9_999), { userId: ada.id, expiresAt: 10_000 });
  });

  test("getSession() returns null for an expired session", async (store) => {
    const ada = await store.createUser(_newUser("ada"));
    const hash = _hash(1);
    await store.createSession(hash, { userId: ada.id, expiresAt: 10_000 });
    assert.equal(await store.getSession(hash, 10_001), null);
    assert.equal(await store.getSession(hash, 1e12), null);
  });

  test("getSession() returns null for an unknown token hash", async (store) => {
    const ada = await store.createUser(_newUser("ada"));
    await store.createSession(_hash(1), { userId: ada.id, expiresAt: Date.now() + 60_000 });
    assert.equal(await store.getSession(_hash(2), Date.now()), null);
  });

  test("getSession() matches the hash bytes, not the view around them", async (store) => {
    const ada = await store.createUser(_newUser("ada"));
    const backing = new Uint8Array(40).fill(0xee);
    backing.set(_hash(7), 4);
    const view = backing.subarray(4, 36);
    await store.createSession(view, { userId: ada.id, expiresAt: Date.now() + 60_000 });
    assert.equal((await store.getSession(_hash(7), Date.now()))?.userId, ada.id);
  });

  test("createSession() keeps several sessions of one user apart", async (store) => {
    const ada = await store.createUser(_newUser("ada"));
    const bob = await store.createUser(_newUser("bob"));
    const later = Date.now() + 60_000;
    await store.createSession(_hash(1), { userId: ada.id, expiresAt: later });
    await store.createSession(_hash(2), { userId: ada.id, expiresAt: later + 1 });
    await store.createSession(_hash(3), { userId: bob.id, expiresAt: later });
    const now = Date.now();
    assert.deepEqual(await store.getSession(_hash(1), now), { userId: ada.id, expiresAt: later });
    assert.deepEqual(await store.getSession(_hash(2), now), {
      userId: ada.id,
      expiresAt: later + 1,
    });
    assert.deepEqual(await store.getSession(_hash(3), now), { userId: bob.id, expiresAt: later });
  });

  test("createSession() for an unknown user fails with StoreError not_found", async (store) => {
    await _rejectsWith(
      store.createSession(_hash(1), { userId: 42, expiresAt: Date.now() + 60_000 }),
      STORE_ERRORS.notFound,
    );
  });

  test("createSession() rejects a token hash that is not 32 bytes", async (store) => {
    const ada = await store.createUser(_newUser("ada"));
    await assert.rejects(
      store.createSession(new Uint8Array(16), { userId: ada.id, expiresAt: 1 }),
      RangeError,
    );
    await assert.rejects(store.getSession(new Uint8Array(0), 0), RangeError);
  });

  test("deleteSession() removes the session and is harmless when repeated", async (store) => {
    const ada = await store.createUser(_newUser("ada"));
    const later = Date.now() + 60_000;
    await store.createSession(_hash(1), { userId: ada.id, expiresAt: later });
    await store.createSession(_hash(2), { userId: ada.id, expiresAt: later });
    await store.deleteSession(_hash(1));
    await store.deleteSession(_hash(1));
    await store.deleteSession(_hash(9));
    assert.equal(await store.getSession(_hash(1), Date.now()), null);
    assert.equal((await store.getSession(_hash(2), Date.now()))?.userId, ada.id);
  });

  test("liveSessions() returns the hashes whose session exists and has not expired", async (store) => {
    const ada = await store.createUser(_newUser("ada"));
    const t = Date.now() + 60_000;
    await store.createSession(_hash(1), { userId: ada.id, expiresAt: t + 10_000 });
    await store.createSession(_hash(2), { userId: ada.id, expiresAt: t + 20_000 });
    await store.createSession(_hash(3), { userId: ada.id, expiresAt: t + 30_000 });
    await store.deleteSession(_hash(3));
    const live = await store.liveSessions([_hash(1), _hash(2), _hash(3), _hash(4)], t + 15_000);
    assert.deepEqual(live.map((h) => h[0]).sort(), [_hash(2)[0]]);
    assert.deepEqual(await store.liveSessions([], 0), []);
    await assert.rejects(store.liveSessions([new Uint8Array(5)], 0), RangeError);
  });

  // Presence.

  test("addPresence() records the servers that getPresence() reports", async (store) => {
    const [ada, bob] = await _users(store, 2);
    await store.addPresence(ada.id, 1);
    await store.addPresence(bob.id, 2);
    assert.deepEqual(await store.getPresence([bob.id, ada.id]), [
      { userId: ada.id, serverId: 1 },
      { userId: bob.id, serverId: 2 },
    ]);
  });

  test("addPresence() keeps a user present on several servers at once", async (store) => {
    const [ada] = await _users(store, 1);
    await store.addPresence(ada.id, 2);
    await store.addPresence(ada.id, 1);
    await store.addPresence(ada.id, 2);
    assert.deepEqual(await store.getPresence([ada.id]), [
      { userId: ada.id, serverId: 1 },
      { userId: ada.id, serverId: 2 },
    ]);
  });

  test("addPresence() for an unknown user fails with StoreError not_found", async (store) => {
    await _rejectsWith(store.addPresence(42, 1), STORE_ERRORS.notFound);
  });

  test("removePresence() removes one server's record and leaves the others", async (store) => {
    const [ada] = await _users(store, 1);
    await store.addPresence(ada.id, 1);
    await store.addPresence(ada.id, 2);
    await store.removePresence(ada.id, 1);
    assert.deepEqual(await store.getPresence([ada.id]), [{ userId: ada.id, serverId: 2 }]);
    await store.removePresence(ada.id, 2);
    assert.deepEqual(await store.getPresence([ada.id]), []);
    await store.removePresence(ada.id, 2);
  });

  test("clearServerPresence() removes only that server's records", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    await store.addPresence(ada.id, 1);
    await store.addPresence(bob.id, 2);
    await store.addPresence(cy.id, 1);
    await store.addPresence(cy.id, 2);
    await store.clearServerPresence(1);
    assert.deepEqual(await store.getPresence([ada.id, bob.id, cy.id]), [
      { userId: bob.id, serverId: 2 },
      { userId: cy.id, serverId: 2 },
    ]);
    await store.clearServerPresence(9);
  });

  test("getPresence() leaves out offline and unknown users and repeats", async (store) => {
    const [ada, bob] = await _users(store, 2);
    await store.addPresence(ada.id, 3);
    assert.deepEqual(await store.getPresence([]), []);
    assert.deepEqual(await store.getPresence([bob.id]), []);
    assert.deepEqual(await store.getPresence([ada.id, ada.id, bob.id, 999]), [
      { userId: ada.id, serverId: 3 },
    ]);
  });

  test("getPresence() answers for lists longer than a query's parameter limit", async (store) => {
    const users = await _users(store, 3);
    for (const u of users) await store.addPresence(u.id, 1);
    const ids = Array.from({ length: 40_000 }, (_, i) => 40_000 - i);
    const found = await store.getPresence(ids);
    assert.deepEqual(
      found.map((p) => p.userId).sort((a, b) => a - b),
      users.map((u) => u.id).sort((a, b) => a - b),
    );
  });

  test("getPresence() rejects IDs that are not positive integers", async (store) => {
    await assert.rejects(store.getPresence([1, -2]), RangeError);
    await assert.rejects(store.addPresence(0, 1), RangeError);
  });

  // Servers.

  test("upsertServer() adds servers that listServers() returns by ID", async (store) => {
    assert.deepEqual(await store.listServers(), []);
    await store.upsertServer({ id: 2, host: "127.0.0.1", port: 7102 });
    await store.upsertServer({ id: 1, host: "127.0.0.1", port: 7101 });
    assert.deepEqual(await store.listServers(), [
      { id: 1, host: "127.0.0.1", port: 7101, clients: 0, lagMs: 0, reportedAt: 0 },
      { id: 2, host: "127.0.0.1", port: 7102, clients: 0, lagMs: 0, reportedAt: 0 },
    ]);
  });

  test("reportLoad() records the load that listServers() returns", async (store) => {
    await store.upsertServer({ id: 1, host: "127.0.0.1", port: 7101 });
    await store.upsertServer({ id: 2, host: "127.0.0.1", port: 7102 });
    await store.reportLoad(2, { clients: 17, lagMs: 3 }, 1_700_000_000_000);
    await store.reportLoad(2, { clients: 18, lagMs: 4 }, 1_700_000_001_000);
    assert.deepEqual(await store.listServers(), [
      { id: 1, host: "127.0.0.1", port: 7101, clients: 0, lagMs: 0, reportedAt: 0 },
      {
        id: 2,
        host: "127.0.0.1",
        port: 7102,
        clients: 18,
        lagMs: 4,
        reportedAt: 1_700_000_001_000,
      },
    ]);
  });

  test("upsertServer() updates the address and keeps the load report", async (store) => {
    await store.upsertServer({ id: 1, host: "127.0.0.1", port: 7101 });
    await store.reportLoad(1, { clients: 5, lagMs: 1 }, 1000);
    await store.upsertServer({ id: 1, host: "chat.example", port: 443 });
    assert.deepEqual(await store.listServers(), [
      { id: 1, host: "chat.example", port: 443, clients: 5, lagMs: 1, reportedAt: 1000 },
    ]);
  });

  test("reportLoad() for an unknown server fails with StoreError not_found", async (store) => {
    await _rejectsWith(store.reportLoad(7, { clients: 1, lagMs: 0 }, 1), STORE_ERRORS.notFound);
  });

  test("upsertServer() rejects a bad port or ID", async (store) => {
    await assert.rejects(store.upsertServer({ id: 1, host: "h", port: 0 }), RangeError);
    await assert.rejects(store.upsertServer({ id: 1, host: "h", port: 65536 }), RangeError);
    await assert.rejects(store.upsertServer({ id: -1, host: "h", port: 1 }), RangeError);
    await assert.rejects(store.upsertServer({ id: 1, host: "", port: 1 }), TypeError);
  });

  // Groups.

  test("createGroup() adds the admin and deduplicates members in ascending order", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const before = Date.now();
    const group = await store.createGroup("friends", bob.id, [cy.id, ada.id, cy.id, bob.id]);
    assert.ok(group.id >= 1);
    assert.equal(group.name, "friends");
    assert.equal(group.adminId, bob.id);
    assert.deepEqual(group.members, [ada.id, bob.id, cy.id]);
    assert.ok(group.createdAt >= before && group.createdAt <= Date.now());
    assert.deepEqual(await store.getGroup(group.id), group);
  });

  test("createGroup() with only the admin makes a group of one", async (store) => {
    const [ada] = await _users(store, 1);
    const group = await store.createGroup("me", ada.id, []);
    assert.deepEqual(group.members, [ada.id]);
  });

  test("createGroup() assigns increasing IDs", async (store) => {
    const [ada] = await _users(store, 1);
    const g1 = await store.createGroup("one", ada.id, []);
    const g2 = await store.createGroup("two", ada.id, []);
    assert.ok(g2.id > g1.id);
  });

  test("createGroup() with unknown members fails with not_found naming them", async (store) => {
    const [ada] = await _users(store, 1);
    await assert.rejects(store.createGroup("g", ada.id, [ada.id, 901, 902]), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, STORE_ERRORS.notFound);
      assert.match(err.message, /901/);
      assert.match(err.message, /902/);
      return true;
    });
    await _rejectsWith(store.createGroup("g", 903, [ada.id]), STORE_ERRORS.notFound);
    assert.deepEqual(await store.listGroupsOf(ada.id), []);
  });

  test("createGroup() rejects an empty name with TypeError", async (store) => {
    const [ada] = await _users(store, 1);
    await assert.rejects(store.createGroup("", ada.id, []), TypeError);
  });

  test("getGroup() returns null for an unknown group", async (store) => {
    assert.equal(await store.getGroup(1), null);
    assert.equal(await store.getGroup(123), null);
  });

  test("addMember() adds once and returns false for an existing member", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const group = await store.createGroup("g", ada.id, []);
    assert.equal(await store.addMember(group.id, bob.id), true);
    assert.equal(await store.addMember(group.id, bob.id), false);
    assert.equal(await store.addMember(group.id, ada.id), false);
    assert.deepEqual((await store.getGroup(group.id))?.members, [ada.id, bob.id]);
  });

  test("addMember() with an unknown group or user fails with not_found", async (store) => {
    const [ada] = await _users(store, 1);
    const group = await store.createGroup("g", ada.id, []);
    await _rejectsWith(store.addMember(group.id + 100, ada.id), STORE_ERRORS.notFound);
    await _rejectsWith(store.addMember(group.id, 999), STORE_ERRORS.notFound);
    assert.deepEqual((await store.getGroup(group.id))?.members, [ada.id]);
  });

  test("removeMember() removes a member and returns false for a non-member", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const group = await store.createGroup("g", ada.id, [bob.id]);
    assert.equal(await store.removeMember(group.id, bob.id), true);
    assert.equal(await store.removeMember(group.id, bob.id), false);
    assert.equal(await store.removeMember(group.id, cy.id), false);
    assert.equal(await store.removeMember(group.id + 100, bob.id), false);
    assert.deepEqual((await store.getGroup(group.id))?.members, [ada.id]);
    assert.deepEqual(await store.listGroupsOf(bob.id), []);
  });

  test("removeMember() refuses to remove the admin with StoreError conflict", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const group = await store.createGroup("g", ada.id, [bob.id]);
    await _rejectsWith(store.removeMember(group.id, ada.id), STORE_ERRORS.conflict);
    assert.deepEqual((await store.getGroup(group.id))?.members, [ada.id, bob.id]);
  });

  test("listGroupsOf() lists a user's groups by ID with all members", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const g1 = await store.createGroup("one", ada.id, [bob.id]);
    const g2 = await store.createGroup("two", cy.id, []);
    const g3 = await store.createGroup("three", cy.id, [ada.id, bob.id]);
    assert.deepEqual(await store.listGroupsOf(ada.id), [g1, g3]);
    assert.deepEqual(await store.listGroupsOf(bob.id), [g1, g3]);
    assert.deepEqual(await store.listGroupsOf(cy.id), [g2, g3]);
    assert.deepEqual(await store.listGroupsOf(999), []);
    await store.addMember(g2.id, ada.id);
    assert.deepEqual(
      (await store.listGroupsOf(ada.id)).map((g) => [g.id, g.members]),
      [[g1.id, [ada.id, bob.id]], [g2.id, [ada.id, cy.id]], [g3.id, [ada.id, bob.id, cy.id]]],
    );
  });

  test("setGroupAdmin() hands the group to a member and returns it", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const group = await store.createGroup("g", ada.id, [bob.id, cy.id]);
    const handed = await store.setGroupAdmin(group.id, ada.id, bob.id);
    assert.deepEqual(handed, { ...group, adminId: bob.id });
    assert.deepEqual(await store.getGroup(group.id), handed);
    assert.deepEqual(await store.listGroupsOf(cy.id), [handed]);
    // The old admin is a member like any other now; the new one cannot be removed.
    await _rejectsWith(store.removeMember(group.id, bob.id), STORE_ERRORS.conflict);
    assert.equal(await store.removeMember(group.id, ada.id), true);
    assert.deepEqual((await store.getGroup(group.id))?.members, [bob.id, cy.id]);
  });

  test("setGroupAdmin() to the admin itself changes nothing", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const group = await store.createGroup("g", ada.id, [bob.id]);
    assert.deepEqual(await store.setGroupAdmin(group.id, ada.id, ada.id), group);
    assert.deepEqual(await store.getGroup(group.id), group);
  });

  test("setGroupAdmin() refuses a non-member, a caller who is not the admin, an unknown group", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const group = await store.createGroup("g", ada.id, [bob.id]);
    await _rejectsWith(
      store.setGroupAdmin(group.id, ada.id, cy.id),
      STORE_ERRORS.conflict,
      /not a member/,
    );
    await _rejectsWith(store.setGroupAdmin(group.id, ada.id, 999), STORE_ERRORS.conflict);
    await _rejectsWith(
      store.setGroupAdmin(group.id, bob.id, bob.id),
      STORE_ERRORS.conflict,
      /not the admin/,
    );
    await _rejectsWith(store.setGroupAdmin(group.id + 100, ada.id, bob.id), STORE_ERRORS.notFound);
    await assert.rejects(store.setGroupAdmin(group.id, ada.id, 0), RangeError);
    assert.deepEqual(await store.getGroup(group.id), group);
  });

  test("deleteGroup() returns the group as it was and leaves nothing of it to use", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const group = await store.createGroup("g", ada.id, [bob.id]);
    const other = await store.createGroup("other", bob.id, [ada.id]);
    assert.deepEqual(await store.deleteGroup(group.id, ada.id), group);
    assert.equal(await store.getGroup(group.id), null);
    assert.deepEqual(await store.listGroupsOf(ada.id), [other]);
    assert.deepEqual(await store.listGroupsOf(bob.id), [other]);
    await _rejectsWith(store.addMember(group.id, cy.id), STORE_ERRORS.notFound);
    assert.equal(await store.removeMember(group.id, bob.id), false);
    await _rejectsWith(store.setGroupAdmin(group.id, ada.id, bob.id), STORE_ERRORS.notFound);
    await _rejectsWith(store.deleteGroup(group.id, ada.id), STORE_ERRORS.notFound);
    assert.deepEqual(await store.listGroupsOf(cy.id), []);
    // Its ID is never reused.
    assert.ok((await store.createGroup("new", cy.id, [])).id > other.id);
  });

  test("deleteGroup() by anyone but the admin fails with conflict and changes nothing", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const group = await store.createGroup("g", ada.id, [bob.id]);
    await _rejectsWith(store.deleteGroup(group.id, bob.id), STORE_ERRORS.conflict, /not the admin/);
    await _rejectsWith(store.deleteGroup(group.id, cy.id), STORE_ERRORS.conflict);
    await _rejectsWith(store.deleteGroup(group.id + 100, ada.id), STORE_ERRORS.notFound);
    assert.deepEqual(await store.getGroup(group.id), group);
  });

  test("deleteGroup() keeps the group's pending messages deliverable and its ID for events", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const group = await store.createGroup("g", ada.id, [bob.id]);
    const [before] = await store.saveMessages([{
      senderId: ada.id,
      clientMsgId: "g1",
      kind: "group",
      groupId: group.id,
      body: "ciphertext",
      recipients: [{ userId: bob.id }],
    }]);
    await store.deleteGroup(group.id, ada.id);
    const [event] = await store.saveMessages([{
      senderId: 0,
      clientMsgId: null,
      kind: "group_event",
      groupId: group.id,
      body: '{"event":"deleted"}',
      recipients: [{ userId: ada.id }, { userId: bob.id }],
    }]);
    assert.ok(event!.id > before!.id);
    assert.deepEqual(
      (await store.pendingFor(bob.id, 0, 10)).map((p) => [p.id, p.kind, p.groupId, p.body]),
      [
        [before!.id, "group", group.id, "ciphertext"],
        [event!.id, "group_event", group.id, '{"event":"deleted"}'],
      ],
    );
    assert.equal((await store.ackDeliveries(bob.id, [before!.id, event!.id])).length, 2);
  });

  fixtureTest(
    "setGroupAdmin() racing removeMember() of the new admin never leaves an admin outside",
    async (f) => {
      const other = await openStore(f.location);
      try {
        const [ada, bob] = await _users(f.store, 2);
        const groups: GroupRecord[] = [];
        for (let i = 0; i < 40; i++) {
          groups.push(await f.store.createGroup(`g${i}`, ada.id, [bob.id]));
        }
        // Every handover and removal at once, on two instances, so many of them overlap.
        const outcomes = await Promise.all(groups.map((g) =>
          Promise.allSettled([
            f.store.setGroupAdmin(g.id, ada.id, bob.id),
            other.removeMember(g.id, bob.id),
          ])
        ));
        for (const [i, [handed, removed]] of outcomes.entries()) {
          const now = (await f.store.getGroup(groups[i]!.id))!;
          assert.ok(now.members.includes(now.adminId), `group ${i}: ${JSON.stringify(now)}`);
          // Exactly one of the two took effect.
          if (handed.status === "fulfilled") {
            assert.equal(now.adminId, bob.id);
            assert.ok(removed.status === "rejected", "the new admin was removed too");
            assert.equal((removed.reason as StoreError).code, STORE_ERRORS.conflict);
          } else {
            assert.equal((handed.reason as StoreError).code, STORE_ERRORS.conflict);
            assert.deepEqual(removed, { status: "fulfilled", value: true });
            assert.deepEqual(now.members, [ada.id]);
          }
        }
      } finally {
        await other.close();
      }
    },
  );

  fixtureTest(
    "deleteGroup() racing addMember() never leaves a member in a deleted group",
    async (f) => {
      const other = await openStore(f.location);
      try {
        const [ada, bob, cy] = await _users(f.store, 3);
        const groups: GroupRecord[] = [];
        for (let i = 0; i < 40; i++) {
          groups.push(
            await f.store.createGroup(`g${i}`, ada.id, [bob.id]),
          );
        }
        const outcomes = await Promise.all(
          groups.map((g) =>
            Promise.allSettled([f.store.deleteGroup(g.id, ada.id), other.addMember(g.id, cy.id)])
          ),
        );
        assert.deepEqual(await f.store.listGroupsOf(cy.id), []);
        for (const [i, [deleted, added]] of outcomes.entries()) {
          assert.ok(deleted.status === "fulfilled", `group ${i}: ${String(deleted)}`);
          assert.equal(await f.store.getGroup(groups[i]!.id), null);
          if (added.status === "fulfilled") {
            assert.equal(added.value, true);
            // Added first: the deletion took the new member with the others.
            assert.deepEqual(deleted.value.members, [ada.id, bob.id, cy.id]);
          } else {
            assert.equal((added.reason as StoreError).code, STORE_ERRORS.notFound);
          }
        }
      } finally {
        await other.close();
      }
    },
  );

  // Messages.

  test("saveMessages() assigns increasing IDs in input order", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const before = Date.now();
    const saved = await store.saveMessages([
      _direct(ada.id, "a1", bob.id),
      _direct(bob.id, "b1", ada.id),
      _direct(ada.id, "a2", bob.id),
    ]);
    assert.equal(saved.length, 3);
    assert.ok(saved.every((s) => !s.duplicate));
    assert.ok(saved[0]!.id >= 1 && saved[1]!.id > saved[0]!.id && saved[2]!.id > saved[1]!.id);
    assert.ok(saved.every((s) => s.createdAt >= before && s.createdAt <= Date.now()));
    const next = await store.saveMessages([_direct(ada.id, "a3", bob.id)]);
    assert.ok(next[0]!.id > saved[2]!.id);
  });

  test("saveMessages() with an empty batch returns an empty list", async (store) => {
    assert.deepEqual(await store.saveMessages([]), []);
  });

  test("saveMessages() returns the original for a resend in a later batch", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const [first] = await store.saveMessages([_direct(ada.id, "m1", bob.id, "v1")]);
    const statsBefore = await store.stats();
    const again = await store.saveMessages([
      _direct(ada.id, "m2", bob.id),
      _direct(ada.id, "m1", bob.id, "v2"),
    ]);
    assert.equal(again[1]!.duplicate, true);
    assert.equal(again[1]!.id, first!.id);
    assert.equal(again[1]!.createdAt, first!.createdAt);
    assert.equal(again[0]!.duplicate, false);
    assert.ok(again[0]!.id > first!.id);
    const stats = await store.stats();
    assert.equal(stats.messages, statsBefore.messages + 1);
    assert.equal(stats.pendingDeliveries, statsBefore.pendingDeliveries + 1);
    const pending = await store.pendingFor(bob.id, 0, 10);
    assert.deepEqual(pending.map((p) => [p.clientMsgId, p.body]), [["m1", "v1"], ["m2", "hi"]]);
  });

  test("pendingOnServer() lists old deliveries of users present on that server", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    await store.upsertServer({ id: 1, host: "127.0.0.1", port: 7101 });
    await store.upsertServer({ id: 2, host: "127.0.0.1", port: 7102 });
    await store.addPresence(bob.id, 1);
    await store.addPresence(cy.id, 2);
    const saved = await store.saveMessages([
      _direct(ada.id, "m1", bob.id, "to bob"),
      _direct(ada.id, "m2", cy.id, "to cy"),
      {
        senderId: ada.id,
        clientMsgId: "k1",
        kind: "key",
        groupId: null,
        body: "",
        recipients: [{ userId: bob.id, body: "wrapped for bob" }],
      },
    ]);
    const later = Date.now() + 1;
    const onOne = await store.pendingOnServer(1, later, 10);
    assert.deepEqual(
      onOne.map((p) => [p.id, p.recipientId, p.body]),
      [[saved[0]!.id, bob.id, "to bob"], [saved[2]!.id, bob.id, "wrapped for bob"]],
    );
    assert.deepEqual((await store.pendingOnServer(2, later, 10)).map((p) => p.body), ["to cy"]);
    // Only messages accepted before the cut-off, and at most `limit`.
    assert.deepEqual(await store.pendingOnServer(1, saved[0]!.createdAt, 10), []);
    assert.equal((await store.pendingOnServer(1, later, 1)).length, 1);
    // Acked deliveries and absent users drop out.
    await store.ackDeliveries(bob.id, [saved[0]!.id]);
    assert.deepEqual((await store.pendingOnServer(1, later, 10)).map((p) => p.id), [saved[2]!.id]);
    await store.removePresence(bob.id, 1);
    assert.deepEqual(await store.pendingOnServer(1, later, 10), []);
    await assert.rejects(store.pendingOnServer(1, later, 0), RangeError);
  });

  test("saveMessages() treats a repeat within one batch as a duplicate", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const saved = await store.saveMessages([
      _direct(ada.id, "m1", bob.id, "one"),
      _direct(ada.id, "m1", bob.id, "two"),
      _direct(ada.id, "m2", bob.id),
    ]);
    assert.deepEqual(saved.map((s) => s.duplicate), [false, true, false]);
    assert.equal(saved[1]!.id, saved[0]!.id);
    assert.equal(saved[1]!.createdAt, saved[0]!.createdAt);
    assert.equal((await store.stats()).messages, 2);
    const pending = await store.pendingFor(bob.id, 0, 10);
    assert.deepEqual(pending.map((p) => p.body), ["one", "hi"]);
  });

  test("saveMessages() keys idempotency on sender and client ID together", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const saved = await store.saveMessages([
      _direct(ada.id, "same", bob.id),
      _direct(bob.id, "same", ada.id),
    ]);
    assert.deepEqual(saved.map((s) => s.duplicate), [false, false]);
    assert.notEqual(saved[0]!.id, saved[1]!.id);
  });

  test("saveMessages() never merges server events without a client ID", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const group = await store.createGroup("g", ada.id, [bob.id]);
    const event: NewMessage = {
      senderId: 0,
      clientMsgId: null,
      kind: "group_event",
      groupId: group.id,
      body: '{"event":"joined"}',
      recipients: [{ userId: ada.id }, { userId: bob.id }],
    };
    const first = await store.saveMessages([event, event]);
    const second = await store.saveMessages([event]);
    assert.deepEqual([...first, ...second].map((s) => s.duplicate), [false, false, false]);
    assert.equal(new Set([...first, ...second].map((s) => s.id)).size, 3);
    const pending = await store.pendingFor(bob.id, 0, 10);
    assert.equal(pending.length, 3);
    assert.deepEqual(pending[0], {
      id: first[0]!.id,
      senderId: 0,
      clientMsgId: null,
      kind: "group_event",
      groupId: group.id,
      body: '{"event":"joined"}',
      recipientId: bob.id,
      createdAt: first[0]!.createdAt,
    });
  });

  test("saveMessages() gives each recipient its own body when one is set", async (store) => {
    const [ada, bob, cy, dee] = await _users(store, 4);
    const group = await store.createGroup("g", ada.id, [bob.id, cy.id, dee.id]);
    const [saved] = await store.saveMessages([{
      senderId: ada.id,
      clientMsgId: "k1",
      kind: "key",
      groupId: group.id,
      body: "shared",
      recipients: [
        { userId: bob.id, body: "wrapped-for-bob" },
        { userId: cy.id, body: "wrapped-for-cy" },
        { userId: dee.id },
      ],
    }]);
    const bodyFor = async (userId: number) => (await store.pendingFor(userId, 0, 10))[0]?.body;
    assert.equal(await bodyFor(bob.id), "wrapped-for-bob");
    assert.equal(await bodyFor(cy.id), "wrapped-for-cy");
    assert.equal(await bodyFor(dee.id), "shared");
    assert.deepEqual(await store.pendingFor(ada.id, 0, 10), []);
    const [p] = await store.pendingFor(bob.id, 0, 10);
    assert.deepEqual(p, {
      id: saved!.id,
      senderId: ada.id,
      clientMsgId: "k1",
      kind: "key",
      groupId: group.id,
      body: "wrapped-for-bob",
      recipientId: bob.id,
      createdAt: saved!.createdAt,
    });
  });

  test("saveMessages() keeps bodies exactly, including empty and non-ASCII", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const bodies = ["", "héllo 🌍", "x".repeat(200_000), '{"a":"\\u0000"}'];
    await store.saveMessages(bodies.map((b, i) => _direct(ada.id, `m${i}`, bob.id, b)));
    const got = (await store.pendingFor(bob.id, 0, 10)).map((p) => p.body);
    assert.equal(got.length, bodies.length);
    for (const [i, b] of bodies.entries()) assert.ok(got[i] === b, `body ${i} changed`);
  });

  test("saveMessages() rejects a body with a NUL character with TypeError", async (store) => {
    const [ada, bob] = await _users(store, 2);
    await assert.rejects(store.saveMessages([_direct(ada.id, "m", bob.id, "a\u0000b")]), TypeError);
    await assert.rejects(
      store.saveMessages([{
        ..._direct(ada.id, "m", bob.id),
        recipients: [{ userId: bob.id, body: "\u0000" }],
      }]),
      TypeError,
    );
    assert.equal((await store.stats()).messages, 0);
  });

  test("saveMessages() with an unknown recipient saves nothing and fails with not_found", async (store) => {
    const [ada, bob] = await _users(store, 2);
    await _rejectsWith(
      store.saveMessages([_direct(ada.id, "ok", bob.id), _direct(ada.id, "bad", 999)]),
      STORE_ERRORS.notFound,
      /999/,
    );
    assert.deepEqual(await store.stats(), { users: 2, messages: 0, pendingDeliveries: 0 });
    const [saved] = await store.saveMessages([_direct(ada.id, "ok", bob.id)]);
    assert.equal(saved!.duplicate, false);
  });

  test("saveMessages() with an unknown group saves nothing and fails with not_found", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const group = await store.createGroup("g", ada.id, [bob.id]);
    const message = (groupId: number): NewMessage => ({
      ..._direct(ada.id, `m${groupId}`, bob.id),
      kind: "group",
      groupId,
    });
    await assert.rejects(store.saveMessages([message(group.id), message(group.id + 50)]), (err) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, STORE_ERRORS.notFound);
      assert.match(err.message, new RegExp(String(group.id + 50)));
      return true;
    });
    assert.equal((await store.stats()).messages, 0);
  });

  test("saveMessages() rejects a malformed message and saves nothing", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const good = _direct(ada.id, "ok", bob.id);
    const bad: NewMessage[] = [
      { ...good, kind: "nonsense" as NewMessage["kind"] },
      { ...good, senderId: -1 },
      { ...good, recipients: [{ userId: 0 }] },
      { ...good, recipients: [{ userId: bob.id }, { userId: bob.id }] },
      { ...good, body: 5 as unknown as string },
    ];
    for (const m of bad) {
      await assert.rejects(store.saveMessages([good, m]), (err: unknown) => {
        assert.ok(err instanceof TypeError || err instanceof RangeError, String(err));
        return true;
      });
    }
    assert.equal((await store.stats()).messages, 0);
  });

  test("pendingFor() returns a user's deliveries in ID order", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const saved = await store.saveMessages([
      _direct(ada.id, "1", bob.id),
      _direct(cy.id, "2", ada.id),
      _direct(cy.id, "3", bob.id),
    ]);
    const more = await store.saveMessages([_direct(ada.id, "4", bob.id)]);
    const pending = await store.pendingFor(bob.id, 0, 100);
    assert.deepEqual(pending.map((p) => p.id), [saved[0]!.id, saved[2]!.id, more[0]!.id]);
    assert.deepEqual(pending.map((p) => p.senderId), [ada.id, cy.id, ada.id]);
    assert.ok(pending.every((p) => p.recipientId === bob.id && p.kind === "direct"));
    assert.ok(pending.every((p) => p.groupId === null));
    assert.deepEqual((await store.pendingFor(ada.id, 0, 100)).map((p) => p.id), [saved[1]!.id]);
    assert.deepEqual(await store.pendingFor(999, 0, 100), []);
  });

  test("pendingFor() pages with afterId and limit", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const saved = await store.saveMessages(
      Array.from({ length: 7 }, (_, i) => _direct(ada.id, `m${i}`, bob.id)),
    );
    const ids = saved.map((s) => s.id);
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const page = await store.pendingFor(bob.id, after, 3);
      assert.ok(page.length <= 3);
      if (page.length === 0) break;
      seen.push(...page.map((p) => p.id));
      after = page[page.length - 1]!.id;
    }
    assert.deepEqual(seen, ids);
    assert.deepEqual((await store.pendingFor(bob.id, ids[4]!, 10)).map((p) => p.id), ids.slice(5));
    assert.deepEqual(await store.pendingFor(bob.id, ids[6]!, 10), []);
  });

  test("pendingFor() rejects a bad cursor or limit", async (store) => {
    const [ada] = await _users(store, 1);
    await assert.rejects(store.pendingFor(ada.id, -1, 10), RangeError);
    await assert.rejects(store.pendingFor(ada.id, 0, 0), RangeError);
    await assert.rejects(store.pendingFor(0, 0, 10), RangeError);
  });

  test("ackDeliveries() removes deliveries and returns only those pending", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const saved = await store.saveMessages([
      _direct(ada.id, "a1", bob.id),
      _direct(cy.id, "c1", bob.id),
      _direct(ada.id, "a2", cy.id),
      _direct(ada.id, "a3", bob.id),
    ]);
    const [m1, m2, m3, m4] = saved.map((s) => s.id) as [number, number, number, number];
    const acked = await store.ackDeliveries(bob.id, [m2, m1, m3, m1, 9999]);
    assert.deepEqual(acked, [
      { id: m1, senderId: ada.id, clientMsgId: "a1" },
      { id: m2, senderId: cy.id, clientMsgId: "c1" },
    ]);
    assert.deepEqual((await store.pendingFor(bob.id, 0, 10)).map((p) => p.id), [m4]);
    assert.deepEqual((await store.pendingFor(cy.id, 0, 10)).map((p) => p.id), [m3]);
  });

  test("ackDeliveries() is idempotent: a repeated ack returns nothing", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const [saved] = await store.saveMessages([_direct(ada.id, "a1", bob.id)]);
    assert.equal((await store.ackDeliveries(bob.id, [saved!.id])).length, 1);
    assert.deepEqual(await store.ackDeliveries(bob.id, [saved!.id]), []);
    assert.deepEqual(await store.ackDeliveries(bob.id, []), []);
    assert.equal((await store.stats()).pendingDeliveries, 0);
  });

  test("ackDeliveries() by one group member leaves the others' deliveries", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const group = await store.createGroup("g", ada.id, [bob.id, cy.id]);
    const [saved] = await store.saveMessages([{
      senderId: ada.id,
      clientMsgId: "g1",
      kind: "group",
      groupId: group.id,
      body: "ciphertext",
      recipients: [{ userId: bob.id }, { userId: cy.id }],
    }]);
    assert.deepEqual(await store.ackDeliveries(bob.id, [saved!.id]), [
      { id: saved!.id, senderId: ada.id, clientMsgId: "g1" },
    ]);
    const [p] = await store.pendingFor(cy.id, 0, 10);
    assert.equal(p?.body, "ciphertext");
    assert.equal(p?.groupId, group.id);
    assert.equal((await store.ackDeliveries(cy.id, [saved!.id])).length, 1);
    assert.equal((await store.stats()).pendingDeliveries, 0);
  });

  fixtureTest(
    "saveMessages() still recognises a resend after every delivery was acked",
    async (f) => {
      const store = f.store;
      const [ada, bob] = await _users(store, 2);
      const [first] = await store.saveMessages([_direct(ada.id, "m1", bob.id)]);
      await store.ackDeliveries(bob.id, [first!.id]);
      await store.settle(100);
      assert.equal(await f.storedBody(first!.id), null, "the message row is gone");
      const [again] = await store.saveMessages([_direct(ada.id, "m1", bob.id)]);
      assert.deepEqual(again, { id: first!.id, createdAt: first!.createdAt, duplicate: true });
      assert.deepEqual(await store.pendingFor(bob.id, 0, 10), []);
    },
  );

  // Text is stored exactly or refused.

  test("every text argument with a lone surrogate is refused with TypeError", async (store) => {
    const lone = "A\ud800B";
    await assert.rejects(store.createUser(_newUser(lone)), TypeError);
    await assert.rejects(store.createUser({ ..._newUser("ada"), rsaPublicKey: lone }), TypeError);
    const [ada, bob] = await _users(store, 2);
    await assert.rejects(store.createGroup(lone, ada.id, []), TypeError);
    await assert.rejects(store.saveMessages([_direct(ada.id, "m1", bob.id, lone)]), TypeError);
    await assert.rejects(
      store.saveMessages([{
        ..._direct(ada.id, "m2", bob.id),
        recipients: [{ userId: bob.id, body: "\udc00" }],
      }]),
      TypeError,
    );
    await assert.rejects(store.saveMessages([_direct(ada.id, lone, bob.id)]), TypeError);
    assert.deepEqual(await store.stats(), { users: 2, messages: 0, pendingDeliveries: 0 });
  });

  test("saveMessages() keeps emoji sequences, combining marks and controls exactly", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const bodies = [
      "\u{1F3F3}\uFE0F\u200D\u{1F308}", // rainbow flag (ZWJ sequence)
      "\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645", // Persian with ZWNJ
      "e\u0301\t\r\n\u001b[31m\u202E", // combining mark, controls, bidi override
      "\u{10FFFF}\uFFFF",
    ];
    const saved = await store.saveMessages(
      bodies.map((b, i) => _direct(ada.id, `m${i}`, bob.id, b)),
    );
    const pending = await store.pendingFor(bob.id, 0, 10);
    assert.deepEqual(pending.map((p) => p.body), bodies);
    assert.deepEqual(pending.map((p) => p.id), saved.map((m) => m.id));
  });

  // Retention and IDs.

  fixtureTest("settle() deletes a message row once its last delivery is acked", async (f) => {
    const store = f.store;
    const [ada, bob, cy] = await _users(store, 3);
    const [m] = await store.saveMessages([{
      ..._direct(ada.id, "m1", bob.id, "secret"),
      recipients: [{ userId: bob.id }, { userId: cy.id, body: "wrapped" }],
    }]);
    assert.equal(await f.storedBody(m!.id), "secret");
    await store.ackDeliveries(bob.id, [m!.id]);
    await store.settle(100);
    assert.equal(await f.storedBody(m!.id), "secret", "cy's delivery still needs the row");
    await store.ackDeliveries(cy.id, [m!.id]);
    await store.settle(100);
    assert.equal(await f.storedBody(m!.id), null);
    assert.equal((await store.stats()).messages, 0);
    await assert.rejects(store.settle(0), RangeError);
    await assert.rejects(store.settle(1, { now: -1 }), RangeError);
    // A message with no recipient keeps no row, and a resend of it is still a duplicate.
    const [empty] = await store.saveMessages([{
      ..._direct(ada.id, "m2", bob.id),
      recipients: [],
    }]);
    await store.settle(100);
    assert.equal(await f.storedBody(empty!.id), null);
    const [again] = await store.saveMessages([{
      ..._direct(ada.id, "m2", bob.id),
      recipients: [],
    }]);
    assert.deepEqual(again, { ...empty!, duplicate: true });
  });

  test("settle() forgets idempotency records older than the window, not younger ones", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const saved = await store.saveMessages([
      _direct(ada.id, "m1", bob.id),
      _direct(ada.id, "m2", bob.id),
    ]);
    await store.ackDeliveries(bob.id, saved.map((s) => s.id));
    await store.settle(100);
    const at = saved[0]!.createdAt;
    // Within the window (the default is seven days): still a duplicate.
    await store.settle(100, { now: at + DEFAULT_IDEMPOTENCY_MS - 1 });
    const [within] = await store.saveMessages([_direct(ada.id, "m1", bob.id)]);
    assert.deepEqual(within, { ...saved[0]!, duplicate: true });
    // Past a shorter window given to settle(): forgotten, so the resend is a new message.
    await store.settle(100, { now: at + 60_000, idempotencyMs: 1_000 });
    const [after] = await store.saveMessages([_direct(ada.id, "m2", bob.id)]);
    assert.equal(after!.duplicate, false);
    assert.ok(after!.id > saved[1]!.id);
  });

  test("saveMessages() never reuses an ID after the newest message is settled", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const [m1] = await store.saveMessages([_direct(ada.id, "m1", bob.id)]);
    await store.ackDeliveries(bob.id, [m1!.id]);
    const [m2] = await store.saveMessages([_direct(ada.id, "m2", bob.id)]);
    assert.ok(m2!.id > m1!.id);
  });

  // Bounds on what waits (see "Bounds on what waits" in store.ts).

  test("saveMessages() refuses a message to a recipient at their pending message bound", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const bounds = { messages: 2, bytes: 1_000_000 };
    const first = await store.saveMessages(
      [_direct(ada.id, "m1", bob.id), _direct(ada.id, "m2", bob.id)],
      bounds,
    );
    assert.ok(first.every((s) => s.id > 0 && s.fullRecipients === undefined));
    const [refused] = await store.saveMessages([_direct(cy.id, "c1", bob.id)], bounds);
    assert.deepEqual(refused, { id: 0, createdAt: 0, duplicate: false, fullRecipients: [bob.id] });
    assert.equal((await store.pendingFor(bob.id, 0, 10)).length, 2);
    assert.equal((await store.stats()).messages, 2);
    // Others still receive.
    const [toAda] = await store.saveMessages([_direct(cy.id, "c2", ada.id)], bounds);
    assert.ok(toAda!.id > 0);
    // Nothing was stored for the refused one: once bob acknowledges one, it is new.
    await store.ackDeliveries(bob.id, [first[0]!.id]);
    const [again] = await store.saveMessages([_direct(cy.id, "c1", bob.id)], bounds);
    assert.equal(again!.duplicate, false);
    assert.ok(again!.id > toAda!.id);
    // The default bound is far away.
    const [plenty] = await store.saveMessages([_direct(cy.id, "c3", bob.id)]);
    assert.ok(plenty!.id > 0 && plenty!.fullRecipients === undefined);
    await assert.rejects(store.saveMessages([], { messages: 0, bytes: 1 }), RangeError);
    await assert.rejects(store.saveMessages([], { messages: 1, bytes: 1.5 }), RangeError);
  });

  test("saveMessages() refuses a message that would pass the recipient's byte bound", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const bounds = { messages: 100, bytes: 10 };
    // Bytes are UTF-8 bytes of the body the recipient gets: "é" is two.
    const [a] = await store.saveMessages([_direct(ada.id, "m1", bob.id, "ééé")], bounds);
    assert.ok(a!.id > 0);
    const [b] = await store.saveMessages([_direct(ada.id, "m2", bob.id, "12345")], bounds);
    assert.deepEqual(b, { id: 0, createdAt: 0, duplicate: false, fullRecipients: [bob.id] });
    const [c] = await store.saveMessages([_direct(ada.id, "m3", bob.id, "1234")], bounds);
    assert.ok(c!.id > 0, "exactly at the bound is allowed");
    // A per-recipient body is what counts for that recipient.
    await store.ackDeliveries(bob.id, [a!.id, c!.id]);
    const [k] = await store.saveMessages([{
      ..._direct(ada.id, "k1", bob.id, ""),
      kind: "key",
      recipients: [{ userId: bob.id, body: "x".repeat(11) }],
    }], bounds);
    assert.deepEqual(k!.fullRecipients, [bob.id]);
    assert.equal(k!.id, 0);
  });

  test("saveMessages() counts a batch's messages to one recipient in input order", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const saved = await store.saveMessages([
      _direct(ada.id, "m1", bob.id),
      _direct(ada.id, "m2", cy.id),
      _direct(ada.id, "m3", bob.id),
      _direct(ada.id, "m4", bob.id),
      _direct(ada.id, "m3", bob.id),
      _direct(ada.id, "m4", bob.id),
    ], { messages: 2, bytes: 1_000_000 });
    assert.deepEqual(saved.map((s) => s.id > 0), [true, true, true, false, true, false]);
    assert.deepEqual(saved[3]!.fullRecipients, [bob.id]);
    assert.deepEqual(saved[4], { ...saved[2]!, duplicate: true });
    // A repeat of a refused message is refused too, not a duplicate of nothing.
    assert.deepEqual(saved[5], { id: 0, createdAt: 0, duplicate: false, fullRecipients: [bob.id] });
    assert.ok(saved[2]!.id > saved[1]!.id && saved[1]!.id > saved[0]!.id);
    assert.deepEqual((await store.pendingFor(bob.id, 0, 10)).map((p) => p.clientMsgId), [
      "m1",
      "m3",
    ]);
  });

  test("saveMessages() sorts out one batch of new, repeated, refused, partly refused and earlier messages", async (store) => {
    const [ada, bob, cy, dan] = await _users(store, 4);
    const bounds = { messages: 2, bytes: 1_000_000 };
    const to = (cmid: string, users: number[]): NewMessage => ({
      senderId: ada.id,
      clientMsgId: cmid,
      kind: "direct",
      groupId: null,
      body: cmid,
      recipients: users.map((userId) => ({ userId })),
    });
    // Before the batch: bob has one pending; "live" to dan is pending; "gone" was delivered
    // and settled, so only its idempotency record is left.
    const before = await store.saveMessages([
      to("pre", [bob.id]),
      to("live", [dan.id]),
      to("gone", [cy.id]),
    ], bounds);
    await store.ackDeliveries(cy.id, [before[2]!.id]);
    await store.settle(100);
    const saved = await store.saveMessages([
      to("g1", [bob.id, cy.id]),
      to("g2", [cy.id, bob.id]),
      to("b3", [bob.id]),
      to("g1", [bob.id, cy.id]),
      to("g2", [cy.id, bob.id]),
      to("b3", [bob.id]),
      to("gone", [cy.id]),
      to("live", [dan.id]),
      to("e1", []),
      to("e1", []),
      to("z", [dan.id, cy.id]),
    ], bounds);
    const [g1, g2, b3, , , , , , e1, , z] = saved;
    assert.deepEqual(g1, { id: g1!.id, createdAt: g1!.createdAt, duplicate: false });
    assert.deepEqual(g2, {
      id: g2!.id,
      createdAt: g1!.createdAt,
      duplicate: false,
      fullRecipients: [bob.id],
    });
    const refused = { id: 0, createdAt: 0, duplicate: false, fullRecipients: [bob.id] };
    assert.deepEqual(b3, refused);
    assert.deepEqual(saved.slice(3, 8), [
      { ...g1!, duplicate: true },
      { id: g2!.id, createdAt: g2!.createdAt, duplicate: true },
      refused,
      { ...before[2]!, duplicate: true },
      { ...before[1]!, duplicate: true },
    ]);
    assert.deepEqual(e1, { id: e1!.id, createdAt: g1!.createdAt, duplicate: false });
    assert.deepEqual(saved[9], { ...e1!, duplicate: true });
    assert.deepEqual(z, {
      id: z!.id,
      createdAt: g1!.createdAt,
      duplicate: false,
      fullRecipients: [cy.id],
    });
    assert.ok(g1!.id > before[2]!.id && g2!.id > g1!.id && e1!.id > g2!.id && z!.id > e1!.id);
    const pending = async (u: UserRecord) =>
      (await store.pendingFor(u.id, 0, 10)).map((p) => [p.clientMsgId, p.id]);
    assert.deepEqual(await pending(bob), [["pre", before[0]!.id], ["g1", g1!.id]]);
    assert.deepEqual(await pending(cy), [["g1", g1!.id], ["g2", g2!.id]]);
    assert.deepEqual(await pending(dan), [["live", before[1]!.id], ["z", z!.id]]);
    assert.deepEqual(await store.stats(), { users: 4, messages: 5, pendingDeliveries: 6 });
    // The totals count what was kept: one acknowledgement makes room for exactly one more.
    await store.ackDeliveries(bob.id, [g1!.id]);
    const after = await store.saveMessages([to("b4", [bob.id]), to("b5", [bob.id])], bounds);
    assert.deepEqual(after.map((s) => s.id > 0), [true, false]);
  });

  test("saveMessages() leaves a full member out of a group message and refuses it when all are", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const group = await store.createGroup("g", ada.id, [bob.id, cy.id]);
    const bounds = { messages: 1, bytes: 1_000_000 };
    const toGroup = (cmid: string): NewMessage => ({
      senderId: ada.id,
      clientMsgId: cmid,
      kind: "group",
      groupId: group.id,
      body: cmid,
      recipients: [{ userId: bob.id }, { userId: cy.id }],
    });
    await store.saveMessages([_direct(ada.id, "to-bob", bob.id)], bounds);
    const [partly] = await store.saveMessages([toGroup("g1")], bounds);
    assert.ok(partly!.id > 0);
    assert.deepEqual(partly!.fullRecipients, [bob.id]);
    assert.deepEqual((await store.pendingFor(cy.id, 0, 10)).map((p) => p.body), ["g1"]);
    assert.deepEqual((await store.pendingFor(bob.id, 0, 10)).map((p) => p.clientMsgId), ["to-bob"]);
    // A resend is a duplicate (the full member stays left out).
    const [dup] = await store.saveMessages([toGroup("g1")], bounds);
    assert.deepEqual(dup, { id: partly!.id, createdAt: partly!.createdAt, duplicate: true });
    // Both full: refused, nothing stored.
    const [none] = await store.saveMessages([toGroup("g2")], bounds);
    assert.deepEqual(none, {
      id: 0,
      createdAt: 0,
      duplicate: false,
      fullRecipients: [bob.id, cy.id],
    });
    // The acknowledgement by the one who got it frees their room.
    await store.ackDeliveries(cy.id, [partly!.id]);
    const [later] = await store.saveMessages([toGroup("g2")], bounds);
    assert.deepEqual(later!.fullRecipients, [bob.id]);
  });

  fixtureTest(
    "saveMessages() from concurrent callers on two instances never passes a recipient's bound",
    async (f) => {
      const stores = [f.store, await openStore(f.location)] as const;
      try {
        const [inbox, ...senders] = await _users(f.store, 5);
        const bounds = { messages: 10, bytes: 1_000_000 };
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            stores[i % 2]!.saveMessages([
              _direct(senders[i % 4]!.id, `m${i}`, inbox!.id),
              _direct(senders[i % 4]!.id, `n${i}`, senders[(i + 1) % 4]!.id),
            ], bounds)),
        );
        const toInbox = results.map((r) => r[0]!);
        assert.equal(toInbox.filter((s) => s.id > 0).length, 10);
        assert.ok(
          toInbox.filter((s) => s.id === 0).every((s) => s.fullRecipients?.[0] === inbox!.id),
        );
        assert.equal((await f.store.pendingFor(inbox!.id, 0, 100)).length, 10);
        assert.ok(results.every((r) => r[1]!.id > 0), "other recipients are not held up");
      } finally {
        await stores[1].close();
      }
    },
  );

  // Expiry.

  test("expirePending() drops only deliveries of messages accepted before the cut-off", async (store) => {
    const [ada, bob, cy] = await _users(store, 3);
    const group = await store.createGroup("g", ada.id, [bob.id, cy.id]);
    const [old1, old2] = await store.saveMessages([
      _direct(ada.id, "old1", bob.id),
      {
        senderId: ada.id,
        clientMsgId: "old2",
        kind: "group",
        groupId: group.id,
        body: "x",
        recipients: [{ userId: bob.id }, { userId: cy.id }],
      },
    ]);
    const cut = await _after(old2!.createdAt);
    await _after(cut);
    const [fresh] = await store.saveMessages([_direct(ada.id, "new", bob.id)]);
    assert.ok(fresh!.createdAt >= cut);
    assert.equal(await store.expirePending(cut, 100), 3);
    assert.equal(await store.expirePending(cut, 100), 0);
    assert.deepEqual((await store.pendingFor(bob.id, 0, 10)).map((p) => p.id), [fresh!.id]);
    assert.deepEqual(await store.pendingFor(cy.id, 0, 10), []);
    // An expired delivery is not pending any more: acknowledging it is a no-op.
    assert.deepEqual(await store.ackDeliveries(bob.id, [old1!.id, old2!.id]), []);
    await store.settle(100);
    assert.deepEqual(await store.stats(), { users: 3, messages: 1, pendingDeliveries: 1 });
  });

  fixtureTest(
    "expirePending() makes room under the bound, and a resend of an expired message is a duplicate",
    async (f) => {
      const store = f.store;
      const [ada, bob] = await _users(store, 2);
      const bounds = { messages: 1, bytes: 1_000_000 };
      const [m1] = await store.saveMessages([_direct(ada.id, "m1", bob.id)], bounds);
      const [full] = await store.saveMessages([_direct(ada.id, "m2", bob.id)], bounds);
      assert.equal(full!.id, 0);
      assert.equal(await store.expirePending(await _after(m1!.createdAt), 100), 1);
      await store.settle(100);
      assert.equal(await f.storedBody(m1!.id), null, "the expired message's row is gone");
      const [m2] = await store.saveMessages([_direct(ada.id, "m2", bob.id)], bounds);
      assert.ok(m2!.id > m1!.id);
      const [again] = await store.saveMessages([_direct(ada.id, "m1", bob.id)], bounds);
      assert.deepEqual(again, { ...m1!, duplicate: true });
    },
  );

  test("expirePending() drops at most limit per call", async (store) => {
    const [ada, bob] = await _users(store, 2);
    const saved = await store.saveMessages(
      Array.from({ length: 5 }, (_, i) => _direct(ada.id, `m${i}`, bob.id)),
    );
    const cut = await _after(saved[4]!.createdAt);
    assert.equal(await store.expirePending(cut, 2), 2);
    assert.equal(await store.expirePending(cut, 2), 2);
    assert.equal(await store.expirePending(cut, 2), 1);
    assert.equal(await store.expirePending(cut, 2), 0);
    assert.equal((await store.stats()).pendingDeliveries, 0);
    await assert.rejects(store.expirePending(cut, 0), RangeError);
    await assert.rejects(store.expirePending(-1, 10), RangeError);
  });

  // Rate limits (see "Rate limits" in store.ts).

  test("takeAttempt() grants the burst at once, then one attempt per interval", async (store) => {
    const k: RateLimit = { key: "login:x", burst: 3, intervalMs: 1_000 };
    for (let i = 0; i < 3; i++) assert.equal(await store.takeAttempt([k], _T0), 0);
    assert.equal(await store.takeAttempt([k], _T0), 1_000);
    assert.equal(await store.takeAttempt([k], _T0 + 999), 1);
    assert.equal(await store.takeAttempt([k], _T0 + 1_000), 0);
    assert.equal(await store.takeAttempt([k], _T0 + 1_000), 1_000);
    // Long after, the bucket is full again: the whole burst.
    for (let i = 0; i < 3; i++) assert.equal(await store.takeAttempt([k], _T0 + 60_000), 0);
    assert.equal(await store.takeAttempt([k], _T0 + 60_000), 1_000);
    assert.equal(await store.takeAttempt([], _T0), 0);
  });

  test("takeAttempt() takes from every bucket or from none, and waits for the slowest", async (store) => {
    const a: RateLimit = { key: "a", burst: 1, intervalMs: 1_000 };
    const b: RateLimit = { key: "b", burst: 2, intervalMs: 5_000 };
    assert.equal(await store.takeAttempt([a, b], _T0), 0);
    assert.equal(await store.takeAttempt([a, b], _T0), 1_000, "a is empty");
    assert.equal(await store.takeAttempt([b], _T0), 0, "b kept its second attempt");
    assert.equal(await store.takeAttempt([b, a], _T0 + 1_000), 4_000, "now b is the slowest");
    assert.equal(await store.takeAttempt([a], _T0 + 1_000), 0, "a was not taken from");
  });

  test("takeAttempt() keeps keys apart", async (store) => {
    const one: RateLimit = { key: "login:pair:1", burst: 1, intervalMs: 60_000 };
    const two: RateLimit = { key: "login:pair:2", burst: 1, intervalMs: 60_000 };
    assert.equal(await store.takeAttempt([one], _T0), 0);
    assert.equal(await store.takeAttempt([one], _T0), 60_000);
    assert.equal(await store.takeAttempt([two], _T0), 0);
    assert.equal(await store.takeAttempt([{ ...one, key: "LOGIN:PAIR:1" }], _T0), 0);
  });

  test("refundAttempt() gives one attempt back to each bucket", async (store) => {
    const k: RateLimit = { key: "k", burst: 2, intervalMs: 10_000 };
    const other: RateLimit = { key: "other", burst: 1, intervalMs: 10_000 };
    assert.equal(await store.takeAttempt([k], _T0), 0);
    assert.equal(await store.takeAttempt([k], _T0), 0);
    assert.equal(await store.takeAttempt([k], _T0), 10_000);
    await store.refundAttempt([k, other], _T0);
    assert.equal(await store.takeAttempt([k], _T0), 0);
    assert.equal(await store.takeAttempt([k], _T0), 10_000);
    // A full or unknown bucket stays as it is: never more than the burst.
    await store.refundAttempt([other], _T0);
    await store.refundAttempt([other], _T0);
    assert.equal(await store.takeAttempt([other], _T0), 0);
    assert.equal(await store.takeAttempt([other], _T0), 10_000);
  });

  test("takeAttempt() rejects repeated keys and numbers out of range", async (store) => {
    const k: RateLimit = { key: "k", burst: 1, intervalMs: 1 };
    await assert.rejects(store.takeAttempt([k, k], _T0), TypeError);
    await assert.rejects(store.takeAttempt([{ ...k, key: "" }], _T0), TypeError);
    await assert.rejects(store.takeAttempt([{ ...k, key: "x".repeat(513) }], _T0), RangeError);
    await assert.rejects(store.takeAttempt([{ ...k, burst: 0 }], _T0), RangeError);
    await assert.rejects(store.takeAttempt([{ ...k, intervalMs: 86_400_001 }], _T0), RangeError);
    await assert.rejects(store.takeAttempt([k], -1), RangeError);
    await assert.rejects(store.refundAttempt([{ ...k, burst: 1.5 }], _T0), RangeError);
  });

  fixtureTest(
    "takeAttempt() grants exactly the burst to many concurrent callers on two instances",
    async (f) => {
      const stores = [f.store, await openStore(f.location)] as const;
      try {
        const pair: RateLimit = { key: "login:pair:7@10.0.0.1", burst: 5, intervalMs: 60_000 };
        const account: RateLimit = { key: "login:acct:7", burst: 100, intervalMs: 36_000 };
        const waits = await Promise.all(
          Array.from({ length: 24 }, (_, i) => stores[i % 2]!.takeAttempt([pair, account], _T0)),
        );
        assert.equal(waits.filter((w) => w === 0).length, 5);
        assert.ok(waits.filter((w) => w > 0).every((w) => w === 60_000));
        // Only the granted attempts were taken from the account's bucket.
        const more = await Promise.all(
          Array.from({ length: 100 }, () => f.store.takeAttempt([account], _T0)),
        );
        assert.equal(more.filter((w) => w === 0).length, 95);
      } finally {
        await stores[1].close();
      }
    },
  );

  fixtureTest("settle() forgets buckets that are full again, and only those", async (f) => {
    const store = f.store;
    const now = Date.now();
    await store.takeAttempt([{ key: "short", burst: 1, intervalMs: 1_000 }], now);
    await store.takeAttempt([{ key: "long", burst: 1, intervalMs: 3_600_000 }], now);
    assert.equal(await f.storedRows("rate_limits"), 2);
    await store.settle(100, { now: now + 1_000 });
    assert.equal(await f.storedRows("rate_limits"), 1);
    // The one kept still counts.
    assert.equal(
      await store.takeAttempt([{ key: "long", burst: 1, intervalMs: 3_600_000 }], now + 1_000),
      3_599_000,
    );
  });

  // Several instances and processes on one database.

  fixtureTest("two instances on one database see each other's writes", async (f) => {
    const a = f.store;
    const b = await openStore(f.location);
    try {
      const ada = await a.createUser(_newUser("ada"));
      assert.deepEqual(await b.getUserById(ada.id), ada);
      await _rejectsWith(b.createUser(_newUser("ada")), STORE_ERRORS.usernameTaken);
      const bob = await b.createUser(_newUser("bob"));
      await b.addPresence(bob.id, 2);
      assert.deepEqual(await a.getPresence([bob.id]), [{ userId: bob.id, serverId: 2 }]);
      const [m] = await a.saveMessages([_direct(ada.id, "m1", bob.id)]);
      assert.deepEqual((await b.pendingFor(bob.id, 0, 10)).map((p) => p.id), [m!.id]);
      const [dup] = await b.saveMessages([_direct(ada.id, "m1", bob.id)]);
      assert.deepEqual(dup, { ...m!, duplicate: true });
      assert.equal((await b.ackDeliveries(bob.id, [m!.id])).length, 1);
      assert.deepEqual(await a.ackDeliveries(bob.id, [m!.id]), []);
    } finally {
      await b.close();
    }
  });

  fixtureTest("two instances interleaving inserts never collide on IDs", async (f) => {
    const stores = [f.store, await openStore(f.location)] as const;
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
      await stores[1].close();
    }
  });

  fixtureTest("several processes saving messages at once get unique increasing IDs", async (f) => {
    const inbox = await f.store.createUser(_newUser("inbox"));
    const perWorker = 300;
    const batches = [1, 1, 10];
    const workers = batches.map((batch, i) =>
      spawnStoreWorker([
        f.location,
        "messages",
        `w${i}`,
        String(inbox.id),
        String(perWorker),
        String(batch),
      ])
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

    const pending = await f.store.pendingFor(inbox.id, 0, 10_000);
    assert.equal(pending.length, all.length);
    assert.deepEqual(pending.map((p) => p.id), [...all].sort((x, y) => x - y));
    for (const p of pending) assert.equal(p.senderId, senders.get(p.id));
    assert.deepEqual(await f.store.stats(), {
      users: 1 + workers.length,
      messages: all.length,
      pendingDeliveries: all.length,
    });
  });

  fixtureTest(
    "several processes creating the schema on a new database at once all succeed",
    async (f) => {
      const location = await f.newLocation();
      const workers = [0, 1, 2, 3].map((i) => spawnStoreWorker([location, "init", String(i)]));
      const results = await Promise.all(workers.map((w) => w.finish()));
      const ids: number[] = [];
      for (const [i, r] of results.entries()) {
        assert.equal(r.code, 0, `worker ${i} failed: ${r.stderr}`);
        ids.push((JSON.parse(r.lines.at(-1)!) as { userId: number }).userId);
      }
      assert.deepEqual([...ids].sort((x, y) => x - y), [1, 2, 3, 4]);
      const store = await openStore(location);
      try {
        assert.equal((await store.stats()).users, 4);
      } finally {
        await store.close();
      }
    },
  );

  // Order (see "Order" in store.ts).

  fixtureTest(
    "pendingFor() paging never skips a message while other processes commit",
    async (f) => {
      const inbox = await f.store.createUser(_newUser("inbox"));
      const perWorker = 1000;
      const workers = [1, 2, 3, 4].map((batch, i) =>
        spawnStoreWorker([
          f.location,
          "messages",
          `o${i}`,
          String(inbox.id),
          String(perWorker),
          String(batch),
        ])
      );
      for (const w of workers) assert.equal(await w.nextLine(), "ready");
      let writing = workers.length;
      const finished = Promise.all(workers.map(async (w) => {
        await w.send("go\n");
        try {
          return await w.finish();
        } finally {
          writing--;
        }
      }));
      // The reader pages as the replay after login does: from the last ID it has seen.
      const seen: number[] = [];
      let cursor = 0;
      for (;;) {
        const done = writing === 0;
        const page = await f.store.pendingFor(inbox.id, cursor, 64);
        for (const p of page) {
          assert.ok(p.id > cursor, `page went backwards: ${p.id} after ${cursor}`);
          seen.push(p.id);
          cursor = p.id;
        }
        if (done && page.length < 64) break;
        // A poll, not a wait for something known: the writers are other processes, and
        // the reader pages while they write, as the replay after a login does.
        if (page.length < 64) await new Promise((r) => setTimeout(r, 1));
      }
      const saved: number[][] = [];
      for (const [i, r] of (await finished).entries()) {
        assert.equal(r.code, 0, `worker ${i} failed: ${r.stderr}`);
        saved.push((JSON.parse(r.lines.at(-1)!) as { ids: number[] }).ids);
      }
      const all = saved.flat().sort((a, b) => a - b);
      assert.equal(all.length, perWorker * workers.length);
      const seenSet = new Set(seen);
      const missed = all.filter((id) => !seenSet.has(id));
      assert.deepEqual(missed, [], `the cursor skipped ${missed.length} committed message(s)`);
      assert.deepEqual(seen, all);
      // Each sender's messages come in the order they were accepted.
      for (const ids of saved) assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    },
  );

  // Stats and lifecycle.

  test("stats() counts users, messages and pending deliveries", async (store) => {
    assert.deepEqual(await store.stats(), { users: 0, messages: 0, pendingDeliveries: 0 });
    const [ada, bob, cy] = await _users(store, 3);
    const saved = await store.saveMessages([
      { ..._direct(ada.id, "1", bob.id), recipients: [{ userId: bob.id }, { userId: cy.id }] },
      _direct(bob.id, "2", ada.id),
    ]);
    assert.deepEqual(await store.stats(), { users: 3, messages: 2, pendingDeliveries: 3 });
    await store.ackDeliveries(cy.id, [saved[0]!.id]);
    assert.deepEqual(await store.stats(), { users: 3, messages: 2, pendingDeliveries: 2 });
  });

  test("close() is idempotent and later calls reject", async (store) => {
    await store.close();
    await store.close();
    await assert.rejects(store.getUserById(1));
    await assert.rejects(store.stats());
  });

  // Contacts and blocks.

  test("setContacts() records contacts and blocks per owner; none forgets", async (store) => {
    const [a, b, c, d] = await _users(store, 4);
    await store.setContacts(a.id, [
      { userId: c.id, state: "blocked" },
      { userId: b.id, state: "contact" },
      { userId: d.id, state: "contact" },
    ], 10);
    assert.equal(await store.contactState(a.id, b.id), "contact");
    assert.equal(await store.contactState(a.id, c.id), "blocked");
    assert.equal(await store.contactState(b.id, a.id), null, "a relation has one direction");
    assert.deepEqual(await store.listContacts(a.id, "contact"), [b.id, d.id]);
    assert.deepEqual(await store.listContacts(a.id, "blocked"), [c.id]);
    // A later change replaces the state; "none" forgets; saying it again changes nothing.
    await store.setContacts(a.id, [
      { userId: b.id, state: "blocked" },
      { userId: d.id, state: "none" },
    ], 10);
    await store.setContacts(a.id, [{ userId: d.id, state: "none" }], 10);
    assert.equal(await store.contactState(a.id, b.id), "blocked");
    assert.equal(await store.contactState(a.id, d.id), null);
    assert.deepEqual(await store.listContacts(a.id, "blocked"), [b.id, c.id]);
    assert.deepEqual(await store.listContacts(a.id, "contact"), []);
    await store.setContacts(a.id, [], 10); // nothing to do
  });

  test("setContacts() with an unknown user changes nothing: StoreError not_found", async (store) => {
    const [a, b] = await _users(store, 2);
    await _rejectsWith(
      store.setContacts(a.id, [{ userId: b.id, state: "contact" }, {
        userId: 999,
        state: "blocked",
      }], 10),
      STORE_ERRORS.notFound,
      /999/,
    );
    assert.equal(await store.contactState(a.id, b.id), null);
    await _rejectsWith(
      store.setContacts(998, [{ userId: b.id, state: "contact" }], 10),
      STORE_ERRORS.notFound,
      /998/,
    );
  });

  test("setContacts() refuses more than max relations, all or nothing: StoreError too_many", async (store) => {
    const [a, b, c, d] = await _users(store, 4);
    await store.setContacts(a.id, [{ userId: b.id, state: "contact" }, {
      userId: c.id,
      state: "blocked",
    }], 2);
    await _rejectsWith(
      store.setContacts(a.id, [{ userId: d.id, state: "contact" }], 2),
      STORE_ERRORS.tooMany,
      /more than 2/,
    );
    assert.equal(await store.contactState(a.id, d.id), null);
    // Changing a state, or trading one for another, stays within the bound.
    await store.setContacts(a.id, [{ userId: b.id, state: "blocked" }], 2);
    await store.setContacts(a.id, [{ userId: c.id, state: "none" }, {
      userId: d.id,
      state: "contact",
    }], 2);
    assert.deepEqual(await store.listContacts(a.id, "contact"), [d.id]);
    // A user already past a lowered bound may still shrink or change, never grow.
    await store.setContacts(a.id, [{ userId: b.id, state: "contact" }], 1);
    await _rejectsWith(
      store.setContacts(a.id, [{ userId: c.id, state: "contact" }], 1),
      STORE_ERRORS.tooMany,
    );
  });

  test("setContacts() rejects bad arguments before writing", async (store) => {
    const [a, b] = await _users(store, 2);
    await assert.rejects(
      store.setContacts(a.id, [{ userId: a.id, state: "contact" }], 10),
      RangeError,
    );
    await assert.rejects(
      store.setContacts(
        a.id,
        [{ userId: b.id, state: "contact" }, { userId: b.id, state: "none" }],
        10,
      ),
      RangeError,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      store.setContacts(a.id, [{ userId: b.id, state: "friend" as any }], 10),
      RangeError,
    );
    await assert.rejects(store.setContacts(0, [], 10), RangeError);
    // deno-lint-ignore no-explicit-any
    await assert.rejects(store.listContacts(a.id, "none" as any), RangeError);
    assert.equal(await store.contactState(a.id, b.id), null);
  });

  // Device lists (see "Device lists" in store.ts).

  test("appendDeviceList() keeps a chain that deviceLists() and latestDeviceList() return in order", async (store) => {
    const [a, b] = await _users(store, 2);
    assert.equal(await store.latestDeviceList(a.id), null);
    assert.deepEqual(await store.deviceLists(a.id, 1, 64), []);
    const v1 = _deviceList(a.id, 1, "", "a1", '{"v":1,"name":"térm 📱"}');
    const v2 = _deviceList(a.id, 2, v1.hash, "a2");
    const v3 = _deviceList(a.id, 3, v2.hash, "a3");
    for (const v of [v1, v2, v3]) await store.appendDeviceList(v);
    const w1 = _deviceList(b.id, 1, "", "b1");
    await store.appendDeviceList(w1);
    assert.deepEqual(await store.latestDeviceList(a.id), v3);
    assert.deepEqual(await store.deviceLists(a.id, 1, 64), [v1, v2, v3]);
    assert.deepEqual(await store.deviceLists(a.id, 0, 64), [v1, v2, v3]);
    assert.deepEqual(await store.deviceLists(a.id, 2, 1), [v2]);
    assert.deepEqual(await store.deviceLists(a.id, 2, 64), [v2, v3]);
    assert.deepEqual(await store.deviceLists(a.id, 4, 64), []);
    assert.deepEqual(await store.deviceLists(b.id, 1, 64), [w1]);
    assert.deepEqual(await store.latestDeviceList(b.id), w1);
    assert.deepEqual(await store.deviceLists(999, 1, 64), []);
    assert.equal(await store.latestDeviceList(999), null);
  });

  test("appendDeviceList() refuses a version that does not extend the newest: StoreError conflict naming it", async (store) => {
    const [a] = await _users(store, 1);
    // None stored: only version 1 extends nothing.
    await _rejectsWith(
      store.appendDeviceList(_deviceList(a.id, 2, _hashOf("x"), "a2")),
      STORE_ERRORS.conflict,
      /no device list/,
    );
    const v1 = _deviceList(a.id, 1, "", "a1");
    await store.appendDeviceList(v1);
    // The same version again (even the same list), a gap, a fork: each names version 1.
    for (
      const bad of [
        v1,
        _deviceList(a.id, 1, "", "fork"),
        _deviceList(a.id, 3, v1.hash, "a3"),
        _deviceList(a.id, 2, _hashOf("other"), "a2"),
      ]
    ) {
      await _rejectsWith(store.appendDeviceList(bad), STORE_ERRORS.conflict, /version 1\b/);
    }
    assert.deepEqual(await store.deviceLists(a.id, 1, 64), [v1]);
    const v2 = _deviceList(a.id, 2, v1.hash, "a2");
    await store.appendDeviceList(v2);
    await _rejectsWith(
      store.appendDeviceList(_deviceList(a.id, 2, v1.hash, "again")),
      STORE_ERRORS.conflict,
      /version 2\b/,
    );
    assert.deepEqual(await store.latestDeviceList(a.id), v2);
  });

  test("appendDeviceList() for an unknown user fails with StoreError not_found", async (store) => {
    await _rejectsWith(
      store.appendDeviceList(_deviceList(42, 1, "", "x")),
      STORE_ERRORS.notFound,
      /42/,
    );
    assert.equal(await store.latestDeviceList(42), null);
  });

  fixtureTest(
    "appendDeviceList() of one version at once, on two instances: exactly one succeeds",
    async (f) => {
      const other = await openStore(f.location);
      try {
        const [a] = await _users(f.store, 1);
        const stores = [f.store, other];
        let prev = "";
        for (let version = 1; version <= 4; version++) {
          const tries = [0, 1, 2, 3].map((i) =>
            _deviceList(a.id, version, prev, `v${version}t${i}`)
          );
          const results = await Promise.allSettled(
            tries.map((t, i) => stores[i % 2]!.appendDeviceList(t)),
          );
          const won = tries.filter((_, i) => results[i]!.status === "fulfilled");
          assert.equal(won.length, 1, `version ${version}: ${won.length} appends succeeded`);
          for (const r of results) {
            if (r.status === "fulfilled") continue;
            assert.ok(r.reason instanceof StoreError, String(r.reason));
            assert.equal(r.reason.code, STORE_ERRORS.conflict);
          }
          assert.deepEqual(await other.latestDeviceList(a.id), won[0]);
          prev = won[0]!.hash;
        }
        const chain = await f.store.deviceLists(a.id, 1, 64);
        assert.deepEqual(chain.map((v) => v.version), [1, 2, 3, 4]);
        chain.forEach((v, i) => assert.equal(v.prevHash, i === 0 ? "" : chain[i - 1]!.hash));
      } finally {
        await other.close();
      }
    },
  );

  test("appendDeviceList() and deviceLists() reject bad arguments before writing", async (store) => {
    const [a] = await _users(store, 1);
    const good = _deviceList(a.id, 1, "", "a1");
    const bad: [Partial<NewDeviceList>, ErrorConstructor][] = [
      [{ version: 0 }, RangeError],
      [{ version: 1.5 }, RangeError],
      [{ userId: 0 }, RangeError],
      [{ hash: "short" }, RangeError],
      [{ hash: `${_hashOf("a1").slice(0, 42)}=` }, RangeError],
      [{ prevHash: _hashOf("a0") }, RangeError], // version 1 extends nothing
      [{ body: "" }, TypeError],
      [{ body: "a\0b" }, TypeError],
      [{ body: "x".repeat(DEVICE_LIST_MAX_BYTES + 1) }, RangeError],
      [{ body: "é".repeat(DEVICE_LIST_MAX_BYTES / 2 + 1) }, RangeError], // bytes, not characters
      [{ createdAt: -1 }, RangeError],
    ];
    for (const [change, type] of bad) {
      await assert.rejects(
        store.appendDeviceList({ ...good, ...change }),
        type,
        JSON.stringify(change).slice(0, 80),
      );
    }
    await assert.rejects(
      store.appendDeviceList({ ..._deviceList(a.id, 2, "", "a2") }),
      RangeError,
      "a later version names the hash it extends",
    );
    // deno-lint-ignore no-explicit-any
    await assert.rejects(store.appendDeviceList(null as any), TypeError);
    assert.equal(await store.latestDeviceList(a.id), null);
    // At the bound exactly, it is stored.
    const big = { ...good, body: "x".repeat(DEVICE_LIST_MAX_BYTES) };
    await store.appendDeviceList(big);
    assert.deepEqual(await store.latestDeviceList(a.id), big);
    await assert.rejects(store.deviceLists(a.id, 1, 0), RangeError);
    await assert.rejects(store.deviceLists(a.id, 1, 65), RangeError);
    await assert.rejects(store.deviceLists(a.id, -1, 10), RangeError);
    await assert.rejects(store.deviceLists(0, 1, 10), RangeError);
    await assert.rejects(store.latestDeviceList(0), RangeError);
  });

  // Sessions of devices.

  test("createSession() with a device ID: getSession() returns it, and without one no field", async (store) => {
    const [a] = await _users(store, 1);
    const later = Date.now() + 60_000;
    await store.createSession(_hash(1), { userId: a.id, expiresAt: later, deviceId: 3 });
    await store.createSession(_hash(2), { userId: a.id, expiresAt: later });
    const now = Date.now();
    assert.deepEqual(await store.getSession(_hash(1), now), {
      userId: a.id,
      expiresAt: later,
      deviceId: 3,
    });
    const plain = await store.getSession(_hash(2), now);
    assert.deepEqual(plain, { userId: a.id, expiresAt: later });
    assert.ok(!("deviceId" in plain!), "a session of no device has no deviceId field");
    await assert.rejects(
      store.createSession(_hash(3), { userId: a.id, expiresAt: later, deviceId: 0 }),
      RangeError,
    );
    assert.equal(await store.getSession(_hash(3), now), null);
  });

  test("deleteDeviceSessions() ends every session of that device only and returns their hashes", async (store) => {
    const [a, b] = await _users(store, 2);
    const later = Date.now() + 60_000;
    await store.createSession(_hash(1), { userId: a.id, expiresAt: later, deviceId: 1 });
    await store.createSession(_hash(2), { userId: a.id, expiresAt: later + 1, deviceId: 1 });
    await store.createSession(_hash(3), { userId: a.id, expiresAt: later, deviceId: 2 });
    await store.createSession(_hash(4), { userId: a.id, expiresAt: later });
    await store.createSession(_hash(5), { userId: b.id, expiresAt: later, deviceId: 1 });
    const gone = await store.deleteDeviceSessions(a.id, 1);
    assert.ok(gone.every((h) => h instanceof Uint8Array));
    assert.deepEqual(_sortedHex(gone), _sortedHex([_hash(1), _hash(2)]));
    const now = Date.now();
    assert.equal(await store.getSession(_hash(1), now), null);
    assert.equal(await store.getSession(_hash(2), now), null);
    assert.equal((await store.getSession(_hash(3), now))?.deviceId, 2);
    assert.deepEqual(await store.getSession(_hash(4), now), { userId: a.id, expiresAt: later });
    assert.equal((await store.getSession(_hash(5), now))?.userId, b.id);
    assert.deepEqual(await store.deleteDeviceSessions(a.id, 1), []);
    assert.deepEqual(await store.deleteDeviceSessions(999, 1), []);
    await assert.rejects(store.deleteDeviceSessions(a.id, 0), RangeError);
    await assert.rejects(store.deleteDeviceSessions(0, 1), RangeError);
  });

  // Prekeys (see "Prekeys" in store.ts).

  test("takePrekeys() hands out the bundle with the oldest one-time prekey, each once, then the bundle alone", async (store) => {
    const [a, b] = await _users(store, 2);
    assert.equal(await store.takePrekeys(a.id, 1), null);
    assert.equal(await store.prekeyCount(a.id, 1), null);
    assert.equal(await store.putPrekeys(a.id, 1, "bundle-1", ["k1", "k2"], false, 1), 2);
    assert.equal(await store.putPrekeys(a.id, 1, "bundle-1b", ["k3"], false, 2), 3);
    await store.putPrekeys(a.id, 2, "other device", ["x"], false, 2);
    await store.putPrekeys(b.id, 1, "other user", ["y"], false, 2);
    assert.equal(await store.prekeyCount(a.id, 1), 3);
    assert.deepEqual(await store.takePrekeys(a.id, 1), {
      bundle: "bundle-1b",
      oneTime: "k1",
      remaining: 2,
    });
    assert.deepEqual((await store.takePrekeys(a.id, 1))?.oneTime, "k2");
    assert.deepEqual((await store.takePrekeys(a.id, 1))?.oneTime, "k3");
    assert.deepEqual(await store.takePrekeys(a.id, 1), {
      bundle: "bundle-1b",
      oneTime: null,
      remaining: 0,
    });
    assert.equal(await store.prekeyCount(a.id, 1), 0);
    assert.equal((await store.takePrekeys(a.id, 2))?.oneTime, "x");
    assert.equal((await store.takePrekeys(b.id, 1))?.oneTime, "y");
    // A replace drops what was left; a device's prekeys go when it is unlinked.
    await store.putPrekeys(a.id, 1, "bundle-2", ["k4", "k5"], false, 3);
    assert.equal(await store.putPrekeys(a.id, 1, "bundle-3", ["k6"], true, 4), 1);
    assert.deepEqual(await store.takePrekeys(a.id, 1), {
      bundle: "bundle-3",
      oneTime: "k6",
      remaining: 0,
    });
    await store.deletePrekeys(a.id, 1);
    assert.equal(await store.takePrekeys(a.id, 1), null);
    await store.deletePrekeys(a.id, 1);
  });

  fixtureTest(
    "takePrekeys() called at once, on two instances, hands each caller another one-time prekey",
    async (f) => {
      const store = f.store;
      const [a] = await _users(store, 1);
      const keys = Array.from({ length: 8 }, (_, i) => `key-${i}`);
      await store.putPrekeys(a.id, 1, "bundle", keys, false, 1);
      const other = await openStore(f.location);
      try {
        const taken = await Promise.all(
          keys.map((_, i) => (i % 2 === 0 ? store : other).takePrekeys(a.id, 1)),
        );
        assert.deepEqual(taken.map((t) => t!.oneTime).sort(), [...keys].sort());
        assert.equal((await store.takePrekeys(a.id, 1))?.oneTime, null);
      } finally {
        await other.close();
      }
    },
  );

  test("putPrekeys() refuses more than a device may hold, an unknown user and bad arguments, storing nothing", async (store) => {
    const [a] = await _users(store, 1);
    const keys = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${i}`);
    await store.putPrekeys(a.id, 1, "bundle", keys(ONE_TIME_PREKEYS_PER_PUT, "a"), false, 1);
    await store.putPrekeys(
      a.id,
      1,
      "bundle",
      keys(ONE_TIME_PREKEYS_MAX - ONE_TIME_PREKEYS_PER_PUT, "b"),
      false,
      1,
    );
    await assert.rejects(
      store.putPrekeys(a.id, 1, "new bundle", ["one too many"], false, 2),
      (e: unknown) =>
        e instanceof StoreError && e.code === "too_many" && /at most 200/.test(e.message),
    );
    assert.equal(await store.prekeyCount(a.id, 1), ONE_TIME_PREKEYS_MAX);
    assert.equal(
      (await store.takePrekeys(a.id, 1))?.bundle,
      "bundle",
      "the bundle was not replaced",
    );
    await assert.rejects(
      store.putPrekeys(999_999, 1, "bundle", [], false, 1),
      (e: unknown) => e instanceof StoreError && e.code === "not_found",
    );
    await assert.rejects(store.putPrekeys(a.id, 0, "b", [], false, 1), RangeError);
    await assert.rejects(store.putPrekeys(a.id, 1, "", [], false, 1), TypeError);
    await assert.rejects(
      store.putPrekeys(a.id, 1, "b".repeat(PREKEY_BUNDLE_MAX_BYTES + 1), [], false, 1),
      RangeError,
    );
    await assert.rejects(
      store.putPrekeys(a.id, 1, "b", keys(ONE_TIME_PREKEYS_PER_PUT + 1, "c"), false, 1),
      RangeError,
    );
    await assert.rejects(store.putPrekeys(a.id, 1, "b", ["k\0"], false, 1), TypeError);
    await assert.rejects(store.takePrekeys(a.id, 0), RangeError);
    await assert.rejects(store.prekeyCount(0, 1), RangeError);
  });

  test("deleteUnboundSessions() ends the user's password sessions only and returns their hashes", async (store) => {
    const [a, b] = await _users(store, 2);
    const later = Date.now() + 60_000;
    await store.createSession(_hash(1), { userId: a.id, expiresAt: later });
    await store.createSession(_hash(2), { userId: a.id, expiresAt: later + 1 });
    await store.createSession(_hash(3), { userId: a.id, expiresAt: later, deviceId: 1 });
    await store.createSession(_hash(4), { userId: b.id, expiresAt: later });
    const gone = await store.deleteUnboundSessions(a.id);
    assert.deepEqual(_sortedHex(gone), _sortedHex([_hash(1), _hash(2)]));
    const now = Date.now();
    assert.equal(await store.getSession(_hash(1), now), null);
    assert.equal((await store.getSession(_hash(3), now))?.deviceId, 1);
    assert.equal((await store.getSession(_hash(4), now))?.userId, b.id);
    assert.deepEqual(await store.deleteUnboundSessions(a.id), []);
    await assert.rejects(store.deleteUnboundSessions(0), RangeError);
  });

  // Link slots (see "Link slots" in store.ts).

  test("openLinkSlot() opens a slot that linkSlot() returns with its steps in order until it expires", async (store) => {
    const t = _T0;
    assert.equal(await store.linkSlot("AB12", t), null);
    await store.openLinkSlot("AB12", '{"ya":"offer"}', t, t + 600_000);
    assert.deepEqual(await store.linkSlot("AB12", t), {
      slot: "AB12",
      steps: ['{"ya":"offer"}'],
      createdAt: t,
      expiresAt: t + 600_000,
    });
    await store.appendLinkStep("AB12", 1, "yb", t + 1);
    await store.appendLinkStep("AB12", 2, "tag ✓", t + 2);
    const live = await store.linkSlot("AB12", t + 599_999);
    assert.deepEqual(live?.steps, ['{"ya":"offer"}', "yb", "tag ✓"]);
    assert.equal(await store.linkSlot("AB12", t + 600_000), null, "expired at expiresAt");
    assert.equal(await store.linkSlot("ZZ99", t), null);
  });

  test("openLinkSlot() of a live name fails with conflict; an expired one is replaced", async (store) => {
    const t = _T0;
    await store.openLinkSlot("K7Q2", "first", t, t + 10);
    await store.appendLinkStep("K7Q2", 1, "old step", t + 1);
    await _rejectsWith(
      store.openLinkSlot("K7Q2", "second", t + 9, t + 1_000),
      STORE_ERRORS.conflict,
      /K7Q2/,
    );
    assert.deepEqual((await store.linkSlot("K7Q2", t + 9))?.steps, ["first", "old step"]);
    // Expired: the name is free again, and nothing of the old slot remains.
    await store.openLinkSlot("K7Q2", "second", t + 10, t + 1_000);
    assert.deepEqual(await store.linkSlot("K7Q2", t + 10), {
      slot: "K7Q2",
      steps: ["second"],
      createdAt: t + 10,
      expiresAt: t + 1_000,
    });
    await store.appendLinkStep("K7Q2", 1, "new step", t + 11);
    assert.deepEqual((await store.linkSlot("K7Q2", t + 11))?.steps, ["second", "new step"]);
  });

  fixtureTest(
    "openLinkSlot() of one name at once, on two instances: exactly one succeeds",
    async (f) => {
      const other = await openStore(f.location);
      try {
        const stores = [f.store, other];
        const offers = ["o0", "o1", "o2", "o3"];
        const results = await Promise.allSettled(
          offers.map((o, i) => stores[i % 2]!.openLinkSlot("RACE", o, _T0, _T0 + 60_000)),
        );
        const won = offers.filter((_, i) => results[i]!.status === "fulfilled");
        assert.equal(won.length, 1, `${won.length} opens succeeded`);
        for (const r of results) {
          if (r.status === "rejected") assert.equal((r.reason as StoreError).code, "conflict");
        }
        assert.deepEqual((await other.linkSlot("RACE", _T0))?.steps, won);
      } finally {
        await other.close();
      }
    },
  );

  fixtureTest(
    "appendLinkStep() writes each step once and in order; concurrent writers of one index: one wins",
    async (f) => {
      const store = f.store;
      const t = _T0;
      await store.openLinkSlot("M3N4", "offer", t, t + 60_000);
      await _rejectsWith(
        store.appendLinkStep("M3N4", 2, "early", t),
        STORE_ERRORS.conflict,
        /step 1/,
      );
      await _rejectsWith(store.appendLinkStep("M3N4", 0, "offer again", t), STORE_ERRORS.conflict);
      await store.appendLinkStep("M3N4", 1, "one", t);
      await _rejectsWith(store.appendLinkStep("M3N4", 1, "again", t), STORE_ERRORS.conflict);
      const other = await openStore(f.location);
      try {
        const stores = [store, other];
        const values = ["w0", "w1", "w2", "w3"];
        const results = await Promise.allSettled(
          values.map((v, i) => stores[i % 2]!.appendLinkStep("M3N4", 2, v, t + 1)),
        );
        const won = values.filter((_, i) => results[i]!.status === "fulfilled");
        assert.equal(won.length, 1, `${won.length} writers of step 2 succeeded`);
        for (const r of results) {
          if (r.status === "rejected") assert.equal((r.reason as StoreError).code, "conflict");
        }
        assert.deepEqual((await other.linkSlot("M3N4", t + 1))?.steps, ["offer", "one", won[0]]);
      } finally {
        await other.close();
      }
    },
  );

  test("appendLinkStep() to a missing, expired or deleted slot fails with StoreError not_found", async (store) => {
    const t = _T0;
    await _rejectsWith(store.appendLinkStep("NONE", 1, "x", t), STORE_ERRORS.notFound, /NONE/);
    await store.openLinkSlot("EXP1", "offer", t, t + 100);
    await _rejectsWith(store.appendLinkStep("EXP1", 1, "late", t + 100), STORE_ERRORS.notFound);
    await store.openLinkSlot("DEL1", "offer", t, t + 100);
    await store.deleteLinkSlot("DEL1");
    await _rejectsWith(store.appendLinkStep("DEL1", 1, "x", t + 1), STORE_ERRORS.notFound);
  });

  test("appendLinkStep() refuses a step past the most a slot holds with StoreError too_many", async (store) => {
    const t = _T0;
    await store.openLinkSlot("FULL", "offer", t, t + 60_000);
    for (let i = 1; i < LINK_MAX_STEPS; i++) await store.appendLinkStep("FULL", i, `s${i}`, t);
    await _rejectsWith(
      store.appendLinkStep("FULL", LINK_MAX_STEPS, "one too many", t),
      STORE_ERRORS.tooMany,
      new RegExp(String(LINK_MAX_STEPS)),
    );
    const slot = await store.linkSlot("FULL", t);
    assert.equal(slot?.steps.length, LINK_MAX_STEPS);
    assert.equal(slot?.steps.at(-1), `s${LINK_MAX_STEPS - 1}`);
  });

  test("deleteLinkSlot() removes a slot and frees its name; a missing one is not an error", async (store) => {
    const t = _T0;
    await store.openLinkSlot("GONE", "offer", t, t + 60_000);
    await store.appendLinkStep("GONE", 1, "step", t);
    await store.deleteLinkSlot("GONE");
    await store.deleteLinkSlot("GONE");
    await store.deleteLinkSlot("NEVR");
    assert.equal(await store.linkSlot("GONE", t), null);
    await store.openLinkSlot("GONE", "fresh", t, t + 60_000);
    assert.deepEqual((await store.linkSlot("GONE", t))?.steps, ["fresh"]);
  });

  fixtureTest("settle() deletes expired link slots with their steps, and only those", async (f) => {
    const t = _T0;
    await f.store.openLinkSlot("OLD1", "offer", t, t + 10);
    await f.store.appendLinkStep("OLD1", 1, "step", t);
    await f.store.openLinkSlot("OLD2", "offer", t, t + 20);
    await f.store.openLinkSlot("NEW1", "offer", t, t + 1_000);
    await f.store.appendLinkStep("NEW1", 1, "step", t);
    assert.equal(await f.storedRows("link_slots"), 3);
    assert.equal(await f.storedRows("link_steps"), 5);
    await f.store.settle(100, { now: t + 20 });
    assert.equal(await f.storedRows("link_slots"), 1);
    assert.equal(await f.storedRows("link_steps"), 2);
    assert.deepEqual((await f.store.linkSlot("NEW1", t + 20))?.steps, ["offer", "step"]);
    // At most `limit` per call.
    for (const name of ["A001", "A002", "A003"]) {
      await f.store.openLinkSlot(name, "offer", t, t + 30);
    }
    await f.store.settle(2, { now: t + 30 });
    assert.equal(await f.storedRows("link_slots"), 2);
    await f.store.settle(2, { now: t + 30 });
    assert.equal(await f.storedRows("link_slots"), 1);
  });

  test("link slot arguments are checked before writing", async (store) => {
    const t = _T0;
    for (const name of ["ab12", "ABC", "ABCDE", "AB-1", ""]) {
      await assert.rejects(store.openLinkSlot(name, "offer", t, t + 1), RangeError, name);
    }
    // deno-lint-ignore no-explicit-any
    await assert.rejects(store.openLinkSlot(12 as any, "offer", t, t + 1), TypeError);
    await assert.rejects(store.openLinkSlot("AAAA", "", t, t + 1), TypeError);
    await assert.rejects(
      store.openLinkSlot("AAAA", "x".repeat(LINK_OFFER_MAX_BYTES + 1), t, t + 1),
      RangeError,
    );
    await assert.rejects(store.openLinkSlot("AAAA", "offer", t, t), RangeError);
    await assert.rejects(store.openLinkSlot("AAAA", "offer", -1, t), RangeError);
    assert.equal(await store.linkSlot("AAAA", t), null);
    await store.openLinkSlot("AAAA", "x".repeat(LINK_OFFER_MAX_BYTES), t, t + 1_000);
    await assert.rejects(store.appendLinkStep("AAAA", -1, "x", t), RangeError);
    await assert.rejects(store.appendLinkStep("AAAA", 1.5, "x", t), RangeError);
    await assert.rejects(store.appendLinkStep("AAAA", 1, "", t), TypeError);
    await assert.rejects(store.appendLinkStep("AAAA", 1, "a\0", t), TypeError);
    await assert.rejects(
      store.appendLinkStep("AAAA", 1, "x".repeat(LINK_STEP_MAX_BYTES + 1), t),
      RangeError,
    );
    assert.equal((await store.linkSlot("AAAA", t))?.steps.length, 1);
    const biggest = "y".repeat(LINK_STEP_MAX_BYTES);
    await store.appendLinkStep("AAAA", 1, biggest, t);
    assert.equal((await store.linkSlot("AAAA", t))?.steps[1], biggest);
    await assert.rejects(store.linkSlot("aaaa", t), RangeError);
    await assert.rejects(store.deleteLinkSlot("A"), RangeError);
  });
}

function _newUser(username: string): NewUser {
  return {
    username,
    passwordHash: `$scrypt$hash-of-${username}`,
    rsaPublicKey: `-----BEGIN PUBLIC KEY-----\n${username}\n-----END PUBLIC KEY-----\n`,
    identityKey: `identity-${username}`,
  };
}

type _Users<N extends number, T extends UserRecord[] = []> = T["length"] extends N ? T
  : _Users<N, [...T, UserRecord]>;

/** Registers `n` users named user0, user1, ... */
async function _users<N extends number>(store: Store, n: N): Promise<_Users<N>> {
  const out: UserRecord[] = [];
  for (let i = 0; i < n; i++) out.push(await store.createUser(_newUser(`user${i}`)));
  return out as _Users<N>;
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

/** A fixed clock for rate limits. */
const _T0 = 1_700_000_000_000;

/**
 * Waits until the clock has passed `t`; returns the time then (a cut-off after `t`). Real
 * time on purpose: the stores stamp rows with their own clock (PostgreSQL's included), which
 * a fake one cannot move, and the wait is at most a millisecond or two.
 */
async function _after(t: number): Promise<number> {
  while (Date.now() <= t) await new Promise((r) => setTimeout(r, 1));
  return Date.now();
}

/** A fake 32-byte token hash, distinct for each seed. */
function _hash(seed: number): Uint8Array {
  return new Uint8Array(32).map((_, i) => (seed * 31 + i * 7) & 0xff);
}

/** Asserts that `promise` rejects with a StoreError of `code` (and a message matching). */
async function _rejectsWith(
  promise: Promise<unknown>,
  code: StoreError["code"],
  message?: RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

/** A hash-shaped string (43 url-safe base64 characters) standing for `tag`'s SHA-256. */
function _hashOf(tag: string): string {
  return tag.replace(/[^A-Za-z0-9]/g, "_").padEnd(43, "-").slice(0, 43);
}

/** Version `version` of `userId`'s device list, extending `prevHash`, its hash made of `tag`. */
function _deviceList(
  userId: number,
  version: number,
  prevHash: string,
  tag: string,
  body = `{"user":${userId},"version":${version},"tag":"${tag}"}`,
): NewDeviceList {
  return { userId, version, prevHash, hash: _hashOf(tag), body, createdAt: _T0 + version };
}

/** Token hashes as sorted hex, to compare lists that come in no particular order. */
function _sortedHex(hashes: readonly Uint8Array[]): string[] {
  return hashes.map((h) => Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("")).sort();
}
