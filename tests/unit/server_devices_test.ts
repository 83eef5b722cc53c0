/**
 * The servers' part of linked devices (docs/PROTOCOL.md "Devices"): storing and serving each
 * account's chain of signed device lists, logging devices in with their keys, ending a
 * removed device's sessions on every server, and the link slots a new device meets an old
 * one in. In process: real servers on one SQLite store, fake connections.
 *
 * @module
 */

import assert from "node:assert/strict";
import { generateIdentityKeyPair, toBase64Url } from "../../core/crypto/mod.ts";
import {
  type DeviceList,
  parseDeviceList,
  serializeDeviceList,
  signDeviceLogin,
  signFirstDeviceList,
  signNextDeviceList,
} from "../../core/e2e/mod.ts";
import { CLOSE_CODES, LIMITS, type ServerFrame } from "../../core/protocol/mod.ts";
import { FakeClock } from "../helpers/fake_clock.ts";
import { type FakeClient, InProcessCluster } from "../helpers/in_process.ts";

const _RSA = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);
const _PASSWORD = "correct horse 1";

type _Keys = ReturnType<typeof generateIdentityKeyPair>;

/** An account whose identity secret the test holds, and its devices' keys by device ID. */
interface _Account {
  readonly id: number;
  readonly identity: _Keys;
  readonly devices: Map<number, _Keys>;
  readonly client: FakeClient;
}

async function _register(c: InProcessCluster, server: number, username: string) {
  const identity = generateIdentityKeyPair();
  const client = c.connect(server);
  const reg = await client.request({
    type: "register",
    ref: 0,
    username,
    password: _PASSWORD,
    rsa_public_key: _RSA,
    identity_key: toBase64Url(identity.publicKey, false),
  });
  assert.equal(reg.type, "registered", JSON.stringify(reg));
  await client.waitFor((f) => f.type === "synced");
  const id = (reg as { user_id: number }).user_id;
  return { id, identity, devices: new Map<number, _Keys>(), client } satisfies _Account;
}

const _device = (name: string, keys: _Keys) => ({
  name,
  sign: toBase64Url(keys.publicKey, false),
  rsa: _RSA,
});

/** Publishes the account's first list (device 1) from its password connection. */
async function _firstList(a: _Account, now = Date.now()): Promise<DeviceList> {
  const keys = generateIdentityKeyPair();
  const list = signFirstDeviceList({
    user: a.id,
    device: _device("terminal", keys),
    accountSecretKey: a.identity.secretKey,
    now,
  });
  const answer = await a.client.request({
    type: "publish_device_list",
    ref: 0,
    list: serializeDeviceList(list),
  });
  assert.equal(answer.type, "device_list_stored", JSON.stringify(answer));
  a.devices.set(1, keys);
  return list;
}

/** Logs device `deviceId` of `a` in on a new connection to `server`. */
async function _loginDevice(
  c: InProcessCluster,
  server: number,
  a: _Account,
  deviceId: number,
  keys = a.devices.get(deviceId)!,
): Promise<{ client: FakeClient; answer: ServerFrame }> {
  const client = c.connect(server);
  const challenge = await client.request({ type: "device_challenge", ref: 0 });
  assert.equal(challenge.type, "challenge");
  const nonce = (challenge as { nonce: string }).nonce;
  const answer = await client.request({
    type: "login_device",
    ref: 0,
    user_id: a.id,
    device_id: deviceId,
    signature: signDeviceLogin(keys.secretKey, nonce, a.id, deviceId),
  });
  if (answer.type === "logged_in") await client.waitFor((f) => f.type === "synced");
  return { client, answer };
}

const _code = (f: ServerFrame) => f.type === "error" ? f.code : f.type;

