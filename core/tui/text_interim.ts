/**
 * Interim text helpers until the shared Unicode module lands.
 *
 * @module
 */

const _graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

function _clusterWidth(g: string): number {
  const cp = g.codePointAt(0)!;
  if (cp < 0x20) return 0;
  if (/\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(g)) return 2;
  if (
    (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd)
  ) return 2;
  if (/^\p{M}+$/u.test(g) || cp === 0x200b || cp === 0x200c || cp === 0x200d) return 0;
  return 1;
}

/** Options for {@linkcode displaySafe}. */
export interface DisplayOptions {
  singleLine?: boolean;
  keepBidi?: boolean;
}

/** Removes controls and escape sequences. */
export function displaySafe(text: string, opts: DisplayOptions = {}): string {
  // deno-lint-ignore no-control-regex -- controls are what is removed
  let out = text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b./g, "")
    .replace(/\t/g, "    ")
    // deno-lint-ignore no-control-regex -- controls are what is removed
    .replace(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/g, "");
  if (!opts.keepBidi) out = out.replace(/[\u202a-\u202e\u2066-\u2069]/g, "");
  if (opts.singleLine) out = out.replace(/\n/g, " ⏎ ");
  return out;
}

/** Terminal columns of `text`. */
export function displayWidth(text: string): number {
  let w = 0;
  for (const { segment } of _graphemes.segment(text)) w += _clusterWidth(segment);
  return w;
}

/** Cuts `text` to at most `cols` columns. */
export function truncateToWidth(text: string, cols: number): string {
  let w = 0;
  let out = "";
  for (const { segment } of _graphemes.segment(text)) {
    const cw = _clusterWidth(segment);
    if (w + cw > cols) break;
    w += cw;
    out += segment;
  }
  return out;
}

/** Wraps `text` into rows of at most `cols` columns. */
export function wrapToWidth(text: string, cols: number): string[] {
  const rows: string[] = [];
  let row = "";
  let w = 0;
  for (const { segment } of _graphemes.segment(text)) {
    const cw = _clusterWidth(segment);
    if (w + cw > cols && row !== "") {
      rows.push(row);
      row = "";
      w = 0;
    }
    row += segment;
    w += cw;
  }
  rows.push(row);
  return rows;
}
