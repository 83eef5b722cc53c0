/**
 * Usernames as FastChat compares them: one account per name **after Unicode NFKC
 * normalisation and ignoring the case of ASCII letters**, so `alice`, `Alice` and the
 * full-width `ａｌｉｃｅ` name one account. Names are registered as given (the register
 * pattern, `LIMITS.usernamePattern`, is ASCII, which NFKC leaves as it is) and
 * keep that spelling; servers normalise every name they register or look up with
 * {@linkcode normalizeUsername}, and the store compares the results ignoring ASCII case.
 *
 * @module
 */

/**
 * The name as servers register and look it up: Unicode NFKC (compatibility characters such
 * as full-width letters and ligatures become their plain forms). Case is kept.
 */
export function normalizeUsername(name: string): string {
  return name.normalize("NFKC");
}

/**
 * The key two names are compared by: {@linkcode normalizeUsername}, then ASCII letters in
 * lower case. Two names name the same account exactly when their keys are equal.
 */
export function usernameKey(name: string): string {
  return normalizeUsername(name).replace(/[A-Z]+/g, (s) => s.toLowerCase());
}
