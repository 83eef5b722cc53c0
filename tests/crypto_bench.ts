/**
 * Crypto core benchmarks: `deno task bench`. The targets on the 2-core machine:
 * RSA-2048 private operation at most 2 ms, median RSA-2048 key generation at most 300 ms,
 * Fernet encrypt+decrypt of 200 bytes at least 15,000 per second. Results are recorded in
 * docs/PERFORMANCE_CRYPTO.md; benchmarks measure, tests never assert speed.
 */

import {
  fernetDecrypt,
  fernetEncrypt,
  generateFernetKey,
  generateIdentityKeyPair,
  generateRsaKeyPair,
  hashPassword,
  randomBytes,
  rsaDecrypt,
  rsaEncrypt,
  rsaSign,
  rsaVerify,
  sign,
  verify,
  verifyPassword,
} from "../core/crypto/mod.ts";

const fernetKey = generateFernetKey();
const message200 = randomBytes(200);
const token200 = fernetEncrypt(fernetKey, message200);

Deno.bench(
  "fernetEncrypt() + fernetDecrypt(), 200 bytes",
  { group: "fernet", baseline: true },
  () => {
    fernetDecrypt(fernetKey, fernetEncrypt(fernetKey, message200));
  },
);
Deno.bench("fernetEncrypt(), 200 bytes", { group: "fernet" }, () => {
  fernetEncrypt(fernetKey, message200);
});
Deno.bench("fernetDecrypt(), 200 bytes", { group: "fernet" }, () => {
  fernetDecrypt(fernetKey, token200);
});

const rsa = generateRsaKeyPair(2048);
const sessionKey = randomBytes(32);
const oaepCt = rsaEncrypt(rsa.publicKey, sessionKey, "oaep");
const pkcsCt = rsaEncrypt(rsa.publicKey, sessionKey, "pkcs1v15");
const rsaSig = rsaSign(rsa.privateKey, message200);

Deno.bench("rsaDecrypt() OAEP, RSA-2048 (private op)", { group: "rsa-private" }, () => {
  rsaDecrypt(rsa.privateKey, oaepCt, "oaep");
});
Deno.bench("rsaDecrypt() PKCS#1 v1.5, RSA-2048 (private op)", { group: "rsa-private" }, () => {
  rsaDecrypt(rsa.privateKey, pkcsCt, "pkcs1v15");
});
Deno.bench("rsaSign() SHA-256, RSA-2048 (private op)", { group: "rsa-private" }, () => {
  rsaSign(rsa.privateKey, message200);
});
Deno.bench("rsaEncrypt() OAEP, RSA-2048 (public op)", { group: "rsa-public" }, () => {
  rsaEncrypt(rsa.publicKey, sessionKey, "oaep");
});
Deno.bench("rsaVerify() SHA-256, RSA-2048 (public op)", { group: "rsa-public" }, () => {
  rsaVerify(rsa.publicKey, message200, rsaSig);
});
// Key generation time varies a lot with where the primes fall; many samples are needed.
Deno.bench("generateRsaKeyPair(2048)", { group: "rsa-keygen", n: 60, warmup: 3 }, () => {
  generateRsaKeyPair(2048);
});

const identity = generateIdentityKeyPair();
const edSig = sign(identity.secretKey, message200);
Deno.bench("sign() Ed25519, 200 bytes", { group: "ed25519" }, () => {
  sign(identity.secretKey, message200);
});
Deno.bench("verify() Ed25519, 200 bytes", { group: "ed25519" }, () => {
  verify(identity.publicKey, message200, edSig);
});

const encoded = hashPassword("correct horse battery staple");
Deno.bench(
  "hashPassword() default scrypt parameters",
  { group: "password", n: 20, warmup: 2 },
  () => {
    hashPassword("correct horse battery staple");
  },
);
Deno.bench(
  "verifyPassword() default scrypt parameters",
  { group: "password", n: 20, warmup: 2 },
  () => {
    verifyPassword("correct horse battery staple", encoded);
  },
);
