"""Fernet interop peer for tests/fernet_interop_test.ts.

Reads a JSON list of operations on stdin and writes a JSON list of results on stdout, using
Python's `cryptography.fernet` as the reference implementation. Bytes travel as hex.

  {"op": "generate_key"}                                   -> {"key": str}
  {"op": "encrypt", "key", "data"}                         -> {"token": str}   (random IV, now)
  {"op": "encrypt_from_parts", "key", "data", "now", "iv"} -> {"token": str}
  {"op": "decrypt", "key", "token", "ttl"?, "now"?}        -> {"data": hex} or {"error": name}
"""

import json
import sys

from cryptography.fernet import Fernet, InvalidToken


def run(op):
    kind = op["op"]
    if kind == "generate_key":
        return {"key": Fernet.generate_key().decode("ascii")}
    f = Fernet(op["key"].encode("ascii"))
    if kind == "encrypt":
        return {"token": f.encrypt(bytes.fromhex(op["data"])).decode("ascii")}
    if kind == "encrypt_from_parts":
        token = f._encrypt_from_parts(
            bytes.fromhex(op["data"]), op["now"], bytes.fromhex(op["iv"])
        )
        return {"token": token.decode("ascii")}
    if kind == "decrypt":
        try:
            if "ttl" in op and "now" in op:
                data = f.decrypt_at_time(op["token"], op["ttl"], op["now"])
            elif "ttl" in op:
                data = f.decrypt(op["token"], ttl=op["ttl"])
            else:
                data = f.decrypt(op["token"])
        except InvalidToken:
            return {"error": "InvalidToken"}
        return {"data": data.hex()}
    raise ValueError(f"unknown op {kind!r}")


def main():
    ops = json.load(sys.stdin)
    json.dump([run(op) for op in ops], sys.stdout)


if __name__ == "__main__":
    main()
