/**
 * Link slots (docs/CRYPTO.md "Linking a device"; docs/PROTOCOL.md "Devices"): where a new
 * device and a logged-in device of the same person meet to run the link exchange. A slot is
 * named by the link code's first 4 characters and holds an ordered list of opaque steps,
 * kept in the main database so the two devices may be connected to different servers:
 *
 * | step | written by | what |
 * |---|---|---|
 * | 0 | anyone (`link_open`) | the new device's offer |
 * | 1 | a logged-in user | the old device's answer |
 * | 2 | anyone | the new device's confirmation |
 * | 3 on | the user who wrote step 1 | the sealed hand-over, in parts |
 *
 * The server never sees the code's password, so it cannot take part; it only keeps order
 * (each step is written once, by whoever comes first) and who answered (so a stranger cannot
 * slip parts into someone's hand-over). Steps from 1 on are stored with the writer's user ID
 * in front and served without it. A slot lives `LIMITS.linkTtlMs`.
 *
 * The new device is not logged in while it waits: each `link_open` or `link_read` of a live
 * slot gives its connection another login period, so it may wait for the person to type
 * the code as long as the slot lives. Opening, cancelling and reading a slot that does not
 * exist take from the address's link limit, which bounds guessing slot names.
 *
 * @module
 */

import { ERROR_CODES, LIMITS, ProtocolError } from "../protocol/mod.ts";
import { type RateLimit, StoreError } from "../store/store.ts";
import type { ClientSession } from "./client_session.ts";
import type { ServerContext } from "./context.ts";
import { formatWait, linkLimits } from "./quotas.ts";

/** The step written by the old device, whose writer owns the hand-over. */
const _ANSWER_STEP = 1;
/** The new device's confirmation, the last step anyone may write. */
const _CONFIRM_STEP = 2;

/** What {@linkcode LinkSlots} needs besides the server context. */
export interface LinkSlotsOptions {
  /** The connection waits on a live slot: give it another login period. */
  readonly waiting: (session: ClientSession) => void;
}

/** Link slots; see the module documentation. */
export class LinkSlots {
  readonly #ctx: ServerContext;
  readonly #opts: LinkSlotsOptions;

  constructor(ctx: ServerContext, opts: LinkSlotsOptions) {
    this.#ctx = ctx;
    this.#opts = opts;
  }

  /** Answers `link_open`: a new slot holding the offer. */
  async open(session: ClientSession, ref: number, slot: string, offer: string): Promise<void> {
    await this.#take(session, ref);
    const now = this.#ctx.now();
    try {
      await this.#ctx.store.openLinkSlot(slot, offer, now, now + LIMITS.linkTtlMs);
    } catch (err) {
      if (err instanceof StoreError && err.code === "conflict") {
        throw new ProtocolError(
          ERROR_CODES.conflict,
          `Link slot ${slot} is in use; make a new link code`,
          ref,
        );
      }
      throw err;
    }
    if (session.userId === 0) this.#opts.waiting(session);
    session.send({ type: "ok", ref });
  }

  /** Answers `link_read`: the slot's steps from `from` on, as many as fit in one frame. */
  async read(session: ClientSession, ref: number, slot: string, from: number): Promise<void> {
    const found = await this.#ctx.store.linkSlot(slot, this.#ctx.now());
    if (found === null) {
      await this.#take(session, ref);
      throw _gone(slot, ref);
    }
    const steps: string[] = [];
    let chars = 0;
    for (let i = from; i < found.steps.length; i++) {
      const value = i === 0 ? found.steps[0]! : _unwrap(found.steps[i]!).value;
      if (steps.length > 0 && chars + value.length > LIMITS.linkStepsPerFrameChars) break;
      steps.push(value);
      chars += value.length;
    }
    if (session.userId === 0) this.#opts.waiting(session);
    session.send({
      type: "link_steps",
      ref,
      slot,
      from,
      steps,
      total: found.steps.length,
      expires_at: found.expiresAt,
    });
  }

  /** Answers `link_write`: the slot's next step, if this connection may write it. */
  async write(
    session: ClientSession,
    ref: number,
    slot: string,
    step: number,
    value: string,
  ): Promise<void> {
    const { store } = this.#ctx;
    const now = this.#ctx.now();
    if (step === _ANSWER_STEP && session.userId === 0) {
      throw new ProtocolError(
        ERROR_CODES.notAuthenticated,
        "Log in on the device that links the new one before answering its code",
        ref,
      );
    }
    if (step > _CONFIRM_STEP) {
      const found = await store.linkSlot(slot, now);
      if (found === null) throw _gone(slot, ref);
      const answer = found.steps[_ANSWER_STEP];
      if (answer === undefined || _unwrap(answer).by !== session.userId) {
        throw new ProtocolError(
          ERROR_CODES.forbidden,
          "Only the device that answered this link code may send it the hand-over",
          ref,
        );
      }
    }
    try {
      await store.appendLinkStep(slot, step, _wrap(session.userId, value), now);
    } catch (err) {
      if (err instanceof StoreError && err.code === "not_found") throw _gone(slot, ref);
      if (err instanceof StoreError && err.code === "conflict") {
        throw new ProtocolError(
          ERROR_CODES.conflict,
          `Step ${step} of link slot ${slot} cannot be written now: it is written already, ` +
            "or the steps before it are not; read the slot and go on from what it holds",
          ref,
        );
      }
      throw err;
    }
    session.send({ type: "ok", ref });
  }

  /** Answers `link_cancel`: the slot is gone (a wrong code burns it). */
  async cancel(session: ClientSession, ref: number, slot: string): Promise<void> {
    await this.#take(session, ref);
    await this.#ctx.store.deleteLinkSlot(slot);
    session.send({ type: "ok", ref });
  }

  /** Takes one from the address's link limit, or throws `rate_limited`. */
  async #take(session: ClientSession, ref: number): Promise<void> {
    const limits: RateLimit[] = linkLimits(this.#ctx.quotas, session.addr);
    if (limits.length === 0) return;
    const wait = await this.#ctx.store.takeAttempt(limits, this.#ctx.now());
    if (wait === 0) return;
    this.#ctx.metrics.rateLimited++;
    throw new ProtocolError(
      ERROR_CODES.rateLimited,
      `Too many link codes tried from your address; try again in ${formatWait(wait)}`,
      ref,
      Math.min(wait, LIMITS.retryAfterMaxMs),
    );
  }
}

function _gone(slot: string, ref: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.notFound,
    `No link is waiting under code ${slot}-…: it expired, was used or cancelled, or the code ` +
      "is mistyped; make a new code on the new device",
    ref,
  );
}

/** A stored step: the writer's user ID (0 when not logged in), a colon, the value. */
function _wrap(by: number, value: string): string {
  return `${by}:${value}`;
}

function _unwrap(stored: string): { by: number; value: string } {
  const colon = stored.indexOf(":");
  return { by: Number(stored.slice(0, colon)), value: stored.slice(colon + 1) };
}
