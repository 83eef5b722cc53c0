/**
 * PEM armor for DER structures (RFC 7468, "Textual Encodings of PKIX, PKCS, and CMS
 * Structures").
 *
 * The encoder writes the strict form of RFC 7468 section 3 (64-character base64 lines,
 * `\n` line ends, a trailing newline), which is byte-identical to what OpenSSL, Python's
 * `cryptography` and Python's `rsa` write. The decoder accepts exactly one block,
 * tolerating only whitespace around it and at line ends (`\r\n` included); anything else
 * outside the block, mismatched labels, RFC 1421 headers (encrypted keys) or non-canonical
 * base64 is a {@linkcode KeyFormatError}.
 *
 * @module
 */

import { fromBase64, toBase64 } from "./bytes.ts";
import { KeyFormatError } from "./errors.ts";

/** One decoded PEM block: its label (e.g. "PUBLIC KEY") and the DER bytes it armors. */
export interface PemBlock {
  /** The label between `-----BEGIN ` and `-----`. */
  readonly label: string;
  /** The base64-decoded contents. */
  readonly der: Uint8Array;
}

// RFC 7468 section 3: labelchar = %x21-2C / %x2E-7E; single "-" or space between them.
const _LABEL = /^[\x21-\x2c\x2e-\x7e](?:[- ]?[\x21-\x2c\x2e-\x7e])*$/;
const _BEGIN = /^-----BEGIN (.*)-----$/;
const _END = /^-----END (.*)-----$/;
const _BASE64_CHAR = /[A-Za-z0-9+/=]/;
const _LINE_WIDTH = 64;

function _checkLabel(label: string, where: string): void {
  if (!_LABEL.test(label)) {
    throw new KeyFormatError(
      `Invalid PEM: the ${where} label ${
        JSON.stringify(label)
      } is not a valid RFC 7468 label; expected printable ASCII such as "PUBLIC KEY"`,
    );
  }
}

/**
 * Wraps DER bytes in PEM armor: `-----BEGIN label-----`, base64 in 64-character lines,
 * `-----END label-----`, each line ending in `\n`.
 */
export function encodePem(label: string, der: Uint8Array): string {
  if (typeof label !== "string") {
    throw new TypeError(`Expected the PEM label to be a string, got ${typeof label}`);
  }
  if (!(der instanceof Uint8Array)) {
    throw new TypeError(`Expected the PEM contents to be a Uint8Array, got ${typeof der}`);
  }
  if (!_LABEL.test(label)) {
    throw new RangeError(
      `Expected an RFC 7468 PEM label of printable ASCII such as "PUBLIC KEY", got ${
        JSON.stringify(label)
      }`,
    );
  }
  if (der.length === 0) throw new RangeError("Expected non-empty PEM contents, got 0 bytes");
  const b64 = toBase64(der);
  let body = "";
  for (let i = 0; i < b64.length; i += _LINE_WIDTH) body += b64.slice(i, i + _LINE_WIDTH) + "\n";
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/**
 * Parses a single PEM block and returns its label and DER bytes. Whitespace around the
 * block and at the ends of lines (including `\r`) is ignored; everything else must be
 * exactly one well-formed block. Throws {@linkcode KeyFormatError} on any deviation.
 */
export function decodePem(text: string): PemBlock {
  if (typeof text !== "string") {
    throw new TypeError(`Expected PEM text to be a string, got ${typeof text}`);
  }
  const trimmed = text.trim();
  if (trimmed === "") {
    throw new KeyFormatError("Invalid PEM: the text is empty; expected a -----BEGIN line");
  }
  // Line numbers in messages count from the first non-blank line, 1-based.
  const lines = trimmed.split(/\r\n|\r|\n/).map((l) => l.replace(/[ \t]+$/, ""));
  const first = lines[0]!;
  const begin = _BEGIN.exec(first);
  if (begin === null) {
    if (/^-+ *BEGIN/.test(first)) {
      throw new KeyFormatError(
        `Invalid PEM: malformed BEGIN line ${
          JSON.stringify(first)
        }; expected "-----BEGIN <label>-----"`,
      );
    }
    throw new KeyFormatError(
      trimmed.includes("-----BEGIN")
        ? "Invalid PEM: unexpected text before the -----BEGIN line; expected only whitespace"
        : "Invalid PEM: no -----BEGIN line found; expected PEM-armored text",
    );
  }
  const label = begin[1]!;
  _checkLabel(label, "BEGIN");

  let endIndex = -1;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trimStart();
    if (!line.startsWith("-----")) continue;
    const end = _END.exec(line);
    if (end !== null) {
      if (end[1] !== label) {
        throw new KeyFormatError(
          `Invalid PEM: END label ${JSON.stringify(end[1])} does not match BEGIN label ${
            JSON.stringify(label)
          }`,
        );
      }
      endIndex = i;
      break;
    }
    if (line.startsWith("-----BEGIN")) {
      throw new KeyFormatError(
        `Invalid PEM: found a second BEGIN line on line ${i + 1} before "-----END ${label}-----"`,
      );
    }
    throw new KeyFormatError(
      `Invalid PEM: malformed boundary line on line ${i + 1}; expected "-----END ${label}-----"`,
    );
  }
  if (endIndex < 0) {
    throw new KeyFormatError(`Invalid PEM: missing "-----END ${label}-----" line`);
  }
  for (let i = endIndex + 1; i < lines.length; i++) {
    if (lines[i]!.trim() !== "") {
      throw new KeyFormatError(
        `Invalid PEM: unexpected content on line ${
          i + 1
        } after the END line; expected only whitespace`,
      );
    }
  }

  let b64 = "";
  for (let i = 1; i < endIndex; i++) {
    const line = lines[i]!.trim();
    if (line.includes(":")) {
      // RFC 1421 headers; in practice only OpenSSL's legacy encrypted keys carry them.
      if (/^(Proc-Type|DEK-Info)\s*:/i.test(line)) {
        throw new KeyFormatError(
          "Encrypted PEM (Proc-Type/DEK-Info headers) is not supported; expected an unencrypted key",
        );
      }
      throw new KeyFormatError(
        `Invalid PEM: unexpected header on line ${
          i + 1
        }; expected only base64 between BEGIN and END`,
      );
    }
    for (let c = 0; c < line.length; c++) {
      if (!_BASE64_CHAR.test(line[c]!)) {
        throw new KeyFormatError(
          `Invalid PEM: invalid base64 character ${JSON.stringify(line[c])} on line ${
            i + 1
          }, column ${c + 1}; expected A-Z, a-z, 0-9, "+", "/" or "="`,
        );
      }
    }
    b64 += line;
  }
  if (b64 === "") {
    throw new KeyFormatError(
      `Invalid PEM: the "${label}" block is empty; expected base64-encoded DER`,
    );
  }
  let der: Uint8Array;
  try {
    der = fromBase64(b64);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new KeyFormatError(
      `Invalid PEM: the "${label}" body is not canonical base64 (${detail})`,
    );
  }
  return { label, der };
}
