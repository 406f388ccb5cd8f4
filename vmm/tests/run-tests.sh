#!/bin/sh
# Run unit test binaries; each prints KTAP. Fail if any exits non-zero.
rc=0
for t in "$@"; do
	echo "# running $(basename "$t")"
	"$t" || rc=1
done
exit $rc
