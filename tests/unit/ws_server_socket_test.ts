/**
 * ServerSocket over an in-memory byte stream: messages, fragments, pings, the closing
 * handshake, protocol violations, and the size limit that is checked before any payload is
 * read.
 */

import assert from "node:assert/strict";
import {
  closePayload,
  OPCODES,
  parseClosePayload,
  parseFrameHeader,
  unmask,
} from "../../core/ws/frame.ts";
import {
  type ByteStream,
  ServerSocket,
  type SocketCloseEvent,
} from "../../core/ws/server_socket.ts";
import { until } from "../helpers/wait.ts";

/** A byte stream fed by the test; records what the socket writes and how much it read. */
class _FakeStream implements ByteStream {
  readonly written: Uint8Array[] = [];
  bytesRead = 0;
  /** `bytesRead` when the socket first wrote something. */
  readAtFirstWrite: number | null = null;
  closed = false;
  #incoming: Uint8Array[] = [];
  #waiter: (() => void) | null = null;
  #eof = false;

  push(bytes: Uint8Array): void {
    this.#incoming.push(bytes);
    this.#waiter?.();
  }

  end(): void {
    this.#eof = true;
    this.#waiter?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#incoming.length === 0) {
      if (this.#eof || this.closed) return null;
      await new Promise<void>((r) => this.#waiter = r);
      this.#waiter = null;
    }
    const head = this.#incoming[0]!;
    const n = Math.min(p.length, head.length);
    p.set(head.subarray(0, n));
    if (n === head.length) this.#incoming.shift();
    else this.#incoming[0] = head.subarray(n);
    this.bytesRead += n;
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    this.readAtFirstWrite ??= this.bytesRead;
    this.written.push(p.slice());
    return Promise.resolve(p.length);
  }

  close(): void {
    this.closed = true;
    this.#waiter?.();
  }

  /** The frames written so far, parsed. */
  frames(): { opcode: number; payload: Uint8Array }[] {
    const all = new Uint8Array(this.written.reduce((n, w) => n + w.length, 0));
    let at = 0;
    for (const w of this.written) {
      all.set(w, at);
      at += w.length;
    }
    const out = [];
    let off = 0;
    while (off < all.length) {
      const h = parseFrameHeader(all.subarray(off), false)!;
      out.push({
        opcode: h.opcode,
        payload: all.slice(off + h.headerLength, off + h.headerLength + h.length),
      });
      off += h.headerLength + h.length;
    }
    return out;
  }
}

const _MASK = new Uint8Array([1, 2, 3, 4]);

/** A masked client frame. */
function _frame(opcode: number, payload: Uint8Array | string, fin = true): Uint8Array {
  const body = typeof payload === "string" ? new TextEncoder().encode(payload) : payload.slice();
  const n = body.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + ext + 4 + n);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (ext === 0) out[1] = 0x80 | n;
  else if (ext === 2) {
    out[1] = 0x80 | 126;
    out[2] = n >> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setUint32(6, n);
  }
  out.set(_MASK, 2 + ext);
  unmask(body, _MASK);
  out.set(body, 6 + ext);
  return out;
}

function _open(max = 1024) {
  const stream = new _FakeStream();
  const socket = new ServerSocket(stream, { maxMessageBytes: max, closeTimeoutMs: 50 });
  const messages: (string | Uint8Array)[] = [];
  const closed: SocketCloseEvent[] = [];
  socket.onmessage = (ev) => messages.push(ev.data);
  socket.onclose = (ev) => closed.push(ev);
  socket.start();
  return { stream, socket, messages, closed };
}

Deno.test("ServerSocket delivers text, binary and fragmented messages in order", async () => {
  const { stream, socket, messages } = _open();
  stream.push(_frame(OPCODES.text, "héllo"));
  // Split a frame across reads, and fragment a message around a ping.
  const split = _frame(OPCODES.binary, new Uint8Array([9, 8, 7]));
  stream.push(split.subarray(0, 3));
  stream.push(split.subarray(3));
  stream.push(_frame(OPCODES.text, "frag", false));
  stream.push(_frame(OPCODES.ping, "p"));
  stream.push(_frame(OPCODES.continuation, "ment", false));
  stream.push(_frame(OPCODES.continuation, "ed", true));
  await until(() => messages.length === 3, "three messages");
  assert.deepEqual(messages, ["héllo", new Uint8Array([9, 8, 7]), "fragmented"]);
  await until(() => stream.frames().length === 1, "the pong");
  assert.equal(stream.frames()[0]!.opcode, OPCODES.pong);
  assert.equal(new TextDecoder().decode(stream.frames()[0]!.payload), "p");
  socket.abort();
});

