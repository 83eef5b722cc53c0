import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  exportRsaPublicKey,
  generateIdentityKeyPair,
  type IdentityKeyPair,
  importRsaPublicKey,
  sign,
  toBase64Url,
  utf8,
} from "../../core/crypto/mod.ts";
import {
  checkDeviceListChain,
  checkDeviceListStep,
  DEVICE_LIMIT,
  DEVICE_LIST_MAX_CHARS,
  DEVICE_LIST_SIGNED_PREFIX,
  type DeviceList,
  deviceListHash,
  deviceListSignedBytes,
  deviceNameProblem,
  E2eError,
  type E2eErrorCode,
  findDevice,
  type NewDevice,
  parseDeviceList,
  serializeDeviceList,
  signFirstDeviceList,
  signNextDeviceList,
  signRecoveryDeviceList,
} from "../../core/e2e/mod.ts";

// ----------------------------------------------------------------------------------------
// Fixtures

const RSA_DIR = new URL("../testdata/rsa/", import.meta.url);
const RSA_PEM = await Deno.readTextFile(new URL("rsa2048_spki_public.pem", RSA_DIR));
const RSA_PKCS1_PEM = await Deno.readTextFile(new URL("rsa2048_pkcs1_public.pem", RSA_DIR));
const RSA_1024_PEM = await Deno.readTextFile(new URL("rsa1024_spki_public.pem", RSA_DIR));
// Another key that parses as RSA-2048 (an odd modulus next to the real one); generating a real
// one would take seconds, and nothing here encrypts to it.
const RSA_KEY = importRsaPublicKey(RSA_PEM);
const RSA_OTHER_PEM = exportRsaPublicKey({ n: RSA_KEY.n + 2n, e: RSA_KEY.e }, "spki");

const USER = 42;
const NOW = 1_796_690_000_000;
const ACCOUNT = generateIdentityKeyPair();
const MALLORY = generateIdentityKeyPair();
// Device keys by name; Ed25519 keys are cheap, so every test device has its own.
const KEYS = new Map<string, IdentityKeyPair>();

function keysOf(name: string): IdentityKeyPair {
  let kp = KEYS.get(name);
  if (kp === undefined) {
    kp = generateIdentityKeyPair();
    KEYS.set(name, kp);
  }
  return kp;
}

/** A new device named `name` with its own signing key and the shared test RSA key. */
function dev(name: string): NewDevice {
  return { name, sign: toBase64Url(keysOf(name).publicKey, false), rsa: RSA_PEM };
}

/** The signer of device `id` named `name` (whose keys `dev(name)` made). */
function by(id: number, name: string) {
  return { deviceId: id, secretKey: keysOf(name).secretKey };
}

