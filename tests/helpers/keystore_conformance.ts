/**
 * The keystore suite every storage backend must pass (a file through node:sqlite, sql.js
 * in memory): the round trip through a password, telling a wrong password from a foreign
 * or newer database, encryption at rest (the stored bytes never hold a secret or a message
 * text), friends' key pinning, shared keys, groups with epochs, history, password change
 * and input checks. scrypt runs with N = 2^10 for speed.
 *
 * Usage, from a test file: `keystoreConformance(FILE_BACKEND)`; test names start with
 * "Keystore (<backend>)".
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type CreateKeystoreOptions,
  type FileMeta,
  type Keystore,
  KEYSTORE_SCHEMA_VERSION,
  KeystoreError,
  type KeystoreErrorCode,
} from "../../core/keystore/keystore.ts";
import {
  generateFernetKey,
  generateIdentityKeyPair,
  randomBytes,
  toBase64Url,
  utf8,
} from "../../core/crypto/mod.ts";
import type { KeystoreBackend, KeystoreStore } from "./keystore_backends.ts";

const RSA_DIR = new URL("../testdata/rsa/", import.meta.url);
/** An RSA private key (PKCS#8 PEM) for test accounts. */
export const RSA_PRIVATE = Deno.readTextFileSync(new URL("rsa2048_pkcs8_private.pem", RSA_DIR));
/** Its public key, SPKI PEM. */
export const RSA_PUBLIC = Deno.readTextFileSync(new URL("rsa2048_spki_public.pem", RSA_DIR));
const RSA_PUBLIC_PKCS1 = Deno.readTextFileSync(new URL("rsa2048_pkcs1_public.pem", RSA_DIR));
const OTHER_PUBLIC = Deno.readTextFileSync(new URL("rsa1024_spki_public.pem", RSA_DIR));
const FAST = { N: 2 ** 10 };
/** The password of {@linkcode keystoreOptions}. */
export const PASSWORD = "correct horse battery staple";

const ME = 1;
const BOB = 2;
const CAROL = 3;
const SHA = "a".repeat(64);

/** Options of a new keystore for user #1 "ada", with fast scrypt and a session token. */
export type TestKeystoreOptions = CreateKeystoreOptions & {
  account: { identitySecretKey: Uint8Array };
};

/** Options of a new keystore for user #1 "ada", with fast scrypt and a session token. */
export function keystoreOptions(): TestKeystoreOptions {
  const identity = generateIdentityKeyPair();
  return {
    password: PASSWORD,
    scrypt: FAST,
    account: {
      userId: ME,
      username: "ada",
      rsaPrivateKey: RSA_PRIVATE,
      rsaPublicKey: RSA_PUBLIC,
      identitySecretKey: identity.secretKey,
      identityPublicKey: toBase64Url(identity.publicKey),
      sessionToken: toBase64Url(randomBytes(32), false),
    },
  };
}

