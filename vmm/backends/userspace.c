// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace backend: no xenkvm.ko, no KVM_XEN. Hypercalls only work
 * through the hypercall page, whose stubs here are
 *     mov $nr, %eax; out %eax, $XENKVM_HCALL_PORT; ret
 * so each one is a port I/O exit; arguments come from KVM_GET_REGS and
 * the result goes back with KVM_SET_REGS. A guest that issues vmcall
 * directly (Debian's kernels since the hypercall page was dropped) gets
 * KVM's -ENOSYS and cannot run here.
 *
 * Events: set the bits in shared_info/vcpu_info in Xen's order, then
 * inject the upcall vector into the vCPU's LAPIC with KVM_SIGNAL_MSI.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "backend.h"
#include "machine.h"
#include "vm.h"

#define SHINFO_PENDING		2048
#define SHINFO_MASK_64		2560
#define SHINFO_MASK_32		2176
#define VCPU_INFO_SIZE		64
#define VCPU_INFO_SEL_64	8
#define VCPU_INFO_SEL_32	4
#define LEGACY_VCPU_INFOS	32
#define MSI_ADDR_BASE		0xfee00000U

struct user_backend {
	bool long_mode;
	uint64_t shared_info_gfn;	/* ~0: not set */
	uint8_t callback_vector;	/* VM-wide; 0 = none */
	uint64_t vcpu_info_gpa[VM_MAX_VCPUS];	/* ~0: slot in shared_info */
	uint8_t upcall_vector[VM_MAX_VCPUS];
};

static struct user_backend *priv(const struct vm *vm)
{
	return vm->backend->priv;
}

static int user_init(struct vm *vm)
{
	struct user_backend *ub = calloc(1, sizeof(*ub));

	if (!ub)
		return -ENOMEM;
	vm->backend->priv = ub;
	ub->long_mode = true;
	ub->shared_info_gfn = ~0ULL;
	for (unsigned int i = 0; i < VM_MAX_VCPUS; i++)
		ub->vcpu_info_gpa[i] = ~0ULL;
	fprintf(stderr, "xenkvm: userspace backend: only guests that call through the hypercall "
		"page work; guests that issue vmcall directly (e.g. Debian's kernels) need "
		"xenkvm.ko (--backend module) or a host KVM with KVM_XEN (--backend kvm)\n");
	return hcall_msr_trap_init(vm);
}

static void user_destroy(struct vm *vm)
{
	free(vm->backend->priv);
	vm->backend->priv = NULL;
}

static int user_set_long_mode(struct vm *vm, bool long_mode)
{
	priv(vm)->long_mode = long_mode;
	return 0;
}

static int user_set_shared_info(struct vm *vm, uint64_t gfn)
{
	priv(vm)->shared_info_gfn = gfn;
	return 0;
}

static int user_set_callback_vector(struct vm *vm, uint8_t vector)
{
	priv(vm)->callback_vector = vector;
	return 0;
}

static uint8_t *vcpu_info_of(struct vm *vm, uint8_t *shinfo, uint32_t vcpu_id);
static int inject_upcall(struct vm *vm, uint32_t vcpu_id);

static uint8_t *current_vcpu_info(struct vm *vm, uint32_t vcpu_id)
{
	uint64_t gfn = priv(vm)->shared_info_gfn;
	uint8_t *shinfo = gfn == ~0ULL ? NULL : gpa_to_hva(vm, gfn << 12, 4096);

	if (priv(vm)->vcpu_info_gpa[vcpu_id] == ~0ULL && !shinfo)
		return NULL;
	return vcpu_info_of(vm, shinfo, vcpu_id);
}

static int user_set_vcpu_info(struct vcpu *vcpu, uint64_t gpa)
{
	uint8_t *vi;
	uint64_t sel = 0;

	priv(vcpu->vm)->vcpu_info_gpa[vcpu->index] = gpa;
	/* Any selector bit set must be covered by evtchn_upcall_pending. */
	vi = current_vcpu_info(vcpu->vm, vcpu->index);
	if (vi) {
		memcpy(&sel, vi + (priv(vcpu->vm)->long_mode ? VCPU_INFO_SEL_64 :
				   VCPU_INFO_SEL_32), priv(vcpu->vm)->long_mode ? 8 : 4);
		if (sel)
			__atomic_store_n(vi, 1, __ATOMIC_SEQ_CST);
	}
	return 0;
}

static int user_set_upcall_vector(struct vcpu *vcpu, uint8_t vector)
{
	uint8_t *vi;

	priv(vcpu->vm)->upcall_vector[vcpu->index] = vector;
	/* As Xen does: assert the new vector now if an upcall is pending. */
	vi = current_vcpu_info(vcpu->vm, vcpu->index);
	if (vector && vi && __atomic_load_n(vi, __ATOMIC_SEQ_CST))
		return inject_upcall(vcpu->vm, vcpu->index);
	return 0;
}

static int user_set_runstate_area(struct vcpu *vcpu, uint64_t gpa)
{
	(void)vcpu; (void)gpa;
	return -EOPNOTSUPP;	/* runstate accounting is left to xen/ */
}

static uint8_t *vcpu_info_of(struct vm *vm, uint8_t *shinfo, uint32_t vcpu_id)
{
	uint64_t gpa = priv(vm)->vcpu_info_gpa[vcpu_id];

	if (gpa != ~0ULL)
		return gpa_to_hva(vm, gpa, VCPU_INFO_SIZE);
	return shinfo && vcpu_id < LEGACY_VCPU_INFOS ? shinfo + vcpu_id * VCPU_INFO_SIZE : NULL;
}

static int inject_upcall(struct vm *vm, uint32_t vcpu_id)
{
	struct user_backend *ub = priv(vm);
	uint8_t vector = ub->upcall_vector[vcpu_id] ? ub->upcall_vector[vcpu_id] :
			 ub->callback_vector;
	/* Fixed delivery, physical destination = APIC id = vCPU index. */
	struct kvm_msi msi = {
		.address_lo = MSI_ADDR_BASE | vcpu_id << 12,
		.data = vector,
	};

	if (!vector)
		return 0;	/* the guest has not asked for upcalls yet */
	return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

/* Returns the bit's old value. */
static bool test_and_set(uint8_t *words, uint32_t bit, bool wide)
{
	if (wide) {
		uint64_t *w = (uint64_t *)words + bit / 64, m = 1ULL << (bit % 64);

		return __atomic_fetch_or(w, m, __ATOMIC_SEQ_CST) & m;
	}
	uint32_t *w = (uint32_t *)words + bit / 32, m = 1U << (bit % 32);

	return __atomic_fetch_or(w, m, __ATOMIC_SEQ_CST) & m;
}

static bool test_bit(const uint8_t *words, uint32_t bit, bool wide)
{
	if (wide)
		return __atomic_load_n((const uint64_t *)words + bit / 64, __ATOMIC_SEQ_CST) &
		       (1ULL << (bit % 64));
	return __atomic_load_n((const uint32_t *)words + bit / 32, __ATOMIC_SEQ_CST) &
	       (1U << (bit % 32));
}

static int user_deliver_port(struct vm *vm, uint32_t port, uint32_t vcpu_id)
{
	struct user_backend *ub = priv(vm);
	bool wide = ub->long_mode;
	uint32_t bits = wide ? 64 : 32;
	uint8_t *shinfo, *vi;

	if (ub->shared_info_gfn == ~0ULL || vcpu_id >= vm->nr_vcpus)
		return -EINVAL;
	if (port >= bits * bits)
		return -EINVAL;
	shinfo = gpa_to_hva(vm, ub->shared_info_gfn << 12, 4096);
	if (!shinfo)
		return -EFAULT;
	/* Xen's order: pending, then mask, then selector, then upcall. */
	if (test_and_set(shinfo + SHINFO_PENDING, port, wide))
		return 0;
	if (test_bit(shinfo + (wide ? SHINFO_MASK_64 : SHINFO_MASK_32), port, wide))
		return 0;
	vi = vcpu_info_of(vm, shinfo, vcpu_id);
	if (!vi)
		return -EFAULT;
	if (test_and_set(vi + (wide ? VCPU_INFO_SEL_64 : VCPU_INFO_SEL_32), port / bits, wide))
		return 0;
	/* evtchn_upcall_pending is byte 0 of vcpu_info. */
	if (__atomic_exchange_n(vi, 1, __ATOMIC_SEQ_CST))
		return 0;
	return inject_upcall(vm, vcpu_id);
}

static bool user_decode_hcall(struct vcpu *vcpu, struct xen_hcall *hc)
{
	const struct kvm_run *run = vcpu->run;
	struct kvm_regs r;
	struct kvm_sregs s;
	uint32_t nr;

	if (run->exit_reason != KVM_EXIT_IO || run->io.port != XENKVM_HCALL_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 || run->io.count != 1)
		return false;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) || ioctl(vcpu->fd, KVM_GET_SREGS, &s))
		return false;
	memcpy(&nr, (const uint8_t *)run + run->io.data_offset, 4);
	hc->nr = nr;
	hc->longmode = (s.efer & (1 << 10)) && s.cs.l;
	hc->cpl = s.ss.dpl;
	if (hc->longmode) {
		uint64_t a[6] = { r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9 };

		memcpy(hc->args, a, sizeof(a));
	} else {
		uint64_t a[6] = { (uint32_t)r.rbx, (uint32_t)r.rcx, (uint32_t)r.rdx,
				  (uint32_t)r.rsi, (uint32_t)r.rdi, (uint32_t)r.rbp };

		memcpy(hc->args, a, sizeof(a));
	}
	return true;
}

static void user_complete_hcall(struct vcpu *vcpu, const struct xen_hcall *hc, int64_t ret)
{
	struct kvm_regs r;

	/* RIP already points past the out instruction. */
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r))
		return;
	r.rax = backend_hcall_rax(hc, ret);
	ioctl(vcpu->fd, KVM_SET_REGS, &r);
}

const struct backend_ops backend_userspace_ops = {
	.name = "userspace",
	.init = user_init,
	.destroy = user_destroy,
	.set_long_mode = user_set_long_mode,
	.set_shared_info = user_set_shared_info,
	.set_vcpu_info = user_set_vcpu_info,
	.set_upcall_vector = user_set_upcall_vector,
	.set_runstate_area = user_set_runstate_area,
	.set_callback_vector = user_set_callback_vector,
	.deliver_port = user_deliver_port,
	.decode_hcall = user_decode_hcall,
	.complete_hcall = user_complete_hcall,
};
