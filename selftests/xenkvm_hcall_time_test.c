// SPDX-License-Identifier: GPL-2.0
/*
 * vcpu_info.time is kept by the module from KVM's pvclock for VMs whose
 * hypercalls it intercepts: in the shared_info slot, and, once the VMM
 * moves the vCPU's vcpu_info (VCPUOP_register_vcpu_info), at the new place
 * before the vCPU runs again. The guest reads it with Xen's protocol and
 * compares it with its own kvmclock, which KVM fills from the same
 * parameters: the two clocks must agree (within the time between the two
 * reads, bounded generously). Xen time may only be required not to go
 * backwards when the copy says the TSC is stable (PVCLOCK_TSC_STABLE_BIT,
 * which the module passes on); otherwise the guest must enforce that
 * itself, as Linux's pvclock does, and KVM's own clock steps back too.
 */
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "xenkvm_hcall.h"

#define T_BASE		0xc0000000ULL
#define T_SLOT		10
#define T_PAGES		3
#define T_SHINFO	T_BASE
#define T_VINFO		(T_BASE + 0x1000 + 128)	/* explicit vcpu_info */
#define T_KVMCLOCK	(T_BASE + 0x2000)
#define T_TIME_OFF	32
#define ROUNDS		20
#define SLACK_NS	(20 * 1000 * 1000ULL)	/* a bound, not a timing */

/* worst |xen - kvm|, backwards steps, moved version, stable flag seen */
static uint64_t g_err[4];

static void guest_code(void)
{
	uint64_t where = T_SHINFO, xen, kvm, last = 0, d;
	int i, phase;

	guest_pvclock_enable(T_KVMCLOCK);
	for (phase = 0; phase < 2; phase++) {
		for (i = 0; i < ROUNDS; i++) {
			/* A hypercall: the module's sync point. */
			xen_hcall2(XEN_HC_xen_version, 0, 0);
			GUEST_ASSERT(((volatile struct xk_pvclock *)
				      (where + T_TIME_OFF))->tsc_to_system_mul);
			xen = guest_pvclock_ns(where + T_TIME_OFF);
			kvm = guest_pvclock_ns(T_KVMCLOCK);
			d = xen > kvm ? xen - kvm : kvm - xen;
			if (d > g_err[0])
				g_err[0] = d;
			if (((volatile struct xk_pvclock *)
			     (where + T_TIME_OFF))->flags & 1)
				g_err[3] = 1;
			if (xen < last && g_err[3])
				g_err[1]++;
			last = xen;
		}
		GUEST_SYNC(phase);
		/* The host moved vcpu_info meanwhile. */
		where = T_VINFO;
		g_err[2] = ((volatile struct xk_pvclock *)
			    (where + T_TIME_OFF))->version;
	}
	GUEST_DONE();
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_run *run;
	struct kvm_vm *vm;
	struct ucall uc;
	int xfd, r, syncs = 0;

	xfd = xk_open();
	close(xfd);
	ksft_print_header();
	ksft_set_plan(4);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, T_BASE, T_SLOT,
				    T_PAGES, 0);
	virt_map(vm, T_BASE, T_BASE, T_PAGES);
	xk_hcall_guest_setup(vm);
	xfd = xk_attach_intercept(vm);
	TEST_ASSERT(xk_set_long_mode(xfd, 1) == 0, "long mode");
	TEST_ASSERT(xk_set_shinfo(xfd, T_SHINFO >> 12) == 0, "shared_info");
	TEST_ASSERT(xk_vcpu_set(xfd, 0, XENKVM_VCPU_ATTR_VCPU_ID, 0) == 0, "id");
	run = vcpu->run;
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;

	for (;;) {
		TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
		if (run->exit_reason == KVM_EXIT_XEN) {
			run->s.regs.regs.rax = 0;
			run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
			continue;
		}
		r = get_ucall(vcpu, &uc);
		if (r == UCALL_ABORT)
			REPORT_GUEST_ASSERT(uc);
		if (r == UCALL_DONE)
			break;
		TEST_ASSERT(r == UCALL_SYNC, "exit %s", exit_reason_str(run->exit_reason));
		if (syncs++ == 0) {
			sync_global_from_guest(vm, g_err);
			ksft_test_result(g_err[0] < SLACK_NS && !g_err[1],
					 "shared_info slot: time agrees with kvmclock (worst %lu ns)%s\n",
					 g_err[0], g_err[3] ? ", monotonic (TSC stable)" :
					 " (TSC not stable: monotonicity is the guest's)");
			TEST_ASSERT(xk_vcpu_set(xfd, 0, XENKVM_VCPU_ATTR_VCPU_INFO,
						T_VINFO) == 0, "VCPU_INFO");
		}
	}
	sync_global_from_guest(vm, g_err);
	ksft_test_result(g_err[2] && !(g_err[2] & 1),
			 "moved vcpu_info has the time before the vCPU runs (version %lu)\n",
			 g_err[2]);
	ksft_test_result(g_err[0] < SLACK_NS && !g_err[1],
			 "moved vcpu_info: agrees with kvmclock (worst %lu ns)%s\n",
			 g_err[0], g_err[3] ? ", monotonic (TSC stable)" : "");
	ksft_test_result(syncs == 2, "both phases ran\n");
	close(xfd);
	kvm_vm_free(vm);
	ksft_finished();
}
