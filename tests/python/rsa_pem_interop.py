"""Reference side of tests/rsa_pem_interop_test.ts.

Reads one JSON request on stdin and writes one JSON reply on stdout. Integers travel as
lowercase hex strings, PEM as text. Operations:

- "generate": fresh keys from `cryptography` (OpenSSL) and from pure-Python `rsa`, each
  written in all four PEM formats by the libraries themselves.
- "primes": prime pairs for the caller to build keys from integers on its own.
- "reload": load PEM written by the caller with `rsa` and `cryptography` and write it
  back out, so the caller can check the round trip is byte-identical.
"""

import json
import math
import sys

import rsa
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import rsa as crsa

NO_ENC = ser.NoEncryption()


def hexint(v):
    return format(v, "x")


def crypto_pems(key):
    pub = key.public_key()
    return {
        "pkcs1_private": key.private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL, NO_ENC
        ).decode(),
        "pkcs8_private": key.private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.PKCS8, NO_ENC
        ).decode(),
        "pkcs1_public": pub.public_bytes(ser.Encoding.PEM, ser.PublicFormat.PKCS1).decode(),
        "spki_public": pub.public_bytes(
            ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
    }


def crypto_ints(key):
    nums = key.private_numbers()
    return {
        "n": hexint(nums.public_numbers.n),
        "e": hexint(nums.public_numbers.e),
        "d": hexint(nums.d),
        "p": hexint(nums.p),
        "q": hexint(nums.q),
        "dp": hexint(nums.dmp1),
        "dq": hexint(nums.dmq1),
        "qInv": hexint(nums.iqmp),
    }


def generate(req):
    out = []
    for spec in req["cryptography"]:
        key = crsa.generate_private_key(public_exponent=spec["e"], key_size=spec["bits"])
        out.append({
            "source": f"cryptography {spec['bits']}-bit e={spec['e']}",
            "ints": crypto_ints(key),
            "pem": crypto_pems(key),
        })
    for spec in req["rsa"]:
        pub, priv = rsa.newkeys(spec["bits"], exponent=spec["e"])
        # `rsa` writes only PKCS#1; the SPKI and PKCS#8 forms of the same integers come
        # from `cryptography`, so both libraries' writers are exercised on one key.
        key = crsa.RSAPrivateNumbers(
            priv.p, priv.q, priv.d, priv.exp1, priv.exp2, priv.coef,
            crsa.RSAPublicNumbers(priv.e, priv.n),
        ).private_key()
        pems = crypto_pems(key)
        assert pems["pkcs1_private"].encode() == priv.save_pkcs1()
        pems["pkcs1_private"] = priv.save_pkcs1().decode()
        pems["pkcs1_public"] = pub.save_pkcs1().decode()
        out.append({
            "source": f"rsa {spec['bits']}-bit e={spec['e']}",
            "ints": {
                "n": hexint(priv.n), "e": hexint(priv.e), "d": hexint(priv.d),
                "p": hexint(priv.p), "q": hexint(priv.q), "dp": hexint(priv.exp1),
                "dq": hexint(priv.exp2), "qInv": hexint(priv.coef),
            },
            "pem": pems,
        })
    return out


def primes(req):
    out = []
    for spec in req["keys"]:
        bits, e = spec["bits"], spec["e"]
        while True:
            p, q = rsa.key.find_p_q(bits // 2, accurate=True)
            if math.gcd(e, (p - 1) * (q - 1)) == 1:
                break
        out.append({"bits": bits, "e": hexint(e), "p": hexint(p), "q": hexint(q)})
    return out


def reload(req):
    out = []
    for pems in req["keys"]:
        res = {}
        res["rsa_private_pkcs1"] = rsa.PrivateKey.load_pkcs1(
            pems["pkcs1_private"].encode()
        ).save_pkcs1().decode()
        res["rsa_public_pkcs1"] = rsa.PublicKey.load_pkcs1(
            pems["pkcs1_public"].encode()
        ).save_pkcs1().decode()
        for src in ("pkcs1_private", "pkcs8_private"):
            key = ser.load_pem_private_key(pems[src].encode(), password=None)
            for fmt, pem in crypto_pems(key).items():
                res[f"cryptography_from_{src}_{fmt}"] = pem
            res[f"cryptography_from_{src}_ints"] = crypto_ints(key)
        for src in ("pkcs1_public", "spki_public"):
            pub = ser.load_pem_public_key(pems[src].encode())
            res[f"cryptography_from_{src}_pkcs1_public"] = pub.public_bytes(
                ser.Encoding.PEM, ser.PublicFormat.PKCS1
            ).decode()
            res[f"cryptography_from_{src}_spki_public"] = pub.public_bytes(
                ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo
            ).decode()
        out.append(res)
    return out


def main():
    req = json.load(sys.stdin)
    ops = {"generate": generate, "primes": primes, "reload": reload}
    json.dump(ops[req["op"]](req), sys.stdout)


if __name__ == "__main__":
    main()
