/**
 * WebSocket frames as a server reads and writes them (RFC 6455 section 5): the header parser
 * that lets a server refuse an oversized frame before reading its payload, unmasking, close
 * payloads, and server-to-client frame encoding. Pure functions over `Uint8Array`.
 *
 * Spec: RFC 6455, "The WebSocket Protocol", sections 5.2 (framing), 5.3 (masking), 5.5
 * (control frames), 7.4 (close codes). https://www.rfc-editor.org/rfc/rfc6455
 *
 * @module
 */

/** Frame opcodes (RFC 6455 section 5.2). */
export const OPCODES = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close codes this module decides on (RFC 6455 section 7.4.1). */
export const WS_CLOSE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  /** No status code was present (never sent in a frame). */
  noStatus: 1005,
  /** The connection closed without a close frame (never sent in a frame). */
  abnormal: 1006,
  invalidPayload: 1007,
  policyViolation: 1008,
  tooBig: 1009,
} as const;

/**
 * The 1009 close reason for a message over `limit` bytes (all fragments together), digits not
 * grouped: "Message over 16384 bytes".
 */
export function tooBigReason(limit: number): string {
  return `Message over ${limit} bytes`;
}

/** A violation of RFC 6455 by the peer: the connection is closed with `code`. */
export class WsProtocolError extends Error {
  /** The close code to send (1002, 1007 or 1009). */
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = "WsProtocolError";
    this.code = code;
  }
}

/** A parsed frame header. */
export interface FrameHeader {
  readonly fin: boolean;
  readonly opcode: number;
  /** The 4-byte masking key; null for an unmasked frame. */
  readonly mask: Uint8Array | null;
  /** Payload length in bytes (at most 2^53 − 1). */
  readonly length: number;
  /** Header length in bytes (2 to 14). */
  readonly headerLength: number;
}

/**
 * Parses the frame header at the start of `bytes`; null when more bytes are needed.
 * Throws {@linkcode WsProtocolError} 1002 for reserved bits or opcodes, an unmasked frame
 * when `requireMask`, a fragmented or long control frame, or a non-minimal length.
 */
export function parseFrameHeader(bytes: Uint8Array, requireMask: boolean): FrameHeader | null {
  if (bytes.length < 2) return null;
  const b0 = bytes[0]!;
  const b1 = bytes[1]!;
  const fin = (b0 & 0x80) !== 0;
  if ((b0 & 0x70) !== 0) {
    throw new WsProtocolError(WS_CLOSE.protocolError, "Reserved bits must be 0 (no extension)");
  }
  const opcode = b0 & 0x0f;
  if (!_KNOWN_OPCODES.has(opcode)) {
    throw new WsProtocolError(WS_CLOSE.protocolError, `Unknown opcode ${opcode}`);
  }
  const masked = (b1 & 0x80) !== 0;
  if (requireMask && !masked) {
    throw new WsProtocolError(WS_CLOSE.protocolError, "Client frames must be masked");
  }
  let length = b1 & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (bytes.length < 4) return null;
    length = (bytes[2]! << 8) | bytes[3]!;
    if (length < 126) {
      throw new WsProtocolError(WS_CLOSE.protocolError, "Payload length not minimally encoded");
    }
    offset = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset + 2, 8);
    const high = view.getUint32(0);
    const low = view.getUint32(4);
    if (high & 0x80000000) {
      throw new WsProtocolError(WS_CLOSE.protocolError, "Payload length must have its top bit 0");
    }
    // Above 2^53 − 1 is beyond any limit; report it as the largest safe length.
    length = high > 0x1fffff ? Number.MAX_SAFE_INTEGER : high * 2 ** 32 + low;
    if (length < 65536) {
      throw new WsProtocolError(WS_CLOSE.protocolError, "Payload length not minimally encoded");
    }
    offset = 10;
  }
  if (opcode >= 0x8) {
    if (!fin) {
      throw new WsProtocolError(WS_CLOSE.protocolError, "Control frames cannot be fragmented");
    }
    if (length > 125) {
      throw new WsProtocolError(WS_CLOSE.protocolError, "Control frames carry at most 125 bytes");
    }
  }
  let mask: Uint8Array | null = null;
  if (masked) {
    if (bytes.length < offset + 4) return null;
    mask = bytes.slice(offset, offset + 4);
    offset += 4;
  }
  return { fin, opcode, mask, length, headerLength: offset };
}

