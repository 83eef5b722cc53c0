import assert from "node:assert/strict";
import { toBase64 } from "../../core/crypto/bytes.ts";
import { KeyFormatError } from "../../core/crypto/errors.ts";
import { decodePem, encodePem } from "../../core/crypto/pem.ts";

/** Asserts that `fn` throws a KeyFormatError whose message matches `message`. */
function assertKeyFormatError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KeyFormatError, `expected KeyFormatError, got ${err}`);
    assert.equal(err.code, "bad_key_format");
    assert.match(err.message, message);
    return true;
  });
}

function bytes(n: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 37 + 11) & 0xff);
}

const DATA = bytes(100);
const PEM = encodePem("TEST", DATA);
const SPKI_PEM = Deno.readTextFileSync(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);

Deno.test("encodePem() writes 64-character lines and a trailing newline", () => {
  const b64 = toBase64(DATA);
  assert.equal(
    PEM,
    `-----BEGIN TEST-----\n${b64.slice(0, 64)}\n${b64.slice(64, 128)}\n${
      b64.slice(128)
    }\n-----END TEST-----\n`,
  );
  for (let n = 1; n <= 200; n++) {
    const lines = encodePem("X", bytes(n)).split("\n");
    assert.equal(lines.at(-1), "", "trailing newline");
    const body = lines.slice(1, -2);
    for (const line of body.slice(0, -1)) assert.equal(line.length, 64);
    assert.ok(body.at(-1)!.length > 0 && body.at(-1)!.length <= 64);
  }
});

Deno.test("encodePem() writes no empty line when the base64 fills whole lines", () => {
  assert.equal(
    encodePem("X", bytes(48)),
    `-----BEGIN X-----\n${toBase64(bytes(48))}\n-----END X-----\n`,
  );
});

Deno.test("encodePem() rejects bad labels, empty contents and wrong types", () => {
  for (const label of ["", " X", "X ", "A--B", "A  B", "-X", "X-", "caf\u00e9", "A\nB"]) {
    assert.throws(() => encodePem(label, DATA), RangeError, `label ${JSON.stringify(label)}`);
  }
  assert.throws(() => encodePem("X", new Uint8Array()), RangeError);
  assert.throws(() => encodePem(1 as unknown as string, DATA), TypeError);
  assert.throws(() => encodePem("X", "AAAA" as unknown as Uint8Array), TypeError);
});

Deno.test("decodePem() round-trips encodePem() for every length", () => {
  for (let n = 1; n <= 200; n++) {
    const der = bytes(n);
    const block = decodePem(encodePem("RSA PRIVATE KEY", der));
    assert.equal(block.label, "RSA PRIVATE KEY");
    assert.deepEqual(block.der, der);
  }
});

Deno.test("decodePem() reads a PEM file written by Python cryptography", () => {
  const { label, der } = decodePem(SPKI_PEM);
  assert.equal(label, "PUBLIC KEY");
  assert.equal(der.length, 294);
  assert.equal(encodePem(label, der), SPKI_PEM);
});

Deno.test("decodePem() tolerates surrounding whitespace, CRLF and trailing spaces", () => {
  const variants = [
    "\n\n  " + PEM + "\n\n",
    PEM.replaceAll("\n", "\r\n"),
    PEM.trimEnd(),
    PEM.replaceAll("\n", " \t\n"),
    "\t" + PEM.replaceAll("\n", "\r\n") + "   \r\n",
  ];
  for (const text of variants) {
    const block = decodePem(text);
    assert.equal(block.label, "TEST");
    assert.deepEqual(block.der, DATA);
  }
});

Deno.test("decodePem() accepts other line widths and blank lines in the body", () => {
  const b64 = toBase64(DATA);
  const wrapped76 = `-----BEGIN TEST-----\n${b64.slice(0, 76)}\n${
    b64.slice(76)
  }\n-----END TEST-----`;
  assert.deepEqual(decodePem(wrapped76).der, DATA);
  const oneLine = `-----BEGIN TEST-----\n${b64}\n-----END TEST-----\n`;
  assert.deepEqual(decodePem(oneLine).der, DATA);
  const blank = `-----BEGIN TEST-----\n\n${b64}\n\n-----END TEST-----\n`;
  assert.deepEqual(decodePem(blank).der, DATA);
});

Deno.test("decodePem() rejects empty text and text without a BEGIN line", () => {
  assertKeyFormatError(() => decodePem(""), /^Invalid PEM: the text is empty/);
  assertKeyFormatError(() => decodePem(" \r\n\t"), /the text is empty/);
  assertKeyFormatError(
    () => decodePem(toBase64(DATA)),
    /^Invalid PEM: no -----BEGIN line found; expected PEM-armored text$/,
  );
});

Deno.test("decodePem() rejects content before the BEGIN line", () => {
  assertKeyFormatError(
    () => decodePem("Bag Attributes\n" + PEM),
    /unexpected text before the -----BEGIN line; expected only whitespace/,
  );
  assertKeyFormatError(() => decodePem("x" + PEM), /unexpected text before the -----BEGIN line/);
});

Deno.test("decodePem() rejects content after the END line", () => {
  assertKeyFormatError(
    () => decodePem(PEM + "junk\n"),
    /unexpected content on line 6 after the END line; expected only whitespace/,
  );
  assertKeyFormatError(() => decodePem(PEM + "\n\n" + PEM), /after the END line/);
  assertKeyFormatError(
    () => decodePem(PEM.trimEnd() + "x"),
    /malformed boundary line on line 5/,
  );
});

