import assert from "node:assert/strict";
import { concat, toHex } from "../../core/crypto/bytes.ts";
import {
  encodeDerBitString,
  encodeDerElement,
  encodeDerInteger,
  encodeDerNull,
  encodeDerOctetString,
  encodeDerOid,
  encodeDerSequence,
} from "../../core/crypto/der.ts";
import { KeyFormatError } from "../../core/crypto/errors.ts";
import { decodePem, encodePem } from "../../core/crypto/pem.ts";
import {
  exportRsaPrivateKey,
  exportRsaPrivateKeyDer,
  exportRsaPublicKey,
  exportRsaPublicKeyDer,
  importRsaPrivateKey,
  importRsaPrivateKeyDer,
  importRsaPublicKey,
  importRsaPublicKeyDer,
  RSA_ENCRYPTION_OID,
} from "../../core/crypto/rsa_pem.ts";
import type { RsaPrivateKey, RsaPublicKey } from "../../core/crypto/rsa_types.ts";

/** Asserts that `fn` throws a KeyFormatError whose message matches `message`. */
function assertKeyFormatError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KeyFormatError, `expected KeyFormatError, got ${err}`);
    assert.equal(err.code, "bad_key_format");
    assert.match(err.message, message);
    return true;
  });
}

// ------------------------------------------------------------------------------------------
// Fixtures

const SIZES = [1024, 2048] as const;
const FILES = {
  pkcs1Private: "pkcs1_private",
  pkcs8Private: "pkcs8_private",
  pkcs1Public: "pkcs1_public",
  spkiPublic: "spki_public",
} as const;
type FileKind = keyof typeof FILES;

function readTestdata(name: string): string {
  return Deno.readTextFileSync(new URL(`../testdata/rsa/${name}`, import.meta.url));
}

function pemFile(bits: number, kind: FileKind): string {
  return readTestdata(`rsa${bits}_${FILES[kind]}.pem`);
}

function keyInts(bits: number): RsaPrivateKey {
  const hex = JSON.parse(readTestdata(`rsa${bits}.json`)) as Record<string, string>;
  const big = (name: string) => BigInt("0x" + hex[name]!);
  return {
    n: big("n"),
    e: big("e"),
    d: big("d"),
    p: big("p"),
    q: big("q"),
    dp: big("dp"),
    dq: big("dq"),
    qInv: big("qInv"),
  };
}

/** The textbook toy key: p = 61, q = 53, n = 3233, e = 17, d = 2753. */
const TOY: RsaPrivateKey = {
  n: 3233n,
  e: 17n,
  d: 2753n,
  p: 61n,
  q: 53n,
  dp: 53n,
  dq: 49n,
  qInv: 38n,
};

const FIELDS = ["n", "e", "d", "p", "q", "dp", "dq", "qInv"] as const;

/** PKCS#1 RSAPrivateKey from raw integers, bypassing the exporter's validation. */
function rawPkcs1Private(k: RsaPrivateKey, version = 0n, extra: Uint8Array[] = []): Uint8Array {
  return encodeDerSequence(
    encodeDerInteger(version),
    ...FIELDS.map((f) => encodeDerInteger(k[f])),
    ...extra,
  );
}

function rawPkcs1Public(n: bigint, e: bigint): Uint8Array {
  return encodeDerSequence(encodeDerInteger(n), encodeDerInteger(e));
}

function algorithm(oid = RSA_ENCRYPTION_OID, params: Uint8Array[] = [encodeDerNull()]) {
  return encodeDerSequence(encodeDerOid(oid), ...params);
}

function rawPkcs8(
  inner: Uint8Array,
  opts: { version?: bigint; alg?: Uint8Array; extra?: Uint8Array[] } = {},
): Uint8Array {
  return encodeDerSequence(
    encodeDerInteger(opts.version ?? 0n),
    opts.alg ?? algorithm(),
    encodeDerOctetString(inner),
    ...(opts.extra ?? []),
  );
}

function rawSpki(inner: Uint8Array, alg: Uint8Array = algorithm()): Uint8Array {
  return encodeDerSequence(alg, encodeDerBitString(inner));
}

function importPkcs1Private(k: RsaPrivateKey): RsaPrivateKey {
  return importRsaPrivateKey(encodePem("RSA PRIVATE KEY", rawPkcs1Private(k)));
}

// ------------------------------------------------------------------------------------------
// Known keys written by Python cryptography

