import assert from "node:assert/strict";
import { cbc } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  fernetDecrypt,
  fernetEncrypt,
  fernetTimestamp,
  generateFernetKey,
} from "../../core/crypto/fernet.ts";
import { fromBase64Url, fromUtf8, toBase64, toBase64Url, utf8 } from "../../core/crypto/bytes.ts";
import { InvalidToken, KeyFormatError } from "../../core/crypto/errors.ts";

interface GenerateVector {
  token: string;
  now: string;
  iv: number[];
  src: string;
  secret: string;
}
interface VerifyVector {
  token: string;
  now: string;
  ttl_sec: number;
  src: string;
  secret: string;
}
interface InvalidVector {
  desc: string;
  token: string;
  now: string;
  ttl_sec: number;
  secret: string;
}

async function _load<T>(name: string): Promise<T[]> {
  const url = new URL(`../testdata/fernet/${name}`, import.meta.url);
  return JSON.parse(await Deno.readTextFile(url)) as T[];
}

const GENERATE = await _load<GenerateVector>("generate.json");
const VERIFY = await _load<VerifyVector>("verify.json");
const INVALID = await _load<InvalidVector>("invalid.json");

/** RFC 3339 time to Unix seconds. */
function _seconds(rfc3339: string): number {
  const ms = Date.parse(rfc3339);
  assert.ok(Number.isFinite(ms), `unparsable time ${rfc3339}`);
  return ms / 1000;
}

const KEY = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
const T = 499162800; // 1985-10-26T01:20:00-07:00
const IV = Uint8Array.from({ length: 16 }, (_, i) => i);
const MESSAGE = "Invalid Fernet token";

/**
 * Builds a token from raw parts with a correct MAC, independently of fernet.ts, so tests can
 * reach the checks behind the MAC (version byte, padding, block size, timestamp).
 */
function _rawToken(
  key: string,
  parts: { version?: number; timestamp?: bigint; iv?: Uint8Array; ciphertext: Uint8Array },
): string {
  const k = fromBase64Url(key);
  const body = new Uint8Array(25 + parts.ciphertext.length);
  body[0] = parts.version ?? 0x80;
  new DataView(body.buffer).setBigUint64(1, parts.timestamp ?? BigInt(T));
  body.set(parts.iv ?? IV, 9);
  body.set(parts.ciphertext, 25);
  const mac = hmac(sha256, k.subarray(0, 16), body);
  const token = new Uint8Array(body.length + 32);
  token.set(body);
  token.set(mac, body.length);
  return toBase64Url(token);
}

function _aesCbc(key: string, plaintext: Uint8Array, padding: boolean): Uint8Array {
  const k = fromBase64Url(key).subarray(16);
  return cbc(k, IV, { disablePadding: !padding }).encrypt(plaintext);
}

function _assertInvalidToken(fn: () => unknown, what: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidToken, `${what}: expected InvalidToken, got ${e}`);
    assert.equal(e.message, MESSAGE, what);
    assert.equal(e.code, "invalid_token", what);
    return true;
  });
}

Deno.test("fernetEncrypt() reproduces every generate.json vector", () => {
  assert.ok(GENERATE.length > 0);
  for (const v of GENERATE) {
    const token = fernetEncrypt(v.secret, utf8(v.src), {
      now: _seconds(v.now),
      iv: Uint8Array.from(v.iv),
    });
    assert.equal(token, v.token);
  }
});

Deno.test("fernetDecrypt() accepts every verify.json vector", () => {
  assert.ok(VERIFY.length > 0);
  for (const v of VERIFY) {
    const plain = fernetDecrypt(v.secret, v.token, { ttl: v.ttl_sec, now: _seconds(v.now) });
    assert.equal(fromUtf8(plain), v.src);
  }
});

Deno.test("fernetDecrypt() rejects every invalid.json vector with InvalidToken", () => {
  assert.equal(INVALID.length, 8);
  for (const v of INVALID) {
    _assertInvalidToken(
      () => fernetDecrypt(v.secret, v.token, { ttl: v.ttl_sec, now: _seconds(v.now) }),
      v.desc,
    );
  }
});

Deno.test("fernetDecrypt() decrypts the spec's tokens without a ttl whatever the time", () => {
  // Without a ttl Python checks no time at all; the spec's valid token is from 1985.
  for (const v of [...GENERATE, ...VERIFY]) {
    assert.equal(fromUtf8(fernetDecrypt(v.secret, v.token)), v.src);
    assert.equal(fromUtf8(fernetDecrypt(v.secret, v.token, { now: 0 })), v.src);
  }
});

