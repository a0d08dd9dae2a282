# Helpers for the VM tests: boot the tiny test guest (build-guest.sh) under
# libvirt and talk to its guest agent.  Source after tests/functions.sh,
# which provides requires, fail, cleanup_fn and $scratch:
#
#   source "$(dirname "$0")/../functions.sh"
#   source "$(dirname "$0")/functions-vm.sh"
#   start_libvirt
#   define_guest g1 --two-disks
#   start_guest g1
#   wait_agent g1
#   guest_exec g1 'echo hi > /data/f && sync'
#
# Guests run under TCG (<domain type='qemu'>): the /dev/kvm of the machines
# this project runs on is a nested paravirtual one on which a stock Debian
# kernel fails, and TCG boots the guest to a guest-ping in a few seconds
# anyway.  VMB_TEST_KVM=1 opts in to KVM where it works.
#
# Who can read what: qemu runs as libvirt-qemu (Debian's default; we do not
# touch /etc/libvirt/qemu.conf).  libvirt chowns the disk, kernel and initrd
# files to that user while the guest runs, but it does not open up the
# directories on the way, so every directory a guest file lives in must be
# traversable by others (o+x): $scratch is made 0711 here, the guest cache
# is 0755, and check_qemu_access says which path is in the way otherwise.

# shellcheck shell=bash
# shellcheck disable=SC2154  # $scratch is set by tests/functions.sh

_vm_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The built guest (kernel + initramfs), shared by every test run; it lives
# outside the build tree so that qemu can reach it whatever the checkout's
# own directory permissions are.
: "${VMB_GUEST_DIR:=/var/tmp/vmbackup-guest}"
export LIBVIRT_DEFAULT_URI=qemu:///system

