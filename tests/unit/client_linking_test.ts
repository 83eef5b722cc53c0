/**
 * Linking a device end to end through real server logic (`core/client/engine/linking.ts` over
 * in-process servers): the new device shows a code, the old device types it, the account's
 * list then names the new device with exactly its keys, the new device logs in with its key
 * and holds what was handed over. A wrong code fails on both sides and changes nothing; an
 * expired code is refused.
 */

import assert from "node:assert/strict";
import { generateIdentityKeyPair, toBase64Url } from "../../core/crypto/mod.ts";
import {
  type DeviceList,
  E2eError,
  parseDeviceList,
  parseLinkCode,
  serializeDeviceList,
  signDeviceLogin,
  signFirstDeviceList,
} from "../../core/e2e/mod.ts";
import { ClientError } from "../../core/client/engine/errors.ts";
import { type HandOver, parseHandOver } from "../../core/client/engine/hand_over.ts";
import { linkNewDevice, linkOldDevice } from "../../core/client/engine/linking.ts";
import type { ChatConnection } from "../../core/client/engine/ports.ts";
import { InProcessCluster } from "../helpers/in_process.ts";
import { inProcessDialer } from "../helpers/in_process_dialer.ts";

const _RSA = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);
const _BOB_KEY = toBase64Url(generateIdentityKeyPair().publicKey, false);
const _NOOP = {
  onMessage() {},
  onDelivered() {},
  onSynced() {},
  onError() {},
  onClose() {},
};

/** A connection to server 1 of `c`, not logged in. */
async function _conn(c: InProcessCluster): Promise<ChatConnection> {
  const opts = { signal: new AbortController().signal, onRetry() {} };
  return (await inProcessDialer(c).dial(_NOOP, opts)).conn;
}

/** alice registered, with device 1 ("terminal") in her first list; a connection as device 1. */
async function _alice(c: InProcessCluster) {
  const identity = generateIdentityKeyPair();
  const device = generateIdentityKeyPair();
  const conn = await _conn(c);
  const reg = await conn.request({
    type: "register",
    username: "alice",
    password: "correct horse 1",
    rsa_public_key: _RSA,
    identity_key: toBase64Url(identity.publicKey, false),
  });
  const first = signFirstDeviceList({
    user: reg.user_id,
    device: { name: "terminal", sign: toBase64Url(device.publicKey, false), rsa: _RSA },
    accountSecretKey: identity.secretKey,
  });
  await conn.request({ type: "publish_device_list", list: serializeDeviceList(first) });
  return { id: reg.user_id, identity, device, conn, first };
}

function _handOver(list: DeviceList, identityKey: string): HandOver {
  return {
    v: 1,
    user: list.user,
    username: "alice",
    identityKey,
    list: serializeDeviceList(list),
    friends: [{
      userId: 7,
      username: "bob",
      rsaPublicKey: _RSA,
      identityKey: _BOB_KEY,
      contact: true,
      verifiedAt: 1_700_000_000_000,
    }],
    blocked: [{ userId: 9, username: "mallory" }],
    groups: [{
      groupId: 3,
      name: "team",
      adminId: list.user,
      members: [list.user, 7],
      keys: { "1": "a".repeat(43) + "=" },
    }],
  };
}

/** alice's device 1 typing `code`: it must fail before publishing or handing anything over. */
function _oldMustFail(
  alice: Awaited<ReturnType<typeof _alice>>,
  code: string,
  now: () => number = Date.now,
): Promise<unknown> {
  return linkOldDevice(code, {
    conn: alice.conn,
    account: { user: alice.id, device: 1 },
    signSecretKey: alice.device.secretKey,
    head: alice.first,
    now,
    pollMs: 5,
    publish: () => Promise.reject(new Error("must not publish")),
    handOver: () => {
      throw new Error("must not hand over");
    },
  }).catch((e) => e);
}

/** A new device "tablet" waiting on `c`; resolves with its code once shown. */
async function _tablet(c: InProcessCluster) {
  const tablet = generateIdentityKeyPair();
  const shown = Promise.withResolvers<string>();
  const result = linkNewDevice({
    conn: await _conn(c),
    keys: { name: "tablet", sign: toBase64Url(tablet.publicKey, false), rsa: _RSA },
    showCode: (code) => shown.resolve(code),
    pollMs: 5,
  }).catch((e) => e);
  return { code: await shown.promise, result };
}

