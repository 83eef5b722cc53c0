/**
 * Server-to-server proofs: HMAC-SHA256 bound to the role, both server IDs and the other
 * side's nonce; any change fails. Cluster secrets and nonces have fixed, checked formats.
 */

import assert from "node:assert/strict";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fromBase64Url, toBase64Url, utf8 } from "../../core/crypto/bytes.ts";
import { checkPeerProof, newNonce, peerProof } from "../../core/mesh/peer_auth.ts";
import {
  MIN_SECRET_BYTES,
  newClusterSecret,
  parseClusterSecret,
} from "../../core/cluster/secret.ts";

const _B64URL_43 = /^[A-Za-z0-9_-]{43}$/;
const _SECRET = new Uint8Array(32).map((_, i) => i + 1);
const _NONCE = "YtQmvcuS5Dk7cCXXwqCk0Zk8r2DK6CHUPsNMLFyDO8w";

Deno.test("peerProof() is HMAC-SHA256 over the v1 label, role, IDs and nonce", () => {
  const expected = toBase64Url(
    hmac(sha256, _SECRET, utf8(`fastchat-peer-v1\ndialer\n2\n1\n${_NONCE}`)),
    false,
  );
  assert.equal(peerProof(_SECRET, "dialer", 2, 1, _NONCE), expected);
  assert.match(expected, _B64URL_43);
});

Deno.test("peerProof() is deterministic", () => {
  assert.equal(
    peerProof(_SECRET, "acceptor", 1, 2, _NONCE),
    peerProof(_SECRET, "acceptor", 1, 2, _NONCE),
  );
});

Deno.test("checkPeerProof() accepts a proof for the same role, IDs, nonce and secret", () => {
  for (const role of ["dialer", "acceptor"] as const) {
    const proof = peerProof(_SECRET, role, 3, 9, _NONCE);
    assert.equal(checkPeerProof(_SECRET, role, 3, 9, _NONCE, proof), true);
    // A copy of the secret works too: only the bytes matter.
    assert.equal(checkPeerProof(new Uint8Array(_SECRET), role, 3, 9, _NONCE, proof), true);
  }
});

Deno.test("checkPeerProof() rejects a proof made for the other role", () => {
  const dialer = peerProof(_SECRET, "dialer", 1, 2, _NONCE);
  assert.equal(checkPeerProof(_SECRET, "acceptor", 1, 2, _NONCE, dialer), false);
  const acceptor = peerProof(_SECRET, "acceptor", 1, 2, _NONCE);
  assert.equal(checkPeerProof(_SECRET, "dialer", 1, 2, _NONCE, acceptor), false);
});

Deno.test("checkPeerProof() rejects a proof for other server IDs", () => {
  const proof = peerProof(_SECRET, "dialer", 1, 2, _NONCE);
  assert.equal(checkPeerProof(_SECRET, "dialer", 3, 2, _NONCE, proof), false); // from
  assert.equal(checkPeerProof(_SECRET, "dialer", 1, 3, _NONCE, proof), false); // to
  assert.equal(checkPeerProof(_SECRET, "dialer", 2, 1, _NONCE, proof), false); // reflected
  // IDs are separated, so 1|23 and 12|3 differ.
  assert.notEqual(
    peerProof(_SECRET, "dialer", 1, 23, _NONCE),
    peerProof(_SECRET, "dialer", 12, 3, _NONCE),
  );
});

Deno.test("checkPeerProof() rejects a proof for another nonce", () => {
  const proof = peerProof(_SECRET, "dialer", 1, 2, _NONCE);
  const other = `${_NONCE.slice(0, -1)}${_NONCE.endsWith("w") ? "A" : "w"}`;
  assert.equal(checkPeerProof(_SECRET, "dialer", 1, 2, other, proof), false);
  assert.equal(checkPeerProof(_SECRET, "dialer", 1, 2, newNonce(), proof), false);
  assert.equal(checkPeerProof(_SECRET, "dialer", 1, 2, "", proof), false);
});

