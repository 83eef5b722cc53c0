/**
 * Keys of the full-screen client, mapped to actions. Pure: takes what Ink's `useInput`
 * reports (the input text and the key flags) and says what to do, so the bindings are
 * tested without a terminal.
 *
 * @module
 */

import {
  backspace,
  deleteForward,
  deleteWordBack,
  deleteWordForward,
  type EditorState,
  end,
  home,
  insert,
  killToEnd,
  killToStart,
  left,
  right,
  wordLeft,
  wordRight,
} from "./line_editor.ts";

/** The key flags the keymap reads (a subset of Ink's `Key`). */
export interface KeyFlags {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  ctrl?: boolean;
  shift?: boolean;
  tab?: boolean;
  backspace?: boolean;
  delete?: boolean;
  meta?: boolean;
}

/** What a key press does. */
export type KeyAction =
  | { kind: "edit"; edit: (s: EditorState) => EditorState }
  | { kind: "submit" }
  | { kind: "complete" }
  | { kind: "history"; direction: -1 | 1 }
  | { kind: "conversation"; delta: -1 | 1 }
  | { kind: "jump"; index: number }
  | { kind: "scroll"; pages: -1 | 1 }
  | { kind: "close" }
  | { kind: "quit" }
  | { kind: "none" };

/** The action for one key press; `line` is the current input (Ctrl-D quits on an empty one). */
export function keyAction(input: string, key: KeyFlags, line: EditorState): KeyAction {
  if (key.return) return { kind: "submit" };
  if (key.tab) return { kind: "complete" };
  if (key.escape) return { kind: "close" };
  if (key.pageUp) return { kind: "scroll", pages: 1 };
  if (key.pageDown) return { kind: "scroll", pages: -1 };
  if (key.upArrow) {
    return key.ctrl || key.meta
      ? { kind: "conversation", delta: -1 }
      : { kind: "history", direction: -1 };
  }
  if (key.downArrow) {
    return key.ctrl || key.meta
      ? { kind: "conversation", delta: 1 }
      : { kind: "history", direction: 1 };
  }
  if (key.leftArrow) return _edit(key.ctrl || key.meta ? wordLeft : left);
  if (key.rightArrow) return _edit(key.ctrl || key.meta ? wordRight : right);
  if (key.home) return _edit(home);
  if (key.end) return _edit(end);
  if (key.backspace) return _edit(key.meta ? deleteWordBack : backspace);
  if (key.delete) return _edit(deleteForward);
  if (key.ctrl) {
    switch (input) {
      case "a":
        return _edit(home);
      case "e":
        return _edit(end);
      case "b":
        return _edit(left);
      case "f":
        return _edit(right);
      case "w":
        return _edit(deleteWordBack);
      case "u":
        return _edit(killToStart);
      case "k":
        return _edit(killToEnd);
      case "d":
        return line.text === "" ? { kind: "quit" } : _edit(deleteForward);
      case "c":
        return { kind: "quit" };
      case "n":
        return { kind: "conversation", delta: 1 };
      case "p":
        return { kind: "conversation", delta: -1 };
      default:
        return { kind: "none" };
    }
  }
  if (key.meta) {
    if (/^[1-9]$/.test(input)) return { kind: "jump", index: Number(input) };
    switch (input) {
      case "b":
        return _edit(wordLeft);
      case "f":
        return _edit(wordRight);
      case "d":
        return _edit(deleteWordForward);
      default:
        return { kind: "none" };
    }
  }
  // Typed text. Sequences the parser did not recognise (they start with ESC) and other
  // control characters are dropped rather than typed into a message.
  if (input.includes("\x1b")) return { kind: "none" };
  // deno-lint-ignore no-control-regex -- control characters are what is removed
  const text = input.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, "").replace(/\t/g, "    ");
  return text === "" ? { kind: "none" } : _edit((s) => insert(s, text));
}

/**
 * Splits a chunk of typed input that holds Tab or Enter among other characters (a fast
 * typist or a program sending keys: the terminal delivers them in one read) into the key
 * presses it stands for, so `"/fingerp\t"` completes and `"hi\r"` sends.
 */
export function splitTyped(input: string): { input: string; key: KeyFlags }[] {
  if (input.length < 2 || !/[\t\r]/.test(input) || input.includes("\x1b")) {
    return [{ input, key: {} }];
  }
  return input.split(/([\t\r])/).filter((p) => p !== "").map((p) =>
    p === "\t"
      ? { input: "", key: { tab: true } }
      : p === "\r"
      ? { input: "", key: { return: true } }
      : { input: p, key: {} }
  );
}

function _edit(edit: (s: EditorState) => EditorState): KeyAction {
  return { kind: "edit", edit };
}