Deno.test("the first device list ends the account's password sessions and binds its connection to device 1", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await _register(c, 1, "alice");
    const other = await c.login(2, "alice");
    const first = signFirstDeviceList({
      user: alice.id,
      device: _device("terminal", generateIdentityKeyPair()),
      accountSecretKey: alice.identity.secretKey,
      now: Date.now(),
    });
    const stored = await alice.client.request({
      type: "publish_device_list",
      ref: 0,
      list: serializeDeviceList(first),
    });
    assert.equal(stored.type, "device_list_stored");
    const token = (stored as { session_token?: string }).session_token;
    assert.match(token ?? "", LIMITS.sessionTokenPattern);
    // The other password connection, on the other server, is logged out.
    await c.network.settled();
    assert.equal(other.closedWith?.code, CLOSE_CODES.sessionEnded);
    assert.equal(alice.client.open, true, "the publishing connection stays");
    // The password alone no longer logs in; the new device session resumes.
    const login = await c.connect(1).request({
      type: "login",
      ref: 0,
      username: "alice",
      password: _PASSWORD,
    });
    assert.equal(_code(login), "device_required");
    const resumed = await c.connect(2).request({ type: "resume", ref: 0, session_token: token! });
    assert.equal(resumed.type, "logged_in");
  } finally {
    await c.stop();
  }
});

Deno.test("login_device admits a listed device with its key, and refuses an unlisted one, a wrong key and a reused nonce", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await _register(c, 1, "alice");
    await _firstList(alice);
    const ok = await _loginDevice(c, 1, alice, 1);
    assert.equal(ok.answer.type, "logged_in");
    assert.equal(
      _code((await _loginDevice(c, 1, alice, 2, alice.devices.get(1))).answer),
      "auth_failed",
    );
    assert.equal(
      _code((await _loginDevice(c, 1, alice, 1, generateIdentityKeyPair())).answer),
      "auth_failed",
    );
    // Without a challenge on this connection (a nonce serves one attempt).
    const conn = c.connect(1);
    const ch = await conn.request({ type: "device_challenge", ref: 0 });
    const nonce = (ch as { nonce: string }).nonce;
    const sig = signDeviceLogin(alice.devices.get(1)!.secretKey, nonce, alice.id, 1);
    const bad = await conn.request({
      type: "login_device",
      ref: 0,
      user_id: alice.id,
      device_id: 2,
      signature: sig,
    });
    assert.equal(_code(bad), "auth_failed");
    const again = await conn.request({
      type: "login_device",
      ref: 0,
      user_id: alice.id,
      device_id: 1,
      signature: sig,
    });
    assert.equal(_code(again), "bad_frame");
  } finally {
    await c.stop();
  }
});

Deno.test("a device removed from the list is logged out at once on every server and cannot log in again", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await _register(c, 1, "alice");
    const v1 = await _firstList(alice);
    const laptop = generateIdentityKeyPair();
    const v2 = signNextDeviceList(v1, { add: _device("laptop", laptop) }, {
      deviceId: 1,
      secretKey: alice.devices.get(1)!.secretKey,
    }, Date.now());
    const stored = await alice.client.request({
      type: "publish_device_list",
      ref: 0,
      list: serializeDeviceList(v2),
    });
    assert.equal(stored.type, "device_list_stored", JSON.stringify(stored));
    alice.devices.set(2, laptop);
    const onTwo = await _loginDevice(c, 2, alice, 2);
    assert.equal(onTwo.answer.type, "logged_in");
    const token = (onTwo.answer as { session_token: string }).session_token;
    // Device 2 may not sign the list as device 1.
    const v3 = signNextDeviceList(v2, { remove: 2 }, {
      deviceId: 1,
      secretKey: alice.devices.get(1)!.secretKey,
    }, Date.now());
    const wrongSigner = await onTwo.client.request({
      type: "publish_device_list",
      ref: 0,
      list: serializeDeviceList(v3),
    });
    assert.equal(_code(wrongSigner), "forbidden");
    const removed = await alice.client.request({
      type: "publish_device_list",
      ref: 0,
      list: serializeDeviceList(v3),
    });
    assert.equal(removed.type, "device_list_stored", JSON.stringify(removed));
    await c.network.settled();
    assert.equal(onTwo.client.closedWith?.code, CLOSE_CODES.sessionEnded);
    assert.equal(_code((await _loginDevice(c, 1, alice, 2)).answer), "auth_failed");
    const resumed = await c.connect(1).request({ type: "resume", ref: 0, session_token: token });
    assert.equal(_code(resumed), "auth_failed");
    assert.equal(alice.client.open, true, "device 1 stays logged in");
  } finally {
    await c.stop();
  }
});

