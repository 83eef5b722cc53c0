/**
 * The web client's code is browser code: every module it loads type-checks with the DOM
 * library and without the Deno namespace (web/browser_check.json), as Deno std checks its
 * browser-compatible modules. That every public `mod.ts` passes `deno doc --lint` on its own
 * is tests/doc_lint_test.ts.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const _ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The browser entry point and the public modules it is built on. */
const _BROWSER_MODULES = [
  "web/main.tsx",
  "core/crypto/mod.ts",
  "core/protocol/mod.ts",
  "core/e2e/mod.ts",
  "core/keystore/mod.ts",
  "core/client/mod.ts",
  "core/client/engine/mod.ts",
  "core/client/transport/mod.ts",
  "core/client/text/mod.ts",
  "core/view/view_state.ts",
] as const;

async function _deno(args: string[]): Promise<{ ok: boolean; out: string }> {
  const res = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: _ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { ok: res.success, out: dec.decode(res.stdout) + dec.decode(res.stderr) };
}

Deno.test("deno check: the web client's modules type-check as browser code (DOM, no Deno)", async () => {
  const { ok, out } = await _deno([
    "check",
    "--config=web/browser_check.json",
    ..._BROWSER_MODULES,
  ]);
  assert.ok(ok, out);
});

Deno.test("deno check: a module using Deno.* fails the browser check (the check can fail)", async () => {
  const probe = `${_ROOT}web/_browser_probe_${crypto.randomUUID().slice(0, 8)}.ts`;
  await Deno.writeTextFile(probe, "export const cwd: string = Deno.cwd();\n");
  try {
    const { ok, out } = await _deno(["check", "--config=web/browser_check.json", probe]);
    assert.equal(ok, false, out);
    assert.match(out, /Deno/);
  } finally {
    await Deno.remove(probe);
  }
});
