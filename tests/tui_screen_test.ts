/**
 * The full-screen client leaves the terminal as the shell had it, whatever way it ends:
 * it draws on the alternate screen, so after Ctrl-C, SIGTERM or a logout the shell's own text is back
 * with nothing of the frame left over, and a wrong password is said once, cleanly; and rows
 * holding an emoji presentation sequence (🌤️) end at the frame's border.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { selfCommand } from "../core/cluster/self_command.ts";
import { ClientProc } from "./helpers/client_proc.ts";
import { TestCluster } from "./helpers/cluster.ts";
import { Tmux } from "./helpers/tmux.ts";
import { drawsEmojiPresentationWide } from "../core/tui/emoji_width.ts";

const _BEFORE = "shell text before the client";

/**
 * A shell prints a line, then runs the client in the foreground (its process ID written to
 * `pidFile` first), then says how it ended and stays.
 */
function _shellThenClient(
  balancer: string,
  data: string,
  pidFile: string,
  password?: string,
): string[] {
  const { cmd, args } = selfCommand([
    "client",
    "--balancer",
    balancer,
    "--user",
    "alice",
    "--data",
    data,
    "--keystore-scrypt-n",
    "1024",
  ]);
  const env = password === undefined ? [] : [`FASTCHAT_PASSWORD=${password}`];
  const script = `echo '${_BEFORE}'; sh -c 'echo $$ > "$0"; exec "$@"' "$@"; ` +
    `echo "client exited $?"; exec sleep 600`;
  return ["sh", "-c", script, "sh", pidFile, "env", "CI=true", ...env, cmd, ...args];
}

/** Waits until the client has ended and the shell said so; its exit status. */
async function _exited(tmux: Tmux, name: string): Promise<number> {
  const screen = await tmux.until(name, /client exited \d+/, 20_000);
  return Number(/client exited (\d+)/.exec(screen)![1]);
}

/** Anything of the full-screen frame: its borders or its status bar. */
const _FRAME = /[╭╮╰╯│]|Ctrl-C quit|online · server/;

Deno.test("full-screen client: Ctrl-C, SIGTERM, a wrong password and a logout leave the shell's screen clean; emoji rows end at the border", async () => {
  const c = await TestCluster.start(1, { balancer: "round-robin" });
  const tmux = new Tmux();
  const data = join(c.dir, "clients");
  const balancer = `http://127.0.0.1:${c.balancerPort}`;
  const pidFile = join(c.dir, "client.pid");
  const bob = new ClientProc("bob", { balancer, data });
  try {
    // Ctrl-C: the shell's text is back, not the last frame.
    await tmux.start("first", _shellThenClient(balancer, data, pidFile, "pw-of-alice"), 100, 24);
    await tmux.until("first", /alice #\d+\s+│\s+online · server \d/, 60_000);
    await tmux.keys("first", ["C-c"]);
    assert.equal(await _exited(tmux, "first"), 0);
    let screen = await tmux.screen("first");
    // (The line that says a new account is made was written before the full screen opened.)
    assert.match(
      screen.trimEnd(),
      new RegExp(`^${_BEFORE}\n.*\n.*new account named "alice"\.\nclient exited 0$`),
    );

    // A wrong password typed at the prompt: said once, under the prompt, no frame around it.
    await tmux.start("again", _shellThenClient(balancer, data, pidFile), 100, 24);
    await tmux.until("again", /^Password:$/m);
    await tmux.type("again", "not-her-password");
    await tmux.keys("again", ["Enter"]);
    screen = await tmux.until("again", /try again \(2 left\)\.\nPassword:$/m);
    assert.doesNotMatch(screen, _FRAME, screen);
    assert.equal(
      screen.trimEnd(),
      `${_BEFORE}\nPassword:\nWrong password for alice; try again (2 left).\nPassword:`,
    );

    // The right one opens the full screen; SIGTERM ends it as quitting does.
    await tmux.type("again", "pw-of-alice");
    await tmux.keys("again", ["Enter"]);
    await tmux.until("again", /online · server \d/, 30_000);

    // A row with an emoji presentation sequence ends at the frame's right border, like the
    // rows around it, in the columns this tmux gives 🌤️.
    await bob.send("add_friend alice");
    await bob.send("msg alice \u{1F324}\uFE0F sunny here");
    screen = await tmux.until("again", /│.*bob wants to talk to you: ".*sunny here/);
    const rows = screen.split("\n");
    const at = rows.findIndex((r) => /│.*sunny here/.test(r));
    const version = (await tmux.run("display-message", "-p", "#{version}")).trim();
    const emoji = drawsEmojiPresentationWide({ tmux: true, tmuxVersion: version }) ? 2 : 1;
    // Every other character on these rows is one column wide.
    const columns = (row: string) =>
      [...row.replaceAll("\uFE0F", "")].length + (row.includes("\u{1F324}") ? emoji - 1 : 0);
    assert.ok(rows[at]!.endsWith("│") && rows[at - 1]!.endsWith("│"), screen);
    assert.equal(columns(rows[at]!), columns(rows[at - 1]!), `${rows[at]}\n${rows[at - 1]}`);
    Deno.kill(Number(await Deno.readTextFile(pidFile)), "SIGTERM");
    assert.equal(await _exited(tmux, "again"), 0);
    screen = await tmux.screen("again");
    assert.doesNotMatch(screen, _FRAME, screen);
    assert.equal(screen.match(/Wrong password for alice/g)?.length, 1, screen);

    // Shut out (here: logged out, as from another device): the reason, on the shell's screen.
    await tmux.start("third", _shellThenClient(balancer, data, pidFile, "pw-of-alice"), 100, 24);
    await tmux.until("third", /online · server \d/, 30_000);
    await tmux.type("third", "/logout");
    await tmux.keys("third", ["Enter"]);
    assert.equal(await _exited(tmux, "third"), 0);
    screen = (await tmux.screen("third")).trimEnd();
    assert.doesNotMatch(screen, _FRAME, screen);
    assert.match(screen, new RegExp(`^${_BEFORE}\n.*[Ll]ogged out.*\nclient exited 0$`), screen);
  } finally {
    await bob.kill();
    await tmux.kill();
    await c.stop();
  }
});
