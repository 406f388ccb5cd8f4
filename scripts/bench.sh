#!/bin/bash
# make bench: performance figures, measured side by side in one run inside
# the testbed and printed as ratios (never pass/fail).
#
#   scripts/bench.sh [--no-run]       KERNELS="6.1 6.12" by default
#
# For each host kernel it boots the testbed once with the bench suite
# (tests/bench/): KVM floors and event delivery paths (xkfloor), then Xen
# HVM guests on each backend L1 offers running xkbench (guest/tools/), and
# the PV block and network benches. Every test prints
#
#   BENCH <label> <figure> <value> <unit> runs=<n> spread=<x>%
#
# scripts/bench-table.py prints one table per comparison (labels side by
# side: backends, delivery paths, block engines, offloads) with time
# ratios taken inside one L1 run only, and, when a previous run exists,
# that run's ratios and whether the two agree within the spread. Output:
# build/bench/results.txt (raw lines), build/bench/results.json, the table
# on stdout. --no-run re-reads the last logs.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
run=1
[ "${1:-}" = --no-run ] && run=0
if ! ls tests/bench/[0-9]* > /dev/null 2>&1; then
	echo "bench: no benchmarks exist yet (tests/bench/ is empty)." >&2
	exit 1
fi
mkdir -p build/bench
kernels=${KERNELS:-6.1 6.12}
start=$(date +%s)
for k in $kernels; do
	log=build/bench/testbed-$k.log
	if [ "$run" = 1 ]; then
		# Other testbeds on this machine slow everything down: say so.
		echo "bench: L1 $k ($(date +%T)); other QEMUs running: $(ps -eo comm | grep -c '^qemu-system'), load $(cut -d' ' -f1-3 /proc/loadavg)" |
			tee "build/bench/context-$k.txt" >&2
		# Budget: 20 minutes for both kernels. Two boots per backend,
		# alternating, so that the spread includes the difference
		# between boots (within one boot it understates what a second
		# run sees); the block and network benches, which compare
		# engines and offloads rather than kernels, on 6.1 only.
		io=0
		[ "$k" = "${BENCH_IO_KERNEL:-6.1}" ] && io=1
		nice scripts/testbed.sh --kernel "$k" --suite bench --timeout 660 \
			--test-timeout 300 --log "$log" \
			--env "BENCH_BOOTS=${BENCH_BOOTS:-2}" --env "BENCH_IO=$io" \
			> /dev/null 2>&1
		echo "bench: L1 $k: testbed exit $? after $(( $(date +%s) - start )) s" >&2
	fi
	if [ ! -f "$log" ]; then
		echo "bench: no log for L1 $k" >&2
		continue
	fi
	# What could not be measured, and why: skips and failures.
	grep -E '^# (SKIP|FAIL|not ok|bench: |xkfloor: |  xkbench: round|  xkbench: giving|  XKBENCH: exit [1-9])' "$log" |
		sed "s/^# */  [$k] /" >&2
	grep -E '^(not )?ok [0-9]+ ' "$log" | sed "s/^/  [$k] /" >&2
	[ -f "build/bench/context-$k.txt" ] && sed "s/^/  [$k] /" "build/bench/context-$k.txt" >&2
	sed -n "s/^# BENCH /$k /p" "$log"
done > build/bench/results.txt

if [ ! -s build/bench/results.txt ]; then
	echo "bench: no figures were measured (see build/bench/testbed-*.log)" >&2
	exit 1
fi

# The last run's ratios, for the agreement column.
prev=build/bench/previous.json
[ -f build/bench/results.json ] && [ "$run" = 1 ] && cp build/bench/results.json "$prev"
python3 scripts/bench-table.py build/bench/results.txt build/bench/results.json \
	$([ -f "$prev" ] && echo "$prev")
echo "bench: $(wc -l < build/bench/results.txt) figures; build/bench/results.txt, build/bench/results.json ($(( $(date +%s) - start )) s)" >&2
