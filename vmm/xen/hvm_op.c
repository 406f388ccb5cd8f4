// SPDX-License-Identifier: GPL-2.0
/*
 * HVMOP_*: HVM params, the event channel upcall and a few queries, with
 * the permission rules Xen 4.17 applies to a guest acting on itself
 * (hvm_allow_set_param / hvm_allow_get_param).
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <xen/hvm/hvm_op.h>


#define MIN_UPCALL_VECTOR 0x10	/* below are exceptions, as Xen checks */

enum param_access { PARAM_OK, PARAM_DEPRECATED, PARAM_FORBIDDEN };

static enum param_access set_access(uint32_t index)
{
	switch (index) {
	case HVM_PARAM_CALLBACK_IRQ:
	case HVM_PARAM_VM86_TSS:
	case HVM_PARAM_VM86_TSS_SIZED:
	case HVM_PARAM_ACPI_IOPORTS_LOCATION:
	case HVM_PARAM_VM_GENERATION_ID_ADDR:
	case HVM_PARAM_STORE_EVTCHN:
	case HVM_PARAM_CONSOLE_EVTCHN:
	case HVM_PARAM_X87_FIP_WIDTH:
		return PARAM_OK;
	case HVM_PARAM_PAE_ENABLED:
	case HVM_PARAM_DM_DOMAIN:
	case HVM_PARAM_BUFIOREQ_EVTCHN:
		return PARAM_DEPRECATED;
	default:
		return PARAM_FORBIDDEN;	/* the toolstack's, not the guest's */
	}
}

static enum param_access get_access(uint32_t index)
{
	switch (index) {
	case HVM_PARAM_CALLBACK_IRQ:
	case HVM_PARAM_VM86_TSS:
	case HVM_PARAM_VM86_TSS_SIZED:
	case HVM_PARAM_ACPI_IOPORTS_LOCATION:
	case HVM_PARAM_VM_GENERATION_ID_ADDR:
	case HVM_PARAM_STORE_PFN:
	case HVM_PARAM_STORE_EVTCHN:
	case HVM_PARAM_CONSOLE_PFN:
	case HVM_PARAM_CONSOLE_EVTCHN:
	case HVM_PARAM_ALTP2M:
	case HVM_PARAM_X87_FIP_WIDTH:
		return PARAM_OK;
	case HVM_PARAM_PAE_ENABLED:
	case HVM_PARAM_DM_DOMAIN:
	case HVM_PARAM_BUFIOREQ_EVTCHN:
		return PARAM_DEPRECATED;
	default:
		return PARAM_FORBIDDEN;
	}
}

/*
 * The domain-wide callback vector reaches every vCPU that has no vector
 * of its own; the GSI and PCI INTx forms would assert an interrupt line,
 * which the machine does not wire, so they turn vector delivery off.
 */
static void apply_callback_vector(struct vcpu *caller, uint8_t vector)
{
	struct vm *vm = caller->vm;
	const struct backend_ops *ops = xen_ops(vm);
	unsigned int i;

	/* The domain-wide form needs no EOI: the backend's own op if it has one. */
	if (ops && ops->set_callback_vector) {
		ops->set_callback_vector(vm, vector);
		return;
	}
	for (i = 0; i < vm->nr_vcpus && i < VM_MAX_VCPUS; i++) {
		struct vcpu *v = xen_vcpu_by_id(vm, i);

		if (v && ops && ops->set_upcall_vector &&
		    !__atomic_load_n(&v->xen->upcall_vector, __ATOMIC_RELAXED))
			ops->set_upcall_vector(v, vector);
	}
}

static int set_callback_irq(struct vcpu *vcpu, const struct xen_hcall *hc,
			    uint64_t value)
{
	struct xen *x = vcpu->vm->xen;
	unsigned int type = (unsigned int)(value >> 56);
	uint8_t vector = 0;

	if (type == HVM_PARAM_CALLBACK_TYPE_VECTOR)
		vector = (uint8_t)value;
	else if (value != 0 && !vcpu->xen->upcall_vector &&
		 (type == HVM_PARAM_CALLBACK_TYPE_GSI ||
		  type == HVM_PARAM_CALLBACK_TYPE_PCI_INTX))
		/*
		 * Stored and reported, but no line is asserted: log once.
		 * Not when per-vCPU vectors deliver events anyway (Linux
		 * then sets GSI 1 only "to trick the toolstack").
		 */
		xen_unhandled(vcpu, hc->nr, 0x1000 | type);
	/* An unknown type turns the callback off, as in Xen. */

	/* Xen latches the shared_info layout from the caller's mode here. */
	xen_set_long_mode(vcpu->vm, hc->longmode);
	pthread_mutex_lock(&x->lock);
	x->params[HVM_PARAM_CALLBACK_IRQ] = value;
	x->callback_vector = vector;
	pthread_mutex_unlock(&x->lock);
	apply_callback_vector(vcpu, vector);
	return 0;
}

