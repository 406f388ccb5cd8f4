// SPDX-License-Identifier: GPL-2.0
/*
 * A hypercall from guest user mode gets Xen's -EPERM in-kernel, without an
 * exit to the VMM. The vCPU is put in 32-bit protected mode without
 * paging (so no page-level user checks apply) with CPL 3 (CS and SS DPL
 * 3) and IOPL 3 (so that the snippet may end with an I/O exit), at a
 * hand-assembled snippet: mov eax, 24; vmcall/vmmcall; out 0x80, al.
 */
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "xenkvm_hcall.h"

#define C_BASE		0xc0000000ULL
#define C_SLOT		10

static void dummy_guest(void)
{
	GUEST_DONE();
}

int main(void)
{
	struct xenkvm_stats st;
	struct kvm_vcpu *vcpu;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	struct kvm_vm *vm;
	uint8_t *p;
	uint32_t nr = XEN_HC_vcpu_op;
	int xfd;

	xfd = xk_open();
	close(xfd);
	ksft_print_header();
	ksft_set_plan(3);

	vm = vm_create_with_one_vcpu(&vcpu, dummy_guest);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, C_BASE, C_SLOT, 1, 0);
	xfd = xk_attach_intercept(vm);
	TEST_ASSERT(xk_vcpu_set(xfd, 0, XENKVM_VCPU_ATTR_VCPU_ID, 0) == 0, "id");

	p = addr_gpa2hva(vm, C_BASE);
	*p++ = 0xb8;					/* mov eax, imm32 */
	memcpy(p, &nr, 4);
	p += 4;
	*p++ = 0x0f; *p++ = 0x01; *p++ = is_amd_cpu() ? 0xd9 : 0xc1;
	*p++ = 0xe6; *p++ = 0x80;			/* out 0x80, al */
	*p++ = 0xeb; *p++ = 0xfe;			/* jmp . */

	vcpu_sregs_get(vcpu, &sregs);
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	sregs.cr4 = 0;
	sregs.efer = 0;
	sregs.cs.l = 0;
	sregs.cs.db = 1;
	sregs.cs.dpl = 3;
	sregs.cs.selector = 0x1b;
	sregs.ss.dpl = 3;
	sregs.ss.db = 1;
	sregs.ss.selector = 0x23;
	sregs.ds.selector = sregs.es.selector = 0x23;
	sregs.ds.dpl = sregs.es.dpl = 3;
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_regs_get(vcpu, &regs);
	regs.rip = C_BASE;
	regs.rflags = 0x2 | (3 << 12);			/* IOPL 3 */
	vcpu_regs_set(vcpu, &regs);

	run = vcpu->run;
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
	ksft_test_result(run->exit_reason == KVM_EXIT_IO && run->io.port == 0x80,
			 "CPL 3 hypercall did not exit to the VMM (exit %s)\n",
			 exit_reason_str(run->exit_reason));
	ksft_test_result((uint32_t)run->s.regs.regs.rax == (uint32_t)-XEN_EPERM,
			 "guest got -EPERM: eax 0x%x\n",
			 (uint32_t)run->s.regs.regs.rax);
	TEST_ASSERT(xk_get_stats(xfd, &st) == 0, "stats");
	ksft_test_result(st.hcalls_in_kernel == 1 && st.hcalls_to_user == 0,
			 "counted in-kernel (%llu), not to the VMM (%llu)\n",
			 (unsigned long long)st.hcalls_in_kernel,
			 (unsigned long long)st.hcalls_to_user);
	close(xfd);
	kvm_vm_free(vm);
	ksft_finished();
}