Deno.test("importRsaPrivateKey() reads the PKCS#1 and PKCS#8 test keys", () => {
  for (const bits of SIZES) {
    const expected = keyInts(bits);
    assert.deepEqual(importRsaPrivateKey(pemFile(bits, "pkcs1Private")), expected);
    assert.deepEqual(importRsaPrivateKey(pemFile(bits, "pkcs8Private")), expected);
  }
});

Deno.test("importRsaPublicKey() reads the PKCS#1 and SPKI test keys", () => {
  for (const bits of SIZES) {
    const { n, e } = keyInts(bits);
    assert.deepEqual(importRsaPublicKey(pemFile(bits, "pkcs1Public")), { n, e });
    assert.deepEqual(importRsaPublicKey(pemFile(bits, "spkiPublic")), { n, e });
  }
});

Deno.test("exportRsaPrivateKey() gives PEM byte-identical to Python cryptography", () => {
  for (const bits of SIZES) {
    for (const source of ["pkcs1Private", "pkcs8Private"] as const) {
      const key = importRsaPrivateKey(pemFile(bits, source));
      assert.equal(exportRsaPrivateKey(key, "pkcs1"), pemFile(bits, "pkcs1Private"));
      assert.equal(exportRsaPrivateKey(key, "pkcs8"), pemFile(bits, "pkcs8Private"));
      // A private key is also a public key.
      assert.equal(exportRsaPublicKey(key, "pkcs1"), pemFile(bits, "pkcs1Public"));
      assert.equal(exportRsaPublicKey(key, "spki"), pemFile(bits, "spkiPublic"));
    }
  }
});

Deno.test("exportRsaPublicKey() gives PEM byte-identical to Python cryptography", () => {
  for (const bits of SIZES) {
    for (const source of ["pkcs1Public", "spkiPublic"] as const) {
      const key = importRsaPublicKey(pemFile(bits, source));
      assert.equal(exportRsaPublicKey(key, "pkcs1"), pemFile(bits, "pkcs1Public"));
      assert.equal(exportRsaPublicKey(key, "spki"), pemFile(bits, "spkiPublic"));
    }
  }
});

Deno.test("exportRsaPrivateKeyDer() and exportRsaPublicKeyDer() match the PEM contents", () => {
  for (const bits of SIZES) {
    const key = keyInts(bits);
    const cases: [Uint8Array, FileKind][] = [
      [exportRsaPrivateKeyDer(key, "pkcs1"), "pkcs1Private"],
      [exportRsaPrivateKeyDer(key, "pkcs8"), "pkcs8Private"],
      [exportRsaPublicKeyDer(key, "pkcs1"), "pkcs1Public"],
      [exportRsaPublicKeyDer(key, "spki"), "spkiPublic"],
    ];
    for (const [der, kind] of cases) {
      assert.equal(toHex(der), toHex(decodePem(pemFile(bits, kind)).der), `${bits} ${kind}`);
    }
    assert.deepEqual(importRsaPrivateKeyDer(cases[0]![0], "pkcs1"), key);
    assert.deepEqual(importRsaPrivateKeyDer(cases[1]![0], "pkcs8"), key);
    assert.deepEqual(importRsaPublicKeyDer(cases[2]![0], "pkcs1"), { n: key.n, e: key.e });
    assert.deepEqual(importRsaPublicKeyDer(cases[3]![0], "spki"), { n: key.n, e: key.e });
  }
});

Deno.test("exportRsaPublicKey() writes the expected DER for a toy key", () => {
  assert.equal(toHex(exportRsaPublicKeyDer(TOY, "pkcs1")), "300702020ca1020111");
  assert.equal(
    toHex(exportRsaPublicKeyDer(TOY, "spki")),
    "301b300d06092a864886f70d0101010500030a00" + "300702020ca1020111",
  );
  assert.equal(
    exportRsaPublicKey(TOY, "pkcs1"),
    "-----BEGIN RSA PUBLIC KEY-----\nMAcCAgyhAgER\n-----END RSA PUBLIC KEY-----\n",
  );
});