# virsh, quiet, always against the system instance.
vsh () { virsh -q -c qemu:///system "$@"; }

# Skip (exit 77) unless everything a VM test needs is installed.
requires_vm ()
{
  requires_root "libvirt's system instance"
  local t
  for t in virsh libvirtd virtlogd qemu-system-x86_64 qemu-img mkfs.ext4 \
           busybox cpio python3 runuser; do
    requires "$t"
  done
  [ -x /usr/sbin/qemu-ga ] ||
    { echo "$0: SKIP: qemu-guest-agent is not installed"; exit 77; }
  compgen -G '/boot/vmlinuz-*' >/dev/null ||
    { echo "$0: SKIP: no kernel in /boot (linux-image-amd64)"; exit 77; }
  getent passwd libvirt-qemu >/dev/null ||
    { echo "$0: SKIP: no libvirt-qemu user (libvirt-daemon-system)"; exit 77; }
}

# Is libvirt's system instance answering?
_libvirt_up () { timeout 30 virsh -c qemu:///system version >/dev/null 2>&1; }

# Start virtlogd and libvirtd by hand unless libvirt already answers (there
# is no systemd here to socket-activate them), and stop what we started when
# the test exits.  Set VMB_KEEP_LIBVIRT=1 to leave them running between
# test runs (saves a few seconds each).
start_libvirt ()
{
  requires_vm
  _libvirt_up && return 0
  local d pidfile pid
  for d in virtlogd libvirtd; do
    pidfile=/run/$d.pid
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      continue                          # already running
    fi
    rm -f "$pidfile"
    # -d forks into the background and writes /run/$d.pid.  No stdio: meson
    # would otherwise wait for the daemon to close the test's output pipe.
    "$d" -d </dev/null >/dev/null 2>&1 || fail "could not start $d"
    for _ in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
    pid=$(cat "$pidfile" 2>/dev/null) || fail "$d wrote no $pidfile"
    [ "${VMB_KEEP_LIBVIRT:-0}" = 1 ] || cleanup_fn "_stop_daemon $d $pid"
  done
  # The first connection after libvirtd starts waits for it to probe qemu's
  # capabilities (about 10 s the first time, cached afterwards).
  for _ in $(seq 60); do
    _libvirt_up && return 0
    sleep 1
  done
  fail "libvirtd does not answer"
}

_stop_daemon ()
{
  local name=$1 pid=$2
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "$name ($pid) did not stop, killing it" >&2
  kill -9 "$pid" 2>/dev/null || true
}

# Build (or reuse) the guest kernel and initramfs.
build_guest ()
{
  if [ -e "$VMB_GUEST_DIR" ] && [ ! -O "$VMB_GUEST_DIR" ]; then
    fail "$VMB_GUEST_DIR is not ours; set VMB_GUEST_DIR"
  fi
  "$_vm_here/build-guest.sh" "$VMB_GUEST_DIR" || fail "could not build the guest"
  chmod 755 "$VMB_GUEST_DIR"
  _vm_built=1
}

# Fail unless the qemu user can read FILE (every directory on the way
# traversable), naming the directory that is in the way.
check_qemu_access ()
{
  local f=$1 d="" c
  runuser -u libvirt-qemu -- test -r "$f" && return 0
  # From the root down: the first directory it cannot enter is the culprit.
  local IFS=/
  for c in $(dirname "$f"); do
    [ -n "$c" ] || continue
    d=$d/$c
    runuser -u libvirt-qemu -- test -x "$d" ||
      fail "qemu (user libvirt-qemu) cannot traverse $d to reach $f: chmod o+x it or set TMPDIR"
  done
  fail "qemu (user libvirt-qemu) cannot read $f"
}

# OVMF (UEFI firmware) code and variable template, 4 MiB flavour first.
_ovmf_pair ()
{
  local c v
  for c in /usr/share/OVMF/OVMF_CODE_4M.fd /usr/share/OVMF/OVMF_CODE.fd; do
    v=${c/CODE/VARS}
    if [ -r "$c" ] && [ -r "$v" ]; then echo "$c $v"; return 0; fi
  done
  return 1
}

# Where a guest's files live: $scratch/vm-NAME/
#   vda.qcow2 (or vda.raw)   the ext4 data disk, mounted at /data; it holds
#                            seed.txt ("vmbackup test guest NAME")
#   base.qcow2               with --backing: vda.qcow2's backing file (the
#                            filesystem is in the base, the overlay is empty)
#   vdb.qcow2                with --two-disks: second ext4 disk, /data2
#   vfat.qcow2               with --vfat: a vfat disk, /vfat (after vdb)
#   VARS.fd                  with --nvram: the UEFI variable store
#   console.log              the serial console, for debugging
#   domain.xml               what was defined
guest_dir () { echo "$scratch/vm-$1"; }

# define_guest NAME [--no-agent] [--nofreeze] [--vfat] [--two-disks]
#                   [--backing] [--raw] [--nvram] [--size SIZE]
#                   [--own-boot] [--block] [--volume] [--network NET]
# Create the guest's disks and define (not start) the libvirt domain.  It is
# destroyed and undefined when the test exits.
#   --no-agent    the guest runs no guest agent (the channel is still there)
#   --nofreeze    the agent refuses guest-fsfreeze-freeze (qemu-ga -b)
#   --vfat        add a vfat disk (not freezable)
#   --two-disks   add a second ext4 disk
#   --backing     vda is a qcow2 overlay on a qcow2 base
#   --raw         disks are raw files instead of qcow2
#   --nvram       UEFI firmware (OVMF) with an NVRAM file; boots the bzImage
#                 (OVMF cannot start the bare ELF vmlinux) and takes longer
#   --size SIZE   size of each ext4 data disk (default 64M)
#   --own-boot    boot from copies of the kernel and initrd in the guest's
#                 own directory (boot/), which a test may delete or change
#   --block       vda is a block device (<disk type='block'>, as an LVM
#                 volume would be): a loop device over vda.raw, detached
#                 when the test exits; needs --raw.  Sets guest_block_dev.
#   --volume      vda is a storage pool volume (<disk type='volume'>): the
#                 guest's directory is the dir pool vmbt-NAME, removed
#                 when the test exits
#   --network NET a virtio NIC on libvirt network NET (which must exist
#                 when the guest starts; the guest does not configure it)
define_guest ()
{
  local name=$1; shift
  local agent=1 nofreeze=0 vfat=0 disks=1 backing=0 fmt=qcow2 nvram=0
  local size=64M own_boot=0 block=0 volume=0 nic_xml=""
  while [ $# -gt 0 ]; do
    case $1 in
      --no-agent) agent=0 ;;
      --nofreeze) nofreeze=1 ;;
      --vfat) vfat=1 ;;
      --two-disks) disks=2 ;;
      --backing) backing=1 ;;
      --raw) fmt=raw ;;
      --nvram) nvram=1 ;;
      --size) size=$2; shift ;;
      --own-boot) own_boot=1 ;;
      --block) block=1 ;;
      --volume) volume=1 ;;
      --network) nic_xml="
    <interface type='network'><source network='$2'/><model type='virtio'/></interface>"
                 shift ;;
      *) fail "define_guest: unknown option $1" ;;
    esac
    shift
  done
  [ "$backing" = 0 ] || [ "$fmt" = qcow2 ] || fail "define_guest: --backing needs qcow2"
  [ "$block" = 0 ] || [ "$fmt" = raw ] || fail "define_guest: --block needs --raw"

  [ -n "${_vm_built:-}" ] || build_guest   # once per test

  local dir seed
  dir=$(guest_dir "$name")
  chmod o+x "$scratch"                  # mktemp -d made it 0700
  mkdir -p "$dir"
  chmod 711 "$dir"
  seed=$dir/seed
  mkdir -p "$seed"
  echo "vmbackup test guest $name" > "$seed/seed.txt"

  local mk=$_vm_here/make-disk.sh
  if [ "$backing" = 1 ]; then
    "$mk" "$dir/base.qcow2" "$size" qcow2 ext4 "$seed"
    qemu-img create -q -f qcow2 -b "$dir/base.qcow2" -F qcow2 "$dir/vda.qcow2"
  else
    "$mk" "$dir/vda.$fmt" "$size" "$fmt" ext4 "$seed"
  fi
  [ "$disks" = 1 ] || "$mk" "$dir/vdb.$fmt" "$size" "$fmt" ext4 "$seed"
  [ "$vfat" = 0 ] || "$mk" "$dir/vfat.$fmt" 32M "$fmt" vfat "$seed"
  rm -rf "$seed"

  local kernel=$VMB_GUEST_DIR/vmlinux initrd=$VMB_GUEST_DIR/initrd.img
  local cmdline="console=ttyS0 quiet"
  [ "$agent" = 1 ] || cmdline+=" vmb.agent=0"
  [ "$nofreeze" = 0 ] || cmdline+=" vmb.nofreeze=1"
  [ "$disks" = 1 ] || cmdline+=" vmb.disks=2"
  [ "$vfat" = 0 ] || cmdline+=" vmb.vfat=1"

  local type=qemu
  if [ "${VMB_TEST_KVM:-0}" = 1 ] && [ -w /dev/kvm ] &&
     vsh domcapabilities --virttype kvm >/dev/null 2>&1; then
    type=kvm
  fi

  local loader=""
  if [ "$nvram" = 1 ]; then
    local pair
    pair=$(_ovmf_pair) || { echo "$0: SKIP: OVMF is not installed (ovmf)"; exit 77; }
    kernel=$VMB_GUEST_DIR/vmlinuz
    # An explicit loader/nvram pair, as older virt-install wrote them.  (An
    # <nvram> without <loader> is refused: "no loader path specified and
    # firmware auto selection disabled"; <os firmware='efi'> also works.)
    loader="<loader readonly='yes' type='pflash'>${pair% *}</loader>
    <nvram template='${pair#* }'>$dir/VARS.fd</nvram>"
  fi

  if [ "$own_boot" = 1 ]; then
    mkdir -p "$dir/boot"
    chmod 755 "$dir/boot"
    cp "$kernel" "$initrd" "$dir/boot/"
    kernel=$dir/boot/$(basename "$kernel")
    initrd=$dir/boot/$(basename "$initrd")
  fi

  local disk_xml="" t f
  _vm_disk () { # TARGET FILE FORMAT: append to disk_xml
    disk_xml+="
    <disk type='file' device='disk'>
      <driver name='qemu' type='$3'/>
      <source file='$2'/>
      <target dev='$1' bus='virtio'/>
    </disk>"
  }
  if [ "$block" = 1 ]; then
    requires losetup
    guest_block_dev=$(losetup --find --show "$dir/vda.raw") ||
      fail "no loop device for $dir/vda.raw"
    cleanup_fn "losetup -d '$guest_block_dev'"
    disk_xml+="
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source dev='$guest_block_dev'/>
      <target dev='vda' bus='virtio'/>
    </disk>"
  elif [ "$volume" = 1 ]; then
    vsh pool-destroy "vmbt-$name" >/dev/null 2>&1 || true   # an earlier run's
    vsh pool-undefine "vmbt-$name" >/dev/null 2>&1 || true
    vsh pool-define-as "vmbt-$name" dir --target "$dir" >/dev/null ||
      fail "define pool vmbt-$name"
    cleanup_fn "vsh pool-undefine 'vmbt-$name' >/dev/null 2>&1"
    cleanup_fn "vsh pool-destroy 'vmbt-$name' >/dev/null 2>&1"
    vsh pool-start "vmbt-$name" >/dev/null || fail "start pool vmbt-$name"
    disk_xml+="
    <disk type='volume' device='disk'>
      <driver name='qemu' type='$fmt'/>
      <source pool='vmbt-$name' volume='vda.$fmt'/>
      <target dev='vda' bus='virtio'/>
    </disk>"
  else
    _vm_disk vda "$dir/vda.$fmt" "$fmt"
  fi
  t=b
  if [ "$disks" = 2 ]; then _vm_disk vdb "$dir/vdb.$fmt" "$fmt"; t=c; fi
  [ "$vfat" = 0 ] || _vm_disk "vd$t" "$dir/vfat.$fmt" "$fmt"

  cat > "$dir/domain.xml" <<EOF
