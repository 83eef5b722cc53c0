/**
 * The keystore's consent and verification suite, run on every storage backend: the
 * `contact` and `verified_at` state of friends, requests, blocked users, settings, and the
 * schema migration that added them (a version-1 keystore made by the previous FastChat
 * opens, its friends stay contacts, and nothing is lost). scrypt runs with N = 2^10.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Keystore, KEYSTORE_SCHEMA_VERSION } from "../../core/keystore/keystore.ts";
import { generateIdentityKeyPair, toBase64Url, utf8 } from "../../core/crypto/mod.ts";
import type { KeystoreBackend, KeystoreStore } from "./keystore_backends.ts";
import { contains, isKeystoreError, RSA_PRIVATE, RSA_PUBLIC } from "./keystore_conformance.ts";

/**
 * The version 1 keystore as an SQL dump (the bytes a version 1 client wrote, kept as text
 * rather than as a binary file); see tests/testdata/keystore/README.md.
 */
const V1_KEYSTORE_SQL = Deno.readTextFileSync(
  new URL("../testdata/keystore/v1.sql", import.meta.url),
);
const V1_PASSWORD = "correct horse battery staple";
const PASSWORD = "a password for consent tests";

const ME = 1;
const BOB = 2;
const CAROL = 3;

/** Registers the suite's tests for `backend`. */
export function keystoreConsentConformance(backend: KeystoreBackend): void {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`Keystore (${backend.name}): ${name}`, fn);

  /** Runs `fn` with a fresh keystore, closing it and removing its store afterwards. */
  const withKeystore = async (
    fn: (ks: Keystore, store: KeystoreStore) => Promise<void> | void,
  ) => {
    const store = backend.store();
    try {
      const identity = generateIdentityKeyPair();
      const ks = await store.create({
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
        await fn(ks, store);
      } finally {
        ks.close();
      }
    } finally {
      store.dispose();
    }
  };

  /** A store holding the version 1 keystore. */
  const v1Store = (): KeystoreStore => {
    const store = backend.store();
    store.load(V1_KEYSTORE_SQL);
    return store;
  };

  const version = (store: KeystoreStore): unknown =>
    store.raw((db) => db.prepare("PRAGMA user_version").get()?.["user_version"]);

  test("open migrates a version 1 keystore: friends stay contacts, nothing is lost", async () => {
    const store = v1Store();
    try {
      assert.equal(version(store), 1);
      // A wrong password changes nothing, not even the version.
      await assert.rejects(store.open("not the password"), isKeystoreError("wrong_password"));
      assert.equal(version(store), 1);

      const ks = await store.open(V1_PASSWORD);
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
        // The new state works on the migrated keystore.
        ks.verifyFriend(BOB);
        ks.block(CAROL, "carol");
        ks.setSetting("file_limit_bytes", "1000");
      } finally {
        ks.close();
      }
      const again = await store.open(V1_PASSWORD);
      try {
        assert.notEqual(again.friend(BOB)!.verifiedAt, null);
        assert.equal(again.friend(CAROL)!.contact, false);
        assert.equal(again.setting("file_limit_bytes"), "1000");
      } finally {
        again.close();
      }
      assert.equal(version(store), KEYSTORE_SCHEMA_VERSION);
    } finally {
      store.dispose();
    }
  });

  test("a new keystore has the same tables as a migrated one", async () => {
    const migrated = v1Store();
    try {
      (await migrated.open(V1_PASSWORD)).close();
      await withKeystore((ks, store) => {
        ks.close();
        const schema = (s: KeystoreStore) =>
          s.raw((db) => db.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name").all())
            .map((r) => JSON.stringify(r));
        assert.deepEqual(schema(store), schema(migrated));
      });
    } finally {
      migrated.dispose();
    }
  });

  test("contacts: addFriend() makes a contact unless told not to; setContact() changes it", async () => {
    await withKeystore((ks) => {
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
      assert.throws(() => ks.setContact(9, true), isKeystoreError("not_found"));
      assert.throws(() => ks.setContact(BOB, 1 as unknown as boolean), TypeError);
    });
  });

  test("verifyFriend() marks the pinned keys; any key change takes the mark away", async () => {
    await withKeystore((ks) => {
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
      assert.throws(() => ks.verifyFriend(BOB), isKeystoreError("pending_change"));
      // The directory going back clears the change, not the lost mark.
      ks.observeFriendKeys(BOB, { rsaPublicKey: RSA_PUBLIC, identityKey: first });
      assert.equal(ks.friend(BOB)!.verifiedAt, null);
      ks.verifyFriend(BOB);
      ks.observeFriendKeys(BOB, { rsaPublicKey: RSA_PUBLIC, identityKey: second });
      ks.acceptKeyChange(BOB);
      assert.equal(ks.friend(BOB)!.verifiedAt, null, "accepted new keys are not verified");
      assert.ok(ks.verifyFriend(BOB).verifiedAt! > 0);
      assert.throws(() => ks.verifyFriend(CAROL), isKeystoreError("not_found"));
    });
  });

  test("requests: messages kept sealed and in order, a preview set once, removed at once", async () => {
    await withKeystore((ks, store) => {
      assert.throws(
        () => ks.addRequestMessage(BOB, 10, _frame(10, BOB, "x")),
        isKeystoreError("not_found"),
      );
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
      // Sealed at rest: neither the preview nor a kept message is in the stored bytes.
      const stored = store.bytes();
      assert.ok(stored.some((b) => contains(b, utf8("bob"))), "control not found");
      for (const secret of ["the secret first words", '"body":"first"']) {
        for (const bytes of stored) assert.equal(contains(bytes, utf8(secret)), false, secret);
      }
    });
  });

  test("block() forgets the request and the contact; unblock() leaves a stranger", async () => {
    await withKeystore((ks) => {
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

  test("group invitations: kept per group, listed oldest first, removed once", async () => {
    await withKeystore((ks) => {
      assert.throws(() => ks.addGroupInvite(5, BOB, "bob"), isKeystoreError("not_found"));
      ks.upsertGroup({ groupId: 5, name: "trip", adminId: BOB, members: [ME, BOB] });
      ks.upsertGroup({ groupId: 6, name: "work", adminId: CAROL, members: [ME, CAROL] });
      assert.equal(ks.groupInvite(5), null);
      assert.equal(ks.addGroupInvite(6, CAROL, "carol", 2_000), true);
      assert.equal(ks.addGroupInvite(5, BOB, "bob", 1_000), true);
      assert.equal(ks.addGroupInvite(5, CAROL, "carol", 3_000), false, "the first one stays");
      assert.deepEqual(ks.groupInvite(5), {
        groupId: 5,
        name: "trip",
        byId: BOB,
        byName: "bob",
        invitedAt: 1_000,
      });
      assert.deepEqual(ks.groupInvites().map((i) => i.groupId), [5, 6]);
      assert.equal(ks.removeGroupInvite(5), true);
      assert.equal(ks.removeGroupInvite(5), false);
      assert.deepEqual(ks.groupInvites().map((i) => i.groupId), [6]);
      assert.throws(() => ks.addGroupInvite(6, 0, "carol"), RangeError);
      assert.throws(() => ks.addGroupInvite(6, CAROL, "no spaces"), RangeError);
      // Someone the directory could not name is kept by ID.
      ks.upsertGroup({ groupId: 7, name: "x", adminId: 9, members: [ME, 9] });
      assert.equal(ks.addGroupInvite(7, 9, "#9"), true);
    });
  });

  test("group invitations persist; removeGroup() keeps who ended the membership and how", async () => {
    await withKeystore(async (ks, store) => {
      ks.upsertGroup({ groupId: 5, name: "trip", adminId: BOB, members: [ME, BOB] });
      ks.upsertGroup({ groupId: 6, name: "work", adminId: BOB, members: [ME, BOB] });
      ks.addGroupInvite(5, BOB, "bob", 1_000);
      ks.removeGroup(6, { by: BOB, how: "removed" });
      assert.deepEqual([ks.group(6)!.leftBy, ks.group(6)!.leftHow], [BOB, "removed"]);
      ks.removeGroup(6, { by: ME, how: "left" }); // left already: how it ended stays
      assert.deepEqual([ks.group(6)!.leftBy, ks.group(6)!.leftHow], [BOB, "removed"]);
      assert.throws(
        () => ks.removeGroup(6, { by: BOB, how: "kicked" as "removed" }),
        RangeError,
      );
      ks.close();
      const again = await store.open(PASSWORD);
      try {
        assert.equal(again.groupInvite(5)!.byName, "bob");
        assert.equal(again.group(6)!.leftHow, "removed");
        // Back in the group: the old ending is forgotten.
        again.upsertGroup({ groupId: 6, name: "work", adminId: BOB, members: [ME, BOB] });
        assert.deepEqual([again.group(6)!.leftBy, again.group(6)!.leftHow], [null, null]);
        assert.deepEqual([again.group(5)!.leftBy, again.group(5)!.leftHow], [null, null]);
      } finally {
        again.close();
      }
    });
  });

  test("settings: set, read, replace and remove", async () => {
    await withKeystore((ks) => {
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

  test("changePassword() re-encrypts kept request messages and previews", async () => {
    await withKeystore(async (ks, store) => {
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
      const again = await store.open("the new password");
      try {
        assert.equal(again.request(BOB)!.preview, "preview text");
        assert.equal(JSON.parse(again.requestMessages(BOB)[0]!.frame).body, "kept");
      } finally {
        again.close();
      }
    });
  });
}

function _identity(): string {
  return toBase64Url(generateIdentityKeyPair().publicKey, false);
}

function _frame(msgId: number, from: number, body: string): string {
  return JSON.stringify({ type: "message", msg_id: msgId, kind: "direct", from, body });
}
