/**
 * How `fastchat` starts another `fastchat` process (for `up` and the benchmark): the same
 * binary when compiled, or the same Deno with this project's config and permissions when
 * run from source. No dynamic import of local files, so `deno compile` keeps working.
 *
 * @module
 */

import { basename } from "node:path";
import { fileURLToPath } from "node:url";

/** Permissions every child process gets (the same the `fastchat` task grants). */
export const CHILD_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
] as const;

/** The executable and leading arguments that run `fastchat <args>` in a new process. */
export function selfCommand(args: readonly string[]): { cmd: string; args: string[] } {
  const exe = _execPath();
  if (!/^deno(\.exe)?$/.test(basename(exe))) return { cmd: exe, args: [...args] };
  const main = fileURLToPath(new URL("../../main.ts", import.meta.url));
  const config = fileURLToPath(new URL("../../deno.json", import.meta.url));
  return {
    cmd: exe,
    args: [
      "run",
      "--quiet",
      `--config=${config}`,
      ...CHILD_PERMISSIONS,
      ..._extraFlags(),
      main,
      ...args,
    ],
  };
}

/**
 * This process's executable. On Linux, once that file was replaced (`npm ci` unlinks
 * node_modules and writes it anew), `Deno.execPath()` reads "/path/deno (deleted)": the new
 * file at the same path is the one to run. (If nothing is there yet, the spawn fails and
 * the supervisor retries.)
 */
function _execPath(): string {
  return Deno.execPath().replace(/ \(deleted\)$/, "");
}

/**
 * Extra `deno run` flags for children from FASTCHAT_CHILD_DENO_FLAGS (space-separated), so a
 * cluster can be profiled as it runs, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 */
function _extraFlags(): string[] {
  let raw: string | undefined;
  try {
    raw = Deno.env.get("FASTCHAT_CHILD_DENO_FLAGS");
  } catch {
    return [];
  }
  return raw ? raw.split(/\s+/).filter((f) => f.startsWith("--")) : [];
}
