"""RSA interop peer for tests/rsa_interop_test.ts.

Reads one JSON request on stdin and writes one JSON reply on stdout. Keys cross the
boundary as raw integers in decimal strings (n, e, d, p, q); bytes as lowercase hex.
PKCS#1 v1.5 encryption goes through Python's `rsa` library (rsa.encrypt / rsa.decrypt),
OAEP-SHA-256 through `cryptography`, and signatures through both.

Requests ("op"):
  generate  {library: "rsa" | "cryptography", bits}        -> {n, e, d, p, q}
  encrypt   {key: {n, e}, padding, label?, messages: [hex]} -> {ciphertexts: [hex]}
  decrypt   {key: {n, e, d, p, q}, padding, label?, ciphertexts: [hex]}
                                                            -> {messages: [hex | null]}
  sign      {key: {n, e, d, p, q}, messages: [hex]}         -> {rsa: [hex], cryptography: [hex]}
  verify    {key: {n, e}, items: [{message, signature}]}    -> {rsa: [bool], cryptography: [bool]}
"""

import json
import sys

import rsa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa as crsa


def _ints(key, names):
    return [int(key[name]) for name in names]


def _crypto_private(key):
    n, e, d, p, q = _ints(key, "nedpq")
    public = crsa.RSAPublicNumbers(e, n)
    numbers = crsa.RSAPrivateNumbers(
        p, q, d, crsa.rsa_crt_dmp1(d, p), crsa.rsa_crt_dmq1(d, q), crsa.rsa_crt_iqmp(p, q), public
    )
    return numbers.private_key()


def _crypto_public(key):
    n, e = _ints(key, "ne")
    return crsa.RSAPublicNumbers(e, n).public_key()


def _oaep(label_hex):
    label = bytes.fromhex(label_hex) if label_hex else None
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label)


def generate(req):
    bits = int(req["bits"])
    if req["library"] == "rsa":
        _, priv = rsa.newkeys(bits)
        n, e, d, p, q = priv.n, priv.e, priv.d, priv.p, priv.q
    else:
        nums = crsa.generate_private_key(public_exponent=65537, key_size=bits).private_numbers()
        n, e, d, p, q = nums.public_numbers.n, nums.public_numbers.e, nums.d, nums.p, nums.q
    return {name: str(value) for name, value in zip("nedpq", (n, e, d, p, q))}


def encrypt(req):
    messages = [bytes.fromhex(m) for m in req["messages"]]
    if req["padding"] == "pkcs1v15":
        pub = rsa.PublicKey(*_ints(req["key"], "ne"))
        cts = [rsa.encrypt(m, pub) for m in messages]
    else:
        pub = _crypto_public(req["key"])
        cts = [pub.encrypt(m, _oaep(req.get("label"))) for m in messages]
    return {"ciphertexts": [c.hex() for c in cts]}


def decrypt(req):
    out = []
    if req["padding"] == "pkcs1v15":
        priv = rsa.PrivateKey(*_ints(req["key"], "nedpq"))
        for c in req["ciphertexts"]:
            try:
                out.append(rsa.decrypt(bytes.fromhex(c), priv).hex())
            except rsa.DecryptionError:
                out.append(None)
    else:
        priv = _crypto_private(req["key"])
        for c in req["ciphertexts"]:
            try:
                out.append(priv.decrypt(bytes.fromhex(c), _oaep(req.get("label"))).hex())
            except ValueError:
                out.append(None)
    return {"messages": out}


def sign(req):
    messages = [bytes.fromhex(m) for m in req["messages"]]
    rsa_priv = rsa.PrivateKey(*_ints(req["key"], "nedpq"))
    crypto_priv = _crypto_private(req["key"])
    return {
        "rsa": [rsa.sign(m, rsa_priv, "SHA-256").hex() for m in messages],
        "cryptography": [
            crypto_priv.sign(m, padding.PKCS1v15(), hashes.SHA256()).hex() for m in messages
        ],
    }


def verify(req):
    rsa_pub = rsa.PublicKey(*_ints(req["key"], "ne"))
    crypto_pub = _crypto_public(req["key"])
    rsa_ok, crypto_ok = [], []
    for item in req["items"]:
        message = bytes.fromhex(item["message"])
        signature = bytes.fromhex(item["signature"])
        try:
            rsa_ok.append(rsa.verify(message, signature, rsa_pub) == "SHA-256")
        except rsa.VerificationError:
            rsa_ok.append(False)
        try:
            crypto_pub.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            crypto_ok.append(True)
        except InvalidSignature:
            crypto_ok.append(False)
    return {"rsa": rsa_ok, "cryptography": crypto_ok}


OPS = {"generate": generate, "encrypt": encrypt, "decrypt": decrypt, "sign": sign, "verify": verify}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    json.dump(OPS[request["op"]](request), sys.stdout)
