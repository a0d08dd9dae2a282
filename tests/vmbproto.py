"""A small client of the vmbackup remote protocol, written from
docs/vmbackup-protocol.pod alone (so it also checks the document).

Used by the append-only test to send requests the real client never
sends (overwriting a chunk, committing over an existing backup), and by
tests/fuzz/make-protocol-seeds.py to write seed frames.

    p = Proto(["ssh", ..., "host", "vmbackup serve"])
    status, payload = p.call(OPEN, open_payload("/srv/repo"))
"""
import hashlib
import os
import re
import shlex
import struct
import subprocess
import time
import zlib

MAGIC = b"VMBPROTO"
VERSION = 1
(OPEN, INIT, REFRESH, PUT, GET, FINISH, END, INDEX_BEGIN, INDEX_DATA,
 INDEX_COMMIT, INDEX_SIZE, INDEX_READ, LIST, MANIFEST_GET, RESERVE,
 UNRESERVE, COMMIT, DELETE, GC, VERIFY, KEY_LIST, KEY_GET, KEY_PUT,
 KEY_DELETE, RESERVE_COPY) = range(1, 26)
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


def index_file(chunk_size, disk_size, digests):
    """A sealed index (vmbackup-repository(5)); returns (name, bytes)."""
    body = (b"VMBINDX1" + u32(1) + u32(chunk_size) + u64(disk_size)
            + u64(len(digests)) + bytes(32) + b"".join(digests))
    name = hashlib.sha256(body).digest()
    return name, body + name


def reseal(text, **fields):
    """A manifest with some "key value" lines replaced (keyword
    arguments, '_' for '-') and a fresh checksum line."""
    body = "".join(l for l in text.splitlines(True)
                   if not l.startswith("checksum "))
    for k, v in fields.items():
        key = k.replace("_", "-")
        body, n = re.subn(r"^%s .*$" % re.escape(key), "%s %s" % (key, v),
                          body, count=1, flags=re.M)
        assert n == 1, key
    return body + "checksum " + hashlib.sha256(body.encode()).hexdigest() + "\n"


def ssh_argv():
    """The argv of an ssh to the tests' sshd (tests/functions-ssh.sh),
    from VMBACKUP_RSH and SSH_PORT."""
    return shlex.split(os.environ["VMBACKUP_RSH"]) + [
        "-p", os.environ["SSH_PORT"], "root@127.0.0.1", "vmbackup serve"]


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

    def expect(self, code, payload, status, pattern=None):
        """call(), asserting the status and that the answer (as text)
        matches pattern; returns the payload."""
        st, body = self.call(code, payload)
        text = body.decode(errors="replace")
        assert st == status, (code, st, text)
        if pattern:
            assert re.search(pattern, text), (pattern, text)
        return body

    def reserve(self, name, t=None):
        """RESERVE name at time t (now by default); the ID."""
        t = int(time.time()) if t is None else t
        return self.expect(RESERVE, string(name) + u64(t), OK)[4:].decode()

    def copy_now(self, backup_id):
        """Reserve a new ID of backup_id's name, now; returns it, the
        time and backup_id's manifest resealed under it with that time
        as start and finish: a valid manifest to commit, or to forge."""
        text = self.expect(MANIFEST_GET, string(backup_id), OK).decode()
        now = int(time.time())
        rid = self.reserve(backup_id.split("/")[0], now)
        return rid, now, reseal(text, id=rid, time=now, finished=now)

    @classmethod
    def open_repo(cls, repo):
        """A session with the tests' sshd, repository repo open."""
        p = cls(ssh_argv())
        p.expect(OPEN, open_payload(repo), OK)
        return p

    def upload_index(self, name, data):
        """INDEX_BEGIN, INDEX_DATA in order, INDEX_COMMIT: the status and
        text of the commit's answer."""
        self.expect(INDEX_BEGIN, name + u64(len(data)), OK)
        for off in range(0, len(data), 1 << 20):
            self.expect(INDEX_DATA, name + u64(off) + data[off:off + (1 << 20)],
                        OK)
        st, body = self.call(INDEX_COMMIT, name)
        return st, body.decode(errors="replace")

    def close(self):
        self.proc.stdin.close()
        return self.proc.wait()
