/**
 * docs/PROTOCOL.md as a contract: the messages, reasons and numbers it quotes are the ones the
 * code produces. Each check builds the text from the code and looks for it in the document
 * (whitespace collapsed, since the document wraps its lines).
 */

import assert from "node:assert/strict";
import {
  CLOSE_REASONS,
  decode,
  LIMITS,
  loginDeadlineReason,
  ProtocolError,
  quoteInput,
  TEXT_RULES,
} from "../../core/protocol/mod.ts";
import { PEER_BATCHED_TYPES } from "../../core/protocol/schema.ts";
import { recipientFullMessage } from "../../core/server/delivery.ts";
import { QUOTAS } from "../../core/server/quotas.ts";
import { DEFAULT_PENDING_BOUNDS } from "../../core/store/store.ts";
import { bucketTake, bucketWait } from "../../core/store/token_bucket.ts";
import { parseOrigin } from "../../core/ws/origin.ts";
import { parseClosePayload, tooBigReason, WsProtocolError } from "../../core/ws/frame.ts";

const _raw = await Deno.readTextFile(new URL("../../docs/PROTOCOL.md", import.meta.url));
/** The document with every run of whitespace (line wraps, table padding) as one space. */
const _doc = _raw.replace(/\s+/g, " ");

function _quoted(text: string): void {
  assert.ok(_doc.includes(`"${text}"`), `docs/PROTOCOL.md should quote "${text}"`);
}

function _message(text: string, direction: "client" | "server" | "peer" = "client"): string {
  try {
    decode(text, direction);
  } catch (err) {
    assert.ok(err instanceof ProtocolError);
    return err.message;
  }
  assert.fail(`expected ${text} to be refused`);
}

/** The section of the document under `heading`, up to the next heading of its level. */
function _section(heading: string): string {
  const start = _raw.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, heading);
  const level = heading.split(" ")[0]!;
  const end = _raw.indexOf(`\n${level} `, start + heading.length + 2);
  return _raw.slice(start, end < 0 ? undefined : end);
}

Deno.test("docs/PROTOCOL.md quotes every close reason the servers give", () => {
  for (const reason of Object.values(CLOSE_REASONS)) _quoted(reason);
  _quoted(loginDeadlineReason(LIMITS.loginWithinMs));
  _quoted(tooBigReason(LIMITS.loginFrameBytes));
  // And the close-codes table quotes no reason the code does not give.
  const table = _section("## Close codes");
  const given = new Set<string>([
    ...Object.values(CLOSE_REASONS),
    loginDeadlineReason(LIMITS.loginWithinMs),
    "Message over N bytes",
  ]);
  const mesh = ["core/mesh/handshake.ts", "core/mesh/ws_mesh.ts"]
    .map((f) => Deno.readTextFileSync(new URL(`../../${f}`, import.meta.url))).join("\n");
  for (const m of table.matchAll(/\("([^"]+)"/g)) {
    const reason = m[1]!;
    assert.ok(given.has(reason) || mesh.includes(`"${reason}"`), `unknown reason "${reason}"`);
  }
  for (const m of table.matchAll(/, "([^"]+)"/g)) {
    assert.ok(mesh.includes(`"${m[1]}"`), `unknown mesh reason "${m[1]}"`);
  }
});

Deno.test("docs/PROTOCOL.md quotes the string rules as decode() words them", () => {
  _quoted(TEXT_RULES.nul);
  _quoted(TEXT_RULES.loneSurrogate);
  assert.ok(_doc.includes(`("${TEXT_RULES.nul}" / "${TEXT_RULES.loneSurrogate}")`));
  const nul = _message(
    JSON.stringify({ type: "ping", ref: 1, x: 1 }).replace('"x":1', '"a\\u0000":1'),
  );
  assert.equal(nul, 'Unexpected field "a\\u0000" in a ping frame');
  assert.ok(_doc.includes(`\`${nul}\``), nul);
  const body = _message(
    JSON.stringify({ type: "single_message", ref: 1, client_msg_id: "a", to: 2, body: "x\0" }),
  );
  assert.equal(body, `Field "body" of a single_message frame ${TEXT_RULES.nul}`);
  const lone = _message(
    '{"type":"single_message","ref":1,"client_msg_id":"a","to":2,"body":"\\ud800"}',
  );
  assert.equal(lone, `Field "body" of a single_message frame ${TEXT_RULES.loneSurrogate}`);
});

