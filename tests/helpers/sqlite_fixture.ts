/**
 * A store conformance fixture on a fresh SQLite file in a temporary directory, for whichever
 * way of opening it a test runs (`openSqliteStore`, or the worker store).
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { migrateSqlite } from "../../core/store/sqlite/schema.ts";
import type { Store } from "../../core/store/store.ts";
import type { StoreFixture } from "../store_conformance.ts";

/** A fixture whose store `open(path)` opens on a fresh SQLite file. */
export async function sqliteFixture(open: (path: string) => Promise<Store>): Promise<StoreFixture> {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_store_" });
  const location = `${dir}/main.db`;
  const store = await open(location);
  let fresh = 0;
  return {
    store,
    location,
    storedBody: (id) => {
      const raw = new DatabaseSync(location, { readOnly: true });
      try {
        const row = raw.prepare("SELECT body FROM messages WHERE id = ?").get(id) as
          | { body: string }
          | undefined;
        return Promise.resolve(row?.body ?? null);
      } finally {
        raw.close();
      }
    },
    storedRows: (table) => {
      const raw = new DatabaseSync(location, { readOnly: true });
      try {
        const row = raw.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number };
        return Promise.resolve(row.n);
      } finally {
        raw.close();
      }
    },
    newLocation: () => Promise.resolve(`${dir}/new${++fresh}.db`),
    legacyDatabase: (usernames) => {
      const path = `${dir}/legacy${++fresh}.db`;
      const raw = new DatabaseSync(path);
      try {
        migrateSqlite(raw, path, 3);
        const insert = raw.prepare(`INSERT INTO users
          (username, password_hash, rsa_public_key, identity_key, created_at)
          VALUES (?, 'h', 'k', 'i', 1)`);
        for (const name of usernames) insert.run(name);
      } finally {
        raw.close();
      }
      return Promise.resolve(path);
    },
    cleanup: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
