#!/usr/bin/env bash
# Make ready, once, what the VM tests share, before scripts/run-tests.sh
# runs them beside the other tests: libvirt's system instance started
# (and left running: the caller exports VMB_KEEP_LIBVIRT=1, so no test
# stops it under another), and the test guest built.  Two tests that
# started libvirtd or built the guest at the same moment would collide.
# Where the VM tests cannot run, it does nothing: they skip, saying why.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
[ "${VMB_KEEP_LIBVIRT:-0}" = 1 ] || fail "set VMB_KEEP_LIBVIRT=1: libvirt must outlive this script"
( requires_vm ) >/dev/null || exit 0
start_libvirt
build_guest
