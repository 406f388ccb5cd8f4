// SPDX-License-Identifier: GPL-2.0
/*
 * What the guest sees of the CPU: KVM's supported CPUID, with Xen's leaves
 * at 0x40000000 in place of KVM's own signature (a Xen guest must find
 * "XenVMMXenVMM" and must not find KVM's paravirt features), and the
 * per-vCPU APIC and Xen vCPU ids. Also the hypercall page MSR for the
 * backends where KVM_XEN does not write the page itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>
#include <xen/arch-x86/cpuid.h>

#include "backend.h"
#include "config.h"
#include "machine.h"
#include "vm.h"

#define XEN_CPUID_MAX_LEAF	(XEN_CPUID_BASE + 4)
#define HYPERVISOR_RANGE_END	0x4fffffffU
#define CPUID_MAX_ENTRIES	512

int cpuid_init(struct vm *vm)
{
	for (unsigned int n = 64; n <= CPUID_MAX_ENTRIES; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (!ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c)) {
			vm->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG) {
			fprintf(stderr, "xenkvm: KVM_GET_SUPPORTED_CPUID: %s\n", strerror(errno));
			return -errno;
		}
	}
	return -E2BIG;
}

static struct kvm_cpuid_entry2 *add_entry(struct kvm_cpuid2 *c, uint32_t fn,
					  uint32_t index, bool indexed)
{
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = index;
	e->flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	return e;
}

static void add_xen_leaves(struct kvm_cpuid2 *c, const struct vm *vm, unsigned int vcpu_id)
{
	struct kvm_cpuid_entry2 *e;

	e = add_entry(c, XEN_CPUID_BASE, 0, false);
	e->eax = XEN_CPUID_MAX_LEAF;
	memcpy(&e->ebx, "XenV", 4);
	memcpy(&e->ecx, "MMXe", 4);
	memcpy(&e->edx, "nVMM", 4);

	e = add_entry(c, XEN_CPUID_BASE + 1, 0, false);
	e->eax = vm->cfg->xen_major << 16 | vm->cfg->xen_minor;

	/* One hypercall page, installed by writing its gpa to this MSR. */
	e = add_entry(c, XEN_CPUID_BASE + 2, 0, false);
	e->eax = 1;
	e->ebx = XEN_HYPERCALL_MSR;

	/* Time leaf: all zero (no vTSC, no TSC mode); KVM_XEN fills 1 and 2. */
	for (uint32_t sub = 0; sub < 3; sub++)
		add_entry(c, XEN_CPUID_BASE + 3, sub, true);

	e = add_entry(c, XEN_CPUID_BASE + 4, 0, true);
	e->eax = XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_UPCALL_VECTOR;
	e->ebx = vcpu_id;
}

/* The guest's CPUID for one vCPU: KVM's list with our changes. */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct vm *vm, unsigned int vcpu_id)
{
	const struct kvm_cpuid2 *src = vm->cpuid;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (src->nent + 8) * sizeof(c->entries[0]));
	uint32_t apic_id = vcpu_id;

	if (!c)
		return NULL;
	for (uint32_t i = 0; i < src->nent; i++) {
		struct kvm_cpuid_entry2 e = src->entries[i];

		if (e.function >= XEN_CPUID_BASE && e.function <= HYPERVISOR_RANGE_END)
			continue;
		switch (e.function) {
		case 1:
			e.ebx = (e.ebx & 0x00ffffff) | apic_id << 24;
			break;
		case 0xb:
		case 0x1f:
			e.edx = apic_id;
			break;
		case 0x8000001e:
			e.eax = apic_id;
			break;
		}
		c->entries[c->nent++] = e;
	}
	add_xen_leaves(c, vm, vcpu_id);
	return c;
}

