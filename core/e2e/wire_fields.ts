/**
 * Strict readers for the fields of JSON wire objects of the session handshake (prekey bundles,
 * prekey secrets, initial messages): exact field sets, integer ranges, canonical url-safe
 * base64 of an exact length. Each reader throws an {@linkcode E2eError} with the caller's code,
 * naming the field and what was expected, so a malformed object from the network never gets
 * further than its parser.
 *
 * @module
 */

import { fromBase64Url } from "../crypto/bytes.ts";
import { E2eError, type E2eErrorCode } from "./e2e_errors.ts";

const _B64URL = /^[A-Za-z0-9_-]*$/;

/** Largest prekey, device or user ID written as 4 or 8 bytes in signed data. */
export const MAX_U32 = 0xffff_ffff;

/** Reads the fields of one kind of wire object, throwing `code` on the first problem. */
export class WireFields {
  /**
   * @param code The error code of every problem.
   * @param what The object's name in messages, e.g. "prekey bundle".
   */
  constructor(readonly code: E2eErrorCode, readonly what: string) {}

  /** Throws unless `value` is a plain object with exactly `fields` (in any order). */
  object(value: unknown, fields: readonly string[], where = ""): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.fail(`${this._at(where)}must be a JSON object, got ${kindOf(value)}`);
    }
    const obj = value as Record<string, unknown>;
    for (const name of Object.keys(obj)) {
      if (!fields.includes(name)) {
        this.fail(`Unknown field ${show(where + name)} in the ${this.what}`);
      }
    }
    for (const name of fields) {
      if (!Object.hasOwn(obj, name)) {
        this.fail(`Missing field "${where + name}" in the ${this.what}`);
      }
    }
    return obj;
  }

  /** Throws unless `value` is an integer from `min` to `max`. */
  int(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
      this.fail(`Field "${field}" must be an integer from ${min} to ${max}, got ${show(value)}`);
    }
    return value;
  }

  /** Throws unless `value` is canonical unpadded url-safe base64 of `min` to `max` bytes. */
  bytes(value: unknown, field: string, min: number, max = min): Uint8Array {
    const want = min === max ? `${min} bytes` : `${min} to ${max} bytes`;
    if (typeof value !== "string" || !_B64URL.test(value) || value.length > 4 * max) {
      this.fail(`Field "${field}" must be url-safe base64 without padding of ${want}`);
    }
    let bytes: Uint8Array;
    try {
      bytes = fromBase64Url(value);
    } catch {
      this.fail(`Field "${field}" is not canonical url-safe base64 (of ${want})`);
    }
    if (bytes.length < min || bytes.length > max) {
      this.fail(`Field "${field}" must hold ${want}, got ${bytes.length}`);
    }
    return bytes;
  }

  /** Throws unless `value` is an array of at most `max` items. */
  array(value: unknown, field: string, max: number): unknown[] {
    if (!Array.isArray(value) || value.length > max) {
      this.fail(`Field "${field}" must be an array of at most ${max} items, got ${show(value)}`);
    }
    return value;
  }

  /** Throws this reader's error with `message`. */
  fail(message: string): never {
    throw new E2eError(this.code, message);
  }

  private _at(where: string): string {
    return where === ""
      ? `The ${this.what} `
      : `Field "${where.replace(/\.$/, "")}" of the ${this.what} `;
  }
}

/** Parses JSON text of at most `maxChars` characters, throwing `reader`'s error otherwise. */
export function parseJsonText(text: unknown, maxChars: number, reader: WireFields): unknown {
  if (typeof text !== "string") {
    reader.fail(`A ${reader.what} must be a string, got ${kindOf(text)}`);
  }
  if (text.length > maxChars) {
    reader.fail(
      `The ${reader.what} is too long: ${text.length} characters, at most ${maxChars} allowed`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    return reader.fail(`The ${reader.what} is not valid JSON`);
  }
}

/** Names the JSON kind of a value for messages. */
export function kindOf(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/** Shows an untrusted value in an error message, bounded. */
export function show(value: unknown): string {
  const text = value === undefined ? "undefined" : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
