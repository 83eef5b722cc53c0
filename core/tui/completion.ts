/**
 * Tab completion for the input line: command names for the first word (with or without a
 * leading `/`), user and group names after it. Pure: the caller passes what is known.
 *
 * @module
 */

import type { EditorState } from "./line_editor.ts";

/** What a completion can draw from. */
export interface CompletionSource {
  /** Command names and aliases, without `/`. */
  readonly commands: readonly string[];
  /** Known user and group names. */
  readonly names: readonly string[];
}

/** The outcome of pressing Tab. */
export interface Completion {
  /** The line after completing (unchanged when nothing matched). */
  readonly line: EditorState;
  /** Every candidate that matched, for showing when there was more than one. */
  readonly candidates: readonly string[];
}

/**
 * Completes the word before the cursor: with one candidate it is filled in and followed by a
 * space; with several, their longest common prefix is filled in and all are returned.
 */
export function complete(line: EditorState, source: CompletionSource): Completion {
  const before = line.text.slice(0, line.cursor);
  const start = before.search(/\S*$/);
  const word = before.slice(start);
  const first = before.slice(0, start).trim() === "";
  const slash = first && word.startsWith("/");
  const stem = slash ? word.slice(1) : word;
  // A first word without "/" is plain text to the current conversation unless it names a
  // command, so commands are offered there too; names fill any other position.
  const pool = first ? source.commands : source.names;
  const lower = stem.toLowerCase();
  const candidates = [...new Set(pool)].filter((c) => c.toLowerCase().startsWith(lower)).sort();
  if (candidates.length === 0 || (stem === "" && !slash && first)) {
    return { line, candidates: [] };
  }
  const prefix = candidates.length === 1 ? candidates[0]! + " " : _commonPrefix(candidates);
  if (prefix.length < stem.length) return { line, candidates };
  const insert = (slash ? "/" : "") + prefix;
  const text = line.text.slice(0, start) + insert + line.text.slice(line.cursor);
  return { line: { text, cursor: start + insert.length }, candidates };
}

function _commonPrefix(words: readonly string[]): string {
  let prefix = words[0]!;
  for (const w of words.slice(1)) {
    let i = 0;
    while (i < prefix.length && i < w.length && prefix[i]!.toLowerCase() === w[i]!.toLowerCase()) {
      i++;
    }
    prefix = prefix.slice(0, i);
  }
  return prefix;
}
