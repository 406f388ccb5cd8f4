# Sourced by the bench suite's tests (busybox sh inside the testbed's L1).
#
# bench_guest LABEL BACKEND [VAR=VALUE...]: boot Debian's 6.1 kernel as a
# Xen HVM guest with 2 vCPUs on BACKEND, its /init being xkbench-guest
# (guest/tools/), and print the guest's BENCH lines as
#
#   BENCH LABEL FIGURE VALUE UNIT runs=N spread=X%
#
# which scripts/bench.sh gathers into one table. VAR=VALUE pairs go into
# the VMM's environment. Timings never decide the exit status: a test
# fails only if the guest did not run its benchmarks, skips (exit 4) when
# this L1 cannot offer the backend.
XK=/xenkvm/bin/xenkvm
GUEST=/xenkvm/guest
GUEST_KERNEL=${GUEST_KERNEL:-6.1}
# Hypercalls per boot; the guest derives its other counts from it.
BENCH_N=${BENCH_N:-20000}

skip() { echo "SKIP: $*"; exit 4; }

# The block and network benches run where scripts/bench.sh asks for them
# (BENCH_IO=1, the default; bench.sh measures them on one L1 kernel only,
# to keep make bench under 20 minutes: they compare engines and offloads,
# which the host kernel does not change).
need_io_bench() {
	[ "${BENCH_IO:-1}" = 1 ] ||
		skip "block and network figures are measured on the other L1 kernel (BENCH_IO=0 here)"
}

need_vmm() {
	[ -x "$XK" ] || { echo "FAIL: no VMM at $XK"; exit 1; }
}

need_module() {
	if [ ! -c /dev/xenkvm ]; then
		insmod /xenkvm/xenkvm.ko || { echo "FAIL: cannot load xenkvm.ko"; exit 1; }
	fi
	[ -c /dev/xenkvm ] || { echo "FAIL: no /dev/xenkvm"; exit 1; }
}

# Does this L1's KVM have KVM_XEN? Only 6.12 in the testbed; ask the
# kernel's config rather than guessing from the version where we can.
have_kvm_xen() {
	case $(uname -r) in
	6.1.*) return 1 ;;
	*) return 0 ;;
	esac
}

# boot_once LOG CPUS BACKEND [VAR=VALUE...]
boot_once() {
	local log=$1 cpus=$2 backend=$3
	shift 3
	env "$@" timeout "${BENCH_TIMEOUT:-240}" "$XK" run \
		--kernel "$GUEST/vmlinuz-$GUEST_KERNEL" \
		--initrd "$GUEST/initrd-$GUEST_KERNEL.cpio" \
		--cpus "$cpus" --memory 512M --backend "$backend" \
		--cmdline "rdinit=/bin/xkbench-guest xkbench.n=$BENCH_N quiet" \
		> "$log" 2>&1 < /dev/null
}

bench_guest() {
	local label=$1 backend=$2 log=/tmp/bench-$1.log rc cpus=2 t0
	shift 2
	need_vmm
	t0=$(date +%s)
	echo "bench: $label: Linux $GUEST_KERNEL guest, $cpus vCPUs, backend $backend${*:+, env $*}"
	boot_once "$log" $cpus "$backend" "$@"
	rc=$?
	if ! grep -q '^XKBENCH-BEGIN' "$log" && [ "${BENCH_RETRY_1CPU:-1}" = 1 ]; then
		# Maybe only SMP is broken: say so, and measure what 1 vCPU can.
		echo "bench: $label: no benchmark output with 2 vCPUs (VMM exit $rc); last lines:"
		tail -n 15 "$log" | sed 's/^/  | /'
		cpus=1
		echo "bench: $label: retrying with 1 vCPU"
		boot_once "$log" 1 "$backend" "$@"
		rc=$?
	fi
	echo "bench: $label: VMM exit $rc after $(( $(date +%s) - t0 )) s, $cpus vCPU(s)"
	# The guest's own diagnostics (lost notifications, setup failures).
	grep -E '^(XKBENCH|xkbench):' "$log" | sed 's/^/  /'
	grep -E '^BENCH ' "$log" | sed "s/^BENCH /BENCH $label /"
	if ! grep -q '^XKBENCH-END' "$log"; then
		echo "bench: $label: the guest did not finish its benchmarks; last lines:"
		tail -n 40 "$log" | sed 's/^/  | /'
		return 1
	fi
	return 0
}
