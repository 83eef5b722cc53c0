/**
 * Protocol features: optional behaviours a client asks for in `register`, `login` or
 * `resume` (field `features`) and the server turns on for that connection, listing them in
 * its answer (`registered` / `logged_in`). A client that asks for nothing gets the protocol
 * exactly as before, so old clients never notice a new feature; a server ignores features it
 * does not know, so clients may ask for ones only newer servers have. docs/PROTOCOL.md,
 * "Features", describes each.
 *
 * @module
 */

/** Every feature this protocol version knows, by name in code and on the wire. */
export const FEATURES = {
  /**
   * Delivery receipts in batches: the server sends `receipts` frames (several receipts
   * each, at most one per event-loop turn) instead of one `delivered` frame per receipt.
   */
  receiptBatch: "receipt_batch",
  /**
   * The client announces its contacts and blocks (`contacts` frames), and `user.online` is
   * absent, not `false`, when the server does not tell (the looked-up user has not made the
   * asker a contact), so the client can show "unknown" rather than "offline".
   */
  contacts: "contacts",
  /**
   * The client handles linked devices (docs/PROTOCOL.md "Devices"): the server knows the
   * device frames, so a client that is granted this may give its account a device list.
   * Nothing else changes on the connection.
   */
  devices: "devices",
} as const;

/** One of {@linkcode FEATURES}' wire names. */
export type Feature = (typeof FEATURES)[keyof typeof FEATURES];

const _KNOWN: ReadonlySet<string> = new Set(Object.values(FEATURES));

/**
 * The first server version (`welcome.version`) that accepts `features`: a client asks only
 * servers this new, since an older one refuses the unknown field.
 */
export const FEATURES_SINCE = "0.2.0";

/**
 * True when a server of `version` (its `welcome.version`, `MAJOR.MINOR.PATCH` with an
 * optional suffix) accepts `features`; false for older or unreadable versions.
 */
export function serverTakesFeatures(version: string): boolean {
  const have = _parseVersion(version);
  const need = _parseVersion(FEATURES_SINCE)!;
  if (have === null) return false;
  for (let i = 0; i < 3; i++) {
    if (have[i]! !== need[i]!) return have[i]! > need[i]!;
  }
  return true;
}

function _parseVersion(v: string): [number, number, number] | null {
  const m = /^(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:[-+].*)?$/.exec(v);
  return m === null ? null : [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** True when `name` is a feature this protocol version knows. */
export function isFeature(name: string): name is Feature {
  return _KNOWN.has(name);
}

/**
 * The features to enable for a request's `features`: the known ones asked for, each once, in
 * the order asked; unknown names are ignored. `undefined` (the field was absent) gives
 * `undefined`: the answer then carries no `features` field, as before features existed.
 */
export function negotiateFeatures(asked: readonly string[] | undefined): Feature[] | undefined {
  if (asked === undefined) return undefined;
  return [...new Set(asked.filter(isFeature))];
}
