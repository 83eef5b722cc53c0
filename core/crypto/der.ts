/**
 * A minimal, strict DER reader and writer (ITU-T X.690 section 10, Distinguished Encoding
 * Rules) covering exactly the types RSA keys need: SEQUENCE, INTEGER, NULL, OBJECT
 * IDENTIFIER, OCTET STRING and BIT STRING.
 *
 * The reader accepts only the one canonical encoding of each value: definite, minimal
 * lengths; minimal two's-complement integers; minimal OID subidentifiers; no trailing
 * bytes. Accepting BER variants would let one key have many encodings, which breaks
 * byte-for-byte comparison of keys and has historically enabled signature forgeries.
 * Every failure is a {@linkcode KeyFormatError} naming the byte offset and what was
 * expected there.
 *
 * @module
 */

import { concat } from "./bytes.ts";
import { KeyFormatError } from "./errors.ts";

/** Universal tag bytes (X.690 section 8.1.2, X.680 section 8.4) used by RSA key structures. */
export const DER_TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OBJECT_IDENTIFIER: 0x06,
  SEQUENCE: 0x30,
} as const;

const _TAG_NAMES: Record<number, string> = {
  0x01: "BOOLEAN",
  0x02: "INTEGER",
  0x03: "BIT STRING",
  0x04: "OCTET STRING",
  0x05: "NULL",
  0x06: "OBJECT IDENTIFIER",
  0x0c: "UTF8String",
  0x13: "PrintableString",
  0x30: "SEQUENCE",
  0x31: "SET",
};

// Lengths above 2^32 - 1 cannot occur in a key; refusing them keeps arithmetic exact.
const _MAX_LENGTH_BYTES = 4;

function _hexByte(b: number): string {
  return `0x${b.toString(16).padStart(2, "0")}`;
}

function _describeTag(tag: number): string {
  const name = _TAG_NAMES[tag];
  return name === undefined ? `tag ${_hexByte(tag)}` : `${name} (tag ${_hexByte(tag)})`;
}

/** Position of one element inside the buffer being read; all offsets are absolute. */
interface _Element {
  readonly start: number;
  readonly contentStart: number;
  readonly contentEnd: number;
}

/**
 * Reads DER elements one after another from a buffer (or from the contents of one
 * constructed element). Each `read*` method consumes one element and checks its tag,
 * length and contents. Call {@linkcode DerReader.finish} once done, so trailing bytes are
 * rejected rather than silently ignored.
 *
 * @example
 * ```ts
 * const top = new DerReader(der, "Invalid PKCS#1 RSA public key");
 * const seq = top.readSequence("RSAPublicKey");
 * const n = seq.readNonNegativeInteger("modulus");
 * const e = seq.readNonNegativeInteger("publicExponent");
 * seq.finish();
 * top.finish();
 * ```
 */
export class DerReader {
  #bytes: Uint8Array;
  #pos: number;
  #end: number;
  #context: string;
  #container: string | undefined;

