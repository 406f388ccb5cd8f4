// SPDX-License-Identifier: GPL-2.0
/*
 * HVMOP_* on the fake machine: Xen 4.17's param permissions, the callback
 * vector forms, per-vCPU upcall vectors and the small queries.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <string.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>

#include "fake_vm.h"
#include "ktap.h"

static int64_t hvmop(struct fake_vm *f, unsigned int vcpu, uint64_t cmd,
		     void *arg, size_t size)
{
	return fake_op(f, vcpu, __HYPERVISOR_hvm_op, cmd, arg, size);
}

static int64_t set_param(struct fake_vm *f, uint32_t idx, uint64_t v)
{
	struct xen_hvm_param p = { .domid = DOMID_SELF, .index = idx, .value = v };

	return hvmop(f, 0, HVMOP_set_param, &p, sizeof(p));
}

static int64_t get_param(struct fake_vm *f, uint32_t idx, uint64_t *v)
{
	struct xen_hvm_param p = { .domid = DOMID_SELF, .index = idx };
	int64_t r = hvmop(f, 0, HVMOP_get_param, &p, sizeof(p));

	*v = p.value;
	return r;
}

static void test_params(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, 16 << 20);
	struct xen_hvm_param p = { .domid = 0, .index = HVM_PARAM_STORE_PFN };
	uint64_t v = 0;

	/* What the machine set is what the guest reads. */
	KTAP_EXPECT(t, xen_set_hvm_param(&f->vm, HVM_PARAM_STORE_PFN, 0xfeffc) == 0);
	KTAP_EXPECT(t, xen_set_hvm_param(&f->vm, HVM_PARAM_STORE_EVTCHN, 3) == 0);
	KTAP_EXPECT(t, xen_set_hvm_param(&f->vm, HVM_NR_PARAMS, 3) == -EINVAL);
	KTAP_EXPECT(t, get_param(f, HVM_PARAM_STORE_PFN, &v) == 0 && v == 0xfeffc);
	KTAP_EXPECT(t, get_param(f, HVM_PARAM_STORE_EVTCHN, &v) == 0 && v == 3);
	KTAP_EXPECT(t, get_param(f, HVM_PARAM_CONSOLE_PFN, &v) == 0 && v == 0);
	/* The guest may not move its store page, but may set the port. */
	KTAP_EXPECT(t, set_param(f, HVM_PARAM_STORE_PFN, 1) == -EPERM);
	KTAP_EXPECT(t, xen_get_hvm_param(&f->vm, HVM_PARAM_STORE_PFN) == 0xfeffc);
	KTAP_EXPECT(t, set_param(f, HVM_PARAM_CONSOLE_EVTCHN, 9) == 0);
	KTAP_EXPECT(t, get_param(f, HVM_PARAM_CONSOLE_EVTCHN, &v) == 0 && v == 9);
	/* Toolstack-only params are hidden; deprecated ones have no data. */
	KTAP_EXPECT(t, get_param(f, HVM_PARAM_TIMER_MODE, &v) == -EPERM);
	KTAP_EXPECT(t, set_param(f, HVM_PARAM_TIMER_MODE, 1) == -EPERM);
	KTAP_EXPECT(t, get_param(f, HVM_PARAM_PAE_ENABLED, &v) == -ENODATA);
	KTAP_EXPECT(t, set_param(f, HVM_PARAM_PAE_ENABLED, 1) == -EPERM);
	KTAP_EXPECT(t, get_param(f, HVM_NR_PARAMS, &v) == -EINVAL);
	KTAP_EXPECT(t, set_param(f, 0xffffffff, 0) == -EINVAL);
	KTAP_EXPECT(t, set_param(f, HVM_PARAM_X87_FIP_WIDTH, 5) == -EINVAL);
	KTAP_EXPECT(t, set_param(f, HVM_PARAM_X87_FIP_WIDTH, 4) == 0);
	KTAP_EXPECT(t, hvmop(f, 0, HVMOP_get_param, &p, sizeof(p)) == -EPERM);
	p.domid = 44;
	KTAP_EXPECT(t, hvmop(f, 0, HVMOP_get_param, &p, sizeof(p)) == -ESRCH);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_hvm_op, HVMOP_get_param,
				  (16 << 20) - 4, 0) == -EFAULT);
	fake_vm_free(f);
	ktap_case_end(t, "set/get_param: Xen's guest permissions");
}

