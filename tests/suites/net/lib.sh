# Sourced by the net tests (busybox sh inside the testbed's L1).
#
# Each test re-runs itself in a network namespace of its own (unshare -n),
# so the tap, its address and every packet stay inside it: L1 is the
# namespace's side of the tap (10.77.0.1), the guest is 10.77.0.2.
#
# The guest is driven through its console: guest/init's action "shell"
# runs a shell there, and the VMM's stdin (a FIFO we hold open) is the
# console's input. Each command is framed by markers carrying its number
# and exit status, which we wait for in the VMM's log; only the guest
# kernel's errors and worse reach the console (dmesg -n 4), so routine
# messages never split a line we parse while a soft lockup or an RCU
# stall still shows when the guest can no longer answer.
#
# Every wait is bounded by the test's budget (XKNET_BUDGET seconds, under
# run-suites' per-test timeout) less a reserve for the evidence: a stalled
# stream ends in a report (the tap's and the guest's counters, the guest's
# kernel log, the backend's ring indexes), never in the outer kill.
XK=${XK:-/xenkvm/bin/xenkvm}
GUEST=${GUEST:-/xenkvm/guest}
TAP=xkn0
HOST_IP=10.77.0.1
GUEST_IP=10.77.0.2
GUEST_MAC=00:16:3e:77:00:02
XKNET_BUDGET=${XKNET_BUDGET:-480}
EVIDENCE_RESERVE=90
failures=0
cmdno=0
t_start=$(date +%s)

skip() { echo "SKIP: $*"; exit 4; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
die() { echo "FAIL: $*"; failures=$((failures + 1)); finish; }

# The backend under test: the module on 6.1, KVM_XEN on 6.12, or
# XKNET_BACKEND (testbed.sh --env) to compare the two on one kernel.
l1_backend() {
	[ -n "$XKNET_BACKEND" ] && { echo "$XKNET_BACKEND"; return; }
	case $(uname -r) in
	6.1.*) echo module ;;
	6.12.*) echo kvm ;;
	*) echo auto ;;
	esac
}

