/**
 * Tests of the keystore's consent and verification state (core/client/keystore_consent.ts,
 * the `contact` and `verified_at` columns of friends) and of the schema migration that
 * added them: a version-1 keystore made by the previous FastChat opens, its friends stay
 * contacts, and nothing is lost. scrypt runs with N = 2^10 for speed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  Keystore,
  KEYSTORE_SCHEMA_VERSION,
  KeystoreError,
  type KeystoreErrorCode,
} from "../core/client/keystore.ts";
import { generateIdentityKeyPair, toBase64Url, utf8 } from "../core/crypto/mod.ts";

const RSA_DIR = new URL("./testdata/rsa/", import.meta.url);
const RSA_PRIVATE = Deno.readTextFileSync(new URL("rsa2048_pkcs8_private.pem", RSA_DIR));
const RSA_PUBLIC = Deno.readTextFileSync(new URL("rsa2048_spki_public.pem", RSA_DIR));
const V1_KEYSTORE_SQL = Deno.readTextFileSync(
  new URL("./testdata/keystore/v1.sql", import.meta.url),
);

/**
 * Writes the version 1 keystore at `path` from its SQL dump (the bytes a version 1 client
 * wrote, kept as text rather than as a binary file), owner-only as a client makes it.
 */
function _writeV1Keystore(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(V1_KEYSTORE_SQL);
  } finally {
    db.close();
  }
  Deno.chmodSync(path, 0o600);
}
const V1_PASSWORD = "correct horse battery staple";
const PASSWORD = "a password for consent tests";

const ME = 1;
const BOB = 2;
const CAROL = 3;

function _identity(): string {
  return toBase64Url(generateIdentityKeyPair().publicKey, false);
}

