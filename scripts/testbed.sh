#!/bin/bash
# The nested-KVM testbed.
#
#   scripts/testbed.sh --kernel 6.1|6.12|debug --suite NAME[,NAME...]
#                      [--timeout SECONDS] [--test-timeout SECONDS]
#                      [--smp N] [--tcg multi|single] [--cpu MODEL]
#                      [--no-build]
#                      [--log FILE] [--env NAME=VALUE]...
#   scripts/testbed.sh --kernel 6.1 --suite demo --interactive [--demo-backend B]
#
# This build host cannot load modules and its KVM cannot run Linux guests,
# so every kernel test runs in a QEMU TCG VM (L1): Debian's 6.1 kernel (no
# KVM_XEN: the module's main target) or bookworm-backports' 6.12 (KVM_XEN
# built in: the in-tree anchor), with kvm-amd on TCG's SVM+NPT. The L1
# initramfs holds busybox, KVM's modules, xenkvm.ko built for that kernel,
# the VMM, the selftests and the guest images:
#
#   /xenkvm/xenkvm.ko            /xenkvm/bin/xenkvm (static VMM)
#   /xenkvm/selftests/*          /xenkvm/tests/suites/NAME/*
#   /xenkvm/guest/vmlinuz-6.1    /xenkvm/guest/initrd-6.1.cpio
#   /xenkvm/guest/vmlinuz-6.12   /xenkvm/guest/initrd-6.12.cpio
#
# The suites run inside L1 (tests/testbed/run-suites) and report KTAP on the
# serial console, streamed here. The exit status is the suites'; the counts
# are written to build/testbed/<kernel>/counts ("passed failed skipped").
# Every layer has a timeout: the whole VM (--timeout, default 1500 s), and
# each test inside it (--test-timeout, default 600 s). An L1 that dies
# under a test is booted again to rerun that test and go on (see
# "One rerun, in plain sight" in Documentation/testbed.rst).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${XENKVM_CACHE:-/var/cache/xenkvm}
kernel=6.1
suites=module
vm_timeout=1500
test_timeout=600
smp=2
tcg=multi
# TCG's -cpu max (AMD SVM with NPT) without 5-level paging. With LA57, L1
# runs KVM with 5-level nested page tables under 5-level guests, a path of
# TCG's SVM that AMD hosts before Zen 4 never take; there L1 died with a
# guest's GS bases loaded and the plain-KVM churn probe hung, and without
# it the probe passed 15 of 15 (Documentation/testbed.rst).
cpu=max,la57=off
build=1
log=
interactive=0
demo_backend=auto
l1_env=()

usage() {
	sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift ;;
	--suite|--suites) suites=$2; shift ;;
	--timeout) vm_timeout=$2; shift ;;
	--test-timeout) test_timeout=$2; shift ;;
	--smp) smp=$2; shift ;;
	--tcg)
		case $2 in multi|single) tcg=$2 ;; *) echo "testbed: --tcg: multi or single" >&2; exit 2 ;; esac
		shift ;;
	--cpu) cpu=$2; shift ;;
	--no-build) build=0 ;;
	--log) log=$2; shift ;;
	--interactive) interactive=1 ;;
	--demo-backend) demo_backend=$2; shift ;;
	--env)
		[[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*=[A-Za-z0-9_.,:/+=-]*$ ]] ||
			{ echo "testbed: --env '$2': want NAME=VALUE (no spaces or quotes)" >&2; exit 2; }
		l1_env+=("$2"); shift ;;
	-h|--help) usage ;;
	*) echo "testbed: unknown option '$1'" >&2; usage ;;
	esac
	shift
done

die() { echo "testbed: $*" >&2; exit 1; }

[ -f "$cache/kernels" ] || die "no testbed kernels in $cache: run 'make deps' first"
abi_of() {
	case $1 in
	6.1) sed -n 1p "$cache/kernels" ;;
	6.12) sed -n 2p "$cache/kernels" ;;
	*) die "unknown kernel '$1' (6.1 or 6.12)" ;;
	esac
}
if [ "$kernel" = debug ]; then
	# scripts/debug-kernel.sh: KASAN, lockdep, kmemleak; its build tree is
	# the module's KDIR.
	kroot=$cache/kernel/debug
	[ -f "$kroot/.done" ] || die "no debug kernel: run scripts/debug-kernel.sh"
	abi=$(cat "$kroot/release")
	vmlinuz=$kroot/boot/vmlinuz-debug
	headers=$kroot/build
else
	abi=$(abi_of "$kernel")
	kroot=$cache/kernel/$abi
	vmlinuz=$kroot/boot/vmlinuz-$abi
	headers=/usr/src/linux-headers-$abi
