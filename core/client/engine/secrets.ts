/**
 * The user's own keys, read once from the keystore when the client starts: the RSA private
 * key opens keys sent to the user, the identity key signs everything the user sends.
 *
 * @module
 */

import { fromBase64Url, importRsaPrivateKey, type RsaPrivateKey } from "../../crypto/mod.ts";
import type { KeystoreAccount } from "../../keystore/keystore_types.ts";

/** The user's keys, ready to use. */
export interface Secrets {
  readonly userId: number;
  readonly rsaPrivate: RsaPrivateKey;
  readonly identitySecret: Uint8Array;
  /** The public identity key, as bytes (for safety numbers). */
  readonly identityPublic: Uint8Array;
}

/** Imports the account's keys. */
export function loadSecrets(account: KeystoreAccount): Secrets {
  return {
    userId: account.userId,
    rsaPrivate: importRsaPrivateKey(account.rsaPrivateKey),
    identitySecret: account.identitySecretKey,
    identityPublic: fromBase64Url(account.identityPublicKey),
  };
}
