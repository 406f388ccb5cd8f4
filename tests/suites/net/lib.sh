# Sourced by the net tests (busybox sh inside the testbed's L1).
#
# Each test re-runs itself in a network namespace of its own (unshare -n),
# so the tap, its address and every packet stay inside it: L1 is the
# namespace's side of the tap (10.77.0.1), the guest is 10.77.0.2.
#
# The guest is driven through its console: guest/init's action "shell"
# runs a shell there, and the VMM's stdin (a FIFO we hold open) is the
# console's input. Each command ends by printing a marker with its exit
# status, which we wait for in the VMM's log.
XK=${XK:-/xenkvm/bin/xenkvm}
GUEST=${GUEST:-/xenkvm/guest}
TAP=xkn0
HOST_IP=10.77.0.1
GUEST_IP=10.77.0.2
GUEST_MAC=00:16:3e:77:00:02
failures=0
cmdno=0

skip() { echo "SKIP: $*"; exit 4; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
die() { echo "FAIL: $*"; finish; }

l1_backend() {
	case $(uname -r) in
	6.1.*) echo module ;;
	6.12.*) echo kvm ;;
	*) echo auto ;;
	esac
}

# Skip until the machine wires the backend in; then enter our own netns.
need_net() {
	[ -x "$XK" ] || { echo "FAIL: no VMM at $XK"; exit 1; }
	"$XK" run --help 2>&1 | grep -q -- '--net' ||
		skip "'xenkvm run --help' does not mention --net: the PV network backend is not wired into the machine yet"
	# tun is a module in Debian's kernels; the testbed ships it.
	if [ ! -c /dev/net/tun ] && [ -f /modules/net/order ]; then
		for m in $(cat /modules/net/order); do
			insmod "/modules/net/$m.ko" 2>/dev/null
		done
	fi
	[ -c /dev/net/tun ] || skip "no /dev/net/tun in L1"
	if [ -z "$XKNET_IN_NS" ]; then
		unshare -n true 2>/dev/null || skip "cannot create a network namespace in L1"
		XKNET_IN_NS=1 exec unshare -n "$0" "$@"
	fi
	ip link set lo up
	backend=$(l1_backend)
	if [ "$backend" = module ] && [ ! -c /dev/xenkvm ]; then
		insmod /xenkvm/xenkvm.ko || die "cannot load xenkvm.ko"
	fi
}

# wait_log REGEX SECONDS: until the VMM's log matches (or the VMM died).
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

# boot_guest NAME: start the guest with a vif on $TAP, give L1 its side.
boot_guest() {
	log=/tmp/net-$1.log
	fifo=/tmp/net-$1.in
	rm -f "$fifo" && mkfifo "$fifo"
	exec 3<>"$fifo"	# held open: the console never sees EOF
	echo "boot: Linux 6.1 with a vif on $TAP, backend $backend"
	timeout 1500 "$XK" run --kernel "$GUEST/vmlinuz-6.1" \
		--initrd "$GUEST/initrd-6.1.cpio" --cpus 2 --memory 1G \
		--backend "$backend" --net "tap=$TAP,mac=$GUEST_MAC" \
		--cmdline "xenkvm.modules=1 xenkvm.action=shell" \
		< "$fifo" > "$log" 2>&1 &
	vmm=$!
	local i=0
	until ip link show "$TAP" > /dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt 60 ] || die "the VMM never created tap $TAP"
		kill -0 "$vmm" 2>/dev/null || die "the VMM exited before creating $TAP"
		sleep 1
	done
	ip addr add "$HOST_IP/24" dev "$TAP" || die "cannot address $TAP"
	ip link set "$TAP" up || die "cannot bring $TAP up"
	wait_log '^XENKVM-GUEST-END' 400 || die "the guest never finished booting"
	sleep 2	# let the shell start reading the console
}

# gcmd 'COMMAND' SECONDS: run it in the guest; $grc is its exit status.
gcmd() {
	cmdno=$((cmdno + 1))
	# The echoed input shows $((n+0)); only the output shows the number.
	printf '%s; r=$?; echo "XKNET-RC-$((%d+0))=$r"\n' "$1" "$cmdno" >&3
	grc=
	if wait_log "XKNET-RC-$cmdno=[0-9]+" "$2"; then
		grc=$(tr -d '\r' < "$log" |
		      sed -n "s/.*XKNET-RC-$cmdno=\([0-9]*\).*/\1/p" | tail -n1)
	fi
	[ -n "$grc" ] || grc=timeout
}

# The guest side of the vif: netfront loaded, eth0 up and addressed.
guest_net_up() {
	gcmd "ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0" 60
	[ "$grc" = 0 ] || die "guest: eth0 did not come up (status $grc)"
	gcmd "cat /sys/class/net/eth0/address" 10
	tr -d '\r' < "$log" | grep -q "^$GUEST_MAC" ||
		fail "guest eth0 does not have MAC $GUEST_MAC"
}

shutdown_guest() {
	printf 'poweroff -f\n' >&3
	local i=0
	while kill -0 "$vmm" 2>/dev/null && [ "$i" -lt 60 ]; do
		sleep 1
		i=$((i + 1))
	done
	kill "$vmm" 2>/dev/null
	wait "$vmm"
	rc=$?
	exec 3>&-
	[ "$rc" = 0 ] || fail "xenkvm exited $rc after poweroff"
}

finish() {
	if [ -n "$vmm" ] && kill -0 "$vmm" 2>/dev/null; then
		kill "$vmm" 2>/dev/null
	fi
	if [ "$failures" != 0 ]; then
		[ -n "$log" ] && { echo "--- last 80 lines of $log"; tail -n 80 "$log"; }
		exit 1
	fi
	exit 0
}
