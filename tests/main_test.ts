import assert from "node:assert/strict";
import { VERSION } from "../core/version.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function _fastchat(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("fastchat --help prints usage and exits 0", async () => {
  const r = await _fastchat("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: fastchat <command>/);
  assert.match(r.stdout, /--version/);
});

Deno.test("fastchat --version prints the version and exits 0", async () => {
  for (const flag of ["--version", "-V"]) {
    const r = await _fastchat(flag);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), `fastchat ${VERSION}`);
  }
});

Deno.test("fastchat with an unknown subcommand prints usage and exits 2", async () => {
  const r = await _fastchat("frobnicate");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  assert.match(r.stderr, /Usage: fastchat/);
  assert.equal(r.stdout, "");
});

Deno.test("fastchat with an unknown option prints usage and exits 2", async () => {
  const r = await _fastchat("--frobnicate");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Unknown option '--frobnicate'/);
  assert.match(r.stderr, /Usage: fastchat/);
});

Deno.test("fastchat with no arguments prints usage to stderr and exits 2", async () => {
  const r = await _fastchat();
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Usage: fastchat/);
});

Deno.test("fastchat server refuses a bad --max-conns-per-addr with exit 2", async () => {
  for (const bad of ["-1", "lots", "1.5"]) {
    const r = await _fastchat("server", "--id", "1", `--max-conns-per-addr=${bad}`);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /--max-conns-per-addr must be an integer from 0 to 999999999 \(0 for no cap\), got "/,
    );
  }
});

Deno.test("fastchat server refuses a bad --registrations-per-hour with exit 2", async () => {
  const r = await _fastchat("server", "--id", "1", "--registrations-per-hour=0");
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--registrations-per-hour must be an integer from 1 to 999999, got "0"/);
});
