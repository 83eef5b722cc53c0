/**
 * Stopping the benchmark's child processes (generators, connection holders) the same way:
 * close their stdin, which asks them to finish, and kill them if they take too long.
 *
 * @module
 */

/**
 * Closes `stdin` (the child finishes when it reads its end) and waits for `done`; kills the
 * child with `kill` if `done` takes longer than `ms`.
 */
export async function closeChild<T>(
  stdin: WritableStreamDefaultWriter<Uint8Array>,
  done: Promise<T>,
  kill: () => void,
  ms: number,
): Promise<T> {
  await stdin.close().catch(() => {});
  const timer = setTimeout(kill, ms);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}

/** Kills `child` with SIGKILL unless it has exited (a child gone meanwhile is fine). */
export function killChild(child: Deno.ChildProcess, exited: () => boolean): void {
  if (exited()) return;
  try {
    child.kill("SIGKILL");
  } catch {
    // Already gone.
  }
}
