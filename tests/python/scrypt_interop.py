"""scrypt interop peer for tests/password_interop_test.ts, on Python's hashlib.scrypt (OpenSSL).

Reads a JSON list of {"password": str, "salt": hex, "N", "r", "p", "dkLen"} on stdin and
writes the list of derived keys (hex) on stdout. The password is hashed as UTF-8, as
core/crypto/password.ts does.
"""

import hashlib
import json
import sys


def derive(case):
    n, r, p = case["N"], case["r"], case["p"]
    key = hashlib.scrypt(
        case["password"].encode("utf-8"),
        salt=bytes.fromhex(case["salt"]),
        n=n,
        r=r,
        p=p,
        dklen=case["dkLen"],
        # OpenSSL's default cap is 32 MiB, just short of N = 2^15, r = 8; allow what we allow.
        maxmem=128 * r * (n + p + 2) + 1024 * 1024,
    )
    return key.hex()


def main():
    json.dump([derive(c) for c in json.load(sys.stdin)], sys.stdout)


if __name__ == "__main__":
    main()
