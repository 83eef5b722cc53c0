/**
 * Helpers shared by the sealing and opening functions of the end-to-end layer: signing and
 * verifying envelopes over their canonical bytes, serializing with the body size check, and
 * argument checks.
 *
 * @module
 */

import { fromBase64Url, toBase64Url } from "../crypto/bytes.ts";
import { sign, verify } from "../crypto/ed25519.ts";
import { LIMITS } from "../protocol/limits.ts";
import {
  type Envelope,
  envelopeSignedData,
  type EnvelopeType,
  serializeEnvelope,
} from "./e2e_envelope.ts";
import { E2eError } from "./e2e_errors.ts";

/** Signs an envelope's canonical data (see `envelopeSignedData`); returns url-safe base64. */
export function signEnvelope(
  secretKey: Uint8Array,
  t: EnvelopeType,
  fields: readonly (string | number)[],
): string {
  return toBase64Url(sign(secretKey, envelopeSignedData(t, fields)), false);
}

/**
 * Verifies an envelope's signature over its canonical data.
 *
 * @throws {E2eError} `bad_signature` when it does not verify.
 */
export function verifyEnvelope(
  publicKey: Uint8Array,
  t: EnvelopeType,
  fields: readonly (string | number)[],
  sig: string,
): void {
  // `sig` was validated as canonical base64 of 64 bytes by the parser.
  if (!verify(publicKey, envelopeSignedData(t, fields), fromBase64Url(sig))) {
    throw new E2eError(
      "bad_signature",
      `The "${t}" envelope's signature does not verify for this sender and recipient; ` +
        "it was changed, re-addressed or forged",
    );
  }
}

/**
 * Serializes an envelope, refusing one longer than a message body may be.
 *
 * @throws {E2eError} `too_large`.
 */
export function serializeChecked(envelope: Envelope): string {
  const body = serializeEnvelope(envelope);
  if (body.length > LIMITS.bodyChars) {
    throw new E2eError(
      "too_large",
      `Message too long: its envelope would be ${body.length} characters, more than the ` +
        `${LIMITS.bodyChars} a message body may hold; send long content as a file`,
    );
  }
  return body;
}

/** Returns `now` (Unix ms) after checking it, or the current time when it is undefined. */
export function checkTimestamp(now: number | undefined): number {
  if (now === undefined) return Date.now();
  if (typeof now !== "number" || !Number.isSafeInteger(now) || now < 0) {
    throw new RangeError(`Expected now to be a non-negative integer (Unix ms), got ${now}`);
  }
  return now;
}

/** Throws `RangeError` unless `value` is a positive safe integer ID. */
export function assertId(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Expected ${name} to be a positive integer ID, got ${String(value)}`);
  }
}

/** Throws `RangeError` unless `value` is a non-negative safe integer epoch. */
export function assertEpoch(value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Expected epoch to be a non-negative integer, got ${String(value)}`);
  }
}

/** Throws `TypeError` unless `value` is a function. */
export function assertFunction(value: unknown, name: string): void {
  if (typeof value !== "function") throw new TypeError(`Expected ${name} to be a function`);
}
