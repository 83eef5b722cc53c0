/**
 * A small FastChat protocol client: one WebSocket, request/response by `ref`, validated
 * incoming frames, automatic batched acks, and de-duplication of messages by server ID
 * (delivery is at-least-once across reconnects; the client makes it exactly-once for its
 * user). It asks for the protocol features it supports at login (batched receipts) and
 * hands every receipt to `onDelivered` whichever frame carried it. The terminal client, the
 * tests and the benchmark build on it.
 *
 * @module
 */

import { nextTurn } from "./next_turn.ts";
import {
  type AcceptedFrame,
  type ChallengeFrame,
  type ClientFrame,
  decode,
  type DeliveredFrame,
  type DeviceChainFrame,
  type DeviceListStoredFrame,
  encode,
  FEATURES,
  type GroupFrame,
  type GroupsFrame,
  LIMITS,
  type LinkStepsFrame,
  type LoggedInFrame,
  type MessageFrame,
  type PrekeysFrame,
  type PrekeysStoredFrame,
  type RegisteredFrame,
  type ServerFrame,
  serverTakesFeatures,
  type SyncedFrame,
  type UserFrame,
  type WelcomeFrame,
} from "../../protocol/mod.ts";
import { type Clock, SYSTEM_CLOCK } from "../../async/clock.ts";
import { every, type StopTimer } from "../../async/every.ts";
import {
  ConnectionClosedError,
  RequestError,
  RequestTimeoutError,
  toErrorCode,
} from "../engine/errors.ts";

// Kept importable from here, where it always was.
export { ConnectionClosedError, RequestError, RequestTimeoutError };

/** Frames a request may be answered with, by request type. */
export type RequestReply<T extends ClientFrame["type"]> = T extends "register" ? RegisteredFrame
  : T extends "login" | "resume" ? LoggedInFrame
  : T extends "lookup" ? UserFrame
  : T extends "single_message" | "group_message" | "key" ? AcceptedFrame
  : T extends "create_group" | "add_member" | "remove_member" | "group_info" ? GroupFrame
  : T extends "list_groups" ? GroupsFrame
  : T extends "login_device" ? LoggedInFrame
  : T extends "device_lists" ? DeviceChainFrame
  : T extends "publish_device_list" ? DeviceListStoredFrame
  : T extends "device_challenge" ? ChallengeFrame
  : T extends "link_read" ? LinkStepsFrame
  : T extends "publish_prekeys" ? PrekeysStoredFrame
  : T extends "fetch_prekeys" ? PrekeysFrame
  : ServerFrame;

/** A request frame without its `ref` (the client assigns it). */
export type RequestFrame = ClientFrame extends infer F
  ? F extends { ref: number } ? Omit<F, "ref"> : never
  : never;

/** Options for {@linkcode ProtocolClient.connect}. */
export interface ConnectOptions {
  /** Acknowledge messages automatically after handlers run (default true). */
  autoAck?: boolean;
  /** Milliseconds to wait for the connection and the server's welcome (default 10 s). */
  timeoutMs?: number;
  /** Milliseconds a request may wait for its answer (default 30 s). */
  requestTimeoutMs?: number;
  /**
   * Liveness: after this many milliseconds without a frame from the server, send a `ping`;
   * 0 (the default) turns it off. A hung server (stopped, or cut off without a TCP reset)
   * keeps the socket open, and only this notices it.
   */
  keepAliveMs?: number;
  /**
   * With `keepAliveMs`: the connection counts as dead, and closes with 1006, when nothing
   * arrives this long after the ping (default 10 s).
   */
  deadAfterMs?: number;
  /**
   * Message IDs already shown, shared across connections so a message redelivered after a
   * reconnect is acked again but not shown twice (default: a new set per connection).
   */
  seen?: Set<number>;
  /**
   * Protocol features to ask for in `register`, `login` and `resume` unless the request names
   * its own (default: every feature this client handles: `receipt_batch`, `contacts`, `devices`); empty
   * asks for none and sends no `features` field. A server older than `FEATURES_SINCE` (by
   * its `welcome.version`) is asked for none, since it would refuse the unknown field.
   */
  features?: readonly string[];
  /**
   * Drop redelivered messages (default true). An application that acks only after handling
   * a message turns this off and de-duplicates itself, so a redelivery of a message it has
   * not finished with is not acked behind its back.
   */
  dedupe?: boolean;
  /** The clock for the timeouts and the liveness checks (default: the system clock). */
  clock?: Clock;
}

/** The requests that negotiate features. */
const _AUTH_TYPES: ReadonlySet<string> = new Set(["register", "login", "resume", "login_device"]);