static void test_callback_irq(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(2, 16 << 20);
	const struct fake_call *c;
	uint64_t v;

	KTAP_EXPECT(t, set_param(f, HVM_PARAM_CALLBACK_IRQ,
				 (2ULL << 56) | 0xf3) == 0);
	c = fake_last(f, FAKE_SET_CALLBACK_VECTOR);
	KTAP_EXPECT(t, c && c->a == 0xf3);
	c = fake_last(f, FAKE_SET_LONG_MODE);
	KTAP_EXPECT(t, c && c->a == 1);
	KTAP_EXPECT(t, get_param(f, HVM_PARAM_CALLBACK_IRQ, &v) == 0 &&
			       v == ((2ULL << 56) | 0xf3));
	/* GSI form: stored, but no vector is injected any more; said once. */
	KTAP_EXPECT(t, f->vm.xen->logged[__HYPERVISOR_hvm_op] == 0);
	KTAP_EXPECT(t, set_param(f, HVM_PARAM_CALLBACK_IRQ, 28) == 0);
	c = fake_last(f, FAKE_SET_CALLBACK_VECTOR);
	KTAP_EXPECT(t, c && c->a == 0);
	KTAP_EXPECT(t, f->vm.xen->logged[__HYPERVISOR_hvm_op] != 0);
	KTAP_EXPECT(t, get_param(f, HVM_PARAM_CALLBACK_IRQ, &v) == 0 && v == 28);
	/* A 32-bit guest setting it latches the compat layout. */
	f->longmode = false;
	KTAP_EXPECT(t, set_param(f, HVM_PARAM_CALLBACK_IRQ, (2ULL << 56) | 0xf3) == 0);
	c = fake_last(f, FAKE_SET_LONG_MODE);
	KTAP_EXPECT(t, c && c->a == 0);
	KTAP_EXPECT(t, !f->vm.xen->long_mode);
	fake_vm_free(f);

	/*
	 * Linux 6.1 with per-vCPU vectors sets GSI 1 only "to trick the
	 * toolstack": nothing to complain about, the vectors stay.
	 */
	f = fake_vm_new(1, 16 << 20);
	{
		struct xen_hvm_evtchn_upcall_vector u = { .vcpu = 0, .vector = 0xf3 };

		KTAP_EXPECT(t, hvmop(f, 0, HVMOP_set_evtchn_upcall_vector, &u,
				     sizeof(u)) == 0);
	}
	fake_clear_calls(f);
	KTAP_EXPECT(t, set_param(f, HVM_PARAM_CALLBACK_IRQ, 1) == 0);
	KTAP_EXPECT(t, f->vm.xen->logged[__HYPERVISOR_hvm_op] == 0);
	KTAP_EXPECT(t, fake_count(f, FAKE_SET_UPCALL_VECTOR) == 0);
	fake_vm_free(f);
	ktap_case_end(t, "CALLBACK_IRQ: vector and GSI forms, long mode latch");
}

static void test_upcall_vector(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(2, 16 << 20);
	struct xen_hvm_evtchn_upcall_vector u = { .vcpu = 1, .vector = 0x0f };
	const struct fake_call *c;

	KTAP_EXPECT(t, hvmop(f, 0, HVMOP_set_evtchn_upcall_vector, &u,
			     sizeof(u)) == -EINVAL);
	u.vector = 0xf2;
	u.vcpu = 2;
	KTAP_EXPECT(t, hvmop(f, 0, HVMOP_set_evtchn_upcall_vector, &u,
			     sizeof(u)) == -ENOENT);
	u.vcpu = 1;
	KTAP_EXPECT(t, hvmop(f, 0, HVMOP_set_evtchn_upcall_vector, &u,
			     sizeof(u)) == 0);
	c = fake_last(f, FAKE_SET_UPCALL_VECTOR);
	KTAP_EXPECT(t, c && c->a == 1 && c->b == 0xf2);
	fake_vm_free(f);
	ktap_case_end(t, "set_evtchn_upcall_vector: per vCPU, checked");
}

