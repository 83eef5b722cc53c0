/**
 * The client's interactive line mode (`--line`) in a real pseudo-terminal (tmux): the password prompt does
 * not echo, commands typed at the prompt work, and incoming messages appear.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { selfCommand } from "../core/cluster/self_command.ts";
import { ClientProc } from "./helpers/client_proc.ts";
import { TestCluster } from "./helpers/cluster.ts";
import { untilAsync } from "./helpers/wait.ts";

const SOCKET = `fastchat-test-${crypto.randomUUID().slice(0, 8)}`;

async function _tmux(...args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", { args: ["-L", SOCKET, ...args], stdout: "piped" })
    .output();
  return new TextDecoder().decode(out.stdout);
}

async function _screenUntil(re: RegExp, timeoutMs = 20_000): Promise<string> {
  let screen = "";
  try {
    await untilAsync(
      async () => {
        screen = await _tmux("capture-pane", "-p", "-t", "alice", "-S", "-200");
        return re.test(screen);
      },
      `the screen to match ${re}`,
      timeoutMs,
      100,
    );
  } catch {
    throw new Error(`Screen never matched ${re}:\n${screen}`);
  }
  return screen;
}

function _quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

Deno.test("client interactive mode: hidden password, commands at the prompt, live messages", async () => {
  const c = await TestCluster.start(2, { balancer: "round-robin" });
  const data = join(c.dir, "clients");
  const balancer = `http://127.0.0.1:${c.balancerPort}`;
  const bob = new ClientProc("bob", { balancer, data });
  try {
    await bob.waitFor("ready");
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
      "--line", // line mode on a terminal; the full-screen mode has tests of its own
      "--device-name",
      "work laptop",
    ]);
    const line = ["env", "-u", "FASTCHAT_PASSWORD", cmd, ...args].map(_quote).join(" ");
    await _tmux("new-session", "-d", "-s", "alice", "-x", "160", "-y", "50", line);
    await _screenUntil(/Choose a password/);
    await _tmux("send-keys", "-t", "alice", "s3cret-typed-here", "Enter");
    await _screenUntil(/Type it again/);
    await _tmux("send-keys", "-t", "alice", "s3cret-typed-here", "Enter");
    await _screenUntil(/Logged in as alice \(#\d+\)/);
    assert.doesNotMatch(await _tmux("capture-pane", "-p", "-t", "alice"), /s3cret-typed-here/);

    await _tmux("send-keys", "-t", "alice", "help", "Enter");
    await _screenUntil(/single_message USER TEXT/);
    await _tmux("send-keys", "-t", "alice", "bogus command", "Enter");
    await _screenUntil(/error: Unknown command "bogus"/);
    // The account became this terminal's first device, named as asked.
    await _tmux("send-keys", "-t", "alice", "devices", "Enter");
    await _screenUntil(
      /Your devices \(list version 1\):\n\s+work laptop\s+#1\s+linked \S+ \S+\s+\(this device\)/,
    );
    await _tmux("send-keys", "-t", "alice", "unlink work laptop", "Enter");
    await _screenUntil(
      /error: "work laptop" is this device; unlink it from another of your devices/,
    );
    await _tmux("send-keys", "-t", "alice", "single_message bob hello from a terminal", "Enter");
    // alice is not bob's contact yet: her message waits as a request until bob accepts.
    await bob.waitFor("request", (e) => e.user === "alice");
    await bob.send("accept alice");
    const got = await bob.waitFor("message");
    assert.equal(got.text, "hello from a terminal");
    await bob.send("msg alice hi there, terminal");
    await _screenUntil(/bob: hi there, terminal/);
    await _screenUntil(/✓ delivered to bob/);
    await _tmux("send-keys", "-t", "alice", "quit", "Enter");
    await untilAsync(
      async () => !(await _tmux("list-sessions")).includes("alice"),
      "the client to exit on quit",
      15_000,
      100,
    );
  } finally {
    await _tmux("kill-server");
    await bob.kill();
    await c.stop();
  }
});
