/**
 * Whether the terminal the full-screen client runs in draws an emoji presentation sequence
 * (a text-default character + U+FE0F, such as 🌤️) in 2 columns, as `displayWidth` counts, or
 * in 1. tmux decides for the panes it runs: up to 3.3 it gives such a sequence the width of
 * the character alone (1), from 3.4 on it makes it wide (2). Outside tmux the terminal is
 * assumed to be a modern one (2 columns).
 *
 * @module
 */

/** What is known of the terminal: whether this is a tmux pane, and that tmux's version. */
export interface TerminalKind {
  /** Running inside tmux (`TMUX` is set). */
  readonly tmux: boolean;
  /** tmux's version as it reports it (`3.3a`, `3.4`, `next-3.6`), or null if unknown. */
  readonly tmuxVersion: string | null;
}

/** The first tmux version that draws emoji presentation sequences 2 columns wide. */
const _TMUX_WIDE_FROM = [3, 4] as const;

/** True when `kind`'s terminal draws 🌤️ (U+1F324 U+FE0F) in 2 columns. */
export function drawsEmojiPresentationWide(kind: TerminalKind): boolean {
  if (!kind.tmux) return true;
  const m = /(\d+)\.(\d+)/.exec(kind.tmuxVersion ?? "");
  // An unknown version is taken as a current one.
  if (m === null) return true;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > _TMUX_WIDE_FROM[0] ||
    (major === _TMUX_WIDE_FROM[0] && minor >= _TMUX_WIDE_FROM[1]);
}

/**
 * Finds out what this process's terminal is: asks the tmux server of this pane for its
 * version (the `tmux` found on PATH may be another build than the server).
 */
export async function detectTerminalKind(): Promise<TerminalKind> {
  if (!Deno.env.get("TMUX")) return { tmux: false, tmuxVersion: null };
  for (const args of [["display-message", "-p", "#{version}"], ["-V"]]) {
    try {
      const out = await new Deno.Command("tmux", { args, stdout: "piped", stderr: "null" })
        .output();
      const text = new TextDecoder().decode(out.stdout).trim();
      if (out.success && text !== "") return { tmux: true, tmuxVersion: text };
    } catch {
      // no tmux on PATH, or not allowed to run it
    }
  }
  return { tmux: true, tmuxVersion: null };
}
