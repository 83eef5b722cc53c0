/**
 * A real `fastchat client --json` process for end-to-end tests: commands go to its stdin,
 * its JSON events are collected from stdout.
 *
 * @module
 */

import { type ClientEvent, EventLog } from "../../core/client/engine/events.ts";
import { selfCommand } from "../../core/cluster/self_command.ts";

/** A running client process. */
export class ClientProc {
  readonly user: string;
  readonly child: Deno.ChildProcess;
  readonly log = new EventLog();
  /** Every event so far. */
  get events(): ClientEvent[] {
    return this.log.events;
  }
  stderr = "";
  readonly done: Promise<Deno.CommandStatus>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #stdinClosed = false;

  constructor(
    user: string,
    opts: {
      balancer: string;
      data: string;
      password?: string;
      extraArgs?: string[];
      /** A command prefix, e.g. `["ip", "netns", "exec", NS]` to run on a lab host. */
      wrap?: readonly string[];
    },
  ) {
    this.user = user;
    const self = selfCommand([
      "client",
      "--json",
      "--balancer",
      opts.balancer,
      "--user",
      user,
      "--data",
      opts.data,
      "--keystore-scrypt-n",
      "1024",
      ...(opts.extraArgs ?? []),
    ]);
    const [cmd, ...args] = [...(opts.wrap ?? []), self.cmd, ...self.args] as [string, ...string[]];
    this.child = new Deno.Command(cmd, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { FASTCHAT_PASSWORD: opts.password ?? `pw-of-${user}` },
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    this.log.describe = () => `\n${user}'s stderr:\n${this.stderr}`;
    const dec = new TextDecoder();
    const readOut = async () => {
      let pending = "";
      for await (const chunk of this.child.stdout) {
        pending += dec.decode(chunk, { stream: true });
        let nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (line.trim() !== "") this.log.push(JSON.parse(line));
        }
      }
    };
    const readErr = async () => {
      for await (const chunk of this.child.stderr) this.stderr += dec.decode(chunk);
    };
    const pumps = Promise.all([readOut(), readErr()]);
    this.done = this.child.status.then(async (s) => {
      await pumps;
      return s;
    });
  }

  /** Sends one command line. */
  async send(line: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(line + "\n"));
  }

  /** Waits for an event; see {@linkcode EventLog.waitFor}. */
  waitFor: EventLog["waitFor"] = (event, pred, timeoutMs) =>
    this.log.waitFor(event, pred, timeoutMs);

  /** Events of one kind. */
  all: EventLog["all"] = (event) => this.log.all(event);

  /** Ends input (the client drains and exits) and waits for the exit status. */
  async finish(): Promise<Deno.CommandStatus> {
    if (!this.#stdinClosed) {
      this.#stdinClosed = true;
      await this.#writer.close().catch(() => {});
    }
    return await this.done;
  }

  /** Kills the process (cleanup). */
  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // gone
    }
    await this.done.catch(() => {});
  }
}

/**
 * `p`, put in group `name` by someone who is not their contact (a request until accepted),
 * accepts it; resolves with the group's ID once joined.
 */
export async function acceptGroup(p: ClientProc, name: string): Promise<number> {
  const asked = await p.waitFor("group_request", (e) => e.name === name);
  await p.send(`accept ${asked.group}`);
  await p.waitFor("group_joined", (e) => e.group === asked.group);
  return asked.group;
}
