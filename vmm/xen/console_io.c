// SPDX-License-Identifier: GPL-2.0
/*
 * CONSOLEIO_*: Xen's emergency console. Writes go to the VMM's console
 * fd (stdout); a guest gets no more than CONSOLE_MAX_PER_CALL bytes out
 * per call, the rest is dropped as Xen's rate limiter would.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <unistd.h>
#include <xen/xen.h>


#define CONSOLE_CHUNK		256
#define CONSOLE_MAX_PER_CALL	(64 * 1024)

static int64_t console_write(struct vcpu *vcpu, uint64_t count, uint64_t buf)
{
	struct xen *x = vcpu->vm->xen;
	uint64_t left = count < CONSOLE_MAX_PER_CALL ? count
						     : CONSOLE_MAX_PER_CALL;
	char chunk[CONSOLE_CHUNK];

	while (left) {
		size_t n = left < sizeof(chunk) ? (size_t)left : sizeof(chunk);

		if (xen_copy_from_guest(vcpu, buf, chunk, n))
			return -EFAULT;
		if (write(x->console_fd, chunk, n) < 0)
			break;	/* the host side's problem, not the guest's */
		buf += n;
		left -= n;
	}
	return 0;
}

int64_t xen_console_io(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	switch (hc->args[0]) {
	case CONSOLEIO_write:
		return console_write(vcpu, hc->args[1], hc->args[2]);
	case CONSOLEIO_read:
		return 0;	/* nothing is ever typed at Xen's console */
	default:
		return xen_unhandled(vcpu, hc->nr, hc->args[0]);
	}
}
