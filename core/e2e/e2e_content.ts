/**
 * The plaintext inside "dm" and "gm" envelopes: a small JSON object, encrypted as a whole.
 *
 * - Text: `{ "text": <string>, "ts": <Unix ms> }`.
 * - File chunk: `{ "file": { "id", "name", "size", "sha256", "index", "count" },
 *   "data": <chunk, url-safe base64 without padding>, "ts": <Unix ms> }`.
 *
 * The timestamp is the sender's clock, inside the ciphertext so the server neither sees nor
 * changes it. Parsing is as strict as for envelopes (exact keys, types, ranges), and file
 * names are passed through `safeFileName` so nothing downstream sees an unsafe one.
 *
 * @module
 */

import { fromBase64Url, toBase64Url } from "../crypto/bytes.ts";
import { E2eError } from "./e2e_errors.ts";
import {
  checkFileChunk,
  type FileChunk,
  MAX_RAW_FILE_NAME_CHARS,
  safeFileName,
} from "./e2e_file.ts";

/** A text message, opened. */
export interface OpenedText {
  /** Discriminant. */
  kind: "text";
  /** The message text. */
  text: string;
  /** The sender's timestamp, Unix milliseconds. */
  ts: number;
}

/** One file chunk, opened; give it to a `FileAssembler`. */
export interface OpenedFileChunk {
  /** Discriminant. */
  kind: "file";
  /** The chunk, its file name already made safe. */
  chunk: FileChunk;
  /** The sender's timestamp, Unix milliseconds. */
  ts: number;
}

/** What a "dm" or "gm" envelope holds. */
export type OpenedContent = OpenedText | OpenedFileChunk;

const _FILE_KEYS = ["id", "name", "size", "sha256", "index", "count"] as const;
const _B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Encodes a text or a file chunk with its timestamp as the JSON that gets encrypted.
 *
 * @throws {TypeError} If `content` is neither a string nor a valid {@linkcode FileChunk}.
 */
export function encodeContent(content: string | FileChunk, ts: number): string {
  if (typeof content === "string") return JSON.stringify({ text: content, ts });
  if (typeof content !== "object" || content === null) {
    throw new TypeError("Expected the plaintext to be a string or a file chunk");
  }
  const problem = checkFileChunk(content);
  if (problem !== undefined) throw new TypeError(`Invalid file chunk: ${problem}`);
  const f = content.file;
  const file = {
    id: f.id,
    name: f.name,
    size: f.size,
    sha256: f.sha256,
    index: f.index,
    count: f.count,
  };
  return JSON.stringify({ file, data: toBase64Url(content.data, false), ts });
}

/**
 * Parses decrypted content. Runs only after the envelope's signature verified, so a failure
 * means the (authenticated) sender wrote something invalid.
 *
 * @throws {E2eError} `bad_content`, saying what is wrong.
 */
export function parseContent(json: string): OpenedContent {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw _bad("it is not valid JSON");
  }
  if (!_isObject(value)) throw _bad("it is not a JSON object");
  const ts = value.ts;
  if (typeof ts !== "number" || !Number.isSafeInteger(ts) || ts < 0) {
    throw _bad('"ts" must be a non-negative integer (Unix milliseconds)');
  }
  if (Object.hasOwn(value, "text")) {
    _exactKeys(value, ["text", "ts"]);
    if (typeof value.text !== "string") throw _bad('"text" must be a string');
    return { kind: "text", text: value.text, ts };
  }
  if (Object.hasOwn(value, "file")) {
    _exactKeys(value, ["file", "data", "ts"]);
    return { kind: "file", chunk: _parseChunk(value.file, value.data), ts };
  }
  throw _bad('it has neither "text" nor "file"');
}

function _parseChunk(file: unknown, data: unknown): FileChunk {
  if (!_isObject(file)) throw _bad('"file" must be an object');
  _exactKeys(file, _FILE_KEYS, '"file"');
  if (typeof file.name !== "string" || file.name.length > MAX_RAW_FILE_NAME_CHARS) {
    throw _bad(`the file name must be a string of at most ${MAX_RAW_FILE_NAME_CHARS} characters`);
  }
  if (typeof data !== "string" || !_B64URL.test(data)) {
    throw _bad('"data" must be url-safe base64 without padding');
  }
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(data);
  } catch {
    throw _bad('"data" must be canonical url-safe base64 without padding');
  }
  const chunk = {
    file: {
      id: file.id,
      name: safeFileName(file.name),
      size: file.size,
      sha256: file.sha256,
      index: file.index,
      count: file.count,
    },
    data: bytes,
  } as FileChunk;
  const problem = checkFileChunk(chunk);
  if (problem !== undefined) throw _bad(problem);
  return chunk;
}

function _exactKeys(
  value: Record<string, unknown>,
  keys: readonly string[],
  where = "it",
): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw _bad(`${where} has an unknown field ${JSON.stringify(key.slice(0, 40))}`);
    }
  }
  for (const key of keys) {
    if (!Object.hasOwn(value, key)) throw _bad(`${where} has no field "${key}"`);
  }
}

function _isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function _bad(problem: string): E2eError {
  return new E2eError("bad_content", `Decrypted message is invalid: ${problem}`);
}
