# Sourced by the boot tests (busybox sh inside the testbed's L1).
#
# boot GUEST_KERNEL CPUS ACTION: boot /xenkvm/guest/vmlinuz-GUEST_KERNEL
# with its initramfs (guest/init) on this L1's backend; sets $rc to the
# VMM's exit status and $log to its output (serial console + messages).
XK=/xenkvm/bin/xenkvm
GUEST=/xenkvm/guest
failures=0

skip() { echo "SKIP: $*"; exit 4; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Which backend this L1 tests: the module on 6.1 (no KVM_XEN), KVM's own
# Xen support on 6.12.
l1_backend() {
	case $(uname -r) in
	6.1.*) echo module ;;
	6.12.*) echo kvm ;;
	*) echo auto ;;
	esac
}

need_backend() {
	[ -x "$XK" ] || { echo "FAIL: no VMM at $XK"; exit 1; }
	backend=$(l1_backend)
	if [ "$backend" = module ] && [ ! -c /dev/xenkvm ]; then
		insmod /xenkvm/xenkvm.ko || { echo "FAIL: cannot load xenkvm.ko"; exit 1; }
		[ -c /dev/xenkvm ] || { echo "FAIL: xenkvm.ko loaded but no /dev/xenkvm"; exit 1; }
	fi
}

boot() {
	log=/tmp/boot-$1-$2cpu-$3.log
	echo "boot: Linux $1, $2 vCPU(s), action $3, backend $backend"
	XENKVM_TRACE=${XENKVM_TRACE:-0} timeout ${BOOT_TIMEOUT:-300} "$XK" run --kernel "$GUEST/vmlinuz-$1" --initrd "$GUEST/initrd-$1.cpio" \
		--cpus "$2" --memory 512M --backend "$backend" \
		--cmdline "xenkvm.action=$3 ${BOOT_CMDLINE:-}" > "$log" 2>&1 < /dev/null
	rc=$?
	echo "boot: xenkvm exited with status $rc"
}

# The guest's own report (guest/init), without the kernel's console noise.
report() { sed -n '/^XENKVM-GUEST-BEGIN/,/^XENKVM-GUEST-END/p' "$log"; }

expect_rc() {
	[ "$rc" = "$1" ] || fail "xenkvm exited $rc, expected $1 ($2)"
}

# expect_report REGEX WHAT: the guest's report matches REGEX.
expect_report() {
	report | grep -qE "$1" || fail "guest report lacks $2 (/$1/)"
}

# Xen HVM guest basics every boot must show.
expect_xen_guest() {
	expect_report "Hypervisor detected: Xen HVM" "Xen HVM detection"
	expect_report "Xen version [0-9]+\.[0-9]+" "the Xen version"
	expect_report "Xen HVM callback vector for event delivery is enabled" \
		"the HVM callback vector"
	expect_report "XENKVM-GUEST: clocksource xen" "the xen clocksource"
	expect_report "xen-percpu +-virq +timer0" "the Xen timer VIRQ in /proc/interrupts"
	expect_report "xen-percpu +-ipi" "Xen IPIs in /proc/interrupts"
}

# The guest's clock ticks: its `sleep 1` returned and uptime moved on.
expect_timers() {
	expect_report "XENKVM-GUEST: slept 1s, uptime [0-9]" "a finished 'sleep 1' (Xen timer events)"
}

expect_cpus() {
	if [ "$1" = 1 ]; then
		expect_report "XENKVM-GUEST: cpus online 0 nproc 1" "1 CPU online"
	else
		expect_report "XENKVM-GUEST: cpus online 0-$(($1 - 1)) nproc $1" "$1 CPUs online"
	fi
}

finish() {
	# The evidence, also when everything passed: the guest's summary,
	# what it said about Xen, and what the VMM said.
	if [ -n "${log:-}" ]; then
		grep -E "^XENKVM-GUEST: |^xenkvm: |Xen version|callback vector|Switched to clocksource xen|smp: Brought up|xen-percpu" "$log" |
			grep -v "^xenkvm: vCPU" | head -n 40
	fi
	if [ "$failures" != 0 ]; then
		if [ -n "${log:-}" ]; then
			echo "--- $log"
			cat "$log"
		fi
		exit 1
	fi
	exit 0
}
