/**
 * `fastchat bench`: starts its own cluster per strategy, drives it with simulated clients
 * and reports throughput, latency, balance, CPU and memory (see `core/bench/`). Progress
 * goes to stderr so `--json` leaves exactly one JSON object on stdout. Ctrl-C or SIGTERM
 * stops every process it started before it exits. `--echo-server PORT` is the hidden mode
 * the baseline runs its echo server in, `--hold N --balancer URL --prefix P` the one
 * idle-scale mode's connection holders run in, and `--generate K` the one each load
 * generator process of `--generators G` runs in (its orders come on stdin).
 *
 * @module
 */

import {
  BenchCancelled,
  holdConnections,
  renderHtmlReport,
  renderTextReport,
  runBench,
  serveEcho,
} from "../core/bench/mod.ts";
// The generator process's own protocol, not part of the benchmark's public API.
import { parseParentLine, readLines } from "../core/bench/gen_lines.ts";
import { runSlice } from "../core/bench/load_slice.ts";
import { BENCH_USAGE, parseBenchArgs } from "./bench_args.ts";
import type { Command } from "./command.ts";

/** `fastchat bench`. */
export const benchCommand: Command = {
  name: "bench",
  summary: "Benchmark a local cluster: throughput, latency, balance, CPU and memory",
  async run(args) {
    const line = parseBenchArgs(args);
    if (line.kind === "help") {
      console.log(BENCH_USAGE);
      return 0;
    }
    const ac = new AbortController();
    let exitCode = 0;
    const onSignal = (sig: Deno.Signal) => () => {
      if (ac.signal.aborted) return;
      exitCode = sig === "SIGINT" ? 130 : 143;
      if (line.kind === "run") console.error(`fastchat bench: ${sig}; stopping everything`);
      ac.abort();
    };
    const onInt = onSignal("SIGINT");
    const onTerm = onSignal("SIGTERM");
    Deno.addSignalListener("SIGINT", onInt);
    Deno.addSignalListener("SIGTERM", onTerm);
    try {
      if (line.kind === "echo_server") {
        await serveEcho(line.port, ac.signal, (port) => {
          console.error(`fastchat bench: echo server listening on 127.0.0.1:${port}`);
        });
        return 0;
      }
      if (line.kind === "hold") {
        // The end of stdin is the parent's "close" (or its death): it also cuts connecting short.
        const stdinEnded = _drain(Deno.stdin.readable);
        void stdinEnded.then(() => ac.abort());
        try {
          await holdConnections({ ...line, progressEvery: 500 }, {
            write: (l) => console.log(JSON.stringify(l)),
            stdinEnded,
            signal: ac.signal,
          });
        } catch (err) {
          if (err instanceof BenchCancelled || ac.signal.aborted) return 1; // reported on stdout
          throw err;
        }
        return 0;
      }
      if (line.kind === "generate") {
        const input = _lineReader(Deno.stdin.readable);
        // As for a holder: the end of stdin (the parent closed it, or died) cuts connecting short.
        void input.ended.then(() => ac.abort());
        try {
          await runSlice({
            write: (l) => console.log(JSON.stringify(l)),
            next: input.next,
            signal: ac.signal,
          });
        } catch (err) {
          if (err instanceof BenchCancelled || ac.signal.aborted) return 1; // reported on stdout
          throw err;
        }
        return 0;
      }
      const opts = line.options;
      let report;
      try {
        report = await runBench(opts, {
          progress: (l) => console.error(`bench: ${l}`),
          signal: ac.signal,
        });
      } catch (err) {
        if (err instanceof BenchCancelled || ac.signal.aborted) {
          console.error("fastchat bench: cancelled; every process it started is stopped");
          return exitCode || 130;
        }
        throw err;
      }
      if (opts.report !== null) {
        await Deno.writeTextFile(opts.report, renderHtmlReport(report));
        console.error(`bench: report written to ${opts.report}`);
      }
      if (opts.json) console.log(JSON.stringify(report));
      else console.log(renderTextReport(report));
      if (!report.ok) {
        console.error(
          [
            "",
            "fastchat bench: FAILED - the cluster did not deliver every message exactly once:",
            ...report.failures.map((f) => `  - ${f}`),
          ].join("\n"),
        );
        return 1;
      }
      return 0;
    } finally {
      Deno.removeSignalListener("SIGINT", onInt);
      Deno.removeSignalListener("SIGTERM", onTerm);
    }
  },
};

/** Reads `stream` to its end; settles then (or on an error, which also means the end). */
async function _drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  try {
    for await (const _ of stream) {
      // Nothing is sent on stdin; only its end matters.
    }
  } catch {
    // A broken pipe is an end too.
  }
}

/**
 * The generator's orders, one JSON line at a time: each `next()` resolves with the next line
 * (null once stdin ended, which is also what the parent's death looks like); `ended` settles
 * when stdin ends.
 */
function _lineReader(stream: ReadableStream<Uint8Array>) {
  const queue: string[] = [];
  let waiter: (() => void) | null = null;
  let done = false;
  const wake = () => {
    waiter?.();
    waiter = null;
  };
  const ended = readLines(stream, (line) => {
    queue.push(line);
    wake();
  }).catch(() => {
    // A broken pipe is an end too.
  }).then(() => {
    done = true;
    wake();
  });
  const next = async () => {
    while (queue.length === 0 && !done) await new Promise<void>((r) => waiter = r);
    const text = queue.shift();
    return text === undefined ? null : parseParentLine(text);
  };
  return { next, ended };
}
