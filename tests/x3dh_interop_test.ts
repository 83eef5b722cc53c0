/**
 * Live interop of the classical part of FastChat's session handshake with Debian's
 * python3-x3dh (an independent X3DH implementation) through tests/python/x3dh_peer.py: a
 * session started by either side, with and without a one-time prekey, derives the same secret
 * and associated data on the other (issue 22).
 *
 * Expressed in python3-x3dh, exactly as FastChat uses them: X25519 identity keys of their own
 * (its CURVE_25519 format), SHA-256, the info string {@linkcode PQXDH_INFO}, salt 32 zero
 * bytes, F = 32 bytes of 0xFF, the order DH1 = DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B),
 * DH3 = DH(EK_A, SPK_B), DH4 = DH(EK_A, OPK_B), Encode(PK) = 0x05 || PK, and AD = Encode(IK_A)
 * || Encode(IK_B) || the devices' IDs (the library's "associated data appendix").
 *
 * Not expressible there, and tested by tests/unit/pqxdh_test.ts instead:
 * - the ML-KEM-768 shared secret SS (python3-x3dh has no KEM), and
 * - the secret R wrapped with RSA-OAEP-SHA-256 to the recipient device's RSA key.
 *   Both are appended to the HKDF input after DH4, so here the secret compared is
 *   `classicalX3dhInitiator`/`classicalX3dhResponder`'s HKDF over F || DH1..DH4 alone, which
 *   FastChat never uses for a session.
 * - Our signature format: FastChat signs prekeys with the device's Ed25519 signing key over
 *   "fastchat-prekey-v1" || 0 || kind || 0 || user || device || id || key; python3-x3dh wants
 *   an XEdDSA signature of Encode(SPK) by the X25519 identity key. The peer checks our Ed25519
 *   signatures itself with `cryptography` (independently of our code), then, only so the
 *   library's own check passes, signs the SPK with XEdDSA using the identity secret this test
 *   hands it. FastChat does not check python3-x3dh's XEdDSA signatures (it has no XEdDSA).
 * - Prekey IDs, the initial message's wire format, and the single use of one-time prekeys:
 *   python3-x3dh names prekeys by their public keys, and the peer maps them.
 */

import assert from "node:assert/strict";
import { x25519 } from "@noble/curves/ed25519.js";
import { fromBase64Url, fromHex, toHex } from "../core/crypto/bytes.ts";
import { generateIdentityKeyPair } from "../core/crypto/ed25519.ts";
import { makePrekeys, serializePrekeyBundle } from "../core/e2e/prekeys.ts";
import {
  classicalX3dhInitiator,
  classicalX3dhResponder,
  PQXDH_INFO,
  sessionAssociatedData,
  sessionIdsBytes,
} from "../core/e2e/pqxdh.ts";
import { runPython } from "./helpers/python.ts";

interface _PyBundle {
  state: unknown;
  ik: string;
  spk: string;
  spk_sig: string;
  opks: string[];
}
interface _PyHeader {
  ik: string;
  ek: string;
  spk: string;
  opk: string | null;
}
interface _PyShared {
  sk: string;
  ad: string;
  header?: _PyHeader;
}

// FastChat's side is user 7, device 2; python3-x3dh's is user 9, device 1.
const US = { user: 7, device: 2 };
const THEM = { user: 9, device: 1 };

for (const useOpk of [true, false]) {
  const which = useOpk ? "with a one-time prekey" : "without one (the last resort)";

  Deno.test(`A session FastChat starts to python3-x3dh derives the same secret, ${which}`, async () => {
    const [bundle] = await runPython<[_PyBundle]>("x3dh_peer.py", [
      { op: "bundle", info: PQXDH_INFO, opks: 2 },
    ]);
    const me = makePrekeys(generateIdentityKeyPair().secretKey, { ...US, opks: 0 });
    const ikSecret = fromBase64Url(me.secrets.ik);
    const ek = x25519.keygen();
    const opk = useOpk ? bundle!.opks[1]! : null;
    const sk = classicalX3dhInitiator({
      identitySecret: ikSecret,
      ephemeralSecret: ek.secretKey,
      peerIdentity: fromHex(bundle!.ik),
      peerSignedPrekey: fromHex(bundle!.spk),
      ...(opk === null ? {} : { peerOneTimePrekey: fromHex(opk) }),
    });
    const appendix = sessionIdsBytes(US, THEM);
    const [theirs] = await runPython<[_PyShared]>("x3dh_peer.py", [{
      op: "respond",
      state: bundle!.state,
      info: PQXDH_INFO,
      header: {
        ik: toHex(x25519.getPublicKey(ikSecret)),
        ek: toHex(ek.publicKey),
        spk: bundle!.spk,
        opk,
      },
      appendix: toHex(appendix),
    }]);
    assert.equal(theirs!.sk, toHex(sk));
    const ad = sessionAssociatedData(
      { ...US, ik: x25519.getPublicKey(ikSecret) },
      { ...THEM, ik: fromHex(bundle!.ik) },
    );
    assert.equal(theirs!.ad, toHex(ad));
  });

  Deno.test(`A session python3-x3dh starts to FastChat derives the same secret, ${which}`, async () => {
    const signing = generateIdentityKeyPair();
    const me = makePrekeys(signing.secretKey, { ...US, opks: 2 });
    const [theirs] = await runPython<[_PyShared]>("x3dh_peer.py", [{
      op: "initiate",
      info: PQXDH_INFO,
      bundle: serializePrekeyBundle(me.bundle),
      signing_public: toHex(signing.publicKey),
      identity_secret: toHex(fromBase64Url(me.secrets.ik)),
      use_opk: useOpk,
      appendix: toHex(sessionIdsBytes(THEM, US)),
    }]);
    const header = theirs!.header!;
    assert.equal(header.spk, toHex(fromBase64Url(me.bundle.spk.key)));
    // python3-x3dh names the one-time prekey by its public key; find ours.
    const opkIndex = header.opk === null
      ? -1
      : me.bundle.opks.findIndex((p) => toHex(fromBase64Url(p.key)) === header.opk);
    assert.equal(opkIndex === -1, !useOpk);
    const sk = classicalX3dhResponder({
      identitySecret: fromBase64Url(me.secrets.ik),
      signedPrekeySecret: fromBase64Url(me.secrets.spk.priv),
      ...(opkIndex === -1
        ? {}
        : { oneTimePrekeySecret: fromBase64Url(me.secrets.opks[opkIndex]!.priv) }),
      peerIdentity: fromHex(header.ik),
      peerEphemeral: fromHex(header.ek),
    });
    assert.equal(toHex(sk), theirs!.sk);
    const ad = sessionAssociatedData(
      { ...THEM, ik: fromHex(header.ik) },
      { ...US, ik: fromBase64Url(me.bundle.ik) },
    );
    assert.equal(toHex(ad), theirs!.ad);
  });
}

Deno.test("The peer refuses a FastChat bundle whose signature does not verify", async () => {
  const signing = generateIdentityKeyPair();
  const me = makePrekeys(signing.secretKey, { ...US, opks: 1 });
  await assert.rejects(
    runPython("x3dh_peer.py", [{
      op: "initiate",
      info: PQXDH_INFO,
      bundle: serializePrekeyBundle(me.bundle),
      signing_public: toHex(generateIdentityKeyPair().publicKey),
      identity_secret: toHex(fromBase64Url(me.secrets.ik)),
      use_opk: true,
      appendix: "",
    }]),
    /FastChat signature of ik does not verify/,
  );
});
