#!/usr/bin/env python3
"""Compare two trees entry by entry, as a file restore must reproduce
them: type, mode, owner, size, mtime (ns), contents (sha256), symlink
targets, device numbers, xattrs (POSIX ACLs included: they are xattrs),
and which entries are hard links of each other.

usage: files-compare.py SRC DST [--no-owner] [--no-devices] [--only REL...]
Exit 1 with one line per difference."""
import hashlib, os, stat, sys

args = sys.argv[1:]
src, dst = args[0], args[1]
no_owner = "--no-owner" in args
no_devices = "--no-devices" in args
only = args[args.index("--only") + 1:] if "--only" in args else None
problems = []


def digest(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def xattrs(p, st):
    if stat.S_ISLNK(st.st_mode):
        return {}
    return {n: os.getxattr(p, n, follow_symlinks=False)
            for n in sorted(os.listxattr(p, follow_symlinks=False))}


def entries(top):
    out = {"": top}
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(d, n)
            out[os.path.relpath(p, top)] = p
    return out


a, b = entries(src), entries(dst)
names = sorted(a)
if only:
    names = [n for n in names if any(n == o or n.startswith(o + "/") for o in only)]
links_a, links_b = {}, {}
for rel in names:
    if rel == "":
        continue
    pa = a[rel]
    pb = b.get(rel)
    if pb is None:
        if no_devices and stat.S_ISCHR(os.lstat(pa).st_mode):
            continue
        problems.append(f"{rel}: missing")
        continue
    sa, sb = os.lstat(pa), os.lstat(pb)
    what = []
    if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode):
        what.append("type")
    if stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode) and not stat.S_ISLNK(sa.st_mode):
        what.append(f"mode {oct(sa.st_mode)} vs {oct(sb.st_mode)}")
    if not no_owner and (sa.st_uid, sa.st_gid) != (sb.st_uid, sb.st_gid):
        what.append(f"owner {sa.st_uid}:{sa.st_gid} vs {sb.st_uid}:{sb.st_gid}")
    if sa.st_mtime_ns != sb.st_mtime_ns:
        what.append(f"mtime {sa.st_mtime_ns} vs {sb.st_mtime_ns}")
    if stat.S_ISREG(sa.st_mode):
        if sa.st_size != sb.st_size or digest(pa) != digest(pb):
            what.append("contents")
        if sa.st_nlink > 1:
            links_a.setdefault(sa.st_ino, []).append(rel)
            links_b.setdefault(sb.st_ino, []).append(rel)
    if stat.S_ISLNK(sa.st_mode) and os.readlink(pa) != os.readlink(pb):
        what.append("symlink target")
    if stat.S_ISCHR(sa.st_mode) and sa.st_rdev != sb.st_rdev:
        what.append("device number")
    if xattrs(pa, sa) != xattrs(pb, sb):
        what.append(f"xattrs {xattrs(pa, sa)} vs {xattrs(pb, sb)}")
    if what:
        problems.append(f"{rel}: " + ", ".join(what))
# Files linked together in the source are linked together (only) in the
# restore.
groups_a = sorted(sorted(g) for g in links_a.values())
groups_b = sorted(sorted(g) for g in links_b.values() if len(g) > 1)
if [g for g in groups_a if len(g) > 1] != groups_b:
    problems.append(f"hard links {groups_a} vs {groups_b}")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
