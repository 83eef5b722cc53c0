/**
 * Import and export of RSA keys as PEM and DER:
 *
 * - PKCS#1 `RSAPublicKey` / `RSAPrivateKey` (RFC 8017 Appendix A.1.1 and A.1.2), PEM
 *   labels "RSA PUBLIC KEY" and "RSA PRIVATE KEY";
 * - X.509 `SubjectPublicKeyInfo` (RFC 5280 section 4.1.2.7, RFC 3279 section 2.3.1), PEM
 *   label "PUBLIC KEY";
 * - PKCS#8 `PrivateKeyInfo` (RFC 5208 section 5, RFC 5958 section 2), PEM label
 *   "PRIVATE KEY".
 *
 * Output is byte-identical to OpenSSL, Python `cryptography` and Python `rsa` for the same
 * key, since all of them write DER (one encoding per key) in RFC 7468 strict PEM. Imported
 * keys are checked for internal consistency, so a corrupted or tampered key fails here
 * with a {@linkcode KeyFormatError} instead of producing wrong signatures later.
 *
 * @module
 */

import {
  DerReader,
  encodeDerBitString,
  encodeDerInteger,
  encodeDerNull,
  encodeDerOctetString,
  encodeDerOid,
  encodeDerSequence,
} from "./der.ts";
import { KeyFormatError } from "./errors.ts";
import { decodePem, encodePem } from "./pem.ts";
import type { RsaPrivateKey, RsaPublicKey } from "./rsa_types.ts";

/** Encodings of an RSA public key: PKCS#1 `RSAPublicKey` or X.509 `SubjectPublicKeyInfo`. */
export type RsaPublicKeyFormat = "pkcs1" | "spki";
/** Encodings of an RSA private key: PKCS#1 `RSAPrivateKey` or PKCS#8 `PrivateKeyInfo`. */
export type RsaPrivateKeyFormat = "pkcs1" | "pkcs8";

/** rsaEncryption (RFC 8017 Appendix A.1, PKCS-1 arc 1.2.840.113549.1.1.1). */
export const RSA_ENCRYPTION_OID = "1.2.840.113549.1.1.1";

const _PUBLIC_LABELS: Record<string, RsaPublicKeyFormat> = {
  "RSA PUBLIC KEY": "pkcs1",
  "PUBLIC KEY": "spki",
};
const _PRIVATE_LABELS: Record<string, RsaPrivateKeyFormat> = {
  "RSA PRIVATE KEY": "pkcs1",
  "PRIVATE KEY": "pkcs8",
};
const _PUBLIC_PEM_LABEL: Record<RsaPublicKeyFormat, string> = {
  pkcs1: "RSA PUBLIC KEY",
  spki: "PUBLIC KEY",
};
const _PRIVATE_PEM_LABEL: Record<RsaPrivateKeyFormat, string> = {
  pkcs1: "RSA PRIVATE KEY",
  pkcs8: "PRIVATE KEY",
};

// Well-known algorithm OIDs, named in errors so a wrong key type is easy to recognise.
const _OID_NAMES: Record<string, string> = {
  "1.2.840.113549.1.1.10": "RSASSA-PSS",
  "1.2.840.113549.1.1.7": "RSAES-OAEP",
  "1.2.840.10045.2.1": "EC",
  "1.2.840.10040.4.1": "DSA",
  "1.3.101.110": "X25519",
  "1.3.101.111": "X448",
  "1.3.101.112": "Ed25519",
  "1.3.101.113": "Ed448",
};

// ----------------------------------------------------------------------------------------
// Validation

/** Returns why (n, e) is not a valid public key, or `undefined` if it is. */
function _publicKeyProblem(n: bigint, e: bigint): string | undefined {
  if (n <= 0n) return "the modulus n must be positive";
  if ((n & 1n) === 0n) return "the modulus n must be odd";
  if (e <= 1n) return "the public exponent e must be greater than 1";
  if ((e & 1n) === 0n) return "the public exponent e must be odd";
  if (e >= n) return "the public exponent e must be less than the modulus n";
  return undefined;
}

