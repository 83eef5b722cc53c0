/**
 * `fastchat client`: the user's terminal client. Full screen on a terminal (`core/tui/`);
 * one command per line otherwise, or with `--line` (with `--json`, one JSON event per line
 * on stdout).
 *
 * @module
 */

import { join } from "node:path";
import { denoClientPorts } from "../core/client/deno/deno_ports.ts";
import {
  ChatClient,
  type ChatClientOptions,
  type ShutOut,
} from "../core/client/engine/chat_client.ts";
import { RequestError } from "../core/client/engine/errors.ts";
import {
  NoClusterError,
  PROBE_TIMEOUT_MS,
  probeCluster,
} from "../core/client/transport/cluster_probe.ts";
import { KEYSTORE_N_RANGE } from "../core/keystore/keystore_cipher.ts";
import { KeystoreError } from "../core/keystore/keystore_types.ts";
import { CommandError, parseCommand } from "../core/client/engine/commands.ts";
import type { ClientEvent } from "../core/client/engine/events.ts";
import { renderEvent } from "../core/view/event_text.ts";
import { promptPassword, stdinLines } from "../core/client/deno/terminal.ts";
import { LIMITS } from "../core/protocol/mod.ts";
import { runTui } from "../core/tui/run_tui.ts";
import { type Command, UsageError } from "./command.ts";
import { numberFlag, parseFlags, scryptCostFlag } from "./flags.ts";

const _USAGE = `Usage: fastchat client [options]

The FastChat terminal client. Asks the balancer for a server, registers (first time) or
logs in, and keeps your keys and history encrypted under DATA/USER/. If no balancer
answers within 3 s, it says so and exits before asking for anything.

Options:
  --balancer URL        Balancer to join through (default http://127.0.0.1:7100); give
                        it several times (or comma-separated) and the next is asked
                        when one is down
  --user NAME           Your username (asked on a terminal if omitted)
  --data DIR            Where keystores and received files live (default ~/.fastchat)
  --password-file FILE  Read the password from FILE's first line (else FASTCHAT_PASSWORD,
                        else asked on the terminal without echo)
  --json                Print one JSON event per line (for scripts; implies --line)
  --line                One command per line even on a terminal, no full screen
  --connect-timeout S   Seconds to keep trying to reach a server (default 30)
  --device-name NAME    This device's name in your list of devices (default: the host
                        name); "devices" inside the client lists them
  -h, --help            Show this help

Type "help" inside the client for its commands.`;

const _enc = new TextEncoder();

