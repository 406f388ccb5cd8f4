// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace backend on the host's real KVM, with a 40-byte guest:
 * it installs the hypercall page through MSR 0x40000000 (trapped by the
 * MSR filter, filled by the VMM), calls hypercall 17 through the page
 * (an `out` to XENKVM_HCALL_PORT), and stores what it got back. The test
 * plays the vCPU loop itself, so it checks the decoded number and the
 * six 64-bit argument registers and the completed result. Skips when
 * /dev/kvm is not usable here.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "backend.h"
#include "config.h"
#include "ktap.h"
#include "machine.h"
#include "vm.h"

#define CODE_GPA	0x100000ULL
#define PAGE_GPA	0x200000ULL
#define RESULT_GPA	0x301000ULL
#define DONE_PORT	0xf0

static const uint8_t guest_code[] = {
	0xb9, 0x00, 0x00, 0x00, 0x40,			/* mov $0x40000000, %ecx */
	0xb8, 0x00, 0x00, 0x20, 0x00,			/* mov $PAGE_GPA, %eax */
	0x31, 0xd2,					/* xor %edx, %edx */
	0x0f, 0x30,					/* wrmsr */
	0x48, 0xc7, 0xc4, 0x00, 0x00, 0x30, 0x00,	/* mov $0x300000, %rsp */
	0x48, 0xc7, 0xc7, 0x11, 0x00, 0x00, 0x00,	/* mov $0x11, %rdi */
	0x48, 0xc7, 0xc6, 0x22, 0x00, 0x00, 0x00,	/* mov $0x22, %rsi */
	0x48, 0xc7, 0xc2, 0x33, 0x00, 0x00, 0x00,	/* mov $0x33, %rdx */
	0x49, 0xc7, 0xc2, 0x44, 0x00, 0x00, 0x00,	/* mov $0x44, %r10 */
	0x49, 0xc7, 0xc0, 0x55, 0x00, 0x00, 0x00,	/* mov $0x55, %r8 */
	0x49, 0xc7, 0xc1, 0x66, 0x00, 0x00, 0x00,	/* mov $0x66, %r9 */
	0x48, 0xc7, 0xc0, 0x20, 0x02, 0x20, 0x00,	/* mov $PAGE_GPA + 17 * 32, %rax */
	0xff, 0xd0,					/* call *%rax */
	0x48, 0x89, 0x04, 0x25, 0x00, 0x10, 0x30, 0x00,	/* mov %rax, RESULT_GPA */
	0xe6, DONE_PORT,				/* out %al, $DONE_PORT */
};

static bool kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void skip_case(struct ktap *t, const char *name, const char *why)
{
	t->number++;
	printf("ok %d %s # SKIP %s\n", t->number, name, why);
}

/* Run the vCPU until the guest says it is done; false on anything else. */
static bool run_guest(struct ktap *t, struct vm *vm, struct vcpu *vcpu)
{
	const struct backend_ops *ops = vm->backend->ops;
	unsigned int hcalls = 0, msrs = 0;

	for (int exits = 0; exits < 100; exits++) {
		struct kvm_run *run = vcpu->run;
		struct xen_hcall hc;

		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			printf("# KVM_RUN: %s\n", strerror(errno));
			return false;
		}
		if (ops->decode_hcall(vcpu, &hc)) {
			hcalls++;
			KTAP_EXPECT(t, hc.nr == 17 && hc.longmode && hc.cpl == 0);
			KTAP_EXPECT(t, hc.args[0] == 0x11 && hc.args[1] == 0x22 &&
				       hc.args[2] == 0x33 && hc.args[3] == 0x44 &&
				       hc.args[4] == 0x55 && hc.args[5] == 0x66);
			ops->complete_hcall(vcpu, &hc, -38);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_X86_WRMSR) {
			msrs++;
			KTAP_EXPECT(t, run->msr.index == XEN_HYPERCALL_MSR);
			KTAP_EXPECT(t, hcall_msr_exit(vcpu) == 0 && run->msr.error == 0);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == DONE_PORT)
			return hcalls == 1 && msrs == 1;
		printf("# unexpected exit %u\n", run->exit_reason);
		vcpu_dump_regs(vcpu);
		return false;
	}
	return false;
}

static void test_hypercall_through_page(struct ktap *t)
{
	const char *name = "userspace backend: MSR-installed page, out-port hypercall, result";
	struct vm_config cfg;
	struct vm *vm;
	int64_t result = 0;
	uint8_t *page;

	if (!kvm_usable()) {
		skip_case(t, name, "no usable /dev/kvm");
		return;
	}
	config_set_defaults(&cfg);
	cfg.mem_size = 64ULL << 20;
	cfg.backend = BACKEND_USERSPACE;
	vm = vm_create(&cfg);
	if (!vm || cpuid_init(vm) || backend_select(vm) || vcpus_create(vm)) {
		skip_case(t, name, "cannot create a VM here");
		goto out;
	}
	boot_write_page_tables(vm);
	guest_write(vm, CODE_GPA + 0x200, guest_code, sizeof(guest_code));
	KTAP_EXPECT(t, boot_setup_bsp(vm->vcpus[0]) == 0);
	/* A guest that never reaches its end must not hang the test run. */
	alarm(30);
	KTAP_EXPECT(t, run_guest(t, vm, vm->vcpus[0]));
	alarm(0);
	page = gpa_to_hva(vm, PAGE_GPA, 4096);
	KTAP_EXPECT(t, page && page[17 * 32] == 0xb8 && page[17 * 32 + 5] == 0xe7 &&
		       page[17 * 32 + 6] == XENKVM_HCALL_PORT);
	guest_read(vm, RESULT_GPA, &result, sizeof(result));
	KTAP_EXPECT(t, result == -38);
	ktap_case_end(t, name);
out:
	if (vm) {
		vcpus_destroy(vm);
		backend_release(vm);
		vm_destroy(vm);
	}
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 1);
	test_hypercall_through_page(&t);
	return ktap_finish(&t);
}
