/**
 * The `fastchat` subcommands, one file each. `main.ts` dispatches to the entries of
 * {@linkcode COMMANDS}; subcommands arrive with the issues that define them.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { balanceCommand } from "./balance.ts";
import { benchCommand } from "./bench.ts";
import { clientCommand } from "./client.ts";
import { demoCommand } from "./demo.ts";
import { serverCommand } from "./server.ts";
import { upCommand } from "./up.ts";

export type { Command } from "./command.ts";
export { UsageError } from "./command.ts";

/** Every subcommand, in the order the usage text lists them. */
export const COMMANDS: readonly Command[] = [
  upCommand,
  serverCommand,
  balanceCommand,
  clientCommand,
  demoCommand,
  benchCommand,
];
