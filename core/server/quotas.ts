/**
 * Quotas: every number that bounds what one client may try or leave waiting, in one place
 * (docs/PROTOCOL.md, "Limits and quotas", lists them with their reasons), and the rate-limit
 * keys they apply to.
 *
 * Authentication limits are token buckets in the shared database (`Store.takeAttempt`), so
 * they hold across every server of the cluster and across restarts. An attempt is taken
 * before the password is checked, and given back when the login succeeds, so they count
 * failures (and attempts still being checked). Login has three keys, so that nobody can lock
 * an owner out of their own account:
 * - **account and address** together, strict: a guesser at one address is slowed to a crawl,
 *   and only that address is;
 * - **account** alone, a loose ceiling far above what one address may do, against guessing
 *   from many addresses;
 * - **address** alone, over all accounts, against one address trying many accounts.
 *
 * The address is the TCP peer's (FastChat reads no forwarded header). Limits by address alone
 * are not applied to loopback peers unless `limitLoopback` is set: a reverse proxy on the same
 * machine, or a local benchmark, would otherwise lump every client into one address and lock
 * them all out together. The account and account-and-address limits apply to every peer.
 *
 * The send rate is per server, in memory (`throttle.ts`): it is checked for every message,
 * and a database write each time would double the cost of sending. A user connected to k
 * servers may therefore send k times as fast.
 *
 * @module
 */

import { LIMITS } from "../protocol/mod.ts";
import { DEFAULT_PENDING_BOUNDS, type PendingBounds, type RateLimit } from "../store/store.ts";
import type { BucketShape } from "../store/token_bucket.ts";

/** A server's quotas; see {@linkcode QUOTAS} for the defaults. */
export interface Quotas {
  /**
   * Login attempts for one account from one address. Several buckets, all applied: a few at
   * once, then a slow trickle (a delay that grows as failures go on).
   */
  readonly loginPair: readonly BucketShape[];
  /** Login attempts for one account from any address. */
  readonly loginAccount: BucketShape;
  /** Login attempts from one address, for any account. */
  readonly loginAddress: BucketShape;
  /** Resume attempts from one address (successful ones are given back). */
  readonly resumeAddress: BucketShape;
  /** Registrations from one address (kept, not given back). */
  readonly register: BucketShape;
  /**
   * Link slots opened or cancelled, and reads of slots that do not exist, from one address:
   * what bounds guessing slot names (a slot's name is 20 bits of the link code).
   */
  readonly link: BucketShape;
  /**
   * Frames that store a message (sends, keys, group changes) per user, per server; null for
   * no limit (benchmarks and stress tests, which send as fast as the server answers).
   */
  readonly send: BucketShape | null;
  /** Most deliveries and body bytes that may wait for one recipient. */
  readonly pending: PendingBounds;
  /** Deliveries still pending this long after acceptance are dropped, milliseconds. */
  readonly pendingExpiryMs: number;
  /** Whether limits by address alone apply to loopback peers too (see above). */
  readonly limitLoopback: boolean;
}

const _MINUTE = 60_000;
const _DAY = 24 * 60 * _MINUTE;

/** The default quotas. */
export const QUOTAS: Quotas = {
  // 5 at once, then one a minute; past 20 in a row, one every 30 minutes (48 a day).
  loginPair: [
    { burst: 5, intervalMs: _MINUTE },
    { burst: 20, intervalMs: 30 * _MINUTE },
  ],
  // 100 an hour from all addresses together.
  loginAccount: { burst: 100, intervalMs: 36_000 },
  // 50 per 10 minutes from one address (a NAT of many users is still fine: successes are
  // given back).
  loginAddress: { burst: 50, intervalMs: 12_000 },
  resumeAddress: { burst: 50, intervalMs: 12_000 },
  // 10 an hour from one address.
  register: { burst: 10, intervalMs: 6 * _MINUTE },
  // 20 at once, then one every 30 s (a person links a device now and then).
  link: { burst: 20, intervalMs: 30_000 },
  // 200 at once, 50 a second sustained.
  send: { burst: LIMITS.sendBurst, intervalMs: LIMITS.sendIntervalMs },
  // 10,000 messages or 64 MiB per recipient.
  pending: DEFAULT_PENDING_BOUNDS,
  // 30 days, as Signal's server keeps undelivered messages.
  pendingExpiryMs: 30 * _DAY,
  limitLoopback: false,
};

