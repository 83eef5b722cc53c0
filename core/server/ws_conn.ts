/**
 * The WebSocket glue for client connections: adapts a {@linkcode ServerSocket} to a
 * {@linkcode Conn} and forwards its events to a {@linkcode ConnHandler}. Nothing else in the
 * server sees the socket.
 *
 * @module
 */

import { ServerSocket } from "../ws/server_socket.ts";
import type { Conn, ConnHandler } from "./conn.ts";

/** Wires `socket` to `handler`; returns the connection it reports. */
export function adoptWebSocket(socket: ServerSocket, addr: string, handler: ConnHandler): Conn {
  const conn: Conn = {
    addr,
    send(text: string): boolean {
      if (socket.readyState !== ServerSocket.OPEN) return false;
      socket.send(text);
      return true;
    },
    close(code: number, reason: string): void {
      socket.close(code, reason);
    },
    setMaxMessageBytes(bytes: number): void {
      socket.maxMessageBytes = bytes;
    },
  };
  socket.onopen = () => handler.onOpen(conn);
  socket.onmessage = (ev) => handler.onData(conn, ev.data);
  socket.onclose = () => handler.onClose(conn);
  socket.onerror = () => {/* onclose follows */};
  return conn;
}
