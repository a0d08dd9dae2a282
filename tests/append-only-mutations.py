"""Commit random mutations of valid manifests and indexes through an
append-only key (tests/test-append-only-mutations.sh drives it).

Usage: append-only-mutations.py REPO SEED COUNT SECONDS VICTIM-ID...

Every mutation starts from a real backup of the victims: its manifest,
and sometimes one of its indexes rewritten (header fields, digests,
length) and uploaded under its new content digest.  The manifest is
committed under an ID reserved for the attacker's own name "evil", its
checksum recomputed most of the time so that the server, not the
checksum, has to notice.  Whether the server accepts a mutation does
not matter here; what it lets through must not change what verify,
prune, gc and restore do to the victims (the shell test checks that),
and every accepted backup must itself verify and restore.

Prints one line per accepted commit ("accepted ID") and a summary.
"""
import hashlib
import os
import random
import re
import shlex
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmbproto import *  # noqa: E402,F403

MAX_READ = 1048576
INDEX_HEADER = 64


def connect(repo):
    argv = shlex.split(os.environ["VMBACKUP_RSH"]) + [
        "-p", os.environ["SSH_PORT"], "root@127.0.0.1", "vmbackup serve"]
    p = Proto(argv)
    st, body = p.call(OPEN, open_payload(repo))
    assert st == OK, body
    return p


REASONS = {}


def ok(answer):
    st, body = answer
    if st == OK:
        return body
    # The reason without the IDs and digests in it, counted.
    why = re.sub(r"[0-9a-f]{16,}|[A-Za-z0-9._-]+/[0-9TZ]+|[0-9]+", "#",
                 body.decode(errors="replace"))
    REASONS[why] = REASONS.get(why, 0) + 1
    return None


def read_index(p, d):
    size = ok(p.call(INDEX_SIZE, d))
    assert size is not None, "victim index unreadable"
    size = struct.unpack("<Q", size)[0]
    data = b""
    while len(data) < size:
        n = min(MAX_READ, size - len(data))
        body = ok(p.call(INDEX_READ, d + u64(len(data)) + u32(n)))
        assert body is not None and len(body) == n
        data += body
    return data


def upload_index(p, data, name_it_right):
    """Upload index bytes; the trailer is made to match the content
    (most of the time) so the name is the content's digest."""
    if name_it_right and len(data) >= INDEX_HEADER + 32:
        data = data[:-32] + hashlib.sha256(data[:-32]).digest()
    d = data[-32:] if len(data) >= 32 else hashlib.sha256(data).digest()
    if ok(p.call(INDEX_BEGIN, d + u64(len(data)))) is None:
        return d
    for off in range(0, len(data), MAX_READ):
        if ok(p.call(INDEX_DATA, d + u64(off) + data[off:off + MAX_READ])) \
                is None:
            return d
    ok(p.call(INDEX_COMMIT, d))
    return d


def mutate_index(rng, data, all_digests):
    b = bytearray(data)
    n = (len(b) - INDEX_HEADER - 32) // 32
    what = rng.randrange(9)
    if what == 0:      # disk size: tiny, one byte off, huge
        size = rng.choice([1, 0, struct.unpack_from("<Q", b, 16)[0] + 1,
                           struct.unpack_from("<Q", b, 16)[0] - 1, 1 << 62])
        struct.pack_into("<Q", b, 16, size)
    elif what == 1:    # chunk size
        struct.pack_into("<I", b, 12, rng.choice([65536, 131072, 1 << 24,
                                                  4096, 0]))
    elif what == 2:    # chunk count
        struct.pack_into("<Q", b, 24, rng.choice([0, n + 1, n - 1, 1 << 40]))
    elif what == 3 and n:  # a digest of another chunk or index
        i = rng.randrange(n)
        b[INDEX_HEADER + 32 * i:INDEX_HEADER + 32 * i + 32] = \
            rng.choice(all_digests)
    elif what == 4 and n:  # a random digest (a chunk that is not there)
        i = rng.randrange(n)
        b[INDEX_HEADER + 32 * i:INDEX_HEADER + 32 * i + 32] = rng.randbytes(32)
    elif what == 5 and n > 1:  # two entries swapped
        i, j = rng.sample(range(n), 2)
        ei = bytes(b[INDEX_HEADER + 32 * i:INDEX_HEADER + 32 * i + 32])
        b[INDEX_HEADER + 32 * i:INDEX_HEADER + 32 * i + 32] = \
            b[INDEX_HEADER + 32 * j:INDEX_HEADER + 32 * j + 32]
        b[INDEX_HEADER + 32 * j:INDEX_HEADER + 32 * j + 32] = ei
    elif what == 6:    # truncated or extended
        b = b[:rng.randrange(len(b))] if rng.random() < 0.5 \
            else b + rng.randbytes(32 * rng.randrange(1, 4))
    elif what == 7:    # a random byte anywhere
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    else:              # a digest zeroed (reads as a hole)
        if n:
            i = rng.randrange(n)
            b[INDEX_HEADER + 32 * i:INDEX_HEADER + 32 * i + 32] = bytes(32)
    return bytes(b)


NUMBER_FIELDS = ["time", "finished", "size", "stored-new", "data-size",
                 "data-chunks", "catalogue-size", "catalogue-chunks",
                 "entries", "bytes", "downtime-ms", "chunk-size",
                 "bytes-read"]