/** A connected protocol client. */
export class ProtocolClient {
  /** The open WebSocket to the server. */
  readonly socket: WebSocket;
  /** The server's `welcome` frame, received before anything else. */
  readonly welcome: WelcomeFrame;
  /** Called for each new (not duplicate) message, in arrival order. */
  onMessage: (m: MessageFrame) => void = () => {};
  /**
   * Called for each delivery receipt, in order: once per `delivered` frame, and once per item
   * of a `receipts` frame (as a `delivered` frame).
   */
  onDelivered: (d: DeliveredFrame) => void = () => {};
  /** Called when the pending replay after login is complete. */
  onSynced: (s: SyncedFrame) => void = () => {};
  /** Called for `error` frames that answer no request. */
  onError: (e: RequestError) => void = () => {};
  /** Called for `prekeys_low`: this device should publish more one-time prekeys. */
  onPrekeysLow: (remaining: number) => void = () => {};
  /** Called once when the connection closes. */
  onClose: (code: number, reason: string) => void = () => {};
  /** Every frame received, for tests that inspect the raw stream. */
  onFrame: (f: ServerFrame) => void = () => {};
  /**
   * Frames from the server that failed validation (each was reported through `onError` and
   * dropped), with why. A conforming server sends none; the tests check that it never does.
   */
  readonly invalidFrames: string[] = [];