static void test_misc(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, 16 << 20);
	struct xen_hvm_pagetable_dying d = { .domid = DOMID_SELF, .gpa = 0x1000 };
	struct xen_hvm_get_time gt = { 0 };
	struct xen_hvm_get_mem_type mt = { .domid = DOMID_SELF, .pfn = 0x100 };
	uint64_t before, after;

	/* Under HAP Xen refuses the shadow-paging hint. */
	KTAP_EXPECT(t, hvmop(f, 0, HVMOP_pagetable_dying, &d, sizeof(d)) == -EINVAL);
	d.domid = 0;
	KTAP_EXPECT(t, hvmop(f, 0, HVMOP_pagetable_dying, &d, sizeof(d)) ==
		       -EOPNOTSUPP);
	before = xen_now_ns(f->vm.xen);
	KTAP_EXPECT(t, hvmop(f, 0, HVMOP_get_time, &gt, sizeof(gt)) == 0);
	after = xen_now_ns(f->vm.xen);
	KTAP_EXPECT(t, gt.now >= before && gt.now <= after);
	/* The offset the machine sets moves Xen's clock. */
	xen_set_system_time_offset(&f->vm, 1000000000000LL);
	KTAP_EXPECT(t, hvmop(f, 0, HVMOP_get_time, &gt, sizeof(gt)) == 0);
	KTAP_EXPECT(t, gt.now >= after + 1000000000000ULL);

	KTAP_EXPECT(t, hvmop(f, 0, HVMOP_get_mem_type, &mt, sizeof(mt)) == 0);
	KTAP_EXPECT(t, mt.mem_type == HVMMEM_ram_rw);
	mt.pfn = 0x100000;	/* 4 GiB: no RAM */
	KTAP_EXPECT(t, hvmop(f, 0, HVMOP_get_mem_type, &mt, sizeof(mt)) == 0);
	KTAP_EXPECT(t, mt.mem_type == HVMMEM_mmio_dm);
	{
		/* A ballooned page is not RAM any more. */
		uint64_t list = fake_alloc(f, 8, 8), gfn = 0x200;
		struct xen_memory_reservation r = { .nr_extents = 1,
						    .domid = DOMID_SELF };

		memcpy(f->ram + list, &gfn, 8);
		set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)list);
		KTAP_EXPECT(t, fake_op(f, 0, __HYPERVISOR_memory_op,
				       XENMEM_decrease_reservation, &r,
				       sizeof(r)) == 1);
		mt.pfn = 0x200;
		KTAP_EXPECT(t, hvmop(f, 0, HVMOP_get_mem_type, &mt, sizeof(mt)) == 0);
		KTAP_EXPECT(t, mt.mem_type == HVMMEM_mmio_dm);
	}
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_hvm_op,
				  HVMOP_guest_request_vm_event, 0, 0) == 0);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_hvm_op,
				  HVMOP_guest_request_vm_event, 0x1000, 0) == -EINVAL);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_hvm_op, HVMOP_flush_tlbs, 0,
				  0) == -ENOSYS);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_hvm_op, HVMOP_altp2m, 0x1000,
				  0) == -ENOSYS);
	fake_vm_free(f);
	ktap_case_end(t, "pagetable_dying, get_time, get_mem_type, others");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 4);
	test_params(&t);
	test_callback_irq(&t);
	test_upcall_vector(&t);
	test_misc(&t);
	return ktap_finish(&t);
}
