// SPDX-License-Identifier: GPL-2.0
/*
 * The runstate area kept by the module (XENKVM_FAST_RUNSTATE):
 *
 *  - an area set by XENKVM_VCPU_ATTR_RUNSTATE_ADDR that crosses a page
 *    boundary: after every stop the host sees a consistent copy (no
 *    XEN_RUNSTATE_UPDATE, times summing to state_entry_time), times and
 *    state_entry_time never go backwards, running time grows, the state
 *    is "blocked" while the vCPU is out of KVM_RUN, and RUNSTATE_DATA
 *    agrees with the guest copy;
 *  - the guest, reading with Xen's protocol while it runs, sees itself
 *    "running" and never a torn value;
 *  - the same with the area's pages dropped (MADV_DONTNEED) before each
 *    run, so that the atomic writers find them absent;
 *  - VCPUOP_register_runstate_memory_area from the guest (a guest virtual
 *    address, also crossing a page) fills the area at once;
 *  - RUNSTATE_DATA rejects a state out of range and times that do not
 *    add up.
 */
#include <sys/mman.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "xenkvm_hcall.h"

#define RS_BASE		0xc0000000ULL
#define RS_SLOT		10
#define RS_PAGES	4
#define AREA1		(RS_BASE + 0x1000 - 20)	/* crosses into page 1 */
#define AREA2		(RS_BASE + 0x3000 - 36)	/* crosses into page 3 */
#define ITER		40

static uint64_t g_area;		/* registered by the guest */
static uint64_t g_ret;
static bool g_check_running = true;	/* false while pages are dropped */

/*
 * The framework's guest stack is not ABI-aligned: keep guest code that
 * copies structures off SSE, whose aligned moves would fault.
 */
#define GUEST_FN	__attribute__((target("general-regs-only")))

/* Xen's reader: retry while the flag is set or the entry time moved. */
static GUEST_FN void guest_read(volatile struct xen_runstate_info *rs,
		       struct xen_runstate_info *out)
{
	uint64_t t1, t2;

	do {
		t1 = rs->state_entry_time;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		out->state = rs->state;
		out->state_entry_time = rs->state_entry_time;
		out->time[0] = rs->time[0];
		out->time[1] = rs->time[1];
		out->time[2] = rs->time[2];
		out->time[3] = rs->time[3];
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		t2 = rs->state_entry_time;
	} while (t1 != t2 || (t1 & XEN_RUNSTATE_UPDATE));
}

static GUEST_FN void guest_code(void)
{
	volatile struct xen_runstate_info *rs = (void *)AREA1;
	struct xen_runstate_info a, prev = { 0 };
	int i, j;

	for (i = 0; i < ITER; i++) {
		guest_read(rs, &a);
		/*
		 * Loaded, so running; while the host keeps dropping the
		 * pages the atomic write at load cannot happen and the guest
		 * sees the older (still consistent) value.
		 */
		if (g_check_running)
			GUEST_ASSERT_1(a.state == XEN_RUNSTATE_running, a.state);
		GUEST_ASSERT(a.time[0] + a.time[1] + a.time[2] + a.time[3] ==
			     a.state_entry_time);
		GUEST_ASSERT(a.state_entry_time >= prev.state_entry_time);
		for (j = 0; j < 4; j++)
			GUEST_ASSERT(a.time[j] >= prev.time[j]);
		prev = a;
		/* An exit to the VMM: put (blocked), then load (running). */
		xen_hcall2(XEN_HC_xen_version, 0, 0);
		GUEST_SYNC(1);
	}
	g_area = AREA2;
	g_ret = xen_hcall3(XEN_HC_vcpu_op,
			   XEN_VCPUOP_register_runstate_memory_area, 0,
			   (uint64_t)&g_area);
	GUEST_SYNC(2);
	GUEST_DONE();
}

struct check {
	struct xen_runstate_info prev;
	int torn, backwards, not_blocked, mismatch;
};

