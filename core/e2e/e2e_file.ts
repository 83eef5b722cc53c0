/**
 * Files over end-to-end envelopes: split a file into chunks, each sealed as its own "dm" or
 * "gm" envelope, and put the opened chunks back together, in any order.
 *
 * A file gets a random 16-byte ID and the SHA-256 (FIPS 180-4) of its whole content; every
 * chunk carries `{ id, name, size, sha256, index, count }` so the receiver can check that the
 * chunks agree with each other and, once all have arrived, that the bytes match the hash.
 * The default chunk (48 KiB) stays well below `LIMITS.bodyChars` after base64, Fernet and
 * base64 again (about 88,000 characters); {@linkcode MAX_CHUNK_SIZE} still fits with the
 * longest file name. Names are untrusted: {@linkcode safeFileName} makes them safe to save.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { equalBytes, fromHex, randomBytes, toBase64Url, toHex, utf8 } from "../crypto/bytes.ts";
import { E2eError } from "./e2e_errors.ts";

/** Default chunk size in bytes. */
export const DEFAULT_CHUNK_SIZE = 48 * 1024;
/** Largest chunk size in bytes; a chunk this big still fits in one message body. */
export const MAX_CHUNK_SIZE = 96 * 1024;
/**
 * Smallest chunk size in bytes. It bounds the chunk count of a file (at most
 * `ceil(size / MIN_CHUNK_SIZE)`), so a sender cannot make a receiver track millions of chunks.
 */
export const MIN_CHUNK_SIZE = 1024;
/** Largest file in bytes that {@linkcode splitFile} splits and, by default, is assembled. */
export const MAX_FILE_SIZE = 64 * 1024 * 1024;
/** Longest file name, in UTF-8 bytes (the usual file system limit). */
export const MAX_FILE_NAME_BYTES = 255;
/** Longest file name accepted from the network before sanitizing, in characters. */
export const MAX_RAW_FILE_NAME_CHARS = 1024;

/** What every chunk of one file says about the file. */
export interface FileMeta {
  /** Random 16-byte file ID, url-safe base64 without padding (22 characters). */
  id: string;
  /** File name, already made safe by {@linkcode safeFileName}. */
  name: string;
  /** Size of the whole file in bytes. */
  size: number;
  /** SHA-256 of the whole file, lowercase hex. */
  sha256: string;
  /** This chunk's position, from 0. */
  index: number;
  /** Number of chunks; an empty file has one empty chunk. */
  count: number;
}

/** One chunk of a file: its metadata and its bytes. */
export interface FileChunk {
  /** The file this chunk belongs to, and its place in it. */
  file: FileMeta;
  /** The chunk's bytes. */
  data: Uint8Array;
}

/** A file put back together and checked. */
export interface AssembledFile {
  /** The file ID. */
  id: string;
  /** Safe file name. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** SHA-256 of the bytes, lowercase hex (checked). */
  sha256: string;
  /** The file's content. */
  bytes: Uint8Array;
}

/** How far one file in progress has come. */
export interface FileProgress {
  /** The `source` given to {@linkcode FileAssembler.add}. */
  source: string;
  /** The file ID. */
  id: string;
  /** Safe file name. */
  name: string;
  /** Declared size in bytes. */
  size: number;
  /** Chunks received so far. */
  received: number;
  /** Chunks in all. */
  count: number;
}

/** Options of {@linkcode FileAssembler}. */
export interface FileAssemblerOptions {
  /** Most bytes held across files in progress; also the largest file. Default MAX_FILE_SIZE. */
  maxBytes?: number;
}