  /**
   * Creates a reader over the whole of `bytes`. `context` starts every error message,
   * e.g. "Invalid PKCS#1 RSA public key", so callers learn which structure was bad.
   */
  constructor(bytes: Uint8Array, context = "Invalid DER") {
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`Expected DER bytes to be a Uint8Array, got ${typeof bytes}`);
    }
    if (typeof context !== "string") {
      throw new TypeError(`Expected the error context to be a string, got ${typeof context}`);
    }
    this.#bytes = bytes;
    this.#pos = 0;
    this.#end = bytes.length;
    this.#context = context;
    this.#container = undefined;
  }

  /** The absolute byte offset of the next element to read. */
  get offset(): number {
    return this.#pos;
  }

  /** Whether every byte of this reader's range has been consumed. */
  get done(): boolean {
    return this.#pos >= this.#end;
  }

  /** The tag byte of the next element, or `undefined` at the end of the range. */
  peekTag(): number | undefined {
    return this.#pos < this.#end ? this.#bytes[this.#pos] : undefined;
  }

  /**
   * Throws unless every byte has been consumed: trailing bytes after the top-level
   * element, or extra elements at the end of a SEQUENCE.
   */
  finish(): void {
    if (this.#pos >= this.#end) return;
    const left = this.#end - this.#pos;
    const tag = this.#bytes[this.#pos]!;
    if (this.#container === undefined) {
      throw this.#error(
        `unexpected trailing data at byte offset ${this.#pos} (${left} byte${
          left === 1 ? "" : "s"
        }); expected the data to end after the top-level element`,
      );
    }
    throw this.#error(
      `unexpected extra element (${
        _describeTag(tag)
      }) at byte offset ${this.#pos} inside ${this.#container}; expected the end of the ${this.#container}`,
    );
  }

  /** Reads a SEQUENCE and returns a reader over its contents; `finish()` that reader too. */
  readSequence(name: string): DerReader {
    const el = this.#readElement(DER_TAG.SEQUENCE, name);
    return this.#sub(el, name);
  }

  /** Reads an INTEGER (two's complement, minimally encoded) of any sign. */
  readInteger(name: string): bigint {
    const el = this.#readElement(DER_TAG.INTEGER, name);
    const len = el.contentEnd - el.contentStart;
    if (len === 0) {
      throw this.#error(
        `INTEGER ${name} at byte offset ${el.start} has no content bytes; expected at least one`,
      );
    }
    const first = this.#bytes[el.contentStart]!;
    if (len > 1) {
      const second = this.#bytes[el.contentStart + 1]!;
      // X.690 section 8.3.2: the first nine bits must not be all zeros or all ones.
      if ((first === 0x00 && second < 0x80) || (first === 0xff && second >= 0x80)) {
        throw this.#error(
          `INTEGER ${name} at byte offset ${el.start} is not minimally encoded (redundant leading ${
            _hexByte(first)
          } byte); expected the shortest two's-complement form`,
        );
      }
    }
    let hex = "";
    for (let i = el.contentStart; i < el.contentEnd; i++) {
      hex += this.#bytes[i]!.toString(16).padStart(2, "0");
    }
    const value = BigInt("0x" + hex);
    return first >= 0x80 ? value - (1n << BigInt(8 * len)) : value;
  }

  /** Reads an INTEGER and rejects negative values (moduli, exponents, versions). */
  readNonNegativeInteger(name: string): bigint {
    const start = this.#pos;
    const value = this.readInteger(name);
    if (value < 0n) {
      throw this.#error(
        `INTEGER ${name} at byte offset ${start} is negative; expected a non-negative integer`,
      );
    }
    return value;
  }

  /** Reads a NULL, which must have empty contents. */
  readNull(name: string): void {
    const el = this.#readElement(DER_TAG.NULL, name);
    const len = el.contentEnd - el.contentStart;
    if (len !== 0) {
      throw this.#error(
        `NULL ${name} at byte offset ${el.start} has ${len} content bytes; expected none`,
      );
    }
  }

  /** Reads an OBJECT IDENTIFIER and returns it in dotted form, e.g. "1.2.840.113549.1.1.1". */
  readOid(name: string): string {
    const el = this.#readElement(DER_TAG.OBJECT_IDENTIFIER, name);
    if (el.contentEnd === el.contentStart) {
      throw this.#error(
        `OBJECT IDENTIFIER ${name} at byte offset ${el.start} is empty; expected at least one subidentifier`,
      );
    }
    const arcs: bigint[] = [];
    let value = 0n;
    let subStart = el.contentStart;
    for (let i = el.contentStart; i < el.contentEnd; i++) {
      const b = this.#bytes[i]!;
      // X.690 section 8.19.2: a leading 0x80 byte would pad a subidentifier with zeros.
      if (i === subStart && b === 0x80) {
        throw this.#error(
          `OBJECT IDENTIFIER ${name} has a non-minimal subidentifier at byte offset ${i} (leading 0x80 byte); expected the shortest base-128 form`,
        );
      }
      value = (value << 7n) | BigInt(b & 0x7f);
      if (b < 0x80) {
        arcs.push(value);
        value = 0n;
        subStart = i + 1;
      }
    }
    if (subStart !== el.contentEnd) {
      throw this.#error(
        `OBJECT IDENTIFIER ${name} at byte offset ${el.start} ends inside a subidentifier; expected its last byte to have the high bit clear`,
      );
    }
    // X.690 section 8.19.4: the first subidentifier packs the first two arcs.
    const first = arcs[0]!;
    const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
    return [...head, ...arcs.slice(1)].join(".");
  }

  /** Reads an OCTET STRING and returns a copy of its contents. */
  readOctetString(name: string): Uint8Array {
    const el = this.#readElement(DER_TAG.OCTET_STRING, name);
    return this.#bytes.slice(el.contentStart, el.contentEnd);
  }

  /**
   * Reads an OCTET STRING whose contents are themselves DER (e.g. the RSAPrivateKey inside
   * PKCS#8) and returns a reader over them; error offsets stay absolute.
   */
  readOctetStringAsDer(name: string): DerReader {
    const el = this.#readElement(DER_TAG.OCTET_STRING, name);
    return this.#sub(el, undefined);
  }

  /**
   * Reads a BIT STRING that must hold whole bytes (unused-bits byte 0, as every key
   * encoding requires) and returns a copy of those bytes.
   */
  readBitString(name: string): Uint8Array {
    const el = this.#readBitString(name);
    return this.#bytes.slice(el.contentStart, el.contentEnd);
  }

  /**
   * Reads a whole-byte BIT STRING whose contents are themselves DER (e.g. the RSAPublicKey
   * inside SubjectPublicKeyInfo) and returns a reader over them.
   */
  readBitStringAsDer(name: string): DerReader {
    return this.#sub(this.#readBitString(name), undefined);
  }

  #readBitString(name: string): _Element {
    const el = this.#readElement(DER_TAG.BIT_STRING, name);
    if (el.contentEnd === el.contentStart) {
      throw this.#error(
        `BIT STRING ${name} at byte offset ${el.start} has no unused-bits byte; expected at least one content byte`,
      );
    }
    const unused = this.#bytes[el.contentStart]!;
    if (unused !== 0) {
      throw this.#error(
        `BIT STRING ${name} at byte offset ${el.start} declares ${unused} unused bits; expected 0 (a whole number of bytes)`,
      );
    }
    return { start: el.start, contentStart: el.contentStart + 1, contentEnd: el.contentEnd };
  }

  #sub(el: _Element, container: string | undefined): DerReader {
    const sub = new DerReader(this.#bytes, this.#context);
    sub.#pos = el.contentStart;
    sub.#end = el.contentEnd;
    sub.#container = container;
    return sub;
  }

  #readElement(tag: number, name: string): _Element {
    const bytes = this.#bytes;
    const start = this.#pos;
    const end = this.#end;
    const what = `${_TAG_NAMES[tag] ?? `tag ${_hexByte(tag)}`} ${name}`;
    if (start >= end) {
      throw this.#error(
        `data ends at byte offset ${start}${
          this.#container === undefined ? "" : ` inside ${this.#container}`
        }; expected ${what}`,
      );
    }
    const actual = bytes[start]!;
    if (actual !== tag) {
      throw this.#error(
        `expected ${_describeTag(tag)} for ${name} at byte offset ${start}, got ${
          _describeTag(actual)
        }`,
      );
    }
    if (start + 1 >= end) {
      throw this.#error(
        `${what} at byte offset ${start} is truncated before its length byte; expected a length`,
      );
    }
    const first = bytes[start + 1]!;
    let length: number;
    let contentStart: number;
    if (first < 0x80) {
      length = first;
      contentStart = start + 2;
    } else if (first === 0x80) {
      throw this.#error(
        `${what} at byte offset ${start} uses the indefinite length form (0x80), which DER forbids; expected a definite length`,
      );
    } else {
      const count = first & 0x7f;
      if (count > _MAX_LENGTH_BYTES) {
        throw this.#error(
          `${what} at byte offset ${start} has a ${count}-byte length field; expected at most ${_MAX_LENGTH_BYTES} length bytes`,
        );
      }
      if (start + 2 + count > end) {
        throw this.#error(
          `${what} at byte offset ${start} is truncated inside its ${count}-byte length field`,
        );
      }
      if (bytes[start + 2] === 0) {
        throw this.#error(
          `${what} at byte offset ${start} has a non-minimal length (leading zero length byte); expected the shortest length form`,
        );
      }
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + bytes[start + 2 + i]!;
      if (length < 0x80) {
        throw this.#error(
          `${what} at byte offset ${start} has a non-minimal length (long form for length ${length}); expected the short form for lengths below 128`,
        );
      }
      contentStart = start + 2 + count;
    }
    const available = end - contentStart;
    if (length > available) {
      throw this.#error(
        `${what} at byte offset ${start} declares ${length} content bytes but only ${available} remain${
          this.#container === undefined ? "" : ` in ${this.#container}`
        }; the data is truncated or the length is wrong`,
      );
    }
    this.#pos = contentStart + length;
    return { start, contentStart, contentEnd: contentStart + length };
  }

  #error(detail: string): KeyFormatError {
    return new KeyFormatError(`${this.#context}: ${detail}`);
  }
}

