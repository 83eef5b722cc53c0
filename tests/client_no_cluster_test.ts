/**
 * A real `fastchat client` with no cluster at its balancer URL: it says so in one line and
 * exits 1 at once, before it asks for a password or creates anything under `--data`. A
 * balancer that answers but has no live server is a different story, told differently.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { selfCommand } from "../core/cluster/self_command.ts";
import { ClientProc } from "./helpers/client_proc.ts";
import { freePort } from "./helpers/cluster.ts";

/** Generous for a loaded machine, far below the 30 s the client used to spend connecting. */
const _EXIT_WITHIN_MS = 20_000;

const _HINT = `; start one with "npm start" (or fastchat up), or give --balancer URL`;

/** Resolves with `done`, or kills the process and fails when it takes longer than `ms`. */
async function _exitWithin<T>(done: Promise<T>, kill: () => unknown, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      kill();
      reject(new Error(`The client did not exit within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function _entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names;
}

Deno.test("fastchat client --json exits 1 with one no_cluster error event when nothing listens at the balancer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fastchat-nocluster-" });
  const data = join(dir, "data");
  const balancer = `http://127.0.0.1:${freePort()}`;
  const proc = new ClientProc("alice", { balancer, data });
  try {
    const status = await _exitWithin(proc.finish(), () => proc.kill(), _EXIT_WITHIN_MS);
    assert.equal(status.code, 1, proc.stderr);
    assert.deepEqual(proc.events, [{
      event: "error",
      code: "no_cluster",
      message: `No FastChat cluster answers at ${balancer} (cannot connect)${_HINT}`,
    }]);
    assert.deepEqual(await _entries(data), [], "nothing created under --data");
  } finally {
    await proc.kill();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fastchat client in line mode prints one line and asks for no password when nothing listens at the balancer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fastchat-nocluster-" });
  const data = join(dir, "data");
  const balancers = [`http://127.0.0.1:${freePort()}`, `http://127.0.0.1:${freePort()}`];
  const { cmd, args } = selfCommand([
    "client",
    "--line",
    "--user",
    "alice",
    "--data",
    data,
    "--balancer",
    balancers.join(","),
  ]);
  const env = Deno.env.toObject();
  delete env.FASTCHAT_PASSWORD;
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env,
  }).spawn();
  try {
    const out = await _exitWithin(child.output(), () => child.kill("SIGKILL"), _EXIT_WITHIN_MS);
    const dec = new TextDecoder();
    const stdout = dec.decode(out.stdout);
    const stderr = dec.decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.equal(stdout, "");
    assert.equal(
      stderr,
      `No FastChat cluster answers at ${balancers[0]} (cannot connect) or ${balancers[1]} ` +
        `(cannot connect)${_HINT}\n`,
    );
    assert.doesNotMatch(stderr + stdout, /password|No keys for/i);
    assert.deepEqual(await _entries(data), [], "nothing created under --data");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fastchat client tells a balancer with no live server apart from no cluster at all", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fastchat-nocluster-" });
  // A balancer whose servers are all down: healthy itself, no server to assign.
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/healthz") return new Response("ok");
    return Response.json({ error: "no_live_server", message: "No live server is available" }, {
      status: 503,
    });
  });
  const balancer = `http://127.0.0.1:${server.addr.port}`;
  const proc = new ClientProc("alice", {
    balancer,
    data: join(dir, "data"),
    extraArgs: ["--connect-timeout", "1"],
  });
  try {
    const status = await _exitWithin(proc.finish(), () => proc.kill(), 60_000);
    assert.equal(status.code, 1, proc.stderr);
    const errors = proc.all("error");
    assert.equal(errors.length, 1, JSON.stringify(proc.events));
    assert.notEqual(errors[0]!.code, "no_cluster");
    assert.match(errors[0]!.message, /No live server is available/);
  } finally {
    await proc.kill();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
