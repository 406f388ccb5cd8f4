#!/bin/sh
# Host smoke test of xknet over loopback: usage errors exit 2, a refused
# connection exits 1 and says so, and each client against a server prints
# one well-formed BENCH line (a rate, units ending in /s).
x=${1:-../../build/guest-tools/xknet}
port=$((20000 + $$ % 20000))
fails=0
. "$(dirname "$0")/check-lib.sh"
bench_ok() { # bench_ok FIGURE UNIT CMD...
	fig=$1 unit=$2
	shift 2
	out=$("$@" 2>&1)
	if echo "$out" | grep -qE "^BENCH $fig [0-9.]+ $unit runs=2 spread=[0-9]+%\$"; then
		echo "ok - $fig: $out"
	else
		echo "not ok - $fig: $out"
		fails=$((fails + 1))
	fi
}
t 2 "no arguments" "$x"
t 2 "unknown mode" "$x" bogus 127.0.0.1
t 2 "runs out of range" "$x" rr 127.0.0.1 -n 99
t 2 "option without value" "$x" rr 127.0.0.1 -t
t 1 "not an address" "$x" rr localhost -t 1
t 1 "refused connection" "$x" stream 127.0.0.1 -p 1 -t 1
t 0 "features of lo" "$x" features lo
t 1 "features of a missing interface" "$x" features xknet-none0
"$x" server -p "$port" &
server=$!
sleep 0.3
bench_ok tcp_stream MB/s "$x" stream 127.0.0.1 -p "$port" -t 1 -n 2
bench_ok rev_stream MB/s "$x" stream-rev 127.0.0.1 -p "$port" -t 1 -n 2 -f rev_stream
bench_ok tcp_rr trans/s "$x" rr 127.0.0.1 -p "$port" -t 1 -n 2
kill "$server"
echo "xknet-check: $fails failed"
[ "$fails" = 0 ]
