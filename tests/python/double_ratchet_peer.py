"""Interop peer: Debian's python3-doubleratchet configured with FastChat's parameters.

Driven by tests/double_ratchet_interop_test.ts, one JSON request per line on stdin, one JSON
answer per line on stdout. Binary values are url-safe base64 without padding.

  {"op": "init_alice", "sk", "bob_pub", "ad", "plaintext"}  -> {"envelope"}
  {"op": "init_bob", "sk", "bob_priv", "ad", "envelope"}     -> {"plaintext"}
  {"op": "encrypt", "ad", "plaintext"}                       -> {"envelope"}
  {"op": "decrypt", "ad", "envelope"}                        -> {"plaintext"} or {"error"}

FastChat's parameters (core/e2e/double_ratchet.ts, docs/CRYPTO.md):
- DH: X25519 (the library's recommended Curve25519 ratchet).
- Root chain: HKDF-SHA-256, salt = root key, ikm = DH output, info "fastchat-ratchet-v1 root",
  64 bytes: new root key || chain key (the library's recommended HKDF KDF).
- Message chains: HMAC-SHA-256 with the constant b"\\x02\\x01": the library's KDF chain keeps the
  first 32 bytes (HMAC(ck, 0x02)) as the next chain key and returns the rest (HMAC(ck, 0x01))
  as the message key, which is FastChat's KDF_CK.
- AEAD: the Fernet step. Fernet key = urlsafe_b64encode(HKDF-SHA-256(mk, salt 32 zero bytes,
  info "fastchat-ratchet-v1 fernet", 32 bytes)); plaintext = SHA-256(associated data) || body,
  where the associated data is _build_associated_data's binding of the caller's AD and header.
- MAX_SKIP (dos_protection_threshold) 1000, at most 2000 skipped keys kept.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import struct
import sys

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from doubleratchet import aead, double_ratchet
from doubleratchet.recommended import HashFunction, kdf_hkdf, kdf_separate_hmacs
from doubleratchet.recommended.diffie_hellman_ratchet_curve25519 import DiffieHellmanRatchet
from doubleratchet.types import EncryptedMessage, Header

HEADER_LABEL = b"fastchat-ratchet-v1 header"
FERNET_INFO = b"fastchat-ratchet-v1 fernet"


class RootKDF(kdf_hkdf.KDF):
    @staticmethod
    def _get_hash_function():
        return HashFunction.SHA_256

    @staticmethod
    def _get_info():
        return b"fastchat-ratchet-v1 root"


class ChainKDF(kdf_separate_hmacs.KDF):
    @staticmethod
    def _get_hash_function():
        return HashFunction.SHA_256


def _fernet(key: bytes) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"\x00" * 32, info=FERNET_INFO).derive(key)
    return Fernet(base64.urlsafe_b64encode(raw))


class FernetAEAD(aead.AEAD):
    @staticmethod
    async def encrypt(plaintext: bytes, key: bytes, associated_data: bytes) -> bytes:
        prefix = hashlib.sha256(associated_data).digest()
        return _fernet(key).encrypt(prefix + plaintext)

    @staticmethod
    async def decrypt(ciphertext: bytes, key: bytes, associated_data: bytes) -> bytes:
        try:
            sealed = _fernet(key).decrypt(ciphertext)
        except InvalidToken as e:
            raise aead.AuthenticationFailedException("Fernet token does not verify") from e
        if not hmac.compare_digest(sealed[:32], hashlib.sha256(associated_data).digest()):
            raise aead.AuthenticationFailedException("Header binding does not match")
        return sealed[32:]


class FastChatRatchet(double_ratchet.DoubleRatchet):
    @staticmethod
    def _build_associated_data(associated_data: bytes, header: Header) -> bytes:
        return (
            HEADER_LABEL
            + struct.pack(">I", len(associated_data))
            + associated_data
            + header.ratchet_pub
            + struct.pack(">II", header.previous_sending_chain_length, header.sending_chain_length)
        )


CONFIG = dict(
    diffie_hellman_ratchet_class=DiffieHellmanRatchet,
    root_chain_kdf=RootKDF,
    message_chain_kdf=ChainKDF,
    message_chain_constant=b"\x02\x01",
    dos_protection_threshold=1000,
    max_num_skipped_message_keys=2000,
    aead=FernetAEAD,
)


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def encode(message: EncryptedMessage) -> str:
    h = message.header
    return json.dumps({
        "v": 1,
        "t": "rm",
        "dh": b64e(h.ratchet_pub),
        "pn": h.previous_sending_chain_length,
        "n": h.sending_chain_length,
        "ct": message.ciphertext.decode(),
    })


def decode(body: str) -> EncryptedMessage:
    o = json.loads(body)
    assert sorted(o) == ["ct", "dh", "n", "pn", "t", "v"] and o["v"] == 1 and o["t"] == "rm"
    return EncryptedMessage(Header(b64d(o["dh"]), o["pn"], o["n"]), o["ct"].encode())


async def handle(state, req):
    op = req["op"]
    ad = b64d(req["ad"])
    if op == "init_alice":
        ratchet, message = await FastChatRatchet.encrypt_initial_message(
            **CONFIG, shared_secret=b64d(req["sk"]), recipient_ratchet_pub=b64d(req["bob_pub"]),
            message=b64d(req["plaintext"]), associated_data=ad)
        state["ratchet"] = ratchet
        return {"envelope": encode(message)}
    if op == "init_bob":
        ratchet, plaintext = await FastChatRatchet.decrypt_initial_message(
            **CONFIG, shared_secret=b64d(req["sk"]), own_ratchet_priv=b64d(req["bob_priv"]),
            message=decode(req["envelope"]), associated_data=ad)
        state["ratchet"] = ratchet
        return {"plaintext": b64e(plaintext)}
    if op == "encrypt":
        message = await state["ratchet"].encrypt_message(b64d(req["plaintext"]), ad)
        return {"envelope": encode(message)}
    if op == "decrypt":
        try:
            plaintext = await state["ratchet"].decrypt_message(decode(req["envelope"]), ad)
        except Exception as e:  # The test checks which kind of failure, by class name.
            return {"error": type(e).__name__}
        return {"plaintext": b64e(plaintext)}
    raise ValueError(f"unknown op {op!r}")


def main() -> None:
    state = {}
    loop = asyncio.new_event_loop()
    for line in sys.stdin:
        if not line.strip():
            continue
        answer = loop.run_until_complete(handle(state, json.loads(line)))
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
