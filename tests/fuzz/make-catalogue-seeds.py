#!/usr/bin/env python3
"""Write seed catalogues for fuzz_catalogue, encoded from the layout in
docs/repository-format.pod (so they also check that the page is enough
to write one).  usage: make-catalogue-seeds.py DIR"""
import struct, sys


def record(typ, path, flags=0, mode=0o644, size=0, extents=(), target=b"",
           xattrs=(), user=b"root", group=b"root", data_offset=0):
    body = struct.pack("<BBHIIIQqIIqIIQIHHHHqIQ", typ, flags, len(xattrs),
                       mode, 0, 0, size, 1700000000, 5, 6, 1700000001, 0, 0,
                       data_offset, len(extents), len(path), len(user),
                       len(group), len(target), 1700000002, 7, 1234)
    assert len(body) == 96
    body += path + user + group + target
    for off, ln in extents:
        body += struct.pack("<QQ", off, ln)
    for name, value in xattrs:
        body += struct.pack("<HI", len(name), len(value)) + name + value
    return struct.pack("<I", len(body)) + body


d = sys.argv[1]
tree = b"VMBCATL1" + b"".join([
    record(2, b"etc", mode=0o755),
    record(1, b"etc/hosts", size=12, extents=[(0, 12)],
           xattrs=[(b"user.k", b"v")]),
    record(3, b"etc/link", mode=0o777, size=5, target=b"hosts"),
    # data offsets are relative to the previous file's data end
    record(1, b"etc/sparse", size=1 << 20, extents=[(4096, 4096)],
           data_offset=0),
    record(1, b"etc/z", flags=2, size=12, extents=[(0, 12)],
           target=b"etc/hosts"),
    record(4, b"null", mode=0o666),
    record(6, b"pipe", flags=0),
])
open(f"{d}/tree", "wb").write(tree)
open(f"{d}/empty", "wb").write(b"VMBCATL1")
open(f"{d}/one-record", "wb").write(b"VMBCATL1" + record(1, b"a", size=1,
                                                          extents=[(0, 1)]))
