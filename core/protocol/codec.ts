/**
 * The one `encode`/`decode` pair for FastChat frames. `decode` parses JSON and validates the
 * frame against its direction's schema; anything else throws a {@linkcode ProtocolError}
 * whose code and message go back to the sender in an `error` frame.
 *
 * @module
 */

import { ERROR_CODES, ProtocolError } from "./errors.ts";
import { CONTACT_STATES, type Direction, type Frame, type FramesByDirection } from "./frames.ts";
import { LIMITS } from "./limits.ts";
import { quoteInput } from "./quote.ts";
import { type FieldRule, type FrameSchema, PEER_BATCHED_TYPES, SCHEMAS } from "./schema.ts";

/** Serializes a frame. Frames are plain JSON; no field is re-encoded. */
export function encode(frame: Frame): string {
  return JSON.stringify(frame);
}

/**
 * Parses and validates one incoming frame for `direction` ("client": what a server receives
 * from clients; "server": what a client receives; "peer": what servers send each other).
 * Throws {@linkcode ProtocolError} with code `too_large`, `bad_json`, `bad_frame` or
 * `unknown_type`, carrying the frame's `ref` when it could be read.
 */
export function decode<D extends Direction>(
  text: string,
  direction: D,
): FramesByDirection[D] {
  if (typeof text !== "string") {
    throw new ProtocolError(ERROR_CODES.badFrame, "Expected a text frame with a JSON object");
  }
  if (!frameFits(text)) {
    throw new ProtocolError(
      ERROR_CODES.tooLarge,
      `Frame is ${utf8Length(text)} bytes; the limit is ${LIMITS.frameBytes} bytes`,
    );
  }
  let value: unknown;
  try {
    // A leading byte-order mark is ignored, as RFC 8259 section 8.1 allows; WebSocket UTF-8
    // decoders drop it already, so every transport treats it alike.
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    throw new ProtocolError(ERROR_CODES.badJson, "Frame is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError(ERROR_CODES.badFrame, "Frame must be a JSON object");
  }
  const obj = value as Record<string, unknown>;
  const ref = _readRef(obj.ref);
  const type = obj.type;
  if (typeof type !== "string") {
    throw new ProtocolError(ERROR_CODES.badFrame, 'Frame needs a string "type" field', ref);
  }
  const schema = Object.hasOwn(SCHEMAS[direction], type) ? SCHEMAS[direction][type] : undefined;
  if (!schema) {
    throw new ProtocolError(
      ERROR_CODES.unknownType,
      `Unknown frame type ${quoteInput(type)}`,
      ref,
    );
  }
  const problem = _frameProblem(obj, type, schema);
  if (problem) throw new ProtocolError(ERROR_CODES.badFrame, problem, ref);
  return obj as unknown as FramesByDirection[D];
}

/** The UTF-8 length of a string, in bytes, without encoding it. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** True when a text frame is within {@linkcode LIMITS.frameBytes} bytes of UTF-8. */
export function frameFits(text: string, limit: number = LIMITS.frameBytes): boolean {
  // Cheap bounds first: UTF-8 takes 1 to 3 bytes per UTF-16 code unit.
  if (text.length > limit) return false;
  if (text.length * 3 <= limit) return true;
  return utf8Length(text) <= limit;
}

/** What is wrong with a frame's fields (unknown, invalid, or a broken one-of), if anything. */
function _frameProblem(
  obj: Record<string, unknown>,
  type: string,
  schema: FrameSchema,
): string | undefined {
  for (const key of Object.keys(obj)) {
    if (key !== "type" && !Object.hasOwn(schema.fields, key)) {
      return `Unexpected field ${quoteInput(key)} in a ${type} frame`;
    }
  }
  for (const [name, rule] of Object.entries(schema.fields)) {
    const problem = _check(obj[name], rule);
    if (problem) return `Field "${name}" of a ${type} frame ${problem}`;
  }
  for (const group of schema.oneOf ?? []) {
    const present = group.filter((f) => obj[f] !== undefined);
    if (present.length !== 1) {
      return `A ${type} frame needs exactly one of ${group.map((f) => `"${f}"`).join(", ")}`;
    }
  }
  for (const set of schema.together ?? []) {
    const present = set.filter((f) => obj[f] !== undefined);
    if (present.length > 0 && present.length < set.length) {
      const missing = set.filter((f) => obj[f] === undefined);
      return `A ${type} frame with "${present[0]}" needs ${
        missing.map((f) => `"${f}"`).join(" and ")
      } too`;
    }
  }
  return undefined;
}

/** What is wrong with one frame inside a `peer_batch`, if anything. */
function _batchedProblem(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "is not a JSON object";
  const obj = v as Record<string, unknown>;
  const type = obj.type;
  if (typeof type !== "string" || !PEER_BATCHED_TYPES.includes(type)) {
    const shown = typeof type === "string" ? quoteInput(type) : "missing or not a string";
    return `has type ${shown}, expected one of ${PEER_BATCHED_TYPES.join(", ")}`;
  }
  const problem = _frameProblem(obj, type, SCHEMAS.peer[type]!);
  return problem ? `is invalid: ${problem}` : undefined;
}

function _readRef(ref: unknown): number | undefined {
  return Number.isSafeInteger(ref) && (ref as number) >= 0 && (ref as number) <= LIMITS.refMax
    ? ref as number
    : undefined;
}

function _isId(v: unknown, zero = false): v is number {
  return Number.isSafeInteger(v) && (v as number) >= (zero ? 0 : 1);
}

/** Returns a description of what is wrong with `v`, or undefined when it passes. */
function _check(v: unknown, rule: FieldRule): string | undefined {
  if (v === undefined) return rule.optional ? undefined : "is required";
  switch (rule.kind) {
    case "id":
      return _isId(v, rule.zero) ? undefined : `must be a positive integer ID`;
    case "int":
      return Number.isSafeInteger(v) && (v as number) >= rule.min && (v as number) <= rule.max
        ? undefined
        : `must be an integer from ${rule.min} to ${rule.max}`;
    case "str":
      if (typeof v !== "string") return "must be a string";
      if (v.length < rule.min || v.length > rule.max) {
        return `must be ${rule.min} to ${rule.max} characters, got ${v.length}`;
      }
      if (_badText(v)) return _badText(v);
      if (rule.pattern && !rule.pattern.test(v)) return `does not match ${rule.pattern}`;
      return undefined;
    case "ids": {
      if (!Array.isArray(v)) return "must be an array of IDs";
      if (v.length < rule.min || v.length > rule.max) {
        return `must hold ${rule.min} to ${rule.max} IDs, got ${v.length}`;
      }
      if (!v.every((x) => _isId(x))) return "must hold only positive integer IDs";
      if (new Set(v).size !== v.length) return "must not repeat an ID";
      return undefined;
    }
    case "strs": {
      if (!Array.isArray(v)) return "must be an array of strings";
      if (v.length > rule.max) return `must hold at most ${rule.max} strings, got ${v.length}`;
      for (const x of v) {
        if (typeof x !== "string" || x.length < 1 || x.length > rule.maxChars) {
          return `must hold strings of 1 to ${rule.maxChars} characters`;
        }
        if (_badText(x)) return _badText(x);
      }
      return undefined;
    }
    case "bool":
      return typeof v === "boolean" ? undefined : "must be true or false";
    case "null_or_id":
      return v === null || _isId(v) ? undefined : "must be null or a positive integer ID";
    case "null_or_str":
      if (v === null) return undefined;
      if (typeof v !== "string" || v.length > rule.max) {
        return `must be null or a string of at most ${rule.max} characters`;
      }
      return _badText(v);
    case "bodies": {
      if (typeof v !== "object" || v === null || Array.isArray(v)) {
        return "must be an object mapping user IDs to bodies";
      }
      const entries = Object.entries(v);
      if (entries.length < 1 || entries.length > rule.max) {
        return `must hold 1 to ${rule.max} entries, got ${entries.length}`;
      }
      for (const [k, b] of entries) {
        if (!/^[1-9][0-9]{0,15}$/.test(k) || !Number.isSafeInteger(Number(k))) {
          return `has a key ${quoteInput(k, 20)} that is not a user ID`;
        }
        if (typeof b !== "string" || b.length < 1 || b.length > LIMITS.bodyChars) {
          return `has a body for ${k} that is not a string of 1 to ${LIMITS.bodyChars} characters`;
        }
        const bad = _badText(b);
        if (bad) return `has a body for ${k} that ${bad}`;
      }
      return undefined;
    }
    case "contact_states": {
      if (typeof v !== "object" || v === null || Array.isArray(v)) {
        return "must be an object mapping user IDs to contact states";
      }
      const entries = Object.entries(v);
      if (entries.length < 1 || entries.length > rule.max) {
        return `must hold 1 to ${rule.max} entries, got ${entries.length}`;
      }
      for (const [k, state] of entries) {
        if (!/^[1-9][0-9]{0,15}$/.test(k) || !Number.isSafeInteger(Number(k))) {
          return `has a key ${quoteInput(k, 20)} that is not a user ID`;
        }
        if (!(CONTACT_STATES as readonly unknown[]).includes(state)) {
          return `has a state for ${k} that is not one of ${CONTACT_STATES.join(", ")}`;
        }
      }
      return undefined;
    }
    case "enum":
      return typeof v === "string" && rule.values.includes(v)
        ? undefined
        : `must be one of ${rule.values.join(", ")}`;
    case "group":
      return _checkGroup(v);
    case "groups":
      if (!Array.isArray(v)) return "must be an array of groups";
      for (const g of v) {
        const p = _checkGroup(g);
        if (p) return `has a group that ${p.replace(/^must/, "does not")}`;
      }
      return undefined;
    case "peer_frames": {
      if (!Array.isArray(v)) return "must be an array of peer frames";
      if (v.length < 1 || v.length > rule.max) {
        return `must hold 1 to ${rule.max} frames, got ${v.length}`;
      }
      for (let i = 0; i < v.length; i++) {
        const problem = _batchedProblem(v[i]);
        if (problem) return `has a frame at index ${i} that ${problem}`;
      }
      return undefined;
    }
    case "message":
      return _fieldsProblem(v, SCHEMAS.server.message!);
    case "features": {
      if (!Array.isArray(v)) return "must be an array of feature names";
      if (v.length > rule.max) return `must hold at most ${rule.max} names, got ${v.length}`;
      if (!v.every((x) => typeof x === "string" && rule.pattern.test(x))) {
        return `must hold only names matching ${rule.pattern}`;
      }
      if (new Set(v).size !== v.length) return "must not repeat a name";
      return undefined;
    }
    case "receipts": {
      if (!Array.isArray(v)) return "must be an array of receipts";
      if (v.length < 1 || v.length > rule.max) {
        return `must hold 1 to ${rule.max} receipts, got ${v.length}`;
      }
      for (let i = 0; i < v.length; i++) {
        // Each receipt is a `delivered` frame without its `type`, checked by that frame's rules.
        const p = _fieldsProblem(v[i], SCHEMAS.server.delivered!);
        if (p) return `has a receipt at index ${i} that ${p}`;
      }
      return undefined;
    }
  }
}

/** What is wrong with an object holding exactly a schema's fields (a frame without `type`). */
function _fieldsProblem(v: unknown, schema: FrameSchema): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "must be an object";
  const m = v as Record<string, unknown>;
  for (const key of Object.keys(m)) {
    if (!Object.hasOwn(schema.fields, key)) {
      return `has an unexpected field ${quoteInput(key)}`;
    }
  }
  for (const [name, r] of Object.entries(schema.fields)) {
    const p = _check(m[name], r);
    if (p) return `has a field "${name}" that ${p}`;
  }
  return undefined;
}

function _checkGroup(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "must be a group object";
  const g = v as Record<string, unknown>;
  if (!_isId(g.id) || !_isId(g.admin)) return "must have positive integer id and admin";
  if (typeof g.name !== "string" || g.name.length > LIMITS.groupNameMax || _badText(g.name)) {
    return "must have a name of at most 64 characters of well-formed text";
  }
  if (!Array.isArray(g.members) || !g.members.every((x) => _isId(x))) {
    return "must have an array of member IDs";
  }
  return undefined;
}

/**
 * The end of a `bad_frame` message for a string that breaks the string rules, word for word as
 * docs/PROTOCOL.md quotes them ("String rules").
 */
export const TEXT_RULES = {
  nul: "must not contain NUL (U+0000)",
  loneSurrogate: "must not contain a lone UTF-16 surrogate",
} as const;

/**
 * Why a string cannot be stored and returned exactly, if it cannot: a NUL character (the
 * databases stop at or reject it) or a lone surrogate (UTF-8 has no encoding for it, so it
 * would come back as U+FFFD).
 */
function _badText(v: string): string | undefined {
  if (v.includes("\0")) return TEXT_RULES.nul;
  if (!v.isWellFormed()) return TEXT_RULES.loneSurrogate;
  return undefined;
}
