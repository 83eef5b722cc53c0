/**
 * Is a FastChat cluster there at all? Before the client asks for a password or makes a key,
 * it asks every balancer's `GET /healthz` at once (cheap: no database read, no server slot
 * assigned) with a short timeout. With nothing running, the user hears so in one line at
 * once, not after two password prompts and 30 s of "connecting".
 *
 * A balancer that answers but has no live server passes: its servers may be starting, and
 * connecting (assign.ts) retries and says so.
 *
 * @module
 */

/** The `fetch` the probe uses (the global one by default; tests give a fake). */
export type ProbeFetch = (url: URL, init: { signal: AbortSignal }) => Promise<Response>;

/** Options of {@linkcode probeCluster}. */
export interface ProbeClusterOptions {
  /** Defaults to the global `fetch`. */
  readonly fetch?: ProbeFetch;
  /** How long each balancer has to answer, in milliseconds (default {@linkcode PROBE_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
}

/** How long a balancer has to answer the probe by default (milliseconds). */
export const PROBE_TIMEOUT_MS = 3_000;

/** Why one balancer did not count as a FastChat balancer. */
export interface BalancerSilence {
  /** The balancer's base URL, as given. */
  readonly url: string;
  /** `unreachable`: no connection; `timeout`: no answer in time; `not_fastchat`: a wrong answer. */
  readonly reason: "unreachable" | "timeout" | "not_fastchat";
  /** A few words for people, e.g. "no answer in 3 s". */
  readonly detail: string;
}

/** No balancer given answered as a FastChat balancer. */
export class NoClusterError extends Error {
  /** Stable machine-readable code. */
  readonly code = "no_cluster";
  /** What each balancer did, in the order given. */
  readonly balancers: readonly BalancerSilence[];
  /** Creates the error; its message is one line naming every balancer and how to start one. */
  constructor(balancers: readonly BalancerSilence[]) {
    const where = balancers.map((b) => `${b.url} (${b.detail})`).join(" or ");
    super(
      `No FastChat cluster answers at ${where}; start one with "npm start" (or fastchat up), ` +
        "or give --balancer URL",
    );
    this.name = "NoClusterError";
    this.balancers = balancers;
  }
}

/**
 * Asks each balancer in `balancerUrls` for `GET /healthz` at once and resolves with the
 * first URL that answers `200 ok`; the others are then cancelled. Throws
 * {@linkcode NoClusterError} when none does within `timeoutMs`.
 */
export async function probeCluster(
  balancerUrls: readonly string[],
  opts: ProbeClusterOptions = {},
): Promise<string> {
  if (balancerUrls.length === 0) {
    throw new TypeError("Expected at least one balancer URL to probe, got none");
  }
  const timeoutMs = opts.timeoutMs ?? PROBE_TIMEOUT_MS;
  if (!(timeoutMs > 0)) {
    throw new RangeError(`Expected timeoutMs to be a number > 0, got ${timeoutMs}`);
  }
  const doFetch = opts.fetch ?? ((url, init) => fetch(url, init));
  const done = new AbortController();
  const attempts = balancerUrls.map((url) => _probeOne(url, doFetch, timeoutMs, done.signal));
  try {
    return await Promise.any(attempts);
  } catch {
    const silences = await Promise.all(
      attempts.map((a) => a.then(() => null, (e: BalancerSilence) => e)),
    );
    throw new NoClusterError(silences.filter((s) => s !== null));
  } finally {
    done.abort();
  }
}

/** Resolves with `url` when it answers as a balancer; rejects with a {@linkcode BalancerSilence}. */
async function _probeOne(
  url: string,
  doFetch: ProbeFetch,
  timeoutMs: number,
  done: AbortSignal,
): Promise<string> {
  const timer = new AbortController();
  const id = setTimeout(() => timer.abort(), timeoutMs);
  const signal = AbortSignal.any([timer.signal, done]);
  const silence = (reason: BalancerSilence["reason"], detail: string): BalancerSilence => ({
    url,
    reason,
    detail,
  });
  try {
    let res: Response;
    try {
      res = await doFetch(new URL("/healthz", url), { signal });
    } catch {
      if (timer.signal.aborted) throw silence("timeout", `no answer in ${_seconds(timeoutMs)}`);
      throw silence("unreachable", "cannot connect");
    }
    let body: string;
    try {
      body = res.status === 200 ? await res.text() : "";
    } catch {
      if (timer.signal.aborted) throw silence("timeout", `no answer in ${_seconds(timeoutMs)}`);
      throw silence("unreachable", "the connection broke");
    } finally {
      if (res.status !== 200) await res.body?.cancel().catch(() => {});
    }
    if (res.status !== 200) {
      throw silence("not_fastchat", `GET /healthz answered HTTP ${res.status}, expected 200 "ok"`);
    }
    if (body.trim() !== "ok") {
      throw silence("not_fastchat", `GET /healthz answered something other than "ok"`);
    }
    return url;
  } finally {
    clearTimeout(id);
  }
}

function _seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
