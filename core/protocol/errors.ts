/**
 * Protocol error codes and WebSocket close codes: stable strings and numbers that clients
 * branch on. Messages are for people; codes are for programs.
 *
 * @module
 */

/** Error codes carried by `error` frames. */
export const ERROR_CODES = {
  /** The frame was not JSON. */
  badJson: "bad_json",
  /** A field was missing, of the wrong type, or out of bounds. */
  badFrame: "bad_frame",
  /** The frame's `type` is not one this endpoint accepts. */
  unknownType: "unknown_type",
  /** The frame exceeded a size limit. */
  tooLarge: "too_large",
  /** The frame needs a logged-in session. */
  notAuthenticated: "not_authenticated",
  /** Register, login or resume on a connection that is already logged in. */
  alreadyAuthenticated: "already_authenticated",
  /** Wrong username, ID, password or session token (never says which). */
  authFailed: "auth_failed",
  /**
   * Too many attempts (logins, resumes, registrations from one address; messages from one
   * sender); retry after the frame's `retry_after_ms`.
   */
  rateLimited: "rate_limited",
  /**
   * The server is overloaded (its store queue, event loop or the sender's outbound buffer is
   * past its bound); nothing was stored. Retry the same frame (same `client_msg_id`) after
   * the frame's `retry_after_ms`, with jitter.
   */
  busy: "busy",
  /**
   * The recipient has too many undelivered messages (or bytes of them) waiting; nothing was
   * stored. Retry after they come online and acknowledge some.
   */
  recipientFull: "recipient_full",
  /** Registration with a username that exists. */
  usernameTaken: "username_taken",
  /** No such user or group. */
  notFound: "not_found",
  /** The action needs membership of the group. */
  notMember: "not_member",
  /** The action needs the group's admin. */
  notAdmin: "not_admin",
  /** The action is not allowed (e.g. the admin leaving, adding an existing member). */
  forbidden: "forbidden",
  /**
   * A `contacts` frame would give the user more than `LIMITS.contactsMax` contacts and
   * blocked users together; nothing of it was applied.
   */
  contactsFull: "contacts_full",
  /**
   * The write lost a race: a device list that does not extend the newest stored one, or a
   * link step already written. Read the current state and try again on it.
   */
  conflict: "conflict",
  /**
   * A device list was refused: badly signed, not the next version, or breaking a rule of
   * docs/CRYPTO.md (a removed device back, more than `LIMITS.devices` devices).
   */
  badDeviceList: "bad_device_list",
  /**
   * The account uses linked devices: a password alone does not log in; log in with a
   * device's key (`login_device`), or link this device from one of the account's devices.
   */
  deviceRequired: "device_required",
  /** Peer authentication failed. */
  badPeerAuth: "bad_peer_auth",
  /** The server failed; the request may be retried. */
  internal: "internal",
} as const;

/** One of {@linkcode ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** WebSocket close codes used by FastChat (RFC 6455 section 7.4). */
export const CLOSE_CODES = {
  normal: 1000,
  /**
   * The server is shutting down; reconnect through the balancer. (RFC 6455's 1001 would say
   * this, but the WebSocket API refuses to send codes outside 1000 and 3000-4999.)
   */
  goingAway: 4002,
  /** Repeated invalid frames. */
  policyViolation: 1008,
  /** A frame over {@linkcode LIMITS.frameBytes}. */
  tooLarge: 1009,
  /**
   * Reserved: the session was replaced by a newer login of the same user. Not sent any more
   * (a user may keep several connections); kept so the number is never reused.
   */
  replaced: 4000,
  /**
   * The connection's session ended: it was logged out (on any connection, on any server) or
   * expired. The client must not reconnect with it; it logs in again or stops.
   */
  sessionEnded: 4003,
  /** Peer authentication failed. */
  peerAuthFailed: 4001,
} as const;

/**
 * The reasons servers give with their close codes, word for word as docs/PROTOCOL.md quotes
 * them (a test holds the two together). Reasons are for people; clients branch on the code.
 */
export const CLOSE_REASONS = {
  /** 1000 after `logout`. */
  loggedOut: "Logged out",
  /** 4002 on client connections and mesh links. */
  shuttingDown: "Server shutting down",
  /** 1008 after `LIMITS.invalidFrames` invalid frames in a row. */
  tooManyInvalid: "Too many invalid frames",
  /** 4003: the session was logged out (on any connection, on any server) or expired. */
  sessionEnded: "Session ended (logged out or expired); log in again",
} as const;

/** The 1008 reason when a connection did not log in within `ms` milliseconds. */
export function loginDeadlineReason(ms: number): string {
  return `Log in within ${ms / 1000} s of connecting`;
}

/**
 * A protocol-level failure: becomes an `error` frame with `code`, echoing `ref` when known,
 * and with `retry_after_ms` when `retryAfterMs` is set (`rate_limited`, `busy`).
 */
export class ProtocolError extends Error {
  /** Stable machine-readable code, sent as the `error` frame's `code`. */
  readonly code: ErrorCode;
  /** The failed request's `ref`, when it could be read; echoed in the `error` frame. */
  readonly ref: number | undefined;
  /** Milliseconds the client should wait before trying again, if the server says. */
  readonly retryAfterMs: number | undefined;
  /** Creates the error; `ref` and `retryAfterMs` go into the `error` frame when given. */
  constructor(code: ErrorCode, message: string, ref?: number, retryAfterMs?: number) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
    this.ref = ref;
    this.retryAfterMs = retryAfterMs;
  }
}
