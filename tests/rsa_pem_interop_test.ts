/**
 * Live interop with Python's `cryptography` (OpenSSL) and `rsa`: fresh keys each run, in
 * all four PEM formats, both directions, compared byte for byte.
 */
import assert from "node:assert/strict";
import {
  exportRsaPrivateKey,
  exportRsaPublicKey,
  importRsaPrivateKey,
  importRsaPublicKey,
} from "../core/crypto/rsa_pem.ts";
import { generateRsaKeyPair } from "../core/crypto/rsa_keygen.ts";
import type { RsaPrivateKey } from "../core/crypto/rsa_types.ts";
import { runPython } from "./helpers/python.ts";

const SCRIPT = "rsa_pem_interop.py";

type Pems = {
  pkcs1_private: string;
  pkcs8_private: string;
  pkcs1_public: string;
  spki_public: string;
};
type HexInts = Record<"n" | "e" | "d" | "p" | "q" | "dp" | "dq" | "qInv", string>;

interface PythonKey {
  source: string;
  ints: HexInts;
  pem: Pems;
}

function fromHexInts(h: HexInts): RsaPrivateKey {
  const big = (v: string) => BigInt("0x" + v);
  return {
    n: big(h.n),
    e: big(h.e),
    d: big(h.d),
    p: big(h.p),
    q: big(h.q),
    dp: big(h.dp),
    dq: big(h.dq),
    qInv: big(h.qInv),
  };
}

