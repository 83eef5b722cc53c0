import assert from "node:assert/strict";
import {
  edwardsToX25519PublicKey,
  edwardsToX25519SecretKey,
  generateX25519KeyPair,
  x25519,
  x25519PublicKey,
} from "../../core/crypto/x25519.ts";
import { fromHex, toHex } from "../../core/crypto/bytes.ts";
import { KeyFormatError, LowOrderPointError } from "../../core/crypto/errors.ts";
import { generateIdentityKeyPair } from "../../core/crypto/ed25519.ts";

const _DATA = new URL("../testdata/x25519/", import.meta.url);

async function _json<T>(name: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(new URL(name, _DATA))) as T;
}

interface Rfc7748 {
  scalarMult: { name: string; scalar: string; u: string; output: string }[];
  iterated: { start: string; after1: string; after1000: string };
  diffieHellman: {
    alicePrivate: string;
    alicePublic: string;
    bobPrivate: string;
    bobPublic: string;
    shared: string;
  };
}

interface WycheproofXdh {
  testGroups: {
    tests: {
      tcId: number;
      comment: string;
      flags: string[];
      public: string;
      private: string;
      shared: string;
      result: "valid" | "acceptable" | "invalid";
    }[];
  }[];
}

interface Conversion {
  name: string;
  ed25519SecretKey: string;
  ed25519PublicKey: string;
  x25519SecretKey: string;
  x25519PublicKey: string;
}

const RFC = await _json<Rfc7748>("rfc7748.json");
const WYCHEPROOF = await _json<WycheproofXdh>("wycheproof_x25519_test.json");
const CONVERSIONS = await _json<Conversion[]>("ed25519_to_x25519.json");

Deno.test("x25519() reproduces the two scalar multiplications of RFC 7748 section 5.2", () => {
  assert.equal(RFC.scalarMult.length, 2);
  for (const v of RFC.scalarMult) {
    assert.equal(toHex(x25519(fromHex(v.scalar), fromHex(v.u))), v.output, v.name);
  }
});

Deno.test("x25519() iterated 1 and 1,000 times matches RFC 7748 section 5.2", () => {
  // k becomes X25519(k, u) and u the old k, from k = u = 9. The 1,000,000-iteration value is
  // not checked: it would take minutes.
  let k = fromHex(RFC.iterated.start);
  let u = k;
  for (let i = 1; i <= 1000; i++) {
    [k, u] = [x25519(k, u), k];
    if (i === 1) assert.equal(toHex(k), RFC.iterated.after1);
  }
  assert.equal(toHex(k), RFC.iterated.after1000);
});

Deno.test("x25519PublicKey() and x25519() reproduce the Diffie-Hellman of RFC 7748 section 6.1", () => {
  const v = RFC.diffieHellman;
  const a = fromHex(v.alicePrivate);
  const b = fromHex(v.bobPrivate);
  assert.equal(toHex(x25519PublicKey(a)), v.alicePublic);
  assert.equal(toHex(x25519PublicKey(b)), v.bobPublic);
  assert.equal(toHex(x25519(a, fromHex(v.bobPublic))), v.shared);
  assert.equal(toHex(x25519(b, fromHex(v.alicePublic))), v.shared);
});

Deno.test("x25519() agrees with every kept Wycheproof case and refuses the all-zero ones", () => {
  const tests = WYCHEPROOF.testGroups.flatMap((g) => g.tests);
  let refused = 0;
  for (const t of tests) {
    const label = `tcId ${t.tcId} (${t.comment})`;
    if (t.flags.includes("ZeroSharedSecret")) {
      assert.equal(t.shared, "00".repeat(32), label);
      assert.throws(() => x25519(fromHex(t.private), fromHex(t.public)), LowOrderPointError, label);
      refused++;
    } else {
      // "acceptable" here means twist points and non-canonical encodings, which RFC 7748
      // says to accept (u is reduced modulo p); the result must still be exact.
      assert.notEqual(t.result, "invalid", label);
      assert.equal(toHex(x25519(fromHex(t.private), fromHex(t.public))), t.shared, label);
    }
  }
  assert.equal(refused, 31);
  assert.ok(tests.length > refused + 40);
});

