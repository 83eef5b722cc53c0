/**
 * Runs the full-screen client: the engine (`ChatClient`) feeding a {@linkcode TuiController},
 * drawn by the Ink {@linkcode App}. Used by `fastchat client` when stdin and stdout are a
 * terminal.
 *
 * @module
 */

import React from "react";
import { render } from "ink";
import { ChatClient, type ChatClientOptions } from "../client/engine/chat_client.ts";
import type { ShutOut } from "../client/engine/chat_client.ts";
import { RequestError } from "../client/engine/errors.ts";
import { KeystoreError } from "../keystore/keystore_types.ts";
import { App } from "./app.tsx";
import { TuiController } from "./controller.ts";
import { guardTerminal } from "./terminal_guard.ts";
import { detectTerminalKind, drawsEmojiPresentationWide } from "./emoji_width.ts";
import { setNarrowEmojiPresentation } from "./text.ts";
import type { PresencePoller } from "../view/presence_poller.ts";
import { openSession, startEngine } from "../view/session_start.ts";

/** Options: the engine's, without the event sink (the screen is the sink). */
export type TuiOptions = Omit<ChatClientOptions, "emit">;

const _enc = new TextEncoder();

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

  // A wrong password is found before the screen is drawn: the caller says so on the shell's
  // screen, and nothing of a frame is drawn or left behind.
  try {
    await client.unlock();
  } catch (err) {
    unsubscribe();
    await client.close();
    if (err instanceof KeystoreError) throw err;
    console.error(`fastchat client: ${(err as Error).message}`);
    return 1;
  }

  // Emoji such as 🌤️ take the columns this terminal gives them.
  setNarrowEmojiPresentation(!drawsEmojiPresentationWide(await detectTerminalKind()));

  // The whole session runs on the alternate screen: leaving it brings the shell's screen back
  // as it was, with nothing of the frame left over, however the session ends.
  const guard = guardTerminal(_write, (raw) => Deno.stdin.setRaw(raw));
  const ink = render(React.createElement(App, { controller: c }), {
    exitOnCtrlC: false,
    patchConsole: true,
    alternateScreen: true,
    // The caller runs this only on a terminal; Ink would otherwise draw nothing until exit
    // when the environment says CI (CI=true), even on a real terminal.
    interactive: true,
  });
  let poller: PresencePoller | null = null;
  // Set once the screen is gone; what is said after that goes to the shell's screen.
  let left = false;
  const leave = async () => {
    if (left) return;
    left = true;
    poller?.stop();
    unsubscribe();
    ink.unmount();
    await ink.waitUntilExit().catch(() => {});
    guard.restored();
    guard.dispose();
    _write("\x1b]0;\x07");
  };
  try {
    // Quitting while still connecting (Ctrl-C, or a signal) ends it there.
    const started = await startEngine(client, [c.quitRequested, guard.signalled]);
    if (!started) {
      await leave();
      await client.close();
      return 0;
    }
  } catch (err) {
    await leave();
    await client.close();
    // The caller asks again for a wrong password and explains a taken name.
    if (err instanceof KeystoreError || err instanceof RequestError) throw err;
    console.error(`fastchat client: ${(err as Error).message}`);
    return 1;
  }
  try {
    c.act({ kind: "none" }, 0, 0);
    // Everyone's online status is asked again when a conversation is opened (what the
    // person looks at is fresh: a contact who blocked them shows as unknown).
    poller = await openSession(c, client, {
      run: (cmd) => client.run(cmd),
      presence: { watch: () => c.snapshot.view.current },
    });
    await poller.first;

    // Quitting (Ctrl-C, Ctrl-D, /quit), a quit signal, or being shut out (logged out
    // elsewhere, the account gone, the connection lost for good) ends the session.
    let shutOut: ShutOut | null = null;
    await Promise.race([
      c.quitRequested,
      guard.signalled,
      client.shutOut.then((why) => {
        shutOut = why;
      }),
    ]);
    poller.stop();
    await c.idle();
    const drained = shutOut !== null || await client.drain(5_000);
    await leave();
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
  } finally {
    // An error on the way: the shell gets its screen back before the error is reported.
    await leave();
    guard.restore();
  }
}

function _write(text: string): void {
  try {
    Deno.stdout.writeSync(_enc.encode(text));
  } catch {
    // the terminal is gone
  }
}
