/**
 * The pure WebSocket pieces: frame headers, masking, close payloads and frame encoding
 * (checked against RFC 6455's own examples), request heads and the opening handshake.
 */

import assert from "node:assert/strict";
import {
  closePayload,
  encodeFrame,
  encodeTextFrame,
  OPCODES,
  parseClosePayload,
  parseFrameHeader,
  unmask,
  WsProtocolError,
} from "../../core/ws/frame.ts";
import { headLength, HttpError, parseRequestHead } from "../../core/ws/http_head.ts";
import { acceptValue, checkUpgrade, switchingProtocols } from "../../core/ws/upgrade.ts";

const _RFC = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/rfc6455/examples.json", import.meta.url)),
) as {
  handshake: { key: string; accept: string };
  frames: {
    name: string;
    hex: string;
    masked: boolean;
    opcode: number;
    fin: boolean;
    payload_text: string;
  }[];
  lengths: { name: string; header_hex: string; opcode: number; length: number }[];
};

function _hex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
}

function _toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function _assertWsError(fn: () => unknown, code: number, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof WsProtocolError, `expected WsProtocolError, got ${err}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

Deno.test("parseFrameHeader() and unmask() read every RFC 6455 section 5.7 example", () => {
  for (const ex of _RFC.frames) {
    const bytes = _hex(ex.hex);
    const h = parseFrameHeader(bytes, false);
    assert.ok(h, ex.name);
    assert.equal(h.fin, ex.fin, ex.name);
    assert.equal(h.opcode, ex.opcode, ex.name);
    assert.equal(h.mask !== null, ex.masked, ex.name);
    const payload = bytes.slice(h.headerLength, h.headerLength + h.length);
    if (h.mask) unmask(payload, h.mask);
    assert.equal(new TextDecoder().decode(payload), ex.payload_text, ex.name);
  }
  for (const ex of _RFC.lengths) {
    const h = parseFrameHeader(_hex(ex.header_hex), false);
    assert.equal(h?.length, ex.length, ex.name);
    assert.equal(h?.opcode, ex.opcode, ex.name);
  }
});

Deno.test("encodeFrame() and encodeTextFrame() write RFC 6455's unmasked examples", () => {
  const unmaskedHello = _RFC.frames.find((f) => f.name.startsWith("A single-frame unmasked"))!;
  assert.equal(_toHex(encodeTextFrame("Hello")), unmaskedHello.hex);
  for (const ex of _RFC.lengths) {
    const frame = encodeFrame(OPCODES.binary, new Uint8Array(ex.length));
    assert.equal(_toHex(frame.subarray(0, ex.header_hex.length / 2)), ex.header_hex, ex.name);
    assert.equal(frame.length, ex.header_hex.length / 2 + ex.length);
  }
  // Long texts are encoded behind a header of the right size, multi-byte characters included.
  for (const text of ["é".repeat(100), "€".repeat(30_000), "x".repeat(70_000)]) {
    const frame = encodeTextFrame(text);
    const h = parseFrameHeader(frame, false)!;
    assert.equal(h.length, new TextEncoder().encode(text).length);
    assert.equal(new TextDecoder().decode(frame.subarray(h.headerLength)), text);
  }
});

Deno.test("parseFrameHeader() waits for a whole header and reports lengths before payloads", () => {
  const full = _hex("827f0000000003000000"); // 48 MiB, no payload present
  for (let n = 0; n < full.length; n++) {
    assert.equal(parseFrameHeader(full.subarray(0, n), false), null, `${n} bytes`);
  }
  assert.equal(parseFrameHeader(full, false)?.length, 48 * 1024 * 1024);
  const masked = _hex("81fe0100aabbccdd");
  assert.equal(parseFrameHeader(masked.subarray(0, 7), true), null, "mask key incomplete");
  assert.equal(parseFrameHeader(masked, true)?.headerLength, 8);
  // Lengths beyond 2^53 - 1 still parse, as the largest safe length (any limit refuses it).
  assert.equal(
    parseFrameHeader(_hex("827f7fffffffffffffff"), false)?.length,
    Number.MAX_SAFE_INTEGER,
  );
});

Deno.test("parseFrameHeader() refuses what RFC 6455 forbids with 1002", () => {
  _assertWsError(() => parseFrameHeader(_hex("c100"), false), 1002, /Reserved bits/);
  _assertWsError(() => parseFrameHeader(_hex("8300"), false), 1002, /Unknown opcode 3/);
  _assertWsError(() => parseFrameHeader(_hex("810548656c6c6f"), true), 1002, /must be masked/);
  _assertWsError(() => parseFrameHeader(_hex("0900"), false), 1002, /cannot be fragmented/);
  _assertWsError(() => parseFrameHeader(_hex("897e0080"), false), 1002, /at most 125/);
  _assertWsError(() => parseFrameHeader(_hex("827e0010"), false), 1002, /minimally/);
  _assertWsError(
    () => parseFrameHeader(_hex("827f0000000000000010"), false),
    1002,
    /minimally/,
  );
  _assertWsError(() => parseFrameHeader(_hex("827f8000000000000000"), false), 1002, /top bit/);
});

Deno.test("unmask() continues a mask across pieces and checks the key", () => {
  const mask = _hex("37fa213d");
  const whole = new TextEncoder().encode("Hello, pieces of a masked payload");
  const once = whole.slice();
  unmask(once, mask);
  const pieces = whole.slice();
  unmask(pieces.subarray(0, 5), mask, 0);
  unmask(pieces.subarray(5, 18), mask, 5);
  unmask(pieces.subarray(18), mask, 18);
  assert.deepEqual(pieces, once);
  assert.throws(() => unmask(whole, new Uint8Array(3)), RangeError);
});

Deno.test("parseClosePayload() reads codes and reasons and refuses bad ones", () => {
  assert.deepEqual(parseClosePayload(new Uint8Array(0)), { code: 1005, reason: "" });
  assert.deepEqual(parseClosePayload(closePayload(4003, "Logged out")), {
    code: 4003,
    reason: "Logged out",
  });
  _assertWsError(() => parseClosePayload(new Uint8Array([3])), 1002, /2-byte code/);
  for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000]) {
    _assertWsError(() => parseClosePayload(closePayload(code, "")), 1002, /may not be sent/);
  }
  _assertWsError(
    () => parseClosePayload(new Uint8Array([0x03, 0xe8, 0xff])),
    1007,
    /must be UTF-8/,
  );
  // A long reason is cut to 123 bytes at a character boundary.
  const cut = closePayload(1000, "é".repeat(100));
  assert.equal(cut.length, 2 + 122);
  assert.equal(parseClosePayload(cut).reason, "é".repeat(61));
});

Deno.test("headLength() finds the blank line within the limit and refuses longer heads", () => {
  const enc = new TextEncoder();
  assert.equal(headLength(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n"), 100), null);
  assert.equal(headLength(enc.encode("GET / HTTP/1.1\r\n\r\nbody"), 100), 18);
  assert.throws(
    () => headLength(enc.encode("GET / HTTP/1.1\r\nX: " + "a".repeat(200)), 100),
    (err: unknown) => err instanceof HttpError && err.status === 431,
  );
});

Deno.test("parseRequestHead() parses fields and refuses malformed heads with a reason", () => {
  const enc = new TextEncoder();
  const head = parseRequestHead(
    enc.encode("GET /ws?x=1 HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a:  2 \r\n\r\n"),
  );
  assert.equal(head.method, "GET");
  assert.equal(head.target, "/ws?x=1");
  assert.equal(head.headers.get("host"), "a");
  assert.equal(head.headers.get("x-a"), "1, 2");
  const bad: [string, number, RegExp][] = [
    ["GET /\r\n\r\n", 400, /request line/],
    ["GET  / HTTP/1.1\r\n\r\n", 400, /request line/],
    ["G(T / HTTP/1.1\r\n\r\n", 400, /method/],
    ["GET ws HTTP/1.1\r\n\r\n", 400, /path starting with \//],
    ["GET / HTTP/2.0\r\n\r\n", 505, /HTTP\/2.0/],
    ["GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, /Folded/],
    ["GET / HTTP/1.1\r\nno colon\r\n\r\n", 400, /no name/],
    ["GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n", 400, /Bad header name/],
    ["GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400, /control character/],
  ];
  for (const [text, status, message] of bad) {
    assert.throws(() => parseRequestHead(enc.encode(text)), (err: unknown) => {
      assert.ok(err instanceof HttpError, JSON.stringify(text));
      assert.equal(err.status, status, JSON.stringify(text));
      assert.match(err.message, message);
      return true;
    });
  }
});

Deno.test("acceptValue() gives RFC 6455's accept for its example key", () => {
  assert.equal(acceptValue(_RFC.handshake.key), _RFC.handshake.accept);
  assert.match(switchingProtocols(_RFC.handshake.key), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(
    switchingProtocols(_RFC.handshake.key),
    new RegExp(`Sec-WebSocket-Accept: ${_RFC.handshake.accept.replace(/\+/g, "\\+")}\r\n\r\n$`),
  );
});

Deno.test("checkUpgrade() refuses malformed upgrades with 400 and a reason", () => {
  const enc = new TextEncoder();
  const good = {
    Host: "x",
    Upgrade: "websocket",
    Connection: "keep-alive, Upgrade",
    "Sec-WebSocket-Key": _RFC.handshake.key,
    "Sec-WebSocket-Version": "13",
  };
  const head = (fields: Record<string, string | undefined>, line = "GET /ws HTTP/1.1") =>
    parseRequestHead(
      enc.encode(
        `${line}\r\n${
          Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) =>
            `${k}: ${v}\r\n`
          )
            .join("")
        }\r\n`,
      ),
    );
  assert.equal(checkUpgrade(head(good)), _RFC.handshake.key);
  const cases: [Record<string, string | undefined>, string, RegExp][] = [
    [{ ...good, "Sec-WebSocket-Key": undefined }, "GET /ws HTTP/1.1", /Key is missing/],
    [{ ...good, "Sec-WebSocket-Key": "short" }, "GET /ws HTTP/1.1", /16 bytes in base64/],
    [{ ...good, "Sec-WebSocket-Key": "AAAAAAAAAAAAAAAAAAAAAAAAAA==" }, "GET /ws HTTP/1.1", /16/],
    [{ ...good, "Sec-WebSocket-Version": "8" }, "GET /ws HTTP/1.1", /must be 13, got "8"/],
    [{ ...good, "Sec-WebSocket-Version": undefined }, "GET /ws HTTP/1.1", /Version is missing/],
    [{ ...good, Connection: "keep-alive" }, "GET /ws HTTP/1.1", /Connection: Upgrade/],
    [good, "POST /ws HTTP/1.1", /must be a GET/],
    [good, "GET /ws HTTP/1.0", /needs HTTP\/1.1/],
  ];
  for (const [fields, line, message] of cases) {
    assert.throws(() => checkUpgrade(head(fields, line)), (err: unknown) => {
      assert.ok(err instanceof HttpError);
      assert.equal(err.status, 400);
      assert.match(err.message, message);
      return true;
    });
  }
  assert.throws(
    () => checkUpgrade(head({ ...good, "Sec-WebSocket-Version": "8" })),
    (err: unknown) => err instanceof HttpError && err.headers["sec-websocket-version"] === "13",
  );
});