<domain type='$type'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    $loader
    <kernel>$kernel</kernel>
    <initrd>$initrd</initrd>
    <cmdline>$cmdline</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>$disk_xml$nic_xml
    <controller type='usb' model='none'/>
    <controller type='virtio-serial'/>
    <!-- No source path: libvirt puts the socket under
         /var/lib/libvirt/qemu/channel/target/, where qemu may create it. -->
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <serial type='file'>
      <source path='$dir/console.log'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
  for f in "$kernel" "$initrd" "$dir/vda.$fmt"; do
    check_qemu_access "$f"
  done
  # A domain of that name left by an earlier, killed run goes first.
  destroy_guest "$name"
  cleanup_fn "destroy_guest '$name'"
  vsh define "$dir/domain.xml" >/dev/null || fail "virsh define $name failed"
}

# Destroy and undefine a guest with everything libvirt keeps about it;
# errors ignored (it may be gone already).
# shutdown_guest NAME: a clean shutdown (the ACPI power button, as
# virsh's default would be without an agent) and up to 60 s for it.  Not
# the agent's guest-shutdown, virsh's default here: the test guest powers
# off so fast that libvirt may see it gone before the agent's answer and
# fail with "domain is not running" (seen once in a CI run).
shutdown_guest ()
{
  local i
  vsh shutdown --mode acpi "$1" > /dev/null || fail "virsh shutdown $1"
  for i in $(seq 300); do
    [ "$(vsh domstate "$1")" = "shut off" ] && return 0
    sleep 0.2
  done
  fail "$1 did not shut down"
}

