import assert from "node:assert/strict";
import { formatSafetyNumber, safetyNumber } from "../core/crypto/safety_number.ts";
import { fromHex, randomBytes, toHex } from "../core/crypto/bytes.ts";
import { runPython } from "./helpers/python.ts";

// RFC 8032 TEST 1 and TEST 2 public keys: fixed, well-known inputs.
const KEY_A = fromHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
const KEY_B = fromHex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");

Deno.test("safetyNumber() matches pinned known answers", () => {
  // Computed once with tests/python/safety_number.py (hashlib), an independent implementation.
  assert.equal(
    safetyNumber(1, KEY_A, 2, KEY_B),
    "238735319977598667074966780613481204359561106114896613795033",
  );
  assert.equal(
    safetyNumber("alice", KEY_A, "bob", KEY_B),
    "491180447809943620315796171840764295668596237962521653335453",
  );
});

Deno.test("safetyNumber() is the same on both sides", () => {
  for (let i = 0; i < 5; i++) {
    const a = randomBytes(32);
    const b = randomBytes(32);
    assert.equal(safetyNumber(10 + i, a, 20 + i, b), safetyNumber(20 + i, b, 10 + i, a));
  }
  assert.equal(
    safetyNumber("bob", KEY_B, "alice", KEY_A),
    safetyNumber("alice", KEY_A, "bob", KEY_B),
  );
});

Deno.test("safetyNumber() gives 60 decimal digits", () => {
  for (let i = 0; i < 5; i++) {
    assert.match(safetyNumber(i, randomBytes(32), i + 1, randomBytes(32)), /^[0-9]{60}$/);
  }
});

Deno.test("safetyNumber() changes when either key or either id changes", () => {
  const base = safetyNumber(1, KEY_A, 2, KEY_B);
  const seen = new Set([base]);
  const flipped = (key: Uint8Array, i: number) => {
    const k = key.slice();
    k[i]! ^= 1;
    return k;
  };
  for (const i of [0, 15, 31]) {
    seen.add(safetyNumber(1, flipped(KEY_A, i), 2, KEY_B));
    seen.add(safetyNumber(1, KEY_A, 2, flipped(KEY_B, i)));
  }
  seen.add(safetyNumber(3, KEY_A, 2, KEY_B));
  seen.add(safetyNumber(1, KEY_A, 3, KEY_B));
  seen.add(safetyNumber(1, KEY_B, 2, KEY_A)); // keys swapped between the users
  assert.equal(seen.size, 10);
  // Only the changed side's half changes; the other 30 digits stay.
  const halves = (n: string) => new Set([n.slice(0, 30), n.slice(30)]);
  const changed = safetyNumber(1, KEY_A, 2, flipped(KEY_B, 0));
  const shared = [...halves(base)].filter((h) => halves(changed).has(h));
  assert.equal(shared.length, 1);
});

Deno.test("safetyNumber() treats a numeric id and its decimal string alike", () => {
  assert.equal(safetyNumber(42, KEY_A, 7, KEY_B), safetyNumber("42", KEY_A, "7", KEY_B));
  assert.notEqual(safetyNumber(42, KEY_A, 7, KEY_B), safetyNumber("042", KEY_A, 7, KEY_B));
});

Deno.test("safetyNumber() orders the halves so the smaller comes first", () => {
  const n = safetyNumber(1, KEY_A, 2, KEY_B);
  assert.ok(n.slice(0, 30) <= n.slice(30));
  // The same key and id on both sides give the same half twice.
  const self = safetyNumber(5, KEY_A, 5, KEY_A);
  assert.equal(self.slice(0, 30), self.slice(30));
});

Deno.test("safetyNumber() agrees with an independent Python implementation", async () => {
  const cases = [
    {
      myId: 0,
      myKey: randomBytes(32),
      theirId: Number.MAX_SAFE_INTEGER,
      theirKey: randomBytes(32),
    },
    { myId: "zoë", myKey: randomBytes(32), theirId: "日本", theirKey: randomBytes(32) },
    { myId: 7, myKey: randomBytes(32), theirId: "user-8", theirKey: randomBytes(32) },
  ];
  const expected = await runPython<string[]>(
    "safety_number.py",
    cases.map((c) => ({ ...c, myKey: toHex(c.myKey), theirKey: toHex(c.theirKey) })),
  );
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    assert.equal(safetyNumber(c.myId, c.myKey, c.theirId, c.theirKey), expected[i]);
  }
});

Deno.test("safetyNumber() rejects malformed keys", () => {
  for (const n of [0, 31, 33, 64]) {
    assert.throws(() => safetyNumber(1, new Uint8Array(n), 2, KEY_B), RangeError);
    assert.throws(() => safetyNumber(1, KEY_A, 2, new Uint8Array(n)), RangeError);
  }
  for (const bad of [undefined, null, toHex(KEY_A), Array.from(KEY_A)]) {
    assert.throws(() => safetyNumber(1, bad as unknown as Uint8Array, 2, KEY_B), TypeError);
    assert.throws(() => safetyNumber(1, KEY_A, 2, bad as unknown as Uint8Array), TypeError);
  }
});

Deno.test("safetyNumber() rejects malformed user ids", () => {
  for (const id of [-1, 1.5, NaN, Infinity, 2 ** 53, ""]) {
    assert.throws(() => safetyNumber(id, KEY_A, 2, KEY_B), RangeError, String(id));
    assert.throws(() => safetyNumber(1, KEY_A, id, KEY_B), RangeError, String(id));
  }
  assert.throws(() => safetyNumber("x".repeat(1025), KEY_A, 2, KEY_B), RangeError);
  for (const id of [undefined, null, 1n, {}, "\ud800"]) {
    assert.throws(() => safetyNumber(id as unknown as string, KEY_A, 2, KEY_B), TypeError);
    assert.throws(() => safetyNumber(1, KEY_A, id as unknown as string, KEY_B), TypeError);
  }
});

Deno.test("formatSafetyNumber() gives 12 groups of 5 digits", () => {
  const n = safetyNumber(1, KEY_A, 2, KEY_B);
  const formatted = formatSafetyNumber(n);
  assert.equal(
    formatted,
    "23873 53199 77598 66707 49667 80613 48120 43595 61106 11489 66137 95033",
  );
  assert.equal(formatted.replaceAll(" ", ""), n);
});

Deno.test("formatSafetyNumber() rejects anything but 60 digits", () => {
  const n = safetyNumber(1, KEY_A, 2, KEY_B);
  for (const bad of ["", n.slice(1), n + "0", n.slice(0, 59) + "x", formatSafetyNumber(n)]) {
    assert.throws(() => formatSafetyNumber(bad), TypeError);
  }
  assert.throws(() => formatSafetyNumber(123 as unknown as string), TypeError);
});

Deno.test("formatSafetyNumber() lays out groupsPerLine groups to a line", () => {
  const n = safetyNumber(1, KEY_A, 2, KEY_B);
  assert.equal(
    formatSafetyNumber(n, { groupsPerLine: 4 }),
    "23873 53199 77598 66707\n49667 80613 48120 43595\n61106 11489 66137 95033",
  );
  assert.equal(formatSafetyNumber(n, { groupsPerLine: 12 }), formatSafetyNumber(n));
  assert.equal(formatSafetyNumber(n, { groupsPerLine: 1 }).split("\n").length, 12);
  for (const bad of [0, 5, 7, 24, 2.5, -4]) {
    assert.throws(
      () => formatSafetyNumber(n, { groupsPerLine: bad as 4 }),
      RangeError,
      String(bad),
    );
  }
});
