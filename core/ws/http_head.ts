/**
 * An HTTP/1.1 request head as a server reads it from a socket: find its end within a size
 * limit, then parse the request line and header fields. Pure functions; anything malformed
 * becomes an {@linkcode HttpError} with the status to answer and a reason for the client.
 *
 * Spec: RFC 9112, "HTTP/1.1", sections 2.2 (message parsing), 3 (request line), 5 (field
 * syntax, no obs-fold). https://www.rfc-editor.org/rfc/rfc9112
 *
 * @module
 */

/** A request the server refuses: answered with `status` and `message`, then closed. */
export class HttpError extends Error {
  readonly status: number;
  /** Extra response headers (e.g. `Sec-WebSocket-Version` for a wrong version). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}

/** A parsed request head. */
export interface RequestHead {
  readonly method: string;
  /** The request target as sent (origin form: path and query). */
  readonly target: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  readonly version: string;
  /** Header fields by lower-case name; repeated fields joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
}

/**
 * The length of the head at the start of `bytes` up to and including its blank line, or
 * null when it has not ended yet. Throws {@linkcode HttpError} 431 once `maxBytes` have
 * arrived without the end.
 */
export function headLength(bytes: Uint8Array, maxBytes: number): number | null {
  const n = Math.min(bytes.length, maxBytes);
  for (let i = 3; i < n; i++) {
    if (
      bytes[i] === 0x0a && bytes[i - 1] === 0x0d && bytes[i - 2] === 0x0a &&
      bytes[i - 3] === 0x0d
    ) return i + 1;
  }
  if (bytes.length >= maxBytes) {
    throw new HttpError(431, `The request head must end within ${maxBytes} bytes`);
  }
  return null;
}

const _TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const _TARGET = /^\/[\x21-\x7e]*$/;

/**
 * Parses a request head (the bytes {@linkcode headLength} measured). Throws
 * {@linkcode HttpError} 400 for a malformed request line or field, 505 for a version other
 * than HTTP/1.0 or 1.1.
 */
export function parseRequestHead(bytes: Uint8Array): RequestHead {
  // Latin-1: every byte maps to one character, so nothing is lost before validation.
  const text = _latin1.decode(bytes);
  const lines = text.split("\r\n");
  // The head ends with an empty line (two empty strings after the split).
  if (lines.length < 3 || lines.at(-1) !== "" || lines.at(-2) !== "") {
    throw new HttpError(400, "The request head must end with an empty line");
  }
  const requestLine = lines[0]!;
  const parts = requestLine.split(" ");
  if (parts.length !== 3) {
    throw new HttpError(400, 'The request line must be "METHOD /path HTTP/1.1"');
  }
  const [method, target, version] = parts as [string, string, string];
  if (!_TOKEN.test(method)) throw new HttpError(400, "The request method is not a token");
  if (!_TARGET.test(target)) {
    throw new HttpError(400, "The request target must be a path starting with /");
  }
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    throw new HttpError(505, `Only HTTP/1.1 and HTTP/1.0 are served, got "${version}"`);
  }
  const headers = new Map<string, string>();
  for (const line of lines.slice(1, -2)) {
    if (line.startsWith(" ") || line.startsWith("\t")) {
      throw new HttpError(400, "Folded header lines are not allowed");
    }
    const colon = line.indexOf(":");
    if (colon <= 0) throw new HttpError(400, `A header line has no name: "${_clip(line)}"`);
    const name = line.slice(0, colon);
    if (!_TOKEN.test(name)) throw new HttpError(400, `Bad header name "${_clip(name)}"`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    // deno-lint-ignore no-control-regex -- control characters are exactly what is refused
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
      throw new HttpError(400, `Header ${name} holds a control character`);
    }
    const key = name.toLowerCase();
    const before = headers.get(key);
    headers.set(key, before === undefined ? value : `${before}, ${value}`);
  }
  return { method, target, version, headers };
}

/** True when the comma-separated header value lists `token` (case-insensitive). */
export function listsToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const want = token.toLowerCase();
  return value.split(",").some((t) => t.trim().toLowerCase() === want);
}

const _latin1 = new TextDecoder("latin1");

function _clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
