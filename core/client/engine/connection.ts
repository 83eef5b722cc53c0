/**
 * The client's connection to the cluster: dialing (through a {@linkcode Dialer}), logging in
 * (the stored session, else the password), attaching (waiting for the replay of what was
 * pending), and reconnecting with capped backoff whenever the connection drops. Liveness is
 * the dialer's: a silent server's connection closes like any other. A session ended by a
 * logout (here or on another device) shuts the client out instead of reconnecting.
 *
 * @module
 */

import { type Clock, SYSTEM_CLOCK } from "../../async/clock.ts";
import {
  CLOSE_CODES,
  type DeliveredFrame,
  type MessageFrame,
  STORING_FRAME_TYPES,
} from "../../protocol/mod.ts";
import { Backoff } from "../../async/backoff.ts";
import { signDeviceLogin } from "../../e2e/device_login.ts";
import { delay } from "../transport/delay.ts";
import { ConnectionClosedError, RequestError } from "./errors.ts";
import type { EventSink } from "./events.ts";
import type { AccountPort, ChatConnection, DevicesPort, Dialer } from "./ports.ts";
import type { RequestFrame } from "../transport/protocol_client.ts";
import { pacerPortsOn, SendPacer } from "./send_pacer.ts";

/** Why the client's session ended: its own `logout`, or the server ending it. */
export interface ShutOut {
  /** `logout` when the user logged out here, `session_ended` when the server ended it. */
  readonly reason: "logout" | "session_ended";
  /** What to tell the user. */
  readonly message: string;
}

/** What the connection needs from the rest of the engine. */
export interface ConnectionHooks {
  onMessage(m: MessageFrame): void;
  onDelivered(d: DeliveredFrame): void;
  /** Resolves once the messages received so far are handled. */
  inboxIdle(): Promise<void>;
  /** Runs after each login and replay on `conn` (re-read keys, send what was queued). */
  onAttached(conn: ChatConnection): Promise<void>;
  /**
   * Runs right after each login, before the replay is handled: what it sends reaches the
   * server before any acknowledgement of this connection.
   */
  onLoggedIn?(conn: ChatConnection): void;
  /** The server's `prekeys_low` on the connection (it may come before `onAttached`). */
  onPrekeysLow?(remaining: number): void;
}

/** The session as the keystore keeps it, and this device's keys when it is one. */
export type SessionStore =
  & Pick<AccountPort, "username" | "sessionToken" | "setSessionToken">
  & Partial<Pick<AccountPort, "userId"> & Pick<DevicesPort, "deviceIdentity">>;

/** The live connection as the engine's modules use it. */
export interface LiveConnection {
  /** True while connected and logged in. */
  readonly connected: boolean;
  /** The live connection; throws {@linkcode ConnectionClosedError} when there is none. */
  live(): ChatConnection;
}

const _SESSION_ENDED =
  "This session was logged out (on this or another device); run the client again to log in";

/** Dials, logs in, and keeps the client connected until {@linkcode Connection.stop}. */
export class Connection implements LiveConnection {
  readonly #dialer: Dialer;
  readonly #clock: Clock;
  readonly #emit: EventSink;
  readonly #hooks: ConnectionHooks;
  readonly #password: string;
  #session: SessionStore | null = null;
  #conn: ChatConnection | null = null;
  #serverId: number | null = null;
  #stopping = false;
  readonly #stop = new AbortController();
  #connecting: Promise<void> | null = null;
  #reconnecting: Promise<void> | null = null;
  /** Each connection's "replay complete", captured from the moment it is dialed. */
  readonly #synced = new WeakMap<ChatConnection, Promise<void>>();
  /** Per connection: hands over the messages that came before it was attached. */
  readonly #release = new WeakMap<ChatConnection, () => void>();
  /** Connections given up during login: their close is not a reason to reconnect. */
  readonly #abandoned = new WeakSet<ChatConnection>();
  readonly #shutOut = Promise.withResolvers<ShutOut>();
  /** One pacer for every connection of this client: the send rate is the user's. */
  readonly #pacer: SendPacer;
  /** Each connection as `live()` hands it out: storing requests through the pacer. */
  readonly #paced = new WeakMap<ChatConnection, ChatConnection>();

