/**
 * A long-lived Python interop peer that keeps state between requests (a ratchet session, say):
 * one JSON request per line on its stdin, one JSON answer per line on its stdout, in order.
 * For one-shot scripts use `runPython` (python.ts).
 *
 * @module
 */

import { PYTHON } from "./python.ts";

/** A running peer; `close()` ends it and waits for it to exit. */
export interface PythonPeer {
  /** Sends one request and returns its answer. */
  request<T = Record<string, unknown>>(req: unknown): Promise<T>;
  /** Closes stdin and waits for the process to exit; throws with its stderr if it failed. */
  close(): Promise<void>;
}

/** Starts `tests/python/<script>` as a JSON-lines peer. */
export function startPythonPeer(script: string): PythonPeer {
  const path = new URL(`../python/${script}`, import.meta.url).pathname;
  const child = new Deno.Command(PYTHON, {
    args: [path],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(_splitLines())
    .getReader();
  const stderr = new Response(child.stderr).text();
  return {
    async request<T>(req: unknown): Promise<T> {
      await writer.write(new TextEncoder().encode(JSON.stringify(req) + "\n"));
      const { value, done } = await lines.read();
      if (done) {
        throw new Error(`Python peer ${script} exited:\n${await stderr}`);
      }
      return JSON.parse(value) as T;
    },
    async close(): Promise<void> {
      await writer.close();
      const rest = await lines.read();
      lines.releaseLock();
      const status = await child.status;
      const err = await stderr;
      if (!rest.done || !status.success) {
        throw new Error(`Python peer ${script} ended with ${status.code}:\n${err}`);
      }
    },
  };
}

/** Splits text into lines (without their "\n"). */
function _splitLines(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf("\n")) >= 0) {
        controller.enqueue(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
      }
    },
    flush(controller) {
      if (buffer !== "") controller.enqueue(buffer);
    },
  });
}
