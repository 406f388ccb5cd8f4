// SPDX-License-Identifier: GPL-2.0
/*
 * vm_assist: the one assist Xen offers HVM guests is
 * VMASST_TYPE_runstate_update_flag, which promises that runstate areas
 * are updated with XEN_RUNSTATE_UPDATE set in state_entry_time while
 * they change. Both kernel sides (xenkvm.ko's runstate.c and KVM's own
 * Xen support) always follow that protocol, so the promise holds and
 * Linux may read other vCPUs' runstate for steal time.
 */
#include "xen/xen_state.h"

#include <errno.h>

/* Xen's arch_vm_assist_valid_mask() for an HVM domain. */
#define HVM_VM_ASSIST_MASK (1ULL << VMASST_TYPE_runstate_update_flag)

int64_t xen_vm_assist(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	struct xen *x = vcpu->vm->xen;
	uint64_t cmd = hc->args[0], type = hc->args[1];

	if (type >= 64 || !(HVM_VM_ASSIST_MASK & (1ULL << type)))
		return -EINVAL;
	switch (cmd) {
	case VMASST_CMD_enable:
		__atomic_fetch_or(&x->vm_assist, 1ULL << type, __ATOMIC_RELAXED);
		return 0;
	case VMASST_CMD_disable:
		__atomic_fetch_and(&x->vm_assist, ~(1ULL << type), __ATOMIC_RELAXED);
		return 0;
	default:
		return -ENOSYS;
	}
}
