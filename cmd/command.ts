/**
 * The shape of a `fastchat` subcommand. Each file in `cmd/` exports one, kept thin: it
 * parses its flags with the helpers of `flags.ts` and calls into `core/`.
 *
 * @module
 */

/** A subcommand of `fastchat`. */
export interface Command {
  /** The word after `fastchat`, e.g. `server`. */
  readonly name: string;
  /** One line for the usage text. */
  readonly summary: string;
  /** Runs the subcommand with the arguments after its name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

/** Thrown for bad command-line usage; `main` prints it with the usage text and exits 2. */
export class UsageError extends Error {
  /** Stable code for callers. */
  readonly code = "usage";
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
