/**
 * Tests of the client's local database (core/keystore/keystore.ts): the shared keystore
 * suite on each backend (a file through node:sqlite, sql.js in memory persisted as an
 * image), then what only a keystore file has: the WAL journal, permissions, paths, and
 * files that are missing or not ours. scrypt runs with N = 2^10 for speed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { createKeystoreFile, openKeystoreFile } from "../../core/client/deno/keystore_file.ts";
import { FILE_BACKEND, SQLJS_BACKEND } from "../helpers/keystore_backends.ts";
import {
  isKeystoreError,
  keystoreConformance,
  keystoreOptions,
  PASSWORD,
  RSA_PUBLIC,
} from "../helpers/keystore_conformance.ts";
import { generateIdentityKeyPair, toBase64Url } from "../../core/crypto/mod.ts";

keystoreConformance(FILE_BACKEND);
keystoreConformance(SQLJS_BACKEND);

function _mode(path: string): number {
  return Deno.statSync(path).mode! & 0o777;
}

/** Runs `fn` with a new temporary directory, removed afterwards. */
async function _inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "fastchat_keystore_file_" });
  try {
    await fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("Keystore (file): the file runs a WAL journal, and writes reach the WAL", async () => {
  await _inTempDir(async (dir) => {
    const path = `${dir}/ada/keystore.db`;
    const ks = await createKeystoreFile(path, keystoreOptions());
    try {
      ks.addFriend({
        userId: 2,
        username: "bob",
        rsaPublicKey: RSA_PUBLIC,
        identityKey: toBase64Url(generateIdentityKeyPair().publicKey, false),
      });
      assert.ok(Deno.statSync(`${path}-wal`).size > 0, "expected data in the WAL");
      const db = new DatabaseSync(path);
      const mode = db.prepare("PRAGMA journal_mode").get()!["journal_mode"];
      db.close();
      assert.equal(mode, "wal");
    } finally {
      ks.close();
    }
  });
});

Deno.test("Keystore (file): a missing file, a directory and a file not ours are told apart", async () => {
  await _inTempDir(async (dir) => {
    await assert.rejects(
      openKeystoreFile(`${dir}/nobody/keystore.db`, PASSWORD),
      isKeystoreError("not_found"),
    );
    await assert.rejects(openKeystoreFile(dir, PASSWORD), isKeystoreError("not_a_keystore"));
    const text = `${dir}/notes.txt`;
    Deno.writeTextFileSync(text, "x".repeat(4096));
    Deno.chmodSync(text, 0o644);
    await assert.rejects(openKeystoreFile(text, PASSWORD), isKeystoreError("not_a_keystore"));
    assert.equal(_mode(text), 0o644, "a file that is not ours keeps its mode");
    await assert.rejects(
      createKeystoreFile(text, keystoreOptions()),
      isKeystoreError("already_exists"),
    );
    assert.equal(Deno.readTextFileSync(text), "x".repeat(4096), "an existing file is kept");
  });
});

Deno.test({
  name: "Keystore (file): 0600 in a new 0700 directory, and open narrows a loose mode",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await _inTempDir(async (dir) => {
      const path = `${dir}/ada/keystore.db`;
      const ks = await createKeystoreFile(path, keystoreOptions());
      ks.setSessionToken("token-1");
      assert.equal(_mode(path), 0o600);
      assert.equal(_mode(`${path}-wal`), 0o600);
      assert.equal(_mode(`${dir}/ada`), 0o700);
      ks.close();
      Deno.chmodSync(path, 0o644);
      (await openKeystoreFile(path, PASSWORD)).close();
      assert.equal(_mode(path), 0o600);
    });
  },
});

Deno.test("Keystore (file): paths are checked, and bad options make no directory", async () => {
  await _inTempDir(async (dir) => {
    const opts = keystoreOptions();
    await assert.rejects(createKeystoreFile("", opts), TypeError);
    await assert.rejects(createKeystoreFile(":memory:", opts), TypeError);
    await assert.rejects(createKeystoreFile(`${dir}/a\0b`, opts), TypeError);
    await assert.rejects(openKeystoreFile("", PASSWORD), TypeError);
    await assert.rejects(
      createKeystoreFile(`${dir}/ada/keystore.db`, { ...opts, password: "" }),
      RangeError,
    );
    assert.throws(() => Deno.statSync(`${dir}/ada`), Deno.errors.NotFound);
  });
});
