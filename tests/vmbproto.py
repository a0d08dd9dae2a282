"""A small client of the vmbackup remote protocol, written from
docs/vmbackup-protocol.pod alone (so it also checks the document).

Used by the append-only test to send requests the real client never
sends (overwriting a chunk, committing over an existing backup), and by
tests/fuzz/make-protocol-seeds.py to write seed frames.

    p = Proto(["ssh", ..., "host", "vmbackup serve"])
    status, payload = p.call(OPEN, open_payload("/srv/repo"))
"""
import hashlib
import struct
import subprocess
import zlib

MAGIC = b"VMBPROTO"
VERSION = 1
(OPEN, INIT, REFRESH, PUT, GET, FINISH, END, INDEX_BEGIN, INDEX_DATA,
 INDEX_COMMIT, INDEX_SIZE, INDEX_READ, LIST, MANIFEST_GET, RESERVE,
 UNRESERVE, COMMIT, DELETE, GC, VERIFY, KEY_LIST, KEY_GET, KEY_PUT,
 KEY_DELETE) = range(1, 25)
OK, ERROR, MORE = 0, 1, 2


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def string(s):
    b = s.encode() if isinstance(s, str) else s
    return u32(len(b)) + b


def frame(code, req_id, payload=b""):
    return struct.pack("<IIHH", len(payload), req_id, code, 0) + payload


def open_payload(path):
    return MAGIC + u32(VERSION) + string(path)


def crc32c(data):
    """CRC-32C (Castagnoli), reflected, as the chunk format uses."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def chunk_file(raw):
    """A chunk file storing raw uncompressed (compression 0)."""
    head = b"VMBCHNK1" + struct.pack("<IIIII", 1, 0, len(raw), len(raw),
                                     crc32c(raw))
    return head + u32(crc32c(head)) + raw


def digest(raw):
    return hashlib.sha256(raw).digest()


class Proto:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        self.next_id = 1

    def _read(self, n):
        b = b""
        while len(b) < n:
            more = self.proc.stdout.read(n - len(b))
            if not more:
                raise EOFError("server closed the connection")
            b += more
        return b

    def call(self, code, payload=b""):
        """Send one request, return (status, payload) of its answer;
        MORE lines are collected in self.lines."""
        req_id = self.next_id
        self.next_id += 1
        self.proc.stdin.write(frame(code, req_id, payload))
        self.proc.stdin.flush()
        self.lines = []
        while True:
            length, got_id, status, zero = struct.unpack("<IIHH",
                                                         self._read(12))
            body = self._read(length)
            assert got_id == req_id and zero == 0, (got_id, req_id)
            if status != MORE:
                return status, body
            self.lines.append(body.decode())

    def close(self):
        self.proc.stdin.close()
        return self.proc.wait()