fi
[ -f "$vmlinuz" ] || die "kernel $abi is not unpacked: run 'make deps'"
[ -d "$headers" ] || die "no headers for $abi: run 'make deps'"

out=$top/build/testbed/$kernel
mkdir -p "$out"

# Modules are unpacked from the image .deb and may be xz-compressed.
find_module() {
	find "$1/lib/modules" -name "$2.ko" -o -name "$2.ko.xz" -o -name "$2.ko.zst" |
		head -n1
}

# Print NAME's dependencies, then NAME: an insmod order.
module_order() {
	local root=$1 name=$2 file dep
	file=$(find_module "$root" "$name")
	[ -n "$file" ] || die "module $name not found in $root"
	for dep in $(modinfo -F depends "$file" | tr ',' ' '); do
		module_order "$root" "$dep"
	done
	echo "$name"
}

copy_modules() {
	local root=$1 dest=$2 m file
	shift 2
	mkdir -p "$dest"
	for m in "$@"; do
		module_order "$root" "$m"
	done | awk '!seen[$0]++' > "$dest/order"
	while read -r m; do
		file=$(find_module "$root" "$m")
		case $file in
		*.xz) xz -dc "$file" > "$dest/$m.ko" ;;
		*.zst) zstd -qdc "$file" > "$dest/$m.ko" ;;
		*) cp "$file" "$dest/$m.ko" ;;
		esac
	done < "$dest/order"
}

build_module() {
	local src=$out/kmod-src
	# A fresh copy of the sources only: objects of an in-place build for
	# another kernel (kmod/*.o, xenkvm.mod*, .*.cmd) would otherwise be
	# taken as up to date and linked against this kernel's symbols.
	rm -rf "$src" && mkdir -p "$src"
	rsync -a --exclude '*.o' --exclude '*.ko' --exclude '.*' \
		--exclude '*.mod' --exclude '*.mod.c' --exclude 'modules.order' \
		--exclude 'Module.symvers' \
		"$top/Kbuild" "$top/kmod" "$top/include" "$src/"
	make -s -C "$headers" M="$src" W=1 modules >&2
	cp "$src/kmod/xenkvm.ko" "$out/xenkvm.ko"
}

build_userspace() {
	if [ -f "$top/vmm/main.c" ]; then
		make -s -C "$top/vmm" STATIC=-static O="$top/build/vmm-static" >&2
	fi
	if [ -f "$top/selftests/Makefile" ]; then
		make -s -C "$top/selftests" >&2
	fi
	# xkbench and the bench guest's init (build/guest-tools/ -> guest /bin);
	# the bench suite's L1 programs (build/bench/l1/ -> /xenkvm/bench/).
	if [ -f "$top/guest/tools/Makefile" ]; then
		make -s -C "$top/guest/tools" >&2 ||
			echo "testbed: guest tools not built (xkbench missing)" >&2
	fi
	if [ -f "$top/tests/bench/Makefile" ]; then
		make -s -C "$top/tests/bench" >&2 ||
			echo "testbed: bench programs not built" >&2
	fi
}

# A guest initramfs: busybox, the guest kernel's Xen front ends, guest/init.
build_guest_initrd() {
	local gk=$1 gabi groot dest
	gabi=$(abi_of "$gk")
	groot=$cache/kernel/$gabi
	dest=$top/build/testbed/guest-$gk
	rm -rf "$dest" && mkdir -p "$dest"/{bin,proc,sys,dev,tmp,etc}
	cp /bin/busybox "$dest/bin/busybox"
	copy_modules "$groot" "$dest/modules" xen-blkfront xen-netfront \
		xen-evtchn xen-privcmd xen-gntdev xen-gntalloc xenfs
	if [ -x "$top/guest/init" ]; then
		cp "$top/guest/init" "$dest/init"
	else
		cp "$top/tests/testbed/guest-init" "$dest/init"
	fi
	if [ -d "$top/build/guest-tools" ]; then
		cp -r "$top/build/guest-tools/." "$dest/bin/"
	fi
	(cd "$dest" && find . | cpio -o -H newc --quiet) > "$top/build/testbed/initrd-$gk.cpio"
	cp "$groot/boot/vmlinuz-$gabi" "$top/build/testbed/vmlinuz-$gk"
}