Deno.test("x25519() refuses the low-order points 0 and 1 with a typed error", () => {
  const { secretKey } = generateX25519KeyPair();
  for (const u of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
    assert.throws(
      () => x25519(secretKey, u),
      (e) => e instanceof LowOrderPointError && e.code === "low_order_point",
    );
  }
});

Deno.test("generateX25519KeyPair() makes fresh pairs that agree with each other", () => {
  const alice = generateX25519KeyPair();
  const bob = generateX25519KeyPair();
  assert.equal(alice.secretKey.length, 32);
  assert.equal(alice.publicKey.length, 32);
  assert.deepEqual(x25519PublicKey(alice.secretKey), alice.publicKey);
  assert.notDeepEqual(alice.secretKey, bob.secretKey);
  assert.deepEqual(x25519(alice.secretKey, bob.publicKey), x25519(bob.secretKey, alice.publicKey));
});

Deno.test("x25519 functions check their arguments' types and lengths first", () => {
  const good = new Uint8Array(32).fill(7);
  assert.throws(() => x25519PublicKey("key" as unknown as Uint8Array), {
    name: "TypeError",
    message: "Expected secretKey to be a Uint8Array, got string",
  });
  assert.throws(() => x25519PublicKey(new Uint8Array(31)), {
    name: "RangeError",
    message: "Expected secretKey to be 32 bytes, got 31",
  });
  assert.throws(() => x25519(good, new Uint8Array(33)), {
    name: "RangeError",
    message: "Expected peerPublicKey to be 32 bytes, got 33",
  });
  assert.throws(() => x25519(null as unknown as Uint8Array, good), TypeError);
  assert.throws(() => edwardsToX25519PublicKey(new Uint8Array(64)), RangeError);
  assert.throws(() => edwardsToX25519SecretKey([1, 2] as unknown as Uint8Array), TypeError);
});

Deno.test("edwardsToX25519PublicKey() and edwardsToX25519SecretKey() match libsodium", () => {
  assert.equal(CONVERSIONS.length, 3);
  for (const v of CONVERSIONS) {
    const sk = edwardsToX25519SecretKey(fromHex(v.ed25519SecretKey));
    assert.equal(toHex(sk), v.x25519SecretKey, v.name);
    assert.equal(toHex(edwardsToX25519PublicKey(fromHex(v.ed25519PublicKey))), v.x25519PublicKey);
    assert.equal(toHex(x25519PublicKey(sk)), v.x25519PublicKey, v.name);
  }
});

Deno.test("converted identity keys agree like X25519 keys", () => {
  const alice = generateIdentityKeyPair();
  const bob = generateX25519KeyPair();
  const aliceSecret = edwardsToX25519SecretKey(alice.secretKey);
  const alicePublic = edwardsToX25519PublicKey(alice.publicKey);
  assert.deepEqual(x25519(aliceSecret, bob.publicKey), x25519(bob.secretKey, alicePublic));
});

Deno.test("edwardsToX25519PublicKey() refuses off-curve, non-canonical and small-order keys", () => {
  // y = 2 is not the y of any curve point.
  const offCurve = Uint8Array.of(2, ...new Uint8Array(31));
  assert.throws(() => edwardsToX25519PublicKey(offCurve), KeyFormatError);
  // y = p (2^255 - 19) is a non-canonical encoding of y = 0.
  const nonCanonical = fromHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  assert.throws(() => edwardsToX25519PublicKey(nonCanonical), KeyFormatError);
  // The identity (y = 1) and the point of order 2 (y = -1).
  const identity = Uint8Array.of(1, ...new Uint8Array(31));
  const order2 = fromHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  assert.throws(() => edwardsToX25519PublicKey(identity), LowOrderPointError);
  assert.throws(() => edwardsToX25519PublicKey(order2), LowOrderPointError);
});
