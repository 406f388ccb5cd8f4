#!/bin/bash
# make check: every test xenkvm has, ending with one line
#   N passed, N failed, N skipped
# and a non-zero status if anything failed.
#
# 1. Host tests: the VMM's unit tests under ASan and UBSan, then the
#    module's build (no warnings at W=1 against each testbed kernel's
#    headers) and checkpatch --strict.
# 2. The testbed (scripts/testbed.sh) on both host kernels, 6.1 and 6.12,
#    running every suite: module, selftests, then tests/suites/* in order.
#
# SUITES=a,b and KERNELS="6.1" narrow a run while developing.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
cache=${XENKVM_CACHE:-/var/cache/xenkvm}
out=$top/build/check
mkdir -p "$out"

passed=0
failed=0
skipped=0
failures=()
flaky=()

count_ktap() {
	local file=$1 label=$2 p f s
	p=$(grep -E '^ok [0-9]+ ' "$file" | grep -vcE '# (SKIP|FLAKY)')
	s=$(grep -cE '^ok [0-9]+ .*# SKIP' "$file")
	f=$(grep -cE '^not ok [0-9]+ ' "$file")
	passed=$((passed + p))
	skipped=$((skipped + s))
	failed=$((failed + f))
	while read -r line; do
		failures+=("$label: $line")
	done < <(grep -E '^not ok [0-9]+ ' "$file")
	while read -r line; do
		flaky+=("$label: $line")
	done < <(grep -E '^ok [0-9]+ .*# FLAKY' "$file")
}

host_test() {
	local name=$1
	shift
	if "$@" > "$out/$name.log" 2>&1; then
		echo "ok - host:$name"
		passed=$((passed + 1))
	else
		echo "not ok - host:$name"
		sed 's/^/# /' "$out/$name.log" | tail -n 40
		failed=$((failed + 1))
		failures+=("host:$name")
	fi
}

# --- 1. host --------------------------------------------------------------

echo "== host unit tests (ASan, UBSan)"
make -s -C vmm test > "$out/unit.log" 2>&1
unit_rc=$?
cat "$out/unit.log"
count_ktap "$out/unit.log" unit
if [ $unit_rc != 0 ] && ! grep -qE '^not ok ' "$out/unit.log"; then
	echo "not ok - host:unit-tests (build or runner failed, status $unit_rc)"
	failed=$((failed + 1))
	failures+=("host:unit-tests")
fi

kmod_w1_clean() {
	local headers=$1 src=$out/kmod-w1/$(basename "$1")
	mkdir -p "$src"
	rsync -a --delete "$top/Kbuild" "$top/kmod" "$top/include" "$src/" || return 1
	make -C "$headers" M="$src" W=1 modules > "$src/build.log" 2>&1 || {
		cat "$src/build.log"; return 1; }
	if grep -E 'warning:|error:' "$src/build.log"; then
		return 1
	fi
}

checkpatch_clean() {
	local cp files
	cp=$(ls /usr/src/linux-source-6.1/scripts/checkpatch.pl 2>/dev/null)
	[ -n "$cp" ] || { echo "checkpatch.pl missing: run make deps"; return 1; }
	# Tracked sources only: a build leaves kbuild's xenkvm.mod.c in kmod/.
	files=$(git ls-files 'kmod/*.[ch]' 'include/uapi/linux/*.h')
	perl "$cp" --no-tree --strict --terse --show-types -f $files |
		grep -E 'ERROR|WARNING|CHECK' && return 1
	return 0
}

echo "== host build and style checks"
if [ -f "$cache/kernels" ]; then
	for abi in $(cat "$cache/kernels"); do
		host_test "kmod-W1-$abi" kmod_w1_clean "/usr/src/linux-headers-$abi"
	done
else
	host_test "testbed-kernels-installed" false
fi
host_test checkpatch-strict checkpatch_clean

# --- 2. testbed -----------------------------------------------------------