Deno.test("decode() answers a type with NUL or a lone surrogate unknown_type, quoted escaped", () => {
  for (
    const [text, shown] of [
      ['{"type":"ping\\u0000"}', '"ping\\u0000"'],
      ['{"type":"\\ud800"}', '"\\ud800"'],
      ['{"type":"x\\udfff y"}', '"x\\udfff y"'],
    ] as const
  ) {
    let caught: unknown;
    try {
      decode(text, "client");
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof ProtocolError);
    assert.equal(caught.code, "unknown_type");
    assert.equal(caught.message, `Unknown frame type ${shown}`);
    assert.ok(caught.message.isWellFormed() && !caught.message.includes("\0"));
  }
  // The document's example is the answer, word for word.
  const example = JSON.stringify({
    type: "error",
    code: "unknown_type",
    message: _message('{"type":"ping\\u0000"}'),
  });
  assert.ok(
    _raw.includes(
      example.replace(/^\{/, "{ ").replace(/\}$/, " }").replaceAll('","', '", "')
        .replaceAll('":"', '": "'),
    ),
    `the quoting example should read ${example}`,
  );
});

Deno.test("quoteInput() escapes, bounds, and never splits a surrogate pair", () => {
  assert.equal(quoteInput("ping"), '"ping"');
  assert.equal(quoteInput('a"b\\c\n'), '"a\\"b\\\\c\\n"');
  assert.equal(quoteInput("x".repeat(41)), `"${"x".repeat(40)}"…`);
  assert.equal(quoteInput(`${"x".repeat(39)}😀z`), `"${"x".repeat(39)}😀"…`);
  assert.equal(quoteInput("\ud800\u0000"), '"\\ud800\\u0000"');
  assert.throws(() => quoteInput("x", 0), RangeError);
});

Deno.test("decode() ignores a leading byte-order mark and nothing else", () => {
  assert.equal(decode('\ufeff{"type":"ping","ref":1}', "client").type, "ping");
  assert.throws(() => decode(' \ufeff{"type":"ping","ref":1}', "client"), ProtocolError);
  assert.throws(() => decode('{"type":"ping","ref":1}\ufeff', "client"), ProtocolError);
  assert.ok(_doc.includes("byte-order mark (U+FEFF) at the very start"));
});

Deno.test("docs/PROTOCOL.md's recipient_full texts are what the server writes", () => {
  const bounds = DEFAULT_PENDING_BOUNDS;
  _quoted(recipientFullMessage([42], bounds));
  _quoted(recipientFullMessage([3, 5], bounds));
  const twelve = recipientFullMessage(Array.from({ length: 12 }, (_, i) => i + 1), bounds);
  assert.ok(twelve.startsWith("Users 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more have "));
  assert.ok(_doc.includes(`"${twelve.slice(0, twelve.indexOf(" have ") + 6)}..."`));
  // A group of 256 full members still fits error.message's 1,024 characters.
  const all = recipientFullMessage(
    Array.from({ length: 256 }, (_, i) => Number.MAX_SAFE_INTEGER - i),
    bounds,
  );
  assert.ok(all.length <= 1024, `${all.length}`);
});

