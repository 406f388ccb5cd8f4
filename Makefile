# SPDX-License-Identifier: GPL-2.0
#
# xenkvm: make [all|module|vmm|selftests|deps|check|bench|demo|clean]
#
# KDIR selects the kernel headers the module is built against: by default
# the running kernel's build directory, else the installed Debian 6.1
# headers.

KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
		    $(lastword $(sort $(wildcard /usr/src/linux-headers-6.1.*-amd64))))

.PHONY: all module vmm selftests guest-tools deps check check-debug check-unit bench demo clean

all: module vmm selftests guest-tools

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

vmm:
	$(MAKE) -C vmm

selftests:
	$(MAKE) -C selftests

# xkbench, for the guest images (build/guest-tools/)
guest-tools:
	$(MAKE) -C guest/tools

deps:
	scripts/deps.sh

# Host unit tests (ASan/UBSan) first, then every suite in the testbed on
# both host kernels; one summary line at the end.
check:
	scripts/check.sh

# The suites on a 6.1 debug kernel (KASAN, lockdep, kmemleak), built once
# and cached; slow, so not part of check.
check-debug:
	scripts/debug-kernel.sh
	KERNELS=debug scripts/check.sh

check-unit:
	$(MAKE) -C vmm test

bench:
	scripts/bench.sh

demo:
	scripts/demo.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C vmm clean
	$(MAKE) -C selftests clean
	rm -rf build
