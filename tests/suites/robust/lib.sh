# Helpers for the robust suite (sourced; not a test: not executable).
ST=/xenkvm/selftests

# Load xenkvm.ko for this test (the selftests suite unloads it at its end).
xk_load() {
	grep -q '^xenkvm ' /proc/modules || insmod /xenkvm/xenkvm.ko || return 1
	test -c /dev/xenkvm
}

xk_unload() {
	rmmod xenkvm && ! test -e /dev/xenkvm
}

# The debug kernel (scripts/debug-kernel.sh) has kmemleak; it gets the
# full-size runs.
is_debug_kernel() {
	test -e /sys/kernel/debug/kmemleak
}

# One quarter of the million-call hostile guest (a test's time limit is
# 600 s; a quarter takes about 90 s under TCG, more with KASAN). Only on
# the debug kernel, or with XK_FULL=1: the selftests suite already runs a
# bounded count on every kernel. The host-side page churn runs on top
# (--env XK_HOSTILE_CHURN=0 turns it off): without it these runs fail in
# this testbed too ("The second whole make check-debug",
# Documentation/testbed.rst), so it costs no pass and tests more.
hostile_quarter() {
	local seed=$1 T=$ST/xenkvm_hostile_test rc start
	if ! is_debug_kernel && [ -z "${XK_FULL:-}" ]; then
		echo "full-size hostile run: debug kernel only (make check-debug)"
		exit 4
	fi
	[ -x $T ] || { echo "no $T"; exit 4; }
	xk_load || exit 1
	start=$(date +%s)
	XK_HOSTILE_CALLS=250000 XK_HOSTILE_SEED=$seed \
		XK_HOSTILE_CHURN=${XK_HOSTILE_CHURN:-1} $T
	rc=$?
	echo "250000 hostile hypercalls (seed $seed) in $(( $(date +%s) - start )) s"
	xk_unload || rc=1
	exit $rc
}
