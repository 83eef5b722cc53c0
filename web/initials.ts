/**
 * What an avatar shows for a name: its initials, on a colour derived from the name, so a
 * person keeps their colour everywhere (list, header, messages, members) and across sessions.
 *
 * @module
 */

/**
 * Background colours for avatars, each dark enough for white initials (contrast of at least
 * 4.5:1, WCAG AA) in light and dark themes.
 */
export const AVATAR_COLORS: readonly string[] = [
  "#b3261e", // red
  "#a04b00", // rust
  "#1e7b34", // green
  "#00696b", // teal
  "#2157d5", // blue
  "#3949ab", // indigo
  "#6a3fb5", // purple
  "#a8155a", // pink
  "#5d4037", // brown
  "#455a64", // slate
];

/**
 * Up to two initials: the first letters of the first two words (`alice smith` is `AS`,
 * `bob_jones` and `bob.jones` are `BJ`), or the first letter of a one-word name (`alice` is
 * `A`); `?` for a name with no letter or digit.
 */
export function initials(name: string): string {
  const words = name.split(/[\s._\-@#]+/u).filter((w) => /[\p{L}\p{N}]/u.test(w));
  const firsts = words.slice(0, 2).map((w) => Array.from(w.match(/[\p{L}\p{N}].*/u)![0])[0]!);
  return firsts.length === 0 ? "?" : firsts.join("").toLocaleUpperCase();
}

/** The avatar colour of `name`: one of {@linkcode AVATAR_COLORS}, always the same for it. */
export function avatarColor(name: string): string {
  // FNV-1a over the UTF-16 code units: cheap, and spreads similar names apart.
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return AVATAR_COLORS[hash % AVATAR_COLORS.length]!;
}