static int64_t set_param(struct vcpu *vcpu, const struct xen_hcall *hc,
			 const struct xen_hvm_param *p)
{
	struct xen *x = vcpu->vm->xen;

	switch (set_access(p->index)) {
	case PARAM_OK:
		break;
	default:
		return -EPERM;
	}
	switch (p->index) {
	case HVM_PARAM_CALLBACK_IRQ:
		return set_callback_irq(vcpu, hc, p->value);
	case HVM_PARAM_X87_FIP_WIDTH:
		if (p->value != 0 && p->value != 4 && p->value != 8)
			return -EINVAL;
		break;
	}
	pthread_mutex_lock(&x->lock);
	x->params[p->index] = p->value;
	pthread_mutex_unlock(&x->lock);
	return 0;
}

static int64_t get_param(struct vcpu *vcpu, struct xen_hvm_param *p)
{
	switch (get_access(p->index)) {
	case PARAM_OK:
		break;
	case PARAM_DEPRECATED:
		return -ENODATA;
	default:
		return -EPERM;
	}
	p->value = xen_get_hvm_param(vcpu->vm, p->index);
	return 0;
}

static int64_t hvm_param(struct vcpu *vcpu, const struct xen_hcall *hc,
			 bool set)
{
	struct xen_hvm_param p;	/* same layout in the compat ABI */
	int64_t r;

	if (xen_copy_from_guest(vcpu, hc->args[1], &p, sizeof(p)))
		return -EFAULT;
	if (p.index >= HVM_NR_PARAMS)
		return -EINVAL;
	r = xen_check_domid(vcpu->vm->xen, p.domid);
	if (r)
		return r;
	if (set)
		return set_param(vcpu, hc, &p);
	r = get_param(vcpu, &p);
	if (!r && xen_copy_to_guest(vcpu, hc->args[1], &p, sizeof(p)))
		return -EFAULT;
	return r;
}

static int64_t set_upcall_vector(struct vcpu *vcpu, uint64_t arg)
{
	struct xen_hvm_evtchn_upcall_vector op;
	const struct backend_ops *ops = xen_ops(vcpu->vm);
	struct vcpu *target;

	if (xen_copy_from_guest(vcpu, arg, &op, sizeof(op)))
		return -EFAULT;
	if (op.vector < MIN_UPCALL_VECTOR)
		return -EINVAL;
	target = xen_vcpu_by_id(vcpu->vm, op.vcpu);
	if (!target || !target->xen)
		return -ENOENT;
	__atomic_store_n(&target->xen->upcall_vector, op.vector, __ATOMIC_RELAXED);
	if (ops && ops->set_upcall_vector)
		return ops->set_upcall_vector(target, op.vector);
	return 0;
}

static int64_t pagetable_dying(struct vcpu *vcpu, uint64_t arg)
{
	struct xen_hvm_pagetable_dying a;
	int r;

	if (xen_copy_from_guest(vcpu, arg, &a, sizeof(a)))
		return -EFAULT;
	r = xen_check_domid(vcpu->vm->xen, a.domid);
	if (r)
		return r == -ESRCH ? r : -EOPNOTSUPP;
	/*
	 * Only shadow paging uses the hint; under HAP (EPT/NPT, what KVM
	 * gives us) Xen answers -EINVAL, which also tells Linux to stop
	 * issuing it on every address space teardown.
	 */
	return -EINVAL;
}

static int64_t get_time(struct vcpu *vcpu, uint64_t arg)
{
	struct xen_hvm_get_time t = { .now = xen_now_ns(vcpu->vm->xen) };

	return xen_copy_to_guest(vcpu, arg, &t, sizeof(t)) ? -EFAULT : 0;
}

static int64_t get_mem_type(struct vcpu *vcpu, uint64_t arg)
{
	struct xen *x = vcpu->vm->xen;
	struct xen_hvm_get_mem_type a;
	bool ram;
	int r;

	if (xen_copy_from_guest(vcpu, arg, &a, sizeof(a)))
		return -EFAULT;
	r = xen_check_domid(x, a.domid);
	if (r)
		return r;
	pthread_mutex_lock(&x->lock);
	ram = a.pfn <= (UINT64_MAX >> XEN_PAGE_SHIFT) &&
	      gpa_to_hva(vcpu->vm, a.pfn << XEN_PAGE_SHIFT, XEN_PAGE_SIZE) &&
	      !xen_gfn_is_ballooned(x, a.pfn);
	pthread_mutex_unlock(&x->lock);
	a.mem_type = ram ? HVMMEM_ram_rw : HVMMEM_mmio_dm;
	return xen_copy_to_guest(vcpu, arg, &a, sizeof(a)) ? -EFAULT : 0;
}

int64_t xen_hvm_op(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	uint64_t op = hc->args[0], arg = hc->args[1];

	switch (op) {
	case HVMOP_set_param:
		return hvm_param(vcpu, hc, true);
	case HVMOP_get_param:
		return hvm_param(vcpu, hc, false);
	case HVMOP_set_evtchn_upcall_vector:
		return set_upcall_vector(vcpu, arg);
	case HVMOP_pagetable_dying:
		return pagetable_dying(vcpu, arg);
	case HVMOP_get_time:
		return get_time(vcpu, arg);
	case HVMOP_get_mem_type:
		return get_mem_type(vcpu, arg);
	case HVMOP_guest_request_vm_event:
		/* No monitor is ever attached: accepted and dropped. */
		return arg ? -EINVAL : 0;
	default:
		return xen_unhandled(vcpu, hc->nr, op);
	}
}
