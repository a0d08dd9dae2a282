#!/usr/bin/env bash
# Build the tiny test guest the VM tests boot under libvirt (DESIGN section 4):
#
#   OUTDIR/vmlinux     the Debian kernel, uncompressed (qemu -kernel loads the
#                      ELF through its PVH entry point, skipping the bzImage
#                      self-decompression, which is slow under TCG)
#   OUTDIR/vmlinuz     the same kernel as Debian ships it (bzImage); the OVMF
#                      (UEFI) variant needs it, its EFI stub is what OVMF runs
#   OUTDIR/initrd.img  a gzipped newc cpio: busybox-static, qemu-guest-agent
#                      with the shared libraries it needs, the virtio, ext4
#                      and vfat modules, and an /init that mounts the data
#                      disks and runs the agent (see guest_init below)
#
# Usage: build-guest.sh OUTDIR
#
# Everything comes from installed Debian packages (linux-image-amd64,
# busybox-static, qemu-guest-agent); nothing is downloaded.  The result is
# cached: OUTDIR/stamp records the inputs (kernel, package versions, this
# script) and the build is skipped when they have not changed.
set -euo pipefail

die () { echo "build-guest.sh: $*" >&2; exit 1; }

[ $# = 1 ] || die "usage: build-guest.sh OUTDIR"
outdir=$1

# The newest kernel that has its modules installed (override with
# VMB_GUEST_KVER for another one).
kver=${VMB_GUEST_KVER:-}
if [ -z "$kver" ]; then
  kver=$(for f in /boot/vmlinuz-*; do
           [ -e "$f" ] || continue
           v=${f#/boot/vmlinuz-}
           [ -f "/lib/modules/$v/modules.dep" ] && echo "$v"
         done | sort -V | tail -n 1)
fi
[ -n "$kver" ] || die "no /boot/vmlinuz-* with modules (install linux-image-amd64)"
vmlinuz=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[ -r "$vmlinuz" ] || die "$vmlinuz is not readable"

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox is not installed (busybox-static)"
# A dynamically linked busybox would need its libraries too; only the static
# one is supported (and Debian's busybox-static is what install-deps adds).
if ldd "$busybox" >/dev/null 2>&1; then
  die "$busybox is dynamically linked; install busybox-static"
fi
qemuga=/usr/sbin/qemu-ga
[ -x "$qemuga" ] || die "qemu-ga is not installed (qemu-guest-agent)"
for t in cpio gzip xz; do
  command -v "$t" >/dev/null || die "'$t' is not installed"
done

self=$(readlink -f "${BASH_SOURCE[0]}")
pkgver () { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo none; }
stamp="kernel=$kver $(stat -c '%s %Y' "$vmlinuz")
busybox=$(pkgver busybox-static) $(stat -c '%s %Y' "$busybox")
qemu-ga=$(pkgver qemu-guest-agent) $(stat -c '%s %Y' "$qemuga")
script=$(sha256sum < "$self" | cut -d' ' -f1)"

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
# Several test runs may share one cache directory: build under a lock.
exec 9> "$outdir/.lock"
flock 9

if [ -f "$outdir/stamp" ] && [ "$(cat "$outdir/stamp")" = "$stamp" ] &&
   [ -s "$outdir/vmlinux" ] && [ -s "$outdir/vmlinuz" ] &&
   [ -s "$outdir/initrd.img" ]; then
  exit 0                                # up to date
fi

work=$(mktemp -d "$outdir/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- the kernel -------------------------------------------------------------
# A bzImage is a small decompressor followed by the compressed ELF kernel.
# Find the compressed payload by its magic and decompress it; the result must
# be an ELF file (extract-vmlinux from linux-headers does the same, but needs
# that package).  Try every candidate offset: the magic can also occur by
# chance in the decompressor code.
extract_vmlinux ()
{
  local in=$1 out=$2 magic cmd off
  for pair in 'fd377a585a00:xz -dc --single-stream' \
              '28b52ffd:zstd -dcq' \
              '1f8b0800:gzip -dcq' \
              '02214c18:lz4 -dcq'; do
    magic=${pair%%:*}
    cmd=${pair#*:}
    command -v "${cmd%% *}" >/dev/null || continue
    # od prints the file as one long hex string; find the magic at even
    # (byte-aligned) positions.
    for off in $(od -An -v -tx1 "$in" | tr -d ' \n' |
                 grep -ob "$magic" | cut -d: -f1); do
      [ $((off % 2)) = 0 ] || continue
      off=$((off / 2))
      # shellcheck disable=SC2086  # cmd is a command and its options
      tail -c +$((off + 1)) "$in" | $cmd > "$out" 2>/dev/null || true
      if [ "$(head -c 4 "$out" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
        return 0
      fi
    done
  done
  return 1
}
extract_vmlinux "$vmlinuz" "$work/vmlinux" ||
  die "could not find the compressed kernel inside $vmlinuz"
cp "$vmlinuz" "$work/vmlinuz"

# --- the initramfs ----------------------------------------------------------
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,etc,data,data2,vfat,lib/modules,root}
ln -s bin "$root/sbin"
mkdir -p "$root/usr"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"
mkdir -p "$root/var/log"
ln -s ../run "$root/var/run"            # qemu-ga keeps its state in /var/run
chmod 1777 "$root/tmp"

# busybox and a link for each applet, so /bin/sh exists for guest-exec.
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

# qemu-ga and every shared library it loads, at the paths ldd reports (the
# dynamic loader keeps its absolute path, e.g. /lib64/ld-linux-x86-64.so.2).
cp "$qemuga" "$root/bin/qemu-ga"
ldd "$qemuga" | awk '/=> \// {print $3} /^\t\// {print $1}' |
while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

# Kernel modules, with everything they depend on in dependency order
# (modules.dep lists a module's dependencies, deepest last).  The crc32c
# entries stand for the "softdep ext4/jbd2 pre: crypto-crc32c" lines, which
# modules.dep does not list.  A module missing from this kernel (built in, or
# renamed) is skipped.
want=(virtio virtio_ring virtio_pci virtio_blk virtio_console
      crc16 mbcache crc32c_generic jbd2 ext4
      fat vfat nls_cp437 nls_iso8859-1 nls_ascii
      button evdev)
declare -A seen=()
order=()
add_module ()
{
  local name=$1 line path deps d
  line=$(grep -E "(^|/)${name}\.ko(\.[gx]z|\.zst)?:" "$moddir/modules.dep" |
         head -n 1 || true)
  [ -n "$line" ] || return 0
  path=${line%%:*}
  [ -z "${seen[$path]:-}" ] || return 0
  seen[$path]=1
  deps=${line#*:}
  # Dependencies first: load the last listed (the deepest) first.
  for d in $(echo "$deps" | tr ' ' '\n' | tac); do
    add_module "$(basename "${d%%.ko*}")"
  done
  order+=("$path")
}
for m in "${want[@]}"; do add_module "$m"; done
: > "$root/etc/modules"
for path in "${order[@]}"; do
  mkdir -p "$root/lib/modules/$(dirname "$path")"
  case $path in
    # busybox insmod reads plain .ko files only: decompress.
    *.ko.xz) xz -dc "$moddir/$path" > "$root/lib/modules/${path%.xz}" ;;
    *.ko.gz) gzip -dc "$moddir/$path" > "$root/lib/modules/${path%.gz}" ;;
    *.ko.zst) zstd -dcq "$moddir/$path" > "$root/lib/modules/${path%.zst}" ;;
    *) cp "$moddir/$path" "$root/lib/modules/$path" ;;
  esac
  echo "/lib/modules/${path%.ko*}.ko" >> "$root/etc/modules"
done

cat > "$root/etc/os-release" <<'EOF'
PRETTY_NAME="vmbackup test guest"
NAME="vmbackup-test-guest"
ID=vmbackup-test-guest
VERSION_ID=1
EOF
echo vmbguest > "$root/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"

# qemu-ga runs /sbin/shutdown for guest-shutdown; busybox acpid runs it for
# the ACPI power button (virsh shutdown).  Unmount cleanly, then power off.
rm -f "$root/bin/shutdown"
cat > "$root/bin/shutdown" <<'EOF'
#!/bin/sh
# Called as "shutdown -P|-h|-r +0 MESSAGE" by qemu-ga, or by acpid.
sync
for m in /vfat /data2 /data; do umount "$m" 2>/dev/null; done
case " $* " in
  *" -r "*) reboot -f ;;
  *) poweroff -f ;;
