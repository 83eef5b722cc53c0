/**
 * The server end of one WebSocket connection over a byte stream (a TCP or TLS connection
 * after the 101 answer), with the browser `WebSocket`'s shape (`readyState`, `send`, `close`,
 * `bufferedAmount`, `on*` handlers) so the chat server and the mesh use it as they would a
 * WebSocket. What `Deno.upgradeWebSocket` cannot do, it does: a maximum message size
 * checked at the frame header, before any payload is read, and changeable per connection
 * (small before login, larger after).
 *
 * Frames sent in one turn of the event loop leave in one write. A read buffer of 4 KiB is
 * reused for headers and small frames; a larger payload gets a buffer of exactly its size,
 * which the limit bounds.
 *
 * Spec: RFC 6455 sections 5 (framing), 5.5 (control frames), 7 (closing), 8.1 (UTF-8).
 *
 * @module
 */

import {
  closePayload,
  encodeFrame,
  encodeTextFrame,
  OPCODES,
  parseClosePayload,
  parseFrameHeader,
  unmask,
  WS_CLOSE,
  WsProtocolError,
} from "./frame.ts";

/** What the socket reads and writes: a `Deno.Conn` or `Deno.TlsConn`, or a test fake. */
export interface ByteStream {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** A message event: text as a string, binary as bytes. */
export interface SocketMessageEvent {
  readonly data: string | Uint8Array;
}

/** A close event (code 1006 when the connection ended without a close frame). */
export interface SocketCloseEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/** Options for {@linkcode ServerSocket}. */
export interface ServerSocketOptions {
  /** Largest message (all fragments together) accepted; larger closes with 1009. */
  maxMessageBytes: number;
  /** Bytes already read after the request head (the first frames, if the client hurried). */
  initial?: Uint8Array;
  /** How long to wait for the peer's close frame after sending ours, milliseconds. */
  closeTimeoutMs?: number;
}

const _READ_BUFFER = 4096;
/** Most bytes gathered into one write. */
const _WRITE_CHUNK = 1 << 20;
const _strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The server end of a WebSocket; see the module documentation. */
export class ServerSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  onopen: (() => void) | null = null;
  onmessage: ((ev: SocketMessageEvent) => void) | null = null;
  onclose: ((ev: SocketCloseEvent) => void) | null = null;
  onerror: ((ev: { error: unknown }) => void) | null = null;

  readonly #stream: ByteStream;
  readonly #closeTimeoutMs: number;
  #maxMessageBytes: number;
  #state = 0;
  #initial: Uint8Array;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #inFlight = 0;
  #flushScheduled = false;
  #writing = false;
  #closeAfterFlush = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closeEvent: SocketCloseEvent | null = null;
  #lastRead = performance.now();
  readonly #closed = Promise.withResolvers<SocketCloseEvent>();

  constructor(stream: ByteStream, opts: ServerSocketOptions) {
    this.#stream = stream;
    this.#maxMessageBytes = _checkMax(opts.maxMessageBytes);
    this.#initial = opts.initial ?? new Uint8Array(0);
    this.#closeTimeoutMs = opts.closeTimeoutMs ?? 2_000;
  }

  /** 0 connecting, 1 open, 2 closing, 3 closed (as `WebSocket.readyState`). */
  get readyState(): number {
    return this.#state;
  }

  /** Bytes queued or being written, not yet handed to the OS. */
  get bufferedAmount(): number {
    return this.#queued + this.#inFlight;
  }

  /** The largest message accepted from now on, in bytes. */
  get maxMessageBytes(): number {
    return this.#maxMessageBytes;
  }
  set maxMessageBytes(bytes: number) {
    this.#maxMessageBytes = _checkMax(bytes);
  }

  /** Resolves once the connection has ended, after `onclose`. */
  get closed(): Promise<SocketCloseEvent> {
    return this.#closed.promise;
  }

  /** `performance.now()` when bytes last arrived (for idle checks). */
  get lastReadAt(): number {
    return this.#lastRead;
  }

  /**
   * Opens the socket: fires `onopen`, then reads frames until the connection ends. Call
   * once, after the handlers are set.
   */
  start(): void {
    if (this.#state !== ServerSocket.CONNECTING) {
      throw new TypeError("The socket was started already");
    }
    this.#state = ServerSocket.OPEN;
    this.onopen?.();
    void this.#readLoop();
  }

  /** Sends a text (string) or binary (bytes) message; ignored unless open. */
  send(data: string | Uint8Array): void {
    if (this.#state !== ServerSocket.OPEN) return;
    this.#enqueue(
      typeof data === "string" ? encodeTextFrame(data) : encodeFrame(OPCODES.binary, data),
    );
  }

  /** Sends a ping (idle checks); ignored unless open. */
  ping(): void {
    if (this.#state === ServerSocket.OPEN) {
      this.#enqueue(encodeFrame(OPCODES.ping, new Uint8Array(0)));
    }
  }