Deno.test("publish_device_list refuses a forged, skipped or someone else's list, and of two racing versions stores one", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await _register(c, 1, "alice");
    const bob = await _register(c, 1, "bob");
    // Signed by a key that is not alice's identity key.
    const forged = signFirstDeviceList({
      user: alice.id,
      device: _device("evil", generateIdentityKeyPair()),
      accountSecretKey: generateIdentityKeyPair().secretKey,
      now: Date.now(),
    });
    const f = await alice.client.request({
      type: "publish_device_list",
      ref: 0,
      list: serializeDeviceList(forged),
    });
    assert.equal(_code(f), "bad_device_list");
    assert.match((f as { message: string }).message, /^[A-Z]/);
    const bobs = signFirstDeviceList({
      user: bob.id,
      device: _device("phone", generateIdentityKeyPair()),
      accountSecretKey: bob.identity.secretKey,
      now: Date.now(),
    });
    const other = await alice.client.request({
      type: "publish_device_list",
      ref: 0,
      list: serializeDeviceList(bobs),
    });
    assert.equal(_code(other), "forbidden");
    const garbage = await alice.client.request({ type: "publish_device_list", ref: 0, list: "{}" });
    assert.equal(_code(garbage), "bad_device_list");

    const v1 = await _firstList(alice);
    const signer = { deviceId: 1, secretKey: alice.devices.get(1)!.secretKey };
    const v2 = signNextDeviceList(
      v1,
      { add: _device("laptop", generateIdentityKeyPair()) },
      signer,
      Date.now(),
    );
    const v3 = signNextDeviceList(
      v2,
      { add: _device("tablet", generateIdentityKeyPair()) },
      signer,
      Date.now(),
    );
    const skipped = await alice.client.request({
      type: "publish_device_list",
      ref: 0,
      list: serializeDeviceList(v3),
    });
    assert.equal(_code(skipped), "bad_device_list");
    // Two different version 2s from two connections of device 1 at once: one is stored.
    const v2b = signNextDeviceList(
      v1,
      { add: _device("phone", generateIdentityKeyPair()) },
      signer,
      Date.now(),
    );
    const second = await _loginDevice(c, 1, alice, 1);
    const answers = await Promise.all([
      alice.client.request({ type: "publish_device_list", ref: 0, list: serializeDeviceList(v2) }),
      second.client.request({
        type: "publish_device_list",
        ref: 0,
        list: serializeDeviceList(v2b),
      }),
    ]);
    assert.deepEqual(answers.map(_code).sort(), ["conflict", "device_list_stored"]);
  } finally {
    await c.stop();
  }
});

