/**
 * The web client as the balancer serves it: the page, its script, style sheet and SQLite
 * WebAssembly, all embedded in the program at build time (web/build.ts), served with a
 * strict Content-Security-Policy that allows nothing from elsewhere except WebSocket
 * connections to the cluster's own chat servers.
 *
 * @module
 */

/** One embedded file. */
export interface WebAsset {
  /** Its content type. */
  readonly type: string;
  /** Its bytes, as built by web/build.ts. */
  readonly body: Uint8Array;
  /** A strong ETag (quoted), from the content's hash. */
  readonly etag: string;
}

/** The web client's files by URL path (`/` is the page). */
export type WebAssets = ReadonlyMap<string, WebAsset>;

/**
 * The Content-Security-Policy of the web client: its own script, style and WebAssembly only
 * (`wasm-unsafe-eval` lets SQLite's WebAssembly compile; no JavaScript `eval`), fetches to
 * the balancer itself, WebSockets to `servers` (their `ws://` or `wss://` URLs), nothing
 * framed, no forms sent elsewhere.
 */
export function webCsp(servers: readonly string[]): string {
  const origins = [...new Set(servers.flatMap((u) => _wsOrigin(u)))].sort();
  return [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    `connect-src 'self' ${origins.join(" ")}`.trimEnd(),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Headers every web client response carries besides the CSP. */
export const WEB_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
});

function _wsOrigin(url: string): string[] {
  try {
    const u = new URL(url);
    if (u.protocol !== "ws:" && u.protocol !== "wss:") return [];
    return [`${u.protocol}//${u.host}`];
  } catch {
    return [];
  }
}
