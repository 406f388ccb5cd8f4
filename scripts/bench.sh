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
		# Other testbeds on this machine slow everything down: say so.
		echo "bench: L1 $k ($(date +%T)); other QEMUs running: $(ps -eo comm | grep -c '^qemu-system'), load $(cut -d' ' -f1-3 /proc/loadavg)" |
			tee "build/bench/context-$k.txt" >&2
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

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
awk -v commit="$commit" -v date="$(date -u +%FT%TZ)" -v json=build/bench/results.json '
function cell(k, b, f,    v) {
	if (!((k, b, f) in val))
		return "-"
	v = val[k, b, f]
	return sprintf(v >= 100 || unit[k, f] == "rounds" ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v) \
		sprintf(" ±%s%% n=%s", spr[k, b, f], n[k, b, f]) \
		(boots[k, b, f] > 1 ? "x" boots[k, b, f] : "")
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
function sort_num(a, m,    i, j, t) {
	for (i = 2; i <= m; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
}
# One line per boot: k b f value unit runs=N spread=X%
{
	k = $1; b = $2; f = $3
	if (!((k, b, f) in nb_)) {
		if (!(k in seenk)) { seenk[k] = 1; ks[++nk] = k }
		if (!((k, f) in seenf)) { seenf[k, f] = 1; fs[k, ++nf[k]] = f }
		if (!(b in seenb)) { seenb[b] = 1; bs[++nb] = b }
	}
	i = ++nb_[k, b, f]
	v_[k, b, f, i] = $4 + 0; unit[k, f] = $5
	r = $6; sub(/^runs=/, "", r); runs_[k, b, f] += r
	sp = $7; sub(/^spread=/, "", sp); sub(/%$/, "", sp); sp_[k, b, f, i] = sp + 0
	rows[++nr] = $0
}
# Several boots of one backend: the median of their values; the spread is
# the larger of the spreads of the boots and the range between boots. Lost
# rounds are summed.
function aggregate(    key, m, i, a, lo, hi, sp, ks2, parts) {
	for (key in nb_) {
		m = nb_[key]
		delete a
		sp = 0
		for (i = 1; i <= m; i++) {
			a[i] = v_[key, i]
			if (sp_[key, i] > sp) sp = sp_[key, i]
		}
		sort_num(a, m)
		val[key] = m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
		split(key, ks2, SUBSEP)
		if (ks2[3] ~ /_lost$/) {	# lost rounds add up over boots
			val[key] = 0
			for (i = 1; i <= m; i++) val[key] += a[i]
			spr[key] = "0"; n[key] = runs_[key]; boots[key] = m
			continue
		}
		if (m > 1 && val[key] > 0 && (a[m] - a[1]) / val[key] * 100 > sp)
			sp = (a[m] - a[1]) / val[key] * 100
		spr[key] = sprintf("%.0f", sp)
		n[key] = runs_[key]
		boots[key] = m
	}
}
END {
	aggregate()
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
	print "cells: value ±spread n=runs (xB: median of B boots); ratios: time over the reference, same L1 run; - not measured"
	# results.json
	printf "{\n  \"commit\": \"%s\",\n  \"date\": \"%s\",\n  \"figures\": [\n", commit, date > json
	sep = ""
	for (ki = 1; ki <= nk; ki++)
		for (fi = 1; fi <= nf[ks[ki]]; fi++)
			for (c = 1; c <= nc; c++) {
				k = ks[ki]; f = fs[k, fi]; b = cols[c]
				if (!((k, b, f) in val)) continue
				printf "%s    {\"kernel\": \"%s\", \"backend\": \"%s\", \"figure\": \"%s\", \"value\": %s, \"unit\": \"%s\", \"runs\": %s, \"boots\": %s, \"spread_pct\": %s}", \
					sep, k, b, f, val[k, b, f], unit[k, f], n[k, b, f], boots[k, b, f], spr[k, b, f] >> json
				sep = ",\n"
			}
	printf "\n"  >> json
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
