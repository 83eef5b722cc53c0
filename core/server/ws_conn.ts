/**
 * The WebSocket glue for client connections: adapts a {@linkcode ServerSocket} to a
 * {@linkcode Conn} and forwards its events to a {@linkcode ConnHandler}. Nothing else in the
 * server sees the socket.
 *
 * One small object per connection, listening to its socket itself (a
 * {@linkcode SocketListener}): no closures per connection, which a server with tens of
 * thousands of idle clients would pay for each.
 *
 * @module
 */

import { ServerSocket, type SocketListener } from "../ws/server_socket.ts";
import type { Conn, ConnHandler } from "./conn.ts";

/** Wires `socket` to `handler`; returns the connection it reports. */
export function adoptWebSocket(socket: ServerSocket, addr: string, handler: ConnHandler): Conn {
  const conn = new _WsConn(socket, addr, handler);
  socket.listener = conn;
  return conn;
}

class _WsConn implements Conn, SocketListener {
  readonly addr: string;
  readonly #socket: ServerSocket;
  readonly #handler: ConnHandler;

  constructor(socket: ServerSocket, addr: string, handler: ConnHandler) {
    this.#socket = socket;
    this.addr = addr;
    this.#handler = handler;
  }

  send(text: string): boolean {
    if (this.#socket.readyState !== ServerSocket.OPEN) return false;
    this.#socket.send(text);
    return true;
  }

  close(code: number, reason: string): void {
    this.#socket.close(code, reason);
  }

  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  setMaxMessageBytes(bytes: number): void {
    this.#socket.maxMessageBytes = bytes;
  }

  onOpen(): void {
    this.#handler.onOpen(this);
  }

  onMessage(data: string | Uint8Array): void {
    this.#handler.onData(this, data);
  }

  onClose(): void {
    this.#handler.onClose(this);
  }

  // onError: onClose follows.
}