# left SECONDS: SECONDS, or less if the budget (minus the reserve) is
# nearly spent; at least 1.
left() {
	local rem=$((t_start + XKNET_BUDGET - EVIDENCE_RESERVE - $(date +%s)))
	[ "$rem" -ge 1 ] || rem=1
	if [ "$1" -lt "$rem" ]; then echo "$1"; else echo "$rem"; fi
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

# The static xknet (guest/tools/xknet.c) for L1: the testbed ships it in
# the guest's initramfs, so take the very same binary from there.
need_xknet() {
	XKNET=/tmp/xknet-l1/bin/xknet
	[ -x "$XKNET" ] && return 0
	mkdir -p /tmp/xknet-l1
	(cd /tmp/xknet-l1 && cpio -i -d bin/xknet < "$GUEST/initrd-6.1.cpio") 2>/dev/null
	[ -x "$XKNET" ] || return 1
}

# Our log without the console's carriage returns.
console() { tr -d '\r' < "$log"; }

# wait_log REGEX SECONDS: until the VMM's log matches (or the VMM died).
wait_log() {
	local i=0 n
	n=$(left "$2")
	while [ "$i" -lt "$n" ]; do
		console | grep -qE "$1" && return 0
		kill -0 "$vmm" 2>/dev/null || return 1
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# boot_guest NAME [--net extras]: start the guest with a vif on $TAP,
# give L1 its side.
boot_guest() {
	log=/tmp/net-$1.log
	fifo=/tmp/net-$1.in
	rm -f "$fifo" && mkfifo "$fifo"
	exec 3<>"$fifo"	# held open: the console never sees EOF
	echo "boot: Linux 6.1 with a vif on $TAP$2, backend $backend"
	timeout 1500 "$XK" run --kernel "$GUEST/vmlinuz-6.1" \
		--initrd "$GUEST/initrd-6.1.cpio" --cpus 2 --memory 1G \
		--backend "$backend" --net "tap=$TAP,mac=$GUEST_MAC$2" \
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
	local t0
	t0=$(date +%s)
	wait_log '^XENKVM-GUEST-END' 300 || die "the guest never finished booting"
	echo "boot: the guest's init ran after $(($(date +%s) - t0)) s"
	# The shell reads the console only once it runs: until our first
	# command comes back, say it again (an early line may be lost).
	local tries=0
	cmdno=$((cmdno + 1))
	while [ "$tries" -lt 10 ]; do
		printf 'echo "XKNET-READY-$((%d+0))"\n' "$cmdno" >&3
		wait_log "^XKNET-READY-$cmdno\$" 5 && break
		tries=$((tries + 1))
	done
	[ "$tries" -lt 10 ] || die "the guest's shell never answered on the console"
	# Routine kernel messages would split the lines we parse; dmesg
	# keeps them, and errors (lockups, stalls) still reach the console.
	gcmd "dmesg -n 4" 30
}

# gcmd 'COMMAND' SECONDS: run it in the guest; $grc is its exit status
# (or "timeout"), gout prints what it printed.
gcmd() {
	cmdno=$((cmdno + 1))
	# The echoed input shows $((n+0)); only the output shows the number.
	printf 'echo "XKNET-BEGIN-$((%d+0))"; %s; r=$?; echo "XKNET-RC-$((%d+0))=$r"\n' \
		"$cmdno" "$1" "$cmdno" >&3
	grc=
	if wait_log "^XKNET-RC-$cmdno=[0-9]+" "$2"; then
		grc=$(console | sed -n "s/^XKNET-RC-$cmdno=\([0-9]*\).*/\1/p" | tail -n1)
	fi
	[ -n "$grc" ] || grc=timeout
}

# What the last gcmd printed.
gout() {
	console | sed -n "/^XKNET-BEGIN-$cmdno\$/,/^XKNET-RC-$cmdno=/p" |
		sed '1d;$d'
}

# The guest side of the vif: netfront loaded, eth0 up and addressed.
guest_net_up() {
	gcmd "ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0" 60
	[ "$grc" = 0 ] || die "guest: eth0 did not come up (status $grc)"
	gcmd "cat /sys/class/net/eth0/address" 20
	gout | grep -q "^$GUEST_MAC" ||
		fail "guest eth0 does not have MAC $GUEST_MAC"
	# Where the guest's modules sit, so that a stuck vCPU's RIP in the
	# evidence can be named (module + offset; the .ko files are in the
	# guest initramfs) even when the guest no longer answers.
	gcmd "cat /proc/modules" 20
	gout > "$log.modules"
}

# wait_listen PORT [SECONDS]: until something in L1 listens on TCP PORT.
wait_listen() {
	local i=0
	while ! netstat -ltn 2>/dev/null | grep -q ":$1 "; do
		i=$((i + 1))
		[ "$i" -lt "${2:-30}" ] || return 1
		sleep 1
	done
}

# A shell line for the guest: wait until it listens on TCP port $1.
g_wait_listen() {
	echo "i=0; until netstat -ltn | grep -q ':$1 '; do i=\$((i+1)); [ \$i -lt 60 ] || break; sleep 1; done; netstat -ltn | grep -q ':$1 '"
}

# Guest command whose output goes into our report.
gshow() {
	gcmd "$1" "$2"
	echo "guest \$ $1  (status $grc)"
	gout | sed 's/^/  | /'
}

# Why a stream stalled, before we say "not ok": both ends' counters, the
# guest's kernel log, and the backend's own view of its rings, which the
# VMM prints when it stops (SIGTERM).
evidence() {
	echo "--- evidence ($(($(date +%s) - t_start)) s into the test)"
	echo "L1 \$ grep $TAP /proc/net/dev  (rx bytes packets errs drop ... tx ...)"
	grep "$TAP" /proc/net/dev 2>&1 | sed 's/^/  | /'
	echo "L1 \$ netstat -tn"
	netstat -tn 2>&1 | sed 's/^/  | /'
	if [ -n "$vmm" ] && kill -0 "$vmm" 2>/dev/null; then
		# Interrupt whatever still runs in the foreground (a stuck nc).
		printf '\003' >&3
		sleep 1
		gshow "grep eth0 /proc/net/dev" 20
		if [ "$grc" = timeout ]; then
			echo "the guest no longer answers on its console: the whole guest is stuck, not only its network (see the vCPU registers below)"
		else
			gshow "netstat -tn" 20
			gshow "grep -E 'CPU|xen|eth' /proc/interrupts" 20
			gshow "dmesg | tail -n 30" 20
		fi
		kill -TERM "$vmm" 2>/dev/null
		local i=0
		while kill -0 "$vmm" 2>/dev/null && [ "$i" -lt 30 ]; do
			sleep 1
			i=$((i + 1))
		done
		kill -KILL "$vmm" 2>/dev/null
	fi
	echo "VMM: its last words (netback: counters and ring indexes per queue):"
	console | grep -E '^xenkvm' | tail -n 45 | sed 's/^/  | /'
	if [ -s "$log.modules" ]; then
		echo "guest modules at boot (name size refs deps state address):"
		sed 's/^/  | /' "$log.modules"
	fi
	echo "--- last 40 lines of $log"
	console | tail -n 40
}

# The backend's line at exit (netback_describe()): FIELD's value.
vif_stat() {
	console | grep '^xenkvm: vif 0:' | tail -n1 |
		sed -n "s/.* $1=\([0-9]*\).*/\1/p"
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
	console | grep '^xenkvm: vif' | sed 's/^/VMM: /'
	vmm=
}

finish() {
	[ -n "$rx" ] && kill "$rx" 2>/dev/null
	if [ "$failures" != 0 ]; then
		[ -n "$log" ] && evidence
		exit 1
	fi
	if [ -n "$vmm" ] && kill -0 "$vmm" 2>/dev/null; then
		kill "$vmm" 2>/dev/null
	fi
	exit 0
}

size_of() { wc -c < "$1" 2>/dev/null || echo 0; }

# wait_size FILE BYTES SECONDS
wait_size() {
	local i=0 n
	n=$(left "$3")
	while [ "$(size_of "$1")" -lt "$2" ]; do
		i=$((i + 1))
		[ "$i" -lt "$n" ] || return 1
		sleep 1
	done
}

# The 32-hex MD5 the last gcmd printed.
gmd5() { gout | grep -oE '^[0-9a-f]{32}' | tail -n1; }

# stream_g2h MIB: MIB random MiB from the guest to L1 over TCP (nc),
# compared by MD5.
stream_g2h() {
	local bytes=$(($1 * 1048576)) mb=$1 gsum hsum t0
	(sleep 1200 | nc -l -p 5001 > /tmp/net-g2h.bin) &
	rx=$!
	wait_listen 5001 || die "L1: nc never listened on 5001"
	gcmd "dd if=/dev/urandom of=/tmp/g2h bs=1048576 count=$mb 2>/dev/null && md5sum < /tmp/g2h" "$(left 300)"
	[ "$grc" = 0 ] || die "guest: cannot make the test data (status $grc)"
	gsum=$(gmd5)
	t0=$(date +%s)
	gcmd "timeout $(left 300) nc $HOST_IP 5001 < /tmp/g2h" "$(left 310)"
	[ "$grc" = 0 ] || die "guest->L1 stream did not finish (guest nc status $grc): L1 received $(size_of /tmp/net-g2h.bin) of $bytes bytes after $(($(date +%s) - t0)) s"
	wait_size /tmp/net-g2h.bin "$bytes" 60 ||
		die "guest->L1: L1 received $(size_of /tmp/net-g2h.bin) of $bytes bytes"
	kill $rx 2>/dev/null
	hsum=$(md5sum < /tmp/net-g2h.bin | cut -d' ' -f1)
	echo "guest->L1: $bytes bytes in $(($(date +%s) - t0)) s, guest md5 $gsum, L1 md5 $hsum"
	if [ -z "$gsum" ] || [ "$gsum" != "$hsum" ]; then
		fail "guest->L1 stream corrupted"
	fi
	rm -f /tmp/net-g2h.bin
}

# stream_h2g MIB: the same from L1 to the guest.
stream_h2g() {
	local bytes=$(($1 * 1048576)) mb=$1 gsum hsum t0
	dd if=/dev/urandom of=/tmp/net-h2g.bin bs=1048576 count="$mb" 2>/dev/null
	hsum=$(md5sum < /tmp/net-h2g.bin | cut -d' ' -f1)
	gcmd "rm -f /tmp/g2h /tmp/h2g; (sleep 1200 | nc -l -p 5002 > /tmp/h2g) & $(g_wait_listen 5002)" "$(left 90)"
	[ "$grc" = 0 ] || die "guest: nc never listened on 5002 (status $grc)"
	t0=$(date +%s)
	timeout "$(left 300)" nc "$GUEST_IP" 5002 < /tmp/net-h2g.bin ||
		die "L1->guest stream did not finish (L1 nc failed or timed out after $(($(date +%s) - t0)) s)"
	gcmd "i=0; while [ \$(wc -c < /tmp/h2g) -lt $bytes ] && [ \$i -lt 60 ]; do sleep 1; i=\$((i+1)); done; wc -c < /tmp/h2g; md5sum < /tmp/h2g" "$(left 120)"
	gsum=$(gmd5)
	echo "L1->guest: $bytes bytes in $(($(date +%s) - t0)) s, L1 md5 $hsum, guest md5 $gsum"
	if [ -z "$gsum" ] || [ "$gsum" != "$hsum" ]; then
		fail "L1->guest stream corrupted or cut (guest has $(gout | head -n1) bytes)"
	fi
	rm -f /tmp/net-h2g.bin
}
