/**
 * The chat client's engine: joins through the balancer (registering with ID 0 or logging
 * in), keeps the local keystore, encrypts end to end, and reconnects by itself. Front ends
 * (cmd/client.ts's line mode and `--json`, the full-screen UI in core/tui/) only parse
 * commands and render its events.
 *
 * This class only puts the parts together; each concern has its own module:
 * - connection.ts: dialing, logging in, reconnecting (over a `Dialer`, ports.ts);
 * - key_rules.ts: the key agreement decisions, as pure functions;
 * - friends.ts and group_keys.ts: pinned keys, shared friend keys, group keys per epoch;
 * - key_watch.ts: published keys checked at each login and periodically (own keys too);
 * - consent.ts (rules in consent_rules.ts): contacts, requests, blocked users, file limits;
 * - inbox.ts and incoming.ts: receiving in order, parking, acknowledging; what each means;
 * - sender.ts and file_transfer.ts: the outgoing queue, texts and files;
 * - devices.ts and prekey_keeper.ts: this account's devices, and this device's prekeys;
 * - command_runner.ts: the commands.
 *
 * @module
 */

import { type Clock, SYSTEM_CLOCK } from "../../async/clock.ts";
import { every, type StopTimer } from "../../async/every.ts";
import { nextTurn } from "../transport/next_turn.ts";
import { exportRsaPrivateKey, exportRsaPublicKey, toBase64Url } from "../../crypto/mod.ts";
import { generateIdentityKeyPair, generateRsaKeyPair } from "../../crypto/mod.ts";
import type { MessageFrame } from "../../protocol/mod.ts";
import { balancerDialer } from "../transport/balancer_dialer.ts";
import { CommandRunner } from "./command_runner.ts";
import type { ClientCommand } from "./commands.ts";
import { Connection, type ShutOut } from "./connection.ts";
import { Consent } from "./consent.ts";
import { ContactSync } from "./contact_sync.ts";
import { settledWithin } from "../transport/delay.ts";
import type { ClientEvent, EventSink } from "./events.ts";
import { FileTransfer } from "./file_transfer.ts";
import { Friends } from "./friends.ts";
import { GroupConsent } from "./group_consent.ts";
import { GroupKeys } from "./group_keys.ts";
import { Inbox } from "./inbox.ts";
import { Incoming } from "./incoming.ts";
import { Devices } from "./devices.ts";
import { KeyWatch } from "./key_watch.ts";
import { PrekeyKeeper } from "./prekey_keeper.ts";
import { groupName, userName } from "./lookup.ts";
import type { Dialer, FilePort, KeystoreOpener, KeystorePort } from "./ports.ts";
import { loadSecrets } from "./secrets.ts";
import { Sender } from "./sender.ts";
import { Tracker } from "./tracker.ts";

export type { ShutOut };

/** What the client needs. */
export interface ChatClientOptions {
  /**
   * Balancer base URLs, e.g. http://127.0.0.1:7100; the next is asked when one is down
   * (one URL alone is fine).
   */
  balancerUrls: string | readonly string[];
  /** The account's username; a new one is registered when there is no keystore yet. */
  username: string;
  /** The account's password; it also unlocks the keystore. */
  password: string;
  /** Where events go. */
  emit: EventSink;
  /** scrypt N for the local keystore (tests use a small one). */
  keystoreScryptN?: number;
  /** Seconds to keep trying to reach a server before giving up (default 30). */
  connectTimeoutS?: number;
  /**
   * Liveness of the server: ping after this many milliseconds of silence (default 15 s);
   * see `ConnectOptions.keepAliveMs` in protocol_client.ts.
   */
  keepAliveMs?: number;
  /** A server silent this long after a ping counts as gone, and the client reconnects (10 s). */
  deadAfterMs?: number;
  /** How to reach a server (default: through `balancerUrls`, with the options above). */
  dialer?: Dialer;
  /**
   * The user's keystore: on Deno the file `<data>/<user>/keystore.db` (`denoClientPorts()`
   * in deno_ports.ts), in a browser IndexedDB (web/).
   */
  keystore: KeystoreOpener;
  /** Files to send, and where received ones are saved. */
  files: FilePort;
  /** Where received files are saved, as `files` names places. */
  saveDir: string;
  /**
   * Milliseconds between checks of the published keys while connected (default 10
   * minutes, `KEY_CHECK_MS`; 0 checks only at each login). Tests pass a short one.
   */
  keyCheckMs?: number;
  /**
   * This device's name in the account's device list, when the client makes it the account's
   * first device (default "this device"; the terminal passes the host name, the browser its
   * own).
   */
  deviceName?: string;
  /**
   * The clock of every timer and timestamp of the client (reconnect delays, liveness,
   * request timeouts, key checks, parked-message expiry, pacing); default the system
   * clock. Tests pass a fake one to move time instead of waiting for it.
   */
  clock?: Clock;
}