/** Encodes a definite length in the shortest form (X.690 sections 8.1.3 and 10.1). */
export function encodeDerLength(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > 0xffffffff) {
    throw new RangeError(`Expected a DER length between 0 and 2^32 - 1, got ${length}`);
  }
  if (length < 0x80) return Uint8Array.of(length);
  const out: number[] = [];
  for (let v = length; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return Uint8Array.from([0x80 | out.length, ...out]);
}

/** Encodes one element from its tag byte and contents. */
export function encodeDerElement(tag: number, content: Uint8Array): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) {
    throw new RangeError(`Expected a single-byte low-number DER tag, got ${tag}`);
  }
  if (!(content instanceof Uint8Array)) {
    throw new TypeError(`Expected DER content to be a Uint8Array, got ${typeof content}`);
  }
  return concat(Uint8Array.of(tag), encodeDerLength(content.length), content);
}

/** Encodes a SEQUENCE of already-encoded elements. */
export function encodeDerSequence(...elements: Uint8Array[]): Uint8Array {
  return encodeDerElement(DER_TAG.SEQUENCE, concat(...elements));
}

/** Encodes an INTEGER in minimal two's complement (X.690 section 8.3). */
export function encodeDerInteger(value: bigint): Uint8Array {
  if (typeof value !== "bigint") {
    throw new TypeError(`Expected a bigint INTEGER value, got ${typeof value}`);
  }
  // A negative v needs as many bytes as -v - 1 (its one's complement); one extra bit is
  // the sign, so the byte count is floor(bitLength / 8) + 1.
  const magnitude = value < 0n ? -value - 1n : value;
  const bits = magnitude === 0n ? 0 : magnitude.toString(2).length;
  const len = Math.floor(bits / 8) + 1;
  const unsigned = value < 0n ? value + (1n << BigInt(8 * len)) : value;
  const hex = unsigned.toString(16).padStart(2 * len, "0");
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return encodeDerElement(DER_TAG.INTEGER, out);
}

