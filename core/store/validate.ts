/**
 * Argument checks shared by every {@linkcode Store} adapter, so both reject the same input
 * with the same error before touching their database (see "Arguments" in `store.ts`).
 *
 * @module
 */

import { utf8Bytes } from "./records.ts";
import {
  type ContactChange,
  type ContactRelation,
  DEFAULT_IDEMPOTENCY_MS,
  DEFAULT_PENDING_BOUNDS,
  DEVICE_LIST_MAX_BYTES,
  DEVICE_LISTS_PAGE_MAX,
  LINK_OFFER_MAX_BYTES,
  LINK_STEP_MAX_BYTES,
  MESSAGE_KINDS,
  type NewDeviceList,
  type NewMessage,
  type NewUser,
  ONE_TIME_PREKEY_MAX_BYTES,
  ONE_TIME_PREKEYS_PER_PUT,
  type PendingBounds,
  PREKEY_BUNDLE_MAX_BYTES,
  type RateLimit,
  type SessionRecord,
  type SettleOptions,
} from "./store.ts";

/** Most queued writes an adapter joins into one transaction. */
export const MAX_WRITES_PER_TRANSACTION = 256;

const _KINDS: ReadonlySet<string> = new Set(MESSAGE_KINDS);

/** A database ID: a positive safe integer. */
export function checkId(name: string, value: number): void {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  }
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

/** An array of database IDs (repeats allowed). */
export function checkIds(name: string, values: readonly number[]): void {
  if (!Array.isArray(values)) throw new TypeError(`${name} must be an array of IDs`);
  for (let i = 0; i < values.length; i++) checkId(`${name}[${i}]`, values[i]!);
}

/** A count, cursor or time in Unix milliseconds: a non-negative safe integer. */
export function checkCount(name: string, value: number): void {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

/** A page size: a positive safe integer. */
export function checkLimit(value: number): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`limit must be a positive integer, got ${String(value)}`);
  }
}

/** Non-empty text that both databases store exactly. */
export function checkText(name: string, value: string): void {
  checkBody(name, value);
  if (value === "") throw new TypeError(`${name} must not be empty`);
}

/**
 * Any text both databases store exactly (may be empty): a string that is well-formed UTF-16
 * (no lone surrogates, which both would turn into U+FFFD) and has no NUL characters (which
 * SQLite's text API cuts at and PostgreSQL rejects).
 */
export function checkBody(name: string, value: string): void {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${typeof value}`);
  }
  if (value.includes("\0")) {
    throw new TypeError(`${name} must not contain NUL characters`);
  }
  if (!value.isWellFormed()) {
    throw new TypeError(`${name} must be well-formed Unicode; it contains a lone surrogate`);
  }
}

/** A SHA-256 session token hash. */
export function checkTokenHash(tokenHash: Uint8Array): void {
  if (!(tokenHash instanceof Uint8Array)) {
    throw new TypeError("tokenHash must be a Uint8Array (the SHA-256 of the session token)");
  }
  if (tokenHash.length !== 32) {
    throw new RangeError(`tokenHash must be 32 bytes (SHA-256), got ${tokenHash.length}`);
  }
}

/** A user to register. */
export function checkNewUser(user: NewUser): void {
  if (typeof user !== "object" || user === null) {
    throw new TypeError(
      "User must be an object with username, passwordHash, rsaPublicKey, identityKey",
    );
  }
  checkText("username", user.username);
  checkText("passwordHash", user.passwordHash);
  checkText("rsaPublicKey", user.rsaPublicKey);
  checkText("identityKey", user.identityKey);
}

/** A session to store. */
export function checkSession(tokenHash: Uint8Array, session: SessionRecord): void {
  checkTokenHash(tokenHash);
  if (typeof session !== "object" || session === null) {
    throw new TypeError("Session must be an object with userId and expiresAt");
  }
  checkId("session.userId", session.userId);
  checkCount("session.expiresAt", session.expiresAt);
  if (session.deviceId !== undefined) checkId("session.deviceId", session.deviceId);
}

/** A device list hash: url-safe base64 of a SHA-256, without padding. */
const _HASH = /^[A-Za-z0-9_-]{43}$/;

/** A device list version to append: its chain links well formed, its body within bounds. */
export function checkNewDeviceList(list: NewDeviceList): void {
  if (typeof list !== "object" || list === null) {
    throw new TypeError(
      "Device list must be an object with userId, version, prevHash, hash, body, createdAt",
    );
  }
  checkId("list.userId", list.userId);
  checkId("list.version", list.version);
  _checkHash("list.hash", list.hash);
  if (list.version === 1) {
    if (list.prevHash !== "") {
      throw new RangeError(`list.prevHash must be "" for version 1, got "${list.prevHash}"`);
    }
  } else {
    _checkHash("list.prevHash", list.prevHash);
  }
  _checkSized("list.body", list.body, DEVICE_LIST_MAX_BYTES);
  checkCount("list.createdAt", list.createdAt);
}

function _checkHash(name: string, value: string): void {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${typeof value}`);
  }
  if (!_HASH.test(value)) {
    throw new RangeError(
      `${name} must be url-safe base64 of a SHA-256 (43 characters of A-Z, a-z, 0-9, - and _)`,
    );
  }
}

