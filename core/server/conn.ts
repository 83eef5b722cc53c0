/**
 * A client connection as the chat server's logic sees it: a few members, like Hono's
 * `WSContext` and centrifuge's `Transport`. The WebSocket glue (`ws_conn.ts`) adapts a
 * `ServerSocket` (core/ws) to it; tests use an in-memory fake. The server never touches a
 * socket.
 *
 * @module
 */

/** One client connection. */
export interface Conn {
  /** Sends one text frame; false (and nothing sent) once the connection is not open. */
  send(text: string): boolean;
  /** Closes the connection with a WebSocket close code and a reason. */
  close(code: number, reason: string): void;
  /**
   * Sets the largest message accepted from now on (small before login, larger after); the
   * transport refuses a bigger one at its header, before reading it.
   */
  setMaxMessageBytes(bytes: number): void;
  /** The remote address, for throttling and logs. */
  readonly addr: string;
  /** Bytes sent on this connection and not yet handed to the OS (its outbound buffer). */
  readonly bufferedAmount: number;
}

/** What the server does with a connection's events; the glue calls these. */
export interface ConnHandler {
  /** The connection is open and may be sent to. */
  onOpen(conn: Conn): void;
  /** A frame arrived: text, or anything else (a binary frame) as it came. */
  onData(conn: Conn, data: unknown): void;
  /** The connection closed; nothing more will arrive. */
  onClose(conn: Conn): void;
}
