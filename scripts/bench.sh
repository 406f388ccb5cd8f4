#!/bin/bash
# make bench: performance figures, measured side by side in one run inside
# the testbed and printed as ratios (never pass/fail). Each benchmark is an
# executable in tests/bench/ that prints "BENCH name value unit" lines; this
# script runs them on both host kernels and prints one table.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if ! ls tests/bench/* > /dev/null 2>&1; then
	echo "bench: no benchmarks exist yet (tests/bench/ is empty)." >&2
	exit 1
fi
mkdir -p build/bench
for k in ${KERNELS:-6.1 6.12}; do
	scripts/testbed.sh --kernel "$k" --suite bench \
		--log "build/bench/testbed-$k.log" > /dev/null 2>&1
	sed -n "s/^# BENCH /$k /p" "build/bench/testbed-$k.log"
done | tee build/bench/results.txt | column -t