esac
EOF
chmod 755 "$root/bin/shutdown"
# busybox acpid runs /etc/acpi/PWRF/00000080 for the power button (its
# built-in event table; no action file needed).
mkdir -p "$root/etc/acpi/PWRF"
printf '#!/bin/sh\nexec /sbin/shutdown -P\n' > "$root/etc/acpi/PWRF/00000080"
chmod 755 "$root/etc/acpi/PWRF/00000080"

# The guest's PID 1.  Kernel command line flags (vmb.*) select the variant:
#   vmb.agent=0     no guest agent
#   vmb.nofreeze=1  agent with guest-fsfreeze-freeze blocked (-b)
#   vmb.disks=2     a second ext4 data disk, vdb, mounted at /data2
#   vmb.vfat=1      a vfat disk (the disk after the ext4 ones) at /vfat
cat > "$root/init" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mount -t tmpfs tmpfs /dev
mkdir -p /dev/pts /run /tmp
mount -t devpts devpts /dev/pts
hostname -F /etc/hostname

log () { echo "vmb-init: $*" > /dev/console; }

# Kernel command line flag: flag NAME DEFAULT
flag ()
{
  # shellcheck disable=SC2013  # the command line is split into words
  for w in $(cat /proc/cmdline); do
    case $w in "$1="*) echo "${w#*=}"; return ;; esac
  done
  echo "$2"
}

