# Sourced by the block tests (busybox sh inside the testbed's L1).
#
# Each test boots a guest with a disk (--disk) and the Xen front ends
# loaded, drives the guest's shell (guest/init's xenkvm.action=shell)
# through the console, and checks what the guest says and the image's
# bytes on this side. Until the VMM has --disk they skip (exit 4).
XK=/xenkvm/bin/xenkvm
GUEST=/xenkvm/guest
KVER=${BLK_GUEST_KERNEL:-6.1}
failures=0
vmm=
cmdno=0

skip() { echo "SKIP: $*"; exit 4; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# stop_vmm: SIGTERM, and wait (10 s at most) for its dump of vCPU and
# event-channel state to reach the log.
stop_vmm() {
	local i=0
	kill "$vmm" 2>/dev/null || return 0
	while kill -0 "$vmm" 2>/dev/null && [ "$i" -lt 10 ]; do
		sleep 1
		i=$((i + 1))
	done
	kill -9 "$vmm" 2>/dev/null
}

die() {
	echo "FAIL: $*"
	[ -n "$vmm" ] && stop_vmm
	[ -n "$log" ] && { echo "--- last 60 lines of $log"; tail -n 60 "$log"; }
	exit 1
}

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

# make_image FILE MIB: a zeroed image.
make_image() {
	rm -f "$1"
	dd if=/dev/zero of="$1" bs=1048576 count="$2" 2>/dev/null ||
		{ echo "FAIL: cannot create $1"; exit 1; }
}

# The bytes both sides generate: `$PATTERN_CMD | head -c N`.
PATTERN_CMD='yes xenkvm-blk-0123456789abcdefghijklmnopqrstuvwxyz'
pattern() { $PATTERN_CMD | head -c $(($1 * 1048576)); }
md5_of() { md5sum | cut -c1-32; }

# wait_log REGEX SECONDS: until the VMM's output matches (or it died).
wait_log() {
	local i=0
	while [ "$i" -lt "$2" ]; do
		tr -d '\r' < "$log" | grep -qE "$1" && return 0
		kill -0 "$vmm" 2>/dev/null || return 1
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# boot_disk DISKSPEC: the guest up, its shell reading our fifo.
boot_disk() {
	log=/tmp/blk-$(basename "$0").log
	fifo=/tmp/blk-$(basename "$0").in
	: > "$log"
	rm -f "$fifo" && mkfifo "$fifo"
	exec 3<>"$fifo"	# held open: the console never sees EOF
	echo "boot: Linux $KVER, --disk $1, backend $backend"
	timeout 900 "$XK" run --kernel "$GUEST/vmlinuz-$KVER" \
		--initrd "$GUEST/initrd-$KVER.cpio" --cpus 1 --memory 512M \
		--backend "$backend" --disk "$1" \
		--cmdline "xenkvm.modules=1 xenkvm.action=shell" \
		< "$fifo" > "$log" 2>&1 &
	vmm=$!
	wait_log '^XENKVM-GUEST-END' 400 || die "the guest never finished booting"
	sleep 2	# let the shell start reading the console
}

# gcmd 'COMMAND' SECONDS: run one line in the guest; $grc is its status.
# The echoed input shows $((n+0)), only the output the number itself.
gcmd() {
	cmdno=$((cmdno + 1))
	printf '%s; r=$?; echo "XKBLK-RC-$((%d+0))=$r"\n' "$1" "$cmdno" >&3
	grc=
	if wait_log "XKBLK-RC-$cmdno=[0-9]+" "$2"; then
		grc=$(tr -d '\r' < "$log" |
		      sed -n "s/.*XKBLK-RC-$cmdno=\([0-9]*\).*/\1/p" | tail -n1)
	fi
	[ -n "$grc" ] || grc=timeout
}

# blkfront connects asynchronously after the modules are loaded.
need_xvda() {
	gcmd 'i=0; while [ ! -b /dev/xvda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; [ -b /dev/xvda ]' 60
	[ "$grc" = 0 ] || die "the guest has no /dev/xvda (status $grc)"
}

# said KEY: the value of the guest's last "XENKVM-BLK: KEY value" line.
said() {
	tr -d '\r' < "$log" | sed -n "s/^XENKVM-BLK: $1 //p" | tail -n1
}

shutdown_guest() {
	printf 'poweroff -f\n' >&3
	local i=0
	while kill -0 "$vmm" 2>/dev/null && [ "$i" -lt 120 ]; do
		sleep 1
		i=$((i + 1))
	done
	kill -0 "$vmm" 2>/dev/null && die "the guest did not power off"
	wait "$vmm"
	rc=$?
	vmm=
	exec 3>&-
	echo "boot: xenkvm exited with status $rc"
}

# write_read IMG DISKSPEC: a 64 MiB IMG served as DISKSPEC; the guest
# sees its size, writes a pattern at 4 MiB, syncs, drops its caches and
# reads it back; after power-off the image holds the pattern.
write_read() {
	local img=$1 want got
	make_image "$img" 64
	want=$(pattern 1 | md5_of)
	boot_disk "$2"
	need_xvda
	gcmd 'echo "XENKVM-BLK: geometry $(cat /sys/block/xvda/size) ro=$(cat /sys/block/xvda/ro)"' 10
	[ "$(said geometry)" = "131072 ro=0" ] ||
		fail "guest sees xvda as '$(said geometry)', want '131072 ro=0'"
	gcmd "$PATTERN_CMD | head -c 1048576 > /tmp/p && dd if=/tmp/p of=/dev/xvda bs=4096 seek=1024 conv=fsync" 120
	[ "$grc" = 0 ] || fail "the guest's write failed (status $grc)"
	gcmd 'sync; echo 3 > /proc/sys/vm/drop_caches; echo "XENKVM-BLK: read $(dd if=/dev/xvda bs=4096 skip=1024 count=256 2>/dev/null | md5sum | cut -c1-32)"' 60
	[ "$(said read)" = "$want" ] || fail "the guest read back '$(said read)', want $want"
	shutdown_guest
	[ "$rc" = 0 ] || fail "xenkvm exited $rc after the guest powered off"
	got=$(dd if="$img" bs=4096 skip=1024 count=256 2>/dev/null | md5_of)
	[ "$got" = "$want" ] || fail "the image lacks the pattern at 4 MiB ($got, want $want)"
}

finish() {
	if [ "$failures" != 0 ]; then
		echo "--- last 80 lines of $log"
		tail -n 80 "$log"
		exit 1
	fi
	exit 0
}
