/**
 * Every public module (`core/<name>/mod.ts`) passes `deno doc --lint` on its own: each
 * exported symbol has JSDoc, and every type its API references is exported from it too.
 * Each module is linted alone because linting several at once counts a type exported by any
 * of them as public, which hides a module that leaves out a type it needs (the client's
 * protocol frames were hidden that way behind `core/protocol/mod.ts`).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const _ROOT = fileURLToPath(new URL("..", import.meta.url));

/** `core/<name>/mod.ts` of every folder of core/ that has one, sorted. */
function _publicModules(): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(`${_ROOT}core`)) {
    if (!entry.isDirectory) continue;
    try {
      if (Deno.statSync(`${_ROOT}core/${entry.name}/mod.ts`).isFile) {
        out.push(`core/${entry.name}/mod.ts`);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return out.sort();
}

async function _docLint(module: string): Promise<{ ok: boolean; out: string }> {
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", module],
    cwd: _ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { ok: res.success, out: dec.decode(res.stdout) + dec.decode(res.stderr) };
}

const _MODULES = _publicModules();

Deno.test("every public module of core/ is found (the lint below covers them all)", () => {
  for (const name of ["balancer", "bench", "client", "crypto", "mesh", "protocol", "store"]) {
    assert.ok(_MODULES.includes(`core/${name}/mod.ts`), `core/${name}/mod.ts is missing`);
  }
});

for (const module of _MODULES) {
  Deno.test(`deno doc --lint ${module} passes on its own`, async () => {
    const { ok, out } = await _docLint(module);
    assert.ok(ok, `deno doc --lint ${module} failed:\n${out}`);
  });
}

Deno.test("deno doc --lint fails on an undocumented export (the check can fail)", async () => {
  const probe = await Deno.makeTempFile({ prefix: "doc_lint_probe_", suffix: ".ts" });
  await Deno.writeTextFile(probe, "export const undocumented = 1;\n");
  try {
    const { ok, out } = await _docLint(probe);
    assert.equal(ok, false, out);
    assert.match(out, /missing-jsdoc/);
  } finally {
    await Deno.remove(probe);
  }
});

Deno.test("the public client module exports no test or demo helper (EventLog)", async () => {
  const client = await import("../core/client/mod.ts");
  assert.equal("EventLog" in client, false);
});
