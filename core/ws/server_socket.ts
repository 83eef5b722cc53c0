/**
 * The server end of one WebSocket connection over a byte stream (a TCP or TLS connection
 * after the 101 answer), with the browser `WebSocket`'s shape (`readyState`, `send`, `close`,
 * `bufferedAmount`, `on*` handlers) so the chat server and the mesh use it as they would a
 * WebSocket. What `Deno.upgradeWebSocket` cannot do, it does: a maximum message size
 * checked at the frame header, before any payload is read, and changeable per connection
 * (small before login, larger after).
 *
 * Frames sent in one turn of the event loop leave in one write.
 *
 * A server holds thousands of these, mostly idle, so an idle socket keeps little: a 512-byte
 * read buffer (most client frames arrive whole in one read of it), no write queue, no
 * closures. A frame that does not fit borrows a 4 KiB buffer from a list shared by every
 * socket and gives it back as soon as nothing is left in it; a larger payload gets a buffer
 * of exactly its size, which the limit bounds. An owner may take events through one
 * {@linkcode SocketListener} object instead of four `on*` closures per socket.
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
  tooBigReason,
  unmask,
  WS_CLOSE,
  WsProtocolError,
} from "./frame.ts";

/** What the socket reads and writes: a `Deno.Conn` or `Deno.TlsConn`, or a test fake. */
export interface ByteStream {
  /** Reads into `p`; the number of bytes read, or null at the end of the stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; the number of bytes written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream, in both directions. */
  close(): void;
}

/** A message event: text as a string, binary as bytes. */
export interface SocketMessageEvent {
  /** The whole message (fragments joined). */
  readonly data: string | Uint8Array;
}

/** A close event (code 1006 when the connection ended without a close frame). */
export interface SocketCloseEvent {
  /** The close code (RFC 6455 section 7.4), 1006 when no close frame came. */
  readonly code: number;
  /** The close reason, possibly empty. */
  readonly reason: string;
  /** True when both sides exchanged close frames. */
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
  /**
   * Called once the connection has ended, after the close handlers (the listener's
   * bookkeeping); one function can serve every socket.
   */
  onEnded?: (socket: ServerSocket) => void;
}

/**
 * A socket's events as one object, for owners of many sockets: the methods of one object per
 * socket cost less than four closures each. Called after the matching `on*` handler.
 */
export interface SocketListener {
  /** The socket is open: it may send. */
  onOpen?(): void;
  /** A whole message arrived: text as a string, binary as bytes. */
  onMessage(data: string | Uint8Array): void;
  /** The connection ended, once, whether cleanly or not. */
  onClose(ev: SocketCloseEvent): void;
  /** Writing to the stream failed; `onClose` (code 1006) follows. */
  onError?(error: unknown): void;
}

/** The read buffer an idle socket keeps; most client frames arrive whole in one read of it. */
const _IDLE_READ = 512;
/** The buffer a frame that does not fit the idle one borrows; a larger payload gets its own. */
const _READ_BUFFER = 4096;
/** Most borrowed buffers kept for reuse, for all sockets together. */
const _SPARE_MAX = 32;
const _spare: Uint8Array[] = [];
/** The longest frame header (RFC 6455 section 5.2). */
const _MAX_HEADER = 14;
const _EMPTY = new Uint8Array(0);
/** Most bytes gathered into one write. */
const _WRITE_CHUNK = 1 << 20;
const _strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The server end of a WebSocket; see the module documentation. */
export class ServerSocket {
  /** `readyState` before the socket opens (as `WebSocket.CONNECTING`). */
  static readonly CONNECTING = 0;
  /** `readyState` while it may send and receive. */
  static readonly OPEN = 1;
  /** `readyState` once a close frame was sent or received. */
  static readonly CLOSING = 2;
  /** `readyState` once the connection ended. */
  static readonly CLOSED = 3;