function exportAll(key: RsaPrivateKey): Pems {
  return {
    pkcs1_private: exportRsaPrivateKey(key, "pkcs1"),
    pkcs8_private: exportRsaPrivateKey(key, "pkcs8"),
    pkcs1_public: exportRsaPublicKey(key, "pkcs1"),
    spki_public: exportRsaPublicKey(key, "spki"),
  };
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [((a % m) + m) % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const k = r0 / r1;
    [r0, r1] = [r1, r0 - k * r1];
    [s0, s1] = [s1, s0 - k * s1];
  }
  if (r0 !== 1n) throw new RangeError("Not invertible");
  return ((s0 % m) + m) % m;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/**
 * Builds a CRT private key from p, q and e alone, so nothing but the primes comes from
 * Python. `lambda` picks d modulo lcm(p - 1, q - 1) (as OpenSSL) or modulo phi(n) (as
 * textbooks and Python `rsa`); both are valid and must round-trip.
 */
function keyFromPrimes(p: bigint, q: bigint, e: bigint, lambda: boolean): RsaPrivateKey {
  const phi = (p - 1n) * (q - 1n);
  const d = modInverse(e, lambda ? phi / gcd(p - 1n, q - 1n) : phi);
  return { n: p * q, e, d, p, q, dp: d % (p - 1n), dq: d % (q - 1n), qInv: modInverse(q, p) };
}

/** Asks Python to load `ours` with both libraries and checks every re-export matches. */
async function assertPythonReexportsIdentically(keys: RsaPrivateKey[]): Promise<void> {
  const ours = keys.map(exportAll);
  const replies = await runPython<Record<string, string | HexInts>[]>(SCRIPT, {
    op: "reload",
    keys: ours,
  });
  assert.equal(replies.length, keys.length);
  for (const [i, reply] of replies.entries()) {
    const mine = ours[i]!;
    const key = keys[i]!;
    const bits = key.n.toString(2).length;
    assert.equal(reply.rsa_private_pkcs1, mine.pkcs1_private, `rsa private, ${bits} bits`);
    assert.equal(reply.rsa_public_pkcs1, mine.pkcs1_public, `rsa public, ${bits} bits`);
    for (const src of ["pkcs1_private", "pkcs8_private"] as const) {
      for (const fmt of Object.keys(mine) as (keyof Pems)[]) {
        assert.equal(
          reply[`cryptography_from_${src}_${fmt}`],
          mine[fmt],
          `cryptography, ${bits} bits, loaded ${src}, wrote ${fmt}`,
        );
      }
      assert.deepEqual(fromHexInts(reply[`cryptography_from_${src}_ints`] as HexInts), key);
    }
    for (const src of ["pkcs1_public", "spki_public"] as const) {
      for (const fmt of ["pkcs1_public", "spki_public"] as const) {
        assert.equal(
          reply[`cryptography_from_${src}_${fmt}`],
          mine[fmt],
          `cryptography, ${bits} bits, loaded ${src}, wrote ${fmt}`,
        );
      }
    }
  }
}

Deno.test("importRsaPrivateKey() reads fresh Python keys and re-exports them byte-identically", async () => {
  const keys = await runPython<PythonKey[]>(SCRIPT, {
    op: "generate",
    cryptography: [
      { bits: 1024, e: 65537 },
      { bits: 1025, e: 65537 },
      { bits: 1031, e: 3 },
      { bits: 2047, e: 65537 },
      { bits: 2048, e: 65537 },
      { bits: 3072, e: 65537 },
      { bits: 4096, e: 65537 },
    ],
    rsa: [
      { bits: 512, e: 65537 },
      { bits: 520, e: 3 },
      { bits: 1024, e: 65537 },
    ],
  });
  assert.equal(keys.length, 10);
  for (const { source, ints, pem } of keys) {
    const expected = fromHexInts(ints);
    const { n, e } = expected;
    assert.deepEqual(importRsaPrivateKey(pem.pkcs1_private), expected, source);
    assert.deepEqual(importRsaPrivateKey(pem.pkcs8_private), expected, source);
    assert.deepEqual(importRsaPublicKey(pem.pkcs1_public), { n, e }, source);
    assert.deepEqual(importRsaPublicKey(pem.spki_public), { n, e }, source);
    assert.deepEqual(exportAll(expected), pem, source);
    const fromPkcs8 = importRsaPrivateKey(pem.pkcs8_private);
    assert.equal(exportRsaPrivateKey(fromPkcs8, "pkcs1"), pem.pkcs1_private, source);
    const fromSpki = importRsaPublicKey(pem.spki_public);
    assert.equal(exportRsaPublicKey(fromSpki, "pkcs1"), pem.pkcs1_public, source);
    assert.equal(exportRsaPublicKey(importRsaPublicKey(pem.pkcs1_public), "spki"), pem.spki_public);
  }
});

Deno.test("exportRsaPrivateKey() writes keys built from integers that Python loads and re-exports byte-identically", async () => {
  const specs = [
    { bits: 512, e: 3 },
    { bits: 768, e: 17 },
    { bits: 1024, e: 65537 },
    { bits: 1030, e: 65537 },
    { bits: 1536, e: 257 },
  ];
  const primes = await runPython<{ e: string; p: string; q: string }[]>(SCRIPT, {
    op: "primes",
    keys: specs,
  });
  const keys: RsaPrivateKey[] = [];
  for (const [i, { e, p, q }] of primes.entries()) {
    const [P, Q, E] = [BigInt("0x" + p), BigInt("0x" + q), BigInt("0x" + e)];
    keys.push(keyFromPrimes(P, Q, E, true), keyFromPrimes(P, Q, E, false));
    // The other prime order changes dp, dq and qInv; Python must agree on that too.
    keys.push(keyFromPrimes(Q, P, E, i % 2 === 0));
  }
  await assertPythonReexportsIdentically(keys);
});

Deno.test("exportRsaPrivateKey() writes the fixed test keys so that Python re-exports them byte-identically", async () => {
  const keys: RsaPrivateKey[] = [];
  for (const bits of [1024, 2048]) {
    const url = new URL(`./testdata/rsa/rsa${bits}.json`, import.meta.url);
    keys.push(fromHexInts(JSON.parse(await Deno.readTextFile(url)) as HexInts));
  }
  await assertPythonReexportsIdentically(keys);
});

Deno.test("exportRsaPrivateKey() writes our generated keys so that Python re-exports them byte-identically", async () => {
  const keys = [512, 1024, 2048].map((bits) => generateRsaKeyPair(bits).privateKey);
  await assertPythonReexportsIdentically(keys);
});
