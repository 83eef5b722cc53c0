/**
 * Authentication: `register` (the new user is ID 0 on the wire until the server assigns
 * one), `login` by username or ID with a password, `resume` with a session token, and
 * `logout`. Passwords are kept as scrypt hashes and session tokens as SHA-256 hashes.
 * Usernames are normalised (NFKC) before they are registered or looked up, and one name
 * ignoring case is one account (`core/protocol/username.ts`).
 * Logins, resumes and registrations take an attempt from the cluster-wide rate limits of
 * `quotas.ts` before any password or token is checked, so concurrent guesses cannot all be
 * checked; a login or resume that succeeds gives its attempt back.
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
  CLOSE_REASONS,
  ERROR_CODES,
  LIMITS,
  normalizeUsername,
  ProtocolError,
  type ServerFrame,
  usernameKey,
} from "../protocol/mod.ts";
import { type DeviceList, verifyDeviceLogin } from "../e2e/mod.ts";
import { type RateLimit, StoreError, type UserRecord } from "../store/store.ts";
import type { ClientSession } from "./client_session.ts";
import type { ServerContext } from "./context.ts";
import { formatWait, loginLimits, type Quotas, registerLimits, resumeLimits } from "./quotas.ts";

/** Session lifetime: 30 days. */
export const SESSION_MS = 30 * 24 * 3600 * 1000;
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
  /** The rate limits of logins, resumes and registrations. */
  readonly quotas: Quotas;
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
  /** The account's newest device list, parsed; null for an account without devices. */
  readonly latestDevices: (userId: number) => Promise<DeviceList | null>;
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
    // Counted whatever happens next: registering is what this limit is about.
    await this.#attempt(
      registerLimits(this.#opts.quotas, session.addr),
      f.ref,
      "registrations from your address",
    );
    const store = this.#ctx.store;
    // The pattern is ASCII, which NFKC keeps as it is; normalised all the same, so the name
    // is registered in the form it is looked up in.
    const username = normalizeUsername(f.username);
    const existing = await store.getUserByName(username);
    if (existing) throw _taken(username, existing.username, f.ref);
    const passwordHash = await hashPasswordAsync(f.password, this.#opts.passwordCost);
    let user: UserRecord;
    try {
      user = await store.createUser({
        username,
        passwordHash,
        rsaPublicKey: f.rsa_public_key,
        identityKey: toBase64Url(identity, false),
      });
    } catch (err) {
      if (err instanceof StoreError && err.code === "username_taken") {
        // Registered by someone else while the password was hashed.
        throw _taken(username, (await store.getUserByName(username))?.username ?? null, f.ref);
      }
      throw err;
    }
    this.#ctx.log.info("user_registered", { user: user.id, username: user.username });
    const token = await this.#newSession(session, user.id);
    await this.#opts.loggedIn(session, user, _answer("registered", f.ref, user, token));
  }

  /**
   * Logs in by username or ID and password. An attempt is taken from the account's, the
   * address's and the pair's rate limits first; a wrong password keeps it, a right one gives
   * it back.
   */
  async login(
    session: ClientSession,
    f: Extract<ClientFrame, { type: "login" }>,
  ): Promise<void> {
    const { store, metrics, log } = this.#ctx;
    const user = f.username !== undefined
      ? await store.getUserByName(normalizeUsername(f.username))
      : await store.getUserById(f.user_id!);
    const account = user ? `uid:${user.id}` : _unknownAccount(f);
    const limits = loginLimits(this.#opts.quotas, account, session.addr);
    await this.#attempt(limits, f.ref, "failed logins");
    // Verify against a dummy hash for unknown users so timing does not reveal who exists.
    const ok = user
      ? await verifyPasswordAsync(f.password, user.passwordHash)
      : (await verifyPasswordAsync(f.password, await this.#dummy()), false);
    if (!ok || !user) {
      metrics.authFailures++;
      log.info("login_failed", { who: account, addr: session.addr });
      throw new ProtocolError(ERROR_CODES.authFailed, "Wrong username, ID or password", f.ref);
    }
    await this.#giveBack(limits);
    if (await this.#opts.latestDevices(user.id) !== null) {
      throw new ProtocolError(
        ERROR_CODES.deviceRequired,
        `${user.username} uses linked devices: a password alone does not log in. Log in ` +
          "from one of the account's devices, or link this device from one of them",
        f.ref,
      );
    }
    const token = await this.#newSession(session, user.id);
    await this.#opts.loggedIn(session, user, _answer("logged_in", f.ref, user, token));
  }

  /** Answers `device_challenge`: a nonce for this connection's next `login_device`. */
  challenge(session: ClientSession, ref: number): void {
    const nonce = toBase64Url(randomBytes(32), false);
    session.loginNonce = nonce;
    session.send({ type: "challenge", ref, nonce });
  }

  /**
   * Logs a device in: its signature over this connection's nonce, by the key the account's
   * newest device list gives it. Limited like a password login (the account and the address);
   * a nonce serves one attempt.
   */
  async loginDevice(
    session: ClientSession,
    f: Extract<ClientFrame, { type: "login_device" }>,
  ): Promise<void> {
    const { store, metrics, log } = this.#ctx;
    const nonce = session.loginNonce;
    session.loginNonce = null;
    if (nonce === null) {
      throw new ProtocolError(
        ERROR_CODES.badFrame,
        "Ask for a nonce (device_challenge) on this connection before login_device",
        f.ref,
      );
    }
    const limits = loginLimits(this.#opts.quotas, `uid:${f.user_id}`, session.addr);
    await this.#attempt(limits, f.ref, "failed logins");
    const user = await store.getUserById(f.user_id);
    const list = user ? await this.#opts.latestDevices(user.id) : null;
    const device = list?.devices.find((d) => d.id === f.device_id);
    const ok = device !== undefined &&
      verifyDeviceLogin(fromBase64Url(device.sign), f.signature, nonce, f.user_id, f.device_id);
    if (!ok || !user) {
      metrics.authFailures++;
      log.info("device_login_failed", { who: `uid:${f.user_id}`, device: f.device_id });
      throw new ProtocolError(
        ERROR_CODES.authFailed,
        "This device is not one of the account's devices (it was unlinked, or never linked), " +
          "or its proof does not verify",
        f.ref,
      );
    }
    await this.#giveBack(limits);
    const token = await this.#newSession(session, user.id, device.id);
    await this.#opts.loggedIn(session, user, _answer("logged_in", f.ref, user, token));
  }

  /** Resumes a session with its token; failed resumes are limited per address. */
  async resume(
    session: ClientSession,
    f: Extract<ClientFrame, { type: "resume" }>,
  ): Promise<void> {
    const { store, metrics } = this.#ctx;
    const limits = resumeLimits(this.#opts.quotas, session.addr);
    await this.#attempt(limits, f.ref, "failed resumes");
    const hash = sha256(fromBase64Url(f.session_token));
    const found = await store.getSession(hash, this.#ctx.now());
    let user = found ? await store.getUserById(found.userId) : null;
    if (user && found?.deviceId !== undefined) {
      // Ended when its device was unlinked; checked again here in case that was missed.
      const list = await this.#opts.latestDevices(user.id);
      if (!list?.devices.some((d) => d.id === found.deviceId)) user = null;
    }
    if (!user) {
      metrics.authFailures++;
      throw new ProtocolError(
        ERROR_CODES.authFailed,
        "The session token is unknown or expired; log in again",
        f.ref,
      );
    }
    await this.#giveBack(limits);
    session.sessionHash = hash;
    session.deviceId = found?.deviceId ?? null;
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
    session.close(CLOSE_CODES.normal, CLOSE_REASONS.loggedOut);
    if (hash) this.#opts.sessionEnded(hash);
  }

  /**
   * Takes one attempt from every bucket of `limits`, or throws `rate_limited` with the wait
   * (taking none): `what` says what there were too many of.
   */
  async #attempt(limits: readonly RateLimit[], ref: number, what: string): Promise<void> {
    const wait = await this.#ctx.store.takeAttempt(limits, this.#ctx.now());
    if (wait === 0) return;
    this.#ctx.metrics.rateLimited++;
    throw new ProtocolError(
      ERROR_CODES.rateLimited,
      `Too many ${what}; try again in ${formatWait(wait)}`,
      ref,
      Math.min(wait, LIMITS.retryAfterMaxMs),
    );
  }

  /** Gives back an attempt that succeeded; failing to is logged, not the caller's problem. */
  async #giveBack(limits: readonly RateLimit[]): Promise<void> {
    try {
      await this.#ctx.store.refundAttempt(limits, this.#ctx.now());
    } catch (err) {
      this.#ctx.log.warn("rate_limit_refund_failed", { error: (err as Error).message });
    }
  }

  async #newSession(session: ClientSession, userId: number, deviceId?: number): Promise<string> {
    const token = randomBytes(32);
    const hash = sha256(token);
    await this.#ctx.store.createSession(hash, {
      userId,
      expiresAt: this.#ctx.now() + SESSION_MS,
      ...(deviceId === undefined ? {} : { deviceId }),
    });
    session.sessionHash = hash;
    session.deviceId = deviceId ?? null;
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

/**
 * The rate-limit key of a login naming no account. One key per account however it is named,
 * so unknown names are keyed as accounts are compared (`Bob` and `bob` share one); a name no
 * account can have (NFKC can make one longer than any key may be) is keyed as given.
 */
function _unknownAccount(f: Extract<ClientFrame, { type: "login" }>): string {
  if (f.username === undefined) return `name:#${f.user_id}`;
  const key = usernameKey(f.username);
  return `name:${LIMITS.usernamePattern.test(key) ? key : f.username}`;
}

/**
 * `username_taken` for `wanted`; when the existing name differs only in case, the message
 * says so (the user may not see why "Alice" is taken by "alice" otherwise).
 */
function _taken(wanted: string, existing: string | null, ref: number): ProtocolError {
  const clash = existing !== null && existing !== wanted
    ? ` ("${existing}" exists; usernames ignore case)`
    : "";
  return new ProtocolError(
    ERROR_CODES.usernameTaken,
    `The username "${wanted}" is taken${clash}`,
    ref,
  );
}

function _answer(
  type: "registered" | "logged_in",
  ref: number,
  user: UserRecord,
  token: string,
): ServerFrame {
  return { type, ref, user_id: user.id, username: user.username, session_token: token };
}