function _mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** Returns why `key` is not a consistent CRT private key, or `undefined` if it is. */
function _privateKeyProblem(k: RsaPrivateKey): string | undefined {
  const pub = _publicKeyProblem(k.n, k.e);
  if (pub !== undefined) return pub;
  const { n, e, d, p, q, dp, dq, qInv } = k;
  if (p <= 1n || q <= 1n) return "the primes p and q must be greater than 1";
  if (p * q !== n) return "p * q must equal the modulus n";
  if (d <= 0n || d >= n) return "the private exponent d must satisfy 0 < d < n";
  if (dp !== d % (p - 1n)) return "dp must equal d mod (p - 1)";
  if (dq !== d % (q - 1n)) return "dq must equal d mod (q - 1)";
  if (qInv <= 0n || qInv >= p) return "qInv must satisfy 0 < qInv < p";
  if (_mod(qInv * q, p) !== 1n) return "qInv * q must be congruent to 1 mod p";
  // d must invert e modulo both p - 1 and q - 1, i.e. modulo lcm(p - 1, q - 1).
  if (_mod(e * dp, p - 1n) !== 1n || _mod(e * dq, q - 1n) !== 1n) {
    return "e * d must be congruent to 1 mod lcm(p - 1, q - 1)";
  }
  return undefined;
}

const _PUBLIC_FIELDS = ["n", "e"] as const;
const _PRIVATE_FIELDS = ["n", "e", "d", "p", "q", "dp", "dq", "qInv"] as const;

function _checkKeyArgument(
  key: unknown,
  what: string,
  fields: readonly string[],
): void {
  if (typeof key !== "object" || key === null) {
    throw new TypeError(`Expected ${what} object, got ${key === null ? "null" : typeof key}`);
  }
  for (const f of fields) {
    const v = (key as Record<string, unknown>)[f];
    if (typeof v !== "bigint") {
      throw new TypeError(`Expected ${what} field "${f}" to be a bigint, got ${typeof v}`);
    }
  }
}

function _checkFormat<T extends string>(format: unknown, accepted: readonly T[]): T {
  if (typeof format !== "string") {
    throw new TypeError(`Expected the key format to be a string, got ${typeof format}`);
  }
  if (!(accepted as readonly string[]).includes(format)) {
    throw new RangeError(
      `Unknown key format ${JSON.stringify(format)}; expected one of ${
        accepted.map((a) => JSON.stringify(a)).join(", ")
      }`,
    );
  }
  return format as T;
}

function _checkDerArgument(der: unknown): asserts der is Uint8Array {
  if (!(der instanceof Uint8Array)) {
    throw new TypeError(`Expected DER key bytes to be a Uint8Array, got ${typeof der}`);
  }
}

function _checkPemArgument(pem: unknown): asserts pem is string {
  if (typeof pem !== "string") {
    throw new TypeError(`Expected PEM key text to be a string, got ${typeof pem}`);
  }
}

// ----------------------------------------------------------------------------------------
// DER structures

function _readRsaAlgorithm(outer: DerReader): void {
  const alg = outer.readSequence("AlgorithmIdentifier");
  const start = alg.offset;
  const oid = alg.readOid("algorithm");
  if (oid !== RSA_ENCRYPTION_OID) {
    const name = _OID_NAMES[oid];
    throw new KeyFormatError(
      `Unsupported key algorithm ${oid}${
        name === undefined ? "" : ` (${name})`
      } at byte offset ${start}; expected rsaEncryption (${RSA_ENCRYPTION_OID})`,
    );
  }
  // RFC 8017 Appendix A.1: the parameters SHALL be NULL for rsaEncryption.
  alg.readNull("rsaEncryption parameters");
  alg.finish();
}

function _rsaAlgorithm(): Uint8Array {
  return encodeDerSequence(encodeDerOid(RSA_ENCRYPTION_OID), encodeDerNull());
}

/** Reads `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`. */
function _readPkcs1Public(r: DerReader): RsaPublicKey {
  const seq = r.readSequence("RSAPublicKey");
  const n = seq.readNonNegativeInteger("modulus");
  const e = seq.readNonNegativeInteger("publicExponent");
  seq.finish();
  return { n, e };
}

/** Reads RSAPrivateKey (RFC 8017 Appendix A.1.2); two-prime version 0 only. */
function _readPkcs1Private(r: DerReader): RsaPrivateKey {
  const seq = r.readSequence("RSAPrivateKey");
  const versionAt = seq.offset;
  const version = seq.readInteger("version");
  if (version === 1n) {
    throw new KeyFormatError(
      `Multi-prime RSA private keys (RSAPrivateKey version 1 at byte offset ${versionAt}) are not supported; expected a two-prime key, version 0`,
    );
  }
  if (version !== 0n) {
    throw new KeyFormatError(
      `Unsupported RSAPrivateKey version ${version} at byte offset ${versionAt}; expected 0`,
    );
  }
  const n = seq.readNonNegativeInteger("modulus");
  const e = seq.readNonNegativeInteger("publicExponent");
  const d = seq.readNonNegativeInteger("privateExponent");
  const p = seq.readNonNegativeInteger("prime1");
  const q = seq.readNonNegativeInteger("prime2");
  const dp = seq.readNonNegativeInteger("exponent1");
  const dq = seq.readNonNegativeInteger("exponent2");
  const qInv = seq.readNonNegativeInteger("coefficient");
  seq.finish();
  return { n, e, d, p, q, dp, dq, qInv };
}