static void host_check(struct kvm_vm *vm, int xfd, uint64_t gpa,
		       struct check *c, bool compare_attr)
{
	struct xen_runstate_info a;
	struct xenkvm_vcpu_attr d = { .type = XENKVM_VCPU_ATTR_RUNSTATE_DATA };
	int j;

	/* The vCPU is stopped: a plain copy is a snapshot. */
	/* One memslot: the pages are contiguous in the host mapping. */
	memcpy(&a, addr_gpa2hva(vm, gpa), sizeof(a));
	if ((a.state_entry_time & XEN_RUNSTATE_UPDATE) ||
	    a.time[0] + a.time[1] + a.time[2] + a.time[3] != a.state_entry_time)
		c->torn++;
	if (a.state_entry_time < c->prev.state_entry_time)
		c->backwards++;
	for (j = 0; j < 4; j++)
		if (a.time[j] < c->prev.time[j])
			c->backwards++;
	if (a.state != XEN_RUNSTATE_blocked)
		c->not_blocked++;
	if (compare_attr) {
		TEST_ASSERT(xk_ioctl(xfd, XENKVM_VCPU_GET_ATTR, &d) == 0, "DATA");
		if (d.u.runstate.state != (uint64_t)a.state ||
		    d.u.runstate.state_entry_time != a.state_entry_time ||
		    memcmp(d.u.runstate.time, a.time, sizeof(a.time)))
			c->mismatch++;
	}
	c->prev = a;
}

static int run_sync(struct kvm_vcpu *vcpu, uint64_t *stage)
{
	struct kvm_run *run = vcpu->run;
	struct ucall uc;

	for (;;) {
		TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
		if (run->exit_reason == KVM_EXIT_XEN) {
			run->s.regs.regs.rax = 0;
			run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			*stage = uc.args[1];
			return UCALL_SYNC;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_1(uc, "%lu");
			break;
		case UCALL_DONE:
			return UCALL_DONE;
		default:
			TEST_FAIL("exit %s", exit_reason_str(run->exit_reason));
		}
	}
}

