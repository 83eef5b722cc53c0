/**
 * Bidirectional-text controls kept in balance, so that a piece of untrusted text can reorder
 * only itself. The Unicode Bidirectional Algorithm (UAX #9) lets an embedding (LRE, RLE),
 * override (LRO, RLO) or isolate (LRI, RLI, FSI) run on until its matching PDF or PDI or the
 * end of the paragraph; a message that opens one and never closes it, or closes one it did not
 * open, reverses whatever the screen prints after it on the same row (the "Trojan Source"
 * trick). Here every opener gets its closer and every closer without an opener is dropped,
 * following the matching rules of UAX #9 BD9 and X6a: a PDF closes the innermost embedding
 * or override only within the current isolate, and a PDI closes its isolate together with
 * any embeddings opened inside it.
 *
 * The marks LRM, RLM and ALM are strong characters, not controls; they are left alone.
 *
 * @module
 */

/** FIRST STRONG ISOLATE: starts a span whose direction comes from its own first letter. */
export const FSI = "\u2068";
/** POP DIRECTIONAL ISOLATE: ends the span an LRI, RLI or FSI started. */
export const PDI = "\u2069";
const _PDF = "\u202C";

const _CONTROLS = /[\u202A-\u202E\u2066-\u2069]/;
const _CONTROLS_G = /[\u202A-\u202E\u2066-\u2069]/g;
const _ISOLATE_OPENERS = "\u2066\u2067\u2068";

/**
 * Right-to-left letters or bidi controls: text containing none of these cannot move
 * anything around it (everything left is left-to-right or neutral). The ranges are the
 * blocks whose default Bidi_Class is R, AL or AN (Hebrew, Arabic, Syriac, Thaana, NKo, ...,
 * their presentation forms, and the right-to-left ranges of plane 1), plus RLM.
 */
const _RTL_OR_CONTROL =
  /[\u0590-\u08FF\u200F\u202A-\u202E\u2066-\u2069\uFB1D-\uFDFF\uFE70-\uFEFF\u{10800}-\u{10FFF}\u{1E800}-\u{1EFFF}]/u;

/**
 * How deep `balanceBidi` lets bidi controls nest. Real text needs two or three levels; the
 * limit keeps a wrapped message from repeating thousands of open controls on every row.
 */
export const MAX_BIDI_DEPTH = 16;

/**
 * `text` with its bidi controls balanced: closers that close nothing are removed and
 * closers for whatever is still open are appended, innermost first. Openers nested deeper
 * than {@linkcode MAX_BIDI_DEPTH} are removed together with their closers.
 */
export function balanceBidi(text: string): string {
  if (!_CONTROLS.test(text)) return text;
  const state = new _Open(MAX_BIDI_DEPTH);
  const kept = text.replace(_CONTROLS_G, (c) => (state.step(c) ? c : ""));
  return kept + closeBidi(state.stack);
}

/**
 * The bidi openers still open at the end of `text`, outermost first; closers without an
 * opener are ignored, as UAX #9 ignores them.
 */
export function openBidi(text: string): string[] {
  const state = new _Open();
  if (!_CONTROLS.test(text)) return state.stack;
  for (const m of text.matchAll(_CONTROLS_G)) state.step(m[0]);
  return state.stack;
}

/** The closers (PDF or PDI) that end the openers in `open`, innermost first. */
export function closeBidi(open: readonly string[]): string {
  let out = "";
  for (let i = open.length - 1; i >= 0; i--) {
    out += _ISOLATE_OPENERS.includes(open[i]!) ? PDI : _PDF;
  }
  return out;
}

/**
 * `text` in a first-strong isolate (FSI ... PDI) when it holds a right-to-left letter or a
 * bidi control, so its direction is worked out from its own first letter and it moves as
 * one unit, like a single neutral character, among the text around it. Text without either
 * is returned as it is: it could not reorder anything, and plain text stays byte-for-byte
 * the same. `text` should be balanced already (see {@linkcode balanceBidi}).
 */
export function isolate(text: string): string {
  return _RTL_OR_CONTROL.test(text) ? FSI + text + PDI : text;
}

/**
 * The openers in force while scanning text, and where the isolates among them are. With a
 * `maxDepth`, openers beyond it are dropped along with their closers, counted the way UAX #9
 * X5-X7 count overflowing ones; without, every opener is kept.
 */
class _Open {
  readonly stack: string[] = [];
  readonly #isolates: number[] = []; // indexes in `stack` of its isolate openers
  readonly #maxDepth: number;
  #overflowIsolates = 0;
  #overflowEmbeddings = 0;

  constructor(maxDepth = Infinity) {
    this.#maxDepth = maxDepth;
  }

  /** Applies control `c`; false when `c` is to be dropped. */
  step(c: string): boolean {
    if (c === _PDF) {
      if (this.#overflowIsolates > 0) return false;
      if (this.#overflowEmbeddings > 0) {
        this.#overflowEmbeddings--;
        return false;
      }
      const top = this.stack.length - 1;
      if (top < 0 || this.#isolates.at(-1) === top) return false;
      this.stack.pop();
      return true;
    }
    if (c === PDI) {
      if (this.#overflowIsolates > 0) {
        this.#overflowIsolates--;
        return false;
      }
      const at = this.#isolates.pop();
      if (at === undefined) return false;
      this.#overflowEmbeddings = 0;
      this.stack.length = at; // also closes the embeddings opened inside the isolate
      return true;
    }
    const isolate = _ISOLATE_OPENERS.includes(c);
    if (
      this.stack.length >= this.#maxDepth || this.#overflowIsolates > 0 ||
      this.#overflowEmbeddings > 0
    ) {
      if (isolate) this.#overflowIsolates++;
      else if (this.#overflowIsolates === 0) this.#overflowEmbeddings++;
      return false;
    }
    if (isolate) this.#isolates.push(this.stack.length);
    this.stack.push(c);
    return true;
  }
}
