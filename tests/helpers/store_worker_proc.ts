/**
 * Starts `tests/helpers/store_worker.ts` as a child process, with line-wise access to its
 * stdout, for the store tests that need several processes on one database.
 *
 * @module
 */

const _WORKER = new URL("./store_worker.ts", import.meta.url).pathname;

/** A running worker process. */
export interface StoreWorker {
  /** The next line the worker printed. */
  nextLine(): Promise<string>;
  /** Writes to the worker's stdin. */
  send(text: string): Promise<void>;
  /** Closes stdin, waits for the exit, and returns every line printed and stderr. */
  finish(): Promise<{ code: number; lines: string[]; stderr: string }>;
}

/** Spawns a worker with `args` (LOCATION MODE ...). */
export function spawnStoreWorker(args: string[]): StoreWorker {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", _WORKER, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = child.stdin.getWriter();
  let buffered = "";
  const lines: string[] = [];
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`Worker ended before a full line; stderr: ${await stderr}`);
      buffered += value;
    }
  };
  return {
    nextLine,
    send: (text) => writer.write(new TextEncoder().encode(text)),
    finish: async () => {
      await writer.close();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
      }
      lines.push(...buffered.split("\n").filter((l) => l !== ""));
      const status = await child.status;
      return { code: status.code, lines, stderr: await stderr };
    },
  };
}
