/**
 * The client's part of linked devices (`core/client/engine/devices.ts`): an account becomes
 * its keystore's first device on a server that knows devices, logs in with that device's key
 * from then on, lists its devices, and unlinks another one, which the servers then log out
 * and refuse. Real `ChatClient`s with keystores on disk, on real chat server logic in this
 * process (`in_process_dialer.ts`).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ChatClient } from "../../core/client/engine/chat_client.ts";
import type { ClientEvent } from "../../core/client/engine/events.ts";
import { fileKeystore } from "../../core/client/deno/file_keystore.ts";
import { generateIdentityKeyPair, toBase64Url } from "../../core/crypto/mod.ts";
import {
  parseDeviceList,
  serializeDeviceList,
  signDeviceLogin,
  signNextDeviceList,
} from "../../core/e2e/mod.ts";
import { CLOSE_CODES, FEATURES, type ServerFrame } from "../../core/protocol/mod.ts";
import { MemoryFiles } from "../helpers/client_fakes.ts";
import { type FakeClient, InProcessCluster } from "../helpers/in_process.ts";
import { inProcessDialer } from "../helpers/in_process_dialer.ts";
import { untilValue } from "../helpers/wait.ts";

const _RSA = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);

type _Event<E extends ClientEvent["event"]> = Extract<ClientEvent, { event: E }>;

/** A client of `user` with the features given, and what it emitted. */
async function _client(
  cluster: InProcessCluster,
  dir: string,
  user: string,
  features: readonly string[],
  keyCheckMs = 0,
) {
  const events: ClientEvent[] = [];
  const client = new ChatClient({
    balancerUrls: "http://unused.invalid",
    username: user,
    password: `pw of ${user}`,
    emit: (e) => void events.push(e),
    keystoreScryptN: 1024,
    dialer: inProcessDialer(cluster, 1, { features }),
    keystore: fileKeystore(join(dir, user)),
    files: new MemoryFiles(),
    saveDir: join(dir, user, "files"),
    deviceName: "laptop",
    keyCheckMs,
  });
  await client.start();
  const next = <E extends ClientEvent["event"]>(event: E, after: number) =>
    untilValue(
      () => events.slice(after).find((e): e is _Event<E> => e.event === event),
      `a ${event} event; got ${JSON.stringify(events)}`,
      5_000,
    );
  return { client, events, next };
}

/** Logs device `deviceId` of `userId` in with `secret` on a raw connection. */
async function _rawDeviceLogin(
  c: InProcessCluster,
  userId: number,
  deviceId: number,
  secret: Uint8Array,
): Promise<{ conn: FakeClient; answer: ServerFrame }> {
  const conn = c.connect(1);
  const ch = await conn.request({ type: "device_challenge", ref: 0 });
  const nonce = (ch as { nonce: string }).nonce;
  const answer = await conn.request({
    type: "login_device",
    ref: 0,
    user_id: userId,
    device_id: deviceId,
    signature: signDeviceLogin(secret, nonce, userId, deviceId),
  });
  return { conn, answer };
}

/**
 * Adds a device "tablet" to `dir`'s alice as a link would (a list signed by her device 1,
 * published on a connection of device 1); returns its keys, that list and that connection.
 */
async function _addTablet(c: InProcessCluster, dir: string, userId: number) {
  const ks = await fileKeystore(join(dir, "alice")).open("pw of alice");
  const me = ks!.deviceIdentity()!;
  const head = parseDeviceList(ks!.deviceList(ks!.userId)!.body);
  ks!.close();
  const tablet = generateIdentityKeyPair();
  const list = signNextDeviceList(head, {
    add: { name: "tablet", sign: toBase64Url(tablet.publicKey, false), rsa: _RSA },
  }, { deviceId: 1, secretKey: me.signSecretKey });
  const one = await _rawDeviceLogin(c, userId, 1, me.signSecretKey);
  assert.equal(one.answer.type, "logged_in");
  const stored = await one.conn.request({
    type: "publish_device_list",
    ref: 0,
    list: serializeDeviceList(list),
  });
  assert.equal(stored.type, "device_list_stored", JSON.stringify(stored));
  return { tablet, list, one };
}