/** Asserts that `fn` throws an E2eError with `code` (and a message matching `message`). */
function assertE2e(fn: () => unknown, code: E2eErrorCode, message?: RegExp): E2eError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof E2eError, `expected E2eError(${code}), got ${caught}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

type Json = Record<string, unknown>;

/** `list`'s JSON changed by `fn`, keeping its signature (a tampered copy). */
function tamper(list: DeviceList, fn: (o: Json & { devices: Json[] }) => void): string {
  const o = JSON.parse(serializeDeviceList(list));
  fn(o);
  return JSON.stringify(o);
}

/**
 * `list` changed by `fn` and signed again with `secretKey`: what a holder of that key (a
 * removed device, a device breaking the rules, a malicious server with a stolen key) can make.
 */
function forge(
  list: DeviceList,
  secretKey: Uint8Array,
  fn: (o: Json & { devices: Json[] }) => void,
): DeviceList {
  const o = JSON.parse(serializeDeviceList(list));
  fn(o);
  const sig = sign(secretKey, deviceListSignedBytes(o as DeviceList));
  return parseDeviceList(JSON.stringify({ ...o, sig: toBase64Url(sig, false) }));
}

/** The next version after `list`, forged by `secretKey` with `by` and `fn` applied. */
function forgeNext(
  list: DeviceList,
  secretKey: Uint8Array,
  byId: number,
  fn: (o: Json & { devices: Json[] }) => void = () => {},
): DeviceList {
  return forge(list, secretKey, (o) => {
    o.version = list.version + 1;
    o.prev = deviceListHash(list);
    o.by = byId;
    fn(o);
  });
}

/** Flips the lowest bit of a base64url string's last character (non-canonical trailing bits). */
function badTrailingBits(text: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const i = alphabet.indexOf(text.at(-1)!);
  return text.slice(0, -1) + alphabet[i ^ 1];
}

/**
 * The chain the tests share, device by device:
 * v1 terminal (1); v2 +browser (2) by 1; v3 +laptop (3) by 2; v4 laptop renamed "old laptop"
 * by 3; v5 -terminal by 2; v6 "old laptop" removes itself, by 3.
 */
const V1 = signFirstDeviceList({
  user: USER,
  device: dev("terminal"),
  accountSecretKey: ACCOUNT.secretKey,
  now: NOW,
});
const V2 = signNextDeviceList(V1, { add: dev("browser") }, by(1, "terminal"), NOW + 1);
const V3 = signNextDeviceList(V2, { add: dev("laptop") }, by(2, "browser"), NOW + 2);
const V4 = signNextDeviceList(
  V3,
  { rename: { id: 3, name: "old laptop" } },
  by(3, "laptop"),
  NOW + 3,
);
const V5 = signNextDeviceList(V4, { remove: 1 }, by(2, "browser"), NOW + 4);
const V6 = signNextDeviceList(V5, { remove: 3 }, by(3, "laptop"), NOW + 5);
const CHAIN = [V1, V2, V3, V4, V5, V6];

// ----------------------------------------------------------------------------------------
// Signing and checking a chain

Deno.test("signFirstDeviceList() makes version 1, signed by the account key, naming device 1", () => {
  assert.deepEqual(
    { ...V1, sig: "" },
    {
      v: 1,
      t: "device_list",
      user: USER,
      version: 1,
      prev: "",
      next_id: 2,
      devices: [{ id: 1, ...dev("terminal"), added: NOW }],
      ts: NOW,
      by: 0,
      sig: "",
    },
  );
  assert.equal(V1.sig.length, 86);
  assert.deepEqual(checkDeviceListStep(null, V1, ACCOUNT.publicKey), { recovered: false });
  assert.ok(Object.isFrozen(V1) && Object.isFrozen(V1.devices) && Object.isFrozen(V1.devices[0]));
});

Deno.test("A chain of link, rename and unlink versions checks step by step and as a chain", () => {
  assert.deepEqual(V2.devices.map((d) => [d.id, d.name]), [[1, "terminal"], [2, "browser"]]);
  assert.deepEqual(V4.devices.map((d) => [d.id, d.name]), [
    [1, "terminal"],
    [2, "browser"],
    [3, "old laptop"],
  ]);
  assert.deepEqual(V6.devices.map((d) => [d.id, d.name]), [[2, "browser"]]);
  assert.deepEqual(CHAIN.map((l) => [l.version, l.next_id, l.by]), [
    [1, 2, 0],
    [2, 3, 1],
    [3, 4, 2],
    [4, 4, 3],
    [5, 4, 2],
    [6, 4, 3],
  ]);
  assert.equal(findDevice(V3, 3)?.added, NOW + 2, "a new device is added at the version's time");
  assert.equal(findDevice(V4, 3)?.added, NOW + 2, "a rename keeps when the device was added");
  assert.equal(findDevice(V5, 1), undefined);
  let prev: DeviceList | null = null;
  for (const list of CHAIN) {
    if (prev !== null) assert.equal(list.prev, deviceListHash(prev));
    assert.deepEqual(checkDeviceListStep(prev, list, ACCOUNT.publicKey), { recovered: false });
    prev = list;
  }
  assert.deepEqual(checkDeviceListChain(null, CHAIN, ACCOUNT.publicKey), {
    head: V6,
    recovered: false,
  });
  // From what a client trusted before, with or without the versions it already has.
  assert.equal(checkDeviceListChain(V3, [V4, V5, V6], ACCOUNT.publicKey).head, V6);
  assert.equal(checkDeviceListChain(V3, CHAIN, ACCOUNT.publicKey).head, V6);
  assert.equal(checkDeviceListChain(V3, [V3, V4], ACCOUNT.publicKey).head, V4);
  assert.equal(checkDeviceListChain(V6, [V6], ACCOUNT.publicKey).head, V6);
  assert.equal(checkDeviceListChain(V6, [], ACCOUNT.publicKey).head, V6);
  // Lists that went through JSON (the wire, the database) check the same.
  const copies = CHAIN.map((l) => parseDeviceList(serializeDeviceList(l)));
  assert.equal(
    deviceListHash(checkDeviceListChain(null, copies, ACCOUNT.publicKey).head),
    deviceListHash(V6),
  );
});

Deno.test("parseDeviceList() reads what serializeDeviceList() writes, and hashes the canonical form", () => {
  const text = serializeDeviceList(V3);
  assert.ok(text.startsWith('{"v":1,"t":"device_list","user":42,"version":3,"prev":"'));
  assert.ok(text.includes('"devices":[{"id":1,"name":"terminal","sign":"'));
  assert.ok(text.endsWith(`"ts":${NOW + 2},"by":2,"sig":"${V3.sig}"}`));
  const parsed = parseDeviceList(text);
  assert.deepEqual(parsed, V3);
  assert.equal(serializeDeviceList(parsed), text);
  // Whitespace and key order in transit change nothing that is signed.
  const o = JSON.parse(text);
  const reordered = JSON.stringify({ sig: o.sig, ...o }, null, 2);
  assert.equal(deviceListHash(parseDeviceList(reordered)), deviceListHash(V3));
  assert.doesNotThrow(() => checkDeviceListStep(V2, parseDeviceList(reordered), ACCOUNT.publicKey));
});

Deno.test("deviceListSignedBytes() is the prefix, a zero byte and the JSON without sig; the hash is its SHA-256", () => {
  const bytes = deviceListSignedBytes(V2);
  const json = serializeDeviceList(V2).replace(`,"sig":"${V2.sig}"`, "");
  const expected = new Uint8Array([...utf8(DEVICE_LIST_SIGNED_PREFIX), 0, ...utf8(json)]);
  assert.deepEqual(bytes, expected);
  assert.equal(deviceListHash(V2), toBase64Url(sha256(expected), false));
  assert.equal(deviceListHash(V2).length, 43);
});

// ----------------------------------------------------------------------------------------
// What a server or a removed device cannot do

Deno.test("Every tampered field of a signed version is refused", () => {
  const cases: [string, (o: Json & { devices: Json[] }) => void, E2eErrorCode][] = [
    ["user", (o) => o.user = USER + 1, "bad_device_list"],
    ["version", (o) => o.version = 4, "device_list_gap"],
    ["prev", (o) => o.prev = deviceListHash(V1), "device_list_fork"],
    ["next_id", (o) => o.next_id = 5, "bad_signature"],
    ["devices (a name)", (o) => o.devices[0]!.name = "evil", "bad_signature"],
    ["devices (a key)", (o) => o.devices[0]!.sign = dev("evil").sign, "bad_signature"],
    ["devices (rsa)", (o) => o.devices[2]!.rsa = RSA_OTHER_PEM, "bad_signature"],
    ["devices (one dropped)", (o) => o.devices.pop(), "bad_signature"],
    ["devices (added)", (o) => o.devices[1]!.added = NOW, "bad_signature"],
    ["ts", (o) => o.ts = NOW + 99, "bad_signature"],
    ["by (another device)", (o) => o.by = 1, "bad_signature"],
    ["by (the account key)", (o) => o.by = 0, "bad_signature"],
    ["sig", (o) => o.sig = V2.sig, "bad_signature"],
  ];
  for (const [field, fn, code] of cases) {
    const tampered = parseDeviceList(tamper(V3, fn));
    const err = assertE2e(() => checkDeviceListStep(V2, tampered, ACCOUNT.publicKey), code);
    assert.ok(err.message.length > 20, `${field}: ${err.message}`);
  }
  // Version 1 is checked under the account key only.
  const v1 = parseDeviceList(tamper(V1, (o) => o.ts = NOW + 1));
  assertE2e(() => checkDeviceListStep(null, v1, ACCOUNT.publicKey), "bad_signature", /account key/);
  assertE2e(() => checkDeviceListStep(null, V1, MALLORY.publicKey), "bad_signature");
  const byMallory = forge(V1, MALLORY.secretKey, (o) => o.devices[0]!.sign = dev("evil").sign);
  assertE2e(() => checkDeviceListStep(null, byMallory, ACCOUNT.publicKey), "bad_signature");
});

Deno.test("A device removed in version n cannot sign version n+1", () => {
  // V5 removed the terminal (device 1); it still holds its key.
  const terminal = keysOf("terminal").secretKey;
  const asItself = forgeNext(V5, terminal, 1, (o) => {
    o.next_id = 5;
    o.devices.push({ id: 4, ...dev("evil"), added: NOW });
  });
  assertE2e(
    () => checkDeviceListStep(V5, asItself, ACCOUNT.publicKey),
    "bad_signature",
    /signed by device 1, which is not a device of version 5/,
  );
  // Claiming to be a listed device does not help: the signature is checked under its key.
  const asBrowser = forgeNext(V5, terminal, 2, (o) => o.ts = NOW + 9);
  assertE2e(
    () => checkDeviceListStep(V5, asBrowser, ACCOUNT.publicKey),
    "bad_signature",
    /device 2/,
  );
  assertE2e(() => checkDeviceListChain(V4, [V5, asBrowser], ACCOUNT.publicKey), "bad_signature");
  // And signNextDeviceList() will not sign for a device that is not listed.
  assert.throws(() => signNextDeviceList(V5, { add: dev("evil") }, by(1, "terminal")), RangeError);
});

Deno.test("A removed device cannot be put back by its ID, even by a listed device", () => {
  const back = forgeNext(V5, keysOf("browser").secretKey, 2, (o) => {
    o.devices.unshift({ id: 1, ...dev("terminal"), added: NOW });
  });
  assertE2e(
    () => checkDeviceListStep(V5, back, ACCOUNT.publicKey),
    "bad_device_list",
    /Device 1 .* a removed device cannot come back/,
  );
  // Nor under a fresh name, with other keys: the ID is what is refused.
  const renamed = forgeNext(V5, keysOf("browser").secretKey, 2, (o) => {
    o.devices.unshift({ id: 1, ...dev("phone"), added: NOW + 9 });
  });
  assertE2e(() => checkDeviceListStep(V5, renamed, ACCOUNT.publicKey), "bad_device_list");
  // Linked again, it gets a new ID: that is allowed.
  const relinked = signNextDeviceList(V5, { add: dev("terminal") }, by(2, "browser"));
  assert.deepEqual(relinked.devices.map((d) => d.id), [2, 3, 4]);
  assert.doesNotThrow(() => checkDeviceListStep(V5, relinked, ACCOUNT.publicKey));
});

Deno.test("A device keeps its keys, next_id never goes down, and a list stays with its user", () => {
  const browser = keysOf("browser").secretKey;
  const newRsa = forgeNext(V3, browser, 2, (o) => o.devices[0]!.rsa = RSA_OTHER_PEM);
  assertE2e(
    () => checkDeviceListStep(V3, newRsa, ACCOUNT.publicKey),
    "bad_device_list",
    /keeps its keys/,
  );
  const newSign = forgeNext(V3, browser, 2, (o) => o.devices[0]!.sign = dev("evil").sign);
  assertE2e(
    () => checkDeviceListStep(V3, newSign, ACCOUNT.publicKey),
    "bad_device_list",
    /Device 1/,
  );
  const newAdded = forgeNext(V3, browser, 2, (o) => o.devices[0]!.added = NOW - 1);
  assertE2e(() => checkDeviceListStep(V3, newAdded, ACCOUNT.publicKey), "bad_device_list");
  const down = forgeNext(V3, browser, 2, (o) => {
    o.devices.pop();
    o.next_id = 3;
  });
  assertE2e(() => checkDeviceListStep(V3, down, ACCOUNT.publicKey), "bad_device_list", /next_id/);
  const other = forgeNext(V3, browser, 2, (o) => o.user = USER + 1);
  assertE2e(() => checkDeviceListStep(V3, other, ACCOUNT.publicKey), "bad_device_list", /user 43/);
  assertE2e(() => checkDeviceListChain(V3, [other], ACCOUNT.publicKey), "bad_device_list");
  // A rename is the one change to a kept device.
  const rename = forgeNext(V3, browser, 2, (o) => o.devices[0]!.name = "desk");
  assert.doesNotThrow(() => checkDeviceListStep(V3, rename, ACCOUNT.publicKey));
});

Deno.test("Skipping a version is refused", () => {
  assertE2e(
    () => checkDeviceListStep(V2, V4, ACCOUNT.publicKey),
    "device_list_gap",
    /Version 3 .* is missing between version 2 and version 4/,
  );
  assertE2e(() => checkDeviceListChain(V2, [V4, V5], ACCOUNT.publicKey), "device_list_gap");
  assertE2e(
    () => checkDeviceListChain(null, [V2, V3], ACCOUNT.publicKey),
    "device_list_gap",
    /version 1/,
  );
  assertE2e(() => checkDeviceListStep(null, V2, ACCOUNT.publicKey), "device_list_gap");
  assertE2e(
    () => checkDeviceListChain(null, [V1, V3], ACCOUNT.publicKey),
    "bad_device_list",
    /consecutive/,
  );
  // A version forged to skip ahead (version 4 following version 2's hash) is refused too.
  const skip = forgeNext(V2, keysOf("terminal").secretKey, 1, (o) => o.version = 4);
  assertE2e(() => checkDeviceListStep(V2, skip, ACCOUNT.publicKey), "device_list_gap");
});

Deno.test("checkDeviceListChain() detects a fork and a rollback", () => {
  // Two devices each sign a version 3 after V2: both valid alone, but only one can be the chain.
  const V3b = signNextDeviceList(
    V2,
    { rename: { id: 2, name: "web" } },
    by(1, "terminal"),
    NOW + 7,
  );
  const V4b = signNextDeviceList(V3b, { add: dev("tablet") }, by(2, "browser"), NOW + 8);
  assert.doesNotThrow(() => checkDeviceListChain(null, [V1, V2, V3b, V4b], ACCOUNT.publicKey));
  // A client that trusted V3 is shown the other branch.
  assertE2e(
    () => checkDeviceListChain(V3, [V3b], ACCOUNT.publicKey),
    "device_list_fork",
    /version 3/,
  );
  assertE2e(() => checkDeviceListChain(V3, [V3b, V4b], ACCOUNT.publicKey), "device_list_fork");
  assertE2e(() => checkDeviceListChain(V3, [V2, V3b, V4b], ACCOUNT.publicKey), "device_list_fork");
  assertE2e(
    () => checkDeviceListChain(V3, [V4b], ACCOUNT.publicKey),
    "device_list_fork",
    /another version 3/,
  );
  assertE2e(() => checkDeviceListStep(V3, V3b, ACCOUNT.publicKey), "device_list_fork");
  // A version below the known one that is not the one the known chain names is a fork too.
  const V2b = signNextDeviceList(V1, { add: dev("phone") }, by(1, "terminal"), NOW + 9);
  assertE2e(
    () => checkDeviceListChain(V3, [V2b, V3, V4], ACCOUNT.publicKey),
    "device_list_fork",
    /version 2/,
  );
  // An older head than the known one is a rollback, even a genuine one.
  assertE2e(
    () => checkDeviceListChain(V4, [V2, V3], ACCOUNT.publicKey),
    "device_list_rollback",
    /Version 3 .* older than version 4/,
  );
  assertE2e(() => checkDeviceListChain(V4, [V1], ACCOUNT.publicKey), "device_list_rollback");
  assertE2e(() => checkDeviceListStep(V4, V2, ACCOUNT.publicKey), "device_list_rollback");
  const err = assertE2e(
    () => checkDeviceListChain(V4, [V3b], ACCOUNT.publicKey),
    "device_list_rollback",
  );
  assert.deepEqual(err.details, { user: USER, known: 4, got: 3 });
});

Deno.test("A recovery is accepted only under the account key, and flagged", () => {
  const recovery = signRecoveryDeviceList(V4, dev("phone"), ACCOUNT.secretKey, NOW + 10);
  assert.equal(recovery.by, 0);
  assert.equal(recovery.version, 5);
  assert.equal(recovery.next_id, 5);
  assert.deepEqual(recovery.devices, [{ id: 4, ...dev("phone"), added: NOW + 10 }]);
  assert.deepEqual(checkDeviceListStep(V4, recovery, ACCOUNT.publicKey), { recovered: true });
  assert.deepEqual(checkDeviceListChain(V3, [V4, recovery], ACCOUNT.publicKey), {
    head: recovery,
    recovered: true,
  });
  // The recovered device goes on as usual; a device the recovery removed cannot.
  const after = signNextDeviceList(recovery, { add: dev("desk") }, by(4, "phone"));
  assert.deepEqual(checkDeviceListChain(recovery, [after], ACCOUNT.publicKey).recovered, false);
  const byOld = forgeNext(recovery, keysOf("browser").secretKey, 2);
  assertE2e(() => checkDeviceListStep(recovery, byOld, ACCOUNT.publicKey), "bad_signature");
  // Any other key claiming to be the account key is refused.
  const fake = signRecoveryDeviceList(V4, dev("evil"), MALLORY.secretKey, NOW + 10);
  assertE2e(() => checkDeviceListStep(V4, fake, ACCOUNT.publicKey), "bad_signature", /account key/);
  const byDevice = forgeNext(V4, keysOf("browser").secretKey, 0, (o) => {
    o.next_id = 5;
    o.devices = [{ id: 4, ...dev("evil"), added: NOW }];
  });
  assertE2e(() => checkDeviceListStep(V4, byDevice, ACCOUNT.publicKey), "bad_signature");
});

// ----------------------------------------------------------------------------------------
// The rules of a change

Deno.test("An account has at most 10 devices", () => {
  let list = V1;
  for (let i = 2; i <= DEVICE_LIMIT; i++) {
    list = signNextDeviceList(list, { add: dev(`device ${i}`) }, by(1, "terminal"));
  }
  assert.equal(list.devices.length, DEVICE_LIMIT);
  const err = assertE2e(
    () => signNextDeviceList(list, { add: dev("eleventh") }, by(1, "terminal")),
    "too_many_devices",
    /already has 10 devices/,
  );
  assert.deepEqual(err.details, { limit: DEVICE_LIMIT });
  // Removing one in the same change makes room.
  const swapped = signNextDeviceList(list, { remove: 5, add: dev("eleventh") }, by(1, "terminal"));
  assert.equal(swapped.devices.length, DEVICE_LIMIT);
  assert.doesNotThrow(() => checkDeviceListStep(list, swapped, ACCOUNT.publicKey));
  // An eleventh device signed in by hand does not parse.
  assertE2e(
    () =>
      forgeNext(list, keysOf("terminal").secretKey, 1, (o) => {
        o.next_id = 12;
        o.devices.push({ id: 11, ...dev("eleventh"), added: NOW });
      }),
    "bad_device_list",
    /"devices" .* 1 to 10 devices/,
  );
});

Deno.test("Device names and signing keys are unique; the last device cannot be removed", () => {
  assertE2e(
    () => signNextDeviceList(V3, { add: dev("terminal") }, by(1, "terminal")),
    "device_name_taken",
    /Device 1 is already named "terminal"/,
  );
  assertE2e(
    () => signNextDeviceList(V3, { rename: { id: 3, name: "browser" } }, by(1, "terminal")),
    "device_name_taken",
  );
  assertE2e(
    () => signNextDeviceList(V3, { add: { ...dev("browser"), name: "second" } }, by(1, "terminal")),
    "bad_device_list",
    /signing key is already device 2's/,
  );
  // A name freed by a removal in the same change can be used.
  const reuse = signNextDeviceList(V3, { remove: 1, add: dev("terminal") }, by(2, "browser"));
  assert.deepEqual(reuse.devices.map((d) => [d.id, d.name]), [[2, "browser"], [3, "laptop"], [
    4,
    "terminal",
  ]]);
  // Renaming a device to its own name changes nothing but is allowed.
  assert.doesNotThrow(() =>
    signNextDeviceList(V3, { rename: { id: 3, name: "laptop" } }, by(1, "terminal"))
  );
  assertE2e(
    () => signNextDeviceList(V1, { remove: 1 }, by(1, "terminal")),
    "last_device",
    /last device/,
  );
  // Lists made by hand with repeats do not parse.
  const browserEntry = V3.devices[1]!;
  const repeats: [string, (o: Json & { devices: Json[] }) => void, RegExp][] = [
    ["name", (o) => o.devices[2]!.name = "terminal", /devices\[2\]\.name" .* repeats/],
    ["sign", (o) => o.devices[2]!.sign = browserEntry.sign, /devices\[2\]\.sign" .* repeats/],
    ["id", (o) => o.devices[2]!.id = 2, /devices\[2\]\.id" .* IDs ascend/],
    ["order", (o) => o.devices.reverse(), /devices\[1\]\.id" .* IDs ascend/],
  ];
  for (const [, fn, message] of repeats) {
    assertE2e(() => parseDeviceList(tamper(V3, fn)), "bad_device_list", message);
  }
});

Deno.test("Mistakes of the calling code throw TypeError or RangeError", () => {
  const terminal = by(1, "terminal");
  assert.throws(() => signNextDeviceList(V3, {}, terminal), RangeError);
  assert.throws(() => signNextDeviceList(V3, { drop: 1 } as never, terminal), TypeError);
  assert.throws(() => signNextDeviceList(V3, { remove: 9 }, terminal), /Cannot remove device 9/);
  assert.throws(() => signNextDeviceList(V3, { remove: 0 }, terminal), RangeError);
  assert.throws(
    () => signNextDeviceList(V3, { remove: 3, rename: { id: 3, name: "x" } }, terminal),
    /Cannot rename device 3/,
  );
  assert.throws(() => signNextDeviceList(V3, { add: dev(" padded") }, terminal), RangeError);
  assert.throws(
    () => signNextDeviceList(V3, { add: { ...dev("small"), rsa: RSA_1024_PEM } }, terminal),
    /at least 2048 bits, got 1024/,
  );
  assert.throws(
    () => signNextDeviceList(V3, { add: { ...dev("bad"), sign: "abc" } }, terminal),
    RangeError,
  );
  assert.throws(
    () => signNextDeviceList(V3, { add: dev("x") }, { deviceId: 1, secretKey: MALLORY.secretKey }),
    /not device 1's listed signing key/,
  );
  assert.throws(
    () => signNextDeviceList(V3, { add: dev("x") }, by(9, "terminal")),
    /Device 9 is not in version 3/,
  );
  assert.throws(() => signNextDeviceList(V3, { add: dev("x") }, terminal, -1), RangeError);
  assert.throws(
    () => signFirstDeviceList({ user: 0, device: dev("a"), accountSecretKey: ACCOUNT.secretKey }),
    RangeError,
  );
  assert.throws(
    () => signFirstDeviceList({ user: 1, device: dev("a"), accountSecretKey: new Uint8Array(31) }),
    RangeError,
  );
  assert.throws(() => checkDeviceListStep(null, V1, new Uint8Array(16)), RangeError);
  assert.throws(() => checkDeviceListChain(null, V1 as never, ACCOUNT.publicKey), TypeError);
  assertE2e(() => checkDeviceListChain(null, [], ACCOUNT.publicKey), "bad_device_list");
  // A PKCS#1 PEM is accepted and stored as canonical SPKI.
  const pkcs1 = signNextDeviceList(V3, { add: { ...dev("pkcs1"), rsa: RSA_PKCS1_PEM } }, terminal);
  assert.equal(findDevice(pkcs1, 4)?.rsa, RSA_PEM);
});

Deno.test("checkDeviceListStep() validates lists it did not parse", () => {
  const plain = JSON.parse(serializeDeviceList(V2)) as DeviceList;
  assert.doesNotThrow(() => checkDeviceListStep(V1, plain, ACCOUNT.publicKey));
  const extra = { ...plain, extra: 1 } as DeviceList;
  assertE2e(
    () => checkDeviceListStep(V1, extra, ACCOUNT.publicKey),
    "bad_device_list",
    /Unknown field "extra"/,
  );
  const noName = { ...plain, devices: [{ ...plain.devices[0]!, name: "" }] } as DeviceList;
  assertE2e(() => checkDeviceListStep(V1, noName, ACCOUNT.publicKey), "bad_device_list", /name/);
});

// ----------------------------------------------------------------------------------------
// Strict parsing

Deno.test("deviceNameProblem() allows printable names and refuses controls, direction marks and edge spaces", () => {
  for (
    const ok of ["terminal", "Ana's laptop", "téléphone", "電話", "📱 phone", "a", "x".repeat(64)]
  ) {
    assert.equal(deviceNameProblem(ok), undefined, ok);
  }
  const bad: [unknown, RegExp][] = [
    ["", /1 to 64/],
    ["x".repeat(65), /got 65/],
    [" lead", /space/],
    ["trail ", /space/],
    ["tab\tin", /printable/],
    ["line\nbreak", /printable/],
    ["nul\0", /printable/],
    ["del\x7f", /printable/],
    ["c1\x85", /printable/],
    ["sep\u2028", /printable/],
    ["\u202egnp.exe", /printable/],
    ["iso\u2067late", /printable/],
    ["lone \ud800", /well-formed/],
    [7, /string/],
    [null, /string/],
  ];
  for (const [name, message] of bad) assert.match(deviceNameProblem(name) ?? "", message);
});

Deno.test("parseDeviceList() refuses malformed lists, naming the field and what was expected", () => {
  const v2 = (fn: (o: Json & { devices: Json[] }) => void) => tamper(V2, fn);
  const d0 = (fn: (d: Json) => void) => v2((o) => fn(o.devices[0]!));
  const cases: [string, unknown, RegExp][] = [
    ["not JSON", "{", /not valid JSON/],
    ["an array", "[]", /must be a JSON object, got an array/],
    ["null", "null", /got null/],
    ["not a string", 42, /must be a string, got number/],
    ["huge", " ".repeat(DEVICE_LIST_MAX_CHARS + 1), /too long/],
    ["unknown field", v2((o) => o.extra = 1), /Unknown field "extra"/],
    ["missing field", v2((o) => delete o.ts), /Missing field "ts"/],
    [
      "__proto__ field",
      v2((o) => Object.defineProperty(o, "__proto__", { value: 1, enumerable: true })),
      /Unknown field "__proto__"/,
    ],
    ["v", v2((o) => o.v = 2), /"v" .* must be 1/],
    ["t", v2((o) => o.t = "dm"), /"t" .* must be "device_list"/],
    ["user 0", v2((o) => o.user = 0), /"user" .* positive user ID, got 0/],
    ["user string", v2((o) => o.user = "42"), /"user" .* got "42"/],
    ["user fraction", v2((o) => o.user = 4.2), /"user"/],
    ["user unsafe", v2((o) => o.user = 2 ** 53), /"user"/],
    ["version 0", v2((o) => o.version = 0), /"version" .* positive integer/],
    ["prev empty after 1", v2((o) => o.prev = ""), /"prev" .* SHA-256/],
    [
      "prev in version 1",
      tamper(V1, (o) => o.prev = deviceListHash(V1)),
      /"prev" .* empty in version 1/,
    ],
    ["prev padded", v2((o) => o.prev = `${o.prev}=`), /"prev"/],
    ["prev standard base64", v2((o) => o.prev = `+${(o.prev as string).slice(1)}`), /"prev"/],
    ["prev trailing bits", v2((o) => o.prev = badTrailingBits(o.prev as string)), /"prev"/],
    ["next_id", v2((o) => o.next_id = 1), /"next_id" .* at least 2/],
    ["devices empty", v2((o) => o.devices = []), /"devices" .* 1 to 10/],
    ["devices object", v2((o) => o.devices = {} as never), /"devices"/],
    ["device not object", v2((o) => o.devices[0] = "x" as never), /"devices\[0\]" .* JSON object/],
    ["device unknown field", d0((d) => d.extra = 1), /Unknown field "devices\[0\]\.extra"/],
    ["device missing field", d0((d) => delete d.added), /Missing field "devices\[0\]\.added"/],
    ["id 0", d0((d) => d.id = 0), /"devices\[0\]\.id" .* positive/],
    ["id at next_id", v2((o) => o.devices[1]!.id = 3), /"devices\[1\]\.id" .* below next_id 3/],
    ["name empty", d0((d) => d.name = ""), /"devices\[0\]\.name" .* 1 to 64/],
    ["name spaces", d0((d) => d.name = "term "), /"devices\[0\]\.name" .* space/],
    ["name control", d0((d) => d.name = "a\u0007"), /"devices\[0\]\.name" .* printable/],
    [
      "sign short",
      d0((d) => d.sign = (d.sign as string).slice(1)),
      /"devices\[0\]\.sign" .*\(43 characters\)/,
    ],
    ["sign padded", d0((d) => d.sign = `${d.sign}=`), /"devices\[0\]\.sign"/],
    [
      "sign trailing bits",
      d0((d) => d.sign = badTrailingBits(d.sign as string)),
      /"devices\[0\]\.sign"/,
    ],
    ["rsa garbage", d0((d) => d.rsa = "not a key"), /"devices\[0\]\.rsa" .* RSA public key PEM/],
    ["rsa 1024", d0((d) => d.rsa = RSA_1024_PEM), /"devices\[0\]\.rsa" .* at least 2048 bits/],
    ["rsa PKCS#1", d0((d) => d.rsa = RSA_PKCS1_PEM), /"devices\[0\]\.rsa" .* canonical SPKI/],
    [
      "rsa CRLF",
      d0((d) => d.rsa = RSA_PEM.replaceAll("\n", "\r\n")),
      /"devices\[0\]\.rsa" .* canonical/,
    ],
    [
      "rsa huge",
      d0((d) => d.rsa = RSA_PEM + " ".repeat(5000)),
      /"devices\[0\]\.rsa" .* at most 4096/,
    ],
    ["added", d0((d) => d.added = -1), /"devices\[0\]\.added"/],
    ["ts", v2((o) => o.ts = 1e300), /"ts" .* non-negative integer/],
    ["by negative", v2((o) => o.by = -1), /"by" .* 0 or a device ID/],
    ["by at next_id", v2((o) => o.by = 3), /"by" .* below next_id 3/],
    ["by in version 1", tamper(V1, (o) => o.by = 1), /"by" .* 0 in version 1/],
    ["sig short", v2((o) => o.sig = (o.sig as string).slice(2)), /"sig" .*\(86 characters\)/],
    ["sig padded", v2((o) => o.sig = `${o.sig}==`), /"sig"/],
    ["sig trailing bits", v2((o) => o.sig = badTrailingBits(o.sig as string)), /"sig"/],
    ["sig number", v2((o) => o.sig = 1), /"sig"/],
  ];
  for (const [what, text, message] of cases) {
    const err = assertE2e(() => parseDeviceList(text as string), "bad_device_list");
    assert.match(err.message, message, `${what}: ${err.message}`);
  }
});
