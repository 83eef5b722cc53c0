/**
 * `fastchat`: one program, several subcommands over a shared core. This file only
 * dispatches; each subcommand lives in `cmd/`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { COMMANDS, UsageError } from "./cmd/mod.ts";
import { VERSION } from "./core/version.ts";

/** The top-level usage text. */
export function usage(): string {
  const width = Math.max(8, ...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "Usage: fastchat <command> [options]",
    "",
    "FastChat: fast, end-to-end encrypted chat.",
    "",
    "Commands:",
    ...(lines.length > 0 ? lines : ["  (none yet)"]),
    "",
    "Options:",
    "  -h, --help     Show this help (or `fastchat <command> --help`)",
    "  -V, --version  Show the version",
  ].join("\n");
}

/**
 * Runs `fastchat` with `args` (without the program name) and resolves to the exit code:
 * 0 on success, 1 on failure, 2 on bad usage.
 */
export async function main(args: string[]): Promise<number> {
  const first = args[0];
  const command = COMMANDS.find((c) => c.name === first);
  if (command) {
    try {
      return await command.run(args.slice(1));
    } catch (err) {
      if (err instanceof UsageError) {
        console.error(`fastchat ${command.name}: ${err.message}`);
        console.error(`Run 'fastchat ${command.name} --help' for usage.`);
        return 2;
      }
      // Expected failures (a bad servers file, a port in use) get one clear line; the
      // stack is for developers.
      console.error(`fastchat ${command.name}: ${(err as Error)?.message ?? String(err)}`);
      if (Deno.env.get("FASTCHAT_DEBUG")) console.error(err);
      return 1;
    }
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    console.error(`fastchat: ${(err as Error).message}`);
    console.error(usage());
    return 2;
  }
  if (parsed.values.version) {
    console.log(`fastchat ${VERSION}`);
    return 0;
  }
  if (parsed.values.help && parsed.positionals.length === 0) {
    console.log(usage());
    return 0;
  }
  if (first === undefined) {
    console.error(usage());
    return 2;
  }
  console.error(`fastchat: unknown command "${first}"`);
  console.error(usage());
  return 2;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