const _FILE_ID = /^[A-Za-z0-9_-]{22}$/;
const _SHA256_HEX = /^[0-9a-f]{64}$/;
// Control, format (bidi overrides, zero-width), line and paragraph separator characters.
const _INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
// Characters Windows does not allow in names; separators are handled before.
const _RESERVED = /[<>:"|?*]/g;
const _WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
const _MAX_EXTENSION_CHARS = 16;
const _COMPLETED_MEMORY = 1024;
const _MAX_IN_PROGRESS = 256;
const _SANITIZE_PASSES = 4;

/**
 * Splits a file into chunks to seal one by one. Chunks are views into `bytes`: do not change
 * it until they are sealed. An empty file gives one empty chunk.
 *
 * @param bytes The file's content, at most {@linkcode MAX_FILE_SIZE} bytes.
 * @param name The file's name; it is passed through {@linkcode safeFileName}.
 * @param chunkSize Bytes per chunk, {@linkcode MIN_CHUNK_SIZE} to {@linkcode MAX_CHUNK_SIZE}.
 * @throws {TypeError | RangeError} On arguments of the wrong type or out of range.
 */
export function splitFile(
  bytes: Uint8Array,
  name: string,
  chunkSize: number = DEFAULT_CHUNK_SIZE,
): FileChunk[] {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("Expected the file to be a Uint8Array");
  if (typeof name !== "string") throw new TypeError("Expected the file name to be a string");
  if (
    !Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE
  ) {
    throw new RangeError(
      `Expected the chunk size to be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}, ` +
        `got ${chunkSize}`,
    );
  }
  if (bytes.length > MAX_FILE_SIZE) {
    throw new RangeError(
      `File too large: ${bytes.length} bytes, at most ${MAX_FILE_SIZE} can be sent`,
    );
  }
  const meta = {
    id: toBase64Url(randomBytes(16), false),
    name: safeFileName(name),
    size: bytes.length,
    sha256: toHex(sha256(bytes)),
  };
  const count = Math.max(1, Math.ceil(bytes.length / chunkSize));
  const chunks: FileChunk[] = [];
  for (let index = 0; index < count; index++) {
    const data = bytes.subarray(index * chunkSize, (index + 1) * chunkSize);
    chunks.push({ file: { ...meta, index, count }, data });
  }
  return chunks;
}

/**
 * Makes an untrusted file name safe to save: keeps the part after the last `/` or `\`,
 * drops control and invisible format characters (bidi overrides that disguise extensions,
 * zero-width), replaces `< > : " | ? *` with `_`, turns runs of dots into one dot and drops
 * leading dots (no `..`, no hidden files), trims spaces and trailing dots, avoids Windows
 * device names, and keeps at most {@linkcode MAX_FILE_NAME_BYTES} UTF-8 bytes, keeping the
 * extension. Returns `"file"` when nothing is left. Idempotent.
 */
export function safeFileName(name: string): string {
  if (typeof name !== "string") throw new TypeError("Expected the file name to be a string");
  // One pass can expose a new problem (removing a zero-width space can un-normalize a
  // string), so repeat until nothing changes; in practice the second pass is the last.
  let out = name;
  for (let pass = 0; pass < _SANITIZE_PASSES; pass++) {
    const next = _sanitizeOnce(out);
    if (next === out) return out;
    out = next;
  }
  return "file";
}

function _sanitizeOnce(name: string): string {
  let out = name.toWellFormed().normalize("NFC");
  out = out.replace(/[/\\]+$/, "");
  out = out.slice(Math.max(out.lastIndexOf("/"), out.lastIndexOf("\\")) + 1);
  out = out.replace(_INVISIBLE, "").replace(_RESERVED, "_").replace(/\.{2,}/g, ".");
  out = out.replace(/^[\s.]+/, "").replace(/[\s.]+$/, "");
  if (_WINDOWS_DEVICE.test(out)) out = `_${out}`;
  out = _truncateName(out);
  return out === "" ? "file" : out;
}

/**
 * Returns what is wrong with a chunk's metadata and data, or undefined when they are
 * consistent on their own: ID, safe name, SHA-256 hex, integer ranges, `index < count`,
 * a count the size can fill, and a chunk no bigger than the size or {@linkcode MAX_CHUNK_SIZE}.
 */
export function checkFileChunk(chunk: FileChunk): string | undefined {
  if (typeof chunk !== "object" || chunk === null) return "chunk must be an object";
  if (!(chunk.data instanceof Uint8Array)) return "chunk data must be bytes";
  const meta = chunk.file;
  if (typeof meta !== "object" || meta === null) return "chunk has no file metadata";
  if (typeof meta.id !== "string" || !_FILE_ID.test(meta.id)) {
    return "file ID must be 22 url-safe base64 characters";
  }
  if (typeof meta.name !== "string" || meta.name !== safeFileName(meta.name)) {
    return "file name must be a safe file name";
  }
  if (typeof meta.sha256 !== "string" || !_SHA256_HEX.test(meta.sha256)) {
    return "file SHA-256 must be 64 lowercase hex digits";
  }
  if (!_isInt(meta.size, 0)) return "file size must be a non-negative integer";
  const maxCount = Math.max(1, Math.ceil(meta.size / MIN_CHUNK_SIZE));
  if (!_isInt(meta.count, 1) || meta.count > maxCount) {
    return `chunk count must be an integer from 1 to ${maxCount} for a file of ${meta.size} bytes`;
  }
  if (!_isInt(meta.index, 0) || meta.index >= meta.count) {
    return `chunk index must be an integer from 0 to ${meta.count - 1}`;
  }
  if (chunk.data.length > Math.min(meta.size, MAX_CHUNK_SIZE)) {
    return `chunk of ${chunk.data.length} bytes is larger than the file or ${MAX_CHUNK_SIZE} bytes`;
  }
  if (chunk.data.length === 0 && meta.size > 0) return "chunk of a non-empty file is empty";
  return undefined;
}

interface _Partial {
  source: string;
  meta: Omit<FileMeta, "index">;
  chunks: Map<number, Uint8Array>;
  received: number;
  bytes: number;
}

/**
 * Puts files back together from opened chunks, which may arrive in any order and more than
 * once. It holds several files at once, keyed by `source` and file ID; pass a `source` that
 * names the conversation and sender (e.g. `"dm:7"` or `"gm:3:7"`) so one sender cannot
 * disturb another's file. Duplicates are ignored; chunks that disagree with the file's
 * other chunks throw `bad_file` and are dropped, leaving the file to complete from good ones.
 */
export class FileAssembler {
  #maxBytes: number;
  #partial = new Map<string, _Partial>();
  #completed = new Set<string>();
  #held = 0;

  /**
   * Makes an empty assembler.
   *
   * @param opts `maxBytes` bounds the bytes held across files in progress (default
   *   {@linkcode MAX_FILE_SIZE}); a larger file is rejected at its first chunk.
   */
  constructor(opts: FileAssemblerOptions = {}) {
    const max = opts.maxBytes ?? MAX_FILE_SIZE;
    if (!_isInt(max, 0)) throw new RangeError(`Expected maxBytes to be a non-negative integer`);
    this.#maxBytes = max;
  }

  /**
   * Adds one opened chunk. Returns the file when this chunk completes it (after checking its
   * size and SHA-256), otherwise undefined (also for a duplicate, or a chunk of a file that
   * already completed).
   *
   * @param chunk A chunk from `openDirect`/`openGroup`.
   * @param source Names who sent it, so files of different senders never mix.
   * @throws {E2eError} `bad_file` when the chunk is malformed, disagrees with earlier chunks
   *   of the same file, exceeds the limits, or completes a file whose checksum is wrong
   *   (the file is then dropped).
   */
  add(chunk: FileChunk, source = ""): AssembledFile | undefined {
    if (typeof source !== "string") throw new TypeError("Expected source to be a string");
    const problem = checkFileChunk(chunk);
    if (problem !== undefined) {
      throw new E2eError("bad_file", `Invalid file chunk: ${problem}`);
    }
    const { index, ...meta } = chunk.file;
    const key = `${source}\n${meta.id}`;
    if (this.#completed.has(key)) return undefined;
    const partial = this.#partial.get(key) ?? this.#start(key, source, meta);
    const p = partial.meta;
    if (
      p.name !== meta.name || p.size !== meta.size || p.count !== meta.count ||
      p.sha256 !== meta.sha256
    ) {
      throw new E2eError(
        "bad_file",
        `Chunk ${index} of file ${meta.id} disagrees with earlier chunks about the file's ` +
          "name, size, chunk count or checksum",
        { file: meta.id, index },
      );
    }
    const previous = partial.chunks.get(index);
    if (previous !== undefined) {
      if (equalBytes(previous, chunk.data)) return undefined;
      throw new E2eError(
        "bad_file",
        `Chunk ${index} of file ${meta.id} arrived twice with different data`,
        { file: meta.id, index },
      );
    }
    if (partial.bytes + chunk.data.length > meta.size) {
      throw new E2eError(
        "bad_file",
        `File ${meta.id} received more data than its declared ${meta.size} bytes`,
        { file: meta.id, index },
      );
    }
    if (this.#held + chunk.data.length > this.#maxBytes) {
      throw new E2eError(
        "bad_file",
        `Files in progress would hold more than ${this.#maxBytes} bytes`,
        { file: meta.id, index },
      );
    }
    partial.chunks.set(index, chunk.data.slice());
    partial.received++;
    partial.bytes += chunk.data.length;
    this.#held += chunk.data.length;
    return partial.received === p.count ? this.#finish(key, partial) : undefined;
  }

  /** Files in progress, for a progress display. */
  progress(): FileProgress[] {
    return [...this.#partial.values()].map((p) => ({
      source: p.source,
      id: p.meta.id,
      name: p.meta.name,
      size: p.meta.size,
      received: p.received,
      count: p.meta.count,
    }));
  }

  /** Drops a file in progress (e.g. cancelled); returns whether there was one. */
  discard(id: string, source = ""): boolean {
    const key = `${source}\n${id}`;
    const partial = this.#partial.get(key);
    if (partial === undefined) return false;
    this.#drop(key, partial);
    return true;
  }

  #start(key: string, source: string, meta: Omit<FileMeta, "index">): _Partial {
    if (meta.size > this.#maxBytes) {
      throw new E2eError(
        "bad_file",
        `File ${meta.id} is ${meta.size} bytes, more than the ${this.#maxBytes} accepted`,
        { file: meta.id },
      );
    }
    if (this.#partial.size >= _MAX_IN_PROGRESS) {
      throw new E2eError(
        "bad_file",
        `Too many files in progress (${_MAX_IN_PROGRESS}); finish or discard some first`,
        { file: meta.id },
      );
    }
    const partial: _Partial = {
      source,
      meta: { ...meta },
      chunks: new Map(),
      received: 0,
      bytes: 0,
    };
    this.#partial.set(key, partial);
    return partial;
  }

  #finish(key: string, partial: _Partial): AssembledFile {
    this.#drop(key, partial);
    const { id, name, size, sha256: expected } = partial.meta;
    if (partial.bytes !== size) {
      throw new E2eError(
        "bad_file",
        `File ${id} is ${partial.bytes} bytes once assembled, but declares ${size}`,
        { file: id },
      );
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (let i = 0; i < partial.meta.count; i++) {
      const chunk = partial.chunks.get(i)!;
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    if (!equalBytes(sha256(bytes), fromHex(expected))) {
      throw new E2eError("bad_file", `File ${id} fails its SHA-256 checksum`, { file: id });
    }
    this.#completed.add(key);
    if (this.#completed.size > _COMPLETED_MEMORY) {
      const oldest = this.#completed.values().next().value;
      if (oldest !== undefined) this.#completed.delete(oldest);
    }
    return { id, name, size, sha256: expected, bytes };
  }

  #drop(key: string, partial: _Partial): void {
    this.#partial.delete(key);
    this.#held -= partial.bytes;
  }
}

/** Keeps at most MAX_FILE_NAME_BYTES UTF-8 bytes, cutting the stem rather than the extension. */
function _truncateName(name: string): string {
  if (utf8(name).length <= MAX_FILE_NAME_BYTES) return name;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && name.length - dot <= _MAX_EXTENSION_CHARS + 1 ? name.slice(dot) : "";
  const stem = Array.from(ext === "" ? name : name.slice(0, dot));
  const budget = MAX_FILE_NAME_BYTES - utf8(ext).length;
  let out = "";
  let used = 0;
  for (const ch of stem) {
    const n = utf8(ch).length;
    if (used + n > budget) break;
    out += ch;
    used += n;
  }
  // Cutting may leave a trailing space or dot before the extension; trim again.
  return out.replace(/[\s.]+$/, "") + ext;
}

function _isInt(v: unknown, min: number): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min;
}