Deno.test("a client becomes its account's first device, logs in with its key, and lists its devices", async () => {
  const c = await InProcessCluster.start(1);
  const dir = await Deno.makeTempDir({ prefix: "fastchat_client_devices_" });
  try {
    let alice = await _client(c, dir, "alice", [FEATURES.devices]);
    await alice.client.run({ name: "devices" });
    const listed = await alice.next("devices", 0);
    assert.equal(listed.version, 1);
    assert.deepEqual(listed.devices.map((d) => [d.id, d.name, d.current]), [[1, "laptop", true]]);
    const id = alice.client.userId;
    await alice.client.close();
    // The password alone no longer logs the account in.
    const raw = await c.connect(1).request({
      type: "login",
      ref: 0,
      username: "alice",
      password: "pw of alice",
    });
    assert.equal(raw.type === "error" && raw.code, "device_required");
    // The keystore's session is forgotten: the client logs in with the device key.
    const ks = await fileKeystore(join(dir, "alice")).open("pw of alice");
    ks!.setSessionToken(null);
    ks!.close();
    alice = await _client(c, dir, "alice", [FEATURES.devices]);
    assert.equal(alice.client.userId, id);
    assert.equal(
      alice.events.filter((e) => e.event === "error").length,
      0,
      JSON.stringify(alice.events),
    );
    await alice.client.close();
  } finally {
    await c.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unlink removes another device: the servers log it out and refuse it from then on", async () => {
  const c = await InProcessCluster.start(1);
  const dir = await Deno.makeTempDir({ prefix: "fastchat_client_devices_" });
  try {
    const alice = await _client(c, dir, "alice", [FEATURES.devices]);
    await alice.client.run({ name: "devices" });
    await alice.next("devices", 0);
    // A second device, added as a link would add it (signed by device 1).
    const { tablet } = await _addTablet(c, dir, alice.client.userId);
    const two = await _rawDeviceLogin(c, alice.client.userId, 2, tablet.secretKey);
    assert.equal(two.answer.type, "logged_in");

    const before = alice.events.length;
    await alice.client.run({ name: "devices" });
    const both = await alice.next("devices", before);
    assert.deepEqual(both.devices.map((d) => [d.name, d.current]), [["laptop", true], [
      "tablet",
      false,
    ]]);
    await alice.client.run({ name: "unlink", device: "laptop" });
    const self = await alice.next("error", before);
    assert.match(self.message, /"laptop" is this device/);
    await alice.client.run({ name: "unlink", device: "phone" });
    assert.match(
      (await alice.next("error", alice.events.indexOf(self) + 1)).message,
      /No device is named "phone"/,
    );
    await alice.client.run({ name: "unlink", device: "tablet" });
    const gone = await alice.next("device_unlinked", before);
    assert.deepEqual([gone.id, gone.name], [2, "tablet"]);
    await untilValue(
      () => two.conn.closedWith ?? undefined,
      "the tablet's connection to close",
      5_000,
    );
    assert.equal(two.conn.closedWith?.code, CLOSE_CODES.sessionEnded);
    const again = await _rawDeviceLogin(c, alice.client.userId, 2, tablet.secretKey);
    assert.equal(again.answer.type === "error" && again.answer.code, "auth_failed");
    await alice.client.close();
  } finally {
    await c.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an account from before devices stays a password account, then becomes a device keeping what it had", async () => {
  const c = await InProcessCluster.start(1);
  const dir = await Deno.makeTempDir({ prefix: "fastchat_client_devices_" });
  try {
    const bob = await _client(c, dir, "bob", []);
    await bob.client.run({ name: "create_group", group: "solo", users: [] });
    await bob.next("group", 0);
    await bob.client.close();
    const raw = await c.connect(1).request({
      type: "login",
      ref: 0,
      username: "bob",
      password: "pw of bob",
    });
    assert.equal(raw.type, "logged_in");
    const ks = await fileKeystore(join(dir, "bob")).open("pw of bob");
    assert.equal(ks!.deviceIdentity(), null);
    ks!.close();
    // On a server that offers devices, the same keystore becomes the account's device 1 and
    // keeps its groups.
    const again = await _client(c, dir, "bob", [FEATURES.devices]);
    await again.client.run({ name: "devices" });
    assert.deepEqual((await again.next("devices", 0)).devices.map((d) => d.id), [1]);
    await again.client.run({ name: "groups" });
    assert.deepEqual((await again.next("groups", 0)).groups.map((g) => g.name), ["solo"]);
    await again.client.close();
  } finally {
    await c.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("contacts are told quietly when someone links a device, and loudly when the server forges or rolls back a list", async () => {
  const c = await InProcessCluster.start(1);
  const dir = await Deno.makeTempDir({ prefix: "fastchat_client_devices_" });
  try {
    const alice = await _client(c, dir, "alice", [FEATURES.devices], 30);
    const bob = await _client(c, dir, "bob", [FEATURES.devices], 30);
    await bob.client.run({ name: "add_friend", user: "alice" });
    await bob.client.run({ name: "verify", user: "alice" });
    // bob's checks pin alice's list as it is now (nothing to tell the first time).
    await untilValue(
      () => _pinned(dir, "bob", alice.client.userId),
      "bob to pin alice's list",
      5_000,
    );
    const { tablet, list: v2 } = await _addTablet(c, dir, alice.client.userId);
    const told = await bob.next("device_linked", 0);
    assert.deepEqual([told.user, told.device, told.own], ["alice", "tablet", false]);
    assert.equal(told.message, "alice linked a new device: tablet");
    // The safety number covers the account, not its devices: bob's verified mark stays.
    const marked = bob.events.length;
    await bob.client.run({ name: "friends" });
    const friends = await bob.next("friends", marked);
    assert.equal(friends.friends.find((f) => f.user === "alice")?.verified, true);
    // alice's own client did not add it: she is told loudly.
    const own = await alice.next("device_linked", 0);
    assert.equal(own.own, true);
    assert.match(
      own.message,
      /A new device was linked to your account: tablet\. If that was not you, run "unlink tablet"/,
    );

    // The database now shows a version 3 that adds a device no device of alice signed.
    const evil = generateIdentityKeyPair();
    const forged = signNextDeviceList(v2, {
      add: { name: "evil", sign: toBase64Url(evil.publicKey, false), rsa: _RSA },
    }, { deviceId: 2, secretKey: tablet.secretKey });
    const tampered = JSON.parse(serializeDeviceList(forged));
    tampered.by = 1; // claims device 1 signed it
    _sql(
      c,
      "INSERT INTO device_lists (user_id, version, prev_hash, hash, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      [
        alice.client.userId,
        3,
        tampered.prev,
        "A".repeat(43),
        JSON.stringify(tampered),
        Date.now(),
      ],
    );
    for (const u of [alice, bob]) {
      const warned = await u.next("device_list_invalid", 0);
      assert.equal(warned.user, "alice");
      assert.match(
        warned.message,
        /^WARNING: the server shows (your|alice's) list of devices in a form that does not check/,
      );
    }
    // Then it rolls back to version 1: seen before, so it does not check either.
    _sql(c, "DELETE FROM device_lists WHERE user_id = ? AND version > 1", [alice.client.userId]);
    await untilValue(
      () => bob.events.filter((e) => e.event === "device_list_invalid").length >= 2 || undefined,
      "bob to be warned of the rollback",
      5_000,
    );
    const last = bob.events.filter((e) => e.event === "device_list_invalid").at(-1)!;
    assert.match((last as { message: string }).message, /older than version 2 seen before/);
    // What bob pinned stays the real version 2.
    await bob.client.close();
    assert.equal(_pinned(dir, "bob", alice.client.userId)?.version, 2);
    await alice.client.close();
  } finally {
    await c.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs SQL on the servers' database, as a hostile server (or whoever owns it) could. */
function _sql(c: InProcessCluster, sql: string, args: (string | number)[]): void {
  const db = new DatabaseSync(c.dbPath);
  try {
    db.prepare(sql).run(...args);
  } finally {
    db.close();
  }
}

/** What `user`'s keystore pinned for `userId`'s devices (opened on its own, read-only use). */
function _pinned(dir: string, user: string, userId: number) {
  const db = new DatabaseSync(join(dir, user, "keystore.db"));
  try {
    const row = db.prepare("SELECT version FROM device_lists WHERE user_id = ?").get(userId) as
      | { version: number }
      | undefined;
    return row;
  } finally {
    db.close();
  }
}
