/**
 * Tests of the sql.js adapter (core/keystore/sqljs_database.ts) beyond the shared keystore
 * suites: the SqlDatabase contract in detail, the change counter a browser persists by,
 * statements and pragmas that outlive an export (also with an sql.js whose export closes
 * and reopens the database, as older versions do), and image round trips of a keystore.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Keystore } from "../core/keystore/keystore.ts";
import { createKeystoreFile } from "../core/client/deno/keystore_file.ts";
import {
  SqlJsDatabase,
  type SqlJsRawDatabase,
  type SqlJsRawStatement,
  type SqlJsStatic,
} from "../core/keystore/sqljs_database.ts";
import { generateFernetKey, generateIdentityKeyPair, toBase64Url } from "../core/crypto/mod.ts";
import { keystoreOptions, PASSWORD, RSA_PUBLIC } from "./helpers/keystore_conformance.ts";
import { loadSqlJsForTests } from "./helpers/sqljs.ts";

const SQL = await loadSqlJsForTests();

/**
 * sql.js as versions before 1.17 behave: `export()` frees every prepared statement and
 * closes and reopens the database, so connection pragmas go back to their defaults.
 */
function _oldExportSqlJs(): SqlJsStatic {
  class OldDatabase implements SqlJsRawDatabase {
    #db: SqlJsRawDatabase;
    #statements: SqlJsRawStatement[] = [];
    constructor(data?: ArrayLike<number> | null) {
      this.#db = new SQL.Database(data);
    }
    run(sql: string): unknown {
      return this.#db.run(sql);
    }
    prepare(sql: string): SqlJsRawStatement {
      const st = this.#db.prepare(sql);
      this.#statements.push(st);
      return st;
    }
    export(): Uint8Array {
      const image = this.#db.export();
      for (const st of this.#statements) st.free();
      this.#statements = [];
      this.#db.close();
      this.#db = new SQL.Database(image);
      return image;
    }
    close(): void {
      this.#db.close();
    }
    getRowsModified(): number {
      return this.#db.getRowsModified();
    }
  }
  return { Database: OldDatabase };
}

function _pragma(db: SqlJsDatabase, name: string): unknown {
  return db.prepare(`PRAGMA ${name}`).get()?.[name];
}

function _friend(userId: number, username: string) {
  return {
    userId,
    username,
    rsaPublicKey: RSA_PUBLIC,
    identityKey: toBase64Url(generateIdentityKeyPair().publicKey, false),
  };
}

Deno.test("SqlJsDatabase: rows, blobs, changes, and no row as undefined", () => {
  const db = new SqlJsDatabase(SQL);
  try {
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, data BLOB, big INTEGER)");
    const insert = db.prepare(
      "INSERT INTO t (name, data, big) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
    );
    assert.deepEqual(insert.get("a", new Uint8Array([0, 1, 255]), 2n ** 40n), { id: 1 });
    assert.equal(insert.get("a", null, 0), undefined, "RETURNING that inserted nothing");
    assert.deepEqual(insert.get("b", null, null), { id: 2 });
    const row = db.prepare("SELECT * FROM t WHERE id = ?").get(1);
    assert.deepEqual(row, { id: 1, name: "a", data: new Uint8Array([0, 1, 255]), big: 2 ** 40 });
    assert.ok(row?.["data"] instanceof Uint8Array);
    assert.equal(db.prepare("SELECT * FROM t WHERE id = ?").get(9), undefined);
    assert.deepEqual(db.prepare("SELECT id FROM t ORDER BY id").all(), [{ id: 1 }, { id: 2 }]);
    assert.deepEqual(db.prepare("SELECT id FROM t WHERE id > ?").all(5), []);
    const rename = db.prepare("UPDATE t SET name = name || '!' WHERE id >= ?");
    assert.equal(rename.run(1).changes, 2);
    assert.equal(rename.run(5).changes, 0);
    // A statement with RETURNING run for its effect only runs to the end.
    assert.equal(db.prepare("DELETE FROM t RETURNING id").run().changes, 2);
    assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), { n: 0 });
  } finally {
    db.close();
  }
});

Deno.test("SqlJsDatabase: errors are Errors with SQLite's message; a closed database refuses", () => {
  const db = new SqlJsDatabase(SQL);
  db.exec("CREATE TABLE t (x INTEGER NOT NULL)");
  assert.throws(() => db.prepare("SELEC 1"), /syntax error/);
  assert.throws(() => db.prepare(""), Error, "nothing to prepare is an Error, not a string");
  assert.throws(() => db.prepare("INSERT INTO t VALUES (?)").run(null), /NOT NULL/);
  assert.throws(() => db.exec("ROLLBACK"), /no transaction is active/);
  const st = db.prepare("SELECT 1 AS one");
  db.close();
  db.close(); // idempotent
  assert.equal(db.closed, true);
  assert.throws(() => st.get(), /closed/);
  assert.throws(() => db.exec("SELECT 1"), /closed/);
  const garbage = new SqlJsDatabase(SQL, new Uint8Array(4096).fill(7));
  try {
    assert.throws(() => garbage.prepare("PRAGMA user_version").get(), /not a database/);
  } finally {
    garbage.close();
  }
});

