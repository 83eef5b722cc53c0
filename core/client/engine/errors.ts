/**
 * The client's errors, as types with codes: callers decide by `instanceof`, `code` and
 * `retryable`, never by a message's words (messages are for people and may change).
 *
 * - {@linkcode RequestError}: the server answered a request with an `error` frame.
 * - {@linkcode ConnectionClosedError}: no connection (closed, or none right now).
 * - {@linkcode RequestTimeoutError}: the server did not answer in time.
 * - {@linkcode ClientError}: the engine refused a command (no such group, keys changed...).
 *
 * @module
 */

import { ERROR_CODES, type ErrorCode } from "../../protocol/mod.ts";
import { E2eError } from "../../e2e/e2e_errors.ts";
import { KeystoreError } from "../../keystore/keystore_types.ts";

const _KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ERROR_CODES));

/** Codes worth retrying later: the server failed or asked us to slow down. */
const _RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set([
  ERROR_CODES.internal,
  ERROR_CODES.rateLimited,
  ERROR_CODES.busy,
]);

/**
 * A protocol error code from the wire; a code this client does not know (a newer server)
 * counts as `internal`, so it is handled like any server failure.
 */
export function toErrorCode(wire: string): ErrorCode {
  return _KNOWN_CODES.has(wire) ? wire as ErrorCode : ERROR_CODES.internal;
}

/** A request the server answered with an `error` frame. */
export class RequestError extends Error {
  /** The `error` frame's code (an unknown one counts as `internal`). */
  readonly code: ErrorCode;
  /** Milliseconds the server asks us to wait before trying again, if it says. */
  readonly retryAfterMs: number | undefined;
  /** Creates the error from an `error` frame's code, message and `retry_after_ms`. */
  constructor(code: ErrorCode, message: string, retryAfterMs?: number) {
    super(message);
    this.name = "RequestError";
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }

  /** True when the same request may succeed later (`internal`, `rate_limited`, `busy`). */
  get retryable(): boolean {
    return _RETRYABLE_CODES.has(this.code);
  }
}

/** The connection closed before the request was answered, or there is none right now. */
export class ConnectionClosedError extends Error {
  /** Stable machine-readable code. */
  readonly code = "connection_closed";
  /** Always true: the request may succeed once connected again. */
  readonly retryable = true;
  /** The WebSocket close code, when the connection closed with one. */
  readonly closeCode: number | undefined;
  /** Creates the error, with the WebSocket close code when there is one. */
  constructor(message: string, closeCode?: number) {
    super(message);
    this.name = "ConnectionClosedError";
    this.closeCode = closeCode;
  }
}

/** The server did not answer a request in time (it may still act on it). */
export class RequestTimeoutError extends Error {
  /** Stable machine-readable code. */
  readonly code = "request_timeout";
  /** Always true: the request may succeed if tried again. */
  readonly retryable = true;
  /** The request's frame type. */
  readonly requestType: string;
  /** How long the client waited, in milliseconds. */
  readonly timeoutMs: number;
  /** Creates the error for a request of type `requestType` unanswered after `timeoutMs`. */
  constructor(requestType: string, timeoutMs: number) {
    super(`No answer to ${requestType} within ${timeoutMs} ms`);
    this.name = "RequestTimeoutError";
    this.requestType = requestType;
    this.timeoutMs = timeoutMs;
  }
}

/** Codes of {@linkcode ClientError}. */
export const CLIENT_ERRORS = {
  /** No friend, group or user by that name or ID. */
  notFound: "not_found",
  /** The name is ambiguous (several groups share it); use the ID. */
  ambiguous: "ambiguous",
  /** The user named is the user running the client. */
  isSelf: "is_self",
  /** A friend's keys changed and are not accepted yet: nothing is encrypted to them. */
  keysChanged: "keys_changed",
  /** The friend's keys have not changed: nothing to accept. */
  keysUnchanged: "keys_unchanged",
  /** No shared key with the friend, or no key for the group, yet. */
  noKey: "no_key",
  /** A file to send cannot be read. */
  cannotRead: "cannot_read",
  /** A file to send is larger than a file may be. */
  tooLarge: "too_large",
  /** An incoming message breaks a rule (a key from a non-admin, an unknown type...). */
  badMessage: "bad_message",
  /** The user blocked that user: nothing goes to or comes from them until `unblock`. */
  blocked: "blocked",
  /** The user is no longer in that group, or has not accepted it yet. */
  notMember: "not_member",
  /** The command names this very device where another one is meant (`unlink`). */
  isThisDevice: "is_this_device",
  /** The account has devices and this keystore is not one of them: link it first. */
  notADevice: "not_a_device",
} as const;

/** One of {@linkcode CLIENT_ERRORS}. */
export type ClientErrorCode = (typeof CLIENT_ERRORS)[keyof typeof CLIENT_ERRORS];

/** A command or an incoming message the engine refuses; never worth retrying as is. */
export class ClientError extends Error {
  /** What the engine refused, one of {@linkcode CLIENT_ERRORS}. */
  readonly code: ClientErrorCode;
  /** Always false: the same command or message would be refused again. */
  readonly retryable = false;
  /** Creates the error with its code and a message for people. */
  constructor(code: ClientErrorCode, message: string) {
    super(message);
    this.name = "ClientError";
    this.code = code;
  }
}

/**
 * True for failures of the connection or the server rather than of the request itself:
 * the same request may succeed after a reconnect, so a message stays queued.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof RequestError) return err.retryable;
  return err instanceof ConnectionClosedError || err instanceof RequestTimeoutError;
}

/**
 * The code to show with an error event, for the client's typed errors (and the keystore's
 * and end-to-end layer's); undefined for anything else.
 */
export function errorCode(err: unknown): string | undefined {
  const typed = err instanceof RequestError || err instanceof ConnectionClosedError ||
    err instanceof RequestTimeoutError || err instanceof ClientError ||
    err instanceof E2eError || err instanceof KeystoreError;
  return typed ? err.code : undefined;
}