Deno.test("ServerSocket sends frames of one turn in one write", async () => {
  const { stream, socket } = _open();
  socket.send("a");
  socket.send("b".repeat(300));
  socket.send(new Uint8Array([1]));
  assert.equal(socket.bufferedAmount, 3 + 304 + 3);
  await until(() => stream.written.length > 0, "the write");
  assert.equal(stream.written.length, 1);
  assert.deepEqual(stream.frames().map((f) => f.opcode), [1, 1, 2]);
  assert.equal(socket.bufferedAmount, 0);
  socket.abort();
});

Deno.test("ServerSocket refuses a message over its limit at the header, keeping none of it", async () => {
  const { stream, socket, messages, closed } = _open(1024);
  // A 48 MiB frame's header, and the first 64 KiB of its payload.
  const header = new Uint8Array([0x81, 0xff, 0, 0, 0, 0, 0x03, 0, 0, 0, 1, 2, 3, 4]);
  stream.push(header);
  stream.push(new Uint8Array(64 * 1024));
  await until(() => closed.length === 1, "the close");
  assert.equal(closed[0]!.code, 1009);
  assert.match(closed[0]!.reason, /Message over 1024 bytes/);
  assert.equal(messages.length, 0);
  // The close frame went out once the header was read, before any of the payload; what
  // followed was read into the small buffer and dropped, so the peer reads our close frame
  // instead of a connection reset.
  assert.ok(
    stream.readAtFirstWrite! <= header.length + 4096,
    `read ${stream.readAtFirstWrite} first`,
  );
  assert.equal(stream.bytesRead, header.length + 64 * 1024);
  const sent = stream.frames();
  assert.equal(sent.at(-1)!.opcode, OPCODES.close);
  assert.equal(parseClosePayload(sent.at(-1)!.payload).code, 1009);
  assert.equal(stream.closed, true);
  assert.equal(socket.readyState, ServerSocket.CLOSED);
});

Deno.test("ServerSocket counts every fragment against the limit and can raise it", async () => {
  const { stream, socket, messages, closed } = _open(200);
  stream.push(_frame(OPCODES.text, "x".repeat(150)));
  await until(() => messages.length === 1, "a message under the limit");
  socket.maxMessageBytes = 1000;
  stream.push(_frame(OPCODES.text, "y".repeat(900)));
  await until(() => messages.length === 2, "a larger message once raised");
  stream.push(_frame(OPCODES.text, "z".repeat(600), false));
  stream.push(_frame(OPCODES.continuation, "z".repeat(600), true));
  await until(() => closed.length === 1, "the close");
  assert.equal(closed[0]!.code, 1009);
  assert.equal(messages.length, 2);
  assert.throws(() => socket.maxMessageBytes = 10, RangeError);
});

Deno.test("ServerSocket closes with 1002 or 1007 on protocol violations", async () => {
  const cases: [Uint8Array[], number][] = [
    [[new Uint8Array([0x81, 0x01, 0x41])], 1002], // unmasked
    [[_frame(OPCODES.continuation, "x")], 1002], // continuation without a message
    [[_frame(OPCODES.text, "a", false), _frame(OPCODES.text, "b")], 1002], // new inside fragmented
    [[_frame(OPCODES.text, new Uint8Array([0xff, 0xfe]))], 1007], // not UTF-8
    [[_frame(OPCODES.close, new Uint8Array([3]))], 1002], // 1-byte close payload
  ];
  for (const [frames, code] of cases) {
    const { stream, closed, messages } = _open();
    for (const f of frames) stream.push(f);
    await until(() => closed.length === 1, `close ${code}`);
    assert.equal(closed[0]!.code, code);
    assert.equal(messages.length, 0);
    const last = stream.frames().at(-1)!;
    assert.equal(last.opcode, OPCODES.close);
    assert.equal(parseClosePayload(last.payload).code, code);
  }
});

Deno.test("ServerSocket answers a client's close and reports it clean", async () => {
  const { stream, socket, closed } = _open();
  stream.push(_frame(OPCODES.close, closePayload(1000, "bye")));
  await until(() => closed.length === 1, "the close");
  assert.deepEqual(closed[0], { code: 1000, reason: "bye", wasClean: true });
  assert.equal(stream.frames()[0]!.opcode, OPCODES.close);
  assert.equal(parseClosePayload(stream.frames()[0]!.payload).code, 1000);
  assert.equal(stream.closed, true);
  socket.send("too late"); // ignored once closed
  assert.equal(stream.frames().length, 1);
});