/** The arguments of `deviceLists()`: a user, a first version (0 or more), a page size. */
export function checkDeviceListsPage(userId: number, fromVersion: number, limit: number): void {
  checkId("userId", userId);
  checkCount("fromVersion", fromVersion);
  _checkPositive("limit", limit, DEVICE_LISTS_PAGE_MAX);
}

/** A link slot's name: 4 characters of 0-9 and A-Z. */
export function checkLinkSlotName(slot: string): void {
  if (typeof slot !== "string") {
    throw new TypeError(`slot must be a string, got ${typeof slot}`);
  }
  if (!/^[0-9A-Z]{4}$/.test(slot)) {
    throw new RangeError(`slot must be 4 characters of 0-9 and A-Z, got "${slot}"`);
  }
}

/** The arguments of `openLinkSlot()`: a slot name, an offer within bounds, a future expiry. */
export function checkLinkOpen(slot: string, offer: string, now: number, expiresAt: number): void {
  checkLinkSlotName(slot);
  _checkSized("offer", offer, LINK_OFFER_MAX_BYTES);
  checkCount("now", now);
  checkCount("expiresAt", expiresAt);
  if (expiresAt <= now) {
    throw new RangeError(`expiresAt (${expiresAt}) must be later than now (${now})`);
  }
}

/**
 * The arguments of `appendLinkStep()`: a slot name, an index (0 is well formed, and always a
 * conflict: the offer is step 0), a value within bounds.
 */
export function checkLinkStep(slot: string, index: number, value: string, now: number): void {
  checkLinkSlotName(slot);
  checkCount("index", index);
  _checkSized("value", value, LINK_STEP_MAX_BYTES);
  checkCount("now", now);
}

/**
 * The arguments of `putPrekeys()`: IDs, a bundle and one-time prekeys within bounds (at most
 * {@linkcode ONE_TIME_PREKEYS_PER_PUT}), a boolean, a time.
 */
export function checkPutPrekeys(
  userId: number,
  deviceId: number,
  bundle: string,
  oneTime: readonly string[],
  replace: boolean,
  now: number,
): void {
  checkId("userId", userId);
  checkId("deviceId", deviceId);
  _checkSized("bundle", bundle, PREKEY_BUNDLE_MAX_BYTES);
  if (!Array.isArray(oneTime)) throw new TypeError("oneTime must be an array of strings");
  if (oneTime.length > ONE_TIME_PREKEYS_PER_PUT) {
    throw new RangeError(
      `oneTime must hold at most ${ONE_TIME_PREKEYS_PER_PUT} prekeys, got ${oneTime.length}`,
    );
  }
  oneTime.forEach((k, i) => _checkSized(`oneTime[${i}]`, k, ONE_TIME_PREKEY_MAX_BYTES));
  if (typeof replace !== "boolean") throw new TypeError("replace must be true or false");
  checkCount("now", now);
}

/** Non-empty text both databases store exactly, of at most `max` UTF-8 bytes. */
function _checkSized(name: string, value: string, max: number): void {
  checkText(name, value);
  // Characters first: a string past `max` characters is past `max` bytes too.
  if (value.length > max || utf8Bytes(value) > max) {
    throw new RangeError(`${name} must be at most ${max} bytes of UTF-8, got ${utf8Bytes(value)}`);
  }
}

/** A server's address from servers.txt. */
export function checkServer(server: { id: number; host: string; port: number }): void {
  if (typeof server !== "object" || server === null) {
    throw new TypeError("Server must be an object with id, host and port");
  }
  checkId("server.id", server.id);
  checkText("server.host", server.host);
  if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65535) {
    throw new RangeError(`server.port must be an integer from 1 to 65535, got ${server.port}`);
  }
}

/** A load report. */
export function checkLoad(
  serverId: number,
  load: { clients: number; lagMs: number },
  at: number,
): void {
  checkId("serverId", serverId);
  if (typeof load !== "object" || load === null) {
    throw new TypeError("Load must be an object with clients and lagMs");
  }
  checkCount("load.clients", load.clients);
  checkCount("load.lagMs", load.lagMs);
  checkCount("at", at);
}

/** A batch for `saveMessages()`: every message is checked before anything is written. */
export function checkMessages(messages: readonly NewMessage[]): void {
  if (!Array.isArray(messages)) {
    throw new TypeError("saveMessages() expects an array of messages");
  }
  messages.forEach(_checkMessage);
}