Deno.test("fernetEncrypt() round-trips an empty plaintext", () => {
  const key = generateFernetKey();
  const token = fernetEncrypt(key, new Uint8Array(0));
  // version + timestamp + IV + one padding block + MAC = 73 bytes = 100 base64 chars.
  assert.equal(token.length, 100);
  assert.deepEqual(fernetDecrypt(key, token), new Uint8Array(0));
});

Deno.test("fernetEncrypt() round-trips a 1 MiB plaintext", () => {
  const key = generateFernetKey();
  const plain = new Uint8Array(1 << 20);
  for (let i = 0; i < plain.length; i++) plain[i] = (i * 31 + 7) & 0xff;
  const token = fernetEncrypt(key, plain);
  assert.deepEqual(fernetDecrypt(key, token), plain);
});

Deno.test("fernetEncrypt() round-trips every length around block boundaries", () => {
  const key = generateFernetKey();
  for (let n = 0; n <= 48; n++) {
    const plain = Uint8Array.from({ length: n }, (_, i) => 255 - i);
    const token = fernetEncrypt(key, plain);
    const bytes = fromBase64Url(token);
    assert.equal(bytes.length, 25 + (Math.floor(n / 16) + 1) * 16 + 32);
    assert.deepEqual(fernetDecrypt(key, token, { ttl: 60 }), plain);
  }
});

Deno.test("fernetEncrypt() writes the token layout of the spec", () => {
  const key = generateFernetKey();
  const now = 0x12345678ab; // beyond 32 bits, to check the u64 split
  const token = fernetEncrypt(key, utf8("hi"), { now, iv: IV });
  assert.match(token, /^[A-Za-z0-9_-]+={0,2}$/);
  assert.equal(token.length % 4, 0);
  const bytes = fromBase64Url(token);
  assert.equal(bytes[0], 0x80);
  assert.equal(new DataView(bytes.buffer).getBigUint64(1), BigInt(now));
  assert.deepEqual(bytes.subarray(9, 25), IV);
  assert.equal(fernetTimestamp(key, token), now);
});

Deno.test("fernetEncrypt() uses a fresh random IV and the current time by default", () => {
  const key = generateFernetKey();
  const before = Math.floor(Date.now() / 1000);
  const a = fernetEncrypt(key, utf8("same"));
  const b = fernetEncrypt(key, utf8("same"));
  const after = Math.floor(Date.now() / 1000);
  assert.notEqual(a, b);
  assert.notDeepEqual(fromBase64Url(a).subarray(9, 25), fromBase64Url(b).subarray(9, 25));
  const ts = fernetTimestamp(key, a);
  assert.ok(ts >= before && ts <= after);
});

Deno.test("fernetEncrypt() rounds a fractional now down, as Python's int(time.time())", () => {
  const key = generateFernetKey();
  assert.equal(fernetTimestamp(key, fernetEncrypt(key, utf8("x"), { now: 1000.9 })), 1000);
});

Deno.test("fernetEncrypt() does not modify its inputs", () => {
  const key = generateFernetKey();
  const plain = utf8("do not touch");
  const iv = IV.slice();
  fernetEncrypt(key, plain, { iv, now: T });
  assert.deepEqual(plain, utf8("do not touch"));
  assert.deepEqual(iv, IV);
});

Deno.test("generateFernetKey() makes distinct 32-byte url-safe base64 keys", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const key = generateFernetKey();
    assert.equal(key.length, 44);
    assert.match(key, /^[A-Za-z0-9_-]{43}=$/);
    assert.equal(fromBase64Url(key).length, 32);
    seen.add(key);
  }
  assert.equal(seen.size, 50);
});

Deno.test("fernetDecrypt() rejects a token made with another key", () => {
  const token = fernetEncrypt(generateFernetKey(), utf8("secret"));
  _assertInvalidToken(() => fernetDecrypt(generateFernetKey(), token), "wrong key");
  // Same encryption key, different signing key: the MAC alone must catch it.
  const k = fromBase64Url(KEY);
  k[0]! ^= 1;
  _assertInvalidToken(
    () => fernetDecrypt(toBase64Url(k), fernetEncrypt(KEY, utf8("x"))),
    "wrong signing key",
  );
});

Deno.test("fernetDecrypt() rejects a token with any byte tampered", () => {
  const key = generateFernetKey();
  const token = fernetEncrypt(key, utf8("attack at dawn, bring snacks"), { now: T });
  const bytes = fromBase64Url(token);
  for (let i = 0; i < bytes.length; i++) {
    for (const flip of [0x01, 0x80, 0xff]) {
      const t = bytes.slice();
      t[i]! ^= flip;
      _assertInvalidToken(() => fernetDecrypt(key, toBase64Url(t)), `byte ${i} ^ ${flip}`);
      _assertInvalidToken(
        () => fernetDecrypt(key, toBase64Url(t), { ttl: 1e9, now: T }),
        `byte ${i} ^ ${flip} with ttl`,
      );
    }
  }
});

