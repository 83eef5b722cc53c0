/**
 * Every public module (`core/<name>/mod.ts`, and `core/client/<part>/mod.ts`) passes
 * `deno doc --lint` on its own: each exported symbol has JSDoc, and every type its API
 * references is exported from it too.
 * Each module is linted alone because linting several at once counts a type exported by any
 * of them as public, which hides a module that leaves out a type it needs (the client's
 * protocol frames were hidden that way behind `core/protocol/mod.ts`).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const _ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * `core/<name>/mod.ts` and `core/<name>/<part>/mod.ts` of every folder of core/ that has one
 * (the client's parts, `core/client/engine/` and so on, are modules of their own), sorted.
 */
function _publicModules(): string[] {
  const out: string[] = [];
  for (const dir of _folders("core")) {
    if (_isFile(`${dir}/mod.ts`)) out.push(`${dir}/mod.ts`);
    for (const part of _folders(dir)) {
      if (_isFile(`${part}/mod.ts`)) out.push(`${part}/mod.ts`);
    }
  }
  return out.sort();
}

/** The folders directly under `dir` (relative to the repository root). */
function _folders(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(`${_ROOT}${dir}`)) {
    if (entry.isDirectory) out.push(`${dir}/${entry.name}`);
  }
  return out;
}

function _isFile(path: string): boolean {
  try {
    return Deno.statSync(`${_ROOT}${path}`).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
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
  const expected = [
    ...["balancer", "bench", "client", "crypto", "e2e", "keystore", "mesh", "protocol"],
    ...["store", "client/deno", "client/engine", "client/text", "client/transport"],
  ];
  for (const name of expected) {
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