default_suites() {
	local s
	echo -n "module,selftests"
	for s in tests/suites/*/; do
		s=$(basename "$s")
		[ "$s" = module ] && continue
		ls "tests/suites/$s"/* > /dev/null 2>&1 || continue
		echo -n ",$s"
	done
}

# A CI log is often all there is of a failure, and it may show only a
# window around the failures. One pass over the console log, in one of two
# modes: "brief", the results, each failure followed by at most four of
# the lines that say why; "full", each failing test's own "# " lines since
# the previous result, at most 100.
report_results() {
	awk -v mode="$2" 'function why(s) { print "#   " substr(s, 3, 200); k++ }
	/^(not )?ok [0-9]+ /{
		if (mode == "brief") {
			print
			k = 0
			for (i = 0; ($1 == "not" || / # FLAKY/) && i < n && k < 4; i++) {
				if (buf[i] ~ /Test Assertion Failure/) {
					# A selftest assertion: where, its message
					# (after the stack lines) and errno.
					for (j = i + 3; j < n && buf[j] ~ /^# +[0-9]+\t|stack trace|addr2line|^# *$/; j++)
						;
					why(buf[i + 1])
					if (j < n)
						why(buf[j])
					why(buf[i + 2])
					i = j
				} else if (buf[i] ~ /FAIL|[Aa]ssert|not ok|triple|shutdown exit|stuck|panic|BUG|[Tt]imed? ?out|[Ee]rror/) {
					why(buf[i])
				}
			}
		} else if ($1 == "not") {
			print "# --- evidence for: " $0
			for (i = n > 100 ? n - 100 : 0; i < n; i++)
				print buf[i]
		}
		n = 0; next
	}
	/^XENKVM-TESTBED-DONE/{ if (mode == "brief") print }
	/^# /{ buf[n++] = $0 }' "$1"
}

# Why an L1 did not finish, in one line for the summary (a CI report may
# show nothing else): the test it was running and its kernel's first oops
# line, as testbed.sh's report names them.
unfinished_why() {
	local running oops
	running=$(sed -n 's/^#   L1 was running //p' "$1" | tail -n1)
	oops=$(sed -n 's/^#   L1 oopsed: //p' "$1" | tail -n1)
	echo " (in ${running:-?}: ${oops:-no oops: a hang or the VM timeout})"
}

# The debug kernel's KASAN and lockdep make L1 several times slower, and
# it runs the robust suite at full length (a million hostile calls).
limits_for() {
	case $1 in
	debug) echo "--timeout 10800 --test-timeout 2400" ;;
	*) echo "" ;;
	esac
}

suites=${SUITES:-$(default_suites)}
for k in ${KERNELS:-6.1 6.12}; do
	echo "== testbed: L1 kernel $k, suites $suites"
	scripts/testbed.sh --kernel "$k" --suite "$suites" $(limits_for "$k") \
		--log "$out/testbed-$k.log" > "$out/testbed-$k.out" 2>&1
	rc=$?
	report_results "$out/testbed-$k.log" brief
	grep -E '^not ok - |^#   |^testbed' "$out/testbed-$k.out"
	report_results "$out/testbed-$k.log" full
	count_ktap "$out/testbed-$k.log" "testbed $k"
	if ! grep -q '^XENKVM-TESTBED-DONE' "$out/testbed-$k.log"; then
		echo "not ok - testbed-$k did not finish (see $out/testbed-$k.out)"
		grep -av "^xk-beat " "$out/testbed-$k.out" | tail -n 40 | sed 's/^/# /'
		failed=$((failed + 1))
		failures+=("testbed-$k:unfinished$(unfinished_why "$out/testbed-$k.out")")
	elif [ $rc != 0 ] && ! grep -qE '^not ok ' "$out/testbed-$k.log"; then
		echo "not ok - testbed-$k failed (status $rc)"
		grep -av "^xk-beat " "$out/testbed-$k.out" | tail -n 20 | sed 's/^/# /'
		failed=$((failed + 1))
		failures+=("testbed-$k")
	fi
done

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
if [ ${#flaky[@]} -gt 0 ]; then
	echo "flaky (failed once, passed when rerun; their first run is in the logs):"
	printf '  %s\n' "${flaky[@]}"
fi
echo "$passed passed, ${#flaky[@]} flaky, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
