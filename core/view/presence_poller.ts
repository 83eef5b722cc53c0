/**
 * Contacts' online status, kept fresh for a client's view: asked at once, every 15 s (one
 * lookup each, answered from the server's memory) and when a new contact appears, or when
 * what the view watches changes (the terminal client: the open conversation, so what the
 * person looks at is fresh). Shared by the terminal and web clients; no timers of its own
 * beyond the one it is given.
 *
 * @module
 */

import type { ViewState } from "./view_state.ts";

/** How often contacts' online status is asked, milliseconds. */
export const PRESENCE_POLL_MS = 15_000;

/** Where online status comes from (the engine's `presence()`). */
export interface PresenceSource {
  presence(userIds: readonly number[]): Promise<ReadonlyMap<number, boolean | null>>;
}

/** The view whose contacts are polled (the terminal and web controllers). */
export interface PresenceView {
  /** User IDs of the direct conversations. */
  contactIds(): number[];
  /** Contacts' online status, by user ID. */
  onPresence(online: ReadonlyMap<number, boolean | null>): void;
  /** Calls `fn` after every change; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void;
}

/** Options of {@linkcode startPresencePolling}. */
export interface PresencePollOptions {
  /** Something of the view that, when it changes, asks again (compared with `===`). */
  readonly watch?: () => unknown;
  /** Runs `fn` every `ms`; returns the stop function. Default: `setInterval`. */
  readonly every?: (fn: () => void, ms: number) => () => void;
  /** Default {@linkcode PRESENCE_POLL_MS}. */
  readonly intervalMs?: number;
}

/** Polling under way. */
export interface PresencePoller {
  /** The first answer, applied to the view (rejects if that lookup failed). */
  readonly first: Promise<void>;
  /** Stops asking; idempotent. */
  stop(): void;
}

/**
 * Starts polling `source` for `view`'s contacts. Later failures are ignored (the next poll
 * tries again); the first one is the caller's to await or ignore.
 */
export function startPresencePolling(
  view: PresenceView,
  source: PresenceSource,
  opts: PresencePollOptions = {},
): PresencePoller {
  const poll = async () => view.onPresence(await source.presence(view.contactIds()));
  const again = () => void poll().catch(() => {});
  const first = poll();
  const every = opts.every ?? _every;
  const stopTimer = every(again, opts.intervalMs ?? PRESENCE_POLL_MS);
  const watch = opts.watch ?? (() => null);
  let contacts = view.contactIds().length;
  let watched = watch();
  const unsubscribe = view.subscribe(() => {
    const n = view.contactIds().length;
    const now = watch();
    if (n === contacts && now === watched) return;
    contacts = n;
    watched = now;
    again();
  });
  let stopped = false;
  return {
    first,
    stop() {
      if (stopped) return;
      stopped = true;
      stopTimer();
      unsubscribe();
    },
  };
}

function _every(fn: () => void, ms: number): () => void {
  const timer = setInterval(fn, ms);
  return () => clearInterval(timer);
}

/** User IDs of a view's direct conversations: the contacts whose status is polled. */
export function contactIds(view: ViewState): number[] {
  return view.conversations.flatMap((c) => c.kind === "direct" && c.id !== null ? [c.id] : []);
}
