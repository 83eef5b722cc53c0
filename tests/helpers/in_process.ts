/**
 * Chat servers in one process, for tests of the server logic without sockets: a fake mesh
 * ({@linkcode FakeNetwork}) whose links a test brings up, cuts and stalls, and fake client
 * connections ({@linkcode FakeClient}) that speak frames. Every server shares one SQLite
 * store in a temporary directory.
 *
 * @module
 */

import type { Clock } from "../../core/async/clock.ts";
import type { Store } from "../../core/store/store.ts";
import type { AdmissionLimits } from "../../core/server/admission.ts";
import { setImmediate } from "node:timers";
import { randomBytes, toBase64Url } from "../../core/crypto/bytes.ts";
import { createLogger } from "../../core/log/logger.ts";
import type { MeshTransport } from "../../core/mesh/transport.ts";
import {
  type ClientFrame,
  decode,
  encode,
  type PeerBatchedFrame,
  type ServerFrame,
} from "../../core/protocol/mod.ts";
import { ChatServer } from "../../core/server/chat_server.ts";
import type { Quotas } from "../../core/server/quotas.ts";
import type { Conn } from "../../core/server/conn.ts";
import { openSqliteStore, type SqliteStore } from "../../core/store/sqlite/sqlite_store.ts";

const _RSA_PUBLIC_KEY = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);

/** The mesh between in-process servers: links are up, cut, or stalled (a hung peer). */
export class FakeNetwork {
  readonly servers = new Map<number, ChatServer>();
  /** Links that are up, as "a-b" with a < b. */
  readonly #up = new Set<string>();
  /** Servers whose incoming frames are held, as if the process were stopped. */
  readonly #stalled = new Map<number, (() => void)[]>();
  /** Frames sent and not yet handed to their receiver (held ones not counted). */
  #inFlight = 0;
  /** Frames sent so far (to tell a quiet turn from a busy one). */
  #sent = 0;