const _KNOWN_OPCODES = new Set<number>(Object.values(OPCODES));

/**
 * Unmasks `payload` in place with `mask` (RFC 6455 section 5.3); `offset` is the position of
 * `payload[0]` within the frame's payload, for a payload read in pieces.
 */
export function unmask(payload: Uint8Array, mask: Uint8Array, offset = 0): void {
  if (mask.length !== 4) throw new RangeError(`Expected a 4-byte mask, got ${mask.length} bytes`);
  const m0 = mask[offset & 3]!;
  const m1 = mask[(offset + 1) & 3]!;
  const m2 = mask[(offset + 2) & 3]!;
  const m3 = mask[(offset + 3) & 3]!;
  const n = payload.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    payload[i] = payload[i]! ^ m0;
    payload[i + 1] = payload[i + 1]! ^ m1;
    payload[i + 2] = payload[i + 2]! ^ m2;
    payload[i + 3] = payload[i + 3]! ^ m3;
  }
  const rest = [m0, m1, m2];
  for (let j = 0; i < n; i++, j++) payload[i] = payload[i]! ^ rest[j]!;
}

/**
 * The length of a frame header for a payload of `length` bytes, unmasked (a server's).
 */
export function serverHeaderLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/**
 * Writes an unmasked, final frame header for `opcode` and `length` into `out` at `at`;
 * returns the header length.
 */
export function writeFrameHeader(
  out: Uint8Array,
  at: number,
  opcode: number,
  length: number,
): number {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`Expected a payload length from 0 to 2^53 - 1, got ${length}`);
  }
  out[at] = 0x80 | opcode;
  if (length < 126) {
    out[at + 1] = length;
    return 2;
  }
  if (length < 65536) {
    out[at + 1] = 126;
    out[at + 2] = length >>> 8;
    out[at + 3] = length & 0xff;
    return 4;
  }
  out[at + 1] = 127;
  const view = new DataView(out.buffer, out.byteOffset + at + 2, 8);
  view.setUint32(0, Math.floor(length / 2 ** 32));
  view.setUint32(4, length >>> 0);
  return 10;
}

/** One unmasked, final frame with `payload`. */
export function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(serverHeaderLength(payload.length) + payload.length);
  const h = writeFrameHeader(out, 0, opcode, payload.length);
  out.set(payload, h);
  return out;
}

const _encoder = new TextEncoder();

/**
 * A text frame holding `text`, encoded straight behind its header (one copy of the text).
 */
export function encodeTextFrame(text: string): Uint8Array {
  // UTF-8 needs at most 3 bytes per UTF-16 unit; short texts are measured exactly.
  if (text.length < 42) return encodeFrame(OPCODES.text, _encoder.encode(text));
  const room = new Uint8Array(10 + text.length * 3);
  const { written } = _encoder.encodeInto(text, room.subarray(10));
  const h = serverHeaderLength(written);
  writeFrameHeader(room, 10 - h, OPCODES.text, written);
  return room.subarray(10 - h, 10 + written);
}

/** Close codes a peer may send (RFC 6455 section 7.4; 1005, 1006 and 1015 never travel). */
export function isValidCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

const _strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a close frame's payload: `{ code: 1005, reason: "" }` when empty. Throws
 * {@linkcode WsProtocolError} for a 1-byte payload, a code that may not be sent, or a reason
 * that is not UTF-8.
 */
export function parseClosePayload(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length === 0) return { code: WS_CLOSE.noStatus, reason: "" };
  if (payload.length === 1) {
    throw new WsProtocolError(WS_CLOSE.protocolError, "A close payload needs a 2-byte code");
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) {
    throw new WsProtocolError(WS_CLOSE.protocolError, `Close code ${code} may not be sent`);
  }
  try {
    return { code, reason: _strictUtf8.decode(payload.subarray(2)) };
  } catch {
    throw new WsProtocolError(WS_CLOSE.invalidPayload, "Close reason must be UTF-8");
  }
}

/** A close frame's payload: the code and a reason cut to fit 123 bytes of UTF-8. */
export function closePayload(code: number, reason: string): Uint8Array {
  let bytes = _encoder.encode(reason);
  if (bytes.length > 123) {
    // Cut at a character boundary: drop continuation bytes before the cut.
    let end = 123;
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  const out = new Uint8Array(2 + bytes.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(bytes, 2);
  return out;
}
