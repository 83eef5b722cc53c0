/**
 * The client's folders keep their boundaries (issue 19): only `core/client/deno/` may use
 * `Deno.*`, so everything else under core/client, core/e2e, core/keystore and core/view runs
 * in a browser; the end-to-end layer is pure (it imports neither the client nor the
 * keystore); and the shared view does not reach into the terminal side. A grep over the
 * source, so a new file that breaks a rule fails here, not later in a browser.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const _ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The folders whose code must run in a browser, and the one exception inside them. */
const _BROWSER_SAFE = ["core/client", "core/e2e", "core/keystore", "core/view"];
const _DENO_ONLY = "core/client/deno/";

/** Every .ts/.tsx file under `dir` (relative to the repository root), sorted. */
function _sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(`${_ROOT}${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(..._sources(path));
    else if (/\.tsx?$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

/** Lines of `path` that use the `Deno` namespace (`Deno.` as code or in a comment). */
function _denoUses(path: string): string[] {
  const text = Deno.readTextFileSync(`${_ROOT}${path}`);
  return text.split("\n")
    .map((line, i) => ({ line, n: i + 1 }))
    .filter(({ line }) => /\bDeno\./.test(line))
    .map(({ line, n }) => `${path}:${n}: ${line.trim()}`);
}

/** The repository paths `path` imports (relative specifiers only), resolved. */
function _imports(path: string): string[] {
  const text = Deno.readTextFileSync(`${_ROOT}${path}`);
  const base = new URL(path, `file://${_ROOT}`);
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.\.?\/[^"']+)["']/g)) {
    out.push(fileURLToPath(new URL(m[1]!, base)).slice(_ROOT.length));
  }
  return out;
}

Deno.test("only core/client/deno/ uses Deno.* among the browser-safe folders", () => {
  const files = _BROWSER_SAFE.flatMap(_sources);
  assert.ok(files.length > 50, `expected the client's sources, found ${files.length} files`);
  const uses = files.filter((f) => !f.startsWith(_DENO_ONLY)).flatMap(_denoUses);
  assert.deepEqual(uses, [], `Deno.* outside ${_DENO_ONLY}:\n${uses.join("\n")}`);
});

Deno.test("the Deno folder is where the Deno uses are (the check can fail)", () => {
  const uses = _sources("core/client/deno").flatMap(_denoUses);
  assert.ok(uses.length > 0, "core/client/deno/ should use Deno.*");
});

Deno.test("no browser-safe file imports core/client/deno/", () => {
  const bad = _BROWSER_SAFE.flatMap(_sources)
    .filter((f) => !f.startsWith(_DENO_ONLY))
    .flatMap((f) => _imports(f).filter((i) => i.startsWith(_DENO_ONLY)).map((i) => `${f} -> ${i}`));
  assert.deepEqual(bad, []);
});

Deno.test("the end-to-end layer imports neither the client nor the keystore", () => {
  const files = _sources("core/e2e");
  assert.ok(files.includes("core/e2e/mod.ts"));
  const bad = files.flatMap((f) =>
    _imports(f)
      .filter((i) => i.startsWith("core/client/") || i.startsWith("core/keystore/"))
      .map((i) => `${f} -> ${i}`)
  );
  assert.deepEqual(bad, []);
});

Deno.test("core/view/view_state.ts does not import the terminal renderer or terminal code", () => {
  const imports = _imports("core/view/view_state.ts");
  assert.ok(imports.length > 0, "view_state.ts should import something");
  // The view may know the engine's events, nothing else of the client: the words for
  // events live beside it (core/view/event_text.ts), not with the terminal's text.
  const bad = imports.filter((i) =>
    (i.startsWith("core/client/") && !i.startsWith("core/client/engine/")) ||
    i.startsWith("core/tui/") || i.startsWith("cmd/")
  );
  assert.deepEqual(bad, []);
});
