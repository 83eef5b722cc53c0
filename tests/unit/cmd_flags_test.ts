/**
 * The shared command-line flag helpers of cmd/flags.ts: what each accepts, and that bad input
 * becomes a UsageError saying which flag, what was given and what was expected. Also that
 * every command uses them: `up` takes the balancer's strategies, the client checks
 * --keystore-scrypt-n before it does anything else.
 */

import assert from "node:assert/strict";
import { UsageError } from "../../cmd/command.ts";
import {
  choiceFlag,
  intFlag,
  numberFlag,
  originsFlag,
  parseFlags,
  portFlag,
  scryptCostFlag,
  textFlag,
} from "../../cmd/flags.ts";
import { clientCommand } from "../../cmd/client.ts";
import { serverCommand } from "../../cmd/server.ts";
import { upCommand } from "../../cmd/up.ts";
import { STRATEGIES } from "../../core/balancer/strategy.ts";
import { KEYSTORE_N_RANGE } from "../../core/keystore/keystore_cipher.ts";
import { hashPassword, PASSWORD_N_RANGE } from "../../core/crypto/password.ts";

/** Asserts `fn` throws a UsageError whose message matches `message`. */
function _usage(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UsageError, `expected a UsageError, got ${err}`);
    assert.equal(err.code, "usage");
    assert.match(err.message, message);
    return true;
  });
}

