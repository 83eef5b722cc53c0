"""Ed25519 interop peer for tests/ed25519_interop_test.ts.

Reads a JSON list of operations on stdin and writes a JSON list of results on stdout, using
Python's `cryptography` (OpenSSL) Ed25519 as the reference. Bytes travel as hex; keys are the
raw 32-byte RFC 8032 forms.

  {"op": "generate"}                                -> {"secretKey", "publicKey"}
  {"op": "sign", "secretKey", "message"}            -> {"publicKey", "signature"}
  {"op": "verify", "publicKey", "message", "signature"} -> {"valid": bool}
"""

import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

RAW = serialization.Encoding.Raw


def public_hex(private_key):
    return private_key.public_key().public_bytes(RAW, serialization.PublicFormat.Raw).hex()


def run(op):
    kind = op["op"]
    if kind == "generate":
        key = Ed25519PrivateKey.generate()
        secret = key.private_bytes(
            RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return {"secretKey": secret.hex(), "publicKey": public_hex(key)}
    if kind == "sign":
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(op["secretKey"]))
        signature = key.sign(bytes.fromhex(op["message"]))
        return {"publicKey": public_hex(key), "signature": signature.hex()}
    if kind == "verify":
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(op["publicKey"]))
            key.verify(bytes.fromhex(op["signature"]), bytes.fromhex(op["message"]))
        except (InvalidSignature, ValueError):
            return {"valid": False}
        return {"valid": True}
    raise ValueError(f"unknown op {kind!r}")


def main():
    ops = json.load(sys.stdin)
    json.dump([run(op) for op in ops], sys.stdout)


if __name__ == "__main__":
    main()