# Wait (up to 10 s) for a path to appear: devices show up asynchronously
# after their driver is loaded.
wait_for ()
{
  i=0
  while [ ! -e "$1" ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
  [ -e "$1" ]
}

# Device node from a sysfs "dev" file (MAJ:MIN) when devtmpfs did not make it.
mkdev ()
{
  [ -e "/dev/$1" ] && return 0
  [ -r "$2/dev" ] || return 1
  mm=$(cat "$2/dev")
  mknod "/dev/$1" c "${mm%:*}" "${mm#*:}"
}

while read -r m; do
  insmod "$m" 2>/dev/null || log "insmod $m failed"
done < /etc/modules

disks=$(flag vmb.disks 1)
vfat=$(flag vmb.vfat 0)
mount_disk ()  # DEV DIR FSTYPE
{
  if wait_for "/dev/$1"; then
    mount -t "$3" "/dev/$1" "$2" || log "mount /dev/$1 on $2 failed"
  else
    log "no /dev/$1"
  fi
}
mount_disk vda /data ext4
next=b
if [ "$disks" = 2 ]; then mount_disk vdb /data2 ext4; next=c; fi
[ "$vfat" = 1 ] && mount_disk "vd$next" /vfat vfat

if [ "$(flag vmb.agent 1)" != 0 ]; then
  port=
  i=0
  while [ -z "$port" ] && [ $i -lt 100 ]; do
    for p in /sys/class/virtio-ports/*; do
      [ -r "$p/name" ] || continue
      [ "$(cat "$p/name")" = org.qemu.guest_agent.0 ] && port=${p##*/}
    done
    [ -n "$port" ] || usleep 100000
    i=$((i + 1))
  done
  if [ -n "$port" ]; then
    mkdev "$port" "/sys/class/virtio-ports/$port"
    block=
    [ "$(flag vmb.nofreeze 0)" = 1 ] && block="-b guest-fsfreeze-freeze"
    log "starting qemu-ga on /dev/$port $block"
    # Restart the agent if it ever dies, as a service manager would.
    # shellcheck disable=SC2086
    (while :; do
       qemu-ga -m virtio-serial -p "/dev/$port" -t /run $block
       sleep 1
     done) > /dev/console 2>&1 &
  else
    log "no org.qemu.guest_agent.0 port"
  fi
fi

# ACPI power button (virsh shutdown --mode acpi) -> /sbin/shutdown.  acpid
# opens the /dev/input/event* nodes that exist when it starts: wait for the
# power button's (in the background, the agent need not wait for it).
(i=0
 while ! grep -q 'Power Button' /proc/bus/input/devices && [ $i -lt 100 ]; do
   usleep 100000; i=$((i + 1))
 done
 ev=$(grep -A 6 'Name="Power Button"' /proc/bus/input/devices |
      sed -n 's/^H: Handlers=.*\(event[0-9]*\).*/\1/p' | head -n 1)
 [ -n "$ev" ] && wait_for "/dev/input/$ev"
 exec acpid -f -c /etc/acpi) > /dev/console 2>&1 &

log "ready"
# PID 1 must never exit; the shell also reaps orphaned children here.
while :; do sleep 3600; done
EOF
chmod 755 "$root/init"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
  gzip -6 > "$work/initrd.img"

# Publish: files first, stamp last, so an interrupted build is redone.
chmod 644 "$work/vmlinux" "$work/vmlinuz" "$work/initrd.img"
rm -f "$outdir/stamp"
mv -f "$work/vmlinux" "$work/vmlinuz" "$work/initrd.img" "$outdir/"
echo "$stamp" > "$outdir/stamp"
echo "build-guest.sh: built guest for kernel $kver in $outdir"