Deno.test("exportRsaPrivateKey() round-trips the toy key in both formats and both prime orders", () => {
  // Swapping p and q changes dp, dq and qInv: 61^-1 mod 53 = 20.
  const swapped: RsaPrivateKey = { ...TOY, p: 53n, q: 61n, dp: 49n, dq: 53n, qInv: 20n };
  for (const key of [TOY, swapped]) {
    for (const format of ["pkcs1", "pkcs8"] as const) {
      assert.deepEqual(importRsaPrivateKey(exportRsaPrivateKey(key, format)), key);
    }
    for (const format of ["pkcs1", "spki"] as const) {
      assert.deepEqual(importRsaPublicKey(exportRsaPublicKey(key, format)), { n: TOY.n, e: TOY.e });
    }
  }
});

Deno.test("importRsaPrivateKey() tolerates CRLF line ends and surrounding whitespace", () => {
  const pem = pemFile(1024, "pkcs8Private");
  assert.deepEqual(importRsaPrivateKey("\r\n  " + pem.replaceAll("\n", "\r\n")), keyInts(1024));
});

// ------------------------------------------------------------------------------------------
// PEM-level errors

Deno.test("importRsaPublicKey() rejects unknown labels, listing the accepted ones", () => {
  const der = decodePem(pemFile(1024, "spkiPublic")).der;
  for (const label of ["CERTIFICATE", "EC PUBLIC KEY", "RSA PRIVATE KEY", "PRIVATE KEY"]) {
    assertKeyFormatError(
      () => importRsaPublicKey(encodePem(label, der)),
      new RegExp(
        `^Unsupported PEM label "${label}" for an RSA public key; expected "RSA PUBLIC KEY" or "PUBLIC KEY"$`,
      ),
    );
  }
});