int cpuid_setup_vcpu(struct vcpu *vcpu)
{
	struct kvm_cpuid2 *c = cpuid_for_vcpu(vcpu->vm, vcpu->index);
	int ret;

	if (!c)
		return -ENOMEM;
	ret = ioctl(vcpu->fd, KVM_SET_CPUID2, c) ? -errno : 0;
	free(c);
	return ret;
}

/* ---- the hypercall page MSR ------------------------------------------ */

int hcall_msr_trap_init(struct vm *vm)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args[0] = KVM_MSR_EXIT_REASON_FILTER,
	};
	uint8_t deny = 0;	/* bit clear: the access is filtered out to us */
	struct kvm_msr_filter filter = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges[0] = {
			.flags = KVM_MSR_FILTER_WRITE,
			.base = XEN_HYPERCALL_MSR,
			.nmsrs = 1,
			.bitmap = &deny,
		},
	};

	if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) <= 0 ||
	    ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) ||
	    ioctl(vm->vm_fd, KVM_X86_SET_MSR_FILTER, &filter)) {
		fprintf(stderr, "xenkvm: cannot trap the hypercall MSR (KVM_X86_SET_MSR_FILTER): %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

void hcall_page_fill(uint8_t *page, const uint8_t *insn, size_t insn_len)
{
	/* int3 between stubs: a jump into the middle of the page traps. */
	memset(page, 0xcc, 4096);
	for (uint32_t nr = 0; nr < 4096 / 32; nr++) {
		uint8_t *p = page + nr * 32;

		*p++ = 0xb8;			/* mov $nr, %eax */
		memcpy(p, &nr, 4);
		p += 4;
		memcpy(p, insn, insn_len);	/* trap to the hypervisor */
		p += insn_len;
		*p = 0xc3;			/* ret */
	}
}

static bool cpu_is_amd(const struct vm *vm)
{
	for (uint32_t i = 0; i < vm->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];

		if (e->function == 0)
			return !memcmp(&e->ebx, "Auth", 4) || !memcmp(&e->ebx, "Hygo", 4);
	}
	return false;
}

static void hcall_page_insn(const struct vm *vm, uint8_t insn[3], size_t *len)
{
	static const uint8_t vmcall[3] = { 0x0f, 0x01, 0xc1 };
	static const uint8_t vmmcall[3] = { 0x0f, 0x01, 0xd9 };
	static const uint8_t out_port[2] = { 0xe7, XENKVM_HCALL_PORT };

	if (vm->backend->ops == &backend_userspace_ops) {
		memcpy(insn, out_port, 2);
		*len = 2;
	} else {
		memcpy(insn, cpu_is_amd(vm) ? vmmcall : vmcall, 3);
		*len = 3;
	}
}

static int write_hypercall_page(struct vcpu *vcpu, uint64_t val)
{
	struct vm *vm = vcpu->vm;
	uint64_t gpa = val & ~0xfffULL;
	uint8_t *page = gpa_to_hva(vm, gpa, 4096);
	struct kvm_sregs sregs;
	uint8_t insn[3];
	size_t len;

	/* Only page 0 of the one-page area exists (CPUID 0x40000002). */
	if ((val & 0xfff) || !page)
		return -1;
	hcall_page_insn(vm, insn, &len);
	hcall_page_fill(page, insn, len);
	/* As on Xen, the mode at this write picks the shared_info layout. */
	if (!ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) && vm->backend->ops->set_long_mode)
		vm->backend->ops->set_long_mode(vm, !!(sregs.efer & (1 << 10)));
	return 0;
}

int hcall_msr_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (run->exit_reason == KVM_EXIT_X86_WRMSR && run->msr.index == XEN_HYPERCALL_MSR) {
		/* A bad page address is the guest's error: #GP, as on Xen. */
		run->msr.error = write_hypercall_page(vcpu, run->msr.data) ? 1 : 0;
		return 0;
	}
	run->msr.error = 1;
	if (run->exit_reason == KVM_EXIT_X86_RDMSR)
		run->msr.data = 0;
	return 0;
}
