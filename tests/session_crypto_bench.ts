/**
 * What devices and sessions cost on the client (issues 21 and 22): `deno task bench`. The
 * Double Ratchet per message (encrypt and decrypt, the cost every message will pay), the
 * PQXDH handshake (once per device pair), a link exchange (once per linked device), checking
 * a device list of 10 devices, and the primitives under them. Results are recorded in
 * docs/PERFORMANCE_CRYPTO.md; benchmarks measure, tests never assert speed.
 */

import {
  generateIdentityKeyPair,
  generateX25519KeyPair,
  importRsaPrivateKey,
  importRsaPublicKey,
  mlKem768Decapsulate,
  mlKem768Encapsulate,
  mlKem768KeyPair,
  toBase64Url,
  x25519,
} from "../core/crypto/mod.ts";
import {
  acceptSession,
  answerLink,
  checkConfirm,
  checkDeviceListChain,
  confirmLink,
  type DeviceList,
  initiateSession,
  makePrekeys,
  newLinkCode,
  sessionIdentity,
  signFirstDeviceList,
  signNextDeviceList,
  startLink,
  verifyPrekeyBundle,
} from "../core/e2e/mod.ts";
import {
  ratchetDecrypt,
  ratchetEncrypt,
  ratchetInitAlice,
  ratchetInitBob,
} from "../core/e2e/double_ratchet.ts";

const _rsa = (name: string) =>
  Deno.readTextFileSync(new URL(`./testdata/rsa/${name}`, import.meta.url));
const RSA_PEM = _rsa("rsa2048_spki_public.pem");
const RSA_PUBLIC = importRsaPublicKey(RSA_PEM);
const RSA_PRIVATE = importRsaPrivateKey(_rsa("rsa2048_pkcs8_private.pem"));
const AD = new TextEncoder().encode("alice/1 bob/3");
const TEXT = new TextEncoder().encode("x".repeat(200));

// A conversation in its steady state: both sides have sent, so each message is one symmetric
// step (a DH step comes only when the direction changes).
const sk = crypto.getRandomValues(new Uint8Array(32));
const bobDh = generateX25519KeyPair();
const alice = ratchetInitAlice(sk, bobDh.publicKey);
const bob = ratchetInitBob(sk, bobDh);
ratchetDecrypt(bob, ratchetEncrypt(alice, TEXT, AD), AD);

Deno.bench("Double Ratchet: encrypt + decrypt a 200-byte message", () => {
  ratchetDecrypt(bob, ratchetEncrypt(alice, TEXT, AD), AD);
});

Deno.bench("Double Ratchet: a reply (DH step both ways) encrypt + decrypt", () => {
  ratchetDecrypt(alice, ratchetEncrypt(bob, TEXT, AD), AD);
  ratchetDecrypt(bob, ratchetEncrypt(alice, TEXT, AD), AD);
});

const aliceSign = generateIdentityKeyPair();
const bobSign = generateIdentityKeyPair();
const alicePre = makePrekeys(aliceSign.secretKey, { user: 1, device: 1, opks: 1 });

Deno.bench("PQXDH: bundle check + initiate + accept (X25519, ML-KEM-768, RSA-OAEP)", () => {
  const bobPre = makePrekeys(bobSign.secretKey, { user: 2, device: 3, opks: 1 });
  const bundle = verifyPrekeyBundle(bobPre.bundle, bobSign.publicKey);
  const started = initiateSession({
    myIdentity: sessionIdentity(alicePre.secrets),
    bundle,
    recipientRsaPublicKey: RSA_PUBLIC,
  });
  acceptSession({
    mySecrets: bobPre.secrets,
    initialMessage: started.initialMessage,
    senderIdentity: { user: 1, device: 1, signingPublicKey: aliceSign.publicKey },
    rsaPrivateKey: RSA_PRIVATE,
  });
});

Deno.bench("makePrekeys(): a bundle with 50 one-time prekeys", () => {
  makePrekeys(bobSign.secretKey, { user: 2, device: 3, opks: 50 });
});

Deno.bench("linking: CPace exchange and both confirmations", () => {
  const code = newLinkCode();
  const keys = { name: "tablet", sign: toBase64Url(bobSign.publicKey, false), rsa: RSA_PEM };
  const n = startLink(code, keys);
  const o = answerLink(code, n.offer, { user: 1, device: 1 });
  const c = confirmLink(n.state, o.answer);
  checkConfirm(o.state, c.confirm);
});

// A chain of 10 versions ending with 10 devices.
const account = generateIdentityKeyPair();
const signer = generateIdentityKeyPair();
const lists: DeviceList[] = [signFirstDeviceList({
  user: 1,
  device: { name: "d1", sign: toBase64Url(signer.publicKey, false), rsa: RSA_PEM },
  accountSecretKey: account.secretKey,
})];
for (let i = 2; i <= 10; i++) {
  const key = toBase64Url(generateIdentityKeyPair().publicKey, false);
  lists.push(
    signNextDeviceList(lists.at(-1)!, { add: { name: `d${i}`, sign: key, rsa: RSA_PEM } }, {
      deviceId: 1,
      secretKey: signer.secretKey,
    }),
  );
}

Deno.bench("checkDeviceListChain(): 10 versions, up to 10 devices", () => {
  checkDeviceListChain(null, lists, account.publicKey);
});

const kem = mlKem768KeyPair();
Deno.bench("ML-KEM-768 encapsulate + decapsulate", () => {
  const { cipherText } = mlKem768Encapsulate(kem.publicKey);
  mlKem768Decapsulate(cipherText, kem.secretKey);
});

const x1 = generateX25519KeyPair();
const x2 = generateX25519KeyPair();
Deno.bench("X25519 shared secret", () => {
  x25519(x1.secretKey, x2.publicKey);
});