/** Encodes NULL (05 00). */
export function encodeDerNull(): Uint8Array {
  return Uint8Array.of(DER_TAG.NULL, 0x00);
}

/** Encodes an OBJECT IDENTIFIER given in dotted form, e.g. "1.2.840.113549.1.1.1". */
export function encodeDerOid(oid: string): Uint8Array {
  if (typeof oid !== "string") throw new TypeError(`Expected an OID string, got ${typeof oid}`);
  if (!/^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/.test(oid)) {
    throw new RangeError(`Expected a dotted OID such as "1.2.840.113549.1.1.1", got "${oid}"`);
  }
  const arcs = oid.split(".").map(BigInt);
  const [a0, a1] = [arcs[0]!, arcs[1]!];
  if (a0 > 2n || (a0 < 2n && a1 >= 40n)) {
    throw new RangeError(
      `Expected an OID whose first arc is 0, 1 or 2 (second arc below 40 unless the first is 2), got "${oid}"`,
    );
  }
  const out: number[] = [];
  for (const arc of [a0 * 40n + a1, ...arcs.slice(2)]) {
    const groups = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) groups.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...groups);
  }
  return encodeDerElement(DER_TAG.OBJECT_IDENTIFIER, Uint8Array.from(out));
}

/** Encodes an OCTET STRING. */
export function encodeDerOctetString(bytes: Uint8Array): Uint8Array {
  return encodeDerElement(DER_TAG.OCTET_STRING, bytes);
}

/** Encodes a BIT STRING of whole bytes (unused-bits byte 0). */
export function encodeDerBitString(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Expected BIT STRING content to be a Uint8Array, got ${typeof bytes}`);
  }
  return encodeDerElement(DER_TAG.BIT_STRING, concat(Uint8Array.of(0), bytes));
}