  /** The transport server `id` sends through. */
  transport(id: number): MeshTransport {
    return {
      send: (peerId: number, frame: PeerBatchedFrame) => {
        if (!this.#up.has(_key(id, peerId))) return false;
        // Frames cross the "wire" as text, after this turn, in order.
        const text = encode(frame);
        this.#inFlight++;
        this.#sent++;
        setImmediate(() => {
          this.#inFlight--;
          this.#deliver(id, peerId, text);
        });
        return true;
      },
      isUp: (peerId: number) => this.#up.has(_key(id, peerId)),
      upPeers: () =>
        [...this.servers.keys()].filter((p) => p !== id && this.#up.has(_key(id, p))).sort(),
    };
  }

  /** Brings the link between `a` and `b` up; both servers hear `onLinkUp`. */
  link(a: number, b: number): void {
    if (this.#up.has(_key(a, b))) return;
    this.#up.add(_key(a, b));
    this.servers.get(a)!.onLinkUp(b);
    this.servers.get(b)!.onLinkUp(a);
  }

  /** Takes the link between `a` and `b` down; both servers hear `onLinkDown`. */
  cut(a: number, b: number): void {
    if (!this.#up.delete(_key(a, b))) return;
    this.servers.get(a)!.onLinkDown(b);
    this.servers.get(b)!.onLinkDown(a);
  }

  /**
   * Resolves once no frame is on the wire and none was sent for two turns of the event loop:
   * what the servers had to tell each other has arrived (and what that caused has been sent
   * and arrived too). Tests wait for this instead of sleeping "for the mesh".
   */
  async settled(): Promise<void> {
    for (let quiet = 0; quiet < 2;) {
      const sent = this.#sent;
      await new Promise((r) => setTimeout(r, 0));
      quiet = this.#inFlight === 0 && this.#sent === sent ? quiet + 1 : 0;
    }
  }

  /** Holds every frame for server `id` until {@linkcode resume} (a hung process). */
  stall(id: number): void {
    if (!this.#stalled.has(id)) this.#stalled.set(id, []);
  }

  /** Delivers what a stalled server missed, in order. */
  resume(id: number): void {
    const held = this.#stalled.get(id) ?? [];
    this.#stalled.delete(id);
    for (const f of held) f();
  }

  #deliver(from: number, to: number, text: string): void {
    const run = () => {
      if (!this.#up.has(_key(from, to))) return; // cut while in flight
      const frame = decode(text, "peer");
      if (frame.type === "peer_batch") {
        for (const f of frame.frames) this.servers.get(to)!.onFrame(from, f);
      } else {
        this.servers.get(to)!.onFrame(from, frame as PeerBatchedFrame);
      }
    };
    const held = this.#stalled.get(to);
    if (held) held.push(run);
    else run();
  }
}

/**
 * `store` with every call of `method` held until `until` resolves (then run as usual): a
 * store that is slow exactly where a test says. Other methods run at once.
 */
export function holdingCalls(store: Store, method: keyof Store, until: Promise<void>): Store {
  return new Proxy(store, {
    get: (target, key) => {
      const v = Reflect.get(target, key, target);
      if (typeof v !== "function") return v;
      // Methods run on the store itself (it has private fields).
      if (key !== method) return v.bind(target);
      return (...args: unknown[]) => until.then(() => v.apply(target, args));
    },
  });
}

/** Servers 1..n in this process over a {@linkcode FakeNetwork}, all linked. */
export class InProcessCluster {
  readonly network = new FakeNetwork();
  readonly store: SqliteStore;
  readonly #dir: string;
  readonly #clients: FakeClient[] = [];

  private constructor(store: SqliteStore, dir: string) {
    this.store = store;
    this.#dir = dir;
  }

  /** Starts `n` servers sharing one store, every pair linked. */
  static async start(
    n: number,
    opts: {
      presenceBarrierMs?: number;
      loginTimeoutMs?: number;
      quotas?: Partial<Quotas>;
      now?: () => number;
      /** The servers' time and timers (a FakeClock in tests of deadlines). */
      clock?: Clock;
      /** What the servers see of the store (a wrapper that holds calls, say). */
      wrapStore?: (store: Store) => Store;
      admission?: Partial<AdmissionLimits>;
      lagMs?: () => number;
    } = {},
  ) {
    const dir = await Deno.makeTempDir({ prefix: "fastchat_inproc_" });
    const store = await openSqliteStore(`${dir}/main.db`, { synchronous: "normal" });
    const c = new InProcessCluster(store, dir);
    for (let id = 1; id <= n; id++) {
      const server = new ChatServer({
        id,
        store: opts.wrapStore ? opts.wrapStore(store) : store,
        logger: createLogger("error"),
        passwordCost: { N: 1024, r: 8, p: 1 },
        presenceBarrierMs: opts.presenceBarrierMs,
        quotas: opts.quotas,
        now: opts.now,
        clock: opts.clock,
        loginTimeoutMs: opts.loginTimeoutMs,
        admission: opts.admission,
        lagMs: opts.lagMs,
      });
      server.attachMesh(c.network.transport(id));
      c.network.servers.set(id, server);
    }
    for (let a = 1; a <= n; a++) for (let b = a + 1; b <= n; b++) c.network.link(a, b);
    return c;
  }

  /** The SQLite file the servers share (a test may tamper with it, as a hostile server could). */
  get dbPath(): string {
    return `${this.#dir}/main.db`;
  }

  /** Server `id`. */
  server(id: number): ChatServer {
    return this.network.servers.get(id)!;
  }

  /** Opens a connection to server `id`. */
  connect(id: number, addr = "127.0.0.1"): FakeClient {
    const client = new FakeClient(this.server(id), addr);
    this.#clients.push(client);
    return client;
  }

  /**
   * Logs `username` (registered by {@linkcode user}) in on a new connection to server `id`;
   * resolves with it once its replay is over.
   */
  async login(id: number, username: string): Promise<FakeClient> {
    const client = this.connect(id);
    await client.request({ type: "login", ref: 0, username, password: "correct horse 1" });
    await client.waitFor((f) => f.type === "synced");
    return client;
  }

  /** Registers a user on server `id`; resolves once its replay is over. */
  async user(id: number, username: string): Promise<{ client: FakeClient; id: number }> {
    const client = this.connect(id);
    const reg = await client.request({
      type: "register",
      ref: 0,
      username,
      password: "correct horse 1",
      rsa_public_key: _RSA_PUBLIC_KEY,
      identity_key: toBase64Url(randomBytes(32), false),
    });
    await client.waitFor((f) => f.type === "synced");
    return { client, id: (reg as { user_id: number }).user_id };
  }

  /** Closes every connection and the store, and removes the directory. */
  async stop(): Promise<void> {
    for (const c of this.#clients) c.close();
    for (const s of this.network.servers.values()) s.closeAll();
    // Handlers still running finish before the store closes.
    await Promise.all([...this.network.servers.values()].map((s) => s.idle()));
    await this.store.close();
    await Deno.remove(this.#dir, { recursive: true });
  }
}

/** A client connection to an in-process server, speaking frames. */
export class FakeClient implements Conn {
  /** The client's address, as the server sees it (rate limits key on it). */
  readonly addr: string;
  readonly frames: ServerFrame[] = [];
  readonly #server: ChatServer;
  #open = true;
  #ref = 0;
  #waiters: { match: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];

  constructor(server: ChatServer, addr = "127.0.0.1") {
    this.addr = addr;
    this.#server = server;
    server.onOpen(this);
  }

  /** The largest message the server last allowed on this connection. */
  maxMessageBytes = 0;
  /** What the server sees as queued for this connection (tests set it to fake a slow reader). */
  bufferedAmount = 0;

  setMaxMessageBytes(bytes: number): void {
    this.maxMessageBytes = bytes;
  }

  /** Whether the server still holds this connection open. */
  get open(): boolean {
    return this.#open;
  }

  /** From the server. */
  send(text: string): boolean {
    if (!this.#open) return false;
    const frame = decode(text, "server");
    this.frames.push(frame);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(frame)) return true;
      w.resolve(frame);
      return false;
    });
    return true;
  }

  /** From the server (or the test): the connection closes. */
  close(code = 1000, reason = ""): void {
    if (!this.#open) return;
    this.#open = false;
    this.closedWith = { code, reason };
    this.#server.onClose(this);
  }

  /** Sends a frame to the server. */
  write(frame: ClientFrame): void {
    this.#server.onData(this, encode(frame));
  }

  /** Sends raw text (or anything) to the server, as a misbehaving client might. */
  writeRaw(data: unknown): void {
    this.#server.onData(this, data);
  }

  /** The close code and reason the server closed with, if it did. */
  closedWith: { code: number; reason: string } | null = null;

  /** Sends a request with the next `ref` and waits for its answer (or error). */
  request(frame: ClientFrame): Promise<ServerFrame> {
    const ref = ++this.#ref;
    const answer = this.waitFor((f) => "ref" in f && f.ref === ref);
    this.write({ ...frame, ref } as ClientFrame);
    return answer;
  }

  /** The first frame (already received or to come) that matches. */
  waitFor(match: (f: ServerFrame) => boolean, timeoutMs = 5_000): Promise<ServerFrame> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`Timed out waiting for a frame; got ${JSON.stringify(this.frames)}`)),
        timeoutMs,
      );
      this.#waiters.push({
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  /** Message frames received, by message ID. */
  messageIds(): number[] {
    return this.frames.flatMap((f) => (f.type === "message" ? [f.msg_id] : []));
  }
}

function _key(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

/**
 * Sends a direct message from `client` to user `to` and returns its message ID; fails the
 * test unless it is accepted.
 */
export async function sendDirect(
  client: FakeClient,
  to: number,
  body: string,
  clientMsgId: string,
): Promise<number> {
  const acc = await client.request({
    type: "single_message",
    ref: 0,
    client_msg_id: clientMsgId,
    to,
    body,
  });
  if (acc.type !== "accepted") throw new Error(`Expected accepted, got ${JSON.stringify(acc)}`);
  return acc.msg_id;
}
