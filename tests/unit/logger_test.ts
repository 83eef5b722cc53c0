/**
 * The logfmt logger, with a capturing `write`: level filtering, quoting, fields from `with()`,
 * and `parseLogLevel` errors.
 */

import assert from "node:assert/strict";
import { createLogger, LOG_LEVELS, parseLogLevel } from "../../core/log/logger.ts";

/** A logger at `level` whose lines are collected (time stamps removed). */
function capture(level: Parameters<typeof createLogger>[0] = "info", base = {}) {
  const lines: string[] = [];
  const log = createLogger(level, base, (line) => lines.push(line));
  return {
    log,
    lines,
    /** Lines without their leading ISO time stamp (checked to be there). */
    bodies(): string[] {
      return lines.map((l) => {
        const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$/.exec(l);
        assert.ok(m, `line without an ISO time stamp: ${l}`);
        assert.ok(!Number.isNaN(Date.parse(m[1]!)));
        return m[2]!;
      });
    },
  };
}

Deno.test("createLogger() writes time, level, event and fields on one line", () => {
  const c = capture("debug");
  c.log.info("client_logged_in", { user: 7, addr: "127.0.0.1" });
  assert.equal(c.lines.length, 1);
  assert.equal(c.bodies()[0], "INFO client_logged_in user=7 addr=127.0.0.1");
  assert.ok(!c.lines[0]!.includes("\n"));
});

Deno.test("createLogger() writes each level in upper case", () => {
  const c = capture("debug");
  c.log.debug("a");
  c.log.info("b");
  c.log.warn("c");
  c.log.error("d");
  assert.deepEqual(c.bodies(), ["DEBUG a", "INFO b", "WARN c", "ERROR d"]);
});

Deno.test("createLogger() drops lines below its level", () => {
  const expected: Record<string, string[]> = {
    debug: ["DEBUG e", "INFO e", "WARN e", "ERROR e"],
    info: ["INFO e", "WARN e", "ERROR e"],
    warn: ["WARN e", "ERROR e"],
    error: ["ERROR e"],
  };
  for (const level of LOG_LEVELS) {
    const c = capture(level);
    c.log.debug("e");
    c.log.info("e");
    c.log.warn("e");
    c.log.error("e");
    assert.deepEqual(c.bodies(), expected[level], level);
  }
});

Deno.test("createLogger() defaults to the info level", () => {
  const lines: string[] = [];
  const log = createLogger(undefined, {}, (l) => lines.push(l));
  log.debug("hidden");
  log.info("shown");
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, / INFO shown$/);
});

Deno.test("createLogger() quotes values with spaces, quotes or equals signs", () => {
  const c = capture();
  c.log.info("e", {
    plain: "abc",
    space: "a b",
    tab: "a\tb",
    newline: "a\nb",
    quote: 'say "hi"',
    equals: "a=b",
    empty: "",
    path: "/ws?x",
  });
  assert.equal(
    c.bodies()[0],
    'INFO e plain=abc space="a b" tab="a\\tb" newline="a\\nb" quote="say \\"hi\\"" ' +
      'equals="a=b" empty="" path=/ws?x',
  );
});

Deno.test("createLogger() writes numbers, booleans and null and skips undefined", () => {
  const c = capture();
  c.log.warn("e", { n: 42, f: 1.5, neg: -3, yes: true, no: false, nothing: null, gone: undefined });
  assert.equal(c.bodies()[0], "WARN e n=42 f=1.5 neg=-3 yes=true no=false nothing=null");
});

Deno.test("createLogger() writes base fields before the line's own fields", () => {
  const c = capture("info", { server: 1 });
  c.log.info("e", { user: 2 });
  c.log.info("f");
  assert.deepEqual(c.bodies(), ["INFO e server=1 user=2", "INFO f server=1"]);
});

Deno.test("Logger.with() adds fields to every line", () => {
  const c = capture();
  const log = c.log.with({ server: 3 }).with({ peer: 4 });
  log.info("peer_link_up", { direction: "out" });
  log.error("peer_error");
  c.log.info("plain");
  assert.deepEqual(c.bodies(), [
    "INFO peer_link_up server=3 peer=4 direction=out",
    "ERROR peer_error server=3 peer=4",
    "INFO plain",
  ]);
});

Deno.test("Logger.with() keeps the level and lets later fields override earlier ones", () => {
  const c = capture("warn", { a: 1 });
  const log = c.log.with({ a: 2, b: "x" });
  log.info("hidden");
  log.warn("e", { b: "y y" });
  assert.deepEqual(c.bodies(), ['WARN e a=2 b="y y"']);
});

Deno.test("parseLogLevel() accepts every level", () => {
  for (const level of LOG_LEVELS) assert.equal(parseLogLevel(level), level);
  assert.deepEqual([...LOG_LEVELS], ["debug", "info", "warn", "error"]);
});

Deno.test("parseLogLevel() rejects other values with a RangeError listing the levels", () => {
  for (const value of ["", "INFO", "verbose", "warning", " info"]) {
    assert.throws(() => parseLogLevel(value), (err: unknown) => {
      assert.ok(err instanceof RangeError);
      assert.equal(
        err.message,
        `Unknown log level "${value}"; expected one of debug, info, warn, error`,
      );
      return true;
    });
  }
});
