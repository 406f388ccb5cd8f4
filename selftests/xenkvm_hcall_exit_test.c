// SPDX-License-Identifier: GPL-2.0
/*
 * A guest vmcall/vmmcall on a VM with XENKVM_HCALL_INTERCEPT reaches the
 * VMM as KVM_EXIT_XEN / KVM_EXIT_XEN_HCALL with the number, all six
 * arguments in Xen's 64-bit registers, longmode 1 and cpl 0; RIP is past
 * the instruction when the VMM sees the exit; the value the VMM stores
 * through sync regs is what the guest gets; hcalls_to_user counts them.
 * With the fast paths off, EVTCHNOP_send exits too. Clearing the flag
 * gives the VM stock KVM behaviour again (-KVM_ENOSYS).
 */
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "xenkvm_hcall.h"

#define NCALLS	4

static const uint64_t call_nr[NCALLS] = {
	XEN_HC_xen_version, XEN_HC_hvm_op, XEN_HC_event_channel_op, 0x7ff0,
};

#define ARG(i, j)	(0xa5a5000000000000ULL | ((uint64_t)(i) << 16) | (j))
#define RET(i)		(0xc0ffee0000000000ULL + (i))

static uint32_t send_port_buf = 3;

static void guest_code(void)
{
	uint64_t ret;
	int i;

	for (i = 0; i < NCALLS; i++) {
		uint64_t a0 = ARG(i, 0);

		/* EVTCHNOP_send needs a real argument to be decoded. */
		if (call_nr[i] == XEN_HC_event_channel_op)
			a0 = XEN_EVTCHNOP_send;
		ret = xen_hcall6(call_nr[i], a0,
				 call_nr[i] == XEN_HC_event_channel_op ?
				 (uint64_t)&send_port_buf : ARG(i, 1),
				 ARG(i, 2), ARG(i, 3), ARG(i, 4), ARG(i, 5));
		GUEST_ASSERT_2(ret == RET(i), ret, i);
	}
	GUEST_SYNC(1);
	/* Interception now off: KVM's own answer. */
	ret = xen_hcall6(XEN_HC_xen_version, 0, 0, 0, 0, 0, 0);
	GUEST_ASSERT_1(ret == KVM_ENOSYS_RET, ret);
	GUEST_DONE();
}

static const uint8_t vmcall_insn[3] = { 0x0f, 0x01, 0xc1 };
static const uint8_t vmmcall_insn[3] = { 0x0f, 0x01, 0xd9 };

int main(void)
{
	struct xenkvm_stats st;
	struct kvm_vcpu *vcpu;
	struct kvm_run *run;
	struct kvm_vm *vm;
	struct ucall uc;
	int xfd, i, j, bad_args = 0, bad_rip = 0, bad_mode = 0;

	xfd = xk_open();
	ksft_print_header();
	ksft_set_plan(8);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	xk_hcall_guest_setup(vm);
	close(xfd);
	xfd = xk_attach_intercept(vm);
	/* Fast paths off: even EVTCHNOP_send must reach the VMM. */
	XK_EXPECT(xk_set_fast(xfd, 0), 0, "FAST_PATHS = 0");
	XK_EXPECT(xk_set_hcall(xfd, 0x80), -EINVAL, "ATTR_HCALL rejects unknown flags");
	run = vcpu->run;
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;

	for (i = 0; i < NCALLS; i++) {
		const uint8_t *insn;

		TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
		if (run->exit_reason == KVM_EXIT_IO &&
		    get_ucall(vcpu, &uc) == UCALL_ABORT)
			REPORT_GUEST_ASSERT_2(uc, "ret 0x%lx call %lu");
		TEST_ASSERT(run->exit_reason == KVM_EXIT_XEN &&
			    run->xen.type == KVM_EXIT_XEN_HCALL,
			    "call %d: exit_reason %u (%s), want KVM_EXIT_XEN",
			    i, run->exit_reason,
			    exit_reason_str(run->exit_reason));
		TEST_ASSERT(run->xen.u.hcall.input == call_nr[i],
			    "call %d: input %llu want %lu", i,
			    run->xen.u.hcall.input, call_nr[i]);
		for (j = 0; j < 6; j++) {
			uint64_t want = ARG(i, j);

			if (call_nr[i] == XEN_HC_event_channel_op && j == 0)
				want = XEN_EVTCHNOP_send;
			if (call_nr[i] == XEN_HC_event_channel_op && j == 1)
				continue;
			bad_args += run->xen.u.hcall.params[j] != want;
		}
		bad_mode += run->xen.u.hcall.longmode != 1 ||
			    run->xen.u.hcall.cpl != 0;
		/* RIP already past the vmcall/vmmcall. */
		insn = addr_gva2hva(vm, run->s.regs.regs.rip - 3);
		bad_rip += memcmp(insn, vmcall_insn, 3) &&
			   memcmp(insn, vmmcall_insn, 3);

		run->s.regs.regs.rax = RET(i);
		run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	}
	ksft_test_result(!bad_args, "six arguments in rdi rsi rdx r10 r8 r9 (%d wrong)\n",
			 bad_args);
	ksft_test_result(!bad_mode, "longmode 1, cpl 0\n");
	ksft_test_result(!bad_rip, "RIP past the instruction at exit\n");

	TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
	i = get_ucall(vcpu, &uc);
	if (i == UCALL_ABORT)
		REPORT_GUEST_ASSERT_2(uc, "ret 0x%lx call %lu");
	ksft_test_result(i == UCALL_SYNC,
			 "guest got each VMM value through sync regs, once\n");

	TEST_ASSERT(xk_get_stats(xfd, &st) == 0, "GET_STATS");
	ksft_test_result(st.hcalls_to_user == NCALLS && st.hcalls_in_kernel == 0,
			 "stats: hcalls_to_user %llu (want %d), in_kernel %llu\n",
			 (unsigned long long)st.hcalls_to_user, NCALLS,
			 (unsigned long long)st.hcalls_in_kernel);

	XK_EXPECT(xk_set_hcall(xfd, 0), 0, "ATTR_HCALL = 0");
	run->kvm_dirty_regs = 0;
	TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
	i = get_ucall(vcpu, &uc);
	if (i == UCALL_ABORT)
		REPORT_GUEST_ASSERT_1(uc, "ret 0x%lx");
	/* The case the uninterested VM needs: exits are KVM's own. */
	TEST_ASSERT(i == UCALL_DONE, "guest did not finish: %d exit %s", i,
		    exit_reason_str(run->exit_reason));

	close(xfd);
	kvm_vm_free(vm);
	ksft_finished();
}
