/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Backends: how hypercalls reach the VMM and how events reach the guest.
 *
 *   module     xenkvm.ko catches vmcall/vmmcall and delivers event channels
 *              in-kernel (include/uapi/linux/xenkvm.h)
 *   kvm        the host kernel's own KVM_XEN (KVM_CAP_XEN_HVM)
 *   userspace  neither: hypercalls arrive through the hypercall page as a
 *              port I/O exit; the VMM sets event bits and injects vectors
 *
 * The Xen ABI code (xen/) calls these operations and never asks which
 * backend it runs on.
 */
#ifndef XENKVM_VMM_BACKEND_H
#define XENKVM_VMM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct kvm_run;

/* A hypercall as the guest made it, decoded for the ABI in use. */
struct xen_hcall {
	uint64_t nr;
	uint64_t args[6];
	bool longmode;
	int cpl;
};

/* What an EVTCHNOP_send the kernel side answers does (bind_port). */
struct evtchn_send_target {
	int eventfd;		/* >= 0: signal it (a VMM device backend) */
	uint32_t port;		/* otherwise raise this port ... */
	uint32_t vcpu_id;	/* ... on this Xen vCPU, by 2-level rules */
};

struct backend_ops {
	const char *name;
	/* After KVM_CREATE_VM and the memslots, before the vCPUs. */
	int (*init)(struct vm *vm);
	int (*init_vcpu)(struct vcpu *vcpu);
	void (*destroy)(struct vm *vm);
	/* Guest configuration the kernel side must know. */
	int (*set_long_mode)(struct vm *vm, bool long_mode);
	int (*set_shared_info)(struct vm *vm, uint64_t gfn);
	/*
	 * The per-vCPU ops below (and set_timer_port) may be called on the
	 * thread of another vCPU while @vcpu sits in KVM_RUN: Linux places
	 * an AP's vcpu_info and binds its VIRQ_TIMER from the BSP before it
	 * sends the AP INIT/SIPI. A vCPU-fd ioctl would wait for the AP's
	 * vcpu->mutex, held by a KVM_RUN that only the SIPI ends: defer to
	 * the vCPU's own thread (kick it out of KVM_RUN) instead.
	 */
	int (*set_vcpu_info)(struct vcpu *vcpu, uint64_t gpa);
	int (*set_upcall_vector)(struct vcpu *vcpu, uint8_t vector);
	int (*set_runstate_area)(struct vcpu *vcpu, uint64_t gpa);
	/*
	 * HVM_PARAM_CALLBACK_IRQ of type vector: one vector for every vCPU,
	 * delivered without a LAPIC EOI (the guest does not ack it). May be
	 * NULL; then use set_upcall_vector on each vCPU.
	 */
	int (*set_callback_vector)(struct vm *vm, uint8_t vector);
	/* Raise @port on Xen vCPU @vcpu_id now (2-level semantics). */
	int (*deliver_port)(struct vm *vm, uint32_t port, uint32_t vcpu_id);
	/*
	 * Let the kernel side answer EVTCHNOP_send on @send_port itself,
	 * doing what @to says (IPI, loopback interdomain, eventfd backend).
	 * The caller unbinds a bound port before giving it a new target.
	 * May be NULL or fail: the sends then exit to the VMM, still correct.
	 */
	int (*bind_port)(struct vm *vm, uint32_t send_port,
			 const struct evtchn_send_target *to);
	int (*unbind_port)(struct vm *vm, uint32_t send_port);
	/*
	 * VIRQ_TIMER of @vcpu is now bound to @port (0: unbound), for a
	 * kernel side that runs Xen timers itself; may be NULL.
	 */
	int (*set_timer_port)(struct vcpu *vcpu, uint32_t port);
	/*
	 * Decode a KVM exit into a hypercall; returns true if it was one.
	 * Then complete_hcall() stores the result before the next KVM_RUN.
	 */
	bool (*decode_hcall)(struct vcpu *vcpu, struct xen_hcall *hc);
	void (*complete_hcall)(struct vcpu *vcpu, const struct xen_hcall *hc,
			       int64_t ret);
};

struct backend {
	const struct backend_ops *ops;
	void *priv;
};

/*
 * The module and KVM_XEN report a hypercall in the same KVM_EXIT_XEN
 * layout; one decoder serves both. Returns false for any other exit.
 */
bool backend_decode_xen_exit(const struct kvm_run *run, struct xen_hcall *hc);
/* A hypercall's return value as the guest's RAX holds it (32-bit: eax). */
uint64_t backend_hcall_rax(const struct xen_hcall *hc, int64_t ret);

extern const struct backend_ops backend_module_ops;
extern const struct backend_ops backend_kvm_ops;
extern const struct backend_ops backend_userspace_ops;

#endif
