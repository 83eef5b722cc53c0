import assert from "node:assert/strict";
import { sha512 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";
import {
  CPACE_DSI,
  cpaceConfirmationTag,
  cpaceFinish,
  cpaceGenerator,
  cpaceGeneratorString,
  cpaceSampleScalar,
  cpaceSharedPoint,
  cpaceStart,
  cpaceTranscript,
  lvCat,
  prependLen,
} from "../../core/crypto/cpace.ts";
import { concat, fromHex, toHex, utf8 } from "../../core/crypto/bytes.ts";
import { CpaceError } from "../../core/crypto/errors.ts";

// draft-irtf-cfrg-cpace-21, appendix B.3 and A.1-A.3; see tests/testdata/cpace/SOURCE.
const V = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/cpace/ristretto255_sha512.json", import.meta.url)),
);
const h = fromHex;
const PRS = h(V.PRS);
const CI = h(V.CI);
const SID = h(V.sid);
const A = { message: h(V.Ya), ad: h(V.ADa) };
const B = { message: h(V.Yb), ad: h(V.ADb) };

function isCpaceAbort(e: unknown): boolean {
  return e instanceof CpaceError && e.code === "cpace_abort";
}

Deno.test("prependLen() and lvCat() match the draft's string utility vectors", () => {
  for (const { in: input, out } of V.prepend_len) {
    assert.equal(toHex(prependLen(h(input))), out);
  }
  assert.equal(toHex(lvCat(...V.lv_cat.in.map(h))), V.lv_cat.out);
  // A length of 300 takes two LEB128 bytes: 0xac 0x02.
  assert.equal(toHex(prependLen(new Uint8Array(300)).subarray(0, 3)), "ac0200");
});

Deno.test("cpaceTranscript() matches the draft's transcript_ir vectors", () => {
  for (const { in: [ya, ada, yb, adb], out } of V.transcript_ir_utils) {
    const t = cpaceTranscript({ message: h(ya), ad: h(ada) }, { message: h(yb), ad: h(adb) });
    assert.equal(toHex(t), out);
  }
  assert.equal(toHex(cpaceTranscript(A, B)), V.transcript_ir);
});

Deno.test("cpaceGeneratorString() and cpaceGenerator() match the ristretto255 vectors", () => {
  assert.equal(toHex(utf8(CPACE_DSI)), V.DSI);
  const gen = cpaceGeneratorString(PRS, CI, SID);
  assert.equal(toHex(gen), V.generator_string);
  // The zero padding: 128 - 1 - len(prepend_len(PRS)) - len(prepend_len(DSI)).
  assert.equal(V.zpad_length, 128 - 1 - 9 - 18);
  assert.equal(toHex(sha512(gen)), V.generator_hash);
  assert.equal(toHex(cpaceGenerator(PRS, CI, SID)), V.g);
});

Deno.test("cpaceStart() gives the vectors' Ya and Yb for their scalars", () => {
  const a = cpaceStart(PRS, CI, SID, h(V.ya));
  assert.equal(toHex(a.message), V.Ya);
  assert.equal(toHex(a.scalar), V.ya);
  const b = cpaceStart(PRS, CI, SID, h(V.yb));
  assert.equal(toHex(b.message), V.Yb);
});

Deno.test("cpaceSharedPoint() gives the vectors' K on both sides and scalar_mult_vfy's value", () => {
  assert.equal(toHex(cpaceSharedPoint(h(V.ya), B.message)), V.K);
  assert.equal(toHex(cpaceSharedPoint(h(V.yb), A.message)), V.K);
  const { s, X, result } = V.scalar_mult_valid;
  assert.equal(toHex(cpaceSharedPoint(h(s), h(X))), result);
});

Deno.test("cpaceFinish() gives the vectors' ISK for the initiator and the responder", () => {
  // The hash input as the draft lists it, then the ISK from both roles.
  const input = concat(lvCat(h(V.DSI_ISK), SID, h(V.K)), cpaceTranscript(A, B));
  assert.equal(toHex(input), V.isk_input_ir);
  assert.equal(toHex(sha512(input)), V.ISK_IR);
  const fromA = cpaceFinish({
    scalar: h(V.ya),
    sid: SID,
    initiator: A,
    responder: B,
    role: "initiator",
  });
  const fromB = cpaceFinish({
    scalar: h(V.yb),
    sid: SID,
    initiator: A,
    responder: B,
    role: "responder",
  });
  assert.equal(toHex(fromA), V.ISK_IR);
  assert.equal(toHex(fromB), V.ISK_IR);
});

