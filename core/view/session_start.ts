/**
 * How a client's session begins once its keystore is open, the same in the terminal and the
 * browser: the engine joins the cluster (a quit while still connecting ends it there), then
 * the first lists are loaded in order (friends, then groups, so conversations have names),
 * then contacts' online status is polled. Browser-safe: it uses no Deno API.
 *
 * @module
 */

import type { ClientCommand } from "../client/engine/commands.ts";
import {
  type PresencePoller,
  type PresencePollOptions,
  type PresenceSource,
  type PresenceView,
  startPresencePolling,
} from "./presence_poller.ts";

/** The lists every session loads first, in this order. */
export const FIRST_LOADS: readonly ClientCommand[] = [{ name: "friends" }, { name: "groups" }];

/**
 * Joins the cluster (`engine.start()`). Resolves true once started, or false when one of
 * `cancelled` settles first (the user quit while connecting; the start cut short may fail
 * afterwards, unheard). Rejects as `start()` does; closing the engine is the caller's.
 */
export async function startEngine(
  engine: { start(): Promise<void> },
  cancelled: readonly Promise<unknown>[] = [],
): Promise<boolean> {
  const starting = engine.start().then(() => true);
  starting.catch(() => {});
  return await Promise.race([starting, ...cancelled.map((p) => p.then(() => false))]);
}

/** Options of {@linkcode openSession}. */
export interface OpenSessionOptions {
  /** Runs a command (the engine's `run`, or the controller's queue in front of it). */
  readonly run: (cmd: ClientCommand) => Promise<void>;
  /** Loaded after {@linkcode FIRST_LOADS} (the web client's requests box). */
  readonly extra?: readonly ClientCommand[];
  readonly presence?: PresencePollOptions;
}

/**
 * The first loads of a started session, in order, then presence polling of `view`'s
 * contacts (its first answer is `first` of the returned poller: await it or not).
 */
export async function openSession(
  view: PresenceView,
  engine: PresenceSource,
  opts: OpenSessionOptions,
): Promise<PresencePoller> {
  for (const cmd of [...FIRST_LOADS, ...(opts.extra ?? [])]) await opts.run(cmd);
  return startPresencePolling(view, engine, opts.presence);
}