/** `fastchat client`. */
export const clientCommand: Command = {
  name: "client",
  summary: "The end-to-end encrypted terminal client",
  async run(args) {
    const values = parseFlags(args, {
      balancer: { type: "string", multiple: true },
      user: { type: "string" },
      data: { type: "string" },
      "password-file": { type: "string" },
      json: { type: "boolean" },
      line: { type: "boolean" },
      "connect-timeout": { type: "string" },
      "keystore-scrypt-n": { type: "string" },
      "device-name": { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      console.log(_USAGE);
      return 0;
    }
    const interactive = Deno.stdin.isTerminal();
    const json = values.json ?? false;
    if (values.user === undefined && !interactive) {
      throw new UsageError("--user is required when stdin is not a terminal");
    }
    if (values.user !== undefined) _checkUsername(values.user);
    const balancers = (values.balancer ?? ["http://127.0.0.1:7100"])
      .flatMap((b) => b.split(","))
      .map((b) => b.trim())
      .filter((b) => b !== "");
    if (balancers.length === 0) throw new UsageError("--balancer needs a URL");
    for (const b of balancers) {
      let url: URL | undefined;
      try {
        url = new URL(b);
      } catch {
        url = undefined;
      }
      if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
        throw new UsageError(
          `--balancer must be an http(s) URL like http://127.0.0.1:7100, got "${b}"`,
        );
      }
    }
    const timeout = numberFlag("--connect-timeout", values["connect-timeout"], {
      min: 1,
      max: 3600,
      fallback: 30,
      note: "seconds",
    });
    // Checked before the cluster is probed, like every other flag; used at registration.
    const keystoreScryptN = scryptCostFlag(
      "--keystore-scrypt-n",
      values["keystore-scrypt-n"],
      KEYSTORE_N_RANGE,
    );
    const deviceName = _deviceName(values["device-name"]);
    // Nothing is asked, opened or generated before we know a cluster is there.
    const noCluster = await _noCluster(balancers, Math.min(PROBE_TIMEOUT_MS, timeout * 1000));
    if (noCluster !== null) {
      if (json) _writeEvent({ event: "error", message: noCluster.message, code: noCluster.code });
      else console.error(noCluster.message);
      return 1;
    }
    const user = values.user ?? _checkUsername(prompt("Username:")?.trim() ?? "");
    const dataDir = values.data ?? join(Deno.env.get("HOME") ?? ".", ".fastchat");
    const account = await _account(dataDir, user, values["password-file"]);
    const base = {
      balancerUrls: balancers,
      ...denoClientPorts(dataDir, user),
      username: user,
      connectTimeoutS: timeout,
      keystoreScryptN,
      deviceName,
    };
    if (interactive && Deno.stdout.isTerminal() && !json && !values.line) {
      return await _withRetries(account, (password) => runTui({ ...base, password }));
    }
    return await _withRetries(account, (password) =>
      _lineMode({ ...base, password }, {
        json,
        interactive,
      }));
  },
};

/**
 * This device's name: the flag's, else the host name; 1 to 64 characters without control
 * characters or spaces at either end (a device list's rule), else a {@linkcode UsageError}.
 */
function _deviceName(flag: string | undefined): string {
  const name = flag ?? _hostName();
  if (name.length < 1 || name.length > 64 || /\p{Cc}/u.test(name) || name.trim() !== name) {
    throw new UsageError(
      `--device-name must be 1 to 64 characters without control characters or spaces at ` +
        `either end, got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

function _hostName(): string {
  try {
    return Deno.hostname().slice(0, 64).trim() || "terminal";
  } catch {
    return "terminal";
  }
}

/** Returns a valid `user`; throws a {@linkcode UsageError} otherwise. */
function _checkUsername(user: string): string {
  if (!LIMITS.usernamePattern.test(user)) {
    throw new UsageError(
      `"${user}" is not a valid username: 3 to 32 letters, digits, "_", "." or "-"`,
    );
  }
  return user;
}

/** Null when a balancer answers; else why none does (see cluster_probe.ts). */
async function _noCluster(
  balancers: readonly string[],
  timeoutMs: number,
): Promise<NoClusterError | null> {
  try {
    await probeCluster(balancers, { timeoutMs });
    return null;
  } catch (err) {
    if (err instanceof NoClusterError) return err;
    throw err;
  }
}

function _writeEvent(e: ClientEvent): void {
  Deno.stdout.writeSync(_enc.encode(JSON.stringify(e) + "\n"));
}

/** The account being opened: a new one (no keystore here) or one this device has keys for. */
interface _Account {
  readonly user: string;
  readonly dir: string;
  readonly isNew: boolean;
  /** The password was typed at the terminal (so a wrong one can be asked again). */
  readonly typed: boolean;
  password: string;
}

/**
 * Works out whether this is a new account and gets its password: a new one is checked
 * against the policy and asked twice before any key is generated.
 */
async function _account(
  dataDir: string,
  user: string,
  file: string | undefined,
): Promise<_Account> {
  const dir = join(dataDir, user);
  const isNew = !(await _exists(join(dir, "keystore.db")));
  const typed = file === undefined && !Deno.env.get("FASTCHAT_PASSWORD");
  if (isNew) {
    console.error(
      `No keys for "${user}" on this device (${dir}): this creates a new account named "${user}".`,
    );
  }
  if (!isNew || !typed) {
    const password = await _password(file);
    if (isNew && password.length < LIMITS.passwordMin) {
      throw new UsageError(
        `a new account's password needs at least ${LIMITS.passwordMin} characters`,
      );
    }
    return { user, dir, isNew, typed, password };
  }
  for (let tries = 0; tries < 3; tries++) {
    const first = await _prompt(`Choose a password (at least ${LIMITS.passwordMin} characters): `);
    if (first.length < LIMITS.passwordMin) {
      console.error(
        `That has ${first.length} characters; a password needs at least ${LIMITS.passwordMin}.`,
      );
      continue;
    }
    if (first.length > LIMITS.passwordMax) {
      console.error(`A password may have at most ${LIMITS.passwordMax} characters.`);
      continue;
    }
    if ((await _prompt("Type it again: ")) === first) {
      return { user, dir, isNew, typed, password: first };
    }
    console.error("The two passwords differ; try again.");
  }
  throw new UsageError("no password chosen; nothing was created");
}

/**
 * Runs a session; a wrong password typed at the terminal is asked again (three tries in all),
 * and a name registered by someone else (or on another device) is explained.
 */
