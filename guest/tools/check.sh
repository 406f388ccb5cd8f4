#!/bin/sh
# Host smoke test of xkbench: usage errors exit 1; without /dev/xen/* the
# Xen subcommands fail with exit 2 and say why; cpuid and timer (no Xen
# device needed) print well-formed BENCH lines.
x=${1:-../../build/guest-tools/xkbench}
fails=0
. "$(dirname "$0")/check-lib.sh"
bench_ok() { # bench_ok DESCRIPTION CMD...
	what=$1
	shift
	out=$("$@" 2>/dev/null)
	if [ $? = 0 ] && [ -n "$out" ] &&
	   ! echo "$out" | grep -vqE '^BENCH [a-z0-9_]+ [0-9.]+ [a-z/]+ runs=[0-9]+ spread=[0-9.]+%$'; then
		echo "ok - $what"
	else
		echo "not ok - $what: $out"
		fails=$((fails + 1))
	fi
}
t 1 "no arguments" "$x"
t 1 "unknown subcommand" "$x" frobnicate 10
t 1 "bad count" "$x" hcall -5
if [ ! -e /dev/xen/privcmd ]; then
	t 2 "hcall without /dev/xen/privcmd" "$x" hcall 10
	"$x" hcall 10 2>&1 | grep -q '/dev/xen/privcmd' &&
		echo "ok - says which device is missing" ||
		{ echo "not ok - no device named"; fails=$((fails + 1)); }
fi
[ -e /dev/xen/evtchn ] || t 2 "pingpong without /dev/xen/evtchn" "$x" evtchn-pingpong 10
bench_ok "cpuid prints BENCH lines" "$x" cpuid 1000
bench_ok "timer prints BENCH lines" "$x" timer 20
[ "$fails" = 0 ]
