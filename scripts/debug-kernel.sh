#!/bin/bash
# Build (once, then cached) a 6.1 debug kernel for the testbed's L1:
# KASAN, lockdep (PROVE_LOCKING), DEBUG_ATOMIC_SLEEP, kmemleak and KVM, from
# Debian's linux-source-6.1, on x86_64_defconfig plus what the testbed needs
# (so the build stays well under an hour on two cores).
#
# The result is laid out like an unpacked Debian kernel, so scripts/testbed.sh
# uses it with --kernel debug:
#   $cache/kernel/debug/boot/vmlinuz-debug
#   $cache/kernel/debug/lib/modules/<release>/...
#   $cache/kernel/debug/build      the build tree (KDIR for xenkvm.ko)
set -euo pipefail

cache=${XENKVM_CACHE:-/var/cache/xenkvm}
src=$(ls -d /usr/src/linux-source-6.1 2>/dev/null) ||
	{ echo "debug-kernel: linux-source-6.1 missing: run make deps" >&2; exit 1; }
dest=$cache/kernel/debug
obj=$dest/build
jobs=${JOBS:-$(nproc)}

# Rebuild when this script's configuration changes.
stamp=$(sha1sum "$0" | cut -c1-12)
if [ -f "$dest/.done" ] && [ "$(cat "$dest/.done")" = "$stamp" ]; then
	echo "debug-kernel: cached in $dest"
	exit 0
fi

mkdir -p "$obj"
make -s -C "$src" O="$obj" x86_64_defconfig

cfg() { "$src/scripts/config" --file "$obj/.config" "$@"; }

# What the testbed's L1 needs: modules, initramfs, serial console, KVM.
cfg -e MODULES -e MODULE_UNLOAD -d MODULE_SIG -e BLK_DEV_INITRD \
    -e DEVTMPFS -e DEVTMPFS_MOUNT -e SERIAL_8250 -e SERIAL_8250_CONSOLE \
    -e VIRTUALIZATION -m KVM -m KVM_AMD -m KVM_INTEL -d KVM_XEN \
    -e EVENTFD -e MMU_NOTIFIER -e HIGH_RES_TIMERS
# The module's mechanisms: ftrace with IPMODIFY, kprobes, kallsyms.
cfg -e FTRACE -e FUNCTION_TRACER -e DYNAMIC_FTRACE -e DYNAMIC_FTRACE_WITH_REGS \
    -e KPROBES -e KALLSYMS -e KALLSYMS_ALL -e DEBUG_FS
# Not needed, and under KASAN the bulk of the build.
cfg -d DRM -d DRM_I915 -d SOUND -d SND
# Devices the suites use: tap, veth, bridge, netns, zram swap, migration.
# zram needs a compressor; x86_64_defconfig has none, and without one
# olddefconfig drops ZRAM and robust/30-churn-zram-swap skips.
cfg -e CRYPTO -e CRYPTO_LZO
cfg -m TUN -m VETH -m BRIDGE -e NET_NS -m ZRAM -e SWAP -e MIGRATION \
    -e COMPACTION -e TRANSPARENT_HUGEPAGE
# The point of it all.
cfg -e KASAN -e KASAN_GENERIC -e KASAN_INLINE \
    -e PROVE_LOCKING -e DEBUG_LOCKDEP -e DEBUG_ATOMIC_SLEEP \
    -e DEBUG_KMEMLEAK -d DEBUG_KMEMLEAK_DEFAULT_OFF -e DEBUG_KMEMLEAK_AUTO_SCAN \
    -e DEBUG_LIST -e DEBUG_OBJECTS -e DEBUG_OBJECTS_TIMERS \
    -e DEBUG_OBJECTS_WORK -e DEBUG_OBJECTS_RCU_HEAD -e PROVE_RCU \
    -e WQ_WATCHDOG -e SOFTLOCKUP_DETECTOR -e DETECT_HUNG_TASK
# X86_5LEVEL stays on, as in Debian's kernel: the testbed's CPU has no
# LA57 (scripts/testbed.sh), so the kernel runs 4-level paging. With LA57,
# KASAN decides which addresses have shadow from the LA57 CPU flag, which
# identify_cpu() clears for a moment at boot: an interrupt in that window
# reports a "wild-memory-access" on a valid direct-map address (seen in
# handle_edge_irq during cpu_detect), which fails the dmesg check.
# Faster to build: no debug info, no BTF.
cfg -d DEBUG_INFO -e DEBUG_INFO_NONE -d DEBUG_INFO_BTF -d DEBUG_INFO_DWARF5 \
    -d DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT

make -s -C "$src" O="$obj" olddefconfig
echo "debug-kernel: building in $obj with $jobs jobs (about 30-50 min here)"
nice -n 19 make -s -C "$src" O="$obj" -j"$jobs" bzImage modules
release=$(cat "$obj/include/config/kernel.release")
rm -rf "$dest/boot" "$dest/lib"
mkdir -p "$dest/boot"
cp "$obj/arch/x86/boot/bzImage" "$dest/boot/vmlinuz-debug"
make -s -C "$src" O="$obj" INSTALL_MOD_PATH="$dest" modules_install
echo "$release" > "$dest/release"
echo "$stamp" > "$dest/.done"
echo "debug-kernel: $release ready in $dest"
