/**
 * The server side of the WebSocket opening handshake: which requests ask for an upgrade,
 * whether they ask correctly, and the 101 response that accepts them. Pure functions.
 *
 * Spec: RFC 6455 sections 1.3 and 4.2 (the server's opening handshake).
 * https://www.rfc-editor.org/rfc/rfc6455
 *
 * @module
 */

import { sha1 } from "@noble/hashes/legacy.js";
import { HttpError, listsToken, type RequestHead } from "./http_head.ts";

/** The GUID every accept value is derived with (RFC 6455 section 1.3). */
export const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** True when the request asks to become a WebSocket (`Upgrade: websocket`). */
export function wantsWebSocket(head: RequestHead): boolean {
  return listsToken(head.headers.get("upgrade"), "websocket");
}

/**
 * Checks an upgrade request and returns its `Sec-WebSocket-Key`. Throws
 * {@linkcode HttpError} 400 with the reason for a request that is not GET over HTTP/1.1,
 * lacks `Connection: Upgrade`, has no key or one that is not 16 bytes of base64, or asks for
 * a version other than 13 (that answer also carries `Sec-WebSocket-Version: 13`).
 */
export function checkUpgrade(head: RequestHead): string {
  if (head.method !== "GET") {
    throw new HttpError(400, `A WebSocket upgrade must be a GET, got ${head.method}`);
  }
  if (head.version !== "HTTP/1.1") {
    throw new HttpError(400, "A WebSocket upgrade needs HTTP/1.1");
  }
  if (!listsToken(head.headers.get("connection"), "upgrade")) {
    throw new HttpError(400, 'A WebSocket upgrade needs "Connection: Upgrade"');
  }
  const version = head.headers.get("sec-websocket-version");
  if (version !== "13") {
    throw new HttpError(
      400,
      version === undefined
        ? "Sec-WebSocket-Version is missing; this server speaks version 13"
        : `Sec-WebSocket-Version must be 13, got "${version}"`,
      { "sec-websocket-version": "13" },
    );
  }
  const key = head.headers.get("sec-websocket-key");
  if (key === undefined) throw new HttpError(400, "Sec-WebSocket-Key is missing");
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    throw new HttpError(400, "Sec-WebSocket-Key must be 16 bytes in base64 (24 characters)");
  }
  return key;
}

/** The `Sec-WebSocket-Accept` value for `key`: base64(SHA-1(key + GUID)). */
export function acceptValue(key: string): string {
  const digest = sha1(new TextEncoder().encode(key + WS_GUID));
  return btoa(String.fromCharCode(...digest));
}

/** The complete 101 response head accepting `key`. */
export function switchingProtocols(key: string): string {
  return "HTTP/1.1 101 Switching Protocols\r\n" +
    "Upgrade: websocket\r\n" +
    "Connection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${acceptValue(key)}\r\n\r\n`;
}