int main(void)
{
	struct xenkvm_vcpu_attr a = { .type = XENKVM_VCPU_ATTR_RUNSTATE_ADDR };
	struct check c = { 0 }, c2 = { 0 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t stage;
	void *hva;
	int xfd, i, half = ITER / 2, iters = 0;

	xfd = xk_open();
	close(xfd);
	ksft_print_header();
	ksft_set_plan(14);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_SHMEM, RS_BASE, RS_SLOT,
				    RS_PAGES, 0);
	virt_map(vm, RS_BASE, RS_BASE, RS_PAGES);
	xk_hcall_guest_setup(vm);
	hva = addr_gpa2hva(vm, RS_BASE);
	xfd = xk_attach_intercept(vm);
	TEST_ASSERT(xk_set_long_mode(xfd, 1) == 0, "long mode");
	vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS;

	a.vcpu = 0;
	a.u.gpa = AREA1;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &a), 0,
		  "RUNSTATE_ADDR across a page boundary");
	a.u.gpa = RS_BASE + 0x100000;	/* no memslot */
	XK_EXPECT(xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &a), -EINVAL,
		  "RUNSTATE_ADDR outside guest memory");
	a.u.gpa = AREA1;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &a), 0,
		  "RUNSTATE_ADDR again");

	for (i = 0; i < ITER; i++) {
		/* Second half: pages absent whenever the vCPU enters. */
		if (i == half) {
			g_check_running = false;
			sync_global_to_guest(vm, g_check_running);
			c2.prev = c.prev;	/* monotonic across the halves */
		}
		if (i >= half)
			TEST_ASSERT(!madvise(hva, RS_PAGES * 4096, MADV_DONTNEED),
				    "madvise");
		TEST_ASSERT(run_sync(vcpu, &stage) == UCALL_SYNC && stage == 1,
			    "iteration %d", i);
		iters++;
		host_check(vm, xfd, AREA1, i < half ? &c : &c2, true);
	}
	ksft_test_result(!c.torn && !c.backwards,
			 "host view consistent and monotonic (%d torn, %d backwards)\n",
			 c.torn, c.backwards);
	ksft_test_result(!c.not_blocked && !c.mismatch,
			 "blocked while out of KVM_RUN, RUNSTATE_DATA agrees (%d, %d)\n",
			 c.not_blocked, c.mismatch);
	ksft_test_result(c.prev.time[XEN_RUNSTATE_running] > 0 &&
			 c.prev.time[XEN_RUNSTATE_blocked] > 0,
			 "running %llu ns, blocked %llu ns accounted\n",
			 (unsigned long long)c.prev.time[0],
			 (unsigned long long)c.prev.time[2]);
	ksft_test_result(!c2.torn && !c2.backwards && !c2.mismatch,
			 "pages dropped before each entry: consistent, monotonic (%d, %d, %d)\n",
			 c2.torn, c2.backwards, c2.mismatch);
	ksft_test_result(c2.prev.state_entry_time > c.prev.state_entry_time,
			 "pages dropped: the area still advanced\n");
	ksft_test_result(iters == ITER,
			 "guest saw itself running and never a torn value (%d of %d reads)\n",
			 iters, ITER);

	/* Guest registers AREA2 by virtual address. */
	TEST_ASSERT(run_sync(vcpu, &stage) == UCALL_SYNC && stage == 2, "stage 2");
	sync_global_from_guest(vm, g_ret);
	{
		struct xen_runstate_info r2;

		memcpy(&r2, addr_gpa2hva(vm, AREA2), sizeof(r2));
		ksft_test_result(g_ret == 0 && r2.state_entry_time != 0 &&
				 !(r2.state_entry_time & XEN_RUNSTATE_UPDATE) &&
				 r2.time[0] + r2.time[1] + r2.time[2] + r2.time[3] ==
				 r2.state_entry_time,
				 "VCPUOP_register_runstate_memory_area: ret %ld, area filled\n",
				 (long)g_ret);
	}
	memset(&a, 0, sizeof(a));
	a.type = XENKVM_VCPU_ATTR_RUNSTATE_ADDR;
	TEST_ASSERT(xk_ioctl(xfd, XENKVM_VCPU_GET_ATTR, &a) == 0, "get addr");
	ksft_test_result(a.u.gpa == AREA2, "RUNSTATE_ADDR reads back 0x%llx\n",
			 (unsigned long long)a.u.gpa);

	memset(&a, 0, sizeof(a));
	a.type = XENKVM_VCPU_ATTR_RUNSTATE_DATA;
	a.u.runstate.state = 7;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &a), -EINVAL,
		  "RUNSTATE_DATA state 7");
	a.u.runstate.state = XEN_RUNSTATE_runnable;
	a.u.runstate.time[0] = 100;
	a.u.runstate.state_entry_time = 99;
	XK_EXPECT(xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &a), -EINVAL,
		  "RUNSTATE_DATA times not adding up");
	a.u.runstate.state_entry_time = 1000;
	a.u.runstate.time[0] = 400;
	a.u.runstate.time[2] = 600;
	TEST_ASSERT(xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &a) == 0, "DATA");
	{
		struct xen_runstate_info r2;

		memcpy(&r2, addr_gpa2hva(vm, AREA2), sizeof(r2));
		ksft_test_result(r2.state == XEN_RUNSTATE_runnable &&
				 r2.state_entry_time == 1000 && r2.time[0] == 400 &&
				 r2.time[2] == 600,
				 "RUNSTATE_DATA written to the guest area\n");
	}

	TEST_ASSERT(run_sync(vcpu, &stage) == UCALL_DONE, "done");
	close(xfd);
	kvm_vm_free(vm);
	ksft_finished();
}
