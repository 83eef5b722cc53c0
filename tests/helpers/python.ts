/**
 * Runs a Python reference script for interop tests. The script reads one JSON value on
 * stdin and writes one JSON value on stdout. Debian's `/usr/bin/python3` carries
 * `python3-cryptography` and `python3-rsa`; `FASTCHAT_PYTHON` overrides the interpreter.
 *
 * @module
 */

/** The interpreter used for interop tests. */
export const PYTHON = Deno.env.get("FASTCHAT_PYTHON") ?? "/usr/bin/python3";

/**
 * Runs `tests/python/<script>` with `input` as JSON on stdin and returns its parsed JSON
 * stdout. Throws with the script's stderr when it exits non-zero.
 */
export async function runPython<T = unknown>(script: string, input: unknown): Promise<T> {
  const path = new URL(`../python/${script}`, import.meta.url).pathname;
  const child = new Deno.Command(PYTHON, {
    args: [path],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const err = new TextDecoder().decode(stderr);
  if (code !== 0) throw new Error(`Python script ${script} exited with ${code}:\n${err}`);
  return JSON.parse(new TextDecoder().decode(stdout)) as T;
}