Deno.test("fernetDecrypt() rejects a token with any character changed", () => {
  const key = generateFernetKey();
  const token = fernetEncrypt(key, utf8("hello"), { now: T });
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .";
  for (let i = 0; i < token.length; i++) {
    for (const c of [alphabet[(alphabet.indexOf(token[i]!) + 1) % alphabet.length]!, "+", "/"]) {
      if (c === token[i]) continue;
      const t = token.slice(0, i) + c + token.slice(i + 1);
      _assertInvalidToken(() => fernetDecrypt(key, t), `char ${i} -> ${c}`);
    }
  }
});

Deno.test("fernetDecrypt() rejects truncated and extended tokens", () => {
  const key = generateFernetKey();
  const token = fernetEncrypt(key, utf8("a message of some length"), { now: T });
  for (let n = 0; n < token.length; n++) {
    _assertInvalidToken(() => fernetDecrypt(key, token.slice(0, n)), `first ${n} chars`);
  }
  const bytes = fromBase64Url(token);
  for (let n = 0; n < bytes.length; n++) {
    _assertInvalidToken(
      () => fernetDecrypt(key, toBase64Url(bytes.subarray(0, n))),
      `first ${n} bytes`,
    );
  }
  const longer = new Uint8Array(bytes.length + 16);
  longer.set(bytes);
  _assertInvalidToken(() => fernetDecrypt(key, toBase64Url(longer)), "16 bytes appended");
  _assertInvalidToken(() => fernetDecrypt(key, token + "AAAA"), "chars appended");
});

Deno.test("fernetDecrypt() rejects tokens that are not padded url-safe base64", () => {
  const key = KEY;
  // Fixed inputs, so the token surely holds "-" or "_" and its standard-base64 twin differs.
  const token = fernetEncrypt(key, utf8("hello"), { now: T, iv: IV });
  assert.match(token, /[-_]/);
  const bytes = fromBase64Url(token);
  const cases = [
    "",
    "%%%%",
    "====",
    token.replace(/=+$/, ""), // unpadded: Python rejects it too
    token + "=",
    token + "==",
    token + "\n",
    " " + token,
    token.slice(0, 8) + " " + token.slice(9),
    toBase64(bytes), // standard alphabet (+ and /) instead of url-safe
    "gAAAAA",
    "\u00e9".repeat(120),
  ];
  for (const t of cases) _assertInvalidToken(() => fernetDecrypt(key, t), JSON.stringify(t));
});

Deno.test("fernetDecrypt() rejects a wrong version byte even with a valid MAC", () => {
  const ciphertext = _aesCbc(KEY, utf8("hello"), true);
  assert.equal(
    fromUtf8(fernetDecrypt(KEY, _rawToken(KEY, { ciphertext }))),
    "hello",
  );
  for (const version of [0x00, 0x7f, 0x81, 0x91, 0xff]) {
    _assertInvalidToken(
      () => fernetDecrypt(KEY, _rawToken(KEY, { version, ciphertext })),
      `version ${version}`,
    );
  }
});

Deno.test("fernetDecrypt() rejects bad padding and partial blocks even with a valid MAC", () => {
  const block = new Uint8Array(16);
  const badPaddings = [
    block, // last byte 0
    Uint8Array.from({ length: 16 }, () => 17), // pad > 16
    Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? 2 : 0)), // 0x00 0x02
    Uint8Array.from({ length: 16 }, (_, i) => (i < 8 ? 0 : 16)), // 16 claimed, 8 present
  ];
  for (const padded of badPaddings) {
    const ciphertext = _aesCbc(KEY, padded, false);
    _assertInvalidToken(() => fernetDecrypt(KEY, _rawToken(KEY, { ciphertext })), "padding");
  }
  for (const n of [0, 1, 15, 17, 31]) {
    const ciphertext = new Uint8Array(n).fill(7);
    _assertInvalidToken(() => fernetDecrypt(KEY, _rawToken(KEY, { ciphertext })), `${n} bytes`);
  }
  // A correct full padding block decrypts to nothing.
  const ciphertext = _aesCbc(KEY, new Uint8Array(16).fill(16), false);
  assert.deepEqual(fernetDecrypt(KEY, _rawToken(KEY, { ciphertext })), new Uint8Array(0));
});