Deno.test("ServerSocket.close() waits for the client's answer, or ends after the timeout", async () => {
  const answered = _open();
  answered.socket.close(4003, "Logged out");
  assert.equal(answered.socket.readyState, ServerSocket.CLOSING);
  answered.socket.send("ignored while closing");
  await until(() => answered.stream.frames().length === 1, "our close frame");
  assert.deepEqual(parseClosePayload(answered.stream.frames()[0]!.payload), {
    code: 4003,
    reason: "Logged out",
  });
  answered.stream.push(_frame(OPCODES.close, closePayload(4003, "")));
  await until(() => answered.closed.length === 1, "the end");
  assert.equal(answered.closed[0]!.wasClean, true);

  const stream = new _FakeStream();
  const silent = new ServerSocket(stream, { maxMessageBytes: 1024, closeTimeoutMs: 30 });
  const events: SocketCloseEvent[] = [];
  silent.onclose = (ev) => events.push(ev);
  silent.start();
  silent.close(1000, "done");
  await until(() => events.length === 1, "the timeout");
  assert.deepEqual(events[0], { code: 1000, reason: "done", wasClean: false });
  assert.equal(stream.closed, true);
});

Deno.test("ServerSocket reports 1006 when the stream ends without a close frame", async () => {
  const { stream, closed, socket } = _open();
  stream.push(_frame(OPCODES.text, "x").subarray(0, 4)); // half a frame
  stream.end();
  await until(() => closed.length === 1, "the end");
  assert.equal(closed[0]!.code, 1006);
  assert.equal((await socket.closed).code, 1006);
});

Deno.test("ServerSocket reads frames of every size split anywhere, on sockets side by side", async () => {
  // Sizes around the idle buffer (512), the borrowed one (4096) and beyond; two sockets read
  // at once, so a buffer borrowed by one and given back is reused by the other.
  const sizes = [0, 1, 125, 126, 500, 511, 512, 513, 1000, 4095, 4096, 4097, 9000, 70_000];
  const texts = sizes.map((n, i) => String.fromCharCode(97 + (i % 26)).repeat(n));
  const wire = (prefix: string) => {
    const frames = texts.map((t) => _frame(OPCODES.text, prefix + t));
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      all.set(f, at);
      at += f.length;
    }
    return all;
  };
  const a = _open(100_000);
  const b = _open(100_000);
  const bytesA = wire("A");
  const bytesB = wire("B");
  // Pieces of varied lengths, alternating between the sockets.
  const cuts = [1, 3, 7, 200, 511, 513, 2000, 4096, 5000, 13, 65_536];
  let offA = 0;
  let offB = 0;
  for (let i = 0; offA < bytesA.length || offB < bytesB.length; i++) {
    const n = cuts[i % cuts.length]!;
    if (offA < bytesA.length) a.stream.push(bytesA.subarray(offA, offA += n));
    if (offB < bytesB.length) b.stream.push(bytesB.subarray(offB, offB += n));
    // Not a wait for anything: one event-loop turn, so both sockets' readers run between
    // the pieces and their reads interleave.
    if (i % 3 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  await until(
    () => a.messages.length === sizes.length && b.messages.length === sizes.length,
    "every message",
  );
  assert.deepEqual(a.messages, texts.map((t) => "A" + t));
  assert.deepEqual(b.messages, texts.map((t) => "B" + t));
  a.socket.abort();
  b.socket.abort();
});

Deno.test("ServerSocket reports to a SocketListener and calls onEnded once", async () => {
  const stream = new _FakeStream();
  const ended: ServerSocket[] = [];
  const socket = new ServerSocket(stream, {
    maxMessageBytes: 1024,
    closeTimeoutMs: 50,
    initial: _frame(OPCODES.text, "early"),
    onEnded: (s) => ended.push(s),
  });
  const heard: string[] = [];
  let onclose = 0;
  socket.onclose = () => onclose++;
  socket.listener = {
    onOpen: () => heard.push("open"),
    onMessage: (data) => heard.push(typeof data === "string" ? data : `bytes ${data.length}`),
    onClose: (ev) => heard.push(`close ${ev.code} ${onclose}`),
  };
  socket.start();
  stream.push(_frame(OPCODES.binary, new Uint8Array(3)));
  stream.push(_frame(OPCODES.close, closePayload(1000, "")));
  await until(() => ended.length === 1, "the end");
  // The `on*` handler runs first; the bytes read with the request head come first.
  assert.deepEqual(heard, ["open", "early", "bytes 3", "close 1000 1"]);
  assert.deepEqual(ended, [socket]);
  assert.equal((await socket.closed).code, 1000);
  socket.abort();
  assert.equal(ended.length, 1);
});
