#!/usr/bin/python3
"""An independent reader of vmbackup repositories, written from
docs/repository-format.pod alone (RESTORING A DISK BY HAND, ENCRYPTION,
the config and key slot sections), so that a test can prove the format
page is complete: it restores one disk of one backup, checking
everything the page says to check, from a repository in the clear or
an encrypted one (opened with a passphrase or a key file).

    vmbread.py REPO ID DISK OUT [--password-file F | --key-file F]

Needs Debian's python3-cryptography, python3-zstandard, python3-xxhash
(run with /usr/bin/python3).
"""
import base64
import hashlib
import hmac
import os
import struct
import sys

import xxhash
import zstandard
from cryptography.hazmat.primitives.ciphers.aead import (AESGCM,
                                                         ChaCha20Poly1305)


def fail(msg):
    sys.exit("vmbread: " + msg)


def le32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def le64(b, o):
    return struct.unpack_from("<Q", b, o)[0]


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def hkdf(key, info, salt=b""):
    """HKDF-SHA-256, one 32-byte block (RFC 5869)."""
    prk = hmac.new(salt or bytes(32), key, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def aead(cipher, key):
    return AESGCM(key) if cipher == "aes-256-gcm" else ChaCha20Poly1305(key)


def read_config(repo):
    lines = open(os.path.join(repo, "config")).read().split("\n")
    fields = dict(l.split(" ", 1) for l in lines if " " in l)
    version = fields["vmbackup-repository"]
    if version not in ("1", "2"):
        fail("unknown repository version " + version)
    if "checksum" in fields:
        body = "".join(l + "\n" for l in lines
                       if l and not l.startswith("checksum "))
        if hashlib.sha256(body.encode()).hexdigest() != fields["checksum"]:
            fail("config checksum mismatch")
    cipher = fields.get("encryption")
    if (version == "2") != (cipher is not None):
        fail("config: version and encryption disagree")
    return int(fields["chunk-size"]), cipher


def slot_secret(slot, secret):
    """The wrapping key of a slot (text) for a passphrase or key file."""
    kind, value = secret
    header, wrapped = slot.split("\nwrapped ")
    header += "\n"
    fields = dict(l.split(" ", 1) for l in header.splitlines()[1:])
    salt = bytes.fromhex(fields["salt"])
    kdf = fields["kdf"]
    if kdf == "key-file":
        if kind != "key-file":
            return None
        return hkdf(value, b"vmbackup key-file slot", salt), header, wrapped
    if kind != "passphrase":
        return None
    p = dict(kv.split("=") for kv in kdf.split()[1:])
    kek = hashlib.scrypt(value, salt=salt, n=int(p["n"]), r=int(p["r"]),
                         p=int(p["p"]), maxmem=(1 << 31) - 1, dklen=32)
    return kek, header, wrapped


def master_key(repo, secret):
    keydir = os.path.join(repo, "keys")
    for name in sorted(os.listdir(keydir)):
        slot = open(os.path.join(keydir, name)).read()
        got = slot_secret(slot, secret)
        if got is None:
            continue
        kek, header, wrapped = got
        w = bytes.fromhex(wrapped.strip())
        try:
            return AESGCM(kek).decrypt(w[:12], w[12:], header.encode())
        except Exception:
            continue
    fail("no key slot opens with that secret")


def read_secret(args):
    if "--password-file" in args:
        path = args[args.index("--password-file") + 1]
        return ("passphrase", open(path, "rb").read().split(b"\n")[0])
    if "--key-file" in args:
        text = open(args[args.index("--key-file") + 1]).read().split("\n")
        assert text[0] == "vmbackup-key-file 1" and text[1][:4] == "key "
        return ("key-file", bytes.fromhex(text[1][4:]))
    return None


def read_manifest(repo, backup_id, keys, cipher):
    m = open(os.path.join(repo, "backups", backup_id), "rb").read()
    if len(m) > 1048576 or not m.startswith(b"vmbackup-manifest "):
        fail("not a manifest")
    sumline = m[-74:]
    assert sumline.startswith(b"checksum ") and m[-75:-74] == b"\n"
    if hashlib.sha256(m[:-74]).hexdigest().encode() != sumline[9:73]:
        fail("manifest checksum mismatch")
    version = m[18:19]
    if (version == b"2") != (cipher is not None):
        fail("manifest version does not fit the repository")
    if version == b"2":
        sealed = [l for l in m.split(b"\n") if l.startswith(b"sealed ")][0]
        blob = base64.b64decode(sealed[7:])
        aad = b"vmbackup-manifest 2 " + backup_id.encode()
        inner = aead(cipher, keys["meta"]).decrypt(blob[:12], blob[12:], aad)
        return read_manifest_text(inner)
    return read_manifest_text(m)


def read_manifest_text(m):
    assert m.startswith(b"vmbackup-manifest 1\n")
    disks = {}
    for line in m[20:-74].decode().split("\n"):
        if not line:
            continue
        key, value = line.split(" ", 1)
        if key == "disk":
            attrs = dict(a.split("=", 1) for a in value.split(" "))
            disks[unquote(attrs["name"])] = (int(attrs["size"]), attrs["index"])
    return disks


def unquote(s):
    out, i = b"", 0
    while i < len(s):
        if s[i] == "%":
            out += bytes.fromhex(s[i + 1:i + 3])
            i += 3
        else:
            out += s[i].encode()
            i += 1
    return out.decode()


def read_chunk(repo, d, length, C, keys, cipher):
    name = d.hex()
    f = open(os.path.join(repo, "chunks", name[:2], name), "rb").read()
    assert len(f) >= 32 and f[:8] == b"VMBCHNK1", "chunk magic"
    assert crc32c(f[:28]) == le32(f, 28), "chunk header CRC"
    version, comp, raw, plen = le32(f, 8), le32(f, 12), le32(f, 16), \
        le32(f, 20)
    assert version == (2 if cipher else 1), "chunk version"
    assert len(f) == 32 + plen + (44 if version == 2 else 0), "chunk length"
    payload = f[32:32 + plen]
    assert crc32c(payload) == le32(f, 24), "payload CRC"
    if version == 2:
        tag, nonce, check = f[32 + plen:48 + plen], f[48 + plen:60 + plen], \
            f[60 + plen:76 + plen]
        assert xxhash.xxh3_128_digest(d + f[:60 + plen]) == check, "check"
        payload = aead(cipher, keys["data"]).decrypt(nonce, payload + tag,
                                                     d + f[:24])
    if comp == 0:
        assert plen == raw
        data = payload
    elif comp == 1:
        data = zstandard.ZstdDecompressor().decompress(payload,
                                                       max_output_size=raw)
    else:
        fail("unknown compression")
    assert len(data) == raw == length, "chunk size"
    want = hmac.new(keys["id"], data, hashlib.sha256).digest() if cipher \
        else hashlib.sha256(data).digest()
    assert want == d, "chunk name"
    return data


def main():
    repo, backup_id, disk, out = sys.argv[1:5]
    C, cipher = read_config(repo)
    keys = None
    if cipher:
        secret = read_secret(sys.argv[5:])
        if secret is None:
            fail("the repository is encrypted: give --password-file or "
                 "--key-file")
        master = master_key(repo, secret)
        keys = {k: hkdf(master, b"vmbackup " + i) for k, i in
                (("id", b"chunk-id"), ("data", b"data"),
                 ("meta", b"metadata"))}
    disks = read_manifest(repo, backup_id, keys, cipher)
    S, index_hex = disks[disk]
    x = open(os.path.join(repo, "indexes", index_hex + ".idx"), "rb").read()
    assert len(x) >= 96 and x[:8] == b"VMBINDX1" and le32(x, 8) == 1
    assert le32(x, 12) == C and le64(x, 16) == S
    N = le64(x, 24)
    assert N == (S + C - 1) // C and len(x) == 64 + 32 * N + 32
    assert hashlib.sha256(x[:64 + 32 * N]).digest() == x[64 + 32 * N:]
    assert x[64 + 32 * N:].hex() == index_hex
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.ftruncate(fd, S)
    for i in range(N):
        d = x[64 + 32 * i:96 + 32 * i]
        if d == bytes(32):
            continue
        data = read_chunk(repo, d, min(C, S - i * C), C, keys, cipher)
        os.pwrite(fd, data, i * C)
    os.fsync(fd)
    os.close(fd)


main()