Deno.test("device_lists serves a user's chain in pages, with the newest version", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await _register(c, 1, "alice");
    const bob = await _register(c, 1, "bob");
    const none = await bob.client.request({
      type: "device_lists",
      ref: 0,
      user_id: alice.id,
      from_version: 1,
    });
    assert.deepEqual(none, {
      type: "device_chain",
      ref: (none as { ref: number }).ref,
      user_id: alice.id,
      lists: [],
      latest: 0,
    });
    let list = await _firstList(alice);
    const signer = { deviceId: 1, secretKey: alice.devices.get(1)!.secretKey };
    const texts = [serializeDeviceList(list)];
    // Renames keep the list small while the chain grows past one page.
    for (let i = 0; i < LIMITS.deviceListsPerFrame + 2; i++) {
      list = signNextDeviceList(
        list,
        { rename: { id: 1, name: `terminal ${i}` } },
        signer,
        Date.now(),
      );
      const text = serializeDeviceList(list);
      texts.push(text);
      const stored = await alice.client.request({
        type: "publish_device_list",
        ref: 0,
        list: text,
      });
      assert.equal(stored.type, "device_list_stored", JSON.stringify(stored));
    }
    const page1 = await bob.client.request({
      type: "device_lists",
      ref: 0,
      user_id: alice.id,
      from_version: 1,
    });
    assert.equal(page1.type, "device_chain");
    const p1 = page1 as { lists: string[]; latest: number };
    assert.deepEqual(p1.lists, texts.slice(0, LIMITS.deviceListsPerFrame));
    assert.equal(p1.latest, texts.length);
    const page2 = await bob.client.request({
      type: "device_lists",
      ref: 0,
      user_id: alice.id,
      from_version: LIMITS.deviceListsPerFrame + 1,
    });
    assert.deepEqual((page2 as { lists: string[] }).lists, texts.slice(LIMITS.deviceListsPerFrame));
    const unknown = await bob.client.request({
      type: "device_lists",
      ref: 0,
      user_id: 999,
      from_version: 1,
    });
    assert.equal(_code(unknown), "not_found");
  } finally {
    await c.stop();
  }
});

Deno.test("link slots: the offer before login, the answer by a user, the hand-over only by that user, then expiry", async () => {
  let now = Date.now();
  const c = await InProcessCluster.start(2, { now: () => now });
  try {
    const alice = await _register(c, 1, "alice");
    const mallory = await _register(c, 2, "mallory");
    const fresh = c.connect(2);
    assert.equal(
      (await fresh.request({ type: "link_open", ref: 0, slot: "7KQ2", offer: '{"o":1}' })).type,
      "ok",
    );
    const taken = await c.connect(1).request({
      type: "link_open",
      ref: 0,
      slot: "7KQ2",
      offer: "{}",
    });
    assert.equal(_code(taken), "conflict");
    // The answer needs a login; then only its writer may send the hand-over.
    const anon = await fresh.request({
      type: "link_write",
      ref: 0,
      slot: "7KQ2",
      step: 1,
      value: "{}",
    });
    assert.equal(_code(anon), "not_authenticated");
    const read0 = await alice.client.request({ type: "link_read", ref: 0, slot: "7KQ2", from: 0 });
    assert.deepEqual((read0 as { steps: string[] }).steps, ['{"o":1}']);
    const answer = await alice.client.request({
      type: "link_write",
      ref: 0,
      slot: "7KQ2",
      step: 1,
      value: '{"a":1}',
    });
    assert.equal(answer.type, "ok");
    const twice = await mallory.client.request({
      type: "link_write",
      ref: 0,
      slot: "7KQ2",
      step: 1,
      value: "{}",
    });
    assert.equal(_code(twice), "conflict");
    assert.equal(
      (await fresh.request({ type: "link_write", ref: 0, slot: "7KQ2", step: 2, value: '{"c":1}' }))
        .type,
      "ok",
    );
    const stranger = await mallory.client.request({
      type: "link_write",
      ref: 0,
      slot: "7KQ2",
      step: 3,
      value: "x",
    });
    assert.equal(_code(stranger), "forbidden");
    assert.equal(
      (await alice.client.request({
        type: "link_write",
        ref: 0,
        slot: "7KQ2",
        step: 3,
        value: "part",
      })).type,
      "ok",
    );
    const all = await fresh.request({ type: "link_read", ref: 0, slot: "7KQ2", from: 1 });
    assert.equal(all.type, "link_steps");
    const steps = all as { from: number; steps: string[]; total: number; expires_at: number };
    assert.deepEqual([steps.from, steps.steps, steps.total], [
      1,
      ['{"a":1}', '{"c":1}', "part"],
      4,
    ]);
    assert.equal(steps.expires_at, now + LIMITS.linkTtlMs);
    now += LIMITS.linkTtlMs + 1;
    const gone = await fresh.request({ type: "link_read", ref: 0, slot: "7KQ2", from: 0 });
    assert.equal(_code(gone), "not_found");
    assert.match((gone as { message: string }).message, /No link is waiting under code 7KQ2/);
    // An expired slot's name is free again; a cancelled one is gone.
    assert.equal(
      (await fresh.request({ type: "link_open", ref: 0, slot: "7KQ2", offer: "{}" })).type,
      "ok",
    );
    assert.equal((await fresh.request({ type: "link_cancel", ref: 0, slot: "7KQ2" })).type, "ok");
    assert.equal(
      _code(await fresh.request({ type: "link_read", ref: 0, slot: "7KQ2", from: 0 })),
      "not_found",
    );
  } finally {
    await c.stop();
  }
});