async function _withRetries(
  account: _Account,
  run: (password: string) => Promise<number>,
): Promise<number> {
  for (let attempt = 1;; attempt++) {
    try {
      return await run(account.password);
    } catch (err) {
      if (err instanceof KeystoreError && err.code === "wrong_password") {
        if (account.typed && attempt < 3) {
          console.error(`Wrong password for ${account.user}; try again (${3 - attempt} left).`);
          account.password = await _prompt("Password: ");
          continue;
        }
        console.error(`fastchat client: wrong password for ${account.user}`);
        return 1;
      }
      if (err instanceof RequestError && err.code === "username_taken" && account.isNew) {
        console.error(
          `fastchat client: the username "${account.user}" is registered already, but this device ` +
            `has no keys for it (nothing in ${account.dir}).\n` +
            "If it is yours, run the client on the device you registered from, or copy the " +
            `"${account.user}" directory of its data directory (keystore.db and files/) to ` +
            `${account.dir} here; linking a second device is not possible yet. Otherwise ` +
            "choose another username.",
        );
        return 1;
      }
      throw err;
    }
  }
}

async function _prompt(text: string): Promise<string> {
  try {
    return await promptPassword(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function _exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** The line mode: one command per line (or JSON events with `json`). */
async function _lineMode(
  opts: Omit<ChatClientOptions, "emit">,
  { json, interactive }: { json: boolean; interactive: boolean },
): Promise<number> {
  const write = (text: string) => Deno.stdout.writeSync(_enc.encode(text));
  const promptText = "> ";
  let busy = false;
  // What receipts and group events need to say "you" and quote your message.
  let myId: number | undefined;
  const sentTexts = new Map<string, string>();
  const ctx = {
    get myId() {
      return myId;
    },
    sentText: (id: string) => sentTexts.get(id),
  };
  const emit = (e: ClientEvent) => {
    if (json) {
      write(JSON.stringify(e) + "\n");
      return;
    }
    if (e.event === "ready") myId = e.id;
    if (e.event === "sent" && e.text !== undefined) {
      sentTexts.set(e.client_msg_id, e.text);
      if (sentTexts.size > 10_000) sentTexts.delete(sentTexts.keys().next().value!);
    }
    const text = renderEvent(e, ctx);
    if (text === null) return;
    if (interactive && e.event === "progress" && e.done < e.total) {
      // One progress line per transfer, rewritten in place.
      write(`\r\x1b[K${text}`);
      return;
    }
    // On a terminal, print above the prompt; redraw the prompt unless a command is running
    // (the loop draws it when the command is done).
    if (interactive) write(`\r\x1b[K${text}\n${busy ? "" : promptText}`);
    else write(text + "\n");
  };
  const client = new ChatClient({ ...opts, emit });
  try {
    await client.start();
  } catch (err) {
    await client.close();
    // The caller asks again for a wrong password and explains a taken name.
    if (err instanceof KeystoreError || err instanceof RequestError) throw err;
    emit({ event: "error", message: (err as Error).message });
    return 1;
  }

  // SIGTERM ends the session like end of input, even while waiting for a line.
  const stopped = Promise.withResolvers<null>();
  const stop = () => stopped.resolve(null);
  Deno.addSignalListener("SIGTERM", stop);
  // The "ready" line has drawn the first prompt.
  const lines = stdinLines();
  let shutOut: ShutOut | null = null;
  const ended = client.shutOut.then((why) => {
    shutOut = why;
    return null;
  });
  for (;;) {
    const next = await Promise.race([lines.next(), stopped.promise, ended]);
    if (next === null || next.done) break;
    const line = next.value;
    let cmd;
    try {
      cmd = parseCommand(line);
    } catch (err) {
      if (err instanceof CommandError) emit({ event: "error", message: err.message });
      else throw err;
      if (interactive) write(promptText);
      continue;
    }
    if (cmd === null) {
      if (interactive) write(promptText);
      continue;
    }
    if (cmd.name === "quit") break;
    busy = true;
    await client.run(cmd);
    busy = false;
    if (shutOut !== null) break;
    if (interactive) write(promptText);
  }
  Deno.removeSignalListener("SIGTERM", stop);
  if (shutOut !== null) {
    // The event line already said why; nothing typed can be sent any more.
    emit({ event: "quit" });
    await client.close();
    if (interactive) write("\n");
    return (shutOut as ShutOut).reason === "logout" ? 0 : 1;
  }
  // End of input: let every sent message be accepted first (bounded).
  const drained = await client.drain();
  if (!drained) emit({ event: "error", message: "Some messages were not acknowledged in time" });
  emit({ event: "quit" });
  await client.close();
  if (interactive) write("\n");
  return drained ? 0 : 1;
}

async function _password(file: string | undefined): Promise<string> {
  if (file !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      throw new UsageError(`cannot read --password-file ${file}: ${(err as Error).message}`);
    }
    const first = text.split(/\r?\n/)[0] ?? "";
    if (first === "") throw new UsageError(`--password-file ${file} is empty`);
    return first;
  }
  const env = Deno.env.get("FASTCHAT_PASSWORD");
  if (env !== undefined && env !== "") return env;
  try {
    return await promptPassword();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
