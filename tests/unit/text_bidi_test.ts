import assert from "node:assert/strict";
import {
  balanceBidi,
  closeBidi,
  FSI,
  isolate,
  MAX_BIDI_DEPTH,
  openBidi,
  PDI,
} from "../../core/client/text/text_bidi.ts";

const LRE = "\u202A";
const RLE = "\u202B";
const PDF = "\u202C";
const RLO = "\u202E";
const LRI = "\u2066";
const RLI = "\u2067";

Deno.test("balanceBidi() closes what is left open, innermost first", () => {
  assert.equal(balanceBidi(`a${RLO}b`), `a${RLO}b${PDF}`);
  assert.equal(balanceBidi(`${RLI}a${LRE}b`), `${RLI}a${LRE}b${PDF}${PDI}`);
  assert.equal(balanceBidi("plain"), "plain");
  assert.equal(balanceBidi(`${RLE}x${PDF}`), `${RLE}x${PDF}`);
});

Deno.test("balanceBidi() drops closers that close nothing", () => {
  assert.equal(balanceBidi(`a${PDF}b${PDI}c`), "abc");
  // A PDF cannot close an embedding outside the current isolate (UAX #9 X7).
  assert.equal(balanceBidi(`${RLE}${LRI}a${PDF}b`), `${RLE}${LRI}ab${PDI}${PDF}`);
});

Deno.test("balanceBidi() lets a PDI close the embeddings opened inside its isolate", () => {
  assert.equal(balanceBidi(`${FSI}a${RLO}b${PDI}c`), `${FSI}a${RLO}b${PDI}c`);
  assert.deepEqual(openBidi(`${FSI}a${RLO}b${PDI}c`), []);
});

Deno.test("openBidi() and closeBidi() give the closers for what is open", () => {
  assert.deepEqual(openBidi(`${LRI}a${RLO}b`), [LRI, RLO]);
  assert.equal(closeBidi([LRI, RLO]), `${PDF}${PDI}`);
  assert.deepEqual(openBidi(`${PDI}${PDF}x`), []);
  assert.equal(closeBidi([]), "");
});

Deno.test("isolate() wraps right-to-left text and bidi controls, nothing else", () => {
  assert.equal(isolate("\u05E9\u05DC\u05D5\u05DD"), `${FSI}\u05E9\u05DC\u05D5\u05DD${PDI}`);
  assert.equal(isolate("\u0633\u0644\u0627\u0645 1"), `${FSI}\u0633\u0644\u0627\u0645 1${PDI}`);
  assert.equal(isolate(`a${RLO}b${PDF}`), `${FSI}a${RLO}b${PDF}${PDI}`);
  assert.equal(isolate("a\u200Fb"), `${FSI}a\u200Fb${PDI}`); // RLM is a strong RTL character
  assert.equal(isolate("\u{10900}"), `${FSI}\u{10900}${PDI}`); // Phoenician
  for (const ltr of ["hello 123", "漢字 é ✓ 👩‍👩‍👧‍👦", "Ελληνικά, русский", ""]) {
    assert.equal(isolate(ltr), ltr);
  }
});

Deno.test("balanceBidi() drops openers nested deeper than MAX_BIDI_DEPTH with their closers", () => {
  const n = MAX_BIDI_DEPTH;
  assert.equal(n, 16);
  assert.equal(
    balanceBidi(RLO.repeat(20) + "x" + PDF.repeat(20)),
    RLO.repeat(n) + "x" + PDF.repeat(n),
  );
  assert.equal(
    balanceBidi(FSI.repeat(20) + "x" + PDI.repeat(20)),
    FSI.repeat(n) + "x" + PDI.repeat(n),
  );
  assert.equal(balanceBidi(RLO.repeat(100000)).length, 2 * n);
  // Inside an isolate that overflowed, nothing counts until its PDI (UAX #9 X5-X7).
  assert.equal(
    balanceBidi(RLE.repeat(n) + LRI + RLE + "x" + PDF + PDI + PDF),
    RLE.repeat(n) + "x" + PDF.repeat(n),
  );
});
