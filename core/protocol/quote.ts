/**
 * Quoting untrusted input inside the messages a server writes. Every string FastChat sends
 * obeys the protocol's string rules (no NUL, no lone surrogate; docs/PROTOCOL.md, "String
 * rules"), so an `error` message that names a peer's input must not copy it raw: a frame
 * type `"ping\u0000"` would otherwise come back as an error a conforming client has to reject.
 *
 * @module
 */

/** How many characters of untrusted input a message quotes, at most. */
export const QUOTE_MAX_CHARS = 40;

/**
 * Quotes `text` as a JSON string literal (RFC 8259 section 7): double quotes, with `"`, `\`,
 * control characters (NUL included) and lone surrogates escaped as `\uXXXX`, so the result is
 * well-formed text without NUL whatever the input. Input longer than `max` UTF-16 code units
 * (never splitting a surrogate pair) is cut and marked with `…` after the closing quote.
 *
 * @example `quoteInput("ping\u0000")` is `"ping\u0000"` spelled with a backslash escape.
 */
export function quoteInput(text: string, max: number = QUOTE_MAX_CHARS): string {
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(`Expected max to be a positive integer, got ${max}`);
  }
  let cut = text;
  if (text.length > max) {
    // Keep a pair whole: cutting between its halves would invent a lone surrogate.
    const end = _isHigh(text.charCodeAt(max - 1)) && _isLow(text.charCodeAt(max)) ? max + 1 : max;
    cut = text.slice(0, end);
  }
  // ES2019's well-formed JSON.stringify escapes lone surrogates as \uXXXX, and control
  // characters as well.
  const quoted = JSON.stringify(cut);
  return cut.length < text.length ? `${quoted}…` : quoted;
}

function _isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function _isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