function _checkMessage(m: NewMessage, i: number): void {
  const at = `messages[${i}]`;
  if (typeof m !== "object" || m === null) throw new TypeError(`${at} must be an object`);
  checkCount(`${at}.senderId`, m.senderId);
  if (m.clientMsgId !== null && (typeof m.clientMsgId !== "string" || m.clientMsgId === "")) {
    throw new TypeError(`${at}.clientMsgId must be a non-empty string or null`);
  }
  if (m.clientMsgId !== null) checkText(`${at}.clientMsgId`, m.clientMsgId);
  if (!_KINDS.has(m.kind)) {
    throw new TypeError(
      `${at}.kind must be one of ${MESSAGE_KINDS.join(", ")}, got ${String(m.kind)}`,
    );
  }
  if (m.groupId !== null) checkId(`${at}.groupId`, m.groupId);
  checkBody(`${at}.body`, m.body);
  if (!Array.isArray(m.recipients)) throw new TypeError(`${at}.recipients must be an array`);
  const seen = new Set<number>();
  for (let j = 0; j < m.recipients.length; j++) {
    const r = m.recipients[j]!;
    const rat = `${at}.recipients[${j}]`;
    if (typeof r !== "object" || r === null) throw new TypeError(`${rat} must be an object`);
    checkId(`${rat}.userId`, r.userId);
    if (r.body !== undefined) checkBody(`${rat}.body`, r.body);
    if (seen.has(r.userId)) {
      throw new TypeError(`${rat}.userId ${r.userId} is listed twice; list each recipient once`);
    }
    seen.add(r.userId);
  }
}

/** Pending bounds for `saveMessages()`, defaults filled in. */
export function checkBounds(bounds: PendingBounds | undefined): PendingBounds {
  if (bounds === undefined) return DEFAULT_PENDING_BOUNDS;
  if (typeof bounds !== "object" || bounds === null) {
    throw new TypeError("bounds must be an object with messages and bytes");
  }
  _checkPositive("bounds.messages", bounds.messages);
  _checkPositive("bounds.bytes", bounds.bytes);
  return bounds;
}

/** Options for `settle()`, defaults filled in. */
export function checkSettleOptions(opts: SettleOptions | undefined): Required<SettleOptions> {
  if (opts !== undefined && (typeof opts !== "object" || opts === null)) {
    throw new TypeError("settle() options must be an object with now and idempotencyMs");
  }
  const now = opts?.now ?? Date.now();
  const idempotencyMs = opts?.idempotencyMs ?? DEFAULT_IDEMPOTENCY_MS;
  checkCount("now", now);
  checkCount("idempotencyMs", idempotencyMs);
  return { now, idempotencyMs };
}

/** Longest rate-limit key, in characters. */
const _MAX_KEY_CHARS = 512;
/** Largest burst of a rate limit. */
const _MAX_BURST = 1_000_000;
/** Longest interval of a rate limit: one day. */
const _MAX_INTERVAL_MS = 86_400_000;

/** Rate limits for `takeAttempt()` / `refundAttempt()`: each key once, numbers in range. */
export function checkRateLimits(limits: readonly RateLimit[]): void {
  if (!Array.isArray(limits)) throw new TypeError("limits must be an array of rate limits");
  const seen = new Set<string>();
  limits.forEach((l, i) => {
    const at = `limits[${i}]`;
    if (typeof l !== "object" || l === null) {
      throw new TypeError(`${at} must be an object with key, burst and intervalMs`);
    }
    checkText(`${at}.key`, l.key);
    if (l.key.length > _MAX_KEY_CHARS) {
      throw new RangeError(`${at}.key must be at most ${_MAX_KEY_CHARS} characters`);
    }
    if (seen.has(l.key)) {
      throw new TypeError(`${at}.key "${l.key}" is listed twice; list each key once`);
    }
    seen.add(l.key);
    _checkPositive(`${at}.burst`, l.burst, _MAX_BURST);
    _checkPositive(`${at}.intervalMs`, l.intervalMs, _MAX_INTERVAL_MS);
  });
}

function _checkPositive(name: string, value: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  }
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${value}`);
  }
}

/** The arguments of `setContacts()`: distinct users other than the owner, known states. */
export function checkContacts(
  ownerId: number,
  changes: readonly ContactChange[],
  max: number,
): void {
  checkId("ownerId", ownerId);
  if (!Array.isArray(changes)) throw new TypeError("changes must be an array");
  const seen = new Set<number>();
  changes.forEach((c, i) => {
    if (typeof c !== "object" || c === null) throw new TypeError(`changes[${i}] must be an object`);
    checkId(`changes[${i}].userId`, c.userId);
    checkContactState(`changes[${i}].state`, c.state, true);
    if (c.userId === ownerId) {
      throw new RangeError(`changes[${i}].userId is the owner ${ownerId}; name other users`);
    }
    if (seen.has(c.userId)) throw new RangeError(`changes names user ${c.userId} twice`);
    seen.add(c.userId);
  });
  checkCount("max", max);
}

/** A stored relation ("contact" or "blocked"), or also "none" when `none` is allowed. */
export function checkContactState(
  name: string,
  state: string,
  none = false,
): asserts state is ContactRelation {
  if (state === "contact" || state === "blocked" || (none && state === "none")) return;
  throw new RangeError(
    `${name} must be "contact", "blocked"${none ? ' or "none"' : ""}, got ${String(state)}`,
  );
}

/** Sorted, de-duplicated IDs (for acks and member lists). */
export function uniqueSorted(ids: readonly number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}
