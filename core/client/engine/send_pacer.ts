/**
 * Sending at the pace a server takes. Frames that store a message (texts, keys, group
 * changes) go out one at a time, in the order the user made them, each only when the
 * client's own copy of the documented send rate has room (`LIMITS.sendBurst` at once, one
 * every `LIMITS.sendIntervalMs`), so a burst typed or pasted never meets the server's limit.
 * One the server still refuses for now (`busy`: it is overloaded; `rate_limited`: the
 * user's other connections used the rate) is sent again, the same frame with the same
 * `client_msg_id`, after the `retry_after_ms` the server asked for plus jitter, before
 * anything queued behind it: nothing is lost in silence and nothing overtakes. A refusal
 * for good (`recipient_full`, `forbidden`...) or a closed connection ends the attempt with
 * its error, for the caller to mark failed or keep queued.
 *
 * @module
 */

import { type Clock, SYSTEM_CLOCK } from "../../async/clock.ts";
import { ERROR_CODES, LIMITS } from "../../protocol/mod.ts";
import { type BucketShape, bucketTake, bucketWait } from "../../store/token_bucket.ts";
import { delay } from "../transport/delay.ts";
import { RequestError } from "./errors.ts";

/** The clock, sleep and randomness the pacer uses (fakes in tests). */
export interface PacerPorts {
  /** Milliseconds, monotonic enough for pacing. */
  now(): number;
  /** Resolves after `ms`. */
  sleep(ms: number): Promise<void>;
  /** A number in [0, 1). */
  random(): number;
}

/** The real clock, `setTimeout` and `Math.random`. */
export const REAL_PACER_PORTS: PacerPorts = {
  now: () => performance.now(),
  sleep: (ms) => delay(ms),
  random: Math.random,
};

/** Pacer ports on `clock`, with `Math.random`. */
export function pacerPortsOn(clock: Clock): PacerPorts {
  if (clock === SYSTEM_CLOCK) return REAL_PACER_PORTS;
  return {
    now: () => clock.now(),
    sleep: (ms) => delay(ms, undefined, clock),
    random: Math.random,
  };
}

/** The send rate a default server applies to one user. */
export const DEFAULT_SEND_RATE: BucketShape = {
  burst: LIMITS.sendBurst,
  intervalMs: LIMITS.sendIntervalMs,
};

/**
 * Share of a server's `retry_after_ms` added at random, so refused clients spread out. Small:
 * a server's waits are already appointments spread over time (PROTOCOL.md, "Accepting"),
 * and coming back late leaves it idle.
 */
const _JITTER = 0.1;

/** Paces and retries one client's storing requests; see the module documentation. */
export class SendPacer {
  readonly #shape: BucketShape;
  readonly #ports: PacerPorts;
  /** The bucket's theoretical arrival time (`token_bucket.ts`). */
  #tat = 0;
  /** The previous request's end: each waits for the one before. */
  #tail: Promise<unknown> = Promise.resolve();
  #queued = 0;

  /** A pacer with the send rate `shape` (default: the protocol's default rate). */
  constructor(shape: BucketShape = DEFAULT_SEND_RATE, ports: PacerPorts = REAL_PACER_PORTS) {
    this.#shape = shape;
    this.#ports = ports;
  }

  /** Requests waiting for their turn or being sent. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * Runs `send` once every request given before it has finished and the rate has room,
   * and runs it again after each `busy` or `rate_limited` refusal (waiting what the server
   * asked, plus jitter) while `alive()` holds. Resolves with its answer, or rejects with the
   * first other error (or the last refusal once `alive()` is false).
   */
  run<T>(send: () => Promise<T>, alive: () => boolean): Promise<T> {
    this.#queued++;
    const result = this.#tail.then(() => this.#attempt(send, alive));
    this.#tail = result.catch(() => {}).finally(() => this.#queued--);
    return result;
  }

  async #attempt<T>(send: () => Promise<T>, alive: () => boolean): Promise<T> {
    for (;;) {
      await this.#take();
      try {
        return await send();
      } catch (err) {
        const wait = _retryAfter(err);
        if (wait === null || !alive()) throw err;
        await this.#ports.sleep(wait * (1 + this.#ports.random() * _JITTER));
        if (!alive()) throw err;
      }
    }
  }

  /** Waits until the bucket has room, then takes one. */
  async #take(): Promise<void> {
    for (;;) {
      const now = this.#ports.now();
      const wait = bucketWait(this.#tat, now, this.#shape);
      if (wait === 0) {
        this.#tat = bucketTake(this.#tat, now, this.#shape);
        return;
      }
      await this.#ports.sleep(wait);
    }
  }
}

/** The wait a `busy` or `rate_limited` refusal asks for; null for any other error. */
function _retryAfter(err: unknown): number | null {
  if (!(err instanceof RequestError)) return null;
  if (err.code !== ERROR_CODES.busy && err.code !== ERROR_CODES.rateLimited) return null;
  return err.retryAfterMs ?? LIMITS.sendIntervalMs;
}
