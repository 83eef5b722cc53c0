"""Independent reference for core/crypto/safety_number.ts, on Python's hashlib.

Reads a JSON list of {"myId", "myKey", "theirId", "theirKey"} (keys as hex, ids as numbers
or strings) on stdin and writes the list of 60-digit safety numbers on stdout.
"""

import hashlib
import json
import sys

ITERATIONS = 5200


def half(key, user_id):
    stable_id = str(user_id).encode("utf-8")
    digest = hashlib.sha512(b"\x00\x00" + key + stable_id).digest()
    for _ in range(ITERATIONS - 1):
        digest = hashlib.sha512(digest + key).digest()
    return "".join(
        "%05d" % (int.from_bytes(digest[i : i + 5], "big") % 100000) for i in range(0, 30, 5)
    )


def safety_number(case):
    mine = half(bytes.fromhex(case["myKey"]), case["myId"])
    theirs = half(bytes.fromhex(case["theirKey"]), case["theirId"])
    return mine + theirs if mine <= theirs else theirs + mine


def main():
    json.dump([safety_number(c) for c in json.load(sys.stdin)], sys.stdout)


if __name__ == "__main__":
    main()
