import assert from "node:assert/strict";
import {
  answerLink,
  checkConfirm,
  confirmLink,
  endLink,
  HANDOVER_MAX_BYTES,
  HANDOVER_PART_MAX_BYTES,
  openHandover,
  sealHandover,
  startLink,
} from "../../core/e2e/link_seal.ts";
import {
  type LinkAnswer,
  type LinkDeviceKeys,
  type LinkOffer,
  parseLinkAnswer,
  parseLinkConfirm,
  parseLinkOffer,
} from "../../core/e2e/link_messages.ts";
import { newLinkCode } from "../../core/e2e/link_code.ts";
import { E2eError, type E2eErrorCode } from "../../core/e2e/e2e_errors.ts";
import { generateIdentityKeyPair } from "../../core/crypto/ed25519.ts";
import { fromBase64Url, randomBytes, toBase64Url, utf8 } from "../../core/crypto/bytes.ts";

const RSA_2048 = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);
const RSA_1024 = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa1024_spki_public.pem", import.meta.url),
);
const KEYS: LinkDeviceKeys = {
  name: "laptop",
  sign: toBase64Url(generateIdentityKeyPair().publicKey, false),
  rsa: RSA_2048,
};
const ACCOUNT = { user: 42, device: 3 };

function e2e(code: E2eErrorCode, pattern?: RegExp) {
  return (e: unknown) =>
    e instanceof E2eError && e.code === code && (pattern === undefined || pattern.test(e.message));
}

/** Runs the exchange up to the old device's checkConfirm; returns both states. */
function link(code = newLinkCode(), oldCode = code) {
  const started = startLink(code, KEYS);
  const answered = answerLink(oldCode, JSON.stringify(started.offer), ACCOUNT);
  return { started, answered };
}

function linked() {
  const { started, answered } = link();
  const { confirm } = confirmLink(started.state, JSON.parse(JSON.stringify(answered.answer)));
  checkConfirm(answered.state, confirm);
  return { fresh: started.state, old: answered.state };
}

Deno.test("the whole exchange links a device and hands over the payload", () => {
  const code = newLinkCode();
  const { state: fresh, offer } = startLink(code, KEYS);
  assert.deepEqual(Object.keys(offer), ["v", "sid", "ya", "name", "sign", "rsa"]);
  assert.equal(fromBase64Url(offer.sid).length, 16);
  // The wire carries JSON text; the server never sees the code's password.
  const offerText = JSON.stringify(offer);
  assert.ok(!offerText.includes(code.slice(5).replace("-", "")));
  const { state: old, answer } = answerLink(code.toLowerCase(), offerText, ACCOUNT);
  assert.deepEqual(Object.keys(answer), ["v", "yb", "user", "device", "tag"]);
  assert.equal(fromBase64Url(answer.tag).length, 64);
  assert.deepEqual(old.device, KEYS);
  const { confirm } = confirmLink(fresh, JSON.stringify(answer));
  assert.deepEqual(fresh.account, ACCOUNT);
  assert.equal(fresh.scalar, undefined);
  checkConfirm(old, JSON.stringify(confirm));
  assert.equal(old.step, "confirmed");
  const payload = utf8(JSON.stringify({ list: "signed device list", contacts: [1, 2, 3] }));
  const parts = sealHandover(old, payload);
  assert.equal(parts.length, 1);
  assert.equal(old.step, "done");
  assert.equal(old.sealKey, undefined);
  assert.deepEqual(openHandover(fresh, JSON.parse(JSON.stringify(parts))), payload);
  assert.equal(fresh.step, "done");
  assert.equal(fresh.sealKey, undefined);
});

Deno.test("a wrong code fails at confirmLink, and nothing can be confirmed or opened", () => {
  const { started, answered } = link("7KQ2-MX9D-4TPA", "7KQ2-MX9D-4TPB");
  assert.throws(
    () => confirmLink(started.state, answered.answer),
    e2e("link_failed", /did not match.*Get a new code/),
  );
  assert.equal(started.state.step, "failed");
  // The slot is burnt: a second try with the same state fails the same way.
  assert.throws(() => confirmLink(started.state, answered.answer), e2e("link_failed"));
  assert.throws(() => openHandover(started.state, ["x"]), e2e("link_failed"));
  // The old device never gets a valid confirmation, so it never seals.
  assert.throws(() => sealHandover(answered.state, new Uint8Array(1)), TypeError);
});

