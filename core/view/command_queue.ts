/**
 * How a client's controller runs engine commands, the same in the terminal and the browser:
 * one at a time, in the order they were entered; a typed command whose answer is a list
 * (friends, groups, messages) makes the view wait for that answer; a failure becomes an
 * error notice; and a conversation's stored history is asked for the first time it is
 * opened. Browser-safe.
 *
 * @module
 */

import type { ClientCommand } from "../client/engine/commands.ts";
import { answered, answerOf, awaitAnswer, notice, type ViewState } from "./view_state.ts";

/** Messages loaded when a conversation is first opened. */
export const HISTORY_PAGE = 200;

/** What runs the commands (the engine). */
export interface CommandEngine {
  run(cmd: ClientCommand): Promise<void>;
}

/** The view the queue updates: read it, and replace it (the controller then redraws). */
export interface ViewAccess {
  get(): ViewState;
  set(view: ViewState): void;
}

/** See the module documentation. */
export class CommandQueue {
  readonly #engine: CommandEngine;
  readonly #view: ViewAccess;
  #tail: Promise<void> = Promise.resolve();
  /** Conversations whose history was asked for. */
  readonly #loaded = new Set<string>();

  constructor(engine: CommandEngine, view: ViewAccess) {
    this.#engine = engine;
    this.#view = view;
  }

  /**
   * Runs `cmd` after the ones before it; resolves once it has run. `typed`: the user entered
   * it, so its answer (a list) is written out in the open conversation.
   */
  run(cmd: ClientCommand, typed = false): Promise<void> {
    const view = this.#view;
    const answer = typed ? answerOf(cmd.name) : null;
    this.#tail = this.#tail.then(() => {
      if (answer !== null) view.set(awaitAnswer(view.get(), answer));
      return this.#engine.run(cmd).catch((err) => {
        view.set(notice(view.get(), (err as Error).message, true));
      }).finally(() => {
        // Its answer came while it ran, or never will: stop waiting for it.
        if (answer !== null && view.get().awaiting.includes(answer)) {
          view.set(answered(view.get(), answer));
        }
      });
    });
    return this.#tail;
  }

  /** Asks once for the stored history of the conversation `view` shows. */
  loadHistory(view: ViewState): void {
    const conv = view.conversations.find((c) => c.key === view.current);
    if (conv === undefined || conv.kind === "status" || this.#loaded.has(conv.key)) return;
    this.#loaded.add(conv.key);
    const target = conv.kind === "group" ? String(conv.id) : conv.name;
    void this.run({ name: "history", target, count: HISTORY_PAGE });
  }

  /** Resolves once every command so far has run. */
  idle(): Promise<void> {
    return this.#tail;
  }
}