Deno.test("link frames take from the address's link limit when they open, cancel or miss", async () => {
  const c = await InProcessCluster.start(1, {
    quotas: { link: { burst: 3, intervalMs: 3_600_000 }, limitLoopback: true },
  });
  try {
    const conn = c.connect(1);
    assert.equal(
      (await conn.request({ type: "link_open", ref: 0, slot: "AAAA", offer: "{}" })).type,
      "ok",
    );
    assert.equal(
      (await conn.request({ type: "link_read", ref: 0, slot: "AAAA", from: 0 })).type,
      "link_steps",
    );
    assert.equal(
      _code(await conn.request({ type: "link_read", ref: 0, slot: "BBBB", from: 0 })),
      "not_found",
    );
    assert.equal(
      _code(await conn.request({ type: "link_read", ref: 0, slot: "CCCC", from: 0 })),
      "not_found",
    );
    const limited = await conn.request({ type: "link_read", ref: 0, slot: "DDDD", from: 0 });
    assert.equal(_code(limited), "rate_limited");
    assert.ok(((limited as { retry_after_ms?: number }).retry_after_ms ?? 0) > 0);
  } finally {
    await c.stop();
  }
});

Deno.test("prekeys: a device publishes, fetches hand out one one-time prekey each, the device is told when few are left, and an unlinked device's are gone", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await _register(c, 1, "alice");
    const bob = await _register(c, 1, "bob");
    const pw = await alice.client.request({
      type: "publish_prekeys",
      ref: 0,
      bundle: "b",
      one_time: [],
      replace: false,
    });
    assert.equal(_code(pw), "device_required");
    await _firstList(alice);
    const keys = Array.from({ length: LIMITS.prekeysLow + 1 }, (_, i) => `{"id":${i}}`);
    const stored = await alice.client.request({
      type: "publish_prekeys",
      ref: 0,
      bundle: '{"v":1}',
      one_time: keys,
      replace: false,
    });
    assert.deepEqual(stored, {
      type: "prekeys_stored",
      ref: (stored as { ref: number }).ref,
      one_time: keys.length,
    });
    const got: (string | null)[] = [];
    for (let i = 0; i < keys.length + 1; i++) {
      const p = await bob.client.request({
        type: "fetch_prekeys",
        ref: 0,
        user_id: alice.id,
        device_id: 1,
      });
      assert.equal(p.type, "prekeys", JSON.stringify(p));
      assert.equal((p as { bundle: string }).bundle, '{"v":1}');
      got.push((p as { one_time: string | null }).one_time);
    }
    assert.deepEqual(got, [...keys, null], "each one-time prekey once, oldest first, then none");
    // Fewer than prekeysLow left: alice's device hears it on the server of the fetch.
    const low = await alice.client.waitFor((f) => f.type === "prekeys_low");
    assert.equal((low as { remaining: number }).remaining, LIMITS.prekeysLow - 1);
    // ...and at its next login.
    const again = await _loginDevice(c, 2, alice, 1);
    await again.client.waitFor((f) => f.type === "prekeys_low" && f.remaining === 0);
    const unknown = await bob.client.request({
      type: "fetch_prekeys",
      ref: 0,
      user_id: alice.id,
      device_id: 2,
    });
    assert.equal(_code(unknown), "not_found");
    const tooMany = await alice.client.request({
      type: "publish_prekeys",
      ref: 0,
      bundle: "b",
      one_time: Array.from({ length: LIMITS.prekeysPerFrame }, (_, i) => `k${i}`),
      replace: false,
    });
    assert.equal(tooMany.type, "prekeys_stored");
    await alice.client.request({
      type: "publish_prekeys",
      ref: 0,
      bundle: "b",
      one_time: Array.from({ length: LIMITS.prekeysPerFrame }, (_, i) => `m${i}`),
      replace: false,
    });
    const over = await alice.client.request({
      type: "publish_prekeys",
      ref: 0,
      bundle: "b",
      one_time: ["x"],
      replace: false,
    });
    assert.equal(_code(over), "forbidden");
    assert.match((over as { message: string }).message, /at most 200 one-time prekeys/);
    // Device 2 is linked, publishes, then is unlinked: its prekeys go with it.
    const tablet = generateIdentityKeyPair();
    const list = parseDeviceList((await c.store.latestDeviceList(alice.id))!.body);
    const signer = { deviceId: 1, secretKey: alice.devices.get(1)!.secretKey };
    const v2 = signNextDeviceList(list, { add: _device("tablet", tablet) }, signer);
    await alice.client.request({
      type: "publish_device_list",
      ref: 0,
      list: serializeDeviceList(v2),
    });
    alice.devices.set(2, tablet);
    const two = await _loginDevice(c, 1, alice, 2);
    await two.client.request({
      type: "publish_prekeys",
      ref: 0,
      bundle: "t",
      one_time: ["t1"],
      replace: false,
    });
    const v3 = signNextDeviceList(v2, { remove: 2 }, signer);
    await alice.client.request({
      type: "publish_device_list",
      ref: 0,
      list: serializeDeviceList(v3),
    });
    assert.equal(await c.store.prekeyCount(alice.id, 2), null);
  } finally {
    await c.stop();
  }
});

