// SPDX-License-Identifier: GPL-2.0
/*
 * While xenkvm.ko's hook is live and one VM of this process has its
 * hypercalls intercepted, every other VM keeps KVM's behaviour bit for
 * bit: a VM never attached and a VM attached without
 * XENKVM_HCALL_INTERCEPT get -KVM_ENOSYS (-1000) for a Xen number and 0
 * for KVM_HC_VAPIC_POLL_IRQ, answered by KVM without an exit. After the
 * intercepting file is closed (detach), that VM gets KVM's answers too.
 */
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "xenkvm_hcall.h"

#define KVM_HC_VAPIC_POLL_IRQ_NR	1

static void guest_plain(void)
{
	uint64_t r;

	r = xen_hcall6(XEN_HC_xen_version, 1, 2, 3, 4, 5, 6);
	GUEST_SYNC_ARGS(1, r, 0, 0, 0);
	r = xen_hcall6(KVM_HC_VAPIC_POLL_IRQ_NR, 0, 0, 0, 0, 0, 0);
	GUEST_SYNC_ARGS(2, r, 0, 0, 0);
	GUEST_DONE();
}

/* Returns the value the guest reported at stage @stage. */
static uint64_t run_stage(struct kvm_vcpu *vcpu, uint64_t stage, int *exit)
{
	struct ucall uc;

	TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
	*exit = vcpu->run->exit_reason;
	if (vcpu->run->exit_reason != KVM_EXIT_IO)
		return ~0ULL;
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC &&
		    uc.args[1] == stage, "stage %lu", stage);
	return uc.args[2];
}

int main(void)
{
	struct kvm_vcpu *va, *vb, *vc;
	struct kvm_vm *a, *b, *c;
	int xfd_a, xfd_c, ex;
	uint64_t r;

	xfd_a = xk_open();
	close(xfd_a);
	ksft_print_header();
	ksft_set_plan(9);

	a = vm_create_with_one_vcpu(&va, guest_plain);
	b = vm_create_with_one_vcpu(&vb, guest_plain);
	c = vm_create_with_one_vcpu(&vc, guest_plain);
	xk_hcall_guest_setup(a);
	xk_hcall_guest_setup(b);
	xk_hcall_guest_setup(c);

	xfd_a = xk_attach_intercept(a);
	xfd_c = xk_open();
	TEST_ASSERT(xk_attach_fd(xfd_c, c->fd) == 0, "attach C");
	/* One VM per file, one file per VM. */
	XK_EXPECT(xk_attach_fd(xfd_c, b->fd), -EBUSY, "second ATTACH on a file");

	/* A is intercepted: its Xen call leaves KVM_RUN as KVM_EXIT_XEN. */
	run_stage(va, 1, &ex);
	ksft_test_result(ex == KVM_EXIT_XEN, "intercepted VM: KVM_EXIT_XEN (%s)\n",
			 exit_reason_str(ex));

	r = run_stage(vb, 1, &ex);
	ksft_test_result(ex == KVM_EXIT_IO && r == KVM_ENOSYS_RET,
			 "unattached VM: Xen number -> 0x%lx (want -1000)\n", r);
	r = run_stage(vb, 2, &ex);
	ksft_test_result(ex == KVM_EXIT_IO && r == 0,
			 "unattached VM: KVM_HC_VAPIC_POLL_IRQ -> %lu (want 0)\n", r);

	r = run_stage(vc, 1, &ex);
	ksft_test_result(ex == KVM_EXIT_IO && r == KVM_ENOSYS_RET,
			 "attached, not intercepted: -> 0x%lx (want -1000)\n", r);
	r = run_stage(vc, 2, &ex);
	ksft_test_result(ex == KVM_EXIT_IO && r == 0,
			 "attached, not intercepted: VAPIC_POLL_IRQ -> %lu\n", r);

	/*
	 * Detach A in the middle of its run: A's KVM_EXIT_XEN was answered
	 * by nobody (no sync regs), so the guest sees Xen's -ENOSYS that the
	 * module left in rax; the next call must be KVM's.
	 */
	close(xfd_a);
	r = run_stage(va, 1, &ex);
	ksft_test_result(ex == KVM_EXIT_IO && r == (uint64_t)-XEN_ENOSYS,
			 "unanswered exit: guest sees %ld (want -ENOSYS)\n",
			 (long)r);
	r = run_stage(va, 2, &ex);
	ksft_test_result(ex == KVM_EXIT_IO && r == 0,
			 "after detach: VAPIC_POLL_IRQ -> %lu from KVM\n", r);

	/* B again, after all the above: still stock. */
	TEST_ASSERT(xk_run(vb) == 0, "KVM_RUN");
	{
		struct ucall uc;

		ksft_test_result(get_ucall(vb, &uc) == UCALL_DONE,
				 "unattached VM ran to completion\n");
	}

	close(xfd_c);
	kvm_vm_free(a);
	kvm_vm_free(b);
	kvm_vm_free(c);
	ksft_finished();
}
