/**
 * The origins of the pages a cluster's balancer serves (the web client), which `fastchat up`
 * passes to every server as `--allowed-origins` so those pages may open WebSockets to them.
 *
 * @module
 */

import { parseOrigin } from "../ws/origin.ts";

/** Addresses that mean "every interface": a page can name the machine many ways. */
const _WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);

/**
 * The origins a browser reports for a page from the balancer at `host:port` over http:
 * `http://127.0.0.1:PORT` and `http://localhost:PORT` always, and `http://HOST:PORT` too
 * when `host` is one particular address or name (not a wildcard such as 0.0.0.0, whose
 * other names must be given with `--allowed-origins`). Serialized, without repeats.
 */
export function balancerOrigins(host: string, port: number): string[] {
  const out = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`].map(parseOrigin));
  if (!_WILDCARDS.has(host)) {
    const bare = host.replace(/^\[|\]$/g, "");
    try {
      out.add(parseOrigin(`http://${bare.includes(":") ? `[${bare}]` : bare}:${port}`));
    } catch {
      // Not a name a browser could show (the balancer will say what is wrong with it).
    }
  }
  return [...out];
}