Deno.test("docs/PROTOCOL.md's Limits table gives every LIMITS value", () => {
  const table = _section("## Limits").split("\nOther bounds")[0]!;
  for (const [name, value] of Object.entries(LIMITS)) {
    const row = table.split("\n").find((l) => l.includes(`\`${name}\``));
    assert.ok(row, `no row for ${name}`);
    const names = [...row.split("|")[1]!.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
    const values = row.split("|")[2]!.split(", ").map((v) => v.trim());
    const shown = values.length === names.length ? values[names.indexOf(name)]! : values[0]!;
    const forms = value instanceof RegExp
      ? [`\`${value}\``]
      : [value.toLocaleString("en-US"), String(value)];
    assert.ok(
      forms.some((f) => shown === f || shown.startsWith(`${f} `)),
      `${name}: the table says ${shown}, the code ${forms[0]}`,
    );
  }
});

Deno.test("docs/PROTOCOL.md lists exactly the frames a peer_batch may carry", () => {
  const row = _raw.split("\n").find((l) => l.startsWith("| `peer_batch`"))!;
  const listed = [...row.split("|")[4]!.matchAll(/`(peer_\w+)`/g)].map((m) => m[1]);
  assert.deepEqual(listed, [...PEER_BATCHED_TYPES]);
});

Deno.test("docs/PROTOCOL.md's origin example is RFC 6454 serialization", () => {
  assert.equal(parseOrigin("HTTPS://Chat.Example.org:443"), "https://chat.example.org");
  assert.equal(parseOrigin("HTTP://Chat.Example.org:443"), "http://chat.example.org:443");
  assert.ok(_doc.includes("`HTTPS://Chat.Example.org:443` in the list matches a page at"));
  assert.ok(
    _doc.includes("`HTTP://Chat.Example.org:443` serializes to `http://chat.example.org:443`"),
  );
});

Deno.test("docs/PROTOCOL.md's close-frame rules are what the listener does", () => {
  const code = (n: number) => new Uint8Array([n >> 8, n & 0xff]);
  assert.equal(parseClosePayload(code(3000)).code, 3000);
  for (const bad of [999, 1004, 1005, 1006, 1015, 2999, 5000]) {
    assert.throws(() => parseClosePayload(code(bad)), (err: unknown) => {
      assert.ok(err instanceof WsProtocolError);
      assert.equal(err.code, 1002);
      assert.equal(err.message, `Close code ${bad} may not be sent`);
      return true;
    });
  }
  assert.throws(() => parseClosePayload(new Uint8Array([3])), WsProtocolError);
  _quoted("Close code 999 may not be sent");
  try {
    parseClosePayload(new Uint8Array([3]));
  } catch (err) {
    _quoted((err as Error).message);
  }
});

Deno.test("docs/PROTOCOL.md's login limits hold in the token buckets", () => {
  const pair = QUOTAS.loginPair;
  /** Tries one attempt at `now` on every bucket; takes from all or none. */
  const attempt = (tats: number[], now: number): boolean => {
    if (pair.some((shape, i) => bucketWait(tats[i]!, now, shape) > 0)) return false;
    pair.forEach((shape, i) => (tats[i] = bucketTake(tats[i]!, now, shape)));
    return true;
  };
  // 12 guesses at once from one address: 5 are checked.
  const burst = [0, 0];
  const ok = Array.from({ length: 12 }, () => attempt(burst, 1_000_000)).filter(Boolean).length;
  assert.equal(ok, 5);
  assert.ok(_doc.includes("12 guesses at one account sent at once from one address get 5 checked"));
  // A guesser who tries every minute, all failing: 20 in the first stretch, then 48 a day.
  const tats = [0, 0];
  const minute = 60_000;
  const byDay = [0, 0, 0];
  for (let t = 0; t < 3 * 24 * 60; t++) {
    if (attempt(tats, 1_000_000 + t * minute)) byDay[Math.floor(t / (24 * 60))]!++;
  }
  assert.equal(byDay[2], 48);
  assert.ok(byDay[0]! >= 20 + 47 - 1 && byDay[0]! <= 20 + 48, `${byDay[0]}`);
  assert.ok(_doc.includes("only one attempt per 30 minutes is let through, 48 a day"));
});
