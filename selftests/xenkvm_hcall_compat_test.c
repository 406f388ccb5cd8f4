// SPDX-License-Identifier: GPL-2.0
/*
 * Xen's 32-bit hypercall convention. The vCPU is put in compatibility
 * mode (EFER.LMA with a CS whose L bit is clear) at a hand-assembled
 * 32-bit snippet that loads eax and ebx, ecx, edx, esi, edi, ebp with
 * distinct values and issues vmcall/vmmcall: the exit must say
 * longmode 0 and carry exactly those six arguments. A second call,
 * answered in-kernel (SCHEDOP_poll with an unmapped pointer), must leave
 * Xen's -EFAULT truncated to 32 bits in rax.
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

static uint8_t *emit_mov(uint8_t *p, uint8_t op, uint32_t v)
{
	*p++ = op;
	memcpy(p, &v, 4);
	return p + 4;
}

static const uint32_t args32[6] = {
	0x11111111, 0x22222222, 0x33333333, 0x44444444, 0x55555555, 0x66666666,
};

int main(void)
{
	/* mov r32, imm32 opcodes: ebx ecx edx esi edi ebp */
	static const uint8_t movs[6] = { 0xbb, 0xb9, 0xba, 0xbe, 0xbf, 0xbd };
	struct kvm_vcpu *vcpu;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	struct kvm_vm *vm;
	uint8_t *code, *p;
	int xfd, i, bad = 0;

	xfd = xk_open();
	close(xfd);
	ksft_print_header();
	ksft_set_plan(4);

	vm = vm_create_with_one_vcpu(&vcpu, dummy_guest);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, C_BASE, C_SLOT, 1, 0);
	virt_map(vm, C_BASE, C_BASE, 1);
	xfd = xk_attach_intercept(vm);
	TEST_ASSERT(xk_vcpu_set(xfd, 0, XENKVM_VCPU_ATTR_VCPU_ID, 0) == 0, "id");

	code = p = addr_gpa2hva(vm, C_BASE);
	p = emit_mov(p, 0xb8, 0x2a);			/* eax = 42 */
	for (i = 0; i < 6; i++)
		p = emit_mov(p, movs[i], args32[i]);
	*p++ = 0x0f; *p++ = 0x01; *p++ = is_amd_cpu() ? 0xd9 : 0xc1;
	*p++ = 0xe6; *p++ = 0x80;			/* out 0x80, al */
	p = emit_mov(p, 0xb8, XEN_HC_sched_op);
	p = emit_mov(p, 0xbb, XEN_SCHEDOP_poll);
	p = emit_mov(p, 0xb9, 0x10);			/* unmapped */
	*p++ = 0x0f; *p++ = 0x01; *p++ = is_amd_cpu() ? 0xd9 : 0xc1;
	*p++ = 0xe6; *p++ = 0x80;
	*p++ = 0xeb; *p++ = 0xfe;			/* jmp . */

	vcpu_sregs_get(vcpu, &sregs);
	sregs.cs.l = 0;
	sregs.cs.db = 1;
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_regs_get(vcpu, &regs);
	regs.rip = C_BASE;
	regs.rax = 0xffffffff00000000ULL;	/* upper halves must not leak */
	regs.rbx = 0xffffffff00000000ULL;
	vcpu_regs_set(vcpu, &regs);

	run = vcpu->run;
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
	TEST_ASSERT(run->exit_reason == KVM_EXIT_XEN, "exit %s",
		    exit_reason_str(run->exit_reason));
	for (i = 0; i < 6; i++)
		bad += run->xen.u.hcall.params[i] != args32[i];
	ksft_test_result(run->xen.u.hcall.longmode == 0 &&
			 run->xen.u.hcall.input == 0x2a,
			 "compat mode: longmode %u, input %llu\n",
			 run->xen.u.hcall.longmode,
			 (unsigned long long)run->xen.u.hcall.input);
	ksft_test_result(!bad, "arguments from ebx ecx edx esi edi ebp (%d wrong)\n",
			 bad);

	run->s.regs.regs.rax = 0x7;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
	ksft_test_result(run->exit_reason == KVM_EXIT_IO &&
			 run->io.port == 0x80 &&
			 (uint32_t)run->s.regs.regs.rax == 0x7,
			 "the VMM's answer reached eax, RIP past the call\n");

	run->kvm_dirty_regs = 0;
	TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN");
	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO, "exit %s",
		    exit_reason_str(run->exit_reason));
	ksft_test_result(run->s.regs.regs.rax == 0xfffffff2ULL,
			 "in-kernel -EFAULT truncated to 32 bits: rax 0x%llx\n",
			 (unsigned long long)run->s.regs.regs.rax);

	close(xfd);
	kvm_vm_free(vm);
	(void)code;
	ksft_finished();
}
