# Sourced by the guest tools' host smoke tests (make -C guest/tools check).
# t WANT_RC DESCRIPTION CMD...: run CMD, print a KTAP-ish ok/not ok line,
# count failures in $fails.
t() { # t WANT_RC DESCRIPTION CMD...
	want=$1 what=$2
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ]; then
		echo "ok - $what"
	else
		echo "not ok - $what (exit $rc, wanted $want): $out"
		fails=$((fails + 1))
	fi
}