/**
 * The defaults with `overrides` applied (an override that is `undefined` keeps the default);
 * throws RangeError (naming the quota) for a number that is not a positive safe integer, or an
 * empty `loginPair`.
 */
export function resolveQuotas(overrides: Partial<Quotas> = {}): Quotas {
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const q: Quotas = { ...QUOTAS, ...given };
  if (!Array.isArray(q.loginPair) || q.loginPair.length === 0) {
    throw new RangeError("quotas.loginPair must list at least one bucket");
  }
  q.loginPair.forEach((b, i) => _checkBucket(`quotas.loginPair[${i}]`, b));
  _checkBucket("quotas.loginAccount", q.loginAccount);
  _checkBucket("quotas.loginAddress", q.loginAddress);
  _checkBucket("quotas.resumeAddress", q.resumeAddress);
  _checkBucket("quotas.register", q.register);
  _checkBucket("quotas.link", q.link);
  if (q.send !== null) _checkBucket("quotas.send", q.send);
  _checkPositive("quotas.pending.messages", q.pending?.messages);
  _checkPositive("quotas.pending.bytes", q.pending?.bytes);
  _checkPositive("quotas.pendingExpiryMs", q.pendingExpiryMs);
  if (typeof q.limitLoopback !== "boolean") {
    throw new RangeError(`quotas.limitLoopback must be true or false, got ${q.limitLoopback}`);
  }
  return q;
}

/**
 * The buckets one login attempt takes from. `account` names the account however the client
 * named it (`uid:42` for an existing one, `name:...` for an unknown one); `addr` is the
 * client's address.
 */
export function loginLimits(q: Quotas, account: string, addr: string): RateLimit[] {
  // JSON keeps the parts apart whatever characters a username or address holds.
  const pair = JSON.stringify([account, addr]);
  return [
    ...q.loginPair.map((b, i) => ({ key: `login:pair:${i}:${pair}`, ...b })),
    { key: `login:account:${JSON.stringify(account)}`, ...q.loginAccount },
    ..._byAddress(q, "login", addr, q.loginAddress),
  ];
}

/** The bucket one resume attempt takes from (none for an exempt loopback peer). */
export function resumeLimits(q: Quotas, addr: string): RateLimit[] {
  return _byAddress(q, "resume", addr, q.resumeAddress);
}

/** The bucket one registration takes from (none for an exempt loopback peer). */
export function registerLimits(q: Quotas, addr: string): RateLimit[] {
  return _byAddress(q, "register", addr, q.register);
}

/** The bucket a link slot opening, cancel or miss takes from (none for exempt loopback). */
export function linkLimits(q: Quotas, addr: string): RateLimit[] {
  return _byAddress(q, "link", addr, q.link);
}

/** True for an IPv4 or IPv6 loopback address (127.0.0.0/8, ::1, IPv4-mapped 127.x). */
export function isLoopback(addr: string): boolean {
  return /^(127\.|::ffff:127\.)/i.test(addr) || addr === "::1";
}

/** A limit by address alone, unless the address is an exempt loopback one. */
function _byAddress(q: Quotas, what: string, addr: string, shape: BucketShape): RateLimit[] {
  if (!q.limitLoopback && isLoopback(addr)) return [];
  return [{ key: `${what}:addr:${JSON.stringify(addr)}`, ...shape }];
}

/** "2 min", "45 s", "300 ms": a wait as people read it, for error messages. */
export function formatWait(ms: number): string {
  if (ms < 1000) return `${Math.max(1, Math.ceil(ms))} ms`;
  if (ms < 2 * _MINUTE) return `${Math.ceil(ms / 1000)} s`;
  return `${Math.ceil(ms / _MINUTE)} min`;
}

function _checkBucket(name: string, b: BucketShape | undefined): void {
  if (typeof b !== "object" || b === null) {
    throw new RangeError(`${name} must be an object with burst and intervalMs`);
  }
  _checkPositive(`${name}.burst`, b.burst);
  _checkPositive(`${name}.intervalMs`, b.intervalMs);
}

function _checkPositive(name: string, value: number | undefined): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
}
