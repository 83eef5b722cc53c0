/**
 * The WebSocket glue for client connections: adapts a Deno WebSocket (from
 * `Deno.upgradeWebSocket`) to a {@linkcode Conn} and forwards its events to a
 * {@linkcode ConnHandler}. Nothing else in the server sees the socket.
 *
 * @module
 */

import type { Conn, ConnHandler } from "./conn.ts";

/** Wires `socket` to `handler`; returns the connection it reports. */
export function adoptWebSocket(socket: WebSocket, addr: string, handler: ConnHandler): Conn {
  const conn: Conn = {
    addr,
    send(text: string): boolean {
      if (socket.readyState !== WebSocket.OPEN) return false;
      socket.send(text);
      return true;
    },
    close(code: number, reason: string): void {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        socket.close(code, reason);
      }
    },
  };
  socket.onopen = () => handler.onOpen(conn);
  socket.onmessage = (ev) => handler.onData(conn, ev.data);
  socket.onclose = () => handler.onClose(conn);
  socket.onerror = () => {/* onclose follows */};
  return conn;
}
