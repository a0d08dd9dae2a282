#!/usr/bin/env python3
"""Apply a power cut to a directory watched by the powercut shim.

    powercut.py REPO SAVE LOG [--keep-order SEED|all]

Reads the shim's undo log (format and model: tests/crash/powercut_log.c)
and undoes, in the worst case POSIX allows, everything no sync covered:

  - every file with a change no sync covered gets back its content as of
    the last sync that covered it (the copy in SAVE, or empty);
  - every directory operation no sync covered is undone, last first.

With --keep-order SEED, directory operations are kept up to a point in
the log chosen from SEED (a journaling file system commits metadata in
order), while file data is still lost: a name may then survive and point
at a file whose data did not; --keep-order all keeps every one of them
(metadata journaled, data not written back).  Without it every unsynced
operation goes.

Exit status 0; 1 with a message if the log asks for what it cannot undo.
"""
import os
import random
import sys
from urllib.parse import unquote


def parse(log):
    recs = []
    with open(log) as f:
        for pos, line in enumerate(f):
            w = line.split()
            if w:
                recs.append((pos, w))
    return recs


def main():
    args = sys.argv[1:]
    seed = None
    if len(args) == 5 and args[3] == "--keep-order":
        seed = args[4]
        args = args[:3]
    if len(args) != 3:
        sys.exit(__doc__)
    repo, save, log = args
    recs = parse(log) if os.path.exists(log) else []

    failed = {w[1] for _, w in recs if w[0] == "X"}
    ended = {w[1] for _, w in recs if w[0] == "E"}
    created = {w[1]: w[2] for _, w in recs if w[0] == "c"}
    # Completed syncs: position of their begin record, what they cover.
    syncs = [(pos, w[3] if w[2] == "f" else None)
             for pos, w in recs if w[0] == "B" and w[1] in ended]

    def last_sync(target):
        """Position of the last completed sync covering target."""
        best = -1
        for pos, what in syncs:
            if what is None or what == target:
                best = max(best, pos)
        return best

    # Directory operations not covered by a later sync of their directory
    # (or of the file system).
    ops = []
    for pos, w in recs:
        if w[0] in "CUMRLN?" and len(w[0]) == 1 and w[1] not in failed:
            if w[0] == "?":
                ops.append((pos, w))
                continue
            if last_sync(w[2]) < pos:
                ops.append((pos, w))
    cut = -1
    if seed == "all" and ops:
        cut = ops[-1][0] + 1
    elif seed is not None and ops:
        rng = random.Random(int(seed))
        cut = rng.choice([p for p, _ in ops] + [ops[-1][0] + 1])
    undo = [(p, w) for p, w in ops if p >= cut]

    def path(rel):
        return os.path.join(repo, unquote(rel))

    def ino(p):
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            return None
        return "%d:%d" % (st.st_dev, st.st_ino)

    undone = 0
    for pos, w in reversed(undo):
        kind, oid = w[0], w[1]
        if kind == "?":
            sys.exit("powercut: cannot undo %s" % " ".join(w))
        if kind == "C":
            p = path(w[3])
            want = created.get(oid)
            if ino(p) is not None and (want is None or ino(p) == want):
                os.unlink(p)
                undone += 1
        elif kind == "U":
            p, s = path(w[3]), w[4]
            if s == "-":
                sys.exit("powercut: cannot undo the unlink of %s" % w[3])
            if ino(p) is None and os.path.exists(os.path.join(save, s)):
                os.rename(os.path.join(save, s), p)
                undone += 1
        elif kind == "M":
            p = path(w[3])
            if os.path.isdir(p) and not os.path.islink(p):
                # The directory's entry is lost, and what was in it with it.
                os.rename(p, os.path.join(save, "m-" + oid))
                undone += 1
        elif kind == "R":
            p = path(w[3])
            if ino(p) is None:
                os.mkdir(p, 0o700)
                undone += 1
        elif kind == "L":
            p = path(w[3])
            if ino(p) == w[4]:
                os.unlink(p)
                undone += 1
        elif kind == "N":
            src, dst, i, s = path(w[3]), path(w[4]), w[5], w[6]
            if ino(dst) == i and ino(src) is None:
                os.rename(dst, src)
                undone += 1
                if s != "-" and ino(dst) is None:
                    os.rename(os.path.join(save, s), dst)

    # File data: back to the content at the last covering sync, that is the
    # copy taken at the first change after it.
    first = {}
    for pos, w in recs:
        if w[0] != "W" or w[1] in failed:
            continue
        i, snap = w[2], w[3]
        if pos < last_sync(i):
            continue
        if i not in first or (first[i] == "-" and snap != "-"):
            first[i] = snap
    where = {}
    for top in (repo, save):
        for d, _, files in os.walk(top):
            for f in files:
                p = os.path.join(d, f)
                where.setdefault(ino(p), p)
    reverted = 0
    for i, snap in first.items():
        p = where.get(i)
        if p is None:
            continue  # no name left: nothing to revert
        if snap == "-":
            sys.exit("powercut: no copy of %s before its unsynced change" % p)
        data = b""
        if snap != "0":
            with open(os.path.join(save, snap), "rb") as f:
                data = f.read()
        with open(p, "r+b") as f:
            f.truncate(0)
            f.write(data)
        reverted += 1
    print("powercut: %d records, %d directory operations undone "
          "(%d kept by order), %d files reverted"
          % (len(recs), undone, len(ops) - len(undo), reverted))


main()
