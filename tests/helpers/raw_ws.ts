/**
 * A hostile client's tools: raw TCP HTTP requests and WebSocket frames written by hand, so
 * tests can send what no well-behaved client library would (huge frame headers, bad
 * upgrades, nothing at all).
 */

import { parseFrameHeader, unmask } from "../../core/ws/frame.ts";

const _enc = new TextEncoder();
const _dec = new TextDecoder();

/** A raw HTTP response. */
export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Reads from `conn` until the response head ends; returns it and the bytes after it. */
export async function readResponseHead(
  conn: Deno.Conn,
): Promise<{ status: number; headers: Map<string, string>; rest: Uint8Array }> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  for (;;) {
    const text = _dec.decode(buf);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const [status, ...lines] = text.slice(0, end).split("\r\n");
      const headers = new Map<string, string>();
      for (const l of lines) {
        const i = l.indexOf(":");
        headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
      }
      const headBytes = _enc.encode(text.slice(0, end + 4)).length;
      return { status: Number(status!.split(" ")[1]), headers, rest: buf.slice(headBytes) };
    }
    const n = await conn.read(chunk);
    if (n === null) throw new Error(`Connection closed before a response head: ${text}`);
    const more = new Uint8Array(buf.length + n);
    more.set(buf);
    more.set(chunk.subarray(0, n), buf.length);
    buf = more;
  }
}

/** Sends `request` as is and reads the whole response (the server closes after it). */
export async function rawRequest(port: number, request: string): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(_enc.encode(request));
    const { status, headers, rest } = await readResponseHead(conn);
    let body = _dec.decode(rest);
    const chunk = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(chunk).catch(() => null);
      if (n === null) break;
      body += _dec.decode(chunk.subarray(0, n));
    }
    return { status, headers, body };
  } finally {
    try {
      conn.close();
    } catch {
      // closed
    }
  }
}

/** An upgrade request for `path` with `fields` (a field set to undefined is left out). */
export function upgradeRequest(
  path = "/ws",
  fields: Record<string, string | undefined> = {},
  method = "GET",
): string {
  const all: Record<string, string | undefined> = {
    Host: "127.0.0.1",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    ...fields,
  };
  const lines = Object.entries(all).filter(([, v]) => v !== undefined).map(([k, v]) =>
    `${k}: ${v}\r\n`
  );
  return `${method} ${path} HTTP/1.1\r\n${lines.join("")}\r\n`;
}

/** A WebSocket opened by hand over TCP. */
export class RawWebSocket {
  readonly conn: Deno.Conn;
  #buf: Uint8Array;

  private constructor(conn: Deno.Conn, rest: Uint8Array) {
    this.conn = conn;
    this.#buf = rest;
  }

  /** Connects and upgrades; throws unless the answer is 101. */
  static async open(port: number, path = "/ws"): Promise<RawWebSocket> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(_enc.encode(upgradeRequest(path)));
    const head = await readResponseHead(conn);
    if (head.status !== 101) {
      conn.close();
      throw new Error(`Expected 101, got ${head.status}`);
    }
    return new RawWebSocket(conn, head.rest);
  }

  /** Writes bytes, ignoring a connection the server already closed. */
  async write(bytes: Uint8Array): Promise<boolean> {
    try {
      let off = 0;
      while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
      return true;
    } catch {
      return false;
    }
  }

  /** Sends a masked text frame. */
  sendText(text: string): Promise<boolean> {
    return this.write(maskedFrame(0x1, _enc.encode(text)));
  }

  /**
   * Reads the next frame from the server; null when the connection ends first. Frames are
   * small in these tests, so the whole frame is gathered in memory.
   */
  async readFrame(): Promise<{ opcode: number; payload: Uint8Array } | null> {
    const chunk = new Uint8Array(65536);
    for (;;) {
      const h = parseFrameHeader(this.#buf, false);
      if (h !== null && this.#buf.length >= h.headerLength + h.length) {
        const payload = this.#buf.slice(h.headerLength, h.headerLength + h.length);
        this.#buf = this.#buf.slice(h.headerLength + h.length);
        return { opcode: h.opcode, payload };
      }
      const n = await this.conn.read(chunk).catch(() => null);
      if (n === null) return null;
      const more = new Uint8Array(this.#buf.length + n);
      more.set(this.#buf);
      more.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = more;
    }
  }

  /** Reads frames until a close frame; its code and reason, or null if none came. */
  async readClose(): Promise<{ code: number; reason: string } | null> {
    for (;;) {
      const f = await this.readFrame();
      if (f === null) return null;
      if (f.opcode === 0x8) {
        return {
          code: (f.payload[0]! << 8) | f.payload[1]!,
          reason: _dec.decode(f.payload.subarray(2)),
        };
      }
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed
    }
  }
}

/** A masked client frame (RFC 6455 section 5.3) holding `payload`. */
export function maskedFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const n = payload.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + ext + 4 + n);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (ext === 0) out[1] = 0x80 | n;
  else if (ext === 2) {
    out[1] = 0x80 | 126;
    new DataView(out.buffer).setUint16(2, n);
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setUint32(6, n);
  }
  out.set(mask, 2 + ext);
  const body = payload.slice();
  unmask(body, mask);
  out.set(body, 6 + ext);
  return out;
}

/** Only the header of a masked frame that claims `length` bytes of payload. */
export function maskedHeader(opcode: number, length: number): Uint8Array {
  const out = new Uint8Array(14);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | 127;
  const view = new DataView(out.buffer);
  view.setUint32(2, Math.floor(length / 2 ** 32));
  view.setUint32(6, length >>> 0);
  out.set([1, 2, 3, 4], 10);
  return out;
}

/** The resident memory of process `pid`, in bytes (Linux). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`No VmRSS for process ${pid}`);
  return Number(kb) * 1024;
}