EXTREMES = ["0", "1", "-1", "4102444800", "18446744073709551615",
            "9223372036854775808", "99999999999999", "65535"]


def mutate_manifest(rng, text, rid, stamp, indexes):
    # What a real client of this reservation writes, then mutated.
    lines = [re.sub(r"^name .*", "name evil", l) for l in text.split("\n")]
    lines = [re.sub(r"^(time|finished) .*", r"\1 %d" % stamp, l)
             for l in lines]
    for _ in range(rng.randrange(1, 3)):
        what = rng.randrange(10)
        i = rng.randrange(len(lines))
        if what == 0:    # a number field
            field = rng.choice(NUMBER_FIELDS)
            text2 = "\n".join(lines)
            text2 = re.sub(r"(^%s |[ ]%s=)[0-9-]+" % (field, field),
                           lambda m: m.group(1) + rng.choice(EXTREMES), text2,
                           count=1, flags=re.M)
            lines = text2.split("\n")
        elif what == 1:  # another index named
            text2 = "\n".join(lines)
            hexes = re.findall(r"=([0-9a-f]{64})", text2)
            if hexes and indexes:
                text2 = text2.replace(rng.choice(hexes),
                                      rng.choice(indexes).hex(), 1)
            lines = text2.split("\n")
        elif what == 2:  # kind and consistency
            lines = [re.sub(r"^kind .*", "kind " + rng.choice(
                ["vm", "image", "files", "host", "x"]), l) for l in lines]
            lines = [re.sub(r"^consistency .*", "consistency " + rng.choice(
                ["live", "offline", "application", "crash", "?"]), l)
                for l in lines]
        elif what == 3:  # a boot file naming somewhere else
            lines.insert(len(lines) - 2, "file role=boot size=347 index=%s "
                         "path=/etc/cron.d/zz-evil" % rng.choice(indexes).hex())
        elif what == 4:  # a line deleted
            del lines[i]
        elif what == 5:  # a line repeated
            lines.insert(i, lines[i])
        elif what == 6:  # the victim's name
            lines = [re.sub(r"^name .*", "name " + rng.choice(
                ["disk1", "fs"]), l) for l in lines]
        elif what == 7:  # a byte flipped
            t = bytearray("\n".join(lines).encode())
            t[rng.randrange(len(t))] ^= 1 << rng.randrange(7)
            lines = t.decode(errors="replace").split("\n")
        elif what == 8:  # a far future finish
            lines = [re.sub(r"^finished .*", "finished 4102444800", l)
                     for l in lines]
        else:            # a size of a disk or file changed
            lines = [re.sub(r" size=[0-9]+", " size=%d" % rng.choice(
                [0, 1, 65536, 1 << 40]), l, count=1) for l in lines]
    body = [l for l in lines if not l.startswith("checksum ") and l != ""]
    body = [re.sub(r"^id .*", "id " + rid, l) for l in body]
    text = "\n".join(body) + "\n"
    if rng.random() < 0.9:
        text += "checksum " + hashlib.sha256(text.encode()).hexdigest() + "\n"
    return text.encode()


def main():
    repo, seed, count, seconds = sys.argv[1], int(sys.argv[2]), \
        int(sys.argv[3]), float(sys.argv[4])
    victims = sys.argv[5:]
    rng = random.Random(seed)
    p = connect(repo)
    manifests = [ok(p.call(MANIFEST_GET, string(v))).decode() for v in victims]
    index_ids = sorted({bytes.fromhex(h) for m in manifests
                        for h in re.findall(r"(?:index|data|catalogue)="
                                            r"([0-9a-f]{64})", m)})
    index_data = {d: read_index(p, d) for d in index_ids}
    all_digests = list(index_ids)
    for data in index_data.values():
        all_digests += [data[o:o + 32] for o in
                        range(INDEX_HEADER, len(data) - 32, 32)]
    known = list(index_ids)
    accepted = refused = 0
    deadline = time.monotonic() + seconds
    for n in range(count):
        if time.monotonic() > deadline:
            break
        try:
            if rng.random() < 0.5:
                src = index_data[rng.choice(index_ids)]
                known.append(upload_index(p, mutate_index(rng, src,
                                                          all_digests),
                                          rng.random() < 0.9))
            stamp = int(time.time())
            if rng.random() < 0.2:
                stamp = rng.choice([4102444800, 0, 1 << 40, stamp + 86400])
            rid = ok(p.call(RESERVE, string("evil") + u64(stamp)))
            if rid is None:
                refused += 1
                continue
            rid = rid[4:].decode()
            text = mutate_manifest(rng, rng.choice(manifests), rid, stamp,
                                   known)
            if ok(p.call(COMMIT, text)) is None:
                refused += 1
                p.call(UNRESERVE, string(rid))
            else:
                accepted += 1
                print("accepted", rid, flush=True)
        except (EOFError, BrokenPipeError):
            # The server ended the session: a new one, as an attacker would.
            p = connect(repo)
    p.close()
    for why, n in sorted(REASONS.items(), key=lambda x: -x[1]):
        print("%5d %s" % (n, why))
    print("mutations: %d accepted, %d refused" % (accepted, refused))


main()
