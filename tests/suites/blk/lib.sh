# Sourced by the block tests (busybox sh inside the testbed's L1).
#
# Each test boots a guest with a disk (--disk), has the guest run a shell
# command on /dev/xvda, and checks the guest's report and the image's
# bytes on this side. Two things must exist first, else the test skips
# (exit 4) saying which:
#   * the VMM's --disk option (`xenkvm run --help` mentions it);
#   * guest/init running the command given as xenkvm.cmd=<%XX-encoded>
#     on the kernel command line (see Documentation/block.rst).
XK=/xenkvm/bin/xenkvm
GUEST=/xenkvm/guest
KVER=${BLK_GUEST_KERNEL:-6.1}
failures=0

skip() { echo "SKIP: $*"; exit 4; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

l1_backend() {
	case $(uname -r) in
	6.1.*) echo module ;;
	6.12.*) echo kvm ;;
	*) echo auto ;;
	esac
}

need_vmm() {
	[ -x "$XK" ] || { echo "FAIL: no VMM at $XK"; exit 1; }
	"$XK" run --help 2>&1 | grep -q -- '--disk' ||
		skip "the VMM has no --disk option yet (xenkvm run --help)"
	backend=$(l1_backend)
	if [ "$backend" = module ] && [ ! -c /dev/xenkvm ]; then
		insmod /xenkvm/xenkvm.ko || { echo "FAIL: cannot load xenkvm.ko"; exit 1; }
	fi
}

# The guest's /init must know xenkvm.cmd=; look inside its initramfs.
need_guest_cmd() {
	local d=/tmp/blk-initrd.$$
	rm -rf "$d" && mkdir -p "$d"
	(cd "$d" && cpio -i init < "$GUEST/initrd-$KVER.cpio" 2>/dev/null)
	grep -q 'xenkvm.cmd' "$d/init" 2>/dev/null ||
		{ rm -rf "$d"; skip "guest/init does not run xenkvm.cmd= commands"; }
	rm -rf "$d"
}

# %XX-encode all but [A-Za-z0-9./_-]: the command survives the kernel
# command line (no spaces, no quotes) and stays short (2048 bytes max).
encode() {
	printf '%s' "$1" | od -An -v -tx1 | awk '
	BEGIN {
		for (n = 48; n < 58; n++) safe[sprintf("%02x", n)] = sprintf("%c", n)
		for (n = 65; n < 91; n++) safe[sprintf("%02x", n)] = sprintf("%c", n)
		for (n = 97; n < 123; n++) safe[sprintf("%02x", n)] = sprintf("%c", n)
		safe["2d"] = "-"; safe["2e"] = "."; safe["2f"] = "/"; safe["5f"] = "_"
	}
	{ for (i = 1; i <= NF; i++) printf "%s", ($i in safe) ? safe[$i] : "%" $i }'
}

# Guest-side preamble: blkfront connects asynchronously after insmod.
WAIT_XVDA='i=0; while [ ! -b /dev/xvda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
'

# make_image FILE MIB: a zeroed image.
make_image() {
	rm -f "$1"
	dd if=/dev/zero of="$1" bs=1048576 count="$2" 2>/dev/null ||
		{ echo "FAIL: cannot create $1"; exit 1; }
}

# pattern MIB: the bytes both sides generate (short enough to pass
# inside the guest command).
PATTERN_CMD='yes xenkvm-blk-0123456789abcdefghijklmnopqrstuvwxyz'
pattern() { $PATTERN_CMD | head -c $(($1 * 1048576)); }

# boot_disk DISKSPEC GUEST_COMMAND: boot with the Xen front ends loaded,
# the guest runs the command and powers off. Sets $rc and $log.
boot_disk() {
	log=/tmp/blk-$(basename "$0").log
	echo "boot: Linux $KVER, --disk $1, backend $backend"
	timeout 400 "$XK" run --kernel "$GUEST/vmlinuz-$KVER" \
		--initrd "$GUEST/initrd-$KVER.cpio" --cpus 1 --memory 512M \
		--backend "$backend" --disk "$1" \
		--cmdline "xenkvm.modules=1 xenkvm.action=poweroff xenkvm.cmd=$(encode "$2")" \
		> "$log" 2>&1 < /dev/null
	rc=$?
	echo "boot: xenkvm exited with status $rc"
}

# The guest command's own lines.
said() { grep -a '^XENKVM-BLK: ' "$log" | sed 's/^XENKVM-BLK: //'; }

expect_said() {
	said | grep -qE "$1" || fail "guest did not report $2 (/$1/)"
}

md5_of() { md5sum | cut -c1-32; }

finish() {
	if [ "$failures" != 0 ]; then
		echo "--- last 80 lines of $log"
		tail -n 80 "$log"
		exit 1
	fi
	exit 0
}
