/**
 * Which web pages may open a WebSocket to a server: the `Origin` check that makes
 * cross-site WebSocket hijacking impossible. Browsers send `Origin` on every WebSocket
 * upgrade and page scripts cannot forge it; other clients (the terminal client, the mesh,
 * the benchmark) send none. So an upgrade without `Origin` is let through (it is not a
 * browser), one whose origin is configured is let through, and anything else, `null`
 * included, is refused. Pure functions.
 *
 * Spec: RFC 6454 sections 6.1 and 7 (the serialized origin and the `Origin` header);
 * RFC 6455 section 10.2 (origin considerations). https://www.rfc-editor.org/rfc/rfc6454
 *
 * @module
 */

/** A configured origin that is not `http(s)://host[:port]`. */
export class OriginError extends Error {
  /** The text as given. */
  readonly origin: string;
  constructor(origin: string, message: string) {
    super(message);
    this.name = "OriginError";
    this.origin = origin;
  }
}

/** What a valid origin looks like, for error messages. */
const _EXPECTED = "scheme://host[:port] with scheme http or https and no path, " +
  "query or fragment (e.g. http://127.0.0.1:7100)";

// Scheme, then a DNS name or IPv4 address (dot-separated labels), or an IPv6 address in
// brackets, then an optional port.
const _LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
const _ORIGIN = new RegExp(
  `^([A-Za-z][A-Za-z0-9+.-]*)://(${_LABEL}(?:\\.${_LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::([0-9]{1,5}))?$`,
);

/**
 * The serialized form of `text` (RFC 6454 section 6.1): lower-case scheme and host, no
 * default port (80 for http, 443 for https). Throws {@linkcode OriginError} naming `text`
 * when it is not `http(s)://host[:port]` with a port from 1 to 65535.
 */
export function parseOrigin(text: string): string {
  const m = _ORIGIN.exec(text);
  if (m === null) {
    throw new OriginError(text, `"${text}" is not an origin; expected ${_EXPECTED}`);
  }
  const scheme = m[1]!.toLowerCase();
  const host = m[2]!.toLowerCase();
  const port = m[3];
  if (scheme !== "http" && scheme !== "https") {
    throw new OriginError(
      text,
      `"${text}" has scheme "${scheme}"; expected http or https`,
    );
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw new OriginError(text, `"${text}" has port ${port}; expected a port from 1 to 65535`);
  }
  // The URL parser canonicalizes what the pattern let through (IPv6 zeros, "127.1"); its
  // `origin` is the RFC 6454 serialization: lower case, no default port.
  let url: URL;
  try {
    url = new URL(`${scheme}://${host}${port === undefined ? "" : `:${Number(port)}`}`);
  } catch {
    throw new OriginError(text, `"${text}" has a malformed host; expected ${_EXPECTED}`);
  }
  return url.origin;
}

/**
 * The origins of a comma-separated `list` (spaces around items and empty items are
 * ignored), each serialized by {@linkcode parseOrigin}, without repeats. Throws
 * {@linkcode OriginError} for the first malformed one.
 */
export function parseOrigins(list: string): string[] {
  const out = new Set<string>();
  for (const item of list.split(",")) {
    const text = item.trim();
    if (text !== "") out.add(parseOrigin(text));
  }
  return [...out];
}

/**
 * True when an upgrade whose `Origin` header is `origin` may proceed: there is none (not a
 * browser), or it serializes to one of `allowed` (origins from {@linkcode parseOrigins}).
 * `null`, a malformed value and any other origin are refused.
 */
export function originAllowed(origin: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (origin === undefined) return true;
  try {
    return allowed.has(parseOrigin(origin));
  } catch {
    return false; // "null" (an opaque origin), several values, garbage
  }
}