  /** Called when the socket opens. */
  onopen: (() => void) | null = null;
  /** Called with each whole message. */
  onmessage: ((ev: SocketMessageEvent) => void) | null = null;
  /** Called once when the connection ends. */
  onclose: ((ev: SocketCloseEvent) => void) | null = null;
  /** Called when writing to the stream fails; `onclose` (code 1006) follows. */
  onerror: ((ev: { error: unknown }) => void) | null = null;
  /** Hears every event too, after the `on*` handlers (see {@linkcode SocketListener}). */
  listener: SocketListener | null = null;

  readonly #stream: ByteStream;
  readonly #closeTimeoutMs: number;
  readonly #onEnded: ((socket: ServerSocket) => void) | null;
  #maxMessageBytes: number;
  #state = 0;
  #initial: Uint8Array | null;
  /** The socket's own small read buffer, kept while it lives. */
  #idle: Uint8Array = _EMPTY;
  /** Where reads go: `#idle`, or a buffer borrowed for a frame that did not fit it. */
  #buf: Uint8Array = _EMPTY;
  /** Bytes `[#bufStart, #bufEnd)` of `#buf` are read and not parsed yet. */
  #bufStart = 0;
  #bufEnd = 0;
  /** Frames waiting to be written; null when there are none. */
  #queue: Uint8Array[] | null = null;
  #queued = 0;
  #inFlight = 0;
  #flushScheduled = false;
  #writing = false;
  #closeAfterFlush = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closeEvent: SocketCloseEvent | null = null;
  /** How the connection ended; null while it lasts. */
  #ended: SocketCloseEvent | null = null;
  /** Made only when someone waits on {@linkcode closed}. */
  #closedWait: PromiseWithResolvers<SocketCloseEvent> | null = null;
  #lastRead = performance.now();

