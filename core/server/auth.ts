/**
 * Authentication: `register` (the new user is ID 0 on the wire until the server assigns
 * one), `login` by username or ID with a password, `resume` with a session token, and
 * `logout`. Passwords are kept as scrypt hashes and session tokens as SHA-256 hashes;
 * failed logins are slowed per account and per address.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bitLength } from "../crypto/bigint.ts";
import { fromBase64Url, randomBytes, toBase64Url } from "../crypto/bytes.ts";
import { hashPasswordAsync, verifyPasswordAsync } from "../crypto/password.ts";
import { importRsaPublicKey } from "../crypto/rsa_pem.ts";
import {
  type ClientFrame,
  CLOSE_CODES,
  ERROR_CODES,
  ProtocolError,
  type ServerFrame,
} from "../protocol/mod.ts";
import { StoreError, type UserRecord } from "../store/store.ts";
import type { ClientSession } from "./client_session.ts";
import type { ServerContext } from "./context.ts";
import type { LoginThrottle } from "./throttle.ts";

/** Session lifetime: 30 days. */
const _SESSION_MS = 30 * 24 * 3600 * 1000;
/** Smallest RSA modulus accepted at registration. */
const _MIN_RSA_BITS = 2048;

/** Password hashing cost the server uses for new users (scrypt). */
export interface PasswordCost {
  N: number;
  r: number;
  p: number;
}

/** What authentication needs besides the server context. */
export interface AuthOptions {
  /** scrypt cost for new registrations; defaults to core/crypto's defaults. */
  readonly passwordCost?: PasswordCost;
  /** Per account. */
  readonly throttle: LoginThrottle;
  /** Per address: looser, since many users may share one address (NAT). */
  readonly addrThrottle: LoginThrottle;
  /**
   * Called once a session is authenticated: it makes the session known as its user's,
   * answers with `frame`, and replays what is pending.
   */
  readonly loggedIn: (
    session: ClientSession,
    user: UserRecord,
    frame: ServerFrame,
  ) => Promise<void>;
  /** A session was logged out here: its other connections, here and on peers, must close. */
  readonly sessionEnded: (tokenHash: Uint8Array) => void;
  /** Sends an error frame with a retry delay (rate limiting). */
  readonly rateLimited: (session: ClientSession, err: ProtocolError, retryAfterMs: number) => void;
}

/** Authentication; see the module documentation. */
export class Auth {
  readonly #ctx: ServerContext;
  readonly #opts: AuthOptions;
  #dummyHash: Promise<string> | null = null;

  constructor(ctx: ServerContext, opts: AuthOptions) {
    this.#ctx = ctx;
    this.#opts = opts;
  }

