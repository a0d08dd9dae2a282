#!/bin/bash
# Regenerate the seed corpora in corpus/ from a real repository: a tiny
# 64K-chunk repository holding a 1 MiB + 512 byte image (one compressed
# chunk, one stored tail chunk, holes), an image whose path needs
# escaping, and an empty image; plus a two-disk manifest, which the CLI
# does not write yet, sealed by hand.  Run by hand, not by meson test.
#
# usage: make-seeds.sh [VMBACKUP [CORPUS_DIR]]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
vmbackup=${1:-$here/../../build/vmbackup}
corpus=${2:-$here/corpus}
work=$(mktemp -d "${TMPDIR:-/tmp}/vmb-seeds.XXXXXX")
trap 'rm -rf "$work"' EXIT

python3 - "$work/img" <<'PY'
import random, sys
random.seed(1)
b = bytearray((1 << 20) + 512)
b[65536:131072] = (b'hello world ' * 6000)[:65536]
b[1 << 20:] = bytes(random.getrandbits(8) for _ in range(512))
open(sys.argv[1], 'wb').write(b)
PY
mkdir "$work/dir with space"
cp "$work/img" "$work/dir with space/img 100%=ok.raw"
: > "$work/empty"

repo=$work/repo
"$vmbackup" --repo "$repo" init --chunk-size 64K >/dev/null
"$vmbackup" --repo "$repo" backup --image "my-disk=$work/img" >/dev/null
"$vmbackup" --repo "$repo" backup \
  --image "web.01=$work/dir with space/img 100%=ok.raw" >/dev/null
"$vmbackup" --repo "$repo" backup --image "empty=$work/empty" >/dev/null

rm -rf "$corpus/chunk" "$corpus/index" "$corpus/manifest"
mkdir -p "$corpus/chunk" "$corpus/index" "$corpus/manifest"
for f in "$repo"/chunks/*/*; do
  case $(od -An -tu4 -j12 -N4 "$f" | tr -d ' ') in
    0) cp "$f" "$corpus/chunk/stored" ;;
    1) cp "$f" "$corpus/chunk/zstd" ;;
  esac
done
for f in "$repo"/indexes/*.idx; do
  if [ "$(stat -c %s "$f")" -eq 96 ]; then
    cp "$f" "$corpus/index/empty-disk"
  else
    cp "$f" "$corpus/index/17-chunks"
  fi
done
cp "$repo"/backups/my-disk/* "$corpus/manifest/one-disk"
cp "$repo"/backups/web.01/* "$corpus/manifest/escaped-source"
cp "$repo"/backups/empty/* "$corpus/manifest/empty-disk"

body=$(cat <<'M'
vmbackup-manifest 1
id vm1/20261125T024643Z
name vm1
kind image
consistency crash
time 1795574803
finished 1795574810
downtime-ms 250
chunk-size 4194304
disk name=vda format=raw size=10737418240 index=6f62795c030ae2b1a6a7d89c0e03353e9497f0f7caa4cd268559616fbcafdd77 stored-new=606 source=/var/lib/images/vm1%20a.img
disk name=vdb format=qcow2 size=1049088 index=962bf01de0fff79b23627afeab11704f72880e5a74312e1ee24a04a027519dfe stored-new=0 source=
M
)
printf '%s\n' "$body" > "$work/two"
printf 'checksum %s\n' "$(sha256sum < "$work/two" | cut -d' ' -f1)" >> "$work/two"
cp "$work/two" "$corpus/manifest/two-disks"

chmod 644 "$corpus"/*/*
ls -l "$corpus"/*

# File backup catalogues, encoded from the documented layout.
rm -rf "$corpus/catalogue"
mkdir -p "$corpus/catalogue"
python3 "$here/make-catalogue-seeds.py" "$corpus/catalogue"
# A file backup's manifest (archive line, events file).
mkdir -p "$work/ftree/sub"
echo hello > "$work/ftree/sub/f"
"$vmbackup" --repo "$repo" files backup --name docs "$work/ftree" >/dev/null
cp "$repo"/backups/docs/* "$corpus/manifest/files-backup"