Deno.test("cpaceSharedPoint() refuses the draft's invalid encoding and the identity", () => {
  const s = h(V.scalar_mult_valid.s);
  for (const bad of V.scalar_mult_vfy_invalid) {
    assert.throws(() => cpaceSharedPoint(s, h(bad)), isCpaceAbort);
  }
  // Other invalid encodings: wrong lengths, a negative (odd) field element, s >= p.
  const odd = h(V.Ya);
  odd[0]! |= 1;
  const tooBig = new Uint8Array(32).fill(0xff);
  tooBig[31] = 0x7f;
  for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33), odd, tooBig]) {
    assert.throws(() => cpaceSharedPoint(s, bad), isCpaceAbort);
  }
});

Deno.test("cpaceFinish() aborts when the other party sends the identity or an invalid element", () => {
  const identity = { message: new Uint8Array(32), ad: h(V.ADb) };
  assert.throws(
    () =>
      cpaceFinish({
        scalar: h(V.ya),
        sid: SID,
        initiator: A,
        responder: identity,
        role: "initiator",
      }),
    (e: unknown) => isCpaceAbort(e) && /identity/.test((e as Error).message),
  );
  const invalid = { message: h(V.scalar_mult_vfy_invalid[0]), ad: h(V.ADa) };
  assert.throws(
    () =>
      cpaceFinish({
        scalar: h(V.yb),
        sid: SID,
        initiator: invalid,
        responder: B,
        role: "responder",
      }),
    isCpaceAbort,
  );
});

Deno.test("both sides of a fresh run agree on the ISK; another password gives another ISK", () => {
  const ci = utf8("test CI");
  const sid = utf8("0123456789abcdef");
  const run = (prsA: string, prsB: string) => {
    const a = cpaceStart(utf8(prsA), ci, sid);
    const b = cpaceStart(utf8(prsB), ci, sid);
    const initiator = { message: a.message, ad: utf8("ADa") };
    const responder = { message: b.message, ad: utf8("ADb") };
    return [
      cpaceFinish({ scalar: a.scalar, sid, initiator, responder, role: "initiator" }),
      cpaceFinish({ scalar: b.scalar, sid, initiator, responder, role: "responder" }),
    ];
  };
  const [ia, ib] = run("MX9D4TPA", "MX9D4TPA");
  assert.equal(ia!.length, 64);
  assert.deepEqual(ia, ib);
  const [wa, wb] = run("MX9D4TPA", "MX9D4TPB");
  assert.notDeepEqual(wa, wb);
});

Deno.test("cpaceFinish() binds the associated data, the sid and the CI", () => {
  const a = cpaceStart(PRS, CI, SID, h(V.ya));
  const base = { scalar: a.scalar, sid: SID, initiator: A, responder: B };
  const isk = cpaceFinish({ ...base, role: "initiator" });
  const otherAd = cpaceFinish({ ...base, initiator: { ...A, ad: utf8("ADx") }, role: "initiator" });
  const otherSid = cpaceFinish({ ...base, sid: new Uint8Array(16), role: "initiator" });
  assert.notDeepEqual(otherAd, isk);
  assert.notDeepEqual(otherSid, isk);
  // Another CI gives another generator, so another Ya for the same scalar.
  assert.notDeepEqual(cpaceStart(PRS, utf8("other"), SID, h(V.ya)).message, A.message);
});

Deno.test("cpaceConfirmationTag() is the draft's HMAC-SHA-512 under SHA-512(CPaceMac || sid || ISK)", () => {
  const isk = h(V.ISK_IR);
  const macKey = sha512(concat(utf8("CPaceMac"), SID, isk));
  const ta = cpaceConfirmationTag(isk, SID, A);
  assert.deepEqual(ta, hmac(sha512, macKey, lvCat(A.message, A.ad)));
  assert.equal(ta.length, 64);
  assert.notDeepEqual(cpaceConfirmationTag(isk, SID, B), ta);
});

Deno.test("cpaceSampleScalar() gives 32 bytes below 2^252, never the same twice", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const s = cpaceSampleScalar();
    assert.equal(s.length, 32);
    assert.equal(s[31]! & 0xf0, 0);
    seen.add(toHex(s));
  }
  assert.equal(seen.size, 50);
});

Deno.test("CPace functions check their arguments first", () => {
  assert.throws(() => cpaceGenerator("pw" as unknown as Uint8Array, CI, SID), TypeError);
  assert.throws(() => cpaceStart(PRS, CI, SID, new Uint8Array(31)), RangeError);
  // Zero and the group order itself are not scalars.
  assert.throws(() => cpaceStart(PRS, CI, SID, new Uint8Array(32)), RangeError);
  const order = h("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  assert.throws(() => cpaceStart(PRS, CI, SID, order), RangeError);
  assert.throws(() => cpaceSharedPoint(h(V.ya), "x" as unknown as Uint8Array), TypeError);
  assert.throws(
    () =>
      cpaceFinish({
        scalar: h(V.ya),
        sid: SID,
        initiator: A,
        responder: B,
        role: "both" as "initiator",
      }),
    TypeError,
  );
  assert.throws(() => cpaceConfirmationTag(new Uint8Array(32), SID, A), RangeError);
});
