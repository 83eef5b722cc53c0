/**
 * Linking a device through the servers' link slots (docs/CRYPTO.md "Linking a device";
 * docs/PROTOCOL.md "Devices"): both sides of the exchange of `core/e2e/link_seal.ts`, run over
 * a connection.
 *
 * | step | written by | what |
 * |---|---|---|
 * | 0 | new device (`link_open`) | its offer: CPace `Ya`, its name and public keys |
 * | 1 | old device | its answer: CPace `Yb`, the account and device, its confirmation tag |
 * | 2 | new device | its confirmation tag |
 * | 3 | old device | `{"v":1,"parts":n}`: how many sealed parts follow |
 * | 4 … 3+n | old device | the sealed hand-over ({@linkcode HandOver}) |
 *
 * The old device adds the new one to the account's list only after checking the new
 * device's confirmation, so a wrong code (or a server that plays the new device) changes
 * nothing: the side that finds the mismatch cancels the slot, and the other side learns it
 * when the slot is gone. The new device cancels the slot once it has opened the hand-over.
 * Each side polls the slot for the other's next step every `pollMs` until the slot expires.
 *
 * @module
 */

import { type Clock, SYSTEM_CLOCK } from "../../async/clock.ts";
import {
  answerLink,
  checkConfirm,
  confirmLink,
  type DeviceList,
  E2eError,
  endLink,
  type LinkAccount,
  type LinkDeviceKeys,
  newLinkCode,
  openHandover,
  parseLinkCode,
  sealHandover,
  signNextDeviceList,
  startLink,
} from "../../e2e/mod.ts";
import { delay } from "../transport/delay.ts";
import { CLIENT_ERRORS, ClientError, RequestError } from "./errors.ts";
import { type HandOver, parseHandOver } from "./hand_over.ts";
import type { ChatConnection } from "./ports.ts";

/** How often a side reads the slot while it waits for the other (milliseconds). */
export const LINK_POLL_MS = 500;

/** The step holding the number of sealed parts. */
const _HEADER_STEP = 3;

/** What both sides need. */
export interface LinkingDeps {
  /** A connection; the old device's is logged in, the new device's need not be. */
  readonly conn: Pick<ChatConnection, "request">;
  /** Milliseconds between reads of the slot (default {@linkcode LINK_POLL_MS}). */
  readonly pollMs?: number;
  /** The clock of the waits (tests pass a fake one). */
  readonly clock?: Clock;
  /** Stops waiting (the person gave up). */
  readonly signal?: AbortSignal;
}

/** The old device: who it is and what it hands over. */
export interface OldDeviceSide extends LinkingDeps {
  readonly account: LinkAccount;
  /** This device's signing key, to sign the account's next list. */
  readonly signSecretKey: Uint8Array;
  /** The account's newest checked list, which the new version extends. */
  readonly head: DeviceList;
  /** Publishes the next list (the caller pins it once stored). */
  publish(list: DeviceList): Promise<void>;
  /** What the new device gets, given the list that names it. */
  handOver(list: DeviceList): HandOver;
  readonly now: () => number;
}

/**
 * The old device's side, given the code the person typed: answers the offer, checks the new
 * device's confirmation, publishes the list naming the new device, and seals the hand-over.
 * Returns that list.
 *
 * @throws {E2eError} `bad_link_code` for a mistyped code; `link_failed` when the codes did not
 *   match (nothing changed).
 * @throws {ClientError} `not_found` when no link waits under the code (or it expired).
 */
export async function linkOldDevice(code: string, side: OldDeviceSide): Promise<DeviceList> {
  const { slot } = parseLinkCode(code);
  const { conn } = side;
  const offer = await _step(side, slot, 0);
  const { state, answer } = answerLink(code, JSON.parse(offer), side.account);
  try {
    await conn.request({ type: "link_write", slot, step: 1, value: JSON.stringify(answer) });
    const confirm = await _step(side, slot, 2);
    try {
      checkConfirm(state, JSON.parse(confirm));
    } catch (err) {
      await _cancel(side, slot);
      throw err;
    }
    const next = signNextDeviceList(side.head, { add: state.device }, {
      deviceId: side.account.device,
      secretKey: side.signSecretKey,
    }, side.now());
    await side.publish(next);
    const parts = sealHandover(
      state,
      new TextEncoder().encode(JSON.stringify(side.handOver(next))),
    );
    const header = JSON.stringify({ v: 1, parts: parts.length });
    await conn.request({ type: "link_write", slot, step: _HEADER_STEP, value: header });
    for (let i = 0; i < parts.length; i++) {
      await conn.request({
        type: "link_write",
        slot,
        step: _HEADER_STEP + 1 + i,
        value: parts[i]!,
      });
    }
    return next;
  } finally {
    endLink(state);
  }
}

