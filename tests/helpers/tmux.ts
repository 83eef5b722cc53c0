/**
 * A tmux server of its own for terminal tests: start a command in a session of a given
 * size, send keys and pastes, and read the screen.
 *
 * @module
 */

/** One private tmux server (its own socket) holding test sessions. */
export class Tmux {
  readonly socket = `fastchat-test-${crypto.randomUUID().slice(0, 8)}`;

  /** Runs a tmux command on this server; resolves to its stdout. */
  async run(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout);
  }

  /** Starts `argv` in a new detached session `name` of `cols` x `rows`. */
  async start(name: string, argv: readonly string[], cols = 120, rows = 32): Promise<void> {
    const line = argv.map((s) => `'${s.replaceAll("'", `'\\''`)}'`).join(" ");
    await this.run("new-session", "-d", "-s", name, "-x", String(cols), "-y", String(rows), line);
  }

  /** Sends keys (tmux key names, or literal text with `literal`). */
  async keys(name: string, keys: readonly string[], literal = false): Promise<void> {
    await this.run("send-keys", "-t", name, ...(literal ? ["-l"] : []), ...keys);
  }

  /** Types `text` literally. */
  type(name: string, text: string): Promise<void> {
    return this.keys(name, [text], true);
  }

  /** Pastes `text` as a bracketed paste (as a terminal does when the app asked for it). */
  async paste(name: string, text: string): Promise<void> {
    const file = await Deno.makeTempFile({ prefix: "fastchat_paste_" });
    try {
      await Deno.writeTextFile(file, text);
      await this.run("load-buffer", "-b", "p", file);
      await this.run("paste-buffer", "-p", "-d", "-b", "p", "-t", name);
    } finally {
      await Deno.remove(file);
    }
  }

  /** The visible screen of session `name`. */
  screen(name: string): Promise<string> {
    return this.run("capture-pane", "-p", "-t", name);
  }

  /** Waits until the screen matches `re`; returns it. */
  async until(name: string, re: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    while (Date.now() < deadline) {
      screen = await this.screen(name);
      if (re.test(screen)) return screen;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`Screen never matched ${re}:\n${screen}`);
  }

  /**
   * How this tmux shows `text` printed raw (tmux 3.3 drops the last member of some emoji
   * ZWJ sequences), so a screen can be compared with what the terminal itself would show.
   */
  async rendered(text: string): Promise<string> {
    const name = `r${crypto.randomUUID().slice(0, 6)}`;
    const file = await Deno.makeTempFile({ prefix: "fastchat_render_" });
    try {
      await Deno.writeTextFile(file, `${text}\n`);
      await this.start(name, ["sh", "-c", `cat '${file}'; sleep 30`], 200, 5);
      const deadline = Date.now() + 5_000;
      let screen = "";
      while (Date.now() < deadline) {
        screen = await this.screen(name);
        if (screen.trim() !== "") break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await this.run("kill-session", "-t", name);
      return screen.split("\n")[0]!.trimEnd();
    } finally {
      await Deno.remove(file);
    }
  }

  /** True while session `name` exists. */
  async has(name: string): Promise<boolean> {
    return (await this.run("list-sessions", "-F", "#{session_name}")).split("\n").includes(name);
  }

  /** Stops the server and every session. */
  async kill(): Promise<void> {
    await this.run("kill-server");
  }
}