function _parsePublicDer(der: Uint8Array, format: RsaPublicKeyFormat): RsaPublicKey {
  let key: RsaPublicKey;
  if (format === "pkcs1") {
    const top = new DerReader(der, "Invalid PKCS#1 RSA public key");
    key = _readPkcs1Public(top);
    top.finish();
  } else {
    // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier,
    //                                     subjectPublicKey BIT STRING }
    const top = new DerReader(der, "Invalid SubjectPublicKeyInfo RSA public key");
    const spki = top.readSequence("SubjectPublicKeyInfo");
    _readRsaAlgorithm(spki);
    const inner = spki.readBitStringAsDer("subjectPublicKey");
    key = _readPkcs1Public(inner);
    inner.finish();
    spki.finish();
    top.finish();
  }
  const problem = _publicKeyProblem(key.n, key.e);
  if (problem !== undefined) throw new KeyFormatError(`Invalid RSA public key: ${problem}`);
  return key;
}

function _parsePrivateDer(der: Uint8Array, format: RsaPrivateKeyFormat): RsaPrivateKey {
  let key: RsaPrivateKey;
  if (format === "pkcs1") {
    const top = new DerReader(der, "Invalid PKCS#1 RSA private key");
    key = _readPkcs1Private(top);
    top.finish();
  } else {
    // PrivateKeyInfo ::= SEQUENCE { version INTEGER (0), privateKeyAlgorithm
    //   AlgorithmIdentifier, privateKey OCTET STRING, attributes [0] IMPLICIT OPTIONAL }
    const top = new DerReader(der, "Invalid PKCS#8 RSA private key");
    const info = top.readSequence("PrivateKeyInfo");
    const versionAt = info.offset;
    const version = info.readInteger("version");
    if (version !== 0n) {
      throw new KeyFormatError(
        `Unsupported PKCS#8 version ${version} at byte offset ${versionAt}; expected 0 (PrivateKeyInfo)`,
      );
    }
    _readRsaAlgorithm(info);
    const inner = info.readOctetStringAsDer("privateKey");
    key = _readPkcs1Private(inner);
    inner.finish();
    if (info.peekTag() === 0xa0) {
      throw new KeyFormatError(
        `PKCS#8 attributes at byte offset ${info.offset} are not supported; expected the PrivateKeyInfo to end after privateKey`,
      );
    }
    info.finish();
    top.finish();
  }
  const problem = _privateKeyProblem(key);
  if (problem !== undefined) throw new KeyFormatError(`Invalid RSA private key: ${problem}`);
  return key;
}

function _pkcs1PublicDer(pub: RsaPublicKey): Uint8Array {
  return encodeDerSequence(encodeDerInteger(pub.n), encodeDerInteger(pub.e));
}

function _pkcs1PrivateDer(k: RsaPrivateKey): Uint8Array {
  return encodeDerSequence(
    encodeDerInteger(0n),
    ...[k.n, k.e, k.d, k.p, k.q, k.dp, k.dq, k.qInv].map(encodeDerInteger),
  );
}

// ----------------------------------------------------------------------------------------
// Public API: DER

/**
 * Parses a DER-encoded RSA public key in the given format and checks it (n positive and
 * odd, e odd with 1 < e < n). Throws {@linkcode KeyFormatError} on any defect.
 */
export function importRsaPublicKeyDer(der: Uint8Array, format: RsaPublicKeyFormat): RsaPublicKey {
  _checkDerArgument(der);
  const f = _checkFormat(format, ["pkcs1", "spki"] as const);
  return _parsePublicDer(der, f);
}

/**
 * Parses a DER-encoded RSA private key in the given format and checks that its CRT
 * values agree (p * q = n, 0 < d < n, dp, dq, qInv). Throws {@linkcode KeyFormatError}
 * naming the failed check.
 */
export function importRsaPrivateKeyDer(
  der: Uint8Array,
  format: RsaPrivateKeyFormat,
): RsaPrivateKey {
  _checkDerArgument(der);
  const f = _checkFormat(format, ["pkcs1", "pkcs8"] as const);
  return _parsePrivateDer(der, f);
}