/** The new device: its name and public keys, and where its code goes. */
export interface NewDeviceSide extends LinkingDeps {
  readonly keys: LinkDeviceKeys;
  /** Shows the code to the person (called once the slot is open). */
  showCode(code: string): void;
  /** A code of the caller's (tests); default a fresh one. */
  readonly code?: string;
}

/**
 * The new device's side: opens a slot, shows its code, waits for the old device, confirms,
 * and opens the hand-over.
 *
 * @throws {E2eError} `link_failed` when the code typed on the other device did not match;
 *   `bad_handover` when the hand-over does not open.
 * @throws {ClientError} `not_found` when the slot expired or the other side gave up.
 */
export async function linkNewDevice(side: NewDeviceSide): Promise<HandOver> {
  const code = side.code ?? newLinkCode();
  const { slot } = parseLinkCode(code);
  const { conn } = side;
  const { state, offer } = startLink(code, side.keys);
  try {
    await conn.request({ type: "link_open", slot, offer: JSON.stringify(offer) });
    side.showCode(code);
    const answer = await _step(side, slot, 1);
    let confirm;
    try {
      ({ confirm } = confirmLink(state, JSON.parse(answer)));
    } catch (err) {
      await _cancel(side, slot);
      throw err;
    }
    await conn.request({ type: "link_write", slot, step: 2, value: JSON.stringify(confirm) });
    const header = _header(await _step(side, slot, _HEADER_STEP));
    const parts: string[] = [];
    while (parts.length < header.parts) {
      parts.push(...await _steps(side, slot, _HEADER_STEP + 1 + parts.length));
    }
    const payload = openHandover(state, parts.slice(0, header.parts));
    await _cancel(side, slot);
    return parseHandOver(new TextDecoder().decode(payload));
  } finally {
    endLink(state);
  }
}

/** Step `index` of the slot, waiting for it. */
async function _step(side: LinkingDeps, slot: string, index: number): Promise<string> {
  return (await _steps(side, slot, index))[0]!;
}

/** Steps from `index` on (at least one), waiting for them. */
async function _steps(side: LinkingDeps, slot: string, index: number): Promise<string[]> {
  for (;;) {
    if (side.signal?.aborted) {
      throw new ClientError(CLIENT_ERRORS.notFound, "Linking was cancelled");
    }
    let read;
    try {
      read = await side.conn.request({ type: "link_read", slot, from: index });
    } catch (err) {
      if (err instanceof RequestError && err.code === "not_found") {
        throw new ClientError(
          CLIENT_ERRORS.notFound,
          "No link is waiting under that code any more: it expired, the code did not match, or " +
            "the other device gave up. Make a new code on the new device and try again",
        );
      }
      throw err;
    }
    if (read.steps.length > 0) return read.steps;
    await delay(side.pollMs ?? LINK_POLL_MS, side.signal, side.clock ?? SYSTEM_CLOCK);
  }
}

/** Frees the slot; a slot gone already is fine. */
async function _cancel(side: LinkingDeps, slot: string): Promise<void> {
  try {
    await side.conn.request({ type: "link_cancel", slot });
  } catch {
    // expired or cancelled by the other side meanwhile
  }
}

function _header(text: string): { parts: number } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = null;
  }
  const parts = (v as { parts?: unknown } | null)?.parts;
  if (
    typeof v !== "object" || v === null || (v as { v?: unknown }).v !== 1 ||
    !Number.isSafeInteger(parts) || (parts as number) < 1 || (parts as number) > 64
  ) {
    throw new E2eError("bad_handover", "The other device's hand-over header is malformed");
  }
  return { parts: parts as number };
}
