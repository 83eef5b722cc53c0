/**
 * Admission control: whether a server takes a new message now, or answers it with a
 * retryable `busy` and a `retry_after_ms`. An overloaded server that queues whatever arrives
 * makes every accepted message wait longer (seconds, past the redelivery threshold) and
 * lets the connections that happen to be read first take the capacity. Bounding the work
 * in flight instead keeps the latency of what is accepted bounded, and the excess waits on
 * the client, which holds it durably anyway.
 *
 * Three signals, each with a bound (see {@linkcode AdmissionLimits}):
 * - the store queue's delay: how long the oldest message waiting for its group commit has
 *   waited (its sojourn time, as CoDel measures a queue; RFC 8289), so the bound adapts to
 *   however fast the store is on this machine and backend;
 * - the event loop's lag: a server too busy to read its sockets in time;
 * - the sender's own outbound buffer: a client that does not read its answers and receipts
 *   may not add to them.
 *
 * Fairness: past half the delay bound, a session that already has more messages waiting
 * than the average of the sessions with any waiting is refused, so a heavy sender is
 * slowed before a light one; past the bound every sender is.
 *
 * Pure: the signals come in as numbers; the chat server reads them.
 *
 * @module
 */

/** The bounds past which new messages are refused with `busy`. */
export interface AdmissionLimits {
  /** Longest the store queue's oldest message may have waited, milliseconds. */
  readonly queueDelayMs: number;
  /** Most messages waiting for or in a commit (a bound on memory whatever the delay). */
  readonly queuedMessages: number;
  /** Event-loop lag past which new messages are refused, milliseconds. */
  readonly lagMs: number;
  /** Bytes queued for the sender's own connection past which its messages are refused. */
  readonly outboundBytes: number;
}

/** The defaults: a commit delay of 1 s, 4,096 messages, 300 ms of lag, 4 MiB. */
export const DEFAULT_ADMISSION: AdmissionLimits = {
  queueDelayMs: 1000,
  queuedMessages: 4_096,
  lagMs: 300,
  outboundBytes: 4 * 1024 * 1024,
};

/** Shortest and longest `retry_after_ms` a `busy` answer asks for. */
export const BUSY_RETRY_MIN_MS = 50;
export const BUSY_RETRY_MAX_MS = 30_000;

/** The server's state when a message arrives. */
export interface AdmissionState {
  /** How long the store queue's oldest message has waited, milliseconds. */
  readonly queueDelayMs: number;
  /** Messages waiting for or in a commit, server-wide. */
  readonly queued: number;
  /** Sessions with at least one message waiting for or in a commit. */
  readonly activeSenders: number;
  /** The event loop's lag, milliseconds. */
  readonly lagMs: number;
}

/** The sender's part in it. */
export interface SenderState {
  /** This session's messages waiting for or in a commit. */
  readonly queued: number;
  /** Bytes queued for this session's connection, not yet written. */
  readonly outboundBytes: number;
}

/** Why a message was refused, for metrics and logs. */
export type BusyReason = "queue" | "fair_share" | "lag" | "outbound";

/** A refusal: the reason, and how long the client should wait. */
export interface BusyVerdict {
  readonly reason: BusyReason;
  readonly retryAfterMs: number;
}

/**
 * Whether a message from a sender in `sender` state may enter a server in `server` state:
 * null to admit it, else why not and how long to wait. The wait is what the queue or the
 * lag suggests will clear it, within [{@linkcode BUSY_RETRY_MIN_MS},
 * {@linkcode BUSY_RETRY_MAX_MS}]; clients add jitter of their own.
 */
export function admit(
  limits: AdmissionLimits,
  server: AdmissionState,
  sender: SenderState,
): BusyVerdict | null {
  if (server.lagMs > limits.lagMs) return _busy("lag", server.lagMs);
  if (sender.outboundBytes > limits.outboundBytes) return _busy("outbound", BUSY_RETRY_MIN_MS * 2);
  const full = server.queued >= limits.queuedMessages;
  if (full || server.queueDelayMs > limits.queueDelayMs) {
    return _busy("queue", Math.max(server.queueDelayMs, limits.queueDelayMs));
  }
  if (server.queueDelayMs > limits.queueDelayMs / 2 && sender.queued > 0) {
    // Everyone with messages waiting has at least one; a session above the average holds
    // more than its share of the queue.
    const share = server.queued / Math.max(1, server.activeSenders);
    if (sender.queued >= share) return _busy("fair_share", limits.queueDelayMs);
  }
  return null;
}

/** RangeError unless every limit is a positive finite number. */
export function checkAdmissionLimits(limits: AdmissionLimits): AdmissionLimits {
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`Admission limit ${name} must be a positive number, got ${value}`);
    }
  }
  return limits;
}

function _busy(reason: BusyReason, waitMs: number): BusyVerdict {
  const retryAfterMs = Math.round(
    Math.min(BUSY_RETRY_MAX_MS, Math.max(BUSY_RETRY_MIN_MS, waitMs)),
  );
  return { reason, retryAfterMs };
}