Deno.test("fernetDecrypt() applies the ttl exactly at its boundaries", () => {
  const token = fernetEncrypt(KEY, utf8("t"), { now: T, iv: IV });
  const ok = (now: number, ttl: number) =>
    assert.equal(fromUtf8(fernetDecrypt(KEY, token, { now, ttl })), "t");
  // Expired only when timestamp + ttl < now.
  ok(T + 60, 60);
  _assertInvalidToken(() => fernetDecrypt(KEY, token, { now: T + 61, ttl: 60 }), "expired");
  _assertInvalidToken(() => fernetDecrypt(KEY, token, { now: T + 60.001, ttl: 60 }), "expired");
  ok(T, 0);
  _assertInvalidToken(() => fernetDecrypt(KEY, token, { now: T + 1, ttl: 0 }), "ttl 0");
  // From the future only when timestamp > now + 60.
  ok(T - 60, 60);
  ok(T - 60, 0);
  _assertInvalidToken(() => fernetDecrypt(KEY, token, { now: T - 61, ttl: 60 }), "future");
  _assertInvalidToken(() => fernetDecrypt(KEY, token, { now: T - 61, ttl: 1e12 }), "future");
  // Without a ttl there is no time check, as in Python.
  assert.equal(fromUtf8(fernetDecrypt(KEY, token, { now: T - 1e6 })), "t");
  assert.equal(fromUtf8(fernetDecrypt(KEY, token, { now: T + 1e9 })), "t");
});

Deno.test("fernetDecrypt() checks the ttl against the current time by default", () => {
  const key = generateFernetKey();
  const now = Math.floor(Date.now() / 1000);
  assert.equal(fromUtf8(fernetDecrypt(key, fernetEncrypt(key, utf8("a")), { ttl: 60 })), "a");
  const old = fernetEncrypt(key, utf8("a"), { now: now - 3600 });
  _assertInvalidToken(() => fernetDecrypt(key, old, { ttl: 60 }), "an hour old");
  assert.equal(fromUtf8(fernetDecrypt(key, old, { ttl: 7200 })), "a");
  const future = fernetEncrypt(key, utf8("a"), { now: now + 3600 });
  _assertInvalidToken(() => fernetDecrypt(key, future, { ttl: 60 }), "an hour ahead");
  assert.equal(fromUtf8(fernetDecrypt(key, future)), "a");
});

Deno.test("fernetDecrypt() handles timestamps beyond 2^53 seconds", () => {
  const ciphertext = _aesCbc(KEY, utf8("far"), true);
  const token = _rawToken(KEY, { ciphertext, timestamp: 0xffffffffffffffffn });
  assert.equal(fromUtf8(fernetDecrypt(KEY, token)), "far");
  _assertInvalidToken(
    () => fernetDecrypt(KEY, token, { ttl: 60, now: Number.MAX_SAFE_INTEGER }),
    "future",
  );
});

Deno.test("fernetTimestamp() returns the timestamp of a genuine token only", () => {
  for (const v of GENERATE) assert.equal(fernetTimestamp(v.secret, v.token), _seconds(v.now));
  const token = fernetEncrypt(KEY, utf8("x"), { now: 1234567890 });
  assert.equal(fernetTimestamp(KEY, token), 1234567890);
  const bytes = fromBase64Url(token);
  bytes[8]! ^= 1;
  _assertInvalidToken(() => fernetTimestamp(KEY, toBase64Url(bytes)), "tampered timestamp");
  _assertInvalidToken(() => fernetTimestamp(generateFernetKey(), token), "wrong key");
  _assertInvalidToken(() => fernetTimestamp(KEY, "%%%%"), "not base64");
});

Deno.test("fernetDecrypt() gives one identical error for every kind of bad token", () => {
  const messages = new Set<string>();
  const codes = new Set<string>();
  const record = (fn: () => unknown) => {
    try {
      fn();
      assert.fail("expected a failure");
    } catch (e) {
      assert.ok(e instanceof InvalidToken);
      messages.add(e.message);
      codes.add(e.code);
      assert.equal(e.name, "InvalidToken");
    }
  };
  for (const v of INVALID) {
    record(() => fernetDecrypt(v.secret, v.token, { ttl: v.ttl_sec, now: _seconds(v.now) }));
  }
  const token = fernetEncrypt(KEY, utf8("x"), { now: T });
  record(() => fernetDecrypt(generateFernetKey(), token));
  record(() => fernetDecrypt(KEY, token.slice(0, -4)));
  record(() => fernetDecrypt(KEY, token, { ttl: 1, now: T + 100 }));
  record(() => fernetDecrypt(KEY, token, { ttl: 1, now: T - 100 }));
  record(() =>
    fernetDecrypt(KEY, _rawToken(KEY, { version: 0x81, ciphertext: new Uint8Array(16) }))
  );
  record(() => fernetDecrypt(KEY, _rawToken(KEY, { ciphertext: new Uint8Array(16) })));
  assert.deepEqual([...messages], [MESSAGE]);
  assert.deepEqual([...codes], ["invalid_token"]);
});

