#!/bin/bash
# make demo: boot the default Xen HVM guest (Debian's 6.1 kernel and a
# small initramfs with a shell) under the xenkvm VMM and leave you at its
# console. This machine cannot load modules or run KVM guests itself, so
# the demo runs inside the testbed's L1 (Debian 6.1 + kvm-amd + xenkvm.ko):
# QEMU's serial console is your terminal. Leave with Ctrl-a x.
#
#   KERNEL=6.12 make demo    the same on the 6.12 host kernel (KVM_XEN)
#   BACKEND=kvm|module|auto  which backend the VMM uses (default auto)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s vmm >/dev/null 2>&1 || true
if [ ! -f vmm/main.c ]; then
	echo "demo: the VMM cannot boot guests yet (vmm/main.c does not exist)." >&2
	echo "demo: 'make check' runs what exists; see README.md." >&2
	exit 1
fi
exec scripts/testbed.sh --kernel "${KERNEL:-6.1}" --suite demo \
	--interactive --demo-backend "${BACKEND:-auto}" --timeout 86400
