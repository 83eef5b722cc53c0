"""X3DH interop peer for tests/x3dh_interop_test.ts, on Debian's python3-x3dh (1.0.x).

python3-x3dh is configured with FastChat's classical parameters: identity keys in the
CURVE_25519 format (the X25519 identity key is its own key, as ours), SHA-256, the info string
the test passes (FastChat's PQXDH_INFO), salt 32 zero bytes and F = 32 bytes of 0xFF (fixed
by the library, as in X3DH), and Encode(PK) = 0x05 || PK (our EncodeEC). The associated data
appendix is the test's (our user and device IDs).

Reads a JSON list of operations on stdin and writes a JSON list of results on stdout; bytes
travel as hex. State between runs travels as python3-x3dh's own JSON serialization.

  {"op": "bundle", "info", "opks"}
      -> {"state", "ik", "spk", "spk_sig", "opks": [hex]}       a responder's state and bundle
  {"op": "respond", "state", "info", "header": {"ik", "ek", "spk", "opk"}, "appendix"}
      -> {"sk", "ad"}                                           the passive side
  {"op": "initiate", "info", "bundle", "signing_public", "identity_secret", "use_opk", "appendix"}
      -> {"sk", "ad", "header": {"ik", "ek", "spk", "opk"}}      the active side

`initiate` takes a FastChat prekey bundle (its JSON). It checks FastChat's own signatures (the
Ed25519 signatures by the device's signing key over "fastchat-prekey-v1" || 0 || kind || 0 ||
user || device || id || key) with `cryptography`, independently of the Deno code. python3-x3dh
itself insists on an XEdDSA signature of the signed prekey by the X25519 identity key, a format
FastChat does not use; so that the library's own check can pass, the peer makes that signature
with `identity_secret`, which the test hands it for this alone. The key agreement itself uses
only the bundle's public keys.
"""

import asyncio
import base64
import json
import struct
import sys

import x3dh
import xeddsa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = x3dh.IdentityKeyFormat.CURVE_25519
HASH = x3dh.HashFunction.SHA_256


class FastChatState(x3dh.BaseState):
    """python3-x3dh's state with FastChat's public key encoding."""

    @staticmethod
    def _encode_public_key(key_format, pub):
        return b"\x05" + pub


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def prekey_signed_bytes(kind, user, device, key_id, key):
    return (
        b"fastchat-prekey-v1\x00"
        + kind.encode()
        + b"\x00"
        + struct.pack(">QII", user, device, key_id)
        + key
    )


def check_fastchat_signature(signing_public, kind, bundle, key_id, key, sig):
    data = prekey_signed_bytes(kind, bundle["user"], bundle["device"], key_id, key)
    try:
        Ed25519PublicKey.from_public_bytes(signing_public).verify(sig, data)
    except InvalidSignature:
        raise ValueError(f"FastChat signature of {kind} does not verify") from None


def make_bundle(op):
    state = FastChatState.create(FORMAT, HASH, op["info"].encode())
    state.generate_pre_keys(op["opks"])
    bundle = state.bundle
    return {
        "state": state.json,
        "ik": bundle.identity_key.hex(),
        "spk": bundle.signed_pre_key.hex(),
        "spk_sig": bundle.signed_pre_key_sig.hex(),
        "opks": sorted(key.hex() for key in bundle.pre_keys),
    }


def respond(op):
    state, _ = FastChatState.from_json(op["state"], FORMAT, HASH, op["info"].encode())
    h = op["header"]
    header = x3dh.Header(
        identity_key=bytes.fromhex(h["ik"]),
        ephemeral_key=bytes.fromhex(h["ek"]),
        signed_pre_key=bytes.fromhex(h["spk"]),
        pre_key=None if h["opk"] is None else bytes.fromhex(h["opk"]),
    )
    sk, ad, _ = asyncio.run(
        state.get_shared_secret_passive(
            header, bytes.fromhex(op["appendix"]), require_pre_key=False
        )
    )
    return {"sk": sk.hex(), "ad": ad.hex()}


def initiate(op):
    ours = json.loads(op["bundle"])
    signing_public = bytes.fromhex(op["signing_public"])
    ik = b64url(ours["ik"])
    spk = b64url(ours["spk"]["key"])
    check_fastchat_signature(signing_public, "ik", ours, 0, ik, b64url(ours["iksig"]))
    check_fastchat_signature(
        signing_public, "spk", ours, ours["spk"]["id"], spk, b64url(ours["spk"]["sig"])
    )
    # The only thing python3-x3dh cannot take from a FastChat bundle: its XEdDSA signature.
    identity_secret = bytes.fromhex(op["identity_secret"])
    if xeddsa.priv_to_curve25519_pub(identity_secret) != ik:
        raise ValueError("identity_secret is not the bundle's identity key")
    identity = xeddsa.priv_force_sign(identity_secret, False)
    xeddsa_sig = xeddsa.ed25519_priv_sign(identity, FastChatState._encode_public_key(FORMAT, spk))
    opks = frozenset(b64url(p["key"]) for p in ours["opks"][:1]) if op["use_opk"] else frozenset()
    bundle = x3dh.Bundle(
        identity_key=ik, signed_pre_key=spk, signed_pre_key_sig=xeddsa_sig, pre_keys=opks
    )
    state = FastChatState.create(FORMAT, HASH, op["info"].encode())
    sk, ad, header = asyncio.run(
        state.get_shared_secret_active(
            bundle, bytes.fromhex(op["appendix"]), require_pre_key=False
        )
    )
    return {
        "sk": sk.hex(),
        "ad": ad.hex(),
        "header": {
            "ik": header.identity_key.hex(),
            "ek": header.ephemeral_key.hex(),
            "spk": header.signed_pre_key.hex(),
            "opk": None if header.pre_key is None else header.pre_key.hex(),
        },
    }


OPS = {"bundle": make_bundle, "respond": respond, "initiate": initiate}


def main():
    ops = json.load(sys.stdin)
    json.dump([OPS[op["op"]](op) for op in ops], sys.stdout)


if __name__ == "__main__":
    main()