  constructor(opts: {
    dialer: Dialer;
    emit: EventSink;
    hooks: ConnectionHooks;
    password: string;
    /** Paces and retries storing requests (default: the protocol's default send rate). */
    pacer?: SendPacer;
    /** The clock of the reconnect delays and the pacer (default: the system clock). */
    clock?: Clock;
  }) {
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    this.#dialer = opts.dialer;
    this.#emit = opts.emit;
    this.#hooks = opts.hooks;
    this.#password = opts.password;
    this.#pacer = opts.pacer ?? new SendPacer(undefined, pacerPortsOn(this.#clock));
  }

  /** True while connected and logged in. */
  get connected(): boolean {
    return this.#conn !== null && !this.#conn.closed;
  }

  /** The server last connected to, or null. */
  get serverId(): number | null {
    return this.#serverId;
  }

  /** True once stopping (closing, or logged out): nothing reconnects or acknowledges. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Resolves when the session ends: logged out here, or by the server. */
  get shutOut(): Promise<ShutOut> {
    return this.#shutOut.promise;
  }

  /**
   * The live connection; throws {@linkcode ConnectionClosedError} when there is none. Its
   * storing requests (sends, keys, group changes) go out in order at the pace the server
   * takes, and are sent again after `busy` or `rate_limited` (`send_pacer.ts`).
   */
  live(): ChatConnection {
    const conn = this.#conn;
    if (!conn || conn.closed) {
      throw new ConnectionClosedError(
        "Not connected right now; reconnecting in the background, try again shortly",
      );
    }
    let paced = this.#paced.get(conn);
    if (paced === undefined) this.#paced.set(conn, paced = this.#pace(conn));
    return paced;
  }