Deno.test("SqlJsDatabase: changes counts what may write, not reads", () => {
  const db = new SqlJsDatabase(SQL);
  try {
    assert.equal(db.changes, 0);
    db.exec("CREATE TABLE t (x INTEGER)");
    let counted = db.changes;
    assert.ok(counted > 0);
    const read = db.prepare("SELECT x FROM t");
    const count = db.prepare("SELECT count(*) AS n FROM t");
    read.all();
    count.get();
    db.prepare("PRAGMA user_version").get();
    assert.equal(db.changes, counted, "reads do not count");
    db.prepare("PRAGMA optimize").get();
    assert.equal(db.changes, counted + 1, "a pragma that acts counts");
    db.prepare("PRAGMA user_version = 3").get();
    assert.equal(db.changes, counted + 2, "a pragma that is set counts");
    counted += 2;
    db.prepare("INSERT INTO t VALUES (?)").run(1);
    assert.equal(db.changes, counted + 1);
    db.prepare("INSERT INTO t VALUES (?) RETURNING x").get(2);
    assert.equal(db.changes, counted + 2, "get() of a write counts");
    db.prepare("UPDATE t SET x = x + 1 RETURNING x").all();
    assert.equal(db.changes, counted + 3, "all() of a write counts");
    db.export();
    assert.equal(db.changes, counted + 3, "exporting is not a change");
  } finally {
    db.close();
  }
});

for (
  const [name, sql] of [["sql.js 1.17", () => SQL], ["an older sql.js", _oldExportSqlJs]] as const
) {
  Deno.test(`SqlJsDatabase (${name}): statements and pragmas outlive an export`, () => {
    const db = new SqlJsDatabase(sql());
    try {
      db.exec("PRAGMA foreign_keys = ON");
      db.exec("PRAGMA secure_delete = ON");
      db.exec("PRAGMA user_version = 7");
      db.exec("CREATE TABLE p (id INTEGER PRIMARY KEY)");
      db.exec("CREATE TABLE c (p INTEGER REFERENCES p(id))");
      const insertP = db.prepare("INSERT INTO p VALUES (?)");
      const insertC = db.prepare("INSERT INTO c VALUES (?)");
      const count = db.prepare("SELECT count(*) AS n FROM p");
      insertP.run(1);
      for (let i = 0; i < 3; i++) {
        const image = db.export();
        assert.ok(image.length > 0);
        assert.equal(_pragma(db, "foreign_keys"), 1, "set again after the export");
        assert.equal(_pragma(db, "secure_delete"), 1);
        assert.equal(_pragma(db, "user_version"), 7);
        insertP.run(i + 2);
        insertC.run(1);
        assert.throws(() => insertC.run(99), /FOREIGN KEY/);
      }
      assert.deepEqual(count.get(), { n: 4 });
      const copy = new SqlJsDatabase(SQL, db.export());
      try {
        assert.deepEqual(copy.prepare("SELECT count(*) AS n FROM c").get(), { n: 3 });
      } finally {
        copy.close();
      }
    } finally {
      db.close();
    }
  });

  Deno.test(`Keystore on SqlJsDatabase (${name}): exported mid-session, reopened from the image`, async () => {
    const db = new SqlJsDatabase(sql());
    const opts = keystoreOptions();
    const ks = await Keystore.createIn(db, "ada in memory", opts);
    let copy: Keystore | null = null;
    try {
      assert.equal(ks.label, "ada in memory");
      const persisted = db.changes;
      ks.addFriend(_friend(2, "bob"));
      const key = generateFernetKey();
      ks.addFriendKey(2, "k1", key, { active: true });
      assert.ok(db.changes > persisted, "writes move the counter");
      const image = db.export();
      // The keystore's statements were prepared before the export.
      ks.addOutgoing({ clientMsgId: "c1", kind: "direct", peerId: 2, text: "after export" });
      assert.equal(ks.activeFriendKey(2)?.key, key);
      await ks.changePassword(PASSWORD, "new password");

      const reopened = new SqlJsDatabase(SQL, image);
      await assert.rejects(Keystore.openIn(reopened, "copy", "new password"), /Wrong password/);
      copy = await Keystore.openIn(reopened, "copy", PASSWORD);
      assert.equal(copy.activeFriendKey(2)?.key, key);
      assert.deepEqual(copy.history("direct", 2), [], "the image predates the message");
      assert.equal(copy.account().sessionToken, opts.account.sessionToken);

      const later = new SqlJsDatabase(SQL, db.export());
      const third = await Keystore.openIn(later, "third", "new password");
      try {
        assert.deepEqual(third.history("direct", 2).map((m) => m.text), ["after export"]);
      } finally {
        third.close();
      }
    } finally {
      ks.close();
      copy?.close();
    }
    assert.equal(db.closed, true, "closing the keystore closes its database");
  });
}

Deno.test("Keystore.createIn refuses a database that is not empty, and leaves it open", async () => {
  const db = new SqlJsDatabase(SQL);
  try {
    db.exec("CREATE TABLE t (x INTEGER)");
    await assert.rejects(
      Keystore.createIn(db, "used", keystoreOptions()),
      (err: unknown) => err instanceof Error && /already holds a database/.test(err.message),
    );
    assert.equal(db.closed, false);
    assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), { n: 0 });
  } finally {
    db.close();
  }
});

Deno.test("a keystore file written by node:sqlite opens on sql.js from its bytes", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "fastchat_sqljs_" });
  try {
    const path = `${dir}/keystore.db`;
    const ks = await createKeystoreFile(path, keystoreOptions());
    ks.addFriend(_friend(2, "bob"));
    ks.close();
    const db = new SqlJsDatabase(SQL, Deno.readFileSync(path));
    const again = await Keystore.openIn(db, path, PASSWORD);
    try {
      assert.equal(again.friend(2)?.username, "bob");
      again.addFriend(_friend(3, "carol"));
      assert.deepEqual(again.friends().map((f) => f.username), ["bob", "carol"]);
    } finally {
      again.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