Deno.test("importRsaPrivateKey() rejects unknown labels, listing the accepted ones", () => {
  const der = decodePem(pemFile(1024, "pkcs8Private")).der;
  for (const label of ["PUBLIC KEY", "RSA PUBLIC KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"]) {
    assertKeyFormatError(
      () => importRsaPrivateKey(encodePem(label, der)),
      /^Unsupported PEM label ".*" for an RSA private key; expected "RSA PRIVATE KEY" or "PRIVATE KEY"$/,
    );
  }
  assertKeyFormatError(
    () => importRsaPrivateKey(encodePem("ENCRYPTED PRIVATE KEY", der)),
    /"ENCRYPTED PRIVATE KEY" for an RSA private key \(encrypted PKCS#8 is not supported\)/,
  );
});

Deno.test("importRsaPrivateKey() rejects encrypted traditional PEM", () => {
  const pem = pemFile(1024, "pkcs1Private").replace(
    "-----\n",
    "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n",
  );
  assertKeyFormatError(() => importRsaPrivateKey(pem), /^Encrypted PEM .* is not supported/);
});

Deno.test("importRsaPublicKey() and importRsaPrivateKey() reject broken PEM armor", () => {
  const pub = pemFile(1024, "spkiPublic");
  const priv = pemFile(1024, "pkcs1Private");
  assertKeyFormatError(
    () =>
      importRsaPublicKey(pub.replace("-----END PUBLIC KEY-----", "-----END RSA PUBLIC KEY-----")),
    /END label "RSA PUBLIC KEY" does not match BEGIN label "PUBLIC KEY"/,
  );
  assertKeyFormatError(
    () => importRsaPrivateKey(priv.slice(0, priv.indexOf("-----END"))),
    /missing "-----END RSA PRIVATE KEY-----" line/,
  );
  assertKeyFormatError(
    () => importRsaPrivateKey(priv.replace(/\n[A-Za-z0-9]/, "\n*")),
    /invalid base64 character "\*" on line 2, column 1/,
  );
  assertKeyFormatError(() => importRsaPublicKey(pub + pub), /after the END line/);
  assertKeyFormatError(() => importRsaPublicKey(""), /the text is empty/);
});

Deno.test("importRsaPublicKey() rejects a structure that does not match its label", () => {
  const spkiDer = decodePem(pemFile(1024, "spkiPublic")).der;
  assertKeyFormatError(
    () => importRsaPublicKey(encodePem("RSA PUBLIC KEY", spkiDer)),
    /^Invalid PKCS#1 RSA public key: expected INTEGER \(tag 0x02\) for modulus at byte offset 3, got SEQUENCE \(tag 0x30\)$/,
  );
  const pkcs1Der = decodePem(pemFile(1024, "pkcs1Public")).der;
  assertKeyFormatError(
    () => importRsaPublicKey(encodePem("PUBLIC KEY", pkcs1Der)),
    /^Invalid SubjectPublicKeyInfo RSA public key: expected SEQUENCE \(tag 0x30\) for AlgorithmIdentifier at byte offset 3, got INTEGER/,
  );
  const pkcs8Der = decodePem(pemFile(1024, "pkcs8Private")).der;
  assertKeyFormatError(
    () => importRsaPrivateKey(encodePem("RSA PRIVATE KEY", pkcs8Der)),
    /^Invalid PKCS#1 RSA private key: expected INTEGER \(tag 0x02\) for modulus at byte offset 7, got SEQUENCE/,
  );
});

Deno.test("importRsaPublicKey() rejects trailing bytes after the key", () => {
  for (const kind of ["pkcs1Public", "spkiPublic"] as const) {
    const pem = pemFile(1024, kind);
    const { label, der } = decodePem(pem);
    assertKeyFormatError(
      () => importRsaPublicKey(encodePem(label, concat(der, Uint8Array.of(0)))),
      new RegExp(`unexpected trailing data at byte offset ${der.length} \\(1 byte\\)`),
    );
  }
  assertKeyFormatError(
    () => importRsaPrivateKeyDer(concat(rawPkcs1Private(TOY), encodeDerNull()), "pkcs1"),
    /trailing data .*\(2 bytes\)/,
  );
});

// ------------------------------------------------------------------------------------------
// DER-level errors

Deno.test("importRsaPublicKeyDer() rejects input truncated at every position", () => {
  for (const [kind, format] of [["pkcs1Public", "pkcs1"], ["spkiPublic", "spki"]] as const) {
    const der = decodePem(pemFile(1024, kind)).der;
    for (let len = 0; len < der.length; len++) {
      assertKeyFormatError(
        () => importRsaPublicKeyDer(der.subarray(0, len), format),
        /^Invalid (PKCS#1|SubjectPublicKeyInfo) RSA public key: .*(truncated|data ends|only \d+ remain)/,
      );
    }
  }
});

Deno.test("importRsaPrivateKeyDer() rejects input truncated at every position", () => {
  for (const [kind, format] of [["pkcs1Private", "pkcs1"], ["pkcs8Private", "pkcs8"]] as const) {
    const der = decodePem(pemFile(1024, kind)).der;
    for (let len = 0; len < der.length; len++) {
      assertKeyFormatError(
        () => importRsaPrivateKeyDer(der.subarray(0, len), format),
        /^Invalid (PKCS#1|PKCS#8) RSA private key: .*(truncated|data ends|only \d+ remain)/,
      );
    }
  }
});

Deno.test("importRsaPrivateKeyDer() rejects every single-bit corruption", () => {
  // Every field of a private key is cross-checked, so no flipped bit may go unnoticed.
  for (const [kind, format] of [["pkcs1Private", "pkcs1"], ["pkcs8Private", "pkcs8"]] as const) {
    const der = decodePem(pemFile(1024, kind)).der;
    for (let i = 0; i < der.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = der.slice();
        bad[i] = bad[i]! ^ bit;
        assert.throws(
          () => importRsaPrivateKeyDer(bad, format),
          KeyFormatError,
          `${kind}: byte ${i} ^ ${bit}`,
        );
      }
    }
  }
});

Deno.test("importRsaPublicKeyDer() rejects non-minimal and indefinite encodings", () => {
  const der = decodePem(pemFile(1024, "pkcs1Public")).der; // 30 81 89 02 81 81 00 ...
  const longLen = concat(Uint8Array.of(0x30, 0x82, 0x00, 0x89), der.subarray(3));
  assertKeyFormatError(
    () => importRsaPublicKeyDer(longLen, "pkcs1"),
    /SEQUENCE RSAPublicKey at byte offset 0 has a non-minimal length \(leading zero length byte\)/,
  );
  const padded = encodeDerSequence(
    encodeDerElement(0x02, Uint8Array.of(0x00, 0x00, 0x0c, 0xa1)),
    encodeDerInteger(17n),
  );
  assertKeyFormatError(
    () => importRsaPublicKeyDer(padded, "pkcs1"),
    /INTEGER modulus at byte offset 2 is not minimally encoded/,
  );
  const indefinite = Uint8Array.of(0x30, 0x80, 0x02, 0x02, 0x0c, 0xa1, 0x02, 0x01, 0x11, 0, 0);
  assertKeyFormatError(
    () => importRsaPublicKeyDer(indefinite, "pkcs1"),
    /indefinite length form/,
  );
});

Deno.test("importRsaPublicKey() rejects a negative, zero or even modulus", () => {
  const cases: [bigint, RegExp][] = [
    [-3233n, /INTEGER modulus at byte offset \d+ is negative; expected a non-negative integer/],
    [0n, /^Invalid RSA public key: the modulus n must be positive$/],
    [3234n, /^Invalid RSA public key: the modulus n must be odd$/],
  ];
  for (const [n, message] of cases) {
    assertKeyFormatError(() => importRsaPublicKeyDer(rawPkcs1Public(n, 17n), "pkcs1"), message);
    assertKeyFormatError(
      () => importRsaPublicKeyDer(rawSpki(rawPkcs1Public(n, 17n)), "spki"),
      message,
    );
    assertKeyFormatError(
      () => importRsaPublicKey(encodePem("RSA PUBLIC KEY", rawPkcs1Public(n, 17n))),
      message,
    );
  }
});

Deno.test("importRsaPublicKey() rejects a bad public exponent", () => {
  const cases: [bigint, RegExp][] = [
    [-17n, /INTEGER publicExponent at byte offset \d+ is negative/],
    [0n, /the public exponent e must be greater than 1/],
    [1n, /the public exponent e must be greater than 1/],
    [16n, /the public exponent e must be odd/],
    [65536n, /the public exponent e must be odd/],
    [3233n, /the public exponent e must be less than the modulus n/],
    [4001n, /the public exponent e must be less than the modulus n/],
  ];
  for (const [e, message] of cases) {
    assertKeyFormatError(() => importRsaPublicKeyDer(rawPkcs1Public(3233n, e), "pkcs1"), message);
  }
});

Deno.test("importRsaPublicKey() rejects extra or missing fields in RSAPublicKey", () => {
  const extra = encodeDerSequence(
    encodeDerInteger(3233n),
    encodeDerInteger(17n),
    encodeDerInteger(1n),
  );
  assertKeyFormatError(
    () => importRsaPublicKeyDer(extra, "pkcs1"),
    /unexpected extra element \(INTEGER \(tag 0x02\)\) at byte offset 9 inside RSAPublicKey/,
  );
  const missing = encodeDerSequence(encodeDerInteger(3233n));
  assertKeyFormatError(
    () => importRsaPublicKeyDer(missing, "pkcs1"),
    /data ends at byte offset 6 inside RSAPublicKey; expected INTEGER publicExponent/,
  );
});

Deno.test("importRsaPublicKey() rejects SPKI with a wrong algorithm", () => {
  const inner = rawPkcs1Public(3233n, 17n);
  const cases: [string, RegExp][] = [
    ["1.2.840.10045.2.1", /algorithm 1\.2\.840\.10045\.2\.1 \(EC\) at byte offset 4/],
    ["1.2.840.113549.1.1.10", /algorithm 1\.2\.840\.113549\.1\.1\.10 \(RSASSA-PSS\)/],
    ["1.3.101.112", /algorithm 1\.3\.101\.112 \(Ed25519\)/],
    [
      "1.2.3.4",
      /^Unsupported key algorithm 1\.2\.3\.4 at byte offset 4; expected rsaEncryption \(1\.2\.840\.113549\.1\.1\.1\)$/,
    ],
  ];
  for (const [oid, message] of cases) {
    assertKeyFormatError(
      () => importRsaPublicKeyDer(rawSpki(inner, algorithm(oid)), "spki"),
      message,
    );
  }
});

Deno.test("importRsaPublicKey() rejects SPKI with missing or non-NULL parameters", () => {
  const inner = rawPkcs1Public(3233n, 17n);
  assertKeyFormatError(
    () => importRsaPublicKeyDer(rawSpki(inner, algorithm(RSA_ENCRYPTION_OID, [])), "spki"),
    /data ends at byte offset 15 inside AlgorithmIdentifier; expected NULL rsaEncryption parameters/,
  );
  assertKeyFormatError(
    () =>
      importRsaPublicKeyDer(
        rawSpki(inner, algorithm(RSA_ENCRYPTION_OID, [encodeDerOctetString(Uint8Array.of(1))])),
        "spki",
      ),
    /expected NULL \(tag 0x05\) for rsaEncryption parameters at byte offset 15, got OCTET STRING/,
  );
  assertKeyFormatError(
    () =>
      importRsaPublicKeyDer(
        rawSpki(inner, algorithm(RSA_ENCRYPTION_OID, [encodeDerNull(), encodeDerNull()])),
        "spki",
      ),
    /unexpected extra element \(NULL \(tag 0x05\)\) at byte offset 17 inside AlgorithmIdentifier/,
  );
});

Deno.test("importRsaPublicKey() rejects SPKI whose BIT STRING has unused bits", () => {
  const inner = rawPkcs1Public(3233n, 17n);
  const bits = encodeDerElement(0x03, concat(Uint8Array.of(3), inner));
  const der = encodeDerSequence(algorithm(), bits);
  assertKeyFormatError(
    () => importRsaPublicKey(encodePem("PUBLIC KEY", der)),
    /^Invalid SubjectPublicKeyInfo RSA public key: BIT STRING subjectPublicKey at byte offset 17 declares 3 unused bits; expected 0/,
  );
});

Deno.test("importRsaPublicKey() rejects SPKI with junk inside or after the BIT STRING", () => {
  const inner = rawPkcs1Public(3233n, 17n);
  assertKeyFormatError(
    () => importRsaPublicKeyDer(rawSpki(concat(inner, Uint8Array.of(0))), "spki"),
    /unexpected trailing data at byte offset 29 \(1 byte\)/,
  );
  assertKeyFormatError(
    () =>
      importRsaPublicKeyDer(
        encodeDerSequence(algorithm(), encodeDerBitString(inner), encodeDerNull()),
        "spki",
      ),
    /unexpected extra element \(NULL \(tag 0x05\)\) at byte offset 29 inside SubjectPublicKeyInfo/,
  );
});

Deno.test("importRsaPrivateKey() rejects multi-prime and unknown RSAPrivateKey versions", () => {
  assertKeyFormatError(
    () => importRsaPrivateKeyDer(rawPkcs1Private(TOY, 1n), "pkcs1"),
    /^Multi-prime RSA private keys \(RSAPrivateKey version 1 at byte offset 2\) are not supported; expected a two-prime key, version 0$/,
  );
  assertKeyFormatError(
    () => importRsaPrivateKeyDer(rawPkcs8(rawPkcs1Private(TOY, 1n)), "pkcs8"),
    /^Multi-prime RSA private keys/,
  );
  for (const version of [2n, -1n, 256n]) {
    assertKeyFormatError(
      () => importRsaPrivateKeyDer(rawPkcs1Private(TOY, version), "pkcs1"),
      new RegExp(`^Unsupported RSAPrivateKey version ${version} at byte offset 2; expected 0$`),
    );
  }
});

Deno.test("importRsaPrivateKey() rejects extra fields in RSAPrivateKey", () => {
  assertKeyFormatError(
    () => importRsaPrivateKeyDer(rawPkcs1Private(TOY, 0n, [encodeDerSequence()]), "pkcs1"),
    /unexpected extra element \(SEQUENCE \(tag 0x30\)\) at byte offset \d+ inside RSAPrivateKey/,
  );
});

Deno.test("importRsaPrivateKey() rejects negative private key fields", () => {
  for (const f of FIELDS) {
    assertKeyFormatError(
      () => importRsaPrivateKeyDer(rawPkcs1Private({ ...TOY, [f]: -TOY[f] }), "pkcs1"),
      /INTEGER \w+ at byte offset \d+ is negative; expected a non-negative integer/,
    );
  }
});

Deno.test("importRsaPrivateKey() rejects inconsistent private keys, naming the check", () => {
  const cases: [Partial<RsaPrivateKey>, string][] = [
    [{ n: 3235n }, "p * q must equal the modulus n"],
    [{ p: 59n }, "p * q must equal the modulus n"],
    [{ p: 1n, q: 3233n }, "the primes p and q must be greater than 1"],
    [{ p: 0n }, "the primes p and q must be greater than 1"],
    [{ d: 0n }, "the private exponent d must satisfy 0 < d < n"],
    [{ d: 3233n + 2753n }, "the private exponent d must satisfy 0 < d < n"],
    [{ dp: 54n }, "dp must equal d mod (p - 1)"],
    [{ dp: 53n + 60n }, "dp must equal d mod (p - 1)"],
    [{ dq: 48n }, "dq must equal d mod (q - 1)"],
    [{ qInv: 37n }, "qInv * q must be congruent to 1 mod p"],
    [{ qInv: 38n + 61n }, "qInv must satisfy 0 < qInv < p"],
    [{ qInv: 0n }, "qInv must satisfy 0 < qInv < p"],
    // d = 2751 with matching dp, dq: structurally fine but not the inverse of e.
    [{ d: 2751n, dp: 51n, dq: 47n }, "e * d must be congruent to 1 mod lcm(p - 1, q - 1)"],
    [{ e: 16n }, "the public exponent e must be odd"],
    [{ n: 3234n }, "the modulus n must be odd"],
  ];
  for (const [change, check] of cases) {
    const key = { ...TOY, ...change };
    const message = new RegExp(`^Invalid RSA private key: ${check.replace(/[()*]/g, "\\$&")}$`);
    assertKeyFormatError(() => importPkcs1Private(key), message);
    assertKeyFormatError(
      () => importRsaPrivateKey(encodePem("PRIVATE KEY", rawPkcs8(rawPkcs1Private(key)))),
      message,
    );
    // The exporter refuses to write such a key at all.
    assert.throws(() => exportRsaPrivateKey(key, "pkcs1"), RangeError);
  }
});

Deno.test("importRsaPrivateKey() rejects a real key whose p was replaced", () => {
  const key = keyInts(1024);
  assertKeyFormatError(
    () => importPkcs1Private({ ...key, p: key.p + 2n }),
    /^Invalid RSA private key: p \* q must equal the modulus n$/,
  );
  assertKeyFormatError(
    () => importPkcs1Private({ ...key, d: key.d + 2n }),
    /^Invalid RSA private key: dp must equal d mod \(p - 1\)$/,
  );
});

Deno.test("importRsaPrivateKey() rejects PKCS#8 with a wrong algorithm", () => {
  const inner = rawPkcs1Private(TOY);
  const cases: [string, RegExp][] = [
    [
      "1.3.101.112",
      /^Unsupported key algorithm 1\.3\.101\.112 \(Ed25519\) at byte offset 7; expected rsaEncryption/,
    ],
    ["1.2.840.113549.1.1.10", /1\.2\.840\.113549\.1\.1\.10 \(RSASSA-PSS\)/],
    ["1.2.840.10045.2.1", /\(EC\)/],
    ["1.2.840.113549.1.1.11", /Unsupported key algorithm 1\.2\.840\.113549\.1\.1\.11 at/],
  ];
  for (const [oid, message] of cases) {
    assertKeyFormatError(
      () => importRsaPrivateKey(encodePem("PRIVATE KEY", rawPkcs8(inner, { alg: algorithm(oid) }))),
      message,
    );
  }
  assertKeyFormatError(
    () =>
      importRsaPrivateKeyDer(rawPkcs8(inner, { alg: algorithm(RSA_ENCRYPTION_OID, []) }), "pkcs8"),
    /expected NULL rsaEncryption parameters/,
  );
});

Deno.test("importRsaPrivateKey() rejects PKCS#8 versions other than 0", () => {
  for (const version of [1n, 2n, -1n]) {
    assertKeyFormatError(
      () => importRsaPrivateKeyDer(rawPkcs8(rawPkcs1Private(TOY), { version }), "pkcs8"),
      new RegExp(
        `^Unsupported PKCS#8 version ${version} at byte offset 2; expected 0 \\(PrivateKeyInfo\\)$`,
      ),
    );
  }
});

Deno.test("importRsaPrivateKey() rejects PKCS#8 attributes and extra elements", () => {
  const inner = rawPkcs1Private(TOY);
  const attributes = encodeDerElement(0xa0, new Uint8Array());
  assertKeyFormatError(
    () => importRsaPrivateKeyDer(rawPkcs8(inner, { extra: [attributes] }), "pkcs8"),
    /^PKCS#8 attributes at byte offset \d+ are not supported; expected the PrivateKeyInfo to end after privateKey$/,
  );
  assertKeyFormatError(
    () => importRsaPrivateKeyDer(rawPkcs8(inner, { extra: [encodeDerNull()] }), "pkcs8"),
    /unexpected extra element \(NULL \(tag 0x05\)\) at byte offset \d+ inside PrivateKeyInfo/,
  );
  assertKeyFormatError(
    () => importRsaPrivateKeyDer(rawPkcs8(concat(inner, Uint8Array.of(0))), "pkcs8"),
    /unexpected trailing data at byte offset \d+ \(1 byte\)/,
  );
  assertKeyFormatError(
    () =>
      importRsaPrivateKeyDer(
        encodeDerSequence(encodeDerInteger(0n), algorithm(), encodeDerBitString(inner)),
        "pkcs8",
      ),
    /expected OCTET STRING \(tag 0x04\) for privateKey at byte offset 20, got BIT STRING/,
  );
});

// ------------------------------------------------------------------------------------------
// Argument checking

Deno.test("importRsaPublicKey() and importRsaPrivateKey() reject non-string input", () => {
  for (const bad of [undefined, null, 1, new Uint8Array(4), {}]) {
    assert.throws(() => importRsaPublicKey(bad as unknown as string), TypeError);
    assert.throws(() => importRsaPrivateKey(bad as unknown as string), TypeError);
  }
});

Deno.test("importRsaPublicKeyDer() and importRsaPrivateKeyDer() check their arguments", () => {
  const der = exportRsaPublicKeyDer(TOY, "pkcs1");
  assert.throws(() => importRsaPublicKeyDer("30" as unknown as Uint8Array, "pkcs1"), TypeError);
  assert.throws(() => importRsaPrivateKeyDer([] as unknown as Uint8Array, "pkcs1"), TypeError);
  assert.throws(
    () => importRsaPublicKeyDer(der, "pkcs8" as "pkcs1"),
    { name: "RangeError", message: 'Unknown key format "pkcs8"; expected one of "pkcs1", "spki"' },
  );
  assert.throws(
    () => importRsaPrivateKeyDer(der, "spki" as "pkcs1"),
    { name: "RangeError", message: 'Unknown key format "spki"; expected one of "pkcs1", "pkcs8"' },
  );
  assert.throws(() => importRsaPublicKeyDer(der, 1 as unknown as "pkcs1"), TypeError);
});

Deno.test("exportRsaPublicKey() checks its arguments", () => {
  assert.throws(() => exportRsaPublicKey(null as unknown as RsaPublicKey, "pkcs1"), {
    name: "TypeError",
    message: "Expected an RSA public key object, got null",
  });
  assert.throws(() => exportRsaPublicKey("key" as unknown as RsaPublicKey, "spki"), TypeError);
  assert.throws(
    () => exportRsaPublicKey({ n: 3233, e: 17n } as unknown as RsaPublicKey, "pkcs1"),
    {
      name: "TypeError",
      message: 'Expected an RSA public key field "n" to be a bigint, got number',
    },
  );
  assert.throws(() => exportRsaPublicKey({ n: 3233n } as RsaPublicKey, "pkcs1"), TypeError);
  for (const format of ["pkcs8", "PKCS1", "der", ""]) {
    assert.throws(() => exportRsaPublicKey(TOY, format as "pkcs1"), {
      name: "RangeError",
      message: `Unknown key format ${JSON.stringify(format)}; expected one of "pkcs1", "spki"`,
    });
  }
  assert.throws(() => exportRsaPublicKey(TOY, undefined as unknown as "pkcs1"), TypeError);
  assert.throws(() => exportRsaPublicKey({ n: 3233n, e: 2n }, "pkcs1"), {
    name: "RangeError",
    message: "Invalid RSA public key: the public exponent e must be odd",
  });
  assert.throws(() => exportRsaPublicKey({ n: -3233n, e: 17n }, "spki"), RangeError);
});

Deno.test("exportRsaPrivateKey() checks its arguments", () => {
  const { qInv: _, ...noQInv } = TOY;
  assert.throws(() => exportRsaPrivateKey(noQInv as RsaPrivateKey, "pkcs1"), {
    name: "TypeError",
    message: 'Expected an RSA private key field "qInv" to be a bigint, got undefined',
  });
  assert.throws(
    () => exportRsaPrivateKey(undefined as unknown as RsaPrivateKey, "pkcs8"),
    TypeError,
  );
  for (const format of ["spki", "pkcs12", "PKCS8"]) {
    assert.throws(() => exportRsaPrivateKey(TOY, format as "pkcs8"), {
      name: "RangeError",
      message: `Unknown key format ${JSON.stringify(format)}; expected one of "pkcs1", "pkcs8"`,
    });
  }
  assert.throws(() => exportRsaPrivateKey({ ...TOY, qInv: 37n }, "pkcs8"), {
    name: "RangeError",
    message: "Invalid RSA private key: qInv * q must be congruent to 1 mod p",
  });
});
