/**
 * Runs the full-screen client: the engine (`ChatClient`) feeding a {@linkcode TuiController},
 * drawn by the Ink {@linkcode App}. Used by `fastchat client` when stdin and stdout are a
 * terminal.
 *
 * @module
 */

import React from "react";
import { render } from "ink";
import { ChatClient, type ChatClientOptions } from "../client/chat_client.ts";
import type { ShutOut } from "../client/chat_client.ts";
import { RequestError } from "../client/errors.ts";
import { KeystoreError } from "../client/keystore_types.ts";
import { App } from "./app.tsx";
import { TuiController } from "./controller.ts";

/** Options: the engine's, without the event sink (the screen is the sink). */
export type TuiOptions = Omit<ChatClientOptions, "emit">;

const _enc = new TextEncoder();

/** How often contacts' online status is asked, milliseconds. */
export const PRESENCE_POLL_MS = 15_000;

/** Runs until the user quits or is shut out; resolves to the exit code. */
export async function runTui(opts: TuiOptions): Promise<number> {
  let controller: TuiController | null = null;
  const early: Parameters<TuiController["onEvent"]>[0][] = [];
  const client = new ChatClient({
    ...opts,
    emit: (e) => controller ? controller.onEvent(e) : early.push(e),
  });
  controller = new TuiController(opts.username, client);
  for (const e of early) controller.onEvent(e);
  const c = controller;

  // A bell and the unread count in the window title for messages in other conversations.
  let bells = 0;
  const unsubscribe = c.subscribe(() => {
    const v = c.snapshot.view;
    if (v.bell === bells) return;
    bells = v.bell;
    const unread = v.conversations.reduce((n, x) => n + x.unread, 0);
    _write(`\x07\x1b]0;FastChat: ${unread} unread\x07`);
  });

  const ink = render(React.createElement(App, { controller: c }), {
    exitOnCtrlC: false,
    patchConsole: true,
    // The caller runs this only on a terminal; Ink would otherwise draw nothing until exit
    // when the environment says CI (CI=true), even on a real terminal.
    interactive: true,
  });
  try {
    await client.start();
  } catch (err) {
    ink.unmount();
    unsubscribe();
    await client.close();
    // The caller asks again for a wrong password and explains a taken name.
    if (err instanceof KeystoreError || err instanceof RequestError) throw err;
    console.error(`fastchat client: ${(err as Error).message}`);
    return 1;
  }
  c.act({ kind: "none" }, 0, 0);
  await client.run({ name: "friends" });
  await client.run({ name: "groups" });
  // Online status of contacts: asked now and every 15 s (one lookup each, answered from the
  // server's memory).
  const poll = async () => c.onPresence(await client.presence(c.contactIds()));
  await poll();
  const presenceTimer = setInterval(() => void poll().catch(() => {}), PRESENCE_POLL_MS);
  // A new contact is asked about at once, and so is everyone when a conversation is opened
  // (what the person looks at is fresh: a contact who blocked them shows as unknown).
  let contacts = c.contactIds().length;
  let open = c.snapshot.view.current;
  const unwatch = c.subscribe(() => {
    const n = c.contactIds().length;
    const now = c.snapshot.view.current;
    if (n === contacts && now === open) return;
    contacts = n;
    open = now;
    void poll().catch(() => {});
  });

  let shutOut: ShutOut | null = null;
  await Promise.race([
    c.quitRequested,
    client.shutOut.then((why) => {
      shutOut = why;
    }),
  ]);
  clearInterval(presenceTimer);
  unwatch();
  await c.idle();
  const drained = shutOut !== null || await client.drain(5_000);
  ink.unmount();
  unsubscribe();
  _write("\x1b]0;\x07");
  await client.close();
  const why = shutOut as ShutOut | null;
  if (why !== null) {
    console.log(why.message);
    return why.reason === "logout" ? 0 : 1;
  }
  if (!drained) {
    console.log("Some messages were not accepted yet; they are sent at the next start.");
  }
  return 0;
}

function _write(text: string): void {
  try {
    Deno.stdout.writeSync(_enc.encode(text));
  } catch {
    // the terminal is gone
  }
}