Deno.test("decodePem() rejects a missing END line", () => {
  const noEnd = PEM.slice(0, PEM.indexOf("-----END"));
  assertKeyFormatError(() => decodePem(noEnd), /^Invalid PEM: missing "-----END TEST-----" line$/);
  assertKeyFormatError(
    () => decodePem("-----BEGIN TEST-----\n"),
    /missing "-----END TEST-----" line/,
  );
});

Deno.test("decodePem() rejects mismatched BEGIN and END labels", () => {
  assertKeyFormatError(
    () => decodePem(PEM.replace("END TEST", "END OTHER")),
    /^Invalid PEM: END label "OTHER" does not match BEGIN label "TEST"$/,
  );
  assertKeyFormatError(
    () => decodePem(PEM.replace("END TEST", "END TEST2")),
    /END label "TEST2" does not match BEGIN label "TEST"/,
  );
  assertKeyFormatError(
    () => decodePem(PEM.replace("END TEST", "END test")),
    /does not match/,
  );
});

Deno.test("decodePem() rejects a second BEGIN before END", () => {
  const nested = PEM.replace("-----END", "-----BEGIN TEST-----\n-----END");
  assertKeyFormatError(
    () => decodePem(nested),
    /found a second BEGIN line on line 5 before "-----END TEST-----"/,
  );
});

Deno.test("decodePem() rejects malformed BEGIN and END lines", () => {
  assertKeyFormatError(
    () => decodePem(PEM.replace("-----BEGIN TEST-----", "-----BEGIN TEST----")),
    /malformed BEGIN line "-----BEGIN TEST----"; expected "-----BEGIN <label>-----"/,
  );
  assertKeyFormatError(
    () => decodePem(PEM.replace("-----BEGIN TEST-----", "-----BEGINTEST-----")),
    /malformed BEGIN line/,
  );
  assertKeyFormatError(
    () => decodePem(PEM.replace("-----BEGIN TEST-----", "----BEGIN TEST-----")),
    /malformed BEGIN line "----BEGIN TEST-----"/,
  );
  assertKeyFormatError(
    () => decodePem(PEM.replace("-----END TEST-----", "-----END TEST----")),
    /malformed boundary line on line 5; expected "-----END TEST-----"/,
  );
});

Deno.test("decodePem() rejects invalid labels", () => {
  for (const label of [" TEST", "TEST ", "A--B", "A  B", "A\tB", "caf\u00e9"]) {
    const text = `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
    assertKeyFormatError(
      () => decodePem(text),
      /the BEGIN label .* is not a valid RFC 7468 label; expected printable ASCII/,
    );
  }
  assertKeyFormatError(
    () => decodePem("-----BEGIN -----\nAAAA\n-----END -----\n"),
    /the BEGIN label "" is not a valid RFC 7468 label/,
  );
});

Deno.test("decodePem() rejects characters outside the base64 alphabet", () => {
  const cases: [string, RegExp][] = [
    ["AB!D", /invalid base64 character "!" on line 2, column 3/],
    ["AB-_", /invalid base64 character "-" on line 2, column 3/],
    ["AB D", /invalid base64 character " " on line 2, column 3/],
    ["AB\u00e9D", /invalid base64 character "\u00e9"/],
    ["AB.D", /invalid base64 character "."/],
  ];
  for (const [body, message] of cases) {
    assertKeyFormatError(
      () => decodePem(`-----BEGIN TEST-----\n${body}\n-----END TEST-----\n`),
      message,
    );
  }
});

Deno.test("decodePem() rejects non-canonical base64", () => {
  const cases: [string, RegExp][] = [
    ["QQ", /not canonical base64 \(Invalid base64: length must be a multiple of 4\)/],
    ["QQ=", /not canonical base64/],
    ["QR==", /not canonical base64 \(Invalid base64: non-zero trailing bits\)/],
    ["QQ==QQ==", /not canonical base64/],
    ["Q===", /not canonical base64/],
    ["QUJD\n=", /not canonical base64/],
  ];
  for (const [body, message] of cases) {
    assertKeyFormatError(
      () => decodePem(`-----BEGIN TEST-----\n${body}\n-----END TEST-----\n`),
      message,
    );
  }
});

Deno.test("decodePem() rejects an empty body", () => {
  assertKeyFormatError(
    () => decodePem("-----BEGIN TEST-----\n-----END TEST-----\n"),
    /^Invalid PEM: the "TEST" block is empty; expected base64-encoded DER$/,
  );
  assertKeyFormatError(
    () => decodePem("-----BEGIN TEST-----\n\n  \n-----END TEST-----\n"),
    /block is empty/,
  );
});

Deno.test("decodePem() rejects encrypted PEM with a clear message", () => {
  const encrypted = "-----BEGIN RSA PRIVATE KEY-----\n" +
    "Proc-Type: 4,ENCRYPTED\n" +
    "DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n" +
    "\n" +
    toBase64(DATA) + "\n" +
    "-----END RSA PRIVATE KEY-----\n";
  assertKeyFormatError(
    () => decodePem(encrypted),
    /^Encrypted PEM \(Proc-Type\/DEK-Info headers\) is not supported; expected an unencrypted key$/,
  );
  assertKeyFormatError(
    () => decodePem(encrypted.replace("Proc-Type: 4,ENCRYPTED\n", "")),
    /^Encrypted PEM/,
  );
});

Deno.test("decodePem() rejects other RFC 1421 headers", () => {
  assertKeyFormatError(
    () => decodePem(`-----BEGIN TEST-----\nComment: hi\n\nAAAA\n-----END TEST-----\n`),
    /unexpected header on line 2; expected only base64 between BEGIN and END/,
  );
});

Deno.test("decodePem() rejects non-string input", () => {
  assert.throws(() => decodePem(new Uint8Array() as unknown as string), TypeError);
  assert.throws(() => decodePem(undefined as unknown as string), TypeError);
});
