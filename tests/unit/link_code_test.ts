import assert from "node:assert/strict";
import { LINK_CODE_ALPHABET, newLinkCode, parseLinkCode } from "../../core/e2e/link_code.ts";
import { E2eError } from "../../core/e2e/e2e_errors.ts";
import { fromUtf8 } from "../../core/crypto/bytes.ts";

function badCode(pattern: RegExp) {
  return (e: unknown) =>
    e instanceof E2eError && e.code === "bad_link_code" && pattern.test(e.message) &&
    e.message.includes("expected 12 letters and digits, like 7KQ2-MX9D-4TPA");
}

Deno.test("newLinkCode() gives XXXX-XXXX-XXXX in Crockford base32", () => {
  for (let i = 0; i < 20; i++) {
    const code = newLinkCode();
    assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    assert.equal(parseLinkCode(code).code, code);
  }
});

Deno.test("newLinkCode() maps each random byte's low 5 bits to one character", () => {
  const bytes = Uint8Array.from([0, 1, 2, 31, 32, 33, 255, 10, 17, 18, 20, 27]);
  const code = newLinkCode((n) => {
    assert.equal(n, 12);
    return bytes.slice();
  });
  assert.equal(code, "012Z-01ZA-HJMV");
  assert.equal(LINK_CODE_ALPHABET.length, 32);
});

Deno.test("newLinkCode() refuses a random source that returns the wrong bytes", () => {
  assert.throws(() => newLinkCode(() => new Uint8Array(11)), TypeError);
  assert.throws(() => newLinkCode("x" as unknown as () => Uint8Array), TypeError);
});

Deno.test("parseLinkCode() splits the slot from the password", () => {
  const parsed = parseLinkCode("7KQ2-MX9D-4TPA");
  assert.equal(parsed.code, "7KQ2-MX9D-4TPA");
  assert.equal(parsed.slot, "7KQ2");
  assert.equal(fromUtf8(parsed.password), "MX9D4TPA");
});

Deno.test("parseLinkCode() accepts lower case, spaces, hyphens and Crockford's aliases", () => {
  for (
    const text of [
      "7kq2-mx9d-4tpa",
      "7KQ2MX9D4TPA",
      " 7KQ2 MX9D 4TPA ",
      "7-K-Q-2--MX9D\t4TPA\n",
      "7kq2 - mx9d - 4tpa",
    ]
  ) {
    assert.equal(parseLinkCode(text).code, "7KQ2-MX9D-4TPA", text);
  }
  // I and L read as 1, O as 0, in either case.
  const aliased = parseLinkCode("iLoO-IlOo-0000");
  assert.equal(aliased.code, "1100-1100-0000");
  assert.equal(fromUtf8(aliased.password), "11000000");
});

Deno.test("parseLinkCode() refuses a wrong length, saying how many it got", () => {
  assert.throws(() => parseLinkCode("7KQ2-MX9D-4TP"), badCode(/has 11 letters and digits/));
  assert.throws(() => parseLinkCode("7KQ2-MX9D-4TPAA"), badCode(/has 13 letters and digits/));
  assert.throws(() => parseLinkCode(" - - "), badCode(/is empty/));
  assert.throws(() => parseLinkCode("7".repeat(65)), badCode(/too long/));
});

Deno.test("parseLinkCode() refuses characters link codes do not use, naming them", () => {
  assert.throws(() => parseLinkCode("7KQ2-MX9D-4TPU"), badCode(/contains "U"/));
  assert.throws(() => parseLinkCode("7KQ2_MX9D_4TPA"), badCode(/contains "_"/));
  assert.throws(() => parseLinkCode("7KQ2.MX9D.4TPA"), badCode(/contains "\."/));
  // Non-ASCII letters that upper-case to ASCII ones are refused, not read as them.
  assert.throws(() => parseLinkCode("7KQ2-MX9D-4TPß"), badCode(/contains "ß"/));
  assert.throws(() => parseLinkCode("7KQ2-MX9D-4TPı"), badCode(/contains "ı"/));
  assert.throws(() => parseLinkCode("７KQ2-MX9D-4TPA"), badCode(/contains "７"/));
});

Deno.test("parseLinkCode() throws TypeError for a non-string", () => {
  assert.throws(() => parseLinkCode(12 as unknown as string), TypeError);
});