/** Runs `fn` with a fresh keystore, closing it and removing its directory afterwards. */
async function _withKeystore(fn: (ks: Keystore, path: string) => Promise<void> | void) {
  const dir = Deno.makeTempDirSync({ prefix: "fastchat_consent_" });
  const identity = generateIdentityKeyPair();
  const path = `${dir}/ada/keystore.db`;
  const ks = await Keystore.create(path, {
    password: PASSWORD,
    scrypt: { N: 2 ** 10 },
    account: {
      userId: ME,
      username: "ada",
      rsaPrivateKey: RSA_PRIVATE,
      rsaPublicKey: RSA_PUBLIC,
      identitySecretKey: identity.secretKey,
      identityPublicKey: toBase64Url(identity.publicKey, false),
    },
  });
  try {
    await fn(ks, path);
  } finally {
    ks.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

function _code(code: KeystoreErrorCode) {
  return (err: unknown) => {
    assert.ok(err instanceof KeystoreError, `expected a KeystoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

function _contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function _frame(msgId: number, from: number, body: string): string {
  return JSON.stringify({ type: "message", msg_id: msgId, kind: "direct", from, body });
}

Deno.test("Keystore.open() migrates a version 1 keystore: friends stay contacts, nothing is lost", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "fastchat_consent_v1_" });
  const path = `${dir}/keystore.db`;
  _writeV1Keystore(path);
  try {
    const before = new DatabaseSync(path);
    assert.equal(
      (before.prepare("PRAGMA user_version").get() as { user_version: number })
        .user_version,
      1,
    );
    before.close();
    // A wrong password changes nothing, not even the version.
    await assert.rejects(Keystore.open(path, "not the password"), _code("wrong_password"));
    const still = new DatabaseSync(path);
    assert.equal(
      (still.prepare("PRAGMA user_version").get() as { user_version: number })
        .user_version,
      1,
    );
    still.close();

    const ks = await Keystore.open(path, V1_PASSWORD);
    try {
      assert.deepEqual(ks.friends().map((f) => [f.username, f.contact, f.verifiedAt]), [
        ["bob", true, null],
        ["carol", true, null],
      ]);
      assert.deepEqual(ks.contacts().map((f) => f.username), ["bob", "carol"]);
      assert.ok(ks.activeFriendKey(BOB), "shared keys are kept");
      assert.ok(ks.currentGroupKey(5), "group keys are kept");
      assert.deepEqual(ks.history("direct", BOB).map((m) => m.text), ["hello from version 1"]);
      assert.deepEqual(ks.requests(), []);
      assert.deepEqual(ks.blockedUsers(), []);
      // The new state works on the migrated file.
      ks.verifyFriend(BOB);
      ks.block(CAROL, "carol");
      ks.setSetting("file_limit_bytes", "1000");
    } finally {
      ks.close();
    }
    const again = await Keystore.open(path, V1_PASSWORD);
    try {
      assert.notEqual(again.friend(BOB)!.verifiedAt, null);
      assert.equal(again.friend(CAROL)!.contact, false);
      assert.equal(again.setting("file_limit_bytes"), "1000");
    } finally {
      again.close();
    }
    const after = new DatabaseSync(path);
    assert.equal(
      (after.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
      KEYSTORE_SCHEMA_VERSION,
    );
    after.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a new keystore has the same tables as a migrated one", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "fastchat_consent_schema_" });
  const migrated = `${dir}/v1.db`;
  _writeV1Keystore(migrated);
  try {
    (await Keystore.open(migrated, V1_PASSWORD)).close();
    await _withKeystore((ks, path) => {
      ks.close();
      const schema = (p: string) => {
        const db = new DatabaseSync(p);
        try {
          return (db.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name").all())
            .map((r) => JSON.stringify(r));
        } finally {
          db.close();
        }
      };
      assert.deepEqual(schema(path), schema(migrated));
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("contacts: addFriend() makes a contact unless told not to; setContact() changes it", async () => {
  await _withKeystore((ks) => {
    const bob = ks.addFriend({
      userId: BOB,
      username: "bob",
      rsaPublicKey: RSA_PUBLIC,
      identityKey: _identity(),
    });
    assert.equal(bob.contact, true);
    const carol = ks.addFriend({
      userId: CAROL,
      username: "carol",
      rsaPublicKey: RSA_PUBLIC,
      identityKey: _identity(),
      contact: false,
    });
    assert.equal(carol.contact, false);
    assert.deepEqual(ks.friends().map((f) => f.username), ["bob", "carol"]);
    assert.deepEqual(ks.contacts().map((f) => f.username), ["bob"]);
    assert.equal(ks.setContact(CAROL, true).contact, true);
    assert.equal(ks.setContact(BOB, false).contact, false);
    assert.deepEqual(ks.contacts().map((f) => f.username), ["carol"]);
    assert.throws(() => ks.setContact(9, true), _code("not_found"));
    assert.throws(() => ks.setContact(BOB, 1 as unknown as boolean), TypeError);
  });
});

Deno.test("verifyFriend() marks the pinned keys; any key change takes the mark away", async () => {
  await _withKeystore((ks) => {
    const first = _identity();
    ks.addFriend({ userId: BOB, username: "bob", rsaPublicKey: RSA_PUBLIC, identityKey: first });
    assert.equal(ks.friend(BOB)!.verifiedAt, null);
    assert.ok(ks.verifyFriend(BOB).verifiedAt! > 0);
    // The directory shows the same keys: still verified.
    ks.observeFriendKeys(BOB, { rsaPublicKey: RSA_PUBLIC, identityKey: first });
    assert.notEqual(ks.friend(BOB)!.verifiedAt, null);
    // Other keys: the mark goes, and cannot be set until the change is accepted.
    const second = _identity();
    assert.equal(
      ks.observeFriendKeys(BOB, { rsaPublicKey: RSA_PUBLIC, identityKey: second }),
      "changed",
    );
    assert.equal(ks.friend(BOB)!.verifiedAt, null);
    assert.throws(() => ks.verifyFriend(BOB), _code("pending_change"));
    // The directory going back clears the change, not the lost mark.
    ks.observeFriendKeys(BOB, { rsaPublicKey: RSA_PUBLIC, identityKey: first });
    assert.equal(ks.friend(BOB)!.verifiedAt, null);
    ks.verifyFriend(BOB);
    ks.observeFriendKeys(BOB, { rsaPublicKey: RSA_PUBLIC, identityKey: second });
    ks.acceptKeyChange(BOB);
    assert.equal(ks.friend(BOB)!.verifiedAt, null, "accepted new keys are not verified");
    assert.ok(ks.verifyFriend(BOB).verifiedAt! > 0);
    assert.throws(() => ks.verifyFriend(CAROL), _code("not_found"));
  });
});

Deno.test("requests: messages kept sealed and in order, a preview set once, removed at once", async () => {
  await _withKeystore((ks, path) => {
    assert.throws(() => ks.addRequestMessage(BOB, 10, _frame(10, BOB, "x")), _code("not_found"));
    ks.addFriend({
      userId: BOB,
      username: "bob",
      rsaPublicKey: RSA_PUBLIC,
      identityKey: _identity(),
      contact: false,
    });
    assert.equal(ks.request(BOB), null);
    // Kept by message ID, whatever order they arrive in.
    assert.equal(ks.addRequestMessage(BOB, 12, _frame(12, BOB, "second"), 1_000), true);
    assert.equal(ks.addRequestMessage(BOB, 11, _frame(11, BOB, "first"), 2_000), true);
    assert.equal(ks.addRequestMessage(BOB, 11, _frame(11, BOB, "first")), false, "de-duplicated");
    assert.equal(ks.setRequestPreview(BOB, "the secret first words"), true);
    assert.equal(ks.setRequestPreview(BOB, "later words"), false, "the first preview stays");
    assert.equal(ks.setRequestPreview(CAROL, "nobody"), false);
    assert.deepEqual(ks.request(BOB), {
      userId: BOB,
      username: "bob",
      firstAt: 1_000,
      lastAt: 2_000,
      preview: "the secret first words",
      messages: 2,
    });
    assert.deepEqual(ks.requests().map((r) => r.userId), [BOB]);
    assert.deepEqual(ks.requestMessages(BOB).map((r) => [r.msgId, JSON.parse(r.frame).body]), [
      [11, "first"],
      [12, "second"],
    ]);
    // Sealed at rest: neither the preview nor a kept message is in the file.
    const files = [Deno.readFileSync(path)];
    try {
      files.push(Deno.readFileSync(`${path}-wal`));
    } catch {
      // no WAL file
    }
    for (const secret of ["the secret first words", '"body":"first"']) {
      for (const bytes of files) assert.equal(_contains(bytes, utf8(secret)), false, secret);
    }
  });
});

Deno.test("block() forgets the request and the contact; unblock() leaves a stranger", async () => {
  await _withKeystore((ks) => {
    ks.addFriend({
      userId: BOB,
      username: "bob",
      rsaPublicKey: RSA_PUBLIC,
      identityKey: _identity(),
    });
    ks.addRequestMessage(BOB, 20, _frame(20, BOB, "hi"));
    assert.equal(ks.blocked(BOB), null);
    const b = ks.block(BOB, "bob");
    assert.equal(b.username, "bob");
    assert.equal(ks.request(BOB), null);
    assert.deepEqual(ks.requestMessages(BOB), []);
    assert.equal(ks.friend(BOB)!.contact, false);
    assert.deepEqual(ks.blockedByName("bob"), b);
    // Someone never pinned can be blocked too; blocking again changes nothing.
    ks.block(CAROL, "carol");
    assert.equal(ks.block(CAROL, "carol").blockedAt, ks.blocked(CAROL)!.blockedAt);
    assert.deepEqual(ks.blockedUsers().map((x) => x.username), ["bob", "carol"]);
    assert.equal(ks.unblock(BOB), true);
    assert.equal(ks.unblock(BOB), false);
    assert.equal(ks.blocked(BOB), null);
    assert.equal(ks.friend(BOB)!.contact, false, "unblocking does not make a contact");
    assert.throws(() => ks.block(ME, "ada"), RangeError);
  });
});

Deno.test("settings: set, read, replace and remove", async () => {
  await _withKeystore((ks) => {
    assert.equal(ks.setting("file_limit_bytes"), null);
    ks.setSetting("file_limit_bytes", "5");
    ks.setSetting("file_limit_bytes", "6");
    assert.equal(ks.setting("file_limit_bytes"), "6");
    ks.setSetting("file_limit_bytes", null);
    assert.equal(ks.setting("file_limit_bytes"), null);
    assert.throws(() => ks.setSetting("bad name", "1"), RangeError);
    assert.throws(() => ks.setSetting("x", "y".repeat(1025)), RangeError);
  });
});

Deno.test("changePassword() re-encrypts kept request messages and previews", async () => {
  await _withKeystore(async (ks, path) => {
    ks.addFriend({
      userId: BOB,
      username: "bob",
      rsaPublicKey: RSA_PUBLIC,
      identityKey: _identity(),
      contact: false,
    });
    ks.addRequestMessage(BOB, 30, _frame(30, BOB, "kept"));
    ks.setRequestPreview(BOB, "preview text");
    await ks.changePassword(PASSWORD, "the new password");
    ks.close();
    const again = await Keystore.open(path, "the new password");
    try {
      assert.equal(again.request(BOB)!.preview, "preview text");
      assert.equal(JSON.parse(again.requestMessages(BOB)[0]!.frame).body, "kept");
    } finally {
      again.close();
    }
  });
});