Deno.test("fernetEncrypt() and fernetDecrypt() reject malformed keys with KeyFormatError", () => {
  const good = fromBase64Url(KEY);
  const badKeys = [
    "",
    "short",
    KEY.slice(0, 43), // unpadded: Python rejects it too
    KEY + "=",
    KEY.slice(0, 40) + "====",
    toBase64Url(good.subarray(0, 31)),
    toBase64Url(new Uint8Array(33)),
    toBase64Url(new Uint8Array(16)),
    toBase64(Uint8Array.from({ length: 32 }, () => 0xfb)), // standard alphabet: "+" and "/"
    KEY.slice(0, 10) + "%" + KEY.slice(11),
    " " + KEY.slice(1),
    KEY.slice(0, 42) + "f=", // non-canonical trailing bits
  ];
  const token = fernetEncrypt(KEY, utf8("x"));
  for (const key of badKeys) {
    for (
      const fn of [
        () => fernetEncrypt(key, utf8("x")),
        () => fernetDecrypt(key, token),
        () => fernetTimestamp(key, token),
      ]
    ) {
      assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof KeyFormatError, `${JSON.stringify(key)}: got ${e}`);
        assert.match(e.message, /32 url-safe base64-encoded bytes/);
        return true;
      });
    }
  }
});

Deno.test("fernetEncrypt() and fernetDecrypt() reject a key that is not a string", () => {
  for (const key of [undefined, null, 42, fromBase64Url(KEY)]) {
    assert.throws(() => fernetEncrypt(key as unknown as string, utf8("x")), TypeError);
    assert.throws(() => fernetDecrypt(key as unknown as string, "x"), TypeError);
  }
});

Deno.test("fernetDecrypt() rejects a token that is not a string with TypeError", () => {
  const bytes = utf8(fernetEncrypt(KEY, utf8("x")));
  for (const token of [undefined, null, 1, bytes]) {
    assert.throws(() => fernetDecrypt(KEY, token as unknown as string), TypeError);
    assert.throws(() => fernetTimestamp(KEY, token as unknown as string), TypeError);
  }
});

Deno.test("fernetEncrypt() rejects malformed plaintext and options", () => {
  const k = KEY;
  assert.throws(() => fernetEncrypt(k, "text" as unknown as Uint8Array), TypeError);
  assert.throws(() => fernetEncrypt(k, [1, 2] as unknown as Uint8Array), TypeError);
  assert.throws(() => fernetEncrypt(k, utf8("x"), null as unknown as object), TypeError);
  assert.throws(() => fernetEncrypt(k, utf8("x"), { now: -1 }), RangeError);
  assert.throws(() => fernetEncrypt(k, utf8("x"), { now: 2 ** 53 }), RangeError);
  for (const now of [NaN, Infinity, -Infinity, "1" as unknown as number]) {
    assert.throws(() => fernetEncrypt(k, utf8("x"), { now }), TypeError);
  }
  assert.throws(() => fernetEncrypt(k, utf8("x"), { iv: new Uint8Array(15) }), RangeError);
  assert.throws(() => fernetEncrypt(k, utf8("x"), { iv: new Uint8Array(17) }), RangeError);
  assert.throws(
    () => fernetEncrypt(k, utf8("x"), { iv: new Array(16).fill(0) as unknown as Uint8Array }),
    TypeError,
  );
});

Deno.test("fernetDecrypt() rejects malformed options before looking at the token", () => {
  const token = fernetEncrypt(KEY, utf8("x"));
  assert.throws(() => fernetDecrypt(KEY, token, null as unknown as object), TypeError);
  assert.throws(() => fernetDecrypt(KEY, token, { ttl: -1 }), RangeError);
  assert.throws(() => fernetDecrypt(KEY, "garbage", { ttl: -1 }), RangeError);
  assert.throws(() => fernetDecrypt(KEY, token, { now: -5, ttl: 5 }), RangeError);
  for (const bad of [NaN, Infinity, "60" as unknown as number]) {
    assert.throws(() => fernetDecrypt(KEY, token, { ttl: bad }), TypeError);
    assert.throws(() => fernetDecrypt(KEY, token, { ttl: 60, now: bad }), TypeError);
  }
});