/**
 * Encodes an RSA public key as DER: PKCS#1 `RSAPublicKey` or `SubjectPublicKeyInfo`.
 * Throws `TypeError` on a malformed argument and `RangeError` on an invalid key.
 */
export function exportRsaPublicKeyDer(pub: RsaPublicKey, format: RsaPublicKeyFormat): Uint8Array {
  _checkKeyArgument(pub, "an RSA public key", _PUBLIC_FIELDS);
  const f = _checkFormat(format, ["pkcs1", "spki"] as const);
  const problem = _publicKeyProblem(pub.n, pub.e);
  if (problem !== undefined) throw new RangeError(`Invalid RSA public key: ${problem}`);
  const pkcs1 = _pkcs1PublicDer(pub);
  return f === "pkcs1" ? pkcs1 : encodeDerSequence(_rsaAlgorithm(), encodeDerBitString(pkcs1));
}

/**
 * Encodes an RSA private key as DER: PKCS#1 `RSAPrivateKey` (version 0) or PKCS#8
 * `PrivateKeyInfo` (version 0, no attributes). Throws `TypeError` on a malformed argument
 * and `RangeError` on an inconsistent key.
 */
export function exportRsaPrivateKeyDer(
  priv: RsaPrivateKey,
  format: RsaPrivateKeyFormat,
): Uint8Array {
  _checkKeyArgument(priv, "an RSA private key", _PRIVATE_FIELDS);
  const f = _checkFormat(format, ["pkcs1", "pkcs8"] as const);
  const problem = _privateKeyProblem(priv);
  if (problem !== undefined) throw new RangeError(`Invalid RSA private key: ${problem}`);
  const pkcs1 = _pkcs1PrivateDer(priv);
  if (f === "pkcs1") return pkcs1;
  return encodeDerSequence(encodeDerInteger(0n), _rsaAlgorithm(), encodeDerOctetString(pkcs1));
}

// ----------------------------------------------------------------------------------------
// Public API: PEM

/**
 * Parses a PEM RSA public key: "RSA PUBLIC KEY" (PKCS#1) or "PUBLIC KEY" (SPKI with
 * rsaEncryption). Throws {@linkcode KeyFormatError} on any other label or any defect.
 */
export function importRsaPublicKey(pem: string): RsaPublicKey {
  _checkPemArgument(pem);
  const { label, der } = decodePem(pem);
  const format = _PUBLIC_LABELS[label];
  if (format === undefined) {
    throw new KeyFormatError(
      `Unsupported PEM label "${label}" for an RSA public key; expected "RSA PUBLIC KEY" or "PUBLIC KEY"`,
    );
  }
  return _parsePublicDer(der, format);
}

/**
 * Parses a PEM RSA private key: "RSA PRIVATE KEY" (PKCS#1, two-prime) or "PRIVATE KEY"
 * (unencrypted PKCS#8 with rsaEncryption), and checks its CRT values agree. Throws
 * {@linkcode KeyFormatError} on any other label or any defect.
 */
export function importRsaPrivateKey(pem: string): RsaPrivateKey {
  _checkPemArgument(pem);
  const { label, der } = decodePem(pem);
  const format = _PRIVATE_LABELS[label];
  if (format === undefined) {
    const hint = label === "ENCRYPTED PRIVATE KEY" ? " (encrypted PKCS#8 is not supported)" : "";
    throw new KeyFormatError(
      `Unsupported PEM label "${label}" for an RSA private key${hint}; expected "RSA PRIVATE KEY" or "PRIVATE KEY"`,
    );
  }
  return _parsePrivateDer(der, format);
}

/**
 * Writes an RSA public key as PEM: "pkcs1" gives "RSA PUBLIC KEY" (as Python `rsa`'s
 * `save_pkcs1()`), "spki" gives "PUBLIC KEY" (as OpenSSL). 64-character lines, trailing
 * newline.
 */
export function exportRsaPublicKey(pub: RsaPublicKey, format: RsaPublicKeyFormat): string {
  const der = exportRsaPublicKeyDer(pub, format);
  return encodePem(_PUBLIC_PEM_LABEL[format], der);
}

/**
 * Writes an RSA private key as PEM: "pkcs1" gives "RSA PRIVATE KEY" (OpenSSL's
 * traditional format, as Python `rsa`'s `save_pkcs1()`), "pkcs8" gives "PRIVATE KEY".
 * 64-character lines, trailing newline.
 */
export function exportRsaPrivateKey(priv: RsaPrivateKey, format: RsaPrivateKeyFormat): string {
  const der = exportRsaPrivateKeyDer(priv, format);
  return encodePem(_PRIVATE_PEM_LABEL[format], der);
}
