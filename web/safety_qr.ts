/**
 * A QR code of a safety number, as an SVG path: the other person scans it with their
 * phone's camera and compares the digits it reads with their own, instead of reading 60
 * digits aloud. The code holds the 60 digits only (numeric mode, error correction level M:
 * version 2, 25 x 25 modules), so any QR reader shows them.
 *
 * Encoding is qrcode-generator's (MIT, no dependencies, works offline); drawing is ours, as
 * one `<path>` that Preact renders like any element (no HTML strings).
 *
 * @module
 */

import qrcode from "qrcode-generator";

/** Modules of light margin around the code: the quiet zone readers need (ISO 18004: 4). */
export const QUIET_ZONE = 4;

/** A QR code drawn as an SVG path in module units. */
export interface SafetyQr {
  /** Width and height in modules, quiet zone included: the SVG `viewBox` is `0 0 size size`. */
  readonly size: number;
  /** An SVG path `d` with one 1 x 1 square per dark module. */
  readonly path: string;
}

/**
 * Draws the QR code of `digits`.
 *
 * @param digits A safety number: 60 decimal digits, without separators.
 * @throws {TypeError} If `digits` is not a string of decimal digits (1 to 60).
 */
export function safetyQr(digits: string): SafetyQr {
  if (typeof digits !== "string" || !/^[0-9]{1,60}$/.test(digits)) {
    throw new TypeError("Expected a safety number of up to 60 decimal digits");
  }
  const qr = qrcode(0, "M"); // 0: the smallest version that holds the data
  qr.addData(digits, "Numeric");
  qr.make();
  const count = qr.getModuleCount();
  let path = "";
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (qr.isDark(row, col)) path += `M${col + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`;
    }
  }
  return { size: count + 2 * QUIET_ZONE, path };
}