  /** Wraps `stream`, whose 101 answer has been written; nothing is read until `start()`. */
  constructor(stream: ByteStream, opts: ServerSocketOptions) {
    this.#stream = stream;
    this.#maxMessageBytes = _checkMax(opts.maxMessageBytes);
    this.#initial = opts.initial ?? null;
    this.#closeTimeoutMs = opts.closeTimeoutMs ?? 2_000;
    this.#onEnded = opts.onEnded ?? null;
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
    if (this.#ended !== null) return Promise.resolve(this.#ended);
    return (this.#closedWait ??= Promise.withResolvers()).promise;
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
    this.listener?.onOpen?.();
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
    if (this.#state === ServerSocket.OPEN) this.#enqueue(_PING);
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
    (this.#queue ??= []).push(frame);
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
      while (this.#queue !== null) {
        const chunk = this.#takeChunk(this.#queue);
        this.#inFlight = chunk.length;
        let off = 0;
        while (off < chunk.length) off += await this.#stream.write(chunk.subarray(off));
        this.#inFlight = 0;
      }
    } catch (err) {
      this.#inFlight = 0;
      this.#queue = null;
      this.#queued = 0;
      this.#writing = false;
      this.onerror?.({ error: err });
      this.listener?.onError?.(err);
      this.#end({ code: WS_CLOSE.abnormal, reason: "", wasClean: false });
      return;
    }
    this.#writing = false;
    if (this.#closeAfterFlush) this.#end();
  }

  /**
   * Takes queued frames into one buffer of at most about {@linkcode _WRITE_CHUNK} bytes; the
   * queue is dropped once empty.
   */
  #takeChunk(queue: Uint8Array[]): Uint8Array {
    const first = queue[0]!;
    let out: Uint8Array;
    if (queue.length === 1 || first.length >= _WRITE_CHUNK) {
      queue.shift();
      out = first;
    } else {
      let n = 0;
      let size = 0;
      while (n < queue.length && size + queue[n]!.length <= _WRITE_CHUNK) {
        size += queue[n]!.length;
        n++;
      }
      out = new Uint8Array(size);
      let at = 0;
      for (const frame of queue.splice(0, n)) {
        out.set(frame, at);
        at += frame.length;
      }
    }
    this.#queued -= out.length;
    if (queue.length === 0 && this.#queue === queue) this.#queue = null;
    return out;
  }

  async #readLoop(): Promise<void> {
    this.#idle = this.#buf = new Uint8Array(_IDLE_READ);
    const initial = this.#initial;
    this.#initial = null;
    if (initial !== null && initial.length > 0) {
      if (initial.length > _IDLE_READ) {
        this.#buf = initial.length > _READ_BUFFER
          ? new Uint8Array(initial.length)
          : _spare.pop() ?? new Uint8Array(_READ_BUFFER);
      }
      this.#buf.set(initial);
      this.#bufEnd = initial.length;
    }
    // A fragmented message being gathered.
    let fragments: Uint8Array[] | null = null;
    let fragmentBytes = 0;
    let fragmentOpcode = 0;

    try {
      for (;;) {
        if (this.#state === ServerSocket.CLOSED) return;
        // Between frames with nothing left over: back to the idle buffer.
        if (this.#bufStart === this.#bufEnd) this.#rest();
        let header = parseFrameHeader(this.#buf.subarray(this.#bufStart, this.#bufEnd), true);
        while (header === null) {
          // Reads are awaited here, in this function, not in a helper: each async function
          // waiting on a read is a few hundred bytes per idle socket.
          const n = await this.#stream.read(this.#room(_MAX_HEADER));
          if (n === null) return this.#end(_ABNORMAL);
          this.#filled(n);
          header = parseFrameHeader(this.#buf.subarray(this.#bufStart, this.#bufEnd), true);
        }
        const { opcode, length, fin, mask } = header;
        if (opcode < 0x8) {
          if (opcode === OPCODES.continuation && fragments === null) {
            throw new WsProtocolError(WS_CLOSE.protocolError, "Continuation without a message");
          }
          if (opcode !== OPCODES.continuation && fragments !== null) {
            throw new WsProtocolError(
              WS_CLOSE.protocolError,
              "New message inside a fragmented one",
            );
          }
          // Refused here, from the header alone: none of the payload is read.
          if (fragmentBytes + length > this.#maxMessageBytes) {
            throw new WsProtocolError(WS_CLOSE.tooBig, tooBigReason(this.#maxMessageBytes));
          }
        }
        this.#bufStart += header.headerLength;
        let payload: Uint8Array;
        if (length <= Math.max(_READ_BUFFER, this.#buf.length)) {
          while (this.#bufEnd - this.#bufStart < length) {
            const n = await this.#stream.read(this.#room(length));
            if (n === null) return this.#end(_ABNORMAL);
            this.#filled(n);
          }
          payload = this.#buf.subarray(this.#bufStart, this.#bufStart + length);
          this.#bufStart += length;
        } else {
          payload = new Uint8Array(length);
          let got = this.#bufEnd - this.#bufStart;
          payload.set(this.#buf.subarray(this.#bufStart, this.#bufEnd));
          this.#bufStart = this.#bufEnd;
          while (got < length) {
            const n = await this.#stream.read(payload.subarray(got));
            if (n === null) return this.#end(_ABNORMAL);
            this.#lastRead = performance.now();
            got += n;
          }
        }
        // The payload may be a view of a shared buffer: whatever is kept of it is copied.
        if (mask !== null) unmask(payload, mask);

        if (opcode >= 0x8) {
          this.#control(opcode, payload);
          continue;
        }
        if (this.#state !== ServerSocket.OPEN) continue; // closing: data is discarded
        if (!fin) {
          if (fragments === null) {
            fragments = [];
            fragmentOpcode = opcode;
          }
          fragments.push(payload.slice());
          fragmentBytes += length;
          continue;
        }
        let whole = payload;
        let wholeOpcode = opcode;
        if (fragments !== null) {
          fragments.push(payload);
          whole = _concat(fragments, fragmentBytes + length);
          wholeOpcode = fragmentOpcode;
          fragments = null;
          fragmentBytes = 0;
        }
        if (wholeOpcode === OPCODES.text) {
          let text: string;
          try {
            text = _strictUtf8.decode(whole);
          } catch {
            throw new WsProtocolError(WS_CLOSE.invalidPayload, "Text message is not UTF-8");
          }
          this.#message(text);
        } else {
          this.#message(whole === payload ? whole.slice() : whole);
        }
      }
    } catch (err) {
      if (err instanceof WsProtocolError) {
        this.#fail(err.code, err.message);
        await this.#drain();
      } else {
        // A read error: the connection is gone.
        this.#end(_ABNORMAL);
      }
    } finally {
      this.#rest();
      this.#idle = this.#buf = _EMPTY;
    }
  }

  /**
   * Where the next read goes: the free end of `#buf`, with room for `need` bytes counted
   * from the unparsed ones (at most {@linkcode _READ_BUFFER}, or `#buf`'s length if that is
   * larger). Moves the unparsed bytes to the front, or into a borrowed buffer when the idle
   * one is too small.
   */
  #room(need: number): Uint8Array {
    const buf = this.#buf;
    if (this.#bufStart + need > buf.length || this.#bufEnd === buf.length) {
      const have = this.#bufEnd - this.#bufStart;
      if (need > buf.length) {
        this.#buf = _spare.pop() ?? new Uint8Array(_READ_BUFFER);
        this.#buf.set(buf.subarray(this.#bufStart, this.#bufEnd));
      } else {
        buf.copyWithin(0, this.#bufStart, this.#bufEnd);
      }
      this.#bufStart = 0;
      this.#bufEnd = have;
    }
    return this.#buf.subarray(this.#bufEnd);
  }

  #filled(n: number): void {
    this.#bufEnd += n;
    this.#lastRead = performance.now();
  }

  /** Drops the bytes left in the buffer and gives a borrowed buffer back. */
  #rest(): void {
    this.#bufStart = this.#bufEnd = 0;
    if (this.#buf === this.#idle) return;
    if (this.#buf.length === _READ_BUFFER && _spare.length < _SPARE_MAX) _spare.push(this.#buf);
    this.#buf = this.#idle;
  }

  #message(data: string | Uint8Array): void {
    this.onmessage?.({ data });
    this.listener?.onMessage(data);
  }

  /**
   * After refusing a frame: reads and drops what the peer still sends until it closes or the
   * close timeout ends the connection. Closing at once with unread bytes would make the OS
   * reset the connection, and the peer could lose our close frame (and its code) with it.
   * Nothing read is kept, so this costs no memory.
   */
  async #drain(): Promise<void> {
    this.#rest();
    try {
      while (this.#state !== ServerSocket.CLOSED) {
        if ((await this.#stream.read(this.#idle)) === null) break;
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
    if (!this.#writing && !this.#flushScheduled && this.#queue === null) this.#end();
    else this.#closeAfterFlush = true;
  }

  /** Closes the stream and reports the close once. */
  #end(event?: SocketCloseEvent): void {
    if (this.#state === ServerSocket.CLOSED) return;
    this.#state = ServerSocket.CLOSED;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    this.#queue = null;
    this.#queued = 0;
    try {
      this.#stream.close();
    } catch {
      // already closed
    }
    const ev = this.#closeEvent ?? event ?? _ABNORMAL;
    this.#ended = ev;
    try {
      this.onclose?.(ev);
      this.listener?.onClose(ev);
    } finally {
      this.#closedWait?.resolve(ev);
      this.#onEnded?.(this);
    }
  }
}

const _ABNORMAL: SocketCloseEvent = { code: WS_CLOSE.abnormal, reason: "", wasClean: false };
/** Every ping is this frame (written as is, never changed). */
const _PING = encodeFrame(OPCODES.ping, _EMPTY);

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
