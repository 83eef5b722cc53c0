import assert from "node:assert/strict";
import { concat, fromHex, toHex } from "../../core/crypto/bytes.ts";
import {
  DER_TAG,
  DerReader,
  encodeDerBitString,
  encodeDerElement,
  encodeDerInteger,
  encodeDerLength,
  encodeDerNull,
  encodeDerOctetString,
  encodeDerOid,
  encodeDerSequence,
} from "../../core/crypto/der.ts";
import { KeyFormatError } from "../../core/crypto/errors.ts";

/** Asserts that `fn` throws a KeyFormatError whose message matches `message`. */
function assertKeyFormatError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KeyFormatError, `expected KeyFormatError, got ${err}`);
    assert.equal(err.code, "bad_key_format");
    assert.match(err.message, message);
    return true;
  });
}

function readInt(hex: string): bigint {
  const r = new DerReader(fromHex(hex));
  const v = r.readInteger("value");
  r.finish();
  return v;
}

/** A sample structure using every supported type, with a long-form length. */
interface Sample {
  number: bigint;
  oid: string;
  octets: Uint8Array;
  bits: Uint8Array;
}

function encodeSample(s: Sample): Uint8Array {
  return encodeDerSequence(
    encodeDerInteger(s.number),
    encodeDerOid(s.oid),
    encodeDerNull(),
    encodeDerOctetString(s.octets),
    encodeDerBitString(s.bits),
  );
}

function parseSample(der: Uint8Array): Sample {
  const top = new DerReader(der, "Invalid sample");
  const seq = top.readSequence("Sample");
  const number = seq.readInteger("number");
  const oid = seq.readOid("oid");
  seq.readNull("nothing");
  const octets = seq.readOctetString("octets");
  const bits = seq.readBitString("bits");
  seq.finish();
  top.finish();
  return { number, oid, octets, bits };
}

const SAMPLE: Sample = {
  number: -123456789012345678901234567890n,
  oid: "1.2.840.113549.1.1.1",
  octets: new Uint8Array(200).map((_, i) => i),
  bits: Uint8Array.of(0xde, 0xad, 0xbe, 0xef),
};