Deno.test("linking: the list names the new device with its keys, it logs in with them, and holds the hand-over", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await _alice(c);
    const tablet = generateIdentityKeyPair();
    const keys = { name: "tablet", sign: toBase64Url(tablet.publicKey, false), rsa: _RSA };
    const shown = Promise.withResolvers<string>();
    let published: DeviceList | null = null;
    const newSide = linkNewDevice({
      conn: await _conn(c),
      keys,
      showCode: (code) => shown.resolve(code),
      pollMs: 5,
    });
    const code = await shown.promise;
    assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    const identityKey = toBase64Url(alice.identity.publicKey, false);
    const next = await linkOldDevice(code.toLowerCase(), {
      conn: alice.conn,
      account: { user: alice.id, device: 1 },
      signSecretKey: alice.device.secretKey,
      head: alice.first,
      now: Date.now,
      pollMs: 5,
      publish: async (list) => {
        await alice.conn.request({ type: "publish_device_list", list: serializeDeviceList(list) });
        published = list;
      },
      handOver: (list) => _handOver(list, identityKey),
    });
    const got = await newSide;
    assert.equal(next.version, 2);
    assert.deepEqual(published, next);
    assert.deepEqual(next.devices.map((d) => [d.id, d.name, d.sign]), [
      [1, "terminal", toBase64Url(alice.device.publicKey, false)],
      [2, "tablet", keys.sign],
    ]);
    assert.deepEqual(got, _handOver(next, identityKey));
    assert.deepEqual(parseDeviceList(got.list), next);
    // The new device logs in with its own key.
    const conn = await _conn(c);
    const { nonce } = await conn.request({ type: "device_challenge" });
    const in2 = await conn.request({
      type: "login_device",
      user_id: alice.id,
      device_id: 2,
      signature: signDeviceLogin(tablet.secretKey, nonce, alice.id, 2),
    });
    assert.equal(in2.user_id, alice.id);
    // The slot is freed once the hand-over is opened.
    const read = await (await _conn(c)).request({
      type: "link_read",
      slot: parseLinkCode(code).slot,
      from: 0,
    }).catch((e) => e);
    assert.equal(read.code, "not_found");
  } finally {
    await c.stop();
  }
});

Deno.test("linking with a wrong code fails on both sides and changes nothing", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await _alice(c);
    const { code, result: newSide } = await _tablet(c);
    // The same slot (the first 4 characters), another password: a typo in the last part.
    const typo = code.slice(0, -1) + (code.at(-1) === "0" ? "1" : "0");
    const old = await _oldMustFail(alice, typo);
    const failed = await newSide;
    assert.ok(failed instanceof E2eError && failed.code === "link_failed", String(failed));
    assert.ok(old instanceof ClientError && old.code === "not_found", String(old));
    assert.match(old.message, /No link is waiting under that code any more/);
    const chain = await alice.conn.request({
      type: "device_lists",
      user_id: alice.id,
      from_version: 1,
    });
    assert.equal(chain.latest, 1, "the list is as it was");
  } finally {
    await c.stop();
  }
});

Deno.test("a link code that expired is refused, and the waiting new device is told", async () => {
  let now = Date.now();
  const c = await InProcessCluster.start(1, { now: () => now });
  try {
    const alice = await _alice(c);
    const { code, result: newSide } = await _tablet(c);
    now += 10 * 60_000 + 1;
    const old = await _oldMustFail(alice, code, () => now);
    assert.ok(old instanceof ClientError && old.code === "not_found", String(old));
    const waited = await newSide;
    assert.ok(waited instanceof ClientError && waited.code === "not_found", String(waited));
  } finally {
    await c.stop();
  }
});

Deno.test("parseHandOver() refuses what is malformed, naming it", () => {
  const list = signFirstDeviceList({
    user: 5,
    device: {
      name: "terminal",
      sign: toBase64Url(generateIdentityKeyPair().publicKey, false),
      rsa: _RSA,
    },
    accountSecretKey: generateIdentityKeyPair().secretKey,
  });
  const good = _handOver(list, "k".repeat(43));
  assert.deepEqual(parseHandOver(JSON.stringify(good)), good);
  const cases: [unknown, RegExp][] = [
    ["not json", /it is not JSON/],
    [{ ...good, extra: 1 }, /unexpected field "extra"/],
    [{ ...good, v: 2 }, /version 2 is not 1/],
    [{ ...good, user: 6 }, /the device list is another account's/],
    [
      { ...good, friends: [{ ...good.friends[0], contact: "yes" }] },
      /friends\[0\]\.contact is not true or false/,
    ],
    [
      { ...good, groups: [{ ...good.groups[0], keys: { x: "k" } }] },
      /malformed entry for epoch "x"/,
    ],
    [
      { ...good, blocked: [{ userId: 0, username: "m" }] },
      /blocked\[0\]\.userId is not a positive ID/,
    ],
  ];
  for (const [bad, message] of cases) {
    const text = typeof bad === "string" ? bad : JSON.stringify(bad);
    assert.throws(() => parseHandOver(text), (e: unknown) => {
      assert.ok(e instanceof E2eError && e.code === "bad_handover");
      assert.match(e.message, message);
      return true;
    });
  }
});
