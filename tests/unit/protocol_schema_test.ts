/**
 * docs/protocol.schema.json, the machine-readable protocol: published as generated, and
 * agreeing with `decode` (checked with Ajv, an independent JSON Schema validator) on every
 * example frame of docs/PROTOCOL.md and on thousands of mutations of them.
 */

import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import { protocolJsonSchema } from "../../core/protocol/json_schema.ts";
import { decode, type Direction, FRAME_TYPES } from "../../core/protocol/mod.ts";
import { VERSION } from "../../core/version.ts";

type Json = Record<string, unknown>;

const _published = new URL("../../docs/protocol.schema.json", import.meta.url);

async function _examples(): Promise<Json[]> {
  const doc = await Deno.readTextFile(new URL("../../docs/PROTOCOL.md", import.meta.url));
  return [...doc.matchAll(/```json\n([\s\S]*?)```/g)]
    .map((m) => JSON.parse(m[1]!) as Json)
    .filter((v) => typeof v.type === "string");
}

function _validators() {
  // unicodeRegExp (the default) compiles patterns with the `u` flag, as JSON Schema asks.
  const ajv = new Ajv2020({
    allErrors: false,
    strict: true,
    strictRequired: false,
    validateFormats: false,
  });
  ajv.addSchema(protocolJsonSchema(VERSION));
  const byDirection = {} as Record<Direction, (v: unknown) => boolean>;
  for (const d of Object.keys(FRAME_TYPES) as Direction[]) {
    const v = ajv.getSchema(`https://fastchat.invalid/protocol.schema.json#/$defs/${d}_frame`);
    assert.ok(v, d);
    byDirection[d] = (x) => v(x) as boolean;
  }
  return byDirection;
}

function _decodes(frame: unknown, d: Direction): boolean {
  try {
    decode(JSON.stringify(frame), d);
    return true;
  } catch {
    return false;
  }
}

/** Frames that differ from `f` in one place each: a field dropped, retyped, or made bad text. */
function* _mutations(f: Json): Generator<Json> {
  yield { ...f, surprise: 1 };
  yield { ...f, type: `${f.type}\u0000` };
  for (const [k, v] of Object.entries(f)) {
    if (k === "type") continue;
    const { [k]: _, ...rest } = f;
    yield rest;
    yield { ...f, [k]: null };
    yield { ...f, [k]: "7" };
    yield { ...f, [k]: 1.5 };
    yield { ...f, [k]: -1 };
    yield { ...f, [k]: 0 };
    yield { ...f, [k]: [] };
    yield { ...f, [k]: {} };
    yield { ...f, [k]: true };
    if (typeof v === "string") {
      yield { ...f, [k]: `${v}\u0000` };
      yield { ...f, [k]: `${v}\ud800` };
      yield { ...f, [k]: "" };
      yield { ...f, [k]: "x".repeat(70) };
    }
    if (Array.isArray(v)) {
      yield { ...f, [k]: [...v, ...v] };
      yield { ...f, [k]: [...v, "x"] };
    }
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      yield { ...f, [k]: { ...v, extra: 1 } };
      for (const inner of Object.keys(v)) {
        const { [inner]: _, ...less } = v as Json;
        yield { ...f, [k]: less };
        yield { ...f, [k]: { ...v, [inner]: "\u0000" } };
      }
    }
  }
}

Deno.test("docs/protocol.schema.json is what `deno task schema` generates", async () => {
  const published = JSON.parse(await Deno.readTextFile(_published));
  assert.deepEqual(
    published,
    JSON.parse(JSON.stringify(protocolJsonSchema(VERSION))),
    "run `deno task schema` and commit docs/protocol.schema.json",
  );
});

Deno.test("protocolJsonSchema() accepts every example frame of docs/PROTOCOL.md where decode() does", async () => {
  const valid = _validators();
  const examples = await _examples();
  assert.ok(examples.length >= 40);
  for (const f of examples) {
    const dirs = (Object.keys(FRAME_TYPES) as Direction[]).filter((d) => _decodes(f, d));
    assert.ok(dirs.length > 0, JSON.stringify(f));
    for (const d of Object.keys(FRAME_TYPES) as Direction[]) {
      assert.equal(valid[d](f), dirs.includes(d), `${d}: ${JSON.stringify(f)}`);
    }
  }
});

Deno.test("protocolJsonSchema() and decode() agree on mutations of every example frame", async () => {
  const valid = _validators();
  let checked = 0;
  for (const f of await _examples()) {
    for (const m of _mutations(f)) {
      for (const d of Object.keys(FRAME_TYPES) as Direction[]) {
        assert.equal(valid[d](m), _decodes(m, d), `${d}: ${JSON.stringify(m).slice(0, 300)}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 3000, `checked ${checked}`);
});
