// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: catching the guest's vmcall/vmmcall.
 *
 * Both vendor modules hand every hypercall exit to the exported
 * kvm_emulate_hypercall(vcpu). An ftrace hook on its entry
 * (SAVE_REGS | IPMODIFY) looks the vCPU's VM up in attach.c's table; for a
 * VM attached here with XENKVM_HCALL_INTERCEPT set it rewrites the return
 * address of the trampoline to xk_hcall_handler(), which has the same
 * signature and returns to KVM's caller in its place. For every other VM
 * the hook returns without touching anything, and KVM's function runs
 * unchanged (including 6.12's own KVM_XEN path for VMs that use it).
 *
 * The hook never redirects a call made from inside this module, so the
 * module may call kvm_emulate_hypercall() itself.
 *
 * Lifetime. The hook runs with preemption disabled and only reads the
 * lookup table under RCU. The handler pins the xk_vm with
 * xk_vm.hcall_users while it works (it may sleep in SCHEDOP_poll);
 * xk_hcall_vm_teardown() marks the VM dead, waits an RCU grace period so
 * no new handler can find it, wakes pollers, and waits for hcall_users to
 * drop to zero before attach.c frees anything. A handler that finds no VM
 * (detached between hook and handler) returns 1 without skipping the
 * instruction: the guest re-executes it and the hook then leaves it to
 * KVM. Module unload runs unregister_ftrace_function(), which waits for
 * tasks in the trampoline, and then synchronize_rcu_tasks(), so that a
 * task between the last access to an xk_vm and its return from the
 * handler has left module text before the module is freed.
 *
 * Registers. Xen's conventions: 64-bit guests pass the number in rax and
 * arguments in rdi, rsi, rdx, r10, r8, r9; 32-bit guests eax and ebx, ecx,
 * edx, esi, edi, ebp. Long mode is EFER.LMA && CS.L. After an exit on both
 * SVM and VMX the GPRs are valid in vcpu->arch.regs[]. The result goes to
 * rax, truncated to 32 bits for a 32-bit caller.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/static_call.h>
#include <linux/sched/signal.h>
#include <xen/interface/xen.h>
#include <xen/interface/sched.h>
#include <xen/interface/vcpu.h>
#include <xen/interface/event_channel.h>

#include "xenkvm.h"

/* Xen's errno for "no such hypercall" (the same number as Linux's). */
#define XK_XEN_ENOSYS	38

/* -------------------------------------------------------------------- */
/* Guest memory helpers for the fast paths (vCPU thread, kvm->srcu held) */

/* Big enough for struct x86_exception of 6.1 and 6.12 (KVM-private). */
union xk_x86_exception {
	u64 space[8];
};

/*
 * Copy @len bytes from the guest virtual address @gva, one page at a time,
 * translating with the guest's current paging mode and CPL as KVM's own
 * emulator does. Returns 0 or -EFAULT; never injects a fault.
 */
int xk_read_guest_virt(struct kvm_vcpu *vcpu, u64 gva, void *buf,
		       unsigned int len)
{
	union xk_x86_exception exc;
	unsigned int off, n;
	gpa_t gpa;

	while (len) {
		off = offset_in_page(gva);
		n = min_t(unsigned int, len, PAGE_SIZE - off);
		gpa = kvm_mmu_gva_to_gpa_read(vcpu, gva,
					      (struct x86_exception *)&exc);
		if (gpa == INVALID_GPA)
			return -EFAULT;
		if (kvm_vcpu_read_guest(vcpu, gpa, buf, n))
			return -EFAULT;
		gva += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Translate one guest virtual address; INVALID_GPA if unmapped. */
gpa_t xk_gva_to_gpa(struct kvm_vcpu *vcpu, u64 gva)
{
	union xk_x86_exception exc;

	return kvm_mmu_gva_to_gpa_read(vcpu, gva, (struct x86_exception *)&exc);
}

/* -------------------------------------------------------------------- */
/* Decoding and completion                                               */

static bool xk_hcall_longmode(struct kvm_vcpu *vcpu)
{
	int db, l;

	if (!(vcpu->arch.efer & EFER_LMA))
		return false;
	static_call(kvm_x86_get_cs_db_l_bits)(vcpu, &db, &l);
	return l;
}

static void xk_hcall_decode(struct kvm_vcpu *vcpu, struct xk_hcall *hc)
{
	unsigned long *r = vcpu->arch.regs;
	int i;

	hc->longmode = xk_hcall_longmode(vcpu);
	hc->cpl = xk_get_cpl(vcpu);
	hc->nr = r[VCPU_REGS_RAX];
	if (hc->longmode) {
		hc->args[0] = r[VCPU_REGS_RDI];
		hc->args[1] = r[VCPU_REGS_RSI];
		hc->args[2] = r[VCPU_REGS_RDX];
		hc->args[3] = r[VCPU_REGS_R10];
		hc->args[4] = r[VCPU_REGS_R8];
		hc->args[5] = r[VCPU_REGS_R9];
	} else {
		hc->nr = (u32)hc->nr;
		hc->args[0] = r[VCPU_REGS_RBX];
		hc->args[1] = r[VCPU_REGS_RCX];
		hc->args[2] = r[VCPU_REGS_RDX];
		hc->args[3] = r[VCPU_REGS_RSI];
		hc->args[4] = r[VCPU_REGS_RDI];
		hc->args[5] = r[VCPU_REGS_RBP];
		for (i = 0; i < 6; i++)
			hc->args[i] = (u32)hc->args[i];
	}
	hc->ret = -XK_XEN_ENOSYS;
}

static void xk_hcall_set_result(struct kvm_vcpu *vcpu,
				const struct xk_hcall *hc)
{
	u64 v = hc->ret;

	if (!hc->longmode)
		v = (u32)v;
	vcpu->arch.regs[VCPU_REGS_RAX] = v;
	vcpu->arch.regs_avail |= BIT(VCPU_REGS_RAX);
	vcpu->arch.regs_dirty |= BIT(VCPU_REGS_RAX);
}

/*
 * Leave KVM_RUN with KVM_EXIT_XEN/KVM_EXIT_XEN_HCALL. RIP is already past
 * the instruction; the VMM answers through sync regs (uapi header).
 */
static int xk_hcall_exit_to_user(struct kvm_vcpu *vcpu, struct xk_vm *xvm,
				 const struct xk_hcall *hc)
{
	struct kvm_run *run = vcpu->run;
	int i;

	/*
	 * Advancing RIP first may turn into a KVM_EXIT_DEBUG for a host
	 * single-stepping the guest; the hypercall exit takes precedence
	 * (it is rewritten below), the single-step stop is lost. Any other
	 * stop means the skip itself failed (without NRIPS, KVM decodes the
	 * instruction again and may not be able to): RIP has not moved, so
	 * leave with KVM's emulation-failure exit rather than let the VMM
	 * complete a call that the guest would then make a second time.
	 */
	run->exit_reason = KVM_EXIT_UNKNOWN;
	if (!kvm_skip_emulated_instruction(vcpu) &&
	    run->exit_reason != KVM_EXIT_DEBUG)
		return 0;

	/* Until the VMM answers, the guest would see -ENOSYS. */
	vcpu->arch.regs[VCPU_REGS_RAX] = hc->longmode ? (u64)-XK_XEN_ENOSYS :
						       (u32)-XK_XEN_ENOSYS;

	run->exit_reason = KVM_EXIT_XEN;
	run->xen.type = KVM_EXIT_XEN_HCALL;
	run->xen.u.hcall.longmode = hc->longmode;
	run->xen.u.hcall.cpl = hc->cpl;
	run->xen.u.hcall.input = hc->nr;
	run->xen.u.hcall.result = 0;
	for (i = 0; i < 6; i++)
		run->xen.u.hcall.params[i] = hc->args[i];
	xk_stat_inc(xvm, hcalls_to_user);
	return 0;
}

/* -------------------------------------------------------------------- */
/* Dispatch                                                              */

static enum xk_hc_action xk_hcall_event_channel_op(struct xk_vm *xvm,
						   struct xk_vcpu *xv,
						   struct xk_hcall *hc)
{
	struct evtchn_send send;

	if (hc->args[0] != EVTCHNOP_send)
		return XK_HC_USER;
	if (!(READ_ONCE(xvm->fast_paths) & XENKVM_FAST_EVTCHN_SEND))
		return XK_HC_USER;
	if (xk_read_guest_virt(xv->vcpu, hc->args[1], &send, sizeof(send))) {
		hc->ret = -EFAULT;
		return XK_HC_DONE;
	}
	return xk_send_fast(xvm, xv, send.port, hc);
}

static enum xk_hc_action xk_hcall_sched_op(struct xk_vm *xvm,
					   struct xk_vcpu *xv,
					   struct xk_hcall *hc)
{
	switch (hc->args[0]) {
	case SCHEDOP_yield:
		return xk_sched_yield(xvm, xv, hc);
	case SCHEDOP_block:
		return xk_sched_block(xvm, xv, hc);
	case SCHEDOP_poll:
		return xk_sched_poll(xvm, xv, hc);
	default:
		return XK_HC_USER;
	}
}

static enum xk_hc_action xk_hcall_vcpu_op(struct xk_vm *xvm,
					  struct xk_vcpu *xv,
					  struct xk_hcall *hc)
{
	switch (hc->args[0]) {
	case VCPUOP_set_singleshot_timer:
	case VCPUOP_stop_singleshot_timer:
		return xk_timer_vcpu_op(xvm, xv, hc);
	case VCPUOP_register_runstate_memory_area:
		return xk_runstate_vcpu_op(xvm, xv, hc);
	default:
		return XK_HC_USER;
	}
}

static enum xk_hc_action xk_hcall_dispatch(struct xk_vm *xvm,
					   struct xk_vcpu *xv,
					   struct xk_hcall *hc)
{
	/* Xen refuses hypercalls from guest user mode. */
	if (hc->cpl) {
		hc->ret = -EPERM;
		return XK_HC_DONE;
	}
	/*
	 * Fast paths need to know the caller's Xen vCPU, initialised
	 * (acquire pairs with the release in xk_hcall_vcpu_init()).
	 */
	if (!xv || !smp_load_acquire(&xv->hcall_ready) ||
	    READ_ONCE(xv->xen_vcpu_id) >= XK_MAX_VCPUS)
		return XK_HC_USER;

	switch (hc->nr) {
	case __HYPERVISOR_event_channel_op:
		return xk_hcall_event_channel_op(xvm, xv, hc);
	case __HYPERVISOR_sched_op:
		return xk_hcall_sched_op(xvm, xv, hc);
	case __HYPERVISOR_vcpu_op:
		return xk_hcall_vcpu_op(xvm, xv, hc);
	case __HYPERVISOR_set_timer_op:
		return xk_timer_set_timer_op(xvm, xv, hc);
	default:
		return XK_HC_USER;
	}
}

/* Find and pin the VM if its hypercalls are ours; NULL otherwise. */
static struct xk_vm *xk_hcall_get_vm(struct kvm *kvm)
{
	struct xk_vm *xvm;

	rcu_read_lock();
	xvm = xk_vm_lookup(kvm);
	if (xvm) {
		/* Acquire: the flag is published after hcall_wq is set up. */
		u32 flags = smp_load_acquire(&xvm->hcall_flags);

		if (READ_ONCE(xvm->dead) || !(flags & XENKVM_HCALL_INTERCEPT))
			xvm = NULL;
	}
	if (xvm)
		atomic_inc(&xvm->hcall_users);
	rcu_read_unlock();
	return xvm;
}

static void xk_hcall_put_vm(struct xk_vm *xvm)
{
	/* xk_vm is freed after a grace period: safe to wake under RCU. */
	rcu_read_lock();
	if (atomic_dec_and_test(&xvm->hcall_users))
		wake_up_all(&xvm->hcall_wq);
	rcu_read_unlock();
}

/*
 * Runs in place of kvm_emulate_hypercall() on the vCPU thread, preemption
 * enabled, kvm->srcu held. Returns what KVM's function would: 1 to
 * re-enter the guest, 0 to return to userspace with vcpu->run filled.
 */
static int xk_hcall_handler(struct kvm_vcpu *vcpu)
{
	struct xk_hcall hc;
	struct xk_vcpu *xv;
	struct xk_vm *xvm;
	enum xk_hc_action act;
	int r;

	xvm = xk_hcall_get_vm(vcpu->kvm);
	if (!xvm)
		return 1;	/* re-executed, then KVM's */

	xk_hcall_decode(vcpu, &hc);
	xv = xk_vcpu_by_kvm_vcpu(xvm, vcpu);
	act = xk_hcall_dispatch(xvm, xv, &hc);
	/* A sleepable point on the vCPU thread: catch the runstate up. */
	if (xv && smp_load_acquire(&xv->hcall_ready)) /* vcpu_init's release */
		xk_runstate_sync(xv);

	switch (act) {
	case XK_HC_DONE:
	case XK_HC_HALT:
		xk_stat_inc(xvm, hcalls_in_kernel);
		r = kvm_skip_emulated_instruction(vcpu);
		xk_hcall_set_result(vcpu, &hc);
		if (act == XK_HC_HALT && r)
			r = kvm_emulate_halt_noskip(vcpu);
		break;
	case XK_HC_INTR:
		/*
		 * RIP unchanged. Back in vcpu_run() KVM sees the pending
		 * signal and leaves KVM_RUN with -EINTR and KVM_EXIT_INTR;
		 * the guest makes the call again when it next runs.
		 */
		r = 1;
		break;
	case XK_HC_USER:
	default:
		r = xk_hcall_exit_to_user(vcpu, xvm, &hc);
		break;
	}
	xk_hcall_put_vm(xvm);
	return r;
}

/* -------------------------------------------------------------------- */
/* The ftrace hook                                                       */

static unsigned long xk_hook_target;

static void notrace xk_hook(unsigned long ip, unsigned long parent_ip,
			    struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	struct kvm_vcpu *vcpu;
	struct xk_vm *xvm;
	bool ours = false;
	int bit;

	if (!regs)
		return;
	/* Calls made by this module itself go to KVM. */
	if (within_module(parent_ip, THIS_MODULE))
		return;
	bit = ftrace_test_recursion_trylock(ip, parent_ip);
	if (bit < 0)
		return;

	vcpu = (struct kvm_vcpu *)regs->di;
	rcu_read_lock();
	xvm = xk_vm_lookup(vcpu->kvm);
	if (xvm && !READ_ONCE(xvm->dead) &&
	    (READ_ONCE(xvm->hcall_flags) & XENKVM_HCALL_INTERCEPT))
		ours = true;
	rcu_read_unlock();
	if (ours)
		regs->ip = (unsigned long)xk_hcall_handler;

	ftrace_test_recursion_unlock(bit);
}

static struct ftrace_ops xk_hook_ops = {
	.func = xk_hook,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY,
};

int xk_hypercall_init(void)
{
	int r;

	r = xk_ksyms_init();
	if (r)
		return r;
	r = xk_runstate_init();
	if (r)
		return r;

	xk_hook_target = (unsigned long)kvm_emulate_hypercall;
	r = ftrace_set_filter_ip(&xk_hook_ops, xk_hook_target, 0, 0);
	if (r) {
		pr_err("cannot hook kvm_emulate_hypercall: ftrace_set_filter_ip: %d\n",
		       r);
		return r;
	}
	r = register_ftrace_function(&xk_hook_ops);
	if (r) {
		pr_err("cannot hook kvm_emulate_hypercall: register_ftrace_function: %d%s\n",
		       r, r == -EBUSY ? " (another IPMODIFY user, e.g. a livepatch?)" : "");
		ftrace_set_filter_ip(&xk_hook_ops, xk_hook_target, 1, 0);
		return r;
	}
	return 0;
}

void xk_hypercall_exit(void)
{
	/* Waits for every task still inside the trampoline. */
	unregister_ftrace_function(&xk_hook_ops);
	ftrace_set_filter_ip(&xk_hook_ops, xk_hook_target, 1, 0);
	xk_runstate_exit();
	/* ... and for every task still returning through the handler. */
	synchronize_rcu_tasks();
	/* send.c frees ports with call_rcu(). */
	rcu_barrier();
}

/* -------------------------------------------------------------------- */
/* Attributes and per-VM / per-vCPU lifetime                             */

/* First interception: the handler's per-VM state. Under xvm->lock. */
static void xk_hcall_vm_prepare(struct xk_vm *xvm)
{
	if (xvm->hcall_ready)
		return;
	atomic_set(&xvm->hcall_users, 0);
	init_waitqueue_head(&xvm->hcall_wq);
	atomic_set(&xvm->pollers, 0);
	xvm->hcall_ready = true;
}

void xk_hcall_vm_init(struct xk_vm *xvm)
{
	xk_hcall_vm_prepare(xvm);
	xk_send_vm_init(xvm);
}

/*
 * Called by attach.c on detach, process context, after xvm->dead is set
 * and before any xk_vcpu or the xk_vm is freed (the xk_vm itself must be
 * freed after an RCU grace period).
 */
void xk_hcall_vm_teardown(struct xk_vm *xvm)
{
	struct xk_vcpu *xv;
	unsigned long i;

	WRITE_ONCE(xvm->dead, true);
	WRITE_ONCE(xvm->hcall_flags, 0);
	synchronize_rcu();
	if (xvm->hcall_ready) {
		/* Wake pollers so they see dead and return. */
		xa_for_each(&xvm->vcpu_xa, i, xv)
			kvm_vcpu_wake_up(xv->vcpu);
		wait_event(xvm->hcall_wq, !atomic_read(&xvm->hcall_users));
	}
	xa_for_each(&xvm->vcpu_xa, i, xv)
		xk_hcall_vcpu_teardown(xv);
	xk_send_vm_teardown(xvm);
}

/*
 * When an xk_vcpu is created (attach.c, xvm->lock held), before or after
 * it is published; the handler ignores it until @hcall_ready is set.
 */
void xk_hcall_vcpu_init(struct xk_vcpu *xv)
{
	if (xv->hcall_ready)
		return;
	xk_timer_vcpu_init(xv);
	xk_runstate_vcpu_init(xv);
	WRITE_ONCE(xv->poll_port, U32_MAX);
	/* Release: readers acquire before touching the state above. */
	smp_store_release(&xv->hcall_ready, true);
}

/*
 * Process context, no handler running for the VM any more (after
 * xk_hcall_vm_teardown() waited them out). Idempotent.
 */
void xk_hcall_vcpu_teardown(struct xk_vcpu *xv)
{
	if (!xv->hcall_ready)
		return;
	xk_timer_vcpu_teardown(xv);
	xk_runstate_vcpu_teardown(xv);
}

/*
 * XENKVM_SET_ATTR types this file owns. Process context, xvm->lock held.
 * Returns -ENOIOCTLCMD for types it does not own.
 */
int xk_hcall_set_attr(struct xk_vm *xvm, const struct xenkvm_attr *attr)
{
	switch (attr->type) {
	case XENKVM_ATTR_HCALL:
		if (attr->u.hcall.flags & ~XENKVM_HCALL_INTERCEPT)
			return -EINVAL;
		if (memchr_inv((const u8 *)&attr->u + sizeof(attr->u.hcall), 0,
			       sizeof(attr->u) - sizeof(attr->u.hcall)))
			return -EINVAL;
		xk_hcall_vm_prepare(xvm);
		if (attr->u.hcall.flags & XENKVM_HCALL_INTERCEPT) {
			/* vcpu_info.time and runstate follow vCPU load/put. */
			int r = xk_runstate_hooks_get();

			if (r)
				return r;
		}
		/* Publish after the state the handler uses is ready. */
		smp_store_release(&xvm->hcall_flags, attr->u.hcall.flags);
		return 0;
	case XENKVM_ATTR_FAST_PATHS:
		if (attr->u.fast_paths & ~XENKVM_FAST_ALL)
			return -EINVAL;
		if (memchr_inv((const u8 *)&attr->u + sizeof(attr->u.fast_paths),
			       0, sizeof(attr->u) - sizeof(attr->u.fast_paths)))
			return -EINVAL;
		WRITE_ONCE(xvm->fast_paths, attr->u.fast_paths);
		return 0;
	case XENKVM_ATTR_EVTCHN:
		return xk_send_set_port(xvm, attr);
	case XENKVM_ATTR_EVTCHN_RESET:
		if (memchr_inv(&attr->u, 0, sizeof(attr->u)))
			return -EINVAL;
		xk_send_reset(xvm);
		return 0;
	default:
		return -ENOIOCTLCMD;
	}
}

int xk_hcall_get_attr(struct xk_vm *xvm, struct xenkvm_attr *attr)
{
	switch (attr->type) {
	case XENKVM_ATTR_HCALL:
		memset(&attr->u, 0, sizeof(attr->u));
		attr->u.hcall.flags = READ_ONCE(xvm->hcall_flags);
		return 0;
	case XENKVM_ATTR_FAST_PATHS:
		memset(&attr->u, 0, sizeof(attr->u));
		attr->u.fast_paths = READ_ONCE(xvm->fast_paths);
		return 0;
	case XENKVM_ATTR_EVTCHN:
		return xk_send_get_port(xvm, attr);
	default:
		return -ENOIOCTLCMD;
	}
}

/* XENKVM_VCPU_{SET,GET}_ATTR types this file owns; -ENOIOCTLCMD else. */
int xk_hcall_vcpu_set_attr(struct xk_vcpu *xv,
			   const struct xenkvm_vcpu_attr *attr)
{
	switch (attr->type) {
	case XENKVM_VCPU_ATTR_TIMER:
		xk_hcall_vcpu_init(xv);
		return xk_timer_set_attr(xv, attr);
	case XENKVM_VCPU_ATTR_RUNSTATE_ADDR:
	case XENKVM_VCPU_ATTR_RUNSTATE_DATA:
		xk_hcall_vcpu_init(xv);
		return xk_runstate_set_attr(xv, attr);
	default:
		return -ENOIOCTLCMD;
	}
}

int xk_hcall_vcpu_get_attr(struct xk_vcpu *xv, struct xenkvm_vcpu_attr *attr)
{
	switch (attr->type) {
	case XENKVM_VCPU_ATTR_TIMER:
		return xk_timer_get_attr(xv, attr);
	case XENKVM_VCPU_ATTR_RUNSTATE_ADDR:
	case XENKVM_VCPU_ATTR_RUNSTATE_DATA:
		return xk_runstate_get_attr(xv, attr);
	default:
		return -ENOIOCTLCMD;
	}
}
