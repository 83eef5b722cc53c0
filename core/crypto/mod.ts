/**
 * FastChat's crypto core. Every function works on `Uint8Array`, checks its inputs first,
 * compares secrets in constant time, and cites its spec in its file's header.
 *
 * - Fernet (the Fernet spec), byte-compatible with Python's `cryptography.fernet`:
 *   {@linkcode generateFernetKey}, {@linkcode fernetEncrypt}, {@linkcode fernetDecrypt};
 *   every failure throws the same {@linkcode InvalidToken}.
 * - RSA (RFC 8017) on BigInt, our own: {@linkcode generateRsaKeyPair} (FIPS 186-5),
 *   {@linkcode rsaEncrypt}/{@linkcode rsaDecrypt} with OAEP-SHA256 (new keys) or PKCS#1 v1.5
 *   (compatibility with Python's `rsa`), {@linkcode rsaSign}/{@linkcode rsaVerify}
 *   (RSASSA-PKCS1-v1_5, SHA-256); decryption uses CRT with blinding and throws one
 *   {@linkcode DecryptionError} for every padding failure.
 * - PEM/DER keys: {@linkcode importRsaPublicKey} (PKCS#1, SPKI),
 *   {@linkcode importRsaPrivateKey} (PKCS#1, PKCS#8), {@linkcode exportRsaPublicKey},
 *   {@linkcode exportRsaPrivateKey}, byte-identical to OpenSSL and Python.
 * - Ed25519 identity keys (RFC 8032): {@linkcode generateIdentityKeyPair}, {@linkcode sign},
 *   {@linkcode verify}; {@linkcode safetyNumber} for out-of-band comparison.
 * - Passwords (scrypt, RFC 7914): {@linkcode hashPassword}, {@linkcode verifyPassword}.
 * - CPace (draft-irtf-cfrg-cpace-21, ristretto255 with SHA-512), the PAKE that links devices:
 *   {@linkcode cpaceStart}, {@linkcode cpaceFinish}, {@linkcode cpaceConfirmationTag}; an
 *   invalid or identity message from the other party throws {@linkcode CpaceError}.
 * - Primitives of the X3DH/PQXDH handshake and the Double Ratchet: X25519 (RFC 7748),
 *   {@linkcode generateX25519KeyPair}, {@linkcode x25519PublicKey}, {@linkcode x25519} (a
 *   low-order peer key throws {@linkcode LowOrderPointError}), and
 *   {@linkcode edwardsToX25519PublicKey}/{@linkcode edwardsToX25519SecretKey} for identity
 *   keys; HKDF (RFC 5869), {@linkcode hkdfSha256}, {@linkcode hkdfSha512} and their extract and
 *   expand steps; ML-KEM-768 (FIPS 203), {@linkcode mlKem768KeyPair},
 *   {@linkcode mlKem768Encapsulate}, {@linkcode mlKem768Decapsulate}, whose malformed keys throw
 *   {@linkcode KeyFormatError} and whose tampered ciphertexts decapsulate to an unrelated secret.
 *
 * @example Wrap a friend's Fernet key with their RSA key
 * ```ts
 * import { generateFernetKey, generateRsaKeyPair, rsaDecrypt, rsaEncrypt, utf8 } from "./mod.ts";
 * const friend = generateRsaKeyPair(2048);
 * const key = generateFernetKey();
 * const wrapped = rsaEncrypt(friend.publicKey, utf8(key), "oaep");
 * const unwrapped = rsaDecrypt(friend.privateKey, wrapped, "oaep");
 * ```
 *
 * @module
 */

export {
  concat,
  equalBytes,
  fromBase64,
  fromBase64Url,
  fromHex,
  fromUtf8,
  randomBytes,
  toBase64,
  toBase64Url,
  toHex,
  utf8,
  zeroize,
} from "./bytes.ts";
export {
  CpaceError,
  CryptoError,
  DecryptionError,
  InvalidToken,
  KeyFormatError,
  LowOrderPointError,
} from "./errors.ts";
export {
  fernetDecrypt,
  type FernetDecryptOptions,
  fernetEncrypt,
  type FernetEncryptOptions,
  fernetTimestamp,
  generateFernetKey,
} from "./fernet.ts";
export type { RsaKeyPair, RsaPadding, RsaPrivateKey, RsaPublicKey } from "./rsa_types.ts";
export { generateRsaKeyPair } from "./rsa_keygen.ts";
export { rsaDecrypt, rsaEncrypt, rsaMaxMessageLength } from "./rsa.ts";
export { rsaSign, rsaVerify } from "./rsa_sign.ts";
export {
  exportRsaPrivateKey,
  exportRsaPublicKey,
  importRsaPrivateKey,
  importRsaPublicKey,
  type RsaPrivateKeyFormat,
  type RsaPublicKeyFormat,
} from "./rsa_pem.ts";
export {
  generateIdentityKeyPair,
  type IdentityKeyPair,
  publicKeyFromSecret,
  sign,
  verify,
} from "./ed25519.ts";
export {
  formatSafetyNumber,
  type FormatSafetyNumberOptions,
  safetyNumber,
} from "./safety_number.ts";
export {
  DEFAULT_PASSWORD_PARAMS,
  hashPassword,
  hashPasswordAsync,
  PASSWORD_N_RANGE,
  type PasswordHashOptions,
  verifyPassword,
  verifyPasswordAsync,
} from "./password.ts";
export {
  CPACE_DSI,
  CPACE_ISK_BYTES,
  CPACE_MESSAGE_BYTES,
  CPACE_SCALAR_BYTES,
  CPACE_TAG_BYTES,
  cpaceConfirmationTag,
  cpaceFinish,
  type CpaceFinishOptions,
  cpaceGenerator,
  cpaceGeneratorString,
  cpaceSampleScalar,
  cpaceSharedPoint,
  type CpaceSide,
  cpaceStart,
  type CpaceStarted,
  cpaceTranscript,
  lvCat,
  prependLen,
} from "./cpace.ts";
export {
  edwardsToX25519PublicKey,
  edwardsToX25519SecretKey,
  generateX25519KeyPair,
  x25519,
  X25519_KEY_BYTES,
  type X25519KeyPair,
  x25519PublicKey,
} from "./x25519.ts";
export {
  HKDF_SHA256_MAX_LENGTH,
  HKDF_SHA512_MAX_LENGTH,
  hkdfExpandSha256,
  hkdfExpandSha512,
  hkdfExtractSha256,
  hkdfExtractSha512,
  hkdfSha256,
  hkdfSha512,
} from "./hkdf.ts";
export {
  ML_KEM_768_CIPHERTEXT_BYTES,
  ML_KEM_768_PUBLIC_KEY_BYTES,
  ML_KEM_768_RANDOM_BYTES,
  ML_KEM_768_SECRET_KEY_BYTES,
  ML_KEM_768_SEED_BYTES,
  ML_KEM_768_SHARED_SECRET_BYTES,
  mlKem768Decapsulate,
  mlKem768Encapsulate,
  type MlKem768Encapsulation,
  type MlKem768KeyPair,
  mlKem768KeyPair,
} from "./mlkem.ts";
