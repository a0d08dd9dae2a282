#!/usr/bin/env python3
"""Write the seed corpus of fuzz_protocol: one file per request kind,
each a valid frame (some files hold several frames, as a session
does), from the protocol as tests/vmbproto.py speaks it.  Run by hand:
    python3 tests/fuzz/make-protocol-seeds.py tests/fuzz/corpus/protocol
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from vmbproto import *  # noqa: E402,F403

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
raw = b"hello world " * 100
d = digest(raw)
seeds = {
    "open": frame(OPEN, 1, open_payload("/srv/backup/repo")),
    "init": frame(INIT, 1, open_payload("/srv/new") + u32(65536)),
    "refresh": frame(REFRESH, 2, u32(2) + d + bytes(32)),
    "put": frame(PUT, 3, d + chunk_file(raw)),
    "get": frame(GET, 4, d),
    "finish-end": frame(FINISH, 5) + frame(END, 6),
    "index": (frame(INDEX_BEGIN, 7, d + u64(96))
              + frame(INDEX_DATA, 8, d + u64(0) + bytes(96))
              + frame(INDEX_COMMIT, 9, d)),
    "index-read": frame(INDEX_SIZE, 10, d) + frame(INDEX_READ, 11,
                                                   d + u64(0) + u32(96)),
    "list": frame(LIST, 12, string("") + string("")),
    "list-after": frame(LIST, 12, string("vm1") + string("vm1/20260101T000000Z")),
    "manifest-get": frame(MANIFEST_GET, 13, string("vm1/20260101T000000Z")),
    "reserve": frame(RESERVE, 14, string("vm1") + u64(1764000000)),
    "unreserve": frame(UNRESERVE, 15, string("vm1/20260101T000000Z")),
    "reserve-copy": frame(RESERVE_COPY, 24, string("vm1/20250101T000000Z.2")),
    "commit": frame(COMMIT, 16, b"vmbackup-manifest 1\nid vm1/x\n"),
    "delete": frame(DELETE, 17, string("vm1/20260101T000000Z")),
    "gc": frame(GC, 18, b"\x01"),
    "verify": frame(VERIFY, 19, b"vm1\nvm2/20260101T000000Z\n"),
    "init-encrypted": frame(INIT, 1, open_payload("/srv/new") + u32(65536)
                            + u32(1) + string("3f9c2a1b0d4e5f60")
                            + b"vmbackup-key-slot 1\nid 3f9c2a1b0d4e5f60\n"),
    "keys": (frame(KEY_LIST, 20) + frame(KEY_GET, 21, string("3f9c2a1b0d4e5f60"))
             + frame(KEY_PUT, 22, string("3f9c2a1b0d4e5f60")
                     + b"vmbackup-key-slot 1\nid 3f9c2a1b0d4e5f60\n")
             + frame(KEY_DELETE, 23, string("3f9c2a1b0d4e5f60"))),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
