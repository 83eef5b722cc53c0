/**
 * The protocol as a JSON Schema (draft 2020-12), generated from the one schema table that
 * `decode` uses ({@linkcode SCHEMAS}), so another implementation can validate frames without
 * reading our code. docs/protocol.schema.json is its output (`deno task schema`); a test keeps
 * the published file equal to what this returns.
 *
 * What JSON Schema cannot say exactly: FastChat measures string lengths in UTF-16 code units
 * and JSON Schema in code points, so an astral character counts 2 here and 1 there; a string
 * within FastChat's bound is always within the schema's. Frame size limits are transport
 * rules (docs/PROTOCOL.md, "Transport"), not part of the schema.
 *
 * Spec: https://json-schema.org/draft/2020-12/json-schema-validation
 *
 * @module
 */

import { CONTACT_STATES, type Direction, FRAME_TYPES } from "./frames.ts";
import { LIMITS } from "./limits.ts";
import { type FieldRule, type FrameSchema, PEER_BATCHED_TYPES, SCHEMAS } from "./schema.ts";

/** A JSON Schema object (only what this module writes). */
export type JsonSchema = { readonly [key: string]: unknown };

/** Where the published schema says it lives. */
export const SCHEMA_ID = "https://fastchat.invalid/protocol.schema.json";

/**
 * The string rules (no NUL, no lone surrogate) as an ECMA-262 pattern with the `u` flag,
 * which JSON Schema validators use: in that mode a lone surrogate is one code point in the
 * excluded range, while a surrogate pair is an astral code point outside it.
 */
export const TEXT_PATTERN = "^[^\\u0000\\ud800-\\udfff]*$";

const _MAX_ID = Number.MAX_SAFE_INTEGER;

/**
 * The whole protocol: one definition per frame (`client.register`, `server.welcome`, ... under
 * `$defs`, named `DIRECTION_TYPE`), and for each direction a definition (`client_frame`,
 * `server_frame`, `peer_frame`) that a frame of that direction must match.
 */
export function protocolJsonSchema(version: string): JsonSchema {
  const defs: Record<string, JsonSchema> = {};
  for (const direction of Object.keys(FRAME_TYPES) as Direction[]) {
    for (const type of FRAME_TYPES[direction]) {
      defs[_defName(direction, type)] = _frame(direction, type, SCHEMAS[direction][type]!);
    }
    defs[`${direction}_frame`] = {
      description: `Any frame ${_DIRECTION_WORDS[direction]}.`,
      oneOf: FRAME_TYPES[direction].map((t) => _ref(_defName(direction, t))),
    };
  }
  defs["message_fields"] = _object(SCHEMAS.server.message!, undefined);
  defs["receipt_fields"] = _object(SCHEMAS.server.delivered!, undefined);
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: SCHEMA_ID,
    title: `FastChat protocol ${version}`,
    description: "Every FastChat frame, by direction; docs/PROTOCOL.md is the reference. " +
      "Generated from core/protocol/schema.ts by `deno task schema`. String lengths here " +
      "count code points; FastChat counts UTF-16 code units (an astral character counts 2).",
    $defs: defs,
  };
}

const _DIRECTION_WORDS: Record<Direction, string> = {
  client: "a client sends a server (on /ws)",
  server: "a server sends a client (on /ws)",
  peer: "one server sends another (on /peer)",
};

function _defName(direction: Direction, type: string): string {
  return `${direction}_${type}`;
}

function _ref(name: string): JsonSchema {
  return { $ref: `#/$defs/${name}` };
}

function _frame(direction: Direction, type: string, schema: FrameSchema): JsonSchema {
  return _object(schema, { direction, type });
}

/** A frame (with its `type`) or a frame's fields alone (a `message`, a receipt). */
function _object(
  schema: FrameSchema,
  frame: { direction: Direction; type: string } | undefined,
): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  if (frame) {
    properties.type = { const: frame.type };
    required.push("type");
  }
  for (const [name, rule] of Object.entries(schema.fields)) {
    properties[name] = _field(rule);
    if (!rule.optional) required.push(name);
  }
  const out: Record<string, unknown> = {
    type: "object",
    properties,
    required,
    additionalProperties: false,
  };
  if (schema.together && schema.together.length > 0) {
    // "Together": each field of a set requires the others.
    const dependent: Record<string, string[]> = {};
    for (const set of schema.together) {
      for (const f of set) dependent[f] = set.filter((g) => g !== f);
    }
    out.dependentRequired = dependent;
  }
  if (schema.oneOf && schema.oneOf.length > 0) {
    // "Exactly one of": one `oneOf` per group, combined with allOf when there are several.
    const groups = schema.oneOf.map((g) => ({ oneOf: g.map((f) => ({ required: [f] })) }));
    if (groups.length === 1) Object.assign(out, groups[0]);
    else out.allOf = groups;
  }
  return out;
}

function _id(zero = false): JsonSchema {
  return { type: "integer", minimum: zero ? 0 : 1, maximum: _MAX_ID };
}

function _text(min: number, max: number, pattern?: RegExp): JsonSchema {
  // Field patterns are ASCII-only, so they imply the string rules.
  return {
    type: "string",
    minLength: min,
    maxLength: max,
    pattern: pattern ? pattern.source : TEXT_PATTERN,
  };
}

function _field(rule: FieldRule): JsonSchema {
  switch (rule.kind) {
    case "id":
      return _id(rule.zero);
    case "int":
      return { type: "integer", minimum: rule.min, maximum: rule.max };
    case "str":
      return _text(rule.min, rule.max, rule.pattern);
    case "ids":
      return {
        type: "array",
        items: _id(),
        minItems: rule.min,
        maxItems: rule.max,
        uniqueItems: true,
      };
    case "strs":
      return { type: "array", items: _text(1, rule.maxChars), maxItems: rule.max };
    case "bool":
      return { type: "boolean" };
    case "null_or_id":
      return { oneOf: [{ type: "null" }, _id()] };
    case "null_or_str":
      return { oneOf: [{ type: "null" }, _text(0, rule.max)] };
    case "bodies":
      return {
        type: "object",
        propertyNames: { pattern: "^[1-9][0-9]{0,15}$" },
        additionalProperties: _text(1, LIMITS.bodyChars),
        minProperties: 1,
        maxProperties: rule.max,
      };
    case "contact_states":
      return {
        type: "object",
        propertyNames: { pattern: "^[1-9][0-9]{0,15}$" },
        additionalProperties: { enum: [...CONTACT_STATES] },
        minProperties: 1,
        maxProperties: rule.max,
      };
    case "enum":
      return { enum: [...rule.values] };
    case "group":
      return _group();
    case "groups":
      return { type: "array", items: _group() };
    case "message":
      return _ref("message_fields");
    case "peer_frames":
      return {
        type: "array",
        items: { oneOf: PEER_BATCHED_TYPES.map((t) => _ref(_defName("peer", t))) },
        minItems: 1,
        maxItems: rule.max,
      };
    case "features":
      return {
        type: "array",
        items: { type: "string", pattern: rule.pattern.source },
        maxItems: rule.max,
        uniqueItems: true,
      };
    case "receipts":
      return {
        type: "array",
        items: _ref("receipt_fields"),
        minItems: 1,
        maxItems: rule.max,
      };
  }
}

/** A group object; fields other than these four are not rejected (docs/PROTOCOL.md). */
function _group(): JsonSchema {
  return {
    type: "object",
    properties: {
      id: _id(),
      admin: _id(),
      name: _text(0, LIMITS.groupNameMax),
      members: { type: "array", items: _id() },
    },
    required: ["id", "admin", "name", "members"],
  };
}
