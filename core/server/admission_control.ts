/**
 * Admission control with appointments: what a server does with each message while it is
 * overloaded. {@linkcode admit} says whether the server is past a bound; this adds when a
 * refused sender should come back, so that refusals form a queue rather than a lottery.
 *
 * A fixed `retry_after_ms` makes an overloaded server refuse the same messages over and
 * over (clients that hold more than fits come back before there is room, and every refusal
 * costs a frame each way), and which message gets in is luck: a sender refused three times
 * waits three times as long as one refused once, so under load some starve while others
 * flow. Instead each refusal is an appointment: the next free slot, the slots spaced by how
 * fast the store has been committing (a virtual queue in arrival order, kept as one time).
 * A message sent again at or after its slot (same sender, same `client_msg_id`) is admitted
 * ahead of new ones, within the hard bounds (messages queued, lag, unread output); a new message is
 * refused while appointments are outstanding, unless the store's queue is nearly empty (a
 * sender that never came back must not leave the server idle). So the excess waits on the
 * clients in the order it arrived, comes back about as fast as the store takes it, and is
 * refused about once. An appointment not kept within its wait again plus 5 s after its slot
 * is forgotten.
 *
 * @module
 */

import {
  type AdmissionLimits,
  type AdmissionState,
  admit,
  BUSY_RETRY_MAX_MS,
  BUSY_RETRY_MIN_MS,
  type BusyVerdict,
  type SenderState,
} from "./admission.ts";

/** Appointments remembered at most (the oldest are forgotten; those senders queue again). */
const _MAX_APPOINTMENTS = 100_000;
/** How long past its slot (and as long again as its wait) an appointment is kept, milliseconds. */
const _GRACE_MS = 5_000;
/** How early a sender may come back and still count as on time, milliseconds. */
const _EARLY_MS = 20;
/** Commit rate periods: the rate is measured over this long, milliseconds. */
const _RATE_PERIOD_MS = 250;
/** Weight of the newest period in the commit rate (an exponential moving average). */
const _RATE_WEIGHT = 0.3;
/** The commit rate assumed before any was measured, messages per millisecond (1,000/s). */
const _INITIAL_RATE = 1;

/** Admission control for one server; see the module documentation. */
export class AdmissionControl {
  readonly #limits: AdmissionLimits;
  readonly #now: () => number;
  /**
   * Each refused message's slot and when it is forgotten if not kept, by
   * `${sender}:${client_msg_id}`, oldest first.
   */
  readonly #appointments = new Map<string, { slot: number; until: number }>();
  /** The first free slot (the clock's time). */
  #nextSlot = 0;
  /** Messages committed per millisecond, smoothed, and this period's count. */
  #rate = _INITIAL_RATE;
  #periodStart: number;
  #periodCommitted = 0;

  /** Admission control with `limits`, on the clock `now` (milliseconds). */
  constructor(limits: AdmissionLimits, now: () => number) {
    this.#limits = limits;
    this.#now = now;
    this.#periodStart = now();
  }

  /** Appointments outstanding (tests, metrics). */
  get appointments(): number {
    return this.#appointments.size;
  }

  /** The commit rate it spaces slots by, messages per second. */
  get commitRatePerS(): number {
    return this.#rate * 1000;
  }

  /** `n` messages were committed (the store's group commit answered them). */
  committed(n: number): void {
    this.#roll();
    this.#periodCommitted += n;
  }

  /**
   * Whether a message may enter now: null to admit it, else why not and how long to wait.
   * `key` identifies the message across attempts (sender and `client_msg_id`); null for a
   * frame without one (a group change), which gets the wait but no appointment.
   */
  check(server: AdmissionState, sender: SenderState, key: string | null): BusyVerdict | null {
    this.#roll();
    const now = this.#now();
    const slot = key === null ? undefined : this.#appointments.get(key)?.slot;
    if (slot !== undefined && now >= slot - _EARLY_MS) {
      this.#appointments.delete(key!);
      // On time: admitted whatever the queue's delay (the slots were spaced at the rate the
      // store commits, so the holders do not pile up), within the hard bounds.
      const room = server.queued < this.#limits.queuedMessages &&
        server.lagMs <= this.#limits.lagMs && sender.outboundBytes <= this.#limits.outboundBytes;
      if (room) return null;
      return this.#appoint(key, now, "queue");
    }
    const verdict = admit(this.#limits, server, sender);
    if (verdict !== null) {
      if (verdict.reason === "lag" || verdict.reason === "outbound") return verdict;
      return this.#appoint(key, now, verdict.reason);
    }
    if (slot !== undefined) {
      // Came back early: keep its place, tell it again how long.
      return { reason: "queue", retryAfterMs: _clamp(slot - now) };
    }
    // Others are waiting for their slots: a new message queues behind them, unless the
    // store has room to spare (some of them may never come back).
    const spare = server.queueDelayMs <= this.#limits.queueDelayMs / 4;
    if (this.#appointments.size > 0 && !spare) return this.#appoint(key, now, "queue");
    return null;
  }

  /** Gives `key` the next free slot and answers with the wait until it. */
  #appoint(key: string | null, now: number, reason: BusyVerdict["reason"]): BusyVerdict {
    const slot = Math.max(now + BUSY_RETRY_MIN_MS, this.#nextSlot);
    const wait = _clamp(slot - now);
    if (key === null) return { reason, retryAfterMs: wait };
    // Slots past the longest wait are not handed out: such a sender queues again then.
    this.#nextSlot = Math.min(slot, now + BUSY_RETRY_MAX_MS) + 1 / this.#rate;
    this.#appointments.delete(key);
    // Kept for a while after the slot: clients add jitter, a share of the wait.
    this.#appointments.set(key, { slot: now + wait, until: now + 2 * wait + _GRACE_MS });
    if (this.#appointments.size > _MAX_APPOINTMENTS) {
      const oldest = this.#appointments.keys().next().value;
      if (oldest !== undefined) this.#appointments.delete(oldest);
    }
    return { reason, retryAfterMs: wait };
  }

  /** Ends the rate period if it is over, and forgets appointments long past. */
  #roll(): void {
    const now = this.#now();
    const elapsed = now - this.#periodStart;
    if (elapsed < _RATE_PERIOD_MS) return;
    // Periods without a commit count too (commits come in bursts, one per group commit),
    // except while nothing waits: an idle store says nothing about its speed.
    if (this.#periodCommitted > 0 || this.#appointments.size > 0) {
      const rate = this.#periodCommitted / elapsed;
      this.#rate = Math.max(0.01, this.#rate * (1 - _RATE_WEIGHT) + rate * _RATE_WEIGHT);
    }
    this.#periodStart = now;
    this.#periodCommitted = 0;
    // A sender that did not come back long after its slot is gone.
    for (const [key, a] of this.#appointments) {
      if (a.until > now) break;
      this.#appointments.delete(key);
    }
  }
}

function _clamp(ms: number): number {
  return Math.round(Math.min(BUSY_RETRY_MAX_MS, Math.max(BUSY_RETRY_MIN_MS, ms)));
}