/** An assertion for `assert.throws`/`rejects`: a KeystoreError with `code`. */
export function isKeystoreError(code: KeystoreErrorCode): (err: unknown) => true {
  return (err: unknown) => {
    assert.ok(err instanceof KeystoreError, `expected a KeystoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

/** Whether `needle` occurs in `haystack`. */
export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

/** Registers the suite's tests for `backend`. */
export function keystoreConformance(backend: KeystoreBackend): void {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`Keystore (${backend.name}): ${name}`, fn);

  /** Runs `fn` with a fresh keystore, closing it and removing its store afterwards. */
  const withKeystore = async (
    fn: (ks: Keystore, store: KeystoreStore, opts: TestKeystoreOptions) => Promise<void> | void,
  ) => {
    const store = backend.store();
    try {
      const opts = keystoreOptions();
      const ks = await store.create(opts);
      try {
        await fn(ks, store, opts);
      } finally {
        ks.close();
      }
    } finally {
      store.dispose();
    }
  };

  test("create then open round-trips the account through the password", async () => {
    await withKeystore(async (ks, store, opts) => {
      assert.equal(ks.userId, ME);
      assert.equal(ks.username, "ada");
      assert.equal(ks.path, store.label);
      assert.equal(ks.label, store.label);
      ks.close();
      assert.equal(ks.closed, true);
      assert.throws(() => ks.friends(), isKeystoreError("closed"));
      ks.close(); // idempotent

      const again = await store.open(PASSWORD);
      try {
        const a = again.account();
        const input = opts.account;
        assert.equal(a.userId, ME);
        assert.equal(a.username, "ada");
        assert.equal(a.rsaPrivateKey, RSA_PRIVATE);
        assert.equal(a.rsaPublicKey, RSA_PUBLIC);
        assert.deepEqual(a.identitySecretKey, input.identitySecretKey);
        assert.equal(a.identityPublicKey, input.identityPublicKey.replace(/=$/, ""));
        assert.equal(a.sessionToken, input.sessionToken);
        assert.ok(a.createdAt > 0);
        again.setSessionToken(null);
        assert.equal(again.sessionToken(), null);
        again.setSessionToken("new-token_123");
        assert.equal(again.sessionToken(), "new-token_123");
        const version = store.raw((db) => db.prepare("PRAGMA user_version").get());
        assert.equal(version?.["user_version"], KEYSTORE_SCHEMA_VERSION);
      } finally {
        again.close();
      }
    });
  });

  test("open tells a wrong password, a foreign and a newer database apart", async () => {
    await withKeystore(async (ks, store, opts) => {
      ks.close();
      await assert.rejects(store.open("wrong password"), isKeystoreError("wrong_password"));
      await assert.rejects(store.create(opts), isKeystoreError("already_exists"));
      store.raw((db) => db.exec(`PRAGMA user_version = ${KEYSTORE_SCHEMA_VERSION + 1}`));
      await assert.rejects(
        store.open(PASSWORD),
        (err: unknown) =>
          isKeystoreError("unsupported_version")(err) && /upgrade FastChat/.test(String(err)),
      );
    });
    const other = backend.store();
    try {
      other.load("CREATE TABLE t (x INTEGER)");
      await assert.rejects(other.open(PASSWORD), isKeystoreError("not_a_keystore"));
      other.loadBytes(utf8("x".repeat(4096)));
      await assert.rejects(other.open(PASSWORD), isKeystoreError("not_a_keystore"));
    } finally {
      other.dispose();
    }
  });

  test("secrets and message texts never appear in the stored bytes", async () => {
    await withKeystore((ks, store, opts) => {
      const friendKey = generateFernetKey();
      const groupKey = generateFernetKey();
      const text = "the eagle lands at midnight ZQXJ-7741";
      const fileName = "secret-plans-ZQXJ.pdf";
      ks.addFriend(_friendInput(BOB, "bob_the_builder"));
      ks.addFriendKey(BOB, "k1", friendKey, { active: true });
      ks.upsertGroup({ groupId: 10, name: "heist", adminId: ME, members: [ME, BOB] });
      ks.addGroupKey(10, 0, groupKey);
      ks.addOutgoing({ clientMsgId: "c1", kind: "direct", peerId: BOB, text });
      ks.addIncoming({
        msgId: 5,
        clientMsgId: "b1",
        kind: "direct",
        peerId: BOB,
        senderId: BOB,
        text: `${text} reply`,
        file: { name: fileName, path: `/home/ada/${fileName}`, size: 10, sha256: SHA },
        sentAt: 1,
      });

      const pemBody = RSA_PRIVATE.split("\n").filter((l) => l && !l.startsWith("-----"));
      const acct = opts.account;
      const secrets: [string, Uint8Array][] = [
        ["friend key", utf8(friendKey)],
        ["group key", utf8(groupKey)],
        ["message text", utf8(text)],
        ["file name", utf8(fileName)],
        ["RSA private PEM line 2", utf8(pemBody[1]!)],
        ["RSA private PEM last line", utf8(pemBody.at(-1)!)],
        ["identity secret (raw)", acct.identitySecretKey],
        ["identity secret (base64)", utf8(toBase64Url(acct.identitySecretKey, false))],
        ["session token", utf8(acct.sessionToken!)],
      ];
      const scan = () => {
        const stored = store.bytes();
        // The scan itself works: a public name is there in the clear.
        assert.ok(stored.some((b) => contains(b, utf8("bob_the_builder"))), "control not found");
        for (const [what, bytes] of secrets) {
          for (const b of stored) assert.ok(!contains(b, bytes), `${what} found in plaintext`);
        }
      };
      scan();
      // Still usable after its bytes were taken (sql.js: after an export).
      assert.equal(ks.activeFriendKey(BOB)?.key, friendKey);
      ks.close();
      scan();
    });
  });

  test("friends: keys are pinned, and a key change must be accepted before use", async () => {
    await withKeystore((ks) => {
      const bob = _friendInput(BOB, "bob");
      const added = ks.addFriend(bob);
      assert.equal(added.rsaPublicKey, RSA_PUBLIC);
      assert.equal(added.identityKey, bob.identityKey);
      assert.equal(added.pendingKeyChange, null);
      assert.equal(ks.friendKeysUsable(BOB), true);
      assert.equal(ks.friendKeysUsable(CAROL), false);
      assert.throws(() => ks.addFriend(bob), isKeystoreError("already_exists"));
      assert.throws(() => ks.addFriend(_friendInput(ME, "ada")), RangeError);

      // The same keys spelled differently (PKCS#1 PEM, padded base64) are the same keys.
      const same = { rsaPublicKey: RSA_PUBLIC_PKCS1, identityKey: `${bob.identityKey}=` };
      assert.equal(ks.observeFriendKeys(BOB, same), "unchanged");

      const newKeys = _friendInput(BOB, "bob", OTHER_PUBLIC);
      assert.equal(ks.observeFriendKeys(BOB, newKeys), "changed");
      assert.equal(ks.friendKeysUsable(BOB), false);
      const pending = ks.friend(BOB)!;
      assert.equal(pending.rsaPublicKey, RSA_PUBLIC, "pinned keys stay until accepted");
      assert.equal(pending.pendingKeyChange?.rsaPublicKey, OTHER_PUBLIC);
      assert.equal(pending.pendingKeyChange?.identityKey, newKeys.identityKey);

      // The directory going back to the pinned keys clears the pending change.
      assert.equal(ks.observeFriendKeys(BOB, bob), "unchanged");
      assert.equal(ks.friendKeysUsable(BOB), true);
      assert.throws(() => ks.acceptKeyChange(BOB), isKeystoreError("no_pending_change"));

      assert.equal(ks.observeFriendKeys(BOB, newKeys), "changed");
      const accepted = ks.acceptKeyChange(BOB);
      assert.equal(accepted.rsaPublicKey, OTHER_PUBLIC);
      assert.equal(accepted.identityKey, newKeys.identityKey);
      assert.equal(accepted.pendingKeyChange, null);
      assert.ok(accepted.pinnedAt >= added.pinnedAt);
      assert.equal(ks.friendKeysUsable(BOB), true);
      assert.equal(ks.observeFriendKeys(BOB, newKeys), "unchanged");

      assert.throws(() => ks.observeFriendKeys(CAROL, bob), isKeystoreError("not_found"));
      assert.throws(() => ks.acceptKeyChange(CAROL), isKeystoreError("not_found"));
      ks.addFriend(_friendInput(CAROL, "carol"));
      assert.deepEqual(ks.friends().map((x) => x.username), ["bob", "carol"]);
      assert.equal(ks.friendByName("carol")?.userId, CAROL);
      assert.equal(ks.friendByName("Carol"), null);
      assert.equal(ks.friend(99), null);
    });
  });

  test("friend keys: several per friend, one active for sending, old ones still readable", async () => {
    await withKeystore(async (ks, store) => {
      ks.addFriend(_friendInput(BOB, "bob"));
      const k1 = generateFernetKey();
      const k2 = generateFernetKey();
      assert.equal(ks.activeFriendKey(BOB), null);
      assert.equal(ks.addFriendKey(BOB, "k1", k1, { active: true, createdAt: 1 }), true);
      assert.equal(ks.addFriendKey(BOB, "k2", k2, { createdAt: 2 }), true);
      assert.equal(ks.activeFriendKey(BOB)?.kid, "k1");
      assert.equal(ks.friendKey(BOB, "k2")?.role, "old");

      ks.setActiveFriendKey(BOB, "k2");
      assert.deepEqual(ks.activeFriendKey(BOB), {
        friendId: BOB,
        kid: "k2",
        key: k2,
        createdAt: 2,
        role: "active",
      });
      assert.equal(ks.friendKey(BOB, "k1")?.key, k1);
      assert.equal(ks.friendKey(BOB, "k1")?.role, "old");
      assert.deepEqual(ks.friendKeys(BOB).map((k) => [k.kid, k.role]), [["k1", "old"], [
        "k2",
        "active",
      ]]);

      // A redelivered key message changes nothing, not even which key is active.
      assert.equal(ks.addFriendKey(BOB, "k1", k1, { active: true }), false);
      assert.equal(ks.activeFriendKey(BOB)?.kid, "k2");
      assert.throws(
        () => ks.addFriendKey(BOB, "k1", generateFernetKey()),
        isKeystoreError("conflict"),
      );
      assert.throws(() => ks.setActiveFriendKey(BOB, "k9"), isKeystoreError("not_found"));
      assert.throws(() => ks.addFriendKey(CAROL, "k1", k1), isKeystoreError("not_found"));
      assert.equal(ks.friendKey(BOB, "k9"), null);

      ks.close();
      const again = await store.open(PASSWORD);
      try {
        assert.equal(again.activeFriendKey(BOB)?.key, k2);
        assert.equal(again.friendKey(BOB, "k1")?.key, k1);
      } finally {
        again.close();
      }
    });
  });

  test("a sealed secret copied into another row is refused as corrupt", async () => {
    await withKeystore(async (ks, store) => {
      ks.addFriend(_friendInput(BOB, "bob"));
      ks.addFriend(_friendInput(CAROL, "carol"));
      ks.addFriendKey(BOB, "k1", generateFernetKey(), { active: true });
      ks.addFriendKey(CAROL, "k1", generateFernetKey(), { active: true });
      ks.close();
      store.raw((db) =>
        db.exec(`UPDATE friend_keys SET key_enc =
          (SELECT key_enc FROM friend_keys WHERE friend_id = ${CAROL}) WHERE friend_id = ${BOB}`)
      );
      const again = await store.open(PASSWORD);
      try {
        assert.throws(() => again.activeFriendKey(BOB), isKeystoreError("corrupt"));
        assert.ok(again.activeFriendKey(CAROL) !== null);
      } finally {
        again.close();
      }
    });
  });

  test("groups: epoch keys, set-once conflicts, ambiguous names, leaving keeps history", async () => {
    await withKeystore((ks) => {
      const g = ks.upsertGroup({
        groupId: 10,
        name: "team",
        adminId: ME,
        members: [CAROL, ME, BOB],
      });
      assert.deepEqual(g.members, [ME, BOB, CAROL]);
      assert.equal(g.epoch, null);
      assert.equal(g.isMember, true);
      assert.equal(ks.currentGroupKey(10), null);

      const e0 = generateFernetKey();
      const e1 = generateFernetKey();
      assert.equal(ks.addGroupKey(10, 0, e0), true);
      assert.equal(ks.addGroupKey(10, 1, e1), true);
      assert.equal(ks.addGroupKey(10, 1, e1), false);
      assert.throws(() => ks.addGroupKey(10, 1, generateFernetKey()), isKeystoreError("conflict"));
      assert.deepEqual(ks.currentGroupKey(10), { epoch: 1, key: e1 });
      assert.equal(ks.groupKey(10, 0), e0);
      assert.equal(ks.groupKey(10, 7), null);
      assert.equal(ks.group(10)?.epoch, 1);
      // A late key for an old epoch does not move the current one back.
      ks.upsertGroup({ groupId: 12, name: "late", adminId: BOB, members: [ME, BOB] });
      ks.addGroupKey(12, 3, generateFernetKey());
      ks.addGroupKey(12, 2, generateFernetKey());
      assert.equal(ks.currentGroupKey(12)?.epoch, 3);

      ks.upsertGroup({ groupId: 11, name: "team", adminId: BOB, members: [ME, BOB] });
      assert.deepEqual(ks.groupsByName("team").map((x) => x.groupId), [10, 11]);
      assert.deepEqual(ks.groupsByName("Team"), []);

      assert.deepEqual(ks.setGroupMembers(10, [ME, CAROL]).members, [ME, CAROL]);
      ks.addIncoming({
        msgId: 40,
        clientMsgId: null,
        kind: "group",
        peerId: 10,
        senderId: CAROL,
        text: "hello team",
        sentAt: 5,
      });

      ks.removeGroup(10);
      ks.removeGroup(10); // idempotent
      const left = ks.group(10)!;
      assert.equal(left.isMember, false);
      assert.ok(left.leftAt !== null);
      assert.deepEqual(left.members, [ME, CAROL]);
      assert.deepEqual(ks.groupsByName("team").map((x) => x.groupId), [11]);
      assert.deepEqual(ks.groupsByName("team", { includeLeft: true }).map((x) => x.groupId), [
        10,
        11,
      ]);
      assert.deepEqual(ks.groups().map((x) => x.groupId), [12, 11]);
      assert.equal(ks.groups({ includeLeft: true }).length, 3);
      assert.equal(ks.groupKey(10, 0), e0);
      assert.deepEqual(ks.history("group", 10).map((m) => m.text), ["hello team"]);

      // Being added again makes the user a member again.
      assert.equal(
        ks.upsertGroup({ groupId: 10, name: "team 2", adminId: ME, members: [ME] })
          .isMember,
        true,
      );
      assert.equal(ks.group(10)?.leftAt, null);

      assert.throws(() => ks.addGroupKey(99, 0, e0), isKeystoreError("not_found"));
      assert.throws(() => ks.setGroupMembers(99, [ME]), isKeystoreError("not_found"));
      assert.throws(() => ks.removeGroup(99), isKeystoreError("not_found"));
      assert.equal(ks.group(99), null);
    });
  });

  test("history: newest N in order, outgoing states, the offline queue, de-dup by msg_id", async () => {
    await withKeystore(async (ks, store) => {
      ks.addFriend(_friendInput(BOB, "bob"));
      const file: FileMeta = { name: "a.txt", path: null, size: 3, sha256: SHA };
      ks.addOutgoing({ clientMsgId: "c1", kind: "direct", peerId: BOB, text: "one", sentAt: 100 });
      ks.addOutgoing({ clientMsgId: "c2", kind: "direct", peerId: BOB, text: "two", sentAt: 300 });
      const incoming = {
        msgId: 7,
        clientMsgId: "b1",
        kind: "direct" as const,
        peerId: BOB,
        senderId: BOB,
        text: "",
        file,
        sentAt: 200,
        receivedAt: 250,
      };
      const stored = ks.addIncoming(incoming);
      assert.equal(stored?.direction, "in");
      assert.equal(stored?.state, null);
      assert.equal(ks.addIncoming(incoming), null, "the same msg_id is stored once");
      assert.equal(ks.addIncoming({ ...incoming, msgId: 8 }), null, "same sender client ID too");
      ks.addOutgoing({ clientMsgId: "g1", kind: "group", peerId: 10, text: "group", sentAt: 50 });

      assert.deepEqual(ks.history("direct", BOB).map((m) => m.text), ["one", "", "two"]);
      assert.deepEqual(ks.history("direct", BOB, 2).map((m) => m.sentAt), [200, 300]);
      const got = ks.history("direct", BOB, 2)[0]!;
      assert.deepEqual(got.file, file);
      assert.equal(got.receivedAt, 250);
      assert.equal(ks.history("direct", CAROL).length, 0);

      assert.deepEqual(ks.queued().map((m) => m.clientMsgId), ["c1", "c2", "g1"]);
      assert.equal(ks.markAccepted("c1", 20), true);
      assert.equal(ks.markAccepted("c1", 20), true, "idempotent");
      assert.throws(() => ks.markAccepted("c1", 21), isKeystoreError("conflict"));
      assert.throws(() => ks.markAccepted("c2", 20), isKeystoreError("conflict"));
      assert.throws(() => ks.markAccepted("c2", 7), isKeystoreError("conflict"));
      assert.equal(ks.markAccepted("nope", 30), false);
      assert.equal(ks.outgoing("c1")?.state, "accepted");
      assert.equal(ks.outgoing("c1")?.msgId, 20);
      assert.equal(ks.markDelivered(20), true);
      assert.equal(ks.markDelivered(7), false, "incoming messages have no delivery state");
      assert.equal(ks.markDelivered(999), false);
      assert.equal(ks.outgoing("c1")?.state, "delivered");
      assert.equal(ks.markFailed("c2"), true);
      assert.equal(ks.markFailed("c1"), false, "only queued messages can fail");
      assert.equal(ks.outgoing("c2")?.state, "failed");
      assert.deepEqual(ks.queued().map((m) => m.clientMsgId), ["g1"]);
      assert.deepEqual(ks.failed().map((m) => [m.clientMsgId, m.text]), [["c2", "two"]]);
      // Resending puts it back in the queue, once; only failed messages can be requeued.
      assert.equal(ks.markRequeued("c2"), true);
      assert.equal(ks.markRequeued("c2"), false);
      assert.equal(ks.markRequeued("c1"), false);
      assert.deepEqual(ks.queued().map((m) => m.clientMsgId), ["c2", "g1"]);
      assert.deepEqual(ks.failed(), []);
      assert.equal(ks.markFailed("c2"), true);
      assert.throws(
        () => ks.addOutgoing({ clientMsgId: "c1", kind: "direct", peerId: BOB, text: "x" }),
        isKeystoreError("conflict"),
      );

      assert.equal(ks.hasMessage(7), true);
      assert.equal(ks.hasMessage(20), true);
      assert.equal(ks.hasMessage(8), false);
      assert.equal(ks.lastSeenMsgId(), 8, "a duplicate delivery was still seen");
      ks.markSeen(12);
      assert.equal(ks.lastSeenMsgId(), 12);
      ks.markSeen(3);
      assert.equal(ks.lastSeenMsgId(), 12, "never moves back");

      ks.close();
      const again = await store.open(PASSWORD);
      try {
        assert.equal(again.hasMessage(7), true, "de-dup survives a restart");
        assert.equal(again.addIncoming(incoming), null);
        assert.equal(again.lastSeenMsgId(), 12);
        assert.deepEqual(again.history("direct", BOB).map((m) => m.state), [
          "delivered",
          null,
          "failed",
        ]);
      } finally {
        again.close();
      }
    });
  });

  test("changePassword() re-encrypts everything: the old password stops working", async () => {
    await withKeystore(async (ks, store, opts) => {
      ks.addFriend(_friendInput(BOB, "bob"));
      const key = generateFernetKey();
      ks.addFriendKey(BOB, "k1", key, { active: true });
      ks.upsertGroup({ groupId: 10, name: "team", adminId: ME, members: [ME, BOB] });
      ks.addGroupKey(10, 0, key);
      for (let i = 0; i < 600; i++) {
        ks.addOutgoing({ clientMsgId: `c${i}`, kind: "direct", peerId: BOB, text: `msg ${i}` });
      }
      await assert.rejects(
        ks.changePassword("wrong", "new password"),
        isKeystoreError("wrong_password"),
      );
      const oldTokens = store.raw((db) => [
        db.prepare("SELECT verifier FROM kdf").get()!["verifier"] as string,
        db.prepare("SELECT key_enc FROM friend_keys").get()!["key_enc"] as string,
        db.prepare("SELECT rsa_private_key_enc FROM account")
          .get()!["rsa_private_key_enc"] as string,
      ]);
      await ks.changePassword(PASSWORD, "new password", { scrypt: { N: 2 ** 11 } });
      assert.equal(ks.activeFriendKey(BOB)?.key, key, "still usable while open");
      // Tokens under the old password are gone from the stored bytes, not just unused.
      for (const bytes of store.bytes()) {
        for (const token of oldTokens) assert.ok(!contains(bytes, utf8(token)), "old token left");
      }
      ks.close();

      await assert.rejects(store.open(PASSWORD), isKeystoreError("wrong_password"));
      const again = await store.open("new password");
      try {
        assert.equal(again.activeFriendKey(BOB)?.key, key);
        assert.equal(again.groupKey(10, 0), key);
        assert.equal(again.account().rsaPrivateKey, RSA_PRIVATE);
        assert.equal(again.sessionToken(), opts.account.sessionToken);
        const h = again.history("direct", BOB, 600);
        assert.equal(h.length, 600);
        assert.equal(h.at(-1)?.text, "msg 599");
        const logN = store.raw((db) => db.prepare("SELECT log_n FROM kdf").get()!["log_n"]);
        assert.equal(logN, 11);
      } finally {
        again.close();
      }
    });
  });

  test("setSecret() seals the value at rest, and it survives a password change", async () => {
    await withKeystore(async (ks, store) => {
      const value = "a-files-key-that-must-not-be-readable-at-rest";
      assert.equal(ks.secret("files_key"), null);
      ks.setSecret("files_key", value);
      assert.equal(ks.secret("files_key"), value);
      assert.equal(ks.setting("files_key"), null, "not a plain setting");
      assert.throws(() => ks.setSetting("secret:files_key", "x"), RangeError);
      for (const bytes of store.bytes()) assert.ok(!contains(bytes, utf8(value)), "in clear");
      await ks.changePassword(PASSWORD, "new password", { scrypt: { N: 2 ** 11 } });
      ks.close();
      const again = await store.open("new password");
      try {
        assert.equal(again.secret("files_key"), value);
        again.setSecret("files_key", null);
        assert.equal(again.secret("files_key"), null);
      } finally {
        again.close();
      }
    });
  });

  test("bad inputs throw TypeError or RangeError and create nothing", async () => {
    const store = backend.store();
    try {
      const opts = keystoreOptions();
      const bad = async (o: unknown, type: typeof TypeError | typeof RangeError) => {
        await assert.rejects(store.create(o as CreateKeystoreOptions), type);
        assert.equal(store.exists(), false, "nothing was created");
      };
      const acct = opts.account;
      await bad({ ...opts, password: "" }, RangeError);
      await bad({ ...opts, password: 42 }, TypeError);
      await bad({ ...opts, password: "a\uD800b" }, TypeError);
      await bad({ ...opts, scrypt: { N: 2 ** 9 } }, RangeError);
      await bad({ ...opts, scrypt: { N: 1000 } }, RangeError);
      await bad({ ...opts, scrypt: { r: 1.5 } }, TypeError);
      await bad({ ...opts, account: { ...acct, userId: 0 } }, RangeError);
      await bad({ ...opts, account: { ...acct, username: "a b" } }, RangeError);
      await bad({ ...opts, account: { ...acct, rsaPublicKey: OTHER_PUBLIC } }, RangeError);
      await bad({ ...opts, account: { ...acct, rsaPrivateKey: "nope" } }, TypeError);
      await bad(
        { ...opts, account: { ...acct, identitySecretKey: generateIdentityKeyPair().secretKey } },
        RangeError,
      );
      await bad(
        { ...opts, account: { ...acct, identitySecretKey: new Uint8Array(31) } },
        RangeError,
      );
      await bad({ ...opts, account: { ...acct, sessionToken: "has space" } }, RangeError);
      (await store.create(opts)).close();
      await assert.rejects(store.open(""), RangeError);
    } finally {
      store.dispose();
    }

    await withKeystore((ks) => {
      ks.addFriend(_friendInput(BOB, "bob"));
      ks.upsertGroup({ groupId: 10, name: "team", adminId: ME, members: [ME] });
      const key = generateFernetKey();
      assert.throws(
        () => ks.addFriend({ ..._friendInput(CAROL, "carol"), rsaPublicKey: "x" }),
        TypeError,
      );
      assert.throws(
        () => ks.addFriend({ ..._friendInput(CAROL, "carol"), identityKey: "x" }),
        RangeError,
      );
      assert.throws(() => ks.friend(-1), RangeError);
      assert.throws(() => ks.friend("2" as unknown as number), TypeError);
      assert.throws(() => ks.addFriendKey(BOB, "bad kid!", key), RangeError);
      assert.throws(() => ks.addFriendKey(BOB, "k1", "not a key"), RangeError);
      assert.throws(
        () => ks.addFriendKey(BOB, "k1", key, { active: 1 as unknown as boolean }),
        TypeError,
      );
      assert.throws(() => ks.addGroupKey(10, -1, key), RangeError);
      assert.throws(() => ks.addGroupKey(10, 1.5, key), RangeError);
      assert.throws(
        () => ks.upsertGroup({ groupId: 11, name: "", adminId: ME, members: [] }),
        RangeError,
      );
      assert.throws(
        () => ks.upsertGroup({ groupId: 11, name: "x".repeat(65), adminId: ME, members: [] }),
        RangeError,
      );
      assert.throws(() => ks.setGroupMembers(10, [ME, ME]), RangeError);
      assert.throws(() => ks.setGroupMembers(10, "1,2" as unknown as number[]), TypeError);
      assert.throws(
        () => ks.groupsByName("team", { includeLeft: "yes" as unknown as boolean }),
        TypeError,
      );
      assert.throws(() => ks.history("direct", BOB, 0), RangeError);
      assert.throws(() => ks.history("direct", BOB, 10_001), RangeError);
      assert.throws(() => ks.history("dm" as "direct", BOB), TypeError);
      const out = { clientMsgId: "c1", kind: "direct" as const, peerId: BOB, text: "hi" };
      assert.throws(() => ks.addOutgoing({ ...out, text: "a\uDC00" }), TypeError);
      assert.throws(() => ks.addOutgoing({ ...out, clientMsgId: "" }), RangeError);
      assert.throws(() => ks.addOutgoing({ ...out, sentAt: -5 }), RangeError);
      assert.throws(
        () => ks.addOutgoing({ ...out, file: { ...out, sha256: "x" } as unknown as FileMeta }),
        TypeError,
      );
      const file = { name: "a.txt", path: null, size: 1, sha256: SHA };
      assert.throws(() => ks.addOutgoing({ ...out, file: { ...file, sha256: "ABC" } }), RangeError);
      assert.throws(() => ks.addOutgoing({ ...out, file: { ...file, name: "../a" } }), RangeError);
      assert.throws(() => ks.addOutgoing({ ...out, file: { ...file, size: -1 } }), RangeError);
      assert.throws(
        () =>
          ks.addIncoming({
            msgId: 1,
            clientMsgId: null,
            kind: "direct",
            peerId: BOB,
            senderId: CAROL,
            text: "",
            sentAt: 0,
          }),
        RangeError,
      );
      assert.throws(() => ks.setSessionToken(""), RangeError);
      assert.deepEqual(ks.queued(), [], "nothing was stored by the failed calls");
    });
  });
}

function _friendInput(userId: number, username: string, rsaPublicKey = RSA_PUBLIC) {
  return {
    userId,
    username,
    rsaPublicKey,
    identityKey: toBase64Url(generateIdentityKeyPair().publicKey, false),
  };
}