const _SPEC = {
  port: { type: "string", default: "7100" },
  strategy: { type: "string" },
  balancer: { type: "string", multiple: true },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

Deno.test("parseFlags() returns the values with their defaults", () => {
  assert.deepEqual({ ...parseFlags([], _SPEC) }, { port: "7100" });
  const values = parseFlags(
    ["--port", "1", "--strategy=load", "--json", "-h", "--balancer", "a", "--balancer", "b"],
    _SPEC,
  );
  assert.deepEqual({ ...values }, {
    port: "1",
    strategy: "load",
    json: true,
    help: true,
    balancer: ["a", "b"],
  });
  // A value that starts with a dash, given with "=".
  assert.equal(parseFlags(["--strategy=-x"], _SPEC).strategy, "-x");
});

Deno.test("parseFlags() names an unknown option and the closest one, or lists them", () => {
  _usage(
    () => parseFlags(["--strategi", "load"], _SPEC),
    /^Unknown option '--strategi'; did you mean --strategy\?$/,
  );
  _usage(() => parseFlags(["--jsn"], _SPEC), /^Unknown option '--jsn'; did you mean --json\?$/);
  _usage(
    () => parseFlags(["--prot", "1"], _SPEC),
    /^Unknown option '--prot'; did you mean --port\?$/,
  );
  _usage(
    () => parseFlags(["--balance", "x"], _SPEC),
    /^Unknown option '--balance'; did you mean --balancer\?$/,
  );
  _usage(
    () => parseFlags(["--frobnicate"], _SPEC),
    /^Unknown option '--frobnicate'; expected one of --port, --strategy, --balancer, --json, --help$/,
  );
  _usage(() => parseFlags(["-x"], _SPEC), /^Unknown option '-x'; expected one of --port/);
});

Deno.test("parseFlags() says a string option needs a value and how to give one", () => {
  _usage(
    () => parseFlags(["--strategy"], _SPEC),
    /^--strategy needs a value, as in --strategy VALUE$/,
  );
  _usage(
    () => parseFlags(["--port", "--json"], _SPEC),
    /^--port needs a value, got the option "--json"; write --port=--json if that is the value$/,
  );
});

Deno.test("parseFlags() refuses a value for a switch and a positional argument", () => {
  _usage(() => parseFlags(["--json=yes"], _SPEC), /^--json takes no value, got "--json=yes"$/);
  _usage(
    () => parseFlags(["extra"], _SPEC),
    /^Unexpected argument "extra"; expected options only, such as --name VALUE$/,
  );
  _usage(() => parseFlags(["--", "extra"], _SPEC), /^Unexpected argument "extra"/);
});

Deno.test("portFlag() takes 1 to 65535, and 0 only with allowZero", () => {
  assert.equal(portFlag("--port", "7100"), 7100);
  assert.equal(portFlag("--port", "65535"), 65535);
  assert.equal(portFlag("--port", "0", { allowZero: true }), 0);
  assert.equal(portFlag("--port", undefined, { fallback: 7100 }), 7100);
  for (const bad of ["0", "65536", "99999", "-1", "x", "", " 80", "0x50", "1e3", "80.0"]) {
    _usage(
      () => portFlag("--port", bad),
      new RegExp(`^--port must be a port from 1 to 65535, got "${bad}"$`),
    );
  }
  _usage(
    () => portFlag("--port", "65536", { allowZero: true }),
    /^--port must be a port from 0 to 65535 \(0 picks a free port\), got "65536"$/,
  );
  _usage(() => portFlag("--port", undefined), /^--port is required: a port from 1 to 65535$/);
});

Deno.test("intFlag() takes whole numbers within its bounds", () => {
  const bounds = { min: 2, max: 10_000 };
  assert.equal(intFlag("--clients", "2", bounds), 2);
  assert.equal(intFlag("--clients", "10000", bounds), 10_000);
  assert.equal(intFlag("--clients", undefined, { ...bounds, fallback: 200 }), 200);
  for (const bad of ["1", "10001", "-5", "ten", "2.5", "1e3", "0x10", "", " 3"]) {
    _usage(
      () => intFlag("--clients", bad, bounds),
      new RegExp(`^--clients must be an integer from 2 to 10000, got "${bad}"$`),
    );
  }
  _usage(
    () => intFlag("--max-conns-per-addr", "-1", { min: 0, max: 9, note: "0 for no cap" }),
    /^--max-conns-per-addr must be an integer from 0 to 9 \(0 for no cap\), got "-1"$/,
  );
  _usage(
    () => intFlag("--id", undefined, { min: 1, max: 9 }),
    /^--id is required: an integer from 1 to 9$/,
  );
});

Deno.test("numberFlag() takes decimals within its bounds", () => {
  const bounds = { min: 0.1, max: 3600 };
  assert.equal(numberFlag("--duration", "2.5", bounds), 2.5);
  assert.equal(numberFlag("--duration", "3600", bounds), 3600);
  assert.equal(numberFlag("--duration", undefined, { ...bounds, fallback: 10 }), 10);
  for (const bad of ["0", "0.05", "3601", "-1", "1e3", "ten", "", ".5"]) {
    _usage(
      () => numberFlag("--duration", bad, bounds),
      new RegExp(
        `^--duration must be a number from 0.1 to 3600, got "${bad.replace(".", "\\.")}"$`,
      ),
    );
  }
  _usage(
    () => numberFlag("--connect-timeout", "0.5", { min: 1, max: 3600, note: "seconds" }),
    /^--connect-timeout must be a number from 1 to 3600 \(seconds\), got "0\.5"$/,
  );
});

Deno.test("choiceFlag() takes one of its choices and lists them otherwise", () => {
  assert.equal(choiceFlag("--strategy", "random", STRATEGIES), "random");
  assert.equal(choiceFlag("--strategy", undefined, STRATEGIES, { fallback: "load" }), "load");
  _usage(
    () => choiceFlag("--strategy", "fastest", STRATEGIES),
    /^--strategy must be one of load, random, round-robin, got "fastest"$/,
  );
  _usage(
    () => choiceFlag("--strategy", undefined, STRATEGIES),
    /^--strategy is required: one of load, random, round-robin$/,
  );
});

Deno.test("scryptCostFlag() takes the powers of two the crypto module accepts", () => {
  assert.equal(scryptCostFlag("--scrypt-n", undefined, PASSWORD_N_RANGE), undefined);
  assert.equal(scryptCostFlag("--scrypt-n", "1024", PASSWORD_N_RANGE), 1024);
  assert.equal(scryptCostFlag("--scrypt-n", "2", PASSWORD_N_RANGE), 2);
  assert.equal(
    scryptCostFlag("--scrypt-n", String(PASSWORD_N_RANGE.max), PASSWORD_N_RANGE),
    2 ** 18,
  );
  for (const bad of ["1000", "1", "0", String(2 ** 19), "-1024", "2^10", "1e3", ""]) {
    _usage(
      () => scryptCostFlag("--scrypt-n", bad, PASSWORD_N_RANGE),
      new RegExp(
        `^--scrypt-n must be a power of two from 2 to 262144 \\(2\\^1 to 2\\^18\\), got "${
          bad.replace("^", "\\^")
        }"$`,
      ),
    );
  }
  _usage(
    () => scryptCostFlag("--keystore-scrypt-n", "512", KEYSTORE_N_RANGE),
    /^--keystore-scrypt-n must be a power of two from 1024 to 262144 \(2\^10 to 2\^18\), got "512"$/,
  );
});

Deno.test("PASSWORD_N_RANGE is what hashPassword accepts with the default r and p", () => {
  // The top of the range hashes (256 MiB is too slow for a unit test, so check the bound
  // by the one above it, which hashPassword refuses before it allocates anything).
  assert.throws(() => hashPassword("pw", { N: PASSWORD_N_RANGE.max * 2 }), RangeError);
  assert.match(hashPassword("pw", { N: PASSWORD_N_RANGE.min }), /^\$scrypt\$ln=1,/);
});

Deno.test("textFlag() refuses an empty value, saying what it should name", () => {
  assert.equal(textFlag("--host", "0.0.0.0", "an address to listen on"), "0.0.0.0");
  assert.equal(
    textFlag("--host", undefined, "an address to listen on", { fallback: "127.0.0.1" }),
    "127.0.0.1",
  );
  _usage(
    () => textFlag("--host", "", "an address to listen on"),
    /^--host needs an address to listen on, got an empty value$/,
  );
  _usage(
    () => textFlag("--report", undefined, "a file name"),
    /^--report is required: a file name$/,
  );
});

Deno.test("originsFlag() reads a comma-separated list and names the flag on a bad entry", () => {
  assert.deepEqual(originsFlag("--allowed-origins", undefined), []);
  assert.deepEqual(originsFlag("--allowed-origins", "https://chat.example.org"), [
    "https://chat.example.org",
  ]);
  _usage(
    () => originsFlag("--allowed-origins", "chat.example.org"),
    /^--allowed-origins: "chat\.example\.org" is not an origin; expected scheme:\/\/host\[:port\]/,
  );
});

Deno.test("fastchat up takes every balancer strategy and refuses others with the list", async () => {
  // A bad --scrypt-n comes after --strategy: reaching it means the strategy was accepted,
  // and nothing is started.
  for (const strategy of STRATEGIES) {
    await assert.rejects(
      () => upCommand.run(["--strategy", strategy, "--scrypt-n", "3"]),
      (err: unknown) => err instanceof UsageError && /^--scrypt-n must be/.test(err.message),
    );
  }
  await assert.rejects(
    () => upCommand.run(["--strategy", "fastest"]),
    (err: unknown) =>
      err instanceof UsageError &&
      err.message === `--strategy must be one of ${STRATEGIES.join(", ")}, got "fastest"`,
  );
});

Deno.test("fastchat server and up refuse a scrypt cost that password hashing would refuse", async () => {
  for (const [command, args] of [[serverCommand, ["--id", "1"]], [upCommand, []]] as const) {
    for (const bad of ["1000", String(2 ** 19), "0"]) {
      await assert.rejects(
        () => command.run([...args, "--scrypt-n", bad]),
        (err: unknown) =>
          err instanceof UsageError &&
          err.message.startsWith(`--scrypt-n must be a power of two from 2 to 262144`),
        `${command.name} --scrypt-n ${bad}`,
      );
    }
  }
});

Deno.test("fastchat client refuses a bad --keystore-scrypt-n before it looks for a cluster", async () => {
  // Port 9 (discard) has no balancer: reaching the probe would print "no cluster" and exit 1.
  for (const bad of ["1000", "512", String(2 ** 19), "lots"]) {
    await assert.rejects(
      () =>
        clientCommand.run([
          "--user",
          "alice",
          "--balancer",
          "http://127.0.0.1:9",
          "--keystore-scrypt-n",
          bad,
        ]),
      (err: unknown) =>
        err instanceof UsageError &&
        err.message ===
          `--keystore-scrypt-n must be a power of two from 1024 to 262144 (2^10 to 2^18), got "${bad}"`,
      bad,
    );
  }
});
