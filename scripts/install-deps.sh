#!/usr/bin/env bash
# Install everything vmbackup needs to build and to run every test and
# benchmark on Debian 12.  Idempotent.
set -euo pipefail

packages=(
  # build
  build-essential meson ninja-build pkg-config
  libnbd-dev libzstd-dev libssl-dev libvirt-dev libxml2-dev libjson-c-dev
  libcurl4-openssl-dev libxxhash-dev
  # run: qemu-nbd, qemu-img; nbdkit for 'vmbackup export' (its plugin is
  # built against nbdkit-plugin-dev)
  qemu-utils libnbd-bin nbdkit nbdkit-plugin-dev
  # tests: fuzzers (clang + libFuzzer), sanitizers, tools the tests drive
  clang libclang-rt-14-dev time util-linux python3 perl
  # the independent repository reader (tests/vmbread.py): AES-GCM and
  # ChaCha20-Poly1305, zstd, XXH3
  python3-cryptography python3-zstandard python3-xxhash
  # file backup tests: setfattr, setfacl, getfacl
  attr acl
  # remote repository tests: a real sshd on 127.0.0.1, the ssh client
  openssh-server openssh-client
  # VM tests (tests/vm): libvirt running qemu (TCG), and what the tiny test
  # guest is built from: a Debian kernel, busybox, the guest agent, UEFI
  # firmware for the NVRAM variant, and tools to make its data disks
  libvirt-daemon-system libvirt-clients qemu-system-x86 linux-image-amd64
  busybox-static qemu-guest-agent ovmf e2fsprogs dosfstools mtools cpio
  xz-utils zstd
  # VM tests on a block device: losetup, mount
  mount
  # host backup tests: libvirt starts a network's dnsmasq (even without
  # DHCP) and its firewall rules
  dnsmasq-base iptables
  # S3 repository tests: a real Ceph cluster (mon, OSD, radosgw) on
  # 127.0.0.1, and curl for signed requests
  ceph-mon ceph-osd radosgw ceph-common curl
  # S3 clock skew test: a client whose clock is an hour off
  faketime
  # job tests: systemd-analyze verify on the shipped units
  systemd
  # vmbackup mount / restore --path: libguestfs (its appliance reads
  # guest file systems, partitions and LVM), FUSE; guestfish builds the
  # test disks; its appliance gets mkfs.xfs/xfs only from libguestfs-xfs
  libguestfs-dev libguestfs-tools libguestfs-xfs fuse3
  # scripts/check-style.sh: .clang-format is tuned for clang-format 14
  clang-format
  # benchmarks: the peers we measure against
  restic borgbackup openssl virtnbdbackup
)

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