destroy_guest ()
{
  vsh destroy "$1" >/dev/null 2>&1 || true
  vsh undefine "$1" --nvram --snapshots-metadata --checkpoints-metadata \
    >/dev/null 2>&1 || true
}

# The usual start of a VM test: libvirt up, the guest built, and a new
# repository in $scratch, which becomes the working directory.
vm_test_begin ()
{
  requires_vm
  start_libvirt
  build_guest
  cd "$scratch"
  # Encrypted (the default), unless the test called in_the_clear.
  if [ -n "${VMBACKUP_KEY_FILE:-}" ]; then
    vmb init >/dev/null
  else
    vmb init --encryption none >/dev/null
  fi
}

# Start a defined guest; remembers when, for wait_agent's timing.
declare -A _vm_start_time=()
start_guest ()
{
  _vm_start_time[$1]=$(date +%s.%N)
  vsh start "$1" >/dev/null || fail "virsh start $1 failed"
}

# Print the last lines of the guest's console and qemu log, to debug a boot.
guest_logs ()
{
  local dir
  dir=$(guest_dir "$1")
  echo "--- console of $1 (last 30 lines)"
  tail -n 30 "$dir/console.log" 2>/dev/null || true
  echo "--- /var/log/libvirt/qemu/$1.log (last 10 lines)"
  tail -n 10 "/var/log/libvirt/qemu/$1.log" 2>/dev/null || true
}

# agent_cmd NAME JSON: run one guest agent command, print its JSON reply.
agent_cmd () { vsh qemu-agent-command --timeout 30 "$1" "$2"; }

