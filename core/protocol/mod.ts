/**
 * FastChat's wire protocol, a pure module: typed frames ({@linkcode ClientFrame},
 * {@linkcode ServerFrame}, {@linkcode PeerFrame}), one {@linkcode encode}/{@linkcode decode}
 * pair that validates every incoming frame, and constant tables of frame types
 * ({@linkcode FRAME_TYPES}), error codes ({@linkcode ERROR_CODES}), close codes, limits and the
 * optional features a connection may negotiate ({@linkcode FEATURES}).
 * Transport code (WebSocket glue in core/server and core/client) stays thin and calls it.
 * docs/PROTOCOL.md is the reference for every frame and field.
 *
 * @module
 */

export { decode, encode, frameFits, TEXT_RULES, utf8Length } from "./codec.ts";
export {
  CLOSE_CODES,
  CLOSE_REASONS,
  ERROR_CODES,
  type ErrorCode,
  loginDeadlineReason,
  ProtocolError,
} from "./errors.ts";
export {
  type Feature,
  FEATURES,
  FEATURES_SINCE,
  isFeature,
  negotiateFeatures,
  serverTakesFeatures,
} from "./features.ts";
export * from "./frames.ts";
export * from "./device_frames.ts";
export { LIMITS } from "./limits.ts";
export { STORING_FRAME_TYPES } from "./storing.ts";
export { QUOTE_MAX_CHARS, quoteInput } from "./quote.ts";
export { normalizeUsername, usernameKey } from "./username.ts";
