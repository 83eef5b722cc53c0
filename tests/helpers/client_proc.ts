/**
 * A real `fastchat client --json` process for end-to-end tests: commands go to its stdin,
 * its JSON events are collected from stdout.
 *
 * @module
 */

import type { ClientEvent } from "../../core/client/events.ts";
import { selfCommand } from "../../core/cluster/self_command.ts";

/** A running client process. */
export class ClientProc {
  readonly user: string;
  readonly child: Deno.ChildProcess;
  readonly events: ClientEvent[] = [];
  stderr = "";
  readonly done: Promise<Deno.CommandStatus>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #stdinClosed = false;

  constructor(
    user: string,
    opts: { balancer: string; data: string; password?: string; extraArgs?: string[] },
  ) {
    this.user = user;
    const { cmd, args } = selfCommand([
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
    this.child = new Deno.Command(cmd, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { FASTCHAT_PASSWORD: opts.password ?? `pw-of-${user}` },
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    const dec = new TextDecoder();
    const readOut = async () => {
      let pending = "";
      for await (const chunk of this.child.stdout) {
        pending += dec.decode(chunk, { stream: true });
        let nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (line.trim() !== "") this.events.push(JSON.parse(line));
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

  /** Waits for an event matching `pred` (searching all events so far) and returns it. */
  async waitFor<E extends ClientEvent["event"]>(
    event: E,
    pred: (e: Extract<ClientEvent, { event: E }>) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<Extract<ClientEvent, { event: E }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) =>
        e.event === event && pred(e as Extract<ClientEvent, { event: E }>)
      );
      if (found) return found as Extract<ClientEvent, { event: E }>;
      if (Date.now() > deadline) {
        throw new Error(
          `${this.user}: no ${event} event in time. Events:\n${
            this.events.map((e) => JSON.stringify(e)).join("\n")
          }\nstderr:\n${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Events of one kind. */
  all<E extends ClientEvent["event"]>(event: E): Extract<ClientEvent, { event: E }>[] {
    return this.events.filter((e) => e.event === event) as Extract<ClientEvent, { event: E }>[];
  }

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