Deno.test("checkConfirm() refuses a forged confirmation and burns the link", () => {
  const { started, answered } = link();
  const { confirm } = confirmLink(started.state, answered.answer);
  const forged = { v: 1, tag: toBase64Url(randomBytes(64), false) };
  assert.throws(
    () => checkConfirm(answered.state, forged),
    e2e("link_failed", /did not match.*Get a new code on the new device/),
  );
  assert.equal(answered.state.sealKey, undefined);
  // Even the genuine confirmation is refused now, and nothing is sealed.
  assert.throws(() => checkConfirm(answered.state, confirm), e2e("link_failed"));
  assert.throws(() => sealHandover(answered.state, new Uint8Array(1)), e2e("link_failed"));
});

Deno.test("a server that swaps the offer's keys or name makes the exchange fail", () => {
  const swaps: Partial<LinkOffer>[] = [
    { sign: toBase64Url(generateIdentityKeyPair().publicKey, false) },
    { rsa: RSA_1024 },
    { name: "attacker" },
  ];
  for (const swap of swaps) {
    const code = newLinkCode();
    const { state, offer } = startLink(code, KEYS);
    const answered = answerLink(code, { ...offer, ...swap }, ACCOUNT);
    assert.throws(
      () => confirmLink(state, answered.answer),
      e2e("link_failed"),
      Object.keys(swap)[0],
    );
  }
});

Deno.test("a server that changes the answer's account or message makes the exchange fail", () => {
  const changes: Partial<LinkAnswer>[] = [{ user: 43 }, { device: 4 }];
  for (const change of changes) {
    const { started, answered } = link();
    assert.throws(
      () => confirmLink(started.state, { ...answered.answer, ...change }),
      e2e("link_failed"),
    );
  }
  // Another valid Yb (from another run) is a valid element, so only the tag catches it.
  const { started, answered } = link();
  const other = link();
  assert.throws(
    () => confirmLink(started.state, { ...answered.answer, yb: other.answered.answer.yb }),
    e2e("link_failed"),
  );
});

Deno.test("an identity or invalid CPace message fails the link", () => {
  const code = newLinkCode();
  const { offer } = startLink(code, KEYS);
  const identity = toBase64Url(new Uint8Array(32), false);
  assert.throws(
    () => answerLink(code, { ...offer, ya: identity }, ACCOUNT),
    e2e("link_failed", /invalid/),
  );
  const { started, answered } = link();
  assert.throws(
    () => confirmLink(started.state, { ...answered.answer, yb: identity }),
    e2e("link_failed"),
  );
});

Deno.test("tampered, reordered, dropped or extra hand-over parts fail", () => {
  const payload = randomBytes(3 * HANDOVER_PART_MAX_BYTES);
  const { fresh, old } = linked();
  const parts = sealHandover(old, payload);
  assert.equal(parts.length, 4);
  const flip = (part: string) => {
    const bytes = fromBase64Url(part);
    bytes[bytes.length - 1]! ^= 1;
    return toBase64Url(bytes, false);
  };
  const cases: string[][] = [
    [parts[0]!, flip(parts[1]!), parts[2]!, parts[3]!],
    [parts[1]!, parts[0]!, parts[2]!, parts[3]!],
    parts.slice(0, 3),
    parts.slice(1),
    [...parts, parts[3]!],
  ];
  for (const bad of cases) assert.throws(() => openHandover(fresh, bad), e2e("bad_handover"));
  // Parts of another link do not open under this link's key, even with the right count.
  const other = linked();
  const otherParts = sealHandover(other.old, payload);
  assert.throws(
    () => openHandover(fresh, [parts[0]!, otherParts[1]!, parts[2]!, parts[3]!]),
    e2e("bad_handover", /Part 2 of 4/),
  );
  // A failure keeps the state: the genuine parts still open.
  assert.deepEqual(openHandover(fresh, parts), payload);
});

Deno.test("a 1 MiB payload round-trips over several parts of at most 96 KiB", () => {
  const payload = randomBytes(1024 * 1024);
  const { fresh, old } = linked();
  const parts = sealHandover(old, payload);
  assert.equal(parts.length, 11);
  for (const part of parts) {
    assert.ok(fromBase64Url(part).length - 24 <= HANDOVER_PART_MAX_BYTES);
  }
  assert.deepEqual(openHandover(fresh, parts), payload);
});

