#!/usr/bin/env bash
# A forged VM manifest cannot make restore write outside the VM's own
# paths: whoever can add a manifest to the repository (an append-only
# client) adds a `file role=boot` line naming a path the backed-up domain
# XML does not name.  Restore refuses it with one line before writing
# anything and before touching the VM it would replace; the path stays
# absent.  The same backup unforged restores as ever.  A missing boot
# file is not put back through another user's symbolic link.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
in_the_clear  # it forges manifests in the clear (a sealed one needs the key)
vm_test_begin

define_guest hv --own-boot
# Copies a restore might define, whether it should or not (and ones an
# earlier failed run left).
for c in hv-copy hv-two; do
  destroy_guest "$c"
  cleanup_fn "destroy_guest $c"
done
dir=$(guest_dir hv)
vmb backup hv > backup.out || fail "backup: $(cat backup.out)"
id=$(last_id hv)

# forge NEW-ID PATH: the real manifest under a new ID, with one more boot
# file line (the domain XML's bytes) naming PATH; the checksum made right.
forge ()
{
  python3 - "$VMBACKUP_REPO" "$id" "$1" "$2" <<'PY' || fail "cannot forge $1"
import hashlib, re, sys, urllib.parse
repo, src, new, path = sys.argv[1:5]
lines = open(f"{repo}/backups/{src}").read().split("\n")[:-2]  # no checksum
lines = [f"id {new}" if l.startswith("id ") else l for l in lines]
xml = next(l for l in lines if l.startswith("file role=domain-xml "))
size = re.search(r" size=(\d+)", xml).group(1)
index = re.search(r" index=([0-9a-f]{64})", xml).group(1)
lines.append(f"file role=boot size={size} index={index} "
             f"path={urllib.parse.quote(path, safe='/')}")
body = "\n".join(lines) + "\n"
open(f"{repo}/backups/{new}", "w").write(
    body + "checksum " + hashlib.sha256(body.encode()).hexdigest() + "\n")
PY
}

evil=$scratch/outside/cron.d/zz-evil
forge "$id.2" "$evil"
forge "$id.3" "$dir/boot/../../outside/zz-evil-dots"
forge "$id.4" "outside/zz-evil-relative"
vmb list hv | grep -q "$id.2" || fail "the forged backup is not listed"

start_guest hv
uuid=$(vsh domuuid hv)
inode=$(stat -c %i "$dir/vda.qcow2")

# --- over the running VM: refused before it is touched
expect_fail 1 "^vmbackup: restore $id.2: boot file $evil is not named by the backed-up domain XML" \
  vmb restore "$id.2" --replace
[ "$(wc -l < "$scratch/err")" = 1 ] || fail "more than one line: $(cat "$scratch/err")"
[ ! -e "$evil" ] && [ ! -e "$scratch/outside" ] || fail "restore wrote $evil"
[ "$(vsh domstate hv)" = running ] || fail "the VM was stopped: $(vsh domstate hv)"
[ "$(vsh domuuid hv)" = "$uuid" ] || fail "the VM was redefined"
[ "$(stat -c %i "$dir/vda.qcow2")" = "$inode" ] || fail "the VM's disk was replaced"
ls "$dir" | grep -q vmbackup-new && fail "a staged disk was left behind"

# --- beside it: a path that climbs out with .., or a relative one
expect_fail 1 "^vmbackup: restore $id.3: boot file $dir/boot/\.\./\.\./outside/zz-evil-dots: a path with \. or \.\. components" \
  vmb restore "$id.3" --as hv-copy
expect_fail 1 "^vmbackup: restore $id.4: boot file outside/zz-evil-relative: not an absolute path" \
  vmb restore "$id.4" --as hv-copy
[ ! -e "$scratch/outside" ] || fail "restore wrote under $scratch/outside"
vsh dominfo hv-copy >/dev/null 2>&1 && fail "a refused restore defined hv-copy"
ls "$dir" | grep -q hv-copy && fail "a refused restore wrote hv-copy's disks"

# --- the real backup still restores beside it
vmb restore "$id" --as hv-copy > as.out || fail "restore --as: $(cat as.out)"
vsh dominfo hv-copy >/dev/null || fail "hv-copy not defined"

# --- a boot file's directory is gone, and another user put a symbolic
# link in its place: root does not write where that user points
vsh destroy hv >/dev/null
mv "$dir/boot" "$dir/boot.real"
mkdir "$scratch/elsewhere"
ln -s "$scratch/elsewhere" "$dir/boot"
chown -h nobody "$dir/boot"
expect_fail 1 "^vmbackup: restore $id: boot file $dir/boot/vmlinux: $dir/boot is a symbolic link of user $(id -u nobody)\$" \
  vmb restore "$id" --as hv-two
[ -z "$(ls -A "$scratch/elsewhere")" ] || fail "restore wrote through the link: $(ls "$scratch/elsewhere")"
vsh dominfo hv-two >/dev/null 2>&1 && fail "a failed restore left hv-two defined"
ls "$dir" | grep -q hv-two && fail "a failed restore left hv-two's disks"
echo "forged boot file lines refused before anything is written"