build_l1_initrd() {
	local root=$out/root
	rm -rf "$root" && mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,run,xenkvm/bin,xenkvm/guest,xenkvm/tests}
	cp /bin/busybox "$root/bin/busybox"
	copy_modules "$kroot" "$root/modules" kvm-amd
	# Optional, loaded by the suites that want them (robust: zram swap).
	copy_modules "$kroot" "$root/modules/optional" zram 2>/dev/null ||
		echo "testbed: no zram module for $abi" >&2
	# /dev/cpu/N/msr for the hostile test's stuck-vCPU report (init
	# loads it; the debug kernel has it built in).
	copy_modules "$kroot" "$root/modules/diag" msr 2>/dev/null || true
	# The net suite's taps (tests/suites/net/lib.sh loads it).
	copy_modules "$kroot" "$root/modules/net" tun 2>/dev/null ||
		echo "testbed: no tun module for $abi" >&2
	cp "$top/tests/testbed/init" "$root/init"
	# --env: variables every test in L1 sees (bench sizes, forced runs).
	: > "$root/xenkvm/env"
	[ ${#l1_env[@]} = 0 ] || printf 'export %s\n' "${l1_env[@]}" > "$root/xenkvm/env"
	cp "$out/xenkvm.ko" "$root/xenkvm/xenkvm.ko"
	[ -x "$top/build/vmm-static/xenkvm" ] &&
		cp "$top/build/vmm-static/xenkvm" "$root/xenkvm/bin/xenkvm"
	# The host side's xenstore client (the xenbus suite; --socket).
	if [ -x "$top/build/guest-tools/xsctl" ]; then
		cp "$top/build/guest-tools/xsctl" "$root/xenkvm/bin/xsctl"
	fi
	if [ -d "$top/build/selftests" ]; then
		mkdir -p "$root/xenkvm/selftests"
		find "$top/build/selftests" -maxdepth 1 -type f -perm -u+x \
			-exec cp {} "$root/xenkvm/selftests/" \;
	fi
	cp -r "$top/tests/suites" "$top/tests/testbed" "$root/xenkvm/tests/"
	if [ -d "$top/tests/bench" ]; then	# the bench suite (make bench)
		mkdir -p "$root/xenkvm/tests/suites/bench" "$root/xenkvm/bench"
		find "$top/tests/bench" -maxdepth 1 -type f -perm -u+x \
			-exec cp {} "$root/xenkvm/tests/suites/bench/" \;
		cp "$top/tests/bench/lib.sh" "$root/xenkvm/tests/suites/bench/"
		cp "$top"/build/bench/l1/* "$root/xenkvm/bench/" 2>/dev/null || true
	fi
	cp "$top"/build/testbed/vmlinuz-* "$top"/build/testbed/initrd-*.cpio \
		"$root/xenkvm/guest/"
	(cd "$root" && find . | cpio -o -H newc --quiet) > "$out/initrd.cpio"
}

if [ "$build" = 1 ]; then
	echo "testbed: building for L1 $abi" >&2
	build_module
	build_userspace
	build_guest_initrd 6.1
	build_guest_initrd 6.12
fi
build_l1_initrd

# XK_QEMU: another outer QEMU, e.g. scripts/testbed-qemu.sh's build with
# fixes to its SVM world switch ("The testbed's QEMU", testbed.rst).
qemu=${XK_QEMU:-$(command -v qemu-system-x86_64)} ||
	die "qemu-system-x86_64 missing: run 'make deps'"
[ -x "$qemu" ] || die "XK_QEMU=$qemu: not an executable"
[ -n "$log" ] || log=$out/console.log
echo "testbed: booting L1 $abi (suites: $suites; VM timeout ${vm_timeout}s)" >&2
[ -z "${XK_QEMU:-}" ] || echo "testbed: outer QEMU $qemu" >&2

# hung_task_panic: an L1 whose emulated CPU stops waking (a task stuck in
# D state, waiting on work queued to that CPU) panics after two minutes
# instead of idling out the VM timeout, and is then resumed like any L1
# that dies (see may_resume).
append="console=ttyS0 quiet panic=-1 oops=panic hung_task_panic=1 xk.suites=$suites xk.timeout=$test_timeout xk.backend=$demo_backend"
if [ "$interactive" = 1 ]; then
	# The user's terminal is the serial console; Ctrl-a x leaves QEMU.
	exec "$qemu" -accel "tcg,thread=$tcg,tb-size=512" -cpu "$cpu" -M pc -m 4096 \
		-smp "$smp" -display none -vga none -nic none -no-reboot \
		-serial mon:stdio -kernel "$vmlinuz" \
		-initrd "$out/initrd.cpio" -append "$append"
fi

# An L1 still running near the VM timeout is wedged (its per-test
# timeouts ended long before): have it say where before it is killed.
# Through QEMU's monitor, on two FIFOs: SysRq (L1's init enables it) at
# console log level 8 for the blocked tasks (w) and every CPU's backtrace
# (l), on the console; then each vCPU's registers, for a CPU that can no
# longer print, into $out/l1-state.
monitor=$out/monitor
l1_state=$out/l1-state
dump_l1_state() {
	local key
	sleep "$1"
	for key in alt-sysrq-8 alt-sysrq-w alt-sysrq-l; do
		echo "sendkey $key" > "$monitor.in"
		sleep 5
	done
	echo "info registers -a" > "$monitor.in"
	sleep 3
	timeout 2 cat "$monitor.out" |
		grep -aE '^CPU#|^RIP=|^RAX=|^RSI=|^CR0=' > "$l1_state"
}

rm -f "$monitor.in" "$monitor.out" "$l1_state"
mkfifo "$monitor.in" "$monitor.out"
dump_at=$((vm_timeout > 120 ? vm_timeout - 60 : vm_timeout / 2))
dump_l1_state "$dump_at" 2>/dev/null &
dumper=$!
# Also the EXIT trap, under set -e: nothing here may fail the script.
stop_dumper() {
	pkill -P "$dumper" 2>/dev/null || true	# its sleep first, or it outlives us
	kill "$dumper" 2>/dev/null || true
	wait "$dumper" 2>/dev/null || true
}
trap stop_dumper EXIT

# Boot L1 for at most @2 seconds with @1 added to its command line,
# appending its console to the log; returns QEMU's status (124: timeout).
# The console goes through tr line-buffered, so the log can be followed
# while the VM runs.
boot_l1() {
	timeout -k 10 "$2" "$qemu" \
		-accel "tcg,thread=$tcg,tb-size=512" -cpu "$cpu" -M pc -m 4096 \
		-smp "$smp" -display none -vga none -nic none -no-reboot \
		-monitor "pipe:$monitor" -serial stdio -kernel "$vmlinuz" \
		-initrd "$out/initrd.cpio" -append "$append $1" \
		< /dev/null 2>&1 | stdbuf -oL tr -d '\r' | tee -a "$log"
	return "${PIPESTATUS[0]}"
}

# An L1 whose CPUs stop waking (see "TCG threads" in
# Documentation/testbed.rst) may have no task in D state for
# hung_task_panic to see, and only the VM timeout would end the run. Each
# L1 CPU beats every 20 s (run-suites); a CPU that has beaten before and
# then misses a whole 150 s means a wedged L1: have it say what it can
# (the same SysRq dump as before the VM timeout), stop QEMU, and let the
# run go on in a fresh L1 as after a death ($out/wedged says why).
watch_heartbeats() {
	local c n quiet
	declare -A beats still
	while sleep 30; do
		# One pass over the log: each CPU's beats so far.
		while read -r n c; do
			if [ "$n" = "${beats[$c]:-}" ]; then
				still[$c]=$((${still[$c]:-0} + 1))
			else
				beats[$c]=$n
				still[$c]=0
			fi
			quiet=$((still[$c] * 30))
			[ "$quiet" -ge 150 ] || continue
			echo "L1 CPU $c has not beaten for $quiet s" > "$out/wedged"
			dump_l1_state 0
			pkill -f -- "^$qemu .*-monitor pipe:$monitor"
			return 0
		done < <(grep -ao '^xk-beat [0-9]*$' "$log" | cut -d' ' -f2 | sort | uniq -c)
	done
}

# The first line of an L1 oops or panic.
l1_oops='BUG:|Oops|general protection|stack guard|stack-protector|Kernel panic|WARNING:|double fault|blocked for more than'

# An L1 that dies mid-run (a panic, or QEMU gone) is booted again, at most
# twice a run and within the same VM timeout, to run the rest: first the
# test it died in, as that test's rerun (FLAKY if it passes, as for any
# rerun; see run-suites), then the tests after it. A test that takes a
# fresh L1 down too ends the run, as does the VM timeout. A task stuck in
# D state for two minutes panics L1 (hung_task_panic=1): a death too.
# XK_RERUN=0 turns this off with the reruns.
may_resume() {
	local e
	for e in "${l1_env[@]}"; do
		[ "$e" != XK_RERUN=0 ] || return 1
	done
}

# The console of the last L1 booted, without the suites' KTAP.
last_l1_console() {
	awk '/^# testbed: booting a fresh L1/ { n = 0; next } { line[n++] = $0 }
		END { for (i = 0; i < n; i++) print line[i] }' "$log" |
		grep -avE '^(# |ok |not ok |xk-beat )'
}

# The last L1's oops and panic lines, without their timestamps.
l1_oops_lines() {
	last_l1_console | grep -aE "$l1_oops" | sed 's/^\[ *[0-9.]*\] //'
}

# Seconds left of the VM timeout, which all of a run's L1 boots share.
remaining() {
	echo $((vm_timeout - ($(date +%s) - started)))
}

set +e
: > "$log"
started=$(date +%s)
resume_at=
resumes=0
while :; do
	rm -f "$out/wedged"
	watch_heartbeats 2>/dev/null &
	watcher=$!
	boot_l1 "${resume_at:+xk.resume=$resume_at}" "$(remaining)"
	qrc=$?
	pkill -P "$watcher" 2>/dev/null
	kill "$watcher" 2>/dev/null
	wait "$watcher" 2>/dev/null
	grep -q '^XENKVM-TESTBED-DONE' "$log" && break
	case $qrc in 124|137) break ;; esac	# the VM timeout: a hang
	[ $resumes -lt 2 ] && may_resume || break
	reported=$(grep -cE '^(not )?ok [0-9]+ ' "$log")
	[ $((reported + 1)) != "$resume_at" ] || break	# it died twice
	[ "$(remaining)" -gt 180 ] || break
	resume_at=$((reported + 1))
	resumes=$((resumes + 1))
	if [ -f "$out/wedged" ]; then
		why="wedged: $(cat "$out/wedged")"
	else
		why=$(l1_oops_lines | tail -n1)
	fi
	{
		echo "# $(sed -n 's/^# running //p' "$log" | tail -n1): L1 died while it ran: $why"
		echo "# testbed: booting a fresh L1 to go on from test $resume_at"
	} | tee -a "$log"
done
stop_dumper
set -e

# Count only L1's top-level KTAP lines (the suites' own output is "# "
# diagnostics).
skipped=$(grep -cE '^ok [0-9]+ .*# SKIP' "$log" || true)
passed=$(grep -E '^ok [0-9]+ ' "$log" | grep -vc '# SKIP' || true)
failed=$(grep -cE '^not ok [0-9]+ ' "$log" || true)
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | tail -n1)
done_line=$(grep -c '^XENKVM-TESTBED-DONE' "$log" || true)

if [ "$done_line" = 0 ]; then
	echo "not ok - testbed L1 $abi did not finish (qemu status $qrc: timeout, panic or hang)"
	# A CI log shows little around this line: say here which test was
	# running and what L1's kernel said last (an oops panics it:
	# oops=panic), before the full log.
	sed -n 's/^# running \(.*\)$/#   L1 was running \1/p' "$log" | tail -n1
	[ ! -f "$out/wedged" ] || echo "#   L1 wedged: $(cat "$out/wedged")"
	l1_oops_lines | head -n1 | sed 's/^/#   L1 oopsed: /'
	# L1's words before the SysRq dump: from its first oops line if it
	# has one (what broke, where, and the call trace's top), else its
	# last 20 lines; then the dump condensed: each blocked task and each
	# CPU with its first frames.
	last_l1_console | sed '/sysrq: Changing Loglevel/,$d' |
		awk -v re="$l1_oops" '
		{ last[NR % 20] = $0 }
		!first && $0 ~ re { first = NR }
		first && NR < first + 24 { print }
		first && NR >= first + 24 && /Kernel panic/ { print }
		END { if (!first) for (i = NR - 19; i <= NR; i++) if (i > 0) print last[i % 20] }' |
		sed 's/^/#   | /'
	sed -n '/sysrq: Changing Loglevel/,$p' "$log" | awk '
		/task:|NMI backtrace for cpu|RIP: 0010:/ { print; n = 6; next }
		n > 0 && /\] +[a-z_][a-z0-9_.]*\+0x/ && !/\] +\? / { print; n-- }' |
		head -n 60 | sed 's/^\[ *[0-9.]*\] */#   > /'
	if [ -s "$l1_state" ]; then
		echo "#   L1's vCPUs just before the VM timeout:"
		sed 's/^/#   | /' "$l1_state"
	fi
	failed=$((failed + 1))
elif [ -n "$planned" ] && [ $((passed + failed + skipped)) != "$planned" ]; then
	echo "not ok - testbed L1 $abi ran $((passed + failed + skipped)) of $planned tests"
	failed=$((failed + 1))
fi
echo "$passed $failed $skipped" > "$out/counts"
flaky=$(grep -cE '^ok [0-9]+ .*# FLAKY' "$log" || true)
echo "testbed $kernel: $passed passed ($flaky of them on a rerun), $failed failed, $skipped skipped" >&2
[ "$failed" = 0 ]
