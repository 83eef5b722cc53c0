/**
 * The full-screen client's help: its keys, its own commands, then every command the parser
 * accepts, taken from the one command table (`COMMAND_SPECS` via `helpText()`) so the list
 * cannot drift from what the client understands.
 *
 * @module
 */

import { helpText } from "../client/engine/commands.ts";

/** Keys and the commands only the full-screen client has. */
export const TUI_HELP_HEAD: readonly string[] = [
  "Keys",
  "  Enter            send the line (plain text goes to the open conversation)",
  "  Ctrl-N / Ctrl-P  next / previous conversation    Alt-1…9  jump to one",
  "  PgUp / PgDn      scroll back and forth           Esc      clear the notice",
  "  Up / Down        input history                   Tab      complete a command or name",
  "  Ctrl-A / Ctrl-E  start / end of line             Alt-B / Alt-F  word left / right",
  "  Ctrl-W           delete the word before          Ctrl-U / Ctrl-K  delete to start / end",
  "  Ctrl-C           quit (Ctrl-D on an empty line too)",
  "Commands (with /, or bare on the status pane)",
  "  query NAME       open a conversation (also: open)",
  "  close            back to the status pane",
];

/** The whole help text, as `/help` writes it into the current conversation. */
export function tuiHelpText(): string {
  return [...TUI_HELP_HEAD, helpText()].join("\n");
}
