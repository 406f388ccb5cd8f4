// SPDX-License-Identifier: GPL-2.0
/*
 * 100000 hypercalls with random numbers and arguments from a guest whose
 * hypercalls the module intercepts, with every fast path on and ports,
 * a timer port and shared_info configured, so that the random calls reach
 * the in-kernel handlers with hostile values: wild guest pointers, counts,
 * ports, timeouts and vCPU ids. Pointer arguments are sometimes aimed at
 * a page of random bytes so that the structures read are garbage rather
 * than unmapped. The VMM side answers every exit with a random value.
 *
 * The host must neither crash nor warn (the testbed's dmesg check runs
 * after the suite); here we check that the guest ran to the end and that
 * every call was counted exactly once, in-kernel or to the VMM.
 *
 * Excluded, because they would legitimately stop a guest that runs with
 * interrupts off: SCHEDOP_block (halts until an interrupt) and a
 * SCHEDOP_poll on the random page without a timeout (the timeout field
 * there is forced into the past).
 */
#include <sys/eventfd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "xenkvm_hcall.h"

#define FZ_BASE		0xc0000000ULL
#define FZ_SLOT		10
#define FZ_PAGES	3
#define FZ_SHINFO	FZ_BASE
#define FZ_RANDOM	(FZ_BASE + 0x1000)
#define NCALLS		100000
#define SYNC_EVERY	10000

static uint64_t seed;

static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static const uint64_t hot[] = {
	XEN_HC_set_timer_op, XEN_HC_xen_version, XEN_HC_vcpu_op,
	XEN_HC_sched_op, XEN_HC_event_channel_op, XEN_HC_hvm_op,
};

static uint64_t pick_arg(void)
{
	uint64_t r = rnd();

	switch (r & 7) {
	case 0:
		return 0;
	case 1:
	case 2:	/* into the random page */
		return FZ_RANDOM + ((r >> 8) & 0xfff);
	case 3:
		return (r >> 8) & 0xff;	/* small numbers: ports, ids */
	default:
		return rnd();
	}
}

static void guest_code(void)
{
	uint64_t nr, a[6];
	int i, j;

	for (i = 0; i < NCALLS; i++) {
		uint64_t r = rnd();

		nr = (r & 1) ? hot[(r >> 1) % 6] :
		     (r & 2) ? (r >> 8) & 0x3f : rnd();
		for (j = 0; j < 6; j++)
			a[j] = pick_arg();
		if (nr == XEN_HC_sched_op || nr == XEN_HC_vcpu_op ||
		    nr == XEN_HC_event_channel_op)
			a[0] = (r >> 16) % 16;	/* a real sub-op now and then */
		if (nr == XEN_HC_sched_op && a[0] == XEN_SCHEDOP_block)
			a[0] = XEN_SCHEDOP_yield;
		if (nr == XEN_HC_sched_op && a[0] == XEN_SCHEDOP_poll &&
		    a[1] >= FZ_RANDOM && a[1] < FZ_RANDOM + 0x1000) {
			/* Whole struct in the page; timeout long past. */
			a[1] = FZ_RANDOM + (a[1] - FZ_RANDOM) % (0x1000 - 24);
			*(volatile uint64_t *)(a[1] + 16) = 1;
		}
		xen_hcall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if ((i + 1) % SYNC_EVERY == 0)
			GUEST_SYNC(i + 1);
	}
	GUEST_DONE();
}

int main(void)
{
	struct xenkvm_stats st;
	struct kvm_vcpu *vcpu;
	struct kvm_run *run;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t host_seed = 0x9e3779b97f4a7c15ULL, done = 0, exits = 0;
	uint8_t *page;
	int xfd, efd, i;

	xfd = xk_open();
	close(xfd);
	ksft_print_header();
	ksft_set_plan(4);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, FZ_BASE, FZ_SLOT,
				    FZ_PAGES, 0);
	virt_map(vm, FZ_BASE, FZ_BASE, FZ_PAGES);
	xk_hcall_guest_setup(vm);
	seed = 0x2545f4914f6cdd1dULL;
	sync_global_to_guest(vm, seed);
	page = addr_gpa2hva(vm, FZ_RANDOM);
	for (i = 0; i < 4096; i++) {
		host_seed = host_seed * 6364136223846793005ULL + 1;
		page[i] = (uint8_t)(host_seed >> 56);
	}

	xfd = xk_attach_intercept(vm);
	TEST_ASSERT(xk_set_long_mode(xfd, 1) == 0, "long mode");
	TEST_ASSERT(xk_set_shinfo(xfd, FZ_SHINFO >> 12) == 0, "shared_info");
	TEST_ASSERT(xk_vcpu_set(xfd, 0, XENKVM_VCPU_ATTR_VCPU_ID, 0) == 0, "id");
	TEST_ASSERT(xk_vcpu_set(xfd, 0, XENKVM_VCPU_ATTR_UPCALL_VECTOR, 0xf3) == 0,
		    "vector");
	TEST_ASSERT(xk_vcpu_timer(xfd, 0, 3, 0) == 0, "timer port");
	for (i = 1; i < 64; i += 3)
		TEST_ASSERT(xk_evtchn_deliver(xfd, i, (i * 7) % 100 + 1, 0) == 0,
			    "deliver port");
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	TEST_ASSERT(xk_evtchn_eventfd(xfd, 2, efd) == 0, "eventfd port");

	run = vcpu->run;
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	for (;;) {
		TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN: %s", strerror(errno));
		if (run->exit_reason == KVM_EXIT_XEN) {
			exits++;
			host_seed = host_seed * 6364136223846793005ULL + 1;
			run->s.regs.regs.rax = host_seed;
			run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
			continue;
		}
		i = get_ucall(vcpu, &uc);
		if (i == UCALL_SYNC) {
			done = uc.args[1];
			continue;
		}
		if (i == UCALL_DONE)
			break;
		if (i == UCALL_ABORT)
			REPORT_GUEST_ASSERT(uc);
		TEST_FAIL("unexpected exit %s after %lu calls",
			  exit_reason_str(run->exit_reason), done);
	}
	ksft_test_result(done == NCALLS, "guest made %lu random hypercalls\n",
			 done);
	TEST_ASSERT(xk_get_stats(xfd, &st) == 0, "stats");
	ksft_test_result(st.hcalls_in_kernel + st.hcalls_to_user == NCALLS,
			 "each counted once: %llu in-kernel + %llu to the VMM\n",
			 (unsigned long long)st.hcalls_in_kernel,
			 (unsigned long long)st.hcalls_to_user);
	ksft_test_result(st.hcalls_to_user == exits,
			 "exits seen by the VMM %lu = hcalls_to_user\n", exits);
	ksft_test_result(st.hcalls_in_kernel > 0,
			 "some calls took the in-kernel paths (%llu)\n",
			 (unsigned long long)st.hcalls_in_kernel);

	close(xfd);
	close(efd);
	kvm_vm_free(vm);
	ksft_finished();
}
