#!/bin/bash
# Install everything the build, the tests and the demo need. Idempotent.
#
# bookworm-backports is added by reusing the URIs of the machine's own
# Debian sources, so no mirror host name is ever written into the repo.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# Outside the tree: "make clean" (kbuild, M=.) deletes every *.ko below it.
cache=${XENKVM_CACHE:-/var/cache/xenkvm}

backports_list=/etc/apt/sources.list.d/xenkvm-backports.sources

debian_uri() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		[ "$f" = "$backports_list" ] && continue
		# First stanza that carries the plain bookworm suite.
		awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm( |$|\n)/ {
			for (i = 1; i <= NF; i++) if ($i == "URIs:") { print $(i+1); exit }
		}' "$f"
	done | head -n1
	if [ -f /etc/apt/sources.list ]; then
		awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list
	fi
}

add_backports() {
	local uri
	[ -f "$backports_list" ] && return 0
	uri=$(debian_uri | head -n1)
	if [ -z "$uri" ]; then
		echo "deps: no Debian bookworm source found to derive backports from" >&2
		exit 1
	fi
	cat > "$backports_list" <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	echo "deps: added bookworm-backports from $uri"
}

# The kernel ABI name (e.g. 6.1.0-41-amd64) that the linux-image-amd64
# meta-package of a suite points at.
kernel_abi() {
	local suite=$1 ver
	ver=$(apt-cache madison linux-image-amd64 |
		awk -F'|' -v s="$suite" '$3 ~ s" ?/" || $3 ~ s"/" { gsub(/ /, "", $2); print $2; exit }')
	[ -n "$ver" ] || return 0
	apt-cache depends "linux-image-amd64=$ver" |
		sed -n 's/^ *Depends: linux-image-//p' | head -n1
}

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

add_backports
stamp=/var/lib/apt/periodic/xenkvm-update-stamp
if [ ! -f "$stamp" ] || [ -n "$(find "$backports_list" -newer "$stamp")" ] ||
   [ -n "$(find "$stamp" -mmin +720)" ]; then
	$SUDO apt-get update -qq
	$SUDO mkdir -p "$(dirname "$stamp")" && $SUDO touch "$stamp"
fi

abi61=$(kernel_abi "bookworm-security")
[ -n "$abi61" ] || abi61=$(kernel_abi "bookworm")
abi612=$(kernel_abi "bookworm-backports")
if [ -z "$abi61" ] || [ -z "$abi612" ]; then
	echo "deps: cannot find kernel ABIs (6.1='$abi61' 6.12='$abi612')" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq --no-install-recommends \
	build-essential rsync bc bison flex libelf-dev libssl-dev pkg-config cpio \
	kmod xz-utils zstd python3 perl \
	"linux-headers-$abi61" "linux-source-6.1" \
	liburing-dev libfdt-dev libxen-dev busybox-static >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports \
	"linux-headers-$abi612" qemu-system-x86 >/dev/null

# Kernel images are unpacked into the cache, not installed: they are the
# testbed's L1 host kernels and the L2 guest kernels, never the machine's.
mkdir -p "$cache/debs"
for abi in "$abi61" "$abi612"; do
	dir=$cache/kernel/$abi
	[ -f "$dir/.done" ] && continue
	(cd "$cache/debs" && apt-get download -qq "linux-image-$abi" 2>/dev/null ||
		apt-get download -qq "linux-image-$abi-unsigned")
	rm -rf "$dir" && mkdir -p "$dir"
	dpkg-deb -x "$cache"/debs/linux-image-"$abi"*_amd64.deb "$dir"
	depmod -b "$dir" "$abi"
	touch "$dir/.done"
done

src=$(ls -d /usr/src/linux-source-6.1* 2>/dev/null | grep -v '\.tar' | head -n1 || true)
if [ -z "$src" ]; then
	tarball=$(ls /usr/src/linux-source-6.1*.tar.xz | head -n1)
	tar -C /usr/src -xf "$tarball"
fi

printf '%s\n%s\n' "$abi61" "$abi612" > "$cache/kernels"
echo "deps: kernels $abi61 $abi612 ready in $cache/kernel"