  /**
   * Starts the closing handshake with `code` and `reason`; the connection ends when the
   * peer answers, or after the close timeout.
   */
  close(code: number = WS_CLOSE.normal, reason = ""): void {
    if (this.#state !== ServerSocket.OPEN && this.#state !== ServerSocket.CONNECTING) return;
    this.#state = ServerSocket.CLOSING;
    this.#enqueue(encodeFrame(OPCODES.close, closePayload(code, reason)));
    this.#closeEvent = { code, reason, wasClean: false };
    this.#closeTimer = setTimeout(() => this.#end(), this.#closeTimeoutMs);
  }

  /** Ends the connection at once, without a closing handshake (1006 to the handlers). */
  abort(): void {
    this.#end({ code: WS_CLOSE.abnormal, reason: "", wasClean: false });
  }

  #enqueue(frame: Uint8Array): void {
    this.#queue.push(frame);
    this.#queued += frame.length;
    if (!this.#writing && !this.#flushScheduled) {
      // Frames sent in this turn leave together, in one write.
      this.#flushScheduled = true;
      queueMicrotask(() => void this.#flush());
    }
  }

  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const chunk = this.#takeChunk();
        this.#inFlight = chunk.length;
        let off = 0;
        while (off < chunk.length) off += await this.#stream.write(chunk.subarray(off));
        this.#inFlight = 0;
      }
    } catch (err) {
      this.#inFlight = 0;
      this.#queue = [];
      this.#queued = 0;
      this.#writing = false;
      this.onerror?.({ error: err });
      this.#end({ code: WS_CLOSE.abnormal, reason: "", wasClean: false });
      return;
    }
    this.#writing = false;
    if (this.#closeAfterFlush) this.#end();
  }

  /** Takes queued frames into one buffer of at most about {@linkcode _WRITE_CHUNK} bytes. */
  #takeChunk(): Uint8Array {
    const first = this.#queue[0]!;
    if (this.#queue.length === 1 || first.length >= _WRITE_CHUNK) {
      this.#queue.shift();
      this.#queued -= first.length;
      return first;
    }
    let n = 0;
    let size = 0;
    while (n < this.#queue.length && size + this.#queue[n]!.length <= _WRITE_CHUNK) {
      size += this.#queue[n]!.length;
      n++;
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const frame of this.#queue.splice(0, n)) {
      out.set(frame, at);
      at += frame.length;
    }
    this.#queued -= size;
    return out;
  }

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(Math.max(_READ_BUFFER, this.#initial.length));
    buf.set(this.#initial);
    let start = 0;
    let end = this.#initial.length;
    this.#initial = new Uint8Array(0);
    // A fragmented message being gathered.
    let fragments: Uint8Array[] = [];
    let fragmentBytes = 0;
    let fragmentOpcode = 0;

    const fill = async (): Promise<boolean> => {
      if (end === buf.length) {
        buf.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      const n = await this.#stream.read(buf.subarray(end));
      if (n === null) return false;
      this.#lastRead = performance.now();
      end += n;
      return true;
    };

    try {
      for (;;) {
        if (this.#state === ServerSocket.CLOSED) return;
        let header = parseFrameHeader(buf.subarray(start, end), true);
        while (header === null) {
          if (!(await fill())) return this.#end(_ABNORMAL);
          header = parseFrameHeader(buf.subarray(start, end), true);
        }
        const { opcode, length, fin, mask } = header;
        if (opcode < 0x8) {
          if (opcode === OPCODES.continuation && fragments.length === 0) {
            throw new WsProtocolError(WS_CLOSE.protocolError, "Continuation without a message");
          }
          if (opcode !== OPCODES.continuation && fragments.length > 0) {
            throw new WsProtocolError(
              WS_CLOSE.protocolError,
              "New message inside a fragmented one",
            );
          }
          // Refused here, from the header alone: none of the payload is read.
          if (fragmentBytes + length > this.#maxMessageBytes) {
            throw new WsProtocolError(
              WS_CLOSE.tooBig,
              `Message over ${this.#maxMessageBytes} bytes`,
            );
          }
        }
        start += header.headerLength;
        let payload: Uint8Array;
        if (length <= buf.length) {
          if (start + length > buf.length) {
            buf.copyWithin(0, start, end);
            end -= start;
            start = 0;
          }
          while (end - start < length) {
            if (!(await fill())) return this.#end(_ABNORMAL);
          }
          payload = buf.subarray(start, start + length);
          start += length;
        } else {
          payload = new Uint8Array(length);
          let got = end - start;
          payload.set(buf.subarray(start, end));
          start = end = 0;
          while (got < length) {
            const n = await this.#stream.read(payload.subarray(got));
            if (n === null) return this.#end(_ABNORMAL);
            this.#lastRead = performance.now();
            got += n;
          }
        }
        if (mask !== null) unmask(payload, mask);
        if (start === end) start = end = 0;

        if (opcode >= 0x8) {
          this.#control(opcode, payload);
          continue;
        }
        if (this.#state !== ServerSocket.OPEN) continue; // closing: data is discarded
        if (!fin) {
          if (fragments.length === 0) fragmentOpcode = opcode;
          fragments.push(payload.slice());
          fragmentBytes += length;
          continue;
        }
        let whole = payload;
        let wholeOpcode = opcode;
        if (fragments.length > 0) {
          fragments.push(payload);
          whole = _concat(fragments, fragmentBytes + length);
          wholeOpcode = fragmentOpcode;
          fragments = [];
          fragmentBytes = 0;
        }
        if (wholeOpcode === OPCODES.text) {
          let text: string;
          try {
            text = _strictUtf8.decode(whole);
          } catch {
            throw new WsProtocolError(WS_CLOSE.invalidPayload, "Text message is not UTF-8");
          }
          this.onmessage?.({ data: text });
        } else {
          this.onmessage?.({ data: whole === payload ? whole.slice() : whole });
        }
        // A big payload buffer is dropped here; go back to the small one.
        if (buf.length > _READ_BUFFER && end === 0) buf = new Uint8Array(_READ_BUFFER);
      }
    } catch (err) {
      if (err instanceof WsProtocolError) {
        this.#fail(err.code, err.message);
        await this.#drain(buf);
      } else {
        // A read error: the connection is gone.
        this.#end(_ABNORMAL);
      }
    }
  }

  /**
   * After refusing a frame: reads and drops what the peer still sends until it closes or the
   * close timeout ends the connection. Closing at once with unread bytes would make the OS
   * reset the connection, and the peer could lose our close frame (and its code) with it.
   * Nothing read is kept, so this costs no memory.
   */
  async #drain(buf: Uint8Array): Promise<void> {
    try {
      while (this.#state !== ServerSocket.CLOSED) {
        if ((await this.#stream.read(buf)) === null) break;
      }
    } catch {
      // reset or closed by the timeout
    }
    this.#end();
  }

  #control(opcode: number, payload: Uint8Array): void {
    if (opcode === OPCODES.ping) {
      if (this.#state === ServerSocket.OPEN) {
        this.#enqueue(encodeFrame(OPCODES.pong, payload.slice()));
      }
      return;
    }
    if (opcode === OPCODES.pong) return;
    // A close frame.
    const { code, reason } = parseClosePayload(payload);
    if (this.#state === ServerSocket.OPEN) {
      // Echo the code (none if none came), then end once the echo is written.
      this.#state = ServerSocket.CLOSING;
      const echo = code === WS_CLOSE.noStatus ? new Uint8Array(0) : closePayload(code, "");
      this.#enqueue(encodeFrame(OPCODES.close, echo));
      this.#closeEvent = { code, reason, wasClean: true };
      this.#endAfterFlush();
      return;
    }
    // Our close was answered.
    this.#closeEvent = { code, reason, wasClean: true };
    this.#endAfterFlush();
  }

  /**
   * Closes because the peer broke the protocol (1002, 1007, 1009): our close frame goes out,
   * and the connection ends when the peer closes or after the close timeout.
   */
  #fail(code: number, reason: string): void {
    if (this.#state === ServerSocket.OPEN) {
      this.#state = ServerSocket.CLOSING;
      this.#enqueue(encodeFrame(OPCODES.close, closePayload(code, reason)));
    }
    this.#closeEvent = { code, reason, wasClean: false };
    clearTimeout(this.#closeTimer);
    this.#closeTimer = setTimeout(() => this.#end(), this.#closeTimeoutMs);
  }

  #endAfterFlush(): void {
    if (!this.#writing && !this.#flushScheduled && this.#queue.length === 0) this.#end();
    else this.#closeAfterFlush = true;
  }

  /** Closes the stream and reports the close once. */
  #end(event?: SocketCloseEvent): void {
    if (this.#state === ServerSocket.CLOSED) return;
    this.#state = ServerSocket.CLOSED;
    clearTimeout(this.#closeTimer);
    this.#queue = [];
    this.#queued = 0;
    try {
      this.#stream.close();
    } catch {
      // already closed
    }
    const ev = this.#closeEvent ?? event ?? _ABNORMAL;
    try {
      this.onclose?.(ev);
    } finally {
      this.#closed.resolve(ev);
    }
  }
}

const _ABNORMAL: SocketCloseEvent = { code: WS_CLOSE.abnormal, reason: "", wasClean: false };

function _checkMax(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 125) {
    throw new RangeError(`maxMessageBytes must be an integer of at least 125, got ${bytes}`);
  }
  return bytes;
}

function _concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
