/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * The safety number dialog: the 60 digits as a grid of 12 groups of 5 (four columns, three
 * rows, as Signal shows them), their QR code for the other person's camera, and the button
 * that marks the contact verified once the numbers match.
 *
 * @module
 */

import { formatSafetyNumber } from "../core/crypto/safety_number.ts";
import { safetyQr } from "./safety_qr.ts";

/** Props of {@linkcode SafetyDialog}. */
export interface SafetyDialogProps {
  /** The contact's name. */
  readonly user: string;
  /** The safety number: 60 digits, without separators. */
  readonly number: string;
  /** Whether the user already marked the contact verified. */
  readonly verified: boolean;
  readonly onVerify: () => void;
  readonly onClose: () => void;
}

/** The safety number dialog (modal; the caller closes it on Escape). */
export function SafetyDialog({ user, number, verified, onVerify, onClose }: SafetyDialogProps) {
  const groups = _groups(number);
  return (
    <div class="dialog-backdrop">
      <div role="dialog" aria-modal="true" aria-labelledby="safety-title" class="dialog">
        <h2 id="safety-title">Safety number with {user}</h2>
        <p class="safety-number">
          {groups.map((g, i) => <span key={i}>{g}</span>)}
        </p>
        {groups.length === 12 && <_Qr user={user} number={number} />}
        <p>
          Compare it with {user}{" "}
          in person or on a call, or let them scan the code. If it matches, mark their keys
          verified: you will be warned loudly if they ever change.
        </p>
        {verified
          ? <p class="verified-note">✓ You verified {user}.</p>
          : <button type="button" onClick={onVerify}>Mark as verified</button>}
        <button type="button" onClick={onClose} autofocus>
          Close
        </button>
      </div>
    </div>
  );
}

function _Qr({ user, number }: { user: string; number: string }) {
  const qr = safetyQr(number);
  return (
    <svg
      class="safety-qr"
      role="img"
      aria-label={`QR code of your safety number with ${user}`}
      viewBox={`0 0 ${qr.size} ${qr.size}`}
      shape-rendering="crispEdges"
    >
      <rect width={qr.size} height={qr.size} fill="#fff" />
      <path d={qr.path} fill="#000" />
    </svg>
  );
}

/** The 12 groups of 5 digits; a malformed number (never sent by the engine) as it is. */
function _groups(number: string): string[] {
  try {
    return formatSafetyNumber(number).split(" ");
  } catch (e) {
    if (e instanceof TypeError) return [number];
    throw e;
  }
}