  /** Registers a new user and logs the session in. */
  async register(
    session: ClientSession,
    f: Extract<ClientFrame, { type: "register" }>,
  ): Promise<void> {
    try {
      const key = importRsaPublicKey(f.rsa_public_key);
      if (bitLength(key.n) < _MIN_RSA_BITS) {
        throw new RangeError(
          `the key has ${bitLength(key.n)} bits; at least ${_MIN_RSA_BITS} are required`,
        );
      }
    } catch (err) {
      throw new ProtocolError(
        ERROR_CODES.badFrame,
        `Field "rsa_public_key" is not an acceptable RSA public key: ${(err as Error).message}`,
        f.ref,
      );
    }
    let identity: Uint8Array;
    try {
      identity = fromBase64Url(f.identity_key);
    } catch {
      identity = new Uint8Array();
    }
    if (identity.length !== 32) {
      throw new ProtocolError(
        ERROR_CODES.badFrame,
        'Field "identity_key" must be url-safe base64 of a 32-byte Ed25519 public key',
        f.ref,
      );
    }
    const store = this.#ctx.store;
    const taken = () =>
      new ProtocolError(ERROR_CODES.usernameTaken, `The username "${f.username}" is taken`, f.ref);
    if (await store.getUserByName(f.username)) throw taken();
    const passwordHash = await hashPasswordAsync(f.password, this.#opts.passwordCost);
    let user: UserRecord;
    try {
      user = await store.createUser({
        username: f.username,
        passwordHash,
        rsaPublicKey: f.rsa_public_key,
        identityKey: toBase64Url(identity, false),
      });
    } catch (err) {
      if (err instanceof StoreError && err.code === "username_taken") throw taken();
      throw err;
    }
    this.#ctx.log.info("user_registered", { user: user.id, username: user.username });
    const token = await this.#newSession(session, user.id);
    await this.#opts.loggedIn(session, user, _answer("registered", f.ref, user, token));
  }

  /** Logs in by username or ID and password, slowing repeated failures. */
  async login(
    session: ClientSession,
    f: Extract<ClientFrame, { type: "login" }>,
  ): Promise<void> {
    const { store, metrics, log } = this.#ctx;
    const { throttle, addrThrottle } = this.#opts;
    const user = f.username !== undefined
      ? await store.getUserByName(f.username)
      : await store.getUserById(f.user_id!);
    // One key per account however it is named; unknown names are throttled by spelling.
    const userKey = user ? [`uid:${user.id}`] : [`name:${f.username ?? `#${f.user_id}`}`];
    const addrKey = [`addr:${session.addr}`];
    const now = this.#ctx.now();
    const wait = Math.max(throttle.retryAfter(userKey, now), addrThrottle.retryAfter(addrKey, now));
    if (wait > 0) {
      this.#opts.rateLimited(
        session,
        new ProtocolError(
          ERROR_CODES.rateLimited,
          `Too many failed logins; try again in ${Math.ceil(wait / 1000)} s`,
          f.ref,
        ),
        wait,
      );
      return;
    }
    // Verify against a dummy hash for unknown users so timing does not reveal who exists.
    const ok = user
      ? await verifyPasswordAsync(f.password, user.passwordHash)
      : (await verifyPasswordAsync(f.password, await this.#dummy()), false);
    if (!ok || !user) {
      throttle.fail(userKey, now);
      addrThrottle.fail(addrKey, now);
      metrics.authFailures++;
      log.info("login_failed", { who: userKey[0], addr: session.addr });
      throw new ProtocolError(ERROR_CODES.authFailed, "Wrong username, ID or password", f.ref);
    }
    throttle.succeed(userKey);
    const token = await this.#newSession(session, user.id);
    await this.#opts.loggedIn(session, user, _answer("logged_in", f.ref, user, token));
  }

  /** Resumes a session with its token. */
  async resume(
    session: ClientSession,
    f: Extract<ClientFrame, { type: "resume" }>,
  ): Promise<void> {
    const { store, metrics } = this.#ctx;
    const hash = sha256(fromBase64Url(f.session_token));
    const found = await store.getSession(hash, this.#ctx.now());
    const user = found ? await store.getUserById(found.userId) : null;
    if (!user) {
      metrics.authFailures++;
      throw new ProtocolError(
        ERROR_CODES.authFailed,
        "The session token is unknown or expired; log in again",
        f.ref,
      );
    }
    session.sessionHash = hash;
    await this.#opts.loggedIn(session, user, _answer("logged_in", f.ref, user, f.session_token));
  }

  /**
   * Ends this connection's session: the token stops working, this connection is answered
   * and closed, and every other connection on the same session, on any server, is closed
   * too (see `sessionEnded`).
   */
  async logout(session: ClientSession, ref: number): Promise<void> {
    const hash = session.sessionHash;
    if (hash) await this.#ctx.store.deleteSession(hash);
    session.send({ type: "ok", ref });
    session.close(CLOSE_CODES.normal, "Logged out");
    if (hash) this.#opts.sessionEnded(hash);
  }

  async #newSession(session: ClientSession, userId: number): Promise<string> {
    const token = randomBytes(32);
    const hash = sha256(token);
    await this.#ctx.store.createSession(hash, {
      userId,
      expiresAt: this.#ctx.now() + _SESSION_MS,
    });
    session.sessionHash = hash;
    return toBase64Url(token, false);
  }

  #dummy(): Promise<string> {
    this.#dummyHash ??= hashPasswordAsync(
      toBase64Url(randomBytes(16), false),
      this.#opts.passwordCost,
    );
    return this.#dummyHash;
  }
}

function _answer(
  type: "registered" | "logged_in",
  ref: number,
  user: UserRecord,
  token: string,
): ServerFrame {
  return { type, ref, user_id: user.id, username: user.username, session_token: token };
}