Deno.test("checkPeerProof() rejects a proof made with another secret", () => {
  const other = new Uint8Array(_SECRET);
  other[31]! ^= 1;
  const proof = peerProof(other, "dialer", 1, 2, _NONCE);
  assert.equal(checkPeerProof(_SECRET, "dialer", 1, 2, _NONCE, proof), false);
  const longer = new Uint8Array([..._SECRET, 1]);
  assert.equal(
    checkPeerProof(longer, "dialer", 1, 2, _NONCE, peerProof(_SECRET, "dialer", 1, 2, _NONCE)),
    false,
  );
});

Deno.test("checkPeerProof() rejects a tampered proof", () => {
  const proof = peerProof(_SECRET, "dialer", 1, 2, _NONCE);
  const flipped = (i: number) =>
    proof.slice(0, i) + (proof[i] === "A" ? "B" : "A") + proof.slice(i + 1);
  for (
    const bad of [
      flipped(0),
      flipped(21),
      flipped(42),
      proof.slice(1),
      `${proof}A`,
      "",
      `${proof}=`,
    ]
  ) {
    assert.equal(checkPeerProof(_SECRET, "dialer", 1, 2, _NONCE, bad), false, bad);
  }
  assert.equal(checkPeerProof(_SECRET, "dialer", 1, 2, _NONCE, proof.toLowerCase()), false);
});

Deno.test("newNonce() returns 43 url-safe base64 characters of 32 fresh bytes", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const n = newNonce();
    assert.match(n, _B64URL_43);
    assert.equal(fromBase64Url(n).length, 32);
    seen.add(n);
  }
  assert.equal(seen.size, 50);
});

Deno.test("newClusterSecret() returns url-safe base64 that parseClusterSecret() accepts", () => {
  const a = newClusterSecret();
  const b = newClusterSecret();
  assert.notEqual(a, b);
  assert.match(a, _B64URL_43);
  const bytes = parseClusterSecret(a);
  assert.equal(bytes.length, 32);
  assert.equal(toBase64Url(bytes, false), a);
});

Deno.test("parseClusterSecret() ignores whitespace around the secret", () => {
  const text = newClusterSecret();
  const expected = fromBase64Url(text);
  for (const wrapped of [`${text}\n`, `  ${text}  `, `\t${text}\r\n`, `\n\n${text}\n\n`]) {
    assert.deepEqual(parseClusterSecret(wrapped), expected);
  }
});

Deno.test("parseClusterSecret() accepts padded secrets and secrets longer than 32 bytes", () => {
  const bytes = new Uint8Array(40).fill(9);
  assert.deepEqual(parseClusterSecret(toBase64Url(bytes)), bytes);
  assert.deepEqual(parseClusterSecret(toBase64Url(bytes, false)), bytes);
  const exact = new Uint8Array(MIN_SECRET_BYTES).fill(1);
  assert.deepEqual(parseClusterSecret(toBase64Url(exact)), exact);
});

Deno.test("parseClusterSecret() rejects secrets shorter than 32 bytes with a RangeError", () => {
  assert.equal(MIN_SECRET_BYTES, 32);
  for (const n of [0, 1, 16, 31]) {
    const text = toBase64Url(new Uint8Array(n).fill(5), false);
    assert.throws(() => parseClusterSecret(text), (err: unknown) => {
      assert.ok(err instanceof RangeError);
      assert.equal(
        err.message,
        `Cluster secret is ${n} bytes; expected at least 32 bytes, url-safe base64`,
      );
      return true;
    });
  }
  assert.throws(() => parseClusterSecret("   \n"), RangeError);
});

Deno.test("parseClusterSecret() rejects text that is not url-safe base64 with a SyntaxError", () => {
  const good = newClusterSecret();
  const bad = [
    `${good.slice(0, 10)}+${good.slice(11)}`, // standard base64 alphabet
    `${good.slice(0, 10)}/${good.slice(11)}`,
    `${good.slice(0, 20)} ${good.slice(20)}`, // whitespace inside
    `${good}AA`, // 45 characters: an impossible length
    `${good}===`,
    "not a secret at all, just words!",
  ];
  for (const text of bad) {
    assert.throws(() => parseClusterSecret(text), (err: unknown) => {
      assert.ok(err instanceof SyntaxError, `${text}: ${err}`);
      assert.match(err.message, /base64url/);
      return true;
    });
  }
});