# wait_agent NAME [TIMEOUT]: wait until the guest agent answers guest-ping
# (default 120 s).  Sets vm_ping_seconds to the time since start_guest.
# shellcheck disable=SC2034  # read by the tests
vm_ping_seconds=
wait_agent ()
{
  local name=$1 timeout=${2:-120} end
  end=$(( $(date +%s) + timeout ))
  while [ "$(date +%s)" -lt "$end" ]; do
    if vsh qemu-agent-command --timeout 5 "$name" \
         '{"execute":"guest-ping"}' >/dev/null 2>&1; then
      if [ -n "${_vm_start_time[$name]:-}" ]; then
        # shellcheck disable=SC2034  # read by the tests
        vm_ping_seconds=$(awk -v a="${_vm_start_time[$name]}" \
                            -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
      fi
      return 0
    fi
    sleep 0.2
  done
  guest_logs "$name" >&2
  fail "guest agent of $name did not answer guest-ping within $timeout s"
}

# wait_console NAME PATTERN [TIMEOUT]: wait until the guest's console shows
# a line matching PATTERN (grep -E); e.g. 'vmb-init: ready' once /init is done.
wait_console ()
{
  local name=$1 pattern=$2 timeout=${3:-120} dir end
  dir=$(guest_dir "$name")
  end=$(( $(date +%s) + timeout ))
  while [ "$(date +%s)" -lt "$end" ]; do
    grep -qE -- "$pattern" "$dir/console.log" 2>/dev/null && return 0
    sleep 0.2
  done
  guest_logs "$name" >&2
  fail "console of $name did not show '$pattern' within $timeout s"
}

# guest_exec NAME CMD...: run CMD with /bin/sh -c in the guest through the
# agent (guest-exec, then guest-exec-status until it exits).  Prints its
# stdout (and its stderr to stderr); returns its exit status (128+N when
# killed by signal N).  Gives up after VMB_EXEC_TIMEOUT seconds (60).
guest_exec ()
{
  local name=$1; shift
  local req reply pid status end
  req=$(python3 -c 'import json, sys
print(json.dumps({"execute": "guest-exec", "arguments": {
    "path": "/bin/sh", "arg": ["-c", sys.argv[1]], "capture-output": True}}))' "$*")
  reply=$(vsh qemu-agent-command --timeout 30 "$name" "$req") ||
    fail "guest-exec in $name failed"
  pid=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["return"]["pid"])' \
        "$reply")
  end=$(( $(date +%s) + ${VMB_EXEC_TIMEOUT:-60} ))
  while :; do
    reply=$(vsh qemu-agent-command --timeout 30 "$name" \
      "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}") ||
      fail "guest-exec-status in $name failed"
    # Prints "running" or the exit status; the output goes to the files.
    status=$(python3 -c 'import base64, json, sys
r = json.loads(sys.argv[1])["return"]
if not r["exited"]:
    print("running")
    sys.exit(0)
for key, path in (("out-data", sys.argv[2]), ("err-data", sys.argv[3])):
    with open(path, "wb") as f:
        f.write(base64.b64decode(r.get(key, "")))
if "signal" in r:
    print(128 + r["signal"])
else:
    print(r.get("exitcode", 255))' "$reply" "$scratch/.exec-out" "$scratch/.exec-err")
    [ "$status" = running ] || break
    [ "$(date +%s)" -lt "$end" ] ||
      fail "guest-exec '$*' in $name still running after ${VMB_EXEC_TIMEOUT:-60} s"
    sleep 0.1
  done
  cat "$scratch/.exec-out"
  cat "$scratch/.exec-err" >&2
  return "$status"
}

# snapshot_guest NAME SNAP [internal|external]: take a snapshot of a running
# or shut-off guest.  internal (default): a full snapshot stored inside the
# qcow2 files (with memory state when running; needs every disk qcow2, and
# no NVRAM: a raw pflash cannot hold one).  external: a disk-only snapshot,
# new overlay files NAME.SNAP beside the disks, quiesced through the agent
# when the guest is running.
snapshot_guest ()
{
  local name=$1 snap=$2 kind=${3:-internal} args=()
  case $kind in
    internal) ;;
    external)
      args=(--disk-only --atomic)
      [ "$(vsh domstate "$name")" != running ] || args+=(--quiesce)
      ;;
    *) fail "snapshot_guest: unknown kind $kind" ;;
  esac
  vsh snapshot-create-as "$name" "$snap" "${args[@]}" >/dev/null ||
    fail "snapshot $snap ($kind) of $name failed"
}
