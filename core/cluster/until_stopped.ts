/**
 * How a long-running command (`fastchat server`, `fastchat balance`) waits until it should
 * stop: SIGINT or SIGTERM, or, when `fastchat up` started it, the end of its stdin. The
 * supervisor holds the write end of that pipe open and never writes to it; when the
 * supervisor is gone for any reason, `kill -9` included, the kernel closes it and the child
 * reads EOF, so no child outlives its supervisor.
 *
 * @module
 */

/** Set to `1` by the supervisor on its children: stop at the end of stdin. */
export const SUPERVISED_ENV = "FASTCHAT_SUPERVISED";

/** Why {@linkcode untilStopped} resolved. */
export type StopReason = "SIGINT" | "SIGTERM" | "supervisor_gone";

/**
 * Resolves on the first SIGINT or SIGTERM, or, when {@linkcode SUPERVISED_ENV} is `1`, when
 * stdin reaches its end (or fails); then stops listening for all of them.
 */
export function untilStopped(): Promise<StopReason> {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const { promise, resolve } = Promise.withResolvers<StopReason>();
  const handlers = signals.map((s) => [s, () => finish(s as StopReason)] as const);
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let finished = false;
  const finish = (reason: StopReason) => {
    if (finished) return;
    finished = true;
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    reader?.cancel().catch(() => {});
    resolve(reason);
  };
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  if (_supervised()) {
    reader = Deno.stdin.readable.getReader();
    void _untilEnd(reader).then(() => finish("supervisor_gone"));
  }
  return promise;
}

function _supervised(): boolean {
  try {
    return Deno.env.get(SUPERVISED_ENV) === "1";
  } catch {
    return false; // no --allow-env: not started by the supervisor
  }
}

/** Reads and drops everything until the end of the stream or an error. */
async function _untilEnd(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done) {
      // the supervisor writes nothing; anything read is ignored
    }
  } catch {
    // a broken stdin means the same: nobody is there
  }
}