  #pace(conn: ChatConnection): ChatConnection {
    const pacer = this.#pacer;
    const alive = () => !conn.closed && !this.#stopping;
    return {
      get closed() {
        return conn.closed;
      },
      get features() {
        return conn.features;
      },
      request<F extends RequestFrame>(frame: F) {
        if (!STORING_FRAME_TYPES.has(frame.type)) return conn.request(frame);
        return pacer.run(() => conn.request(frame), alive);
      },
      ack: (ids: number[]) => conn.ack(ids),
      close: () => conn.close(),
    };
  }

  /** Sets where the session token lives (once the keystore is open). */
  useSession(session: SessionStore): void {
    this.#session = session;
  }

  /** Connects a new connection (not logged in yet); `reason` labels the retry events. */
  async dial(reason: string): Promise<ChatConnection> {
    const synced = Promise.withResolvers<void>();
    let conn: ChatConnection | null = null;
    // Messages that come before the connection is attached (the replay right after login)
    // wait for it: handling them may need the connection (a lookup, a key), which `live()`
    // gives only once attached. Handled then, in order.
    let attached = false;
    const early: MessageFrame[] = [];
    const dialed = await this.#dialer.dial({
      onMessage: (m) => attached ? this.#hooks.onMessage(m) : early.push(m),
      onDelivered: (d) => {
        if (!this.#stopping) this.#hooks.onDelivered(d);
      },
      onSynced: () => synced.resolve(),
      onPrekeysLow: (remaining) => {
        if (!this.#stopping) this.#hooks.onPrekeysLow?.(remaining);
      },
      onError: (e) => this.#emit({ event: "error", message: e.message, code: e.code }),
      onClose: (code) => {
        if (conn !== null) this.#onClosed(conn, code);
      },
    }, {
      signal: this.#stop.signal,
      onRetry: (err, attempt) =>
        this.#emit({ event: "connecting", attempt, reason: `${reason}: ${err.message}` }),
    });
    conn = dialed.conn;
    this.#serverId = dialed.serverId;
    this.#synced.set(conn, synced.promise);
    this.#release.set(conn, () => {
      attached = true;
      for (const m of early.splice(0)) this.#hooks.onMessage(m);
    });
    return conn;
  }

  /** Dials, logs in (resuming the stored session if it is still valid) and attaches. */
  connect(reason: string): Promise<void> {
    this.#connecting ??= (async () => {
      try {
        const conn = await this.dial(reason);
        try {
          await this.#login(conn);
          await this.attach(conn);
        } catch (err) {
          this.abandon(conn);
          throw err;
        }
      } finally {
        this.#connecting = null;
      }
    })();
    return this.#connecting;
  }

  /** Makes a logged-in `conn` the live one: waits for the replay, then runs `onAttached`. */
  async attach(conn: ChatConnection): Promise<void> {
    // Live at once: handling the replay may need lookups and key sends.
    this.#conn = conn;
    this.#hooks.onLoggedIn?.(this.live());
    this.#release.get(conn)?.();
    // A ping answered proves the replay sent before it has arrived, should `synced` not come.
    const synced = this.#synced.get(conn) ?? new Promise<void>(() => {});
    await Promise.race([synced, conn.request({ type: "ping" }).then(() => {})]);
    await this.#hooks.inboxIdle();
    if (conn.closed) throw new ConnectionClosedError("The connection closed while logging in");
    await this.#hooks.onAttached(this.live());
  }

  /** Closes a connection that failed to log in, without reconnecting because of it. */
  abandon(conn: ChatConnection): void {
    this.#abandoned.add(conn);
    if (this.#conn === conn) this.#conn = null;
    conn.close().catch(() => {});
  }

  /** Acknowledges handled messages on the live connection, if any. */
  ack(ids: number[]): void {
    try {
      this.#conn?.ack(ids);
    } catch {
      // closed meanwhile: the server delivers them again and they are acked then
    }
  }

  /**
   * Ends the session on every connection and device (the server closes them), forgets it
   * locally, and shuts the client out.
   */
  async logout(): Promise<void> {
    await this.live().request({ type: "logout" });
    this.#session?.setSessionToken(null);
    this.#stopping = true;
    this.#emit({ event: "logged_out" });
    this.#shutOut.resolve({ reason: "logout", message: "Logged out" });
  }

  /** Stops reconnecting and acknowledging; {@linkcode close} then closes. */
  stop(): void {
    this.#stopping = true;
    this.#stop.abort();
  }

  /** Stops, waits for a login in progress to give up, and closes the connection. */
  async close(): Promise<void> {
    this.stop();
    await this.#connecting?.catch(() => {});
    await this.#reconnecting?.catch(() => {});
    await this.#conn?.close();
  }

  async #login(conn: ChatConnection): Promise<void> {
    const session = this.#session!;
    const token = session.sessionToken();
    if (token) {
      try {
        await conn.request({ type: "resume", session_token: token });
        return;
      } catch (err) {
        // An expired or unknown session: log in with the device key, else the password.
        if (!(err instanceof RequestError) || err.code !== "auth_failed") throw err;
      }
    }
    const device = session.deviceIdentity?.() ?? null;
    if (device !== null && device.deviceId !== null && session.userId !== undefined) {
      // A device of an account with devices: its key logs it in, not the password.
      const { nonce } = await conn.request({ type: "device_challenge" });
      const back = await conn.request({
        type: "login_device",
        user_id: session.userId,
        device_id: device.deviceId,
        signature: signDeviceLogin(device.signSecretKey, nonce, session.userId, device.deviceId),
      });
      session.setSessionToken(back.session_token);
      return;
    }
    const back = await conn.request({
      type: "login",
      username: session.username,
      password: this.#password,
    });
    session.setSessionToken(back.session_token);
  }

  #onClosed(conn: ChatConnection, code: number): void {
    if (this.#abandoned.has(conn)) return;
    if (this.#conn === conn) this.#conn = null;
    if (this.#stopping || this.#conn !== null) return;
    if (code === CLOSE_CODES.sessionEnded) {
      // Reconnecting with this session would be refused, and typing on would queue
      // messages that never go: the client stops.
      this.#stopping = true;
      this.#session?.setSessionToken(null);
      this.#emit({ event: "error", code: "session_ended", message: _SESSION_ENDED });
      this.#shutOut.resolve({ reason: "session_ended", message: _SESSION_ENDED });
      return;
    }
    this.#reconnectForever(`connection closed (${code})`);
  }

  /** Reconnects with capped backoff until it works or the client stops. */
  #reconnectForever(reason: string): void {
    if (this.#reconnecting || this.#stopping) return;
    this.#reconnecting = (async () => {
      // Full jitter: the clients of a server that died come back spread over the window.
      const backoff = new Backoff({ firstMs: 1_000, maxMs: 15_000 });
      for (let attempt = 1; !this.#stopping; attempt++) {
        this.#emit({ event: "connecting", attempt, reason });
        try {
          await this.connect("reconnect");
          this.#emit({ event: "reconnected", server: this.#serverId ?? 0 });
          return;
        } catch (err) {
          reason = (err as Error).message;
          await delay(backoff.next(), this.#stop.signal, this.#clock);
        }
      }
    })().finally(() => {
      this.#reconnecting = null;
      // Closed again before this loop ended: its close found the loop still running.
      if (!this.#stopping && !this.connected) this.#reconnectForever("connection closed");
    });
  }
}