Deno.test("an empty payload is one part, and a payload over the limit is refused", () => {
  const { fresh, old } = linked();
  const parts = sealHandover(old, new Uint8Array(0));
  assert.equal(parts.length, 1);
  assert.deepEqual(openHandover(fresh, parts), new Uint8Array(0));
  const next = linked();
  assert.throws(
    () => sealHandover(next.old, new Uint8Array(HANDOVER_MAX_BYTES + 1)),
    e2e("too_large"),
  );
});

Deno.test("openHandover() refuses malformed part lists", () => {
  const { fresh } = linked();
  const valid = "A".repeat(54);
  for (
    const bad of [
      [],
      "parts",
      Array(65).fill(valid),
      [42],
      ["short"],
      [valid + "="],
      [valid.slice(0, 53) + "+"],
    ]
  ) {
    assert.throws(() => openHandover(fresh, bad), e2e("bad_handover"), JSON.stringify(bad));
  }
});

Deno.test("link messages are parsed strictly", () => {
  const { started, answered } = link();
  const offer = started.offer;
  const badOffers: unknown[] = [
    "not json",
    "[]",
    null,
    { ...offer, extra: 1 },
    { ...offer, v: 2 },
    { ...offer, sid: offer.sid.slice(1) },
    { ...offer, sid: offer.sid + "=" },
    { ...offer, ya: offer.ya.slice(0, 42) + "B" }, // non-zero trailing bits
    { ...offer, name: "" },
    { ...offer, name: "x".repeat(65) },
    { ...offer, name: "bad\nname" },
    { ...offer, name: "lone \ud800" },
    { ...offer, sign: 7 },
    { ...offer, rsa: RSA_2048.replace("PUBLIC KEY", "RSA PUBLIC KEY") },
    { ...offer, rsa: RSA_2048.trimEnd() },
  ];
  const { v: _v, ...noVersion } = offer;
  badOffers.push(noVersion);
  for (const bad of badOffers) {
    assert.throws(() => parseLinkOffer(bad), e2e("bad_envelope"), JSON.stringify(bad));
  }
  assert.deepEqual(parseLinkOffer({ ...offer, name: "📱 phone" }).name, "📱 phone");
  const answer = answered.answer;
  for (
    const bad of [
      { ...answer, user: 0 },
      { ...answer, device: 1.5 },
      { ...answer, user: "42" },
      { ...answer, tag: answer.tag.slice(2) },
    ]
  ) {
    assert.throws(() => parseLinkAnswer(bad), e2e("bad_envelope"), JSON.stringify(bad));
  }
  for (const bad of [{ v: 1 }, { v: 1, tag: "x" }, { v: 1, tag: answer.tag, more: true }]) {
    assert.throws(() => parseLinkConfirm(bad), e2e("bad_envelope"), JSON.stringify(bad));
  }
  // A malformed answer does not burn the link: the genuine one still confirms.
  assert.throws(() => confirmLink(started.state, { ...answer, v: 2 }), e2e("bad_envelope"));
  confirmLink(started.state, answer);
});

Deno.test("steps check their arguments and their order", () => {
  assert.throws(() => startLink("7KQ2-MX9D-4TPU", KEYS), e2e("bad_link_code"));
  assert.throws(() => startLink(newLinkCode(), { ...KEYS, name: "" }), RangeError);
  assert.throws(() => startLink(newLinkCode(), { ...KEYS, rsa: "nope" }), RangeError);
  const code = newLinkCode();
  const { state, offer } = startLink(code, KEYS);
  assert.throws(() => answerLink("nope", offer, ACCOUNT), e2e("bad_link_code"));
  assert.throws(() => answerLink(code, offer, { user: 0, device: 1 }), RangeError);
  const answered = answerLink(code, offer, ACCOUNT);
  // A new device's state where an old one's is due, and steps out of order.
  assert.throws(
    () => checkConfirm(state as never, { v: 1, tag: answered.answer.tag }),
    TypeError,
  );
  assert.throws(() => openHandover(state, ["x"]), TypeError);
  assert.throws(() => sealHandover(answered.state, new Uint8Array(1)), TypeError);
  // endLink() zeroes the secrets and spends the state.
  const scalar = state.scalar!;
  endLink(state);
  assert.ok(scalar.every((b) => b === 0));
  assert.throws(() => confirmLink(state, answered.answer), e2e("link_failed"));
});