/** The parts that need the keystore, made once it is open. */
interface _Engine {
  readonly ks: KeystorePort;
  readonly inbox: Inbox;
  readonly keyWatch: KeyWatch;
  readonly consent: Consent;
  readonly contactSync: ContactSync;
  readonly devices: Devices;
  readonly prekeys: PrekeyKeeper;
  readonly sender: Sender;
  readonly commands: CommandRunner;
}

/** The client engine. */
export class ChatClient {
  readonly #opts: ChatClientOptions;
  readonly #emit: EventSink;
  readonly #connection: Connection;
  #engine: _Engine | null = null;
  /** The keystore being opened (null: none on this device yet). */
  #unlocked: Promise<KeystorePort | null> | null = null;
  /** Messages that came before the keystore was open (none expected; kept, not lost). */
  readonly #early: MessageFrame[] = [];
  readonly #clock: Clock;
  #expiry: StopTimer | undefined;

  /** Sets the client up without connecting; {@linkcode ChatClient.start} joins. */
  constructor(opts: ChatClientOptions) {
    this.#opts = opts;
    this.#emit = opts.emit;
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    this.#connection = new Connection({
      clock: this.#clock,
      dialer: opts.dialer ?? balancerDialer(opts),
      emit: opts.emit,
      password: opts.password,
      hooks: {
        onMessage: (m) => this.#engine ? this.#engine.inbox.receive(m) : this.#early.push(m),
        onDelivered: (d) => this.#engine?.sender.delivered(d),
        inboxIdle: () => this.#engine?.inbox.idle() ?? Promise.resolve(),
        onAttached: async (conn) => {
          await this.#engine?.devices.adopt(conn).catch((err) => {
            // Stopping meanwhile (Ctrl-C): the next start makes this device the account's.
            if (!this.#connection.stopping) {
              this.#emit({ event: "error", message: (err as Error).message });
            }
          });
          // Once a device: other devices start sessions with it from the prekeys it publishes.
          await this.#engine?.prekeys.attached(conn);
          await this.#engine?.keyWatch.check();
          await this.#engine?.sender.flushQueued();
        },
        onLoggedIn: (conn) => this.#engine?.contactSync.loggedIn(conn),
        onPrekeysLow: (remaining) => this.#engine?.prekeys.low(remaining),
      },
    });
  }

  /** My user ID (0 before joining). */
  get userId(): number {
    return this.#engine?.ks.userId ?? 0;
  }

  /** True while connected and logged in. */
  get connected(): boolean {
    return this.#connection.connected;
  }

  /**
   * Resolves with a reason when the server ended this session (it was logged out): the
   * client is shut out, and the program should say so and stop.
   */
  get shutOut(): Promise<ShutOut> {
    return this.#connection.shutOut;
  }

  /**
   * Opens the keystore with the password, if this device has one: a wrong password rejects
   * here (`KeystoreError` "wrong_password"), before anything is shown or connected.
   * Optional: `start()` does it when it was not done.
   */
  async unlock(): Promise<void> {
    this.#unlocked ??= this.#opts.keystore.open(this.#opts.password);
    await this.#unlocked;
  }

  /** Opens or creates the keystore, joins the cluster and emits `ready`. */
  async start(): Promise<void> {
    const opener = this.#opts.keystore;
    this.#unlocked ??= opener.open(this.#opts.password);
    const ks = await this.#unlocked;
    if (ks) {
      this.#build(ks);
      await this.#connection.connect("start");
    } else {
      await this.#register(opener);
    }
    this.#expiry = every(this.#clock, 1_000, () => this.#engine?.inbox.expireParked());
    const engine = this.#engine!;
    engine.keyWatch.start();
    this.#emit({
      event: "ready",
      user: engine.ks.username,
      id: engine.ks.userId,
      server: this.#connection.serverId ?? 0,
    });
    await engine.consent.settle().catch((err) =>
      this.#emit({ event: "error", message: (err as Error).message })
    );
  }

  /**
   * Which of these users have a live connection now, by user ID (from `lookup`): null when
   * the server does not say (only people who made the user a contact are told); users that
   * could not be looked up are left out, and nothing is known while offline.
   */
  async presence(userIds: readonly number[]): Promise<Map<number, boolean | null>> {
    const out = new Map<number, boolean | null>();
    for (const id of userIds) {
      if (!this.connected) break;
      try {
        const u = await this.#connection.live().request({ type: "lookup", user_id: id });
        out.set(id, u.online ?? null);
      } catch {
        // gone meanwhile, or the connection dropped: unknown this time
      }
    }
    return out;
  }

  /** Runs one command; errors become `error` events, never exceptions. */
  async run(cmd: ClientCommand): Promise<void> {
    if (!this.#engine) {
      this.#emit({ event: "error", message: "The client has not started" });
      return;
    }
    await this.#engine.commands.run(cmd);
  }

  /** Waits (bounded) until every message sent so far is accepted by the server. */
  async drain(timeoutMs = 15_000): Promise<boolean> {
    return await (this.#engine?.sender.drain(timeoutMs) ?? true);
  }

  /** Stops: closes the connection and the keystore. */
  async close(): Promise<void> {
    this.#connection.stop();
    this.#expiry?.();
    this.#engine?.keyWatch.stop();
    if (this.#engine) await settledWithin(this.#engine.inbox.idle(), 5_000, this.#clock);
    // Its secrets are written to the keystore, closed below.
    if (this.#engine) await settledWithin(this.#engine.prekeys.idle(), 5_000, this.#clock);
    await this.#connection.close();
    this.#engine?.ks.close();
  }

  /** Registers the user (the seed's "join with ID 0") and makes the keystore. */
  async #register(opener: KeystoreOpener): Promise<void> {
    const what = "Generating your RSA-2048 key pair";
    this.#emit({ event: "progress", what, done: 0, total: 1 });
    const rsa = generateRsaKeyPair(2048);
    const identity = generateIdentityKeyPair();
    this.#emit({ event: "progress", what, done: 1, total: 1 });
    const rsaPublicKey = exportRsaPublicKey(rsa.publicKey, "spki");
    const identityPublic = toBase64Url(identity.publicKey, false);
    const conn = await this.#connection.dial("register");
    let ks: KeystorePort;
    try {
      const reg = await conn.request({
        type: "register",
        username: this.#opts.username,
        password: this.#opts.password,
        rsa_public_key: rsaPublicKey,
        identity_key: identityPublic,
      });
      const scryptN = this.#opts.keystoreScryptN;
      ks = await opener.create({
        password: this.#opts.password,
        account: {
          userId: reg.user_id,
          username: reg.username,
          rsaPrivateKey: exportRsaPrivateKey(rsa.privateKey, "pkcs8"),
          rsaPublicKey,
          identitySecretKey: identity.secretKey,
          identityPublicKey: identityPublic,
          sessionToken: reg.session_token,
        },
        ...(scryptN ? { scrypt: { N: scryptN } } : {}),
      });
    } catch (err) {
      this.#connection.abandon(conn);
      throw err;
    }
    this.#build(ks);
    await this.#connection.attach(conn);
  }

  /** Makes the parts once the keystore is open. */
  #build(ks: KeystorePort): void {
    const emit = this.#emit;
    const link = this.#connection;
    const account = ks.account();
    const secrets = loadSecrets(account);
    const tracker = new Tracker();
    const now = () => this.#clock.now();
    const friends = new Friends({ ks, link, emit, secrets, tracker, now });
    const keyWatch = new KeyWatch({
      ks,
      own: { rsaPublicKey: account.rsaPublicKey, identityKey: account.identityPublicKey },
      friends,
      link,
      emit,
      intervalMs: this.#opts.keyCheckMs,
      clock: this.#clock,
      watchDevices: () => devices.watch(),
    });
    const contactSync = new ContactSync({ ks, link });
    const consent = new Consent({
      ks,
      friends,
      secrets,
      emit,
      replay: (frames) => inbox.replay(frames),
      // Not once the client is stopping: its keystore may be closed by then.
      afterQueued: (fn) =>
        nextTurn(() =>
          void inbox.idle().then(() => {
            if (!link.stopping) fn();
          }).catch((err) => emit({ event: "error", message: (err as Error).message }))
        ),
      changed: (userId) => contactSync.changed(userId),
    });
    const groupKeys = new GroupKeys({ ks, friends, link, emit, secrets, tracker });
    const groupConsent = new GroupConsent({ ks, link, emit });
    const files = new FileTransfer({
      ks,
      files: this.#opts.files,
      saveDir: this.#opts.saveDir,
      link,
      emit,
      identitySecret: secrets.identitySecret,
      tracker,
    });
    const inbox: Inbox = new Inbox({
      ks,
      handle: (m) => incoming.handle(m),
      reshow: (msgId) => incoming.reshow(msgId),
      // Acknowledged only once stored: the server forgets what is acknowledged.
      ack: (ids) => {
        if (ks.persisted === undefined) return link.ack(ids);
        ks.persisted().then(
          () => link.ack(ids),
          (err) =>
            emit({
              event: "error",
              message: `Could not store messages: ${(err as Error).message}`,
            }),
        );
      },
      emit,
      connected: () => link.connected,
      stopping: () => link.stopping,
      now,
      names: (m) => ({
        from: userName(ks, m.from),
        group: m.group_id === null ? null : `"${groupName(ks, m.group_id)}"`,
      }),
    });
    const incoming = new Incoming({
      ks,
      secrets,
      friends,
      groupKeys,
      files,
      consent,
      groupConsent,
      emit,
      keyArrived: () => inbox.retryParked(),
    });
    const sender = new Sender({
      ks,
      link,
      emit,
      identitySecret: secrets.identitySecret,
      tracker,
      inboxIdle: () => inbox.idle(),
      nameOf: (id) => friends.nameOf(id),
      clock: this.#clock,
    });
    const devices = new Devices({
      ks,
      link,
      secrets,
      emit,
      now,
      deviceName: this.#opts.deviceName ?? "this device",
    });
    const commands = new CommandRunner({
      ks,
      link,
      devices,
      friends,
      groupKeys,
      sender,
      files,
      consent,
      groupConsent,
      emit,
    });
    link.useSession(ks);
    const prekeys = new PrekeyKeeper({ ks, link, emit });
    this.#engine = {
      ks,
      inbox,
      keyWatch,
      consent,
      contactSync,
      devices,
      prekeys,
      sender,
      commands,
    };
    for (const m of this.#early.splice(0)) inbox.receive(m);
  }
}

/** Re-exported for the front end's type checks. */
export type { ClientEvent };