  readonly #autoAck: boolean;
  readonly #dedupe: boolean;
  readonly #requestTimeoutMs: number;
  readonly #askFeatures: readonly string[];
  #features: readonly string[] = [];
  /** Requests waiting for an answer, by ref; insertion order is deadline order. */
  readonly #pending = new Map<number, {
    resolve: (f: ServerFrame) => void;
    reject: (e: Error) => void;
    type: string;
    deadline: number;
  }>();
  /** One sweep for every request's timeout, instead of a timer per request. */
  #sweep: StopTimer | undefined;
  readonly #seen: Set<number>;
  #ackQueue: number[] = [];
  #ackScheduled = false;
  #nextRef = 1;
  #closed = false;
  readonly #closedPromise: Promise<{ code: number; reason: string }>;
  readonly #whenClosed: PromiseWithResolvers<{ code: number; reason: string }>;
  readonly #clock: Clock;
  /** `clock.now()` of the last frame from the server. */
  #lastHeard: number;
  #lastPing = 0;
  #liveness: StopTimer | undefined;

  private constructor(
    socket: WebSocket,
    welcome: WelcomeFrame,
    opts: ConnectOptions,
    closed: PromiseWithResolvers<{ code: number; reason: string }>,
  ) {
    this.socket = socket;
    this.welcome = welcome;
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    this.#lastHeard = this.#clock.now();
    this.#autoAck = opts.autoAck ?? true;
    this.#dedupe = opts.dedupe ?? true;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    // Only a server that knows the field is asked: an older one would refuse the request.
    this.#askFeatures = serverTakesFeatures(welcome.version)
      ? [...(opts.features ?? [FEATURES.receiptBatch, FEATURES.contacts, FEATURES.devices])]
      : [];
    this.#seen = opts.seen ?? new Set();
    this.#whenClosed = closed;
    this.#closedPromise = closed.promise;
    const keepAlive = opts.keepAliveMs ?? 0;
    if (keepAlive > 0) {
      const deadAfter = opts.deadAfterMs ?? 10_000;
      this.#liveness = every(
        this.#clock,
        Math.max(10, Math.min(keepAlive, deadAfter) / 4),
        () => this.#checkLiveness(keepAlive, deadAfter),
      );
    }
  }

  /** Pings a quiet server; gives up on one that stays silent after the ping. */
  #checkLiveness(keepAliveMs: number, deadAfterMs: number): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    if (this.#lastPing > this.#lastHeard && now - this.#lastPing >= deadAfterMs) {
      // Nothing since the ping: stop waiting on this socket (its close handshake may never
      // finish) and report it closed, so the application reconnects elsewhere.
      const socket = this.socket;
      socket.onmessage = null;
      socket.onclose = null;
      try {
        socket.close(1000, "No answer from the server");
      } catch {
        // closing already
      }
      this.#onClosed(1006, `No answer from the server for ${now - this.#lastHeard} ms`);
      return;
    }
    if (now - this.#lastHeard >= keepAliveMs && this.#lastPing <= this.#lastHeard) {
      this.#lastPing = now;
      this.socket.send(encode({ type: "ping", ref: this.#nextRef++ }));
    }
  }

  /** Connects to a server's `/ws` URL and waits for its welcome. */
  static connect(url: string, opts: ConnectOptions = {}): Promise<ProtocolClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      let client: ProtocolClient | null = null;
      const closed = Promise.withResolvers<{ code: number; reason: string }>();
      const clock = opts.clock ?? SYSTEM_CLOCK;
      const timer = clock.setTimeout(() => {
        socket.close();
        reject(new Error(`Timed out connecting to ${url}`));
      }, opts.timeoutMs ?? 10_000);
      socket.onmessage = (ev) => {
        if (client) {
          client.#onText(ev.data);
          return;
        }
        let frame: ServerFrame;
        try {
          frame = decode(String(ev.data), "server");
        } catch (err) {
          clock.clearTimeout(timer);
          socket.close();
          reject(err);
          return;
        }
        if (frame.type !== "welcome") {
          clock.clearTimeout(timer);
          socket.close();
          reject(new Error(`Expected a welcome frame first, got ${frame.type}`));
          return;
        }
        clock.clearTimeout(timer);
        client = new ProtocolClient(socket, frame, opts, closed);
        resolve(client);
      };
      socket.onclose = (ev) => {
        clock.clearTimeout(timer);
        closed.resolve({ code: ev.code, reason: ev.reason });
        if (client) client.#onClosed(ev.code, ev.reason);
        else {
          reject(
            new ConnectionClosedError(
              `Connection to ${url} closed (${ev.code}) before the welcome`,
              ev.code,
            ),
          );
        }
      };
      socket.onerror = () => {/* onclose follows */};
    });
  }

  /** True once the connection has closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves when the connection closes. */
  get whenClosed(): Promise<{ code: number; reason: string }> {
    return this.#closedPromise;
  }

  /**
   * The features the server enabled at the last successful `register`, `login` or `resume`
   * (empty before, and from a server that knows none).
   */
  get features(): readonly string[] {
    return this.#features;
  }

  /**
   * Sends a request and resolves with its answer. Rejects with {@linkcode RequestError} (the
   * server refused it), {@linkcode ConnectionClosedError} or {@linkcode RequestTimeoutError}.
   * `register`, `login` and `resume` ask for the client's features (see
   * {@linkcode ConnectOptions.features}) unless they carry `features` themselves.
   */
  request<F extends RequestFrame>(frame: F): Promise<RequestReply<F["type"]>> {
    if (!_AUTH_TYPES.has(frame.type)) return this.#request(frame);
    if ("features" in frame || this.#askFeatures.length === 0) return this.#authRequest(frame);
    const asking = { ...frame, features: [...this.#askFeatures] };
    return this.#authRequest(asking);
  }

  /** A `register`, `login` or `resume`: its answer says which features are on. */
  async #authRequest<F extends RequestFrame>(frame: F): Promise<RequestReply<F["type"]>> {
    const answer = await this.#request(frame);
    const features = (answer as { features?: string[] }).features;
    this.#features = features ? [...features] : [];
    return answer;
  }

  #request<F extends RequestFrame>(frame: F): Promise<RequestReply<F["type"]>> {
    const ref = this.#nextRef++;
    const full = { ...frame, ref } as unknown as ClientFrame;
    return new Promise<RequestReply<F["type"]>>((resolve, reject) => {
      if (this.#closed) {
        reject(new ConnectionClosedError("The connection is closed"));
        return;
      }
      this.#pending.set(ref, {
        resolve: resolve as (f: ServerFrame) => void,
        reject,
        type: frame.type,
        deadline: this.#clock.now() + this.#requestTimeoutMs,
      });
      this.#sweep ??= every(
        this.#clock,
        Math.min(1_000, Math.max(10, this.#requestTimeoutMs / 4)),
        () => this.#expire(),
      );
      this.socket.send(encode(full));
    });
  }

  /** Sends raw text (tests of malformed input). */
  sendRaw(text: string): void {
    this.socket.send(text);
  }

  /** Registers a new user (the seed's "join with ID 0"). */
  register(
    username: string,
    password: string,
    rsaPublicKey: string,
    identityKey: string,
  ): Promise<RegisteredFrame> {
    return this.request({
      type: "register",
      username,
      password,
      rsa_public_key: rsaPublicKey,
      identity_key: identityKey,
    });
  }

  /** Logs in by username (string) or user ID (number). */
  login(who: string | number, password: string): Promise<LoggedInFrame> {
    return this.request(
      typeof who === "number"
        ? { type: "login", user_id: who, password }
        : { type: "login", username: who, password },
    );
  }

  /** Resumes a session. */
  resume(sessionToken: string): Promise<LoggedInFrame> {
    return this.request({ type: "resume", session_token: sessionToken });
  }

  /** Looks up a user by username (string) or ID (number). */
  lookup(who: string | number): Promise<UserFrame> {
    return this.request(
      typeof who === "number"
        ? { type: "lookup", user_id: who }
        : { type: "lookup", username: who },
    );
  }

  /** Sends a direct message body (ciphertext). */
  send(
    to: number,
    body: string,
    clientMsgId: string = crypto.randomUUID(),
  ): Promise<AcceptedFrame> {
    return this.request({ type: "single_message", to, body, client_msg_id: clientMsgId });
  }

  /** Sends a message to a group. */
  groupSend(
    groupId: number,
    body: string,
    clientMsgId: string = crypto.randomUUID(),
  ): Promise<AcceptedFrame> {
    return this.request({
      type: "group_message",
      group_id: groupId,
      body,
      client_msg_id: clientMsgId,
    });
  }

  /** Acknowledges messages now (automatic unless `autoAck` is false). */
  ack(ids: number[]): void {
    if (ids.length > 0 && !this.#closed) this.socket.send(encode({ type: "ack", ids }));
  }

  /** Closes the connection. */
  close(code = 1000, reason = "Client closing"): Promise<{ code: number; reason: string }> {
    if (!this.#closed && this.socket.readyState <= WebSocket.OPEN) this.socket.close(code, reason);
    return this.#closedPromise;
  }

  #onText(data: unknown): void {
    this.#lastHeard = this.#clock.now();
    let frame: ServerFrame;
    try {
      frame = decode(String(data), "server");
    } catch (err) {
      const why = (err as Error).message;
      if (this.invalidFrames.length < 100) this.invalidFrames.push(why);
      this.onError(new RequestError("bad_frame", `Invalid frame from server: ${why}`));
      return;
    }
    this.onFrame(frame);
    switch (frame.type) {
      case "message": {
        if (!this.#dedupe) {
          this.onMessage(frame);
          if (this.#autoAck) this.#queueAck(frame.msg_id);
          return;
        }
        if (this.#seen.has(frame.msg_id)) {
          this.#queueAck(frame.msg_id); // a redelivery: ack again, show once
          return;
        }
        this.#seen.add(frame.msg_id);
        if (this.#seen.size > 200_000) {
          const oldest = this.#seen.values().next().value;
          if (oldest !== undefined) this.#seen.delete(oldest);
        }
        this.onMessage(frame);
        if (this.#autoAck) this.#queueAck(frame.msg_id);
        return;
      }
      case "delivered":
        this.onDelivered(frame);
        return;
      case "receipts":
        for (const r of frame.items) {
          this.onDelivered({
            type: "delivered",
            msg_id: r.msg_id,
            client_msg_id: r.client_msg_id,
            to: r.to,
          });
        }
        return;
      case "synced":
        this.onSynced(frame);
        return;
      case "prekeys_low":
        this.onPrekeysLow(frame.remaining);
        return;
      case "welcome":
        return;
    }
    const ref = "ref" in frame ? frame.ref : undefined;
    const waiter = ref !== undefined ? this.#pending.get(ref) : undefined;
    if (frame.type === "error") {
      const err = new RequestError(toErrorCode(frame.code), frame.message, frame.retry_after_ms);
      if (waiter) {
        this.#settled(ref!);
        waiter.reject(err);
      } else {
        this.onError(err);
      }
      return;
    }
    if (waiter) {
      this.#settled(ref!);
      waiter.resolve(frame);
    }
  }

  /** Forgets an answered request; the sweep stops when none is left (no idle wake-ups). */
  #settled(ref: number): void {
    this.#pending.delete(ref);
    if (this.#pending.size === 0) this.#stopSweep();
  }

  /**
   * Fails the requests past their deadline (at most a quarter of the timeout late, and 1 s).
   * Every request has the same timeout, so the map's order is deadline order.
   */
  #expire(): void {
    const now = this.#clock.now();
    for (const [ref, w] of this.#pending) {
      if (w.deadline > now) break;
      this.#pending.delete(ref);
      w.reject(new RequestTimeoutError(w.type, this.#requestTimeoutMs));
    }
    if (this.#pending.size === 0) this.#stopSweep();
  }

  #stopSweep(): void {
    this.#sweep?.();
    this.#sweep = undefined;
  }

  #queueAck(id: number): void {
    this.#ackQueue.push(id);
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    // One ack frame per burst of messages rather than one per message: after the frames
    // already received are handled (nextTurn: setImmediate on Deno; a setTimeout would cost a timer each).
    nextTurn(() => {
      this.#ackScheduled = false;
      while (this.#ackQueue.length > 0 && !this.#closed) {
        this.ack(this.#ackQueue.splice(0, LIMITS.ackIds));
      }
    });
  }

  #onClosed(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#whenClosed.resolve({ code, reason });
    this.#liveness?.();
    this.#stopSweep();
    for (const [ref, w] of this.#pending) {
      w.reject(
        new ConnectionClosedError(
          `Connection closed (${code}${reason ? `: ${reason}` : ""})`,
          code,
        ),
      );
      this.#pending.delete(ref);
    }
    this.onClose(code, reason);
  }
}
