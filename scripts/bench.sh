#!/bin/bash
# make bench: performance figures, measured side by side in one run inside
# the testbed and printed as ratios (never pass/fail).
#
#   scripts/bench.sh [--no-run]       KERNELS="6.1 6.12" by default
#
# For each host kernel it boots the testbed once with the bench suite
# (tests/bench/): KVM floors (xkfloor), then a Xen HVM guest per backend
# that L1 offers, each running xkbench (guest/tools/). Every test prints
#
#   BENCH <backend> <figure> <value> <unit> runs=<n> spread=<x>%
#
# This script prints ONE table (each figure per backend, per host kernel)
# with ratios taken inside one L1 run only: against KVM's built-in Xen
# support (kvm, on 6.12) and against the VMM path (module-vmm-path: the
# module with its fast paths off). A ratio is the backend's time over the
# reference's (< 1: faster). It writes build/bench/results.txt (raw lines)
# and build/bench/results.json. --no-run re-reads the last logs.
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
		echo "bench: L1 $k ($(date +%T))" >&2
		# 9 minutes per kernel keeps 'make bench' under 20 minutes.
		nice scripts/testbed.sh --kernel "$k" --suite bench --timeout 540 \
			--test-timeout 300 --log "$log" > /dev/null 2>&1
		echo "bench: L1 $k: testbed exit $? after $(( $(date +%s) - start )) s" >&2
	fi
	if [ ! -f "$log" ]; then
		echo "bench: no log for L1 $k" >&2
		continue
	fi
	# What could not be measured, and why: skips and failures.
	grep -E '^# (SKIP|FAIL|bench: |xkfloor: |  xkbench: |  XKBENCH: (exit|run|kernel))' "$log" |
		sed "s/^# */  [$k] /" >&2
	grep -E '^(not )?ok [0-9]+ ' "$log" | sed "s/^/  [$k] /" >&2
	sed -n "s/^# BENCH /$k /p" "$log"
done > build/bench/results.txt

if [ ! -s build/bench/results.txt ]; then
	echo "bench: no figures were measured (see build/bench/testbed-*.log)" >&2
	exit 1
fi

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
awk -v commit="$commit" -v date="$(date -u +%FT%TZ)" -v json=build/bench/results.json '
function cell(k, b, f,    v) {
	if (!((k, b, f) in val))
		return "-"
	v = val[k, b, f]
	return sprintf(v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v) \
		sprintf(" ±%s n=%s", spr[k, b, f], n[k, b, f])
}
# time ratio of backend b over reference r; rates (unit */s) inverted
function ratio(k, b, r, f,    x) {
	if (!((k, b, f) in val) || !((k, r, f) in val) || val[k, r, f] == 0 || val[k, b, f] == 0)
		return ""
	x = val[k, b, f] / val[k, r, f]
	if (unit[k, f] ~ /\/s$/)
		x = 1 / x
	return sprintf("%.2f", x)
}
{
	k = $1; b = $2; f = $3
	if (!((k, b, f) in val)) {
		if (!(k in seenk)) { seenk[k] = 1; ks[++nk] = k }
		if (!((k, f) in seenf)) { seenf[k, f] = 1; fs[k, ++nf[k]] = f }
		if (!(b in seenb)) { seenb[b] = 1; bs[++nb] = b }
	}
	val[k, b, f] = $4; unit[k, f] = $5
	sub(/^runs=/, "", $6); n[k, b, f] = $6
	sub(/^spread=/, "", $7); spr[k, b, f] = $7
	rows[++nr] = $0
}
END {
	# Column order: floors first, then the backends as they appeared.
	order["floor"] = 1; order["module"] = 2; order["module-vmm-path"] = 3
	order["kvm"] = 4; order["userspace"] = 5
	nc = 0
	for (o = 1; o <= 5; o++)
		for (i = 1; i <= nb; i++)
			if (order[bs[i]] == o) cols[++nc] = bs[i]
	for (i = 1; i <= nb; i++)
		if (!(bs[i] in order)) cols[++nc] = bs[i]
	w = 26
	printf "%-5s %-30s %-7s", "L1", "figure", "unit"
	for (c = 1; c <= nc; c++) printf " %-*s", w, cols[c]
	printf " %-10s %-10s\n", "module/kvm", "module/vmm"
	for (ki = 1; ki <= nk; ki++) {
		k = ks[ki]
		for (fi = 1; fi <= nf[k]; fi++) {
			f = fs[k, fi]
			printf "%-5s %-30s %-7s", k, f, unit[k, f]
			for (c = 1; c <= nc; c++) printf " %-*s", w, cell(k, cols[c], f)
			r1 = ratio(k, "module", "kvm", f); r2 = ratio(k, "module", "module-vmm-path", f)
			printf " %-10s %-10s\n", r1 == "" ? "-" : r1, r2 == "" ? "-" : r2
		}
	}
	print "cells: median (or the named percentile) ±spread n=runs; ratios: time over the reference, same L1 run; - not measured"
	# results.json
	printf "{\n  \"commit\": \"%s\",\n  \"date\": \"%s\",\n  \"figures\": [\n", commit, date > json
	for (i = 1; i <= nr; i++) {
		split(rows[i], a, " ")
		sub(/^runs=/, "", a[6]); sub(/^spread=/, "", a[7]); sub(/%$/, "", a[7])
		printf "    {\"kernel\": \"%s\", \"backend\": \"%s\", \"figure\": \"%s\", \"value\": %s, \"unit\": \"%s\", \"runs\": %s, \"spread_pct\": %s}%s\n", \
			a[1], a[2], a[3], a[4], a[5], a[6], a[7], i < nr ? "," : "" >> json
	}
	printf "  ],\n  \"ratios\": [\n" >> json
	sep = ""
	for (ki = 1; ki <= nk; ki++) {
		k = ks[ki]
		for (fi = 1; fi <= nf[k]; fi++) {
			f = fs[k, fi]
			split("kvm module-vmm-path", refs, " ")
			for (ri = 1; ri <= 2; ri++) {
				r = ratio(k, "module", refs[ri], f)
				if (r == "") continue
				printf "%s    {\"kernel\": \"%s\", \"figure\": \"%s\", \"backend\": \"module\", \"reference\": \"%s\", \"time_ratio\": %s}", \
					sep, k, f, refs[ri], r >> json
				sep = ",\n"
			}
		}
	}
	printf "%s  ]\n}\n", sep == "" ? "" : "\n" >> json
}' build/bench/results.txt
echo "bench: $(wc -l < build/bench/results.txt) figures; build/bench/results.txt, build/bench/results.json ($(( $(date +%s) - start )) s)" >&2
