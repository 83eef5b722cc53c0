/**
 * RSA key types (RFC 8017 section 3). Integers are BigInt; the private key keeps the CRT
 * values so decryption and signing run two half-size exponentiations.
 *
 * @module
 */

/** An RSA public key (RFC 8017 section 3.1). */
export interface RsaPublicKey {
  /** The modulus n. */
  readonly n: bigint;
  /** The public exponent e. */
  readonly e: bigint;
}

/** An RSA private key in CRT form (RFC 8017 section 3.2, second representation). */
export interface RsaPrivateKey extends RsaPublicKey {
  /** The private exponent d. */
  readonly d: bigint;
  /** The first prime factor p. */
  readonly p: bigint;
  /** The second prime factor q. */
  readonly q: bigint;
  /** d mod (p - 1). */
  readonly dp: bigint;
  /** d mod (q - 1). */
  readonly dq: bigint;
  /** q^-1 mod p. */
  readonly qInv: bigint;
}

/** A freshly generated RSA key pair. */
export interface RsaKeyPair {
  /** The public half, to share. */
  readonly publicKey: RsaPublicKey;
  /** The private half, to keep secret. */
  readonly privateKey: RsaPrivateKey;
}

/** RSA encryption padding: OAEP (SHA-256, MGF1-SHA-256) or PKCS#1 v1.5 (compatibility). */
export type RsaPadding = "oaep" | "pkcs1v15";
