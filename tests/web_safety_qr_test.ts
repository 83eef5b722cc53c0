/** The safety number's QR code, drawn as an SVG path, without a browser. */

import assert from "node:assert/strict";
import { QUIET_ZONE, safetyQr } from "../web/safety_qr.ts";

const _DIGITS = "238735319977598667074966780613481204359561106114896613795033";

/** The dark modules of a path, as "x,y" of each 1 x 1 square. */
function _dark(path: string): Set<string> {
  return new Set([...path.matchAll(/M(\d+) (\d+)h1v1h-1z/g)].map((m) => `${m[1]},${m[2]}`));
}

Deno.test("safetyQr() draws a version 2 code (25 modules) inside a 4-module quiet zone", () => {
  const qr = safetyQr(_DIGITS);
  assert.equal(qr.size, 25 + 2 * QUIET_ZONE);
  assert.match(qr.path, /^(M\d+ \d+h1v1h-1z)+$/);
  const dark = _dark(qr.path);
  for (const cell of dark) {
    const [x, y] = cell.split(",").map(Number) as [number, number];
    assert.ok(x >= QUIET_ZONE && x < qr.size - QUIET_ZONE, cell);
    assert.ok(y >= QUIET_ZONE && y < qr.size - QUIET_ZONE, cell);
  }
  // The three finder patterns: a dark 7 x 7 ring at the top left, top right and bottom left.
  for (const [cx, cy] of [[0, 0], [18, 0], [0, 18]] as const) {
    for (let i = 0; i < 7; i++) {
      for (const [x, y] of [[i, 0], [i, 6], [0, i], [6, i]]) {
        assert.ok(dark.has(`${cx + x! + QUIET_ZONE},${cy + y! + QUIET_ZONE}`), `${cx},${cy}`);
      }
    }
    assert.ok(!dark.has(`${cx + 1 + QUIET_ZONE},${cy + 1 + QUIET_ZONE}`));
  }
});

Deno.test("safetyQr() gives the same code for the same digits, another for others", () => {
  assert.deepEqual(safetyQr(_DIGITS), safetyQr(_DIGITS));
  assert.notEqual(safetyQr(_DIGITS).path, safetyQr("1" + _DIGITS.slice(1)).path);
});

Deno.test("safetyQr() rejects anything but decimal digits", () => {
  for (const bad of ["", "12345 67890", "1".repeat(61), "12a4", 42 as unknown as string]) {
    assert.throws(() => safetyQr(bad), TypeError);
  }
});
