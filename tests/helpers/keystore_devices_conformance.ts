/**
 * The keystore's linked-devices suite (docs/CRYPTO.md, issue 21), run on every storage
 * backend: this device's own keys (sealed at rest, each secret under its own context,
 * resealed by a password change), the device lists pinned per user (never going back: a
 * rollback or a fork is refused), input checks, and the schema migration that added them
 * (a version-3 keystore made by the previous FastChat opens with nothing lost).
 * scrypt runs with N = 2^10.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type DeviceIdentity,
  type Keystore,
  KEYSTORE_SCHEMA_VERSION,
  type PinnedDeviceList,
} from "../../core/keystore/keystore.ts";
import { KeystoreCipher } from "../../core/keystore/keystore_cipher.ts";
import {
  DEVICE_RSA_PRIVATE_KEY_CONTEXT,
  DEVICE_SIGN_SECRET_CONTEXT,
} from "../../core/keystore/keystore_context.ts";
import { generateIdentityKeyPair, randomBytes, toBase64Url, utf8 } from "../../core/crypto/mod.ts";
import type { KeystoreBackend, KeystoreStore } from "./keystore_backends.ts";
import {
  contains,
  isKeystoreError,
  keystoreOptions,
  PASSWORD,
  RSA_PRIVATE,
  RSA_PUBLIC,
} from "./keystore_conformance.ts";

const RSA_DIR = new URL("../testdata/rsa/", import.meta.url);
/** The device's RSA key pair: not the account's, so finding one is not finding the other. */
const DEVICE_RSA_PRIVATE = Deno.readTextFileSync(
  new URL("rsa1024_pkcs8_private.pem", RSA_DIR),
);
const DEVICE_RSA_PUBLIC = Deno.readTextFileSync(new URL("rsa1024_spki_public.pem", RSA_DIR));
const DEVICE_RSA_PUBLIC_PKCS1 = Deno.readTextFileSync(
  new URL("rsa1024_pkcs1_public.pem", RSA_DIR),
);

/**
 * The version 3 keystore as an SQL dump (the bytes a version 3 client wrote, kept as text
 * rather than as a binary file); see tests/testdata/keystore/README.md.
 */
const V3_KEYSTORE_SQL = Deno.readTextFileSync(
  new URL("../testdata/keystore/v3.sql", import.meta.url),
);
const V3_PASSWORD = "correct horse battery staple";

const ME = 1;
const BOB = 2;
const CAROL = 3;

/** A new device identity with fresh signing keys and the test device RSA pair. */
function _device(name = "laptop", deviceId: number | null = null): DeviceIdentity {
  const sign = generateIdentityKeyPair();
  return {
    deviceId,
    name,
    signPublicKey: toBase64Url(sign.publicKey, false),
    signSecretKey: sign.secretKey,
    rsaPublicKey: DEVICE_RSA_PUBLIC,
    rsaPrivateKey: DEVICE_RSA_PRIVATE,
  };
}

/** A pinned list of `version` for `user`, with a random hash unless given. */
function _list(user: number, version: number, hash?: string): PinnedDeviceList {
  return {
    version,
    hash: hash ?? toBase64Url(randomBytes(32), false),
    body: JSON.stringify({ v: 1, t: "device_list", user, version, devices: [] }),
    checkedAt: 1000 + version,
  };
}