/** Deterministic xorshift PRNG so fuzz failures reproduce. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

// ------------------------------------------------------------------------------------------
// Writer

Deno.test("encodeDerLength() uses the short form below 128 and minimal long form above", () => {
  const cases: [number, string][] = [
    [0, "00"],
    [1, "01"],
    [127, "7f"],
    [128, "8180"],
    [255, "81ff"],
    [256, "820100"],
    [65535, "82ffff"],
    [65536, "83010000"],
    [0xffffffff, "84ffffffff"],
  ];
  for (const [len, hex] of cases) assert.equal(toHex(encodeDerLength(len)), hex, `length ${len}`);
});

Deno.test("encodeDerLength() rejects negative, fractional and oversized lengths", () => {
  for (const bad of [-1, 1.5, 2 ** 32, NaN, Infinity]) {
    assert.throws(() => encodeDerLength(bad), RangeError);
  }
});

Deno.test("encodeDerInteger() writes minimal two's complement", () => {
  const cases: [bigint, string][] = [
    [0n, "020100"],
    [1n, "020101"],
    [127n, "02017f"],
    [128n, "02020080"],
    [255n, "020200ff"],
    [256n, "02020100"],
    [32767n, "02027fff"],
    [32768n, "0203008000"],
    [65537n, "0203010001"],
    [-1n, "0201ff"],
    [-128n, "020180"],
    [-129n, "0202ff7f"],
    [-256n, "0202ff00"],
    [-32768n, "02028000"],
    [-32769n, "0203ff7fff"],
  ];
  for (const [v, hex] of cases) assert.equal(toHex(encodeDerInteger(v)), hex, `value ${v}`);
});

Deno.test("encodeDerInteger() writes a 0x00 prefix when the top bit of a positive value is set", () => {
  const n = (1n << 2047n) | 1n;
  const der = encodeDerInteger(n);
  assert.equal(toHex(der.subarray(0, 5)), "0282010100");
  assert.equal(der.length, 4 + 257);
});

Deno.test("encodeDerInteger() rejects non-bigint values", () => {
  assert.throws(() => encodeDerInteger(5 as unknown as bigint), TypeError);
});

Deno.test("encodeDerOid() encodes rsaEncryption and other OIDs", () => {
  assert.equal(toHex(encodeDerOid("1.2.840.113549.1.1.1")), "06092a864886f70d010101");
  assert.equal(toHex(encodeDerOid("1.3.101.112")), "06032b6570");
  assert.equal(toHex(encodeDerOid("2.5.4.3")), "0603550403");
  assert.equal(toHex(encodeDerOid("0.0")), "060100");
  assert.equal(toHex(encodeDerOid("2.999.3")), "0603883703");
});

Deno.test("encodeDerOid() rejects malformed OID strings", () => {
  for (const bad of ["", "1", "1.", ".1", "1..2", "3.1", "1.40", "0.40", "1.02", "a.b", "1.2 "]) {
    assert.throws(() => encodeDerOid(bad), RangeError, `OID ${JSON.stringify(bad)}`);
  }
  assert.throws(() => encodeDerOid(1 as unknown as string), TypeError);
});

Deno.test("encodeDerNull() and the string encoders write the expected bytes", () => {
  assert.equal(toHex(encodeDerNull()), "0500");
  assert.equal(toHex(encodeDerOctetString(Uint8Array.of(1, 2))), "04020102");
  assert.equal(toHex(encodeDerBitString(Uint8Array.of(0xff))), "030200ff");
  assert.equal(toHex(encodeDerBitString(new Uint8Array())), "030100");
  assert.equal(toHex(encodeDerSequence()), "3000");
  assert.equal(
    toHex(encodeDerSequence(encodeDerInteger(1n), encodeDerNull())),
    "3005020101" + "0500",
  );
});

Deno.test("encodeDerElement() rejects bad tags and content", () => {
  assert.throws(() => encodeDerElement(0x1f, new Uint8Array()), RangeError);
  assert.throws(() => encodeDerElement(256, new Uint8Array()), RangeError);
  assert.throws(() => encodeDerElement(-1, new Uint8Array()), RangeError);
  assert.throws(() => encodeDerElement(4, [1] as unknown as Uint8Array), TypeError);
  assert.throws(() => encodeDerBitString("x" as unknown as Uint8Array), TypeError);
});

// ------------------------------------------------------------------------------------------
// Reader: valid input

Deno.test("DerReader() round-trips a structure using every supported type", () => {
  const der = encodeSample(SAMPLE);
  assert.deepEqual(parseSample(der), SAMPLE);
});

Deno.test("DerReader() round-trips integers of every size and sign", () => {
  const next = prng(42);
  const values: bigint[] = [0n, 1n, -1n, 127n, 128n, -128n, -129n, 255n, 256n];
  for (let bits = 1; bits <= 4200; bits += 37) {
    let v = 0n;
    for (let i = 0; i < bits; i += 32) v = (v << 32n) | BigInt(next());
    v &= (1n << BigInt(bits)) - 1n;
    values.push(v, -v, v + 1n, -v - 1n, 1n << BigInt(bits), -(1n << BigInt(bits)));
  }
  for (const v of values) {
    const r = new DerReader(encodeDerInteger(v));
    assert.equal(r.readInteger("value"), v);
    r.finish();
  }
});

Deno.test("DerReader() round-trips OIDs", () => {
  for (
    const oid of [
      "0.0",
      "0.39",
      "1.0",
      "1.39",
      "2.0",
      "2.47",
      "2.999.3",
      "1.2.840.113549.1.1.1",
      "1.2.840.113549.1.1.10",
      "1.3.101.112",
      "2.25.329800735698586629295641978511506172918",
    ]
  ) {
    const r = new DerReader(encodeDerOid(oid));
    assert.equal(r.readOid("oid"), oid);
    r.finish();
  }
});

Deno.test("DerReader() reads the minimal integers next to non-minimal ones", () => {
  assert.equal(readInt("02020080"), 128n);
  assert.equal(readInt("0202ff7f"), -129n);
  assert.equal(readInt("020100"), 0n);
  assert.equal(readInt("0201ff"), -1n);
});

Deno.test("DerReader() reports offset, done and peekTag as it reads", () => {
  const r = new DerReader(fromHex("0201050500"));
  assert.equal(r.offset, 0);
  assert.equal(r.done, false);
  assert.equal(r.peekTag(), DER_TAG.INTEGER);
  assert.equal(r.readInteger("a"), 5n);
  assert.equal(r.offset, 3);
  assert.equal(r.peekTag(), DER_TAG.NULL);
  r.readNull("b");
  assert.equal(r.done, true);
  assert.equal(r.peekTag(), undefined);
  r.finish();
});

Deno.test("DerReader() accepts the canonical re-encoding of everything it parses", () => {
  // Strictness property: if mutated bytes still parse, they must be the one DER encoding
  // of the parsed values, so re-encoding gives the same bytes back.
  const der = encodeSample(SAMPLE);
  const next = prng(7);
  let parsed = 0;
  for (let trial = 0; trial < 5000; trial++) {
    const m = der.slice();
    const flips = 1 + (next() % 3);
    for (let f = 0; f < flips; f++) {
      const at = next() % m.length;
      m[at] = m[at]! ^ (1 << (next() % 8));
    }
    let s: Sample;
    try {
      s = parseSample(m);
    } catch (err) {
      assert.ok(err instanceof KeyFormatError, `non-KeyFormatError: ${err}`);
      continue;
    }
    parsed++;
    assert.equal(toHex(encodeSample(s)), toHex(m));
  }
  assert.ok(parsed > 0, "some mutations only change content and must still parse");
});

// ------------------------------------------------------------------------------------------
// Reader: malformed input

Deno.test("DerReader() rejects input truncated at every position", () => {
  const der = encodeSample(SAMPLE);
  for (let len = 0; len < der.length; len++) {
    assertKeyFormatError(
      () => parseSample(der.subarray(0, len)),
      /^Invalid sample: .*(truncated|data ends|only \d+ remain)/,
    );
  }
});

Deno.test("DerReader() rejects trailing bytes after the top-level element", () => {
  const der = concat(encodeSample(SAMPLE), Uint8Array.of(0x00));
  assertKeyFormatError(
    () => parseSample(der),
    new RegExp(
      `^Invalid sample: unexpected trailing data at byte offset ${der.length - 1} \\(1 byte\\)`,
    ),
  );
  assertKeyFormatError(
    () => parseSample(concat(encodeSample(SAMPLE), encodeDerNull())),
    /trailing data .*\(2 bytes\); expected the data to end/,
  );
});

Deno.test("DerReader() rejects an extra element inside a SEQUENCE", () => {
  const r = new DerReader(fromHex("3006020101020102"));
  const seq = r.readSequence("Pair");
  seq.readInteger("first");
  assertKeyFormatError(
    () => seq.finish(),
    /unexpected extra element \(INTEGER \(tag 0x02\)\) at byte offset 5 inside Pair; expected the end of the Pair/,
  );
});

Deno.test("DerReader() rejects reading past the end of a SEQUENCE", () => {
  const r = new DerReader(fromHex("3003020101"));
  const seq = r.readSequence("Pair");
  seq.readInteger("first");
  assertKeyFormatError(
    () => seq.readInteger("second"),
    /data ends at byte offset 5 inside Pair; expected INTEGER second/,
  );
  assertKeyFormatError(
    () => new DerReader(new Uint8Array()).readSequence("Top"),
    /^Invalid DER: data ends at byte offset 0; expected SEQUENCE Top$/,
  );
});

Deno.test("DerReader() rejects a length running past the end of the data", () => {
  assertKeyFormatError(
    () => readInt("020301"),
    /INTEGER value at byte offset 0 declares 3 content bytes but only 1 remain/,
  );
  // Inner length larger than its enclosing SEQUENCE, even though the buffer is longer.
  const r = new DerReader(fromHex("30030203010203"));
  const seq = r.readSequence("Outer");
  assertKeyFormatError(
    () => seq.readInteger("inner"),
    /declares 3 content bytes but only 1 remain in Outer/,
  );
  assertKeyFormatError(
    () => new DerReader(fromHex("3084ffffffff00")).readSequence("Top"),
    /declares 4294967295 content bytes but only 1 remain/,
  );
});

Deno.test("DerReader() rejects non-minimal length encodings", () => {
  assertKeyFormatError(
    () => readInt("02810101"),
    /non-minimal length \(long form for length 1\); expected the short form for lengths below 128/,
  );
  assertKeyFormatError(
    () => readInt("0281" + "7f" + "01".repeat(127)),
    /long form for length 127/,
  );
  assertKeyFormatError(
    () => readInt("028200" + "80" + "01".repeat(128)),
    /non-minimal length \(leading zero length byte\)/,
  );
  assertKeyFormatError(
    () => new DerReader(fromHex("308400000003020101")).readSequence("Top"),
    /leading zero length byte/,
  );
  // A long-form length of 128 or more is the minimal form and accepted.
  assert.equal(readInt("028180" + "11".repeat(128)) > 0n, true);
});

Deno.test("DerReader() rejects the indefinite length form", () => {
  assertKeyFormatError(
    () => new DerReader(fromHex("30800201010000")).readSequence("Top"),
    /SEQUENCE Top at byte offset 0 uses the indefinite length form \(0x80\), which DER forbids; expected a definite length/,
  );
});

Deno.test("DerReader() rejects length fields longer than four bytes", () => {
  assertKeyFormatError(
    () => new DerReader(fromHex("30850100000000")).readSequence("Top"),
    /has a 5-byte length field; expected at most 4 length bytes/,
  );
  assertKeyFormatError(
    () => new DerReader(fromHex("30ff")).readSequence("Top"),
    /has a 127-byte length field/,
  );
});

Deno.test("DerReader() rejects a length field cut short", () => {
  assertKeyFormatError(
    () => new DerReader(fromHex("308201")).readSequence("Top"),
    /truncated inside its 2-byte length field/,
  );
  assertKeyFormatError(
    () => new DerReader(fromHex("30")).readSequence("Top"),
    /truncated before its length byte/,
  );
});

Deno.test("DerReader() rejects wrong tags, naming expected and actual", () => {
  assertKeyFormatError(
    () => new DerReader(fromHex("3100")).readSequence("Top"),
    /^Invalid DER: expected SEQUENCE \(tag 0x30\) for Top at byte offset 0, got SET \(tag 0x31\)$/,
  );
  assertKeyFormatError(
    () => new DerReader(fromHex("040101")).readInteger("modulus"),
    /expected INTEGER \(tag 0x02\) for modulus at byte offset 0, got OCTET STRING \(tag 0x04\)/,
  );
  assertKeyFormatError(
    () => new DerReader(fromHex("a003020100")).readNull("x"),
    /expected NULL \(tag 0x05\) for x at byte offset 0, got tag 0xa0/,
  );
  // Constructed and high-tag-number forms of the expected types are wrong tags too.
  assertKeyFormatError(() => new DerReader(fromHex("2400")).readOctetString("x"), /tag 0x24/);
  assertKeyFormatError(() => new DerReader(fromHex("1f0200")).readInteger("x"), /tag 0x1f/);
});

Deno.test("DerReader() rejects non-minimal INTEGER encodings", () => {
  for (const hex of ["02020000", "0202007f", "02020001", "0203000fff", "0202ffff", "0202ff80"]) {
    assertKeyFormatError(
      () => readInt(hex),
      /INTEGER value at byte offset 0 is not minimally encoded \(redundant leading 0x(00|ff) byte\); expected the shortest two's-complement form/,
    );
  }
});

Deno.test("DerReader() rejects an empty INTEGER", () => {
  assertKeyFormatError(
    () => readInt("0200"),
    /INTEGER value at byte offset 0 has no content bytes; expected at least one/,
  );
});

Deno.test("readNonNegativeInteger() rejects negative integers", () => {
  for (const hex of ["0201ff", "020180", "02028000"]) {
    assertKeyFormatError(
      () => new DerReader(fromHex(hex)).readNonNegativeInteger("modulus"),
      /INTEGER modulus at byte offset 0 is negative; expected a non-negative integer/,
    );
  }
  assert.equal(new DerReader(fromHex("020100")).readNonNegativeInteger("zero"), 0n);
});

Deno.test("readNull() rejects NULL with contents", () => {
  assertKeyFormatError(
    () => new DerReader(fromHex("050100")).readNull("parameters"),
    /NULL parameters at byte offset 0 has 1 content bytes; expected none/,
  );
});

Deno.test("readOid() rejects empty, non-minimal and unterminated OIDs", () => {
  assertKeyFormatError(
    () => new DerReader(fromHex("0600")).readOid("algorithm"),
    /OBJECT IDENTIFIER algorithm at byte offset 0 is empty/,
  );
  assertKeyFormatError(
    () => new DerReader(fromHex("06032a8001")).readOid("algorithm"),
    /non-minimal subidentifier at byte offset 3 \(leading 0x80 byte\)/,
  );
  assertKeyFormatError(
    () => new DerReader(fromHex("0602802a")).readOid("algorithm"),
    /non-minimal subidentifier at byte offset 2/,
  );
  assertKeyFormatError(
    () => new DerReader(fromHex("06022a86")).readOid("algorithm"),
    /ends inside a subidentifier; expected its last byte to have the high bit clear/,
  );
});

Deno.test("readBitString() rejects unused bits and a missing unused-bits byte", () => {
  assertKeyFormatError(
    () => new DerReader(fromHex("030201fe")).readBitString("subjectPublicKey"),
    /BIT STRING subjectPublicKey at byte offset 0 declares 1 unused bits; expected 0/,
  );
  assertKeyFormatError(
    () => new DerReader(fromHex("030107")).readBitString("key"),
    /declares 7 unused bits/,
  );
  assertKeyFormatError(
    () => new DerReader(fromHex("0300")).readBitString("key"),
    /has no unused-bits byte; expected at least one content byte/,
  );
  assertKeyFormatError(
    () => new DerReader(fromHex("030201fe")).readBitStringAsDer("key"),
    /declares 1 unused bits/,
  );
});

Deno.test("readOctetStringAsDer() and readBitStringAsDer() report absolute offsets", () => {
  // SEQUENCE { OCTET STRING { INTEGER 00 01 (non-minimal) } }
  const r1 = new DerReader(fromHex("3006040402020001"), "Invalid wrapper");
  const inner1 = r1.readSequence("Outer").readOctetStringAsDer("wrapped");
  assertKeyFormatError(
    () => inner1.readInteger("value"),
    /^Invalid wrapper: INTEGER value at byte offset 4 is not minimally encoded/,
  );
  // BIT STRING { 00, INTEGER 5, trailing 00 }
  const r2 = new DerReader(fromHex("030500020105" + "00"));
  const inner2 = r2.readBitStringAsDer("key");
  assert.equal(inner2.readInteger("v"), 5n);
  assertKeyFormatError(() => inner2.finish(), /trailing data at byte offset 6/);
  const r3 = new DerReader(fromHex("0404020105ff"));
  const inner3 = r3.readOctetStringAsDer("key");
  assert.equal(inner3.readInteger("v"), 5n);
  assertKeyFormatError(() => inner3.finish(), /trailing data at byte offset 5 \(1 byte\)/);
});

Deno.test("readOctetString() and readBitString() return copies", () => {
  const der = fromHex("0402abcd");
  const out = new DerReader(der).readOctetString("x");
  out[0] = 0;
  assert.equal(der[2], 0xab);
});

Deno.test("DerReader() rejects non-Uint8Array input and non-string context", () => {
  assert.throws(() => new DerReader("3000" as unknown as Uint8Array), TypeError);
  assert.throws(() => new DerReader(new Uint8Array(), 5 as unknown as string), TypeError);
});

Deno.test("DerReader() errors are KeyFormatError with code bad_key_format", () => {
  try {
    readInt("0200");
    assert.fail("expected an error");
  } catch (err) {
    assert.ok(err instanceof KeyFormatError);
    assert.equal(err.name, "KeyFormatError");
    assert.equal(err.code, "bad_key_format");
  }
});
