/**
 * The input line of the full-screen client as pure data: text, a cursor, and the edits a
 * person expects from readline-style terminals (cursor keys, Home/End, word moves, Ctrl-U/W/K),
 * plus history. Positions are grapheme-cluster boundaries, so a cursor never stands inside an
 * emoji sequence or between a letter and its combining mark.
 *
 * @module
 */

/** The line being edited. `cursor` is an index into `text` at a grapheme boundary. */
export interface EditorState {
  readonly text: string;
  readonly cursor: number;
}

/** An empty line. */
export const EMPTY_LINE: EditorState = { text: "", cursor: 0 };

const _graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const _words = new Intl.Segmenter(undefined, { granularity: "word" });

/** The grapheme boundaries of `text`, from 0 to `text.length`. */
function _bounds(text: string): number[] {
  const out = [0];
  for (const s of _graphemes.segment(text)) out.push(s.index + s.segment.length);
  return out;
}

/** Inserts `input` at the cursor (a paste of any length included). */
export function insert(s: EditorState, input: string): EditorState {
  if (input === "") return s;
  return {
    text: s.text.slice(0, s.cursor) + input + s.text.slice(s.cursor),
    cursor: s.cursor + input.length,
  };
}

/** Moves one grapheme left. */
export function left(s: EditorState): EditorState {
  const b = _bounds(s.text);
  const prev = b.filter((x) => x < s.cursor).at(-1) ?? 0;
  return { ...s, cursor: prev };
}

/** Moves one grapheme right. */
export function right(s: EditorState): EditorState {
  const b = _bounds(s.text);
  const next = b.find((x) => x > s.cursor) ?? s.text.length;
  return { ...s, cursor: next };
}

/** Moves to the start of the line. */
export function home(s: EditorState): EditorState {
  return { ...s, cursor: 0 };
}

/** Moves to the end of the line. */
export function end(s: EditorState): EditorState {
  return { ...s, cursor: s.text.length };
}

/** The start of the word at or before `at` (skipping spaces and punctuation first). */
function _wordStart(text: string, at: number): number {
  let start = 0;
  for (const w of _words.segment(text)) {
    if (w.index >= at) break;
    if (w.isWordLike) start = w.index;
  }
  return start;
}

/** The end of the word at or after `at`. */
function _wordEnd(text: string, at: number): number {
  for (const w of _words.segment(text)) {
    const e = w.index + w.segment.length;
    if (e > at && w.isWordLike) return e;
  }
  return text.length;
}

/** Moves to the start of the previous word (Alt-B, Ctrl-Left). */
export function wordLeft(s: EditorState): EditorState {
  return { ...s, cursor: _wordStart(s.text, s.cursor) };
}

/** Moves past the end of the next word (Alt-F, Ctrl-Right). */
export function wordRight(s: EditorState): EditorState {
  return { ...s, cursor: _wordEnd(s.text, s.cursor) };
}

/** Deletes the grapheme before the cursor (Backspace). */
export function backspace(s: EditorState): EditorState {
  if (s.cursor === 0) return s;
  const to = left(s).cursor;
  return { text: s.text.slice(0, to) + s.text.slice(s.cursor), cursor: to };
}

/** Deletes the grapheme under the cursor (Delete, Ctrl-D on a non-empty line). */
export function deleteForward(s: EditorState): EditorState {
  if (s.cursor === s.text.length) return s;
  const to = right(s).cursor;
  return { text: s.text.slice(0, s.cursor) + s.text.slice(to), cursor: s.cursor };
}

/** Deletes the word before the cursor (Ctrl-W, Alt-Backspace). */
export function deleteWordBack(s: EditorState): EditorState {
  const to = _wordStart(s.text, s.cursor);
  return { text: s.text.slice(0, to) + s.text.slice(s.cursor), cursor: to };
}

/** Deletes from the cursor to the end of the next word (Alt-D). */
export function deleteWordForward(s: EditorState): EditorState {
  const to = _wordEnd(s.text, s.cursor);
  return { text: s.text.slice(0, s.cursor) + s.text.slice(to), cursor: s.cursor };
}

/** Deletes from the start of the line to the cursor (Ctrl-U). */
export function killToStart(s: EditorState): EditorState {
  return { text: s.text.slice(s.cursor), cursor: 0 };
}

/** Deletes from the cursor to the end of the line (Ctrl-K). */
export function killToEnd(s: EditorState): EditorState {
  return { text: s.text.slice(0, s.cursor), cursor: s.cursor };
}

/** Sent lines, oldest first, and where Up/Down stand in them. */
export interface HistoryState {
  readonly entries: readonly string[];
  /** Index into `entries` being shown; `entries.length` = the line being typed. */
  readonly at: number;
  /** What was being typed before moving into the history. */
  readonly draft: string;
}

/** Most lines kept. */
export const HISTORY_MAX = 500;

/** An empty history. */
export const EMPTY_HISTORY: HistoryState = { entries: [], at: 0, draft: "" };

/** Records a sent line (not blank, not a repeat of the last one) and resets the position. */
export function remember(h: HistoryState, line: string): HistoryState {
  const entries = line.trim() === "" || h.entries.at(-1) === line
    ? h.entries
    : [...h.entries, line].slice(-HISTORY_MAX);
  return { entries, at: entries.length, draft: "" };
}

/** Up: the previous history line, keeping the draft to come back to. */
export function historyUp(h: HistoryState, line: EditorState): [HistoryState, EditorState] {
  if (h.at === 0) return [h, line];
  const draft = h.at === h.entries.length ? line.text : h.draft;
  const at = h.at - 1;
  const text = h.entries[at]!;
  return [{ ...h, at, draft }, { text, cursor: text.length }];
}

/** Down: the next history line, or the draft after the newest. */
export function historyDown(h: HistoryState, line: EditorState): [HistoryState, EditorState] {
  if (h.at >= h.entries.length) return [h, line];
  const at = h.at + 1;
  const text = at === h.entries.length ? h.draft : h.entries[at]!;
  return [{ ...h, at }, { text, cursor: text.length }];
}
