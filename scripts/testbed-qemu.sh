#!/bin/bash
# Build (once, cached) the testbed's outer QEMU: Debian's own
# bookworm-backports qemu-system-x86 source (with Debian's patches where
# the mirror serves them), plus tests/testbed/qemu/*.patch (our fixes to its SVM world switch, see
# "The testbed's QEMU" in Documentation/testbed.rst), configured for an
# x86_64 TCG system emulator and nothing else. Prints the binary's path.
#
# Usage: scripts/testbed-qemu.sh          build if needed, print the path
#        scripts/testbed-qemu.sh --path   print the path, fail if not built
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${XENKVM_CACHE:-/var/cache/xenkvm}
backports_list=/etc/apt/sources.list.d/xenkvm-backports.sources
patches=("$top"/tests/testbed/qemu/*.patch)

die() { echo "testbed-qemu: $*" >&2; exit 1; }

# The build is named by the Debian version it starts from and by our
# patches' content, so changing either builds afresh.
version=$(dpkg-query -W -f='${source:Version}' qemu-system-x86 2>/dev/null) ||
	die "qemu-system-x86 is not installed: run 'make deps'"
tag=$(cat "${patches[@]}" | sha256sum | cut -c1-12)
dir=$cache/qemu/${version#*:}-$tag
bin=$dir/bin/qemu-system-x86_64

if [ -f "$dir/.done" ]; then
	echo "$bin"
	exit 0
fi
[ "${1:-}" = --path ] && die "no patched QEMU in $dir: run $0 to build it"

# Debian's source, through a private apt configuration (deb-src of the
# URI deps.sh gave bookworm-backports), leaving the machine's own apt
# sources untouched.
uri=$(awk '$1 == "URIs:" { print $2; exit }' "$backports_list" 2>/dev/null) ||
	true
[ -n "$uri" ] || die "no $backports_list: run 'make deps'"
work=$cache/qemu/work
rm -rf "$work" && mkdir -p "$work/lists/partial" "$work/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bookworm-backports main" \
	> "$work/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$work/sources.list"
	     -o "Dir::Etc::SourceParts=-" -o "Dir::State::Lists=$work/lists"
	     -o "Dir::Cache::Archives=$work/archives" -o "APT::Sandbox::User=root")
echo "testbed-qemu: building QEMU $version with ${#patches[@]} patch(es) into $dir" >&2
# QEMU 10 wants meson >= 1.5 and pycotap: both in bookworm-backports.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	libglib2.0-dev dpkg-dev patch ninja-build >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	-t bookworm-backports meson python3-pycotap >/dev/null
apt-get -qq "${apt_private[@]}" update
# Some mirrors serve the upstream tarball but not Debian's .dsc and
# patches: then build the tarball as it is, and say so.
(cd "$work" && apt-get -qq "${apt_private[@]}" source --download-only "qemu=$version" 2>/dev/null) ||
	true
if ls "$work"/qemu_*.dsc >/dev/null 2>&1; then
	(cd "$work" && dpkg-source --no-check -x qemu_*.dsc src >/dev/null)
elif ls "$work"/qemu_*.orig.tar.* >/dev/null 2>&1; then
	echo "testbed-qemu: no Debian .dsc on this mirror: upstream source without Debian's patches" >&2
	mkdir "$work/src"
	tar -C "$work/src" --strip-components=1 -xf "$work"/qemu_*.orig.tar.*
else
	die "cannot download the source of qemu $version"
fi
for p in "${patches[@]}"; do
	patch -d "$work/src" -p1 --forward --quiet < "$p" ||
		die "$(basename "$p") does not apply to QEMU $version"
done

# The +ds source has no firmware: find Debian's (seabios, qemu's option
# ROMs), as the stock binary does.
mkdir -p "$work/build"
(cd "$work/build" &&
	../src/configure --python=/usr/bin/python3 --prefix="$dir" \
		--firmwarepath=/usr/share/qemu:/usr/share/seabios \
		--target-list=x86_64-softmmu --without-default-features \
		--enable-tcg --disable-docs --disable-werror --disable-download \
		--disable-install-blobs > configure.log 2>&1 ||
	{ tail -20 configure.log >&2; die "configure failed"; })
ninja -C "$work/build" -j"$(nproc)" qemu-system-x86_64 > "$work/build/ninja.log" 2>&1 ||
	{ tail -20 "$work/build/ninja.log" >&2; die "build failed"; }
mkdir -p "$dir/bin"
install -m 755 "$work/build/qemu-system-x86_64" "$bin"
rm -rf "$work"
touch "$dir/.done"
echo "$bin"