Deno.test("a new device waiting on its link slot gets another login period with each read, and is closed once it stops", async () => {
  const clock = new FakeClock();
  const c = await InProcessCluster.start(1, { clock });
  try {
    const fresh = c.connect(1);
    assert.equal(
      (await fresh.request({ type: "link_open", ref: 0, slot: "7KQ2", offer: "{}" })).type,
      "ok",
    );
    // Three login periods long, kept open by its reads.
    for (let i = 0; i < 3; i++) {
      await clock.advance(LIMITS.loginWithinMs - 1);
      assert.equal(fresh.closedWith, null, `read ${i}: still waiting`);
      assert.equal(
        (await fresh.request({ type: "link_read", ref: 0, slot: "7KQ2", from: 1 })).type,
        "link_steps",
      );
    }
    // A read of a slot that is gone gives no more time.
    const stranger = c.connect(1);
    await clock.advance(LIMITS.loginWithinMs - 1);
    const gone = await stranger.request({ type: "link_read", ref: 0, slot: "AAAA", from: 0 });
    assert.equal(_code(gone), "not_found");
    await clock.advance(1);
    assert.equal(stranger.closedWith?.code, 1008);
    // Once it stops reading, the waiting device is closed like any stranger.
    await clock.advance(LIMITS.loginWithinMs);
    assert.equal(fresh.closedWith?.code, 1008);
  } finally {
    await c.stop();
  }
});
