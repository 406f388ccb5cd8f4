// SPDX-License-Identifier: GPL-2.0
/*
 * Picking a backend. `auto` prefers the module (it serves hot hypercalls
 * and events in-kernel on any host kernel), then the host's own KVM_XEN,
 * then pure userspace, and says in one line which and why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "backend.h"
#include "config.h"
#include "machine.h"
#include "vm.h"

#define XENKVM_DEV "/dev/xenkvm"

/* The KVM_XEN features the kvm backend cannot do without. */
#define KVM_XEN_NEEDED (KVM_XEN_HVM_CONFIG_HYPERCALL_MSR | \
			KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL | \
			KVM_XEN_HVM_CONFIG_SHARED_INFO)

bool backend_decode_xen_exit(const struct kvm_run *run, struct xen_hcall *hc)
{
	if (run->exit_reason != KVM_EXIT_XEN || run->xen.type != KVM_EXIT_XEN_HCALL)
		return false;
	hc->nr = run->xen.u.hcall.input;
	memcpy(hc->args, run->xen.u.hcall.params, sizeof(hc->args));
	hc->longmode = run->xen.u.hcall.longmode;
	hc->cpl = (int)run->xen.u.hcall.cpl;
	return true;
}

uint64_t backend_hcall_rax(const struct xen_hcall *hc, int64_t ret)
{
	return hc->longmode ? (uint64_t)ret : (uint32_t)ret;
}

bool backend_kvm_xen_usable(const struct vm *vm)
{
	int caps = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM);

	return caps > 0 && (caps & KVM_XEN_NEEDED) == KVM_XEN_NEEDED;
}

static const struct backend_ops *pick_auto(const struct vm *vm, const char **why)
{
	if (!access(XENKVM_DEV, F_OK)) {
		*why = XENKVM_DEV " is present";
		return &backend_module_ops;
	}
	if (backend_kvm_xen_usable(vm)) {
		*why = "no " XENKVM_DEV ", but the host KVM has KVM_CAP_XEN_HVM";
		return &backend_kvm_ops;
	}
	*why = "neither " XENKVM_DEV " nor KVM_CAP_XEN_HVM";
	return &backend_userspace_ops;
}

int backend_select(struct vm *vm)
{
	const struct backend_ops *ops;
	const char *why = "asked for with --backend";

	switch (vm->cfg->backend) {
	case BACKEND_MODULE: ops = &backend_module_ops; break;
	case BACKEND_KVM: ops = &backend_kvm_ops; break;
	case BACKEND_USERSPACE: ops = &backend_userspace_ops; break;
	default: ops = pick_auto(vm, &why); break;
	}
	vm->backend = calloc(1, sizeof(*vm->backend));
	if (!vm->backend)
		return -ENOMEM;
	vm->backend->ops = ops;
	fprintf(stderr, "xenkvm: backend %s (%s)\n", ops->name, why);
	if (ops->init(vm)) {
		free(vm->backend);
		vm->backend = NULL;
		return -1;
	}
	return 0;
}

void backend_release(struct vm *vm)
{
	if (!vm->backend)
		return;
	if (vm->backend->ops->destroy)
		vm->backend->ops->destroy(vm);
	free(vm->backend);
	vm->backend = NULL;
}

uint8_t *layout_vcpu_info(struct vm *vm, const struct evtchn_layout *l, unsigned int idx)
{
	uint64_t gpa;

	if (idx >= VM_MAX_VCPUS)
		return NULL;
	gpa = l->vcpu_info_gpa[idx];
	if (!gpa && l->shared_info_gfn && idx < LEGACY_VCPU_INFOS)
		gpa = (l->shared_info_gfn << 12) + idx * VCPU_INFO_SIZE;
	return gpa ? gpa_to_hva(vm, gpa, VCPU_INFO_SIZE) : NULL;
}

/*
 * A newly registered vcpu_info may arrive with selector bits set (Xen
 * sets them all so nothing is lost in the move). The kernel side raises
 * an upcall only when it sets a selector bit itself, so without the
 * pending flag the guest would never hear of those events.
 */
void layout_mark_events_pending(struct vm *vm, const struct evtchn_layout *l,
				unsigned int idx)
{
	uint8_t *vi = layout_vcpu_info(vm, l, idx);
	uint64_t sel = 0;

	if (!vi)
		return;
	/* evtchn_pending_sel: a 32-bit word at 4 (compat), 64-bit at 8. */
	memcpy(&sel, vi + (l->compat ? 4 : 8), l->compat ? 4 : 8);
	if (sel)
		__atomic_store_n(vi, 1, __ATOMIC_SEQ_CST);
}

void layout_assert_upcall(struct vm *vm, const struct evtchn_layout *l,
			  unsigned int idx, uint8_t vector)
{
	uint8_t *vi = layout_vcpu_info(vm, l, idx);
	struct kvm_msi msi = {
		.address_lo = 0xfee00000U | idx << 12,	/* APIC id == vCPU index */
		.data = vector,				/* fixed, edge */
	};

	if (vector && vi && __atomic_load_n(vi, __ATOMIC_SEQ_CST))
		ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);
}
