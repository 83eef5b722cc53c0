/**
 * Real `ChatClient`s on in-process chat servers: a {@linkcode Dialer} whose connections
 * speak frames straight to a `ChatServer` of an `InProcessCluster` (no sockets, no
 * balancer). The whole engine and the whole server logic run; only the wire is fake.
 * Frames cross it as text, after the current turn and in order, as over a socket.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import {
  ConnectionClosedError,
  RequestError,
  toErrorCode,
} from "../../core/client/engine/errors.ts";
import type { ChatConnection, ConnectionHandlers, Dialer } from "../../core/client/engine/ports.ts";
import type { RequestFrame, RequestReply } from "../../core/client/transport/protocol_client.ts";
import { type ClientFrame, decode, encode, type ServerFrame } from "../../core/protocol/mod.ts";
import type { ChatServer } from "../../core/server/chat_server.ts";
import type { Conn } from "../../core/server/conn.ts";
import type { InProcessCluster } from "./in_process.ts";

/** One client connection to an in-process server: the server's `Conn` and the engine's. */
export class InProcessConn implements Conn, ChatConnection {
  readonly addr = "127.0.0.1";
  /** Frames reach the engine at once: nothing is ever left to write. */
  readonly bufferedAmount = 0;
  readonly #server: ChatServer;
  readonly #handlers: ConnectionHandlers;
  readonly #pending = new Map<
    number,
    { resolve: (f: ServerFrame) => void; reject: (e: Error) => void }
  >();
  #nextRef = 1;
  #closed = false;
  /** The features to ask for at login (none: the request goes as the engine wrote it). */
  readonly #ask: readonly string[] | undefined;
  /** The features the server turned on at login. */
  features: readonly string[] | undefined;

  constructor(server: ChatServer, handlers: ConnectionHandlers, ask?: readonly string[]) {
    this.#server = server;
    this.#handlers = handlers;
    this.#ask = ask;
  }

  /** Opens the connection: the server sends its welcome (the engine does not need it). */
  open(): void {
    this.#server.onOpen(this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- The server's side (Conn) ----

  send(text: string): boolean {
    if (this.#closed) return false;
    setImmediate(() => this.#receive(text));
    return true;
  }

  close(): Promise<void> {
    this.#shut(1000);
    return Promise.resolve();
  }

  setMaxMessageBytes(_bytes: number): void {}

  // ---- The engine's side (ChatConnection) ----

  request<F extends RequestFrame>(frame: F): Promise<RequestReply<F["type"]>> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError("The connection is closed"));
    const ref = this.#nextRef++;
    const auth = _AUTH.has(frame.type) && this.#ask !== undefined;
    const sent = auth ? { ...frame, features: [...this.#ask!] } : frame;
    return new Promise((resolve, reject) => {
      this.#pending.set(ref, {
        resolve: (f: ServerFrame) => {
          if (auth) this.features = (f as { features?: string[] }).features ?? [];
          (resolve as (f: ServerFrame) => void)(f);
        },
        reject,
      });
      this.#write({ ...sent, ref } as unknown as ClientFrame);
    });
  }

  ack(ids: number[]): void {
    if (ids.length > 0 && !this.#closed) this.#write({ type: "ack", ids });
  }

  /** The server goes away (or the network): the engine hears a close with `code`. */
  drop(code = 1006): void {
    this.#shut(code);
  }

  #write(frame: ClientFrame): void {
    const text = encode(frame);
    setImmediate(() => {
      if (!this.#closed) this.#server.onData(this, text);
    });
  }

  #receive(text: string): void {
    if (this.#closed) return;
    const frame = decode(text, "server");
    if ("ref" in frame && typeof frame.ref === "number" && this.#pending.has(frame.ref)) {
      const p = this.#pending.get(frame.ref)!;
      this.#pending.delete(frame.ref);
      if (frame.type === "error") {
        p.reject(new RequestError(toErrorCode(frame.code), frame.message, frame.retry_after_ms));
      } else p.resolve(frame);
      return;
    }
    switch (frame.type) {
      case "message":
        return this.#handlers.onMessage(frame);
      case "delivered":
        return this.#handlers.onDelivered(frame);
      case "receipts":
        for (const r of frame.items) {
          this.#handlers.onDelivered({
            type: "delivered",
            msg_id: r.msg_id,
            client_msg_id: r.client_msg_id,
            to: r.to,
          });
        }
        return;
      case "synced":
        return this.#handlers.onSynced();
      case "prekeys_low":
        return this.#handlers.onPrekeysLow?.(frame.remaining);
      case "error":
        return this.#handlers.onError(new RequestError(toErrorCode(frame.code), frame.message));
    }
  }

  #shut(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.onClose(this);
    for (const p of this.#pending.values()) {
      p.reject(new ConnectionClosedError("The connection closed", code));
    }
    this.#pending.clear();
    queueMicrotask(() => this.#handlers.onClose(code));
  }
}

/** The requests that negotiate features. */
const _AUTH: ReadonlySet<string> = new Set(["register", "login", "resume", "login_device"]);

/**
 * A dialer onto server `serverId` of `cluster`; `conns` keeps every connection it made, so
 * a test can drop one.
 */
export function inProcessDialer(
  cluster: InProcessCluster,
  serverId = 1,
  opts: { features?: readonly string[] } = {},
): Dialer & { readonly conns: InProcessConn[] } {
  const conns: InProcessConn[] = [];
  return {
    conns,
    dial(handlers) {
      const conn = new InProcessConn(cluster.server(serverId), handlers, opts.features);
      conns.push(conn);
      conn.open();
      return Promise.resolve({ conn, serverId });
    },
  };
}