/** Registers the suite's tests for `backend`. */
export function keystoreDevicesConformance(backend: KeystoreBackend): void {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`Keystore (${backend.name}): ${name}`, fn);

  /** Runs `fn` with a fresh keystore, closing it and removing its store afterwards. */
  const withKeystore = async (
    fn: (ks: Keystore, store: KeystoreStore) => Promise<void> | void,
  ) => {
    const store = backend.store();
    try {
      const ks = await store.create(keystoreOptions());
      try {
        await fn(ks, store);
      } finally {
        ks.close();
      }
    } finally {
      store.dispose();
    }
  };

  const version = (store: KeystoreStore): unknown =>
    store.raw((db) => db.prepare("PRAGMA user_version").get()?.["user_version"]);

  test("deviceIdentity() is null until set, round-trips, and setDeviceId() names it later", async () => {
    await withKeystore(async (ks, store) => {
      assert.equal(ks.deviceIdentity(), null);
      assert.throws(() => ks.setDeviceId(1), isKeystoreError("not_found"));

      const device = _device("ada's laptop");
      // Keys spelled differently (padded base64, PKCS#1 PEM) are stored normalized.
      ks.setDeviceIdentity({
        ...device,
        signPublicKey: `${device.signPublicKey}=`,
        rsaPublicKey: DEVICE_RSA_PUBLIC_PKCS1,
      });
      assert.deepEqual(ks.deviceIdentity(), device);
      const copy = ks.deviceIdentity()!.signSecretKey;
      copy.fill(0);
      assert.deepEqual(ks.deviceIdentity()!.signSecretKey, device.signSecretKey, "a fresh copy");

      ks.setDeviceId(3);
      assert.deepEqual(ks.deviceIdentity(), { ...device, deviceId: 3 });

      ks.close();
      const again = await store.open(PASSWORD);
      try {
        assert.deepEqual(again.deviceIdentity(), { ...device, deviceId: 3 });
        // Setting it again replaces all of it.
        const next = _device("ada's desktop", 5);
        again.setDeviceIdentity(next);
        assert.deepEqual(again.deviceIdentity(), next);
        // The account's own keys are not touched.
        assert.equal(again.account().rsaPrivateKey, RSA_PRIVATE);
      } finally {
        again.close();
      }
    });
  });

  test("the device's secret keys are sealed at rest, each under its own context", async () => {
    await withKeystore(async (ks, store) => {
      const device = _device("device-name-in-clear");
      ks.setDeviceIdentity(device);
      const pemBody = DEVICE_RSA_PRIVATE.split("\n").filter((l) => l && !l.startsWith("-----"));
      const secrets: [string, Uint8Array][] = [
        ["signing secret (raw)", device.signSecretKey],
        ["signing secret (base64)", utf8(toBase64Url(device.signSecretKey, false))],
        ["RSA private PEM line 2", utf8(pemBody[1]!)],
        ["RSA private PEM last line", utf8(pemBody.at(-1)!)],
      ];
      const scan = () => {
        const stored = store.bytes();
        // The scan itself works: public parts are there in the clear.
        assert.ok(stored.some((b) => contains(b, utf8("device-name-in-clear"))), "no name");
        assert.ok(stored.some((b) => contains(b, utf8(device.signPublicKey))), "no public key");
        for (const [what, bytes] of secrets) {
          for (const b of stored) assert.ok(!contains(b, bytes), `${what} found in plaintext`);
        }
      };
      scan();
      ks.close();
      scan();

      // A sealed secret moved to another place is refused: the signing secret where the
      // RSA key belongs, and the account's identity secret where the device's belongs.
      store.raw((db) =>
        db.exec("UPDATE device_identity SET rsa_private_key_enc = sign_secret_key_enc")
      );
      let again = await store.open(PASSWORD);
      try {
        assert.throws(() => again.deviceIdentity(), isKeystoreError("corrupt"));
        again.setDeviceIdentity(device);
      } finally {
        again.close();
      }
      store.raw((db) =>
        db.exec(`UPDATE device_identity SET sign_secret_key_enc =
          (SELECT identity_secret_key_enc FROM account)`)
      );
      again = await store.open(PASSWORD);
      try {
        assert.throws(() => again.deviceIdentity(), isKeystoreError("corrupt"));
        assert.ok(again.account().identitySecretKey.length === 32, "the account is intact");
      } finally {
        again.close();
      }
    });
  });

  test("changePassword() reseals the device's secrets: unreadable under the old password", async () => {
    await withKeystore(async (ks, store) => {
      const device = _device("laptop", 1);
      ks.setDeviceIdentity(device);
      const readRow = () =>
        store.raw((db) => {
          const kdf = db.prepare("SELECT salt, log_n, r, p FROM kdf").get()!;
          const row = db.prepare("SELECT * FROM device_identity").get()!;
          return {
            salt: new Uint8Array(kdf["salt"] as Uint8Array),
            params: { N: 2 ** (kdf["log_n"] as number), r: kdf["r"] as number, p: 1 },
            sign: row["sign_secret_key_enc"] as string,
            rsa: row["rsa_private_key_enc"] as string,
          };
        });
      const before = readRow();
      await ks.changePassword(PASSWORD, "new password", { scrypt: { N: 2 ** 11 } });
      assert.deepEqual(ks.deviceIdentity(), device, "still usable while open");
      const after = readRow();

      // The old tokens are gone from the stored bytes, and the old password's key opens
      // none of the new ones.
      for (const bytes of store.bytes()) {
        assert.ok(!contains(bytes, utf8(before.sign)), "old signing token left");
        assert.ok(!contains(bytes, utf8(before.rsa)), "old RSA token left");
      }
      const old = await KeystoreCipher.derive(PASSWORD, before.salt, before.params);
      assert.equal(old.open(DEVICE_SIGN_SECRET_CONTEXT, before.sign).length, 43, "control");
      assert.throws(
        () => old.open(DEVICE_SIGN_SECRET_CONTEXT, after.sign),
        isKeystoreError("corrupt"),
      );
      assert.throws(
        () => old.open(DEVICE_RSA_PRIVATE_KEY_CONTEXT, after.rsa),
        isKeystoreError("corrupt"),
      );
      ks.close();

      await assert.rejects(store.open(PASSWORD), isKeystoreError("wrong_password"));
      const again = await store.open("new password");
      try {
        assert.deepEqual(again.deviceIdentity(), device);
      } finally {
        again.close();
      }
    });
  });

  test("pinDeviceList() pins per user, moves forward, and refuses a rollback or a fork", async () => {
    await withKeystore(async (ks, store) => {
      assert.equal(ks.deviceList(ME), null);
      assert.equal(ks.deviceList(BOB), null);
      const own1 = _list(ME, 1);
      const bob1 = _list(BOB, 1);
      ks.pinDeviceList(ME, own1);
      ks.pinDeviceList(BOB, bob1);
      assert.deepEqual(ks.deviceList(ME), own1);
      assert.deepEqual(ks.deviceList(BOB), bob1);

      // The same version and hash again is a no-op, even with a later check time.
      ks.pinDeviceList(BOB, { ...bob1, checkedAt: 9999 });
      assert.deepEqual(ks.deviceList(BOB), bob1);

      const bob3 = _list(BOB, 3);
      ks.pinDeviceList(BOB, bob3);
      assert.deepEqual(ks.deviceList(BOB), bob3);
      assert.throws(() => ks.pinDeviceList(BOB, bob1), isKeystoreError("device_list_rollback"));
      assert.throws(
        () => ks.pinDeviceList(BOB, _list(BOB, 2)),
        (err: unknown) =>
          isKeystoreError("device_list_rollback")(err) && /version 3/.test(String(err)),
      );
      assert.throws(
        () => ks.pinDeviceList(BOB, _list(BOB, 3)),
        isKeystoreError("device_list_fork"),
      );
      assert.deepEqual(ks.deviceList(BOB), bob3, "a refused list changes nothing");
      assert.deepEqual(ks.deviceList(ME), own1, "each user has their own list");
      assert.equal(ks.deviceList(CAROL), null);

      ks.close();
      const again = await store.open(PASSWORD);
      try {
        // Refusals hold across a restart.
        assert.deepEqual(again.deviceList(BOB), bob3);
        assert.throws(
          () => again.pinDeviceList(BOB, bob1),
          isKeystoreError("device_list_rollback"),
        );
        const bob4 = _list(BOB, 4);
        again.pinDeviceList(BOB, bob4);
        assert.deepEqual(again.deviceList(BOB), bob4);
      } finally {
        again.close();
      }
    });
  });

  test("bad device inputs throw TypeError or RangeError and write nothing", async () => {
    await withKeystore((ks) => {
      const device = _device();
      const bad = (d: unknown, type: typeof TypeError | typeof RangeError) =>
        assert.throws(() => ks.setDeviceIdentity(d as DeviceIdentity), type);
      bad(null, TypeError);
      bad({ ...device, deviceId: 0 }, RangeError);
      bad({ ...device, deviceId: 1.5 }, RangeError);
      bad({ ...device, deviceId: "1" }, TypeError);
      bad({ ...device, deviceId: undefined }, TypeError);
      bad({ ...device, name: "" }, RangeError);
      bad({ ...device, name: "x".repeat(65) }, RangeError);
      bad({ ...device, name: "two\nlines" }, RangeError);
      bad({ ...device, name: "bell\u0007" }, RangeError);
      bad({ ...device, name: "c1\u0085" }, RangeError);
      bad({ ...device, name: "a\uD800" }, TypeError);
      bad({ ...device, name: 7 }, TypeError);
      bad({ ...device, signPublicKey: "x" }, RangeError);
      bad({ ...device, signSecretKey: generateIdentityKeyPair().secretKey }, RangeError);
      bad({ ...device, signSecretKey: new Uint8Array(31) }, RangeError);
      bad({ ...device, signSecretKey: toBase64Url(device.signSecretKey) }, TypeError);
      bad({ ...device, rsaPublicKey: "x" }, TypeError);
      bad({ ...device, rsaPrivateKey: RSA_PRIVATE }, RangeError);
      bad({ ...device, rsaPrivateKey: "nope" }, TypeError);
      assert.equal(ks.deviceIdentity(), null, "nothing was stored by the failed calls");
      assert.throws(() => ks.setDeviceId(0), RangeError);
      // 64 characters, not ASCII, is a name.
      ks.setDeviceIdentity({ ...device, name: "é".repeat(64) });
      assert.equal(ks.deviceIdentity()?.name, "é".repeat(64));

      const list = _list(BOB, 1);
      const badList = (userId: unknown, l: unknown, type: typeof TypeError | typeof RangeError) =>
        assert.throws(() => ks.pinDeviceList(userId as number, l as PinnedDeviceList), type);
      badList(0, list, RangeError);
      badList("2", list, TypeError);
      badList(BOB, null, TypeError);
      badList(BOB, { ...list, version: 0 }, RangeError);
      badList(BOB, { ...list, version: 1.5 }, RangeError);
      badList(BOB, { ...list, hash: list.hash.slice(1) }, RangeError);
      badList(BOB, { ...list, hash: `${list.hash}=` }, RangeError);
      badList(BOB, { ...list, hash: "+".repeat(43) }, RangeError);
      badList(BOB, { ...list, hash: 42 }, TypeError);
      badList(BOB, { ...list, body: "" }, RangeError);
      badList(BOB, { ...list, body: null }, TypeError);
      badList(BOB, { ...list, body: "a\uDC00" }, TypeError);
      // 64 KiB counts UTF-8 bytes: 32769 two-byte characters are too many.
      badList(BOB, { ...list, body: "é".repeat(32 * 1024 + 1) }, RangeError);
      badList(BOB, { ...list, checkedAt: -1 }, RangeError);
      assert.throws(() => ks.deviceList(0), RangeError);
      assert.equal(ks.deviceList(BOB), null, "nothing was pinned by the failed calls");
      const biggest = { ...list, body: "x".repeat(64 * 1024) };
      ks.pinDeviceList(BOB, biggest);
      assert.deepEqual(ks.deviceList(BOB), biggest);
    });
  });

  test("open migrates a version 3 keystore: nothing is lost, and devices start empty", async () => {
    const store = backend.store();
    try {
      store.load(V3_KEYSTORE_SQL);
      assert.equal(version(store), 3);
      // A wrong password changes nothing, not even the version.
      await assert.rejects(store.open("not the password"), isKeystoreError("wrong_password"));
      assert.equal(version(store), 3);

      const ks = await store.open(V3_PASSWORD);
      try {
        const account = ks.account();
        assert.equal(account.username, "ada");
        assert.equal(account.rsaPrivateKey, RSA_PRIVATE);
        assert.equal(account.rsaPublicKey, RSA_PUBLIC);
        assert.equal(account.sessionToken, "session-token-of-version-3");
        assert.deepEqual(
          ks.friends().map((f) => [f.username, f.contact, f.verifiedAt !== null]),
          [["bob", true, true], ["carol", false, false]],
        );
        assert.ok(ks.activeFriendKey(BOB), "shared keys are kept");
        assert.equal(ks.currentGroupKey(5)?.epoch, 1, "group keys are kept");
        assert.equal(ks.groupInvite(6)?.byName, "carol");
        assert.deepEqual(ks.history("direct", BOB).map((m) => m.text), ["hello from version 3"]);
        assert.equal(ks.request(CAROL)?.preview, "hi ada, it is carol");
        assert.deepEqual(ks.requestMessages(CAROL).map((m) => m.frame), [
          '{"t":"msg","msg_id":11}',
        ]);
        assert.equal(ks.blocked(4)?.username, "dave");
        assert.equal(ks.setting("file_limit_bytes"), "1000");
        assert.equal(ks.secret("files_key"), "files-key-of-version-3");
        assert.equal(ks.lastSeenMsgId(), 11);
        // Nothing of linked devices yet; they work on the migrated keystore.
        assert.equal(ks.deviceIdentity(), null);
        assert.equal(ks.deviceList(ME), null);
        ks.setDeviceIdentity(_device("terminal", 1));
        ks.pinDeviceList(ME, _list(ME, 1));
      } finally {
        ks.close();
      }
      assert.equal(version(store), KEYSTORE_SCHEMA_VERSION);
      const again = await store.open(V3_PASSWORD);
      try {
        assert.equal(again.deviceIdentity()?.name, "terminal");
        assert.equal(again.deviceList(ME)?.version, 1);
        assert.equal(again.activeFriendKey(BOB) !== null, true);
      } finally {
        again.close();
      }
    } finally {
      store.dispose();
    }
  });

  test("a new keystore has the same tables as one migrated from version 3", async () => {
    const migrated = backend.store();
    try {
      migrated.load(V3_KEYSTORE_SQL);
      (await migrated.open(V3_PASSWORD)).close();
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
}
