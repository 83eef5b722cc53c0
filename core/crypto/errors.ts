/**
 * Domain errors of the crypto core. Each carries a stable `code` so callers (and the wire
 * protocol) can branch on it without parsing messages. Decryption failures deliberately
 * say nothing about which check failed: that detail is what padding-oracle and MAC-oracle
 * attacks feed on.
 *
 * @module
 */

/** Base class of FastChat's crypto errors; `code` is stable across versions. */
export class CryptoError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;
  /** Creates an error with a stable `code` and a message for people. */
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A Fernet token failed to verify or decrypt. Thrown for every failure (bad base64,
 * wrong version, bad MAC, bad padding, expired, from the future) with one message.
 */
export class InvalidToken extends CryptoError {
  /** Creates the one error every Fernet failure throws. */
  constructor() {
    super("invalid_token", "Invalid Fernet token");
  }
}

/**
 * RSA decryption failed. Thrown for every padding or range failure with one message, so
 * the error never tells an attacker which check rejected the ciphertext.
 */
export class DecryptionError extends CryptoError {
  /** Creates the one error every RSA decryption failure throws. */
  constructor() {
    super("decryption_failed", "RSA decryption failed");
  }
}

/** A key or encoded structure (PEM, DER, password hash) could not be parsed. */
export class KeyFormatError extends CryptoError {
  /** Creates the error, with `message` saying what could not be parsed. */
  constructor(message: string) {
    super("bad_key_format", message);
  }
}

/**
 * A CPace run was aborted: the other party's message is not a valid ristretto255 encoding or
 * is the identity element (draft-irtf-cfrg-cpace, "MUST abort").
 */
export class CpaceError extends CryptoError {
  /** Creates the error, with `message` saying which check failed. */
  constructor(message: string) {
    super("cpace_abort", message);
  }
}

/**
 * An X25519 agreement was refused because the peer's public key is a low-order point, so the
 * shared secret would be all zero whatever our secret key (RFC 7748 section 6.1, "MAY check";
 * the Signal X3DH specification requires it). The key is not trusted input: whoever sent it
 * would know the "shared" secret.
 */
export class LowOrderPointError extends CryptoError {
  /** Creates the one error every low-order X25519 public key throws. */
  constructor() {
    super(
      "low_order_point",
      "The X25519 public key is a low-order point; it would give an all-zero shared secret",
    );
  }
}
