/**
 * Registering and logging in as a person does it, in a real terminal (tmux): a new account
 * is announced, its password checked against the policy before any key is made and asked
 * twice; a wrong password is asked again; a name registered elsewhere is explained.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { selfCommand } from "../core/cluster/self_command.ts";
import { TestCluster } from "./helpers/cluster.ts";
import { Tmux } from "./helpers/tmux.ts";

function _argv(balancer: string, data: string, user: string): string[] {
  const { cmd, args } = selfCommand([
    "client",
    "--line",
    "--balancer",
    balancer,
    "--user",
    user,
    "--data",
    data,
    "--keystore-scrypt-n",
    "1024",
  ]);
  // Keep the window open after the client exits, to read what it said.
  const line = ["env", "-u", "FASTCHAT_PASSWORD", cmd, ...args]
    .map((s) => `'${s.replaceAll("'", `'\\''`)}'`).join(" ");
  return ["sh", "-c", `${line}; echo "exit code $?"; sleep 60`];
}

async function _answer(tmux: Tmux, session: string, prompt: RegExp, text: string) {
  await tmux.until(session, prompt);
  await tmux.type(session, text);
  await tmux.keys(session, ["Enter"]);
}

Deno.test("client registration asks twice and checks the policy; login asks again; a taken name is explained", async () => {
  const c = await TestCluster.start(1, { balancer: "round-robin" });
  const tmux = new Tmux();
  const balancer = `http://127.0.0.1:${c.balancerPort}`;
  const data = join(c.dir, "device1");
  try {
    await tmux.start("reg", _argv(balancer, data, "dora"), 140, 30);
    await tmux.until("reg", /No keys for "dora" on this device .*: this creates a new account/);
    await _answer(tmux, "reg", /Choose a password/, "short");
    await tmux.until("reg", /That has 5 characters; a password needs at least 8/);
    await _answer(
      tmux,
      "reg",
      /Choose a password[^\n]*\n[^\n]*\n[^\n]*Choose a password/,
      "first-password",
    );
    await _answer(tmux, "reg", /Type it again/, "second-password");
    await tmux.until("reg", /The two passwords differ; try again/);
    await tmux.until("reg", /differ; try again\.\nChoose a password/);
    await tmux.type("reg", "correct-password");
    await tmux.keys("reg", ["Enter"]);
    await _answer(tmux, "reg", /differ[\s\S]*Type it again/, "correct-password");
    await tmux.until("reg", /Logged in as dora \(#\d+\)/, 60_000);
    assert.doesNotMatch(await tmux.screen("reg"), /Generating.*\n[\s\S]*That has 5/);
    await tmux.type("reg", "quit");
    await tmux.keys("reg", ["Enter"]);
    await tmux.until("reg", /exit code 0/);

    // The same device again: a wrong password is asked again.
    await tmux.start("login", _argv(balancer, data, "dora"), 140, 30);
    await _answer(tmux, "login", /Password:/, "not-the-password");
    await tmux.until("login", /Wrong password for dora; try again \(2 left\)/);
    await _answer(tmux, "login", /left\)\.\nPassword:/, "correct-password");
    await tmux.until("login", /Logged in as dora \(#\d+\)/, 30_000);
    await tmux.type("login", "quit");
    await tmux.keys("login", ["Enter"]);
    await tmux.until("login", /exit code 0/);

    // Another device has no keys for dora: registering the name again is explained.
    await tmux.start("other", _argv(balancer, join(c.dir, "device2"), "dora"), 140, 30);
    await _answer(tmux, "other", /Choose a password/, "another-password");
    await _answer(tmux, "other", /Type it again/, "another-password");
    const screen = await tmux.until("other", /exit code 1/, 60_000);
    assert.match(
      screen,
      /the username "dora" is registered already, but this device\s+has no keys/,
    );
    assert.match(screen, /copy the\s+"dora"\s+directory of its data directory/);
  } finally {
    await tmux.kill();
    await c.stop();
  }
});
