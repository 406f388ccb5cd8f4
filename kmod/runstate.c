// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: the Xen runstate area (XENKVM_FAST_RUNSTATE).
 *
 * State machine. A vCPU with a runstate area is RUNSTATE_running while
 * KVM has it loaded on a CPU, RUNSTATE_runnable while it is preempted
 * (scheduled out while still runnable), and RUNSTATE_blocked otherwise
 * (halted, polling, or back in the VMM). The transitions are taken from
 * KVM itself: an ftrace hook (no IPMODIFY) on kvm_arch_vcpu_load() -
 * called by vcpu_load() and KVM's preempt notifier on sched-in - switches
 * to running, and one on kvm_arch_vcpu_put() - vcpu_put() and sched-out,
 * after KVM set vcpu->preempted - switches to runnable or blocked. The
 * hooks are registered when the first runstate area is set and stay until
 * unload; for VMs without an area they cost one RCU table lookup.
 *
 * Times are Xen system time. Each switch adds the interval since the
 * last one, measured on the host's CLOCK_MONOTONIC, to time[old state]
 * and to state_entry_time; the first switch anchors state_entry_time at
 * the VM's kvmclock (see xk_rs_account_locked()). So the times only grow
 * and their sum is always state_entry_time (the VMM must keep that
 * invariant in XENKVM_VCPU_ATTR_RUNSTATE_DATA, which checks it).
 *
 * Guest copy. The area may cross a page boundary, and the two pages may
 * be absent. Every write pins the page(s) with get_user_pages_fast_only()
 * (lockless, usable with IRQs off) first; if either cannot be pinned,
 * nothing at all is written and the area is marked dirty, so the guest
 * keeps seeing the previous complete value. With both pinned, the write
 * follows Xen's protocol: state_entry_time | XEN_RUNSTATE_UPDATE, write
 * barrier, the whole structure (still flagged), write barrier,
 * state_entry_time without the flag. A reader that sees the flag clear
 * and the same state_entry_time before and after its copy has a
 * consistent snapshot. The vCPU thread (hypercalls) and the ioctl fault
 * the pages in (get_user_pages_fast) and then write, which catches up a
 * dirty area. Only the VM's own process can do any of this
 * (current->mm == kvm->mm); the hooks check.
 *
 * The userspace addresses of the pages are resolved on the vCPU thread or
 * in the ioctl (under kvm->srcu) and re-resolved there when the memslot
 * generation changes; the atomic hooks use the last resolution. A stale
 * address is still memory of the VM's own process, never the kernel's.
 *
 * Layouts (Xen ABI): 64-bit state @0 (u32, padded), state_entry_time @8,
 * time[4] @16, 48 bytes; 32-bit state @0, state_entry_time @4,
 * time[4] @12, 44 bytes. xk_vm.long_mode picks one.
 *
 * Locking. xk_vcpu.rs_lock (raw spinlock, IRQ-safe: the sched-out hook
 * runs under the runqueue lock) guards every rs_* field and serialises the
 * guest writes. Contexts: hooks (atomic, vCPU thread), hypercall (vCPU
 * thread, may sleep outside the lock), ioctl (may sleep outside the lock).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/nospec.h>
#include <linux/ftrace.h>
#include <linux/mm.h>
#include <linux/page-flags.h>
#include <xen/interface/xen.h>
#include <xen/interface/vcpu.h>

#include "xenkvm.h"

#define XK_RS_SIZE_64	48
#define XK_RS_SIZE_32	44
#define XK_RS_MAX	XK_RS_SIZE_64

static unsigned int xk_rs_size(struct xk_vm *xvm)
{
	return READ_ONCE(xvm->long_mode) ? XK_RS_SIZE_64 : XK_RS_SIZE_32;
}

static unsigned int xk_rs_entry_off(struct xk_vm *xvm)
{
	return READ_ONCE(xvm->long_mode) ? 8 : 4;
}

/* The guest image of the area, with @entry as state_entry_time. */
static void xk_rs_build(struct xk_vcpu *xv, u8 *buf, u64 entry)
{
	u32 state = xv->rs_state;
	unsigned int toff;

	memset(buf, 0, XK_RS_MAX);
	memcpy(buf, &state, sizeof(state));
	memcpy(buf + xk_rs_entry_off(xv->xvm), &entry, sizeof(entry));
	toff = READ_ONCE(xv->xvm->long_mode) ? 16 : 12;
	memcpy(buf + toff, xv->rs_time, sizeof(xv->rs_time));
}

/* Copy into the pinned area at [off, off + n), split at the page end. */
static void xk_rs_copy(u8 *kva[2], unsigned int len0, unsigned int off,
		       const u8 *src, unsigned int n)
{
	while (n) {
		unsigned int chunk;
		u8 *dst;

		if (off < len0) {
			dst = kva[0] + off;
			chunk = min(n, len0 - off);
		} else {
			dst = kva[1] + (off - len0);
			chunk = n;
		}
		memcpy(dst, src, chunk);
		off += chunk;
		src += chunk;
		n -= chunk;
	}
}

/*
 * Write the area; rs_lock held, any context. False (nothing written) if
 * a page could not be pinned without sleeping.
 */
static bool xk_rs_write_locked(struct xk_vcpu *xv)
{
	struct xk_vm *xvm = xv->xvm;
	unsigned int size = xk_rs_size(xvm), eoff = xk_rs_entry_off(xvm);
	unsigned int npages = xv->rs_len0 < size ? 2 : 1;
	struct page *pages[2] = { NULL, NULL };
	u8 buf[XK_RS_MAX], *kva[2] = { NULL, NULL };
	u64 flagged;
	unsigned int i;
	bool ok = false;

	if (xv->rs_gpa == INVALID_GPA)
		return true;
	if (current->mm != xvm->kvm->mm)
		goto out;
	for (i = 0; i < npages; i++) {
		unsigned long hva = xv->rs_hva[i];

		if (kvm_is_error_hva(hva) ||
		    get_user_pages_fast_only(hva & PAGE_MASK, 1, FOLL_WRITE,
					     &pages[i]) != 1) {
			pages[i] = NULL;
			goto out;
		}
		kva[i] = page_address(pages[i]) + offset_in_page(hva);
	}

	flagged = xv->rs_entry_time | XEN_RUNSTATE_UPDATE;
	xk_rs_copy(kva, xv->rs_len0, eoff, (u8 *)&flagged, sizeof(flagged));
	smp_wmb();	/* the guest sees the flag before any new field */
	xk_rs_build(xv, buf, flagged);
	xk_rs_copy(kva, xv->rs_len0, 0, buf, size);
	smp_wmb();	/* ... and every new field before the flag clears */
	xk_rs_copy(kva, xv->rs_len0, eoff, (u8 *)&xv->rs_entry_time,
		   sizeof(xv->rs_entry_time));
	ok = true;
out:
	for (i = 0; i < npages; i++) {
		if (!pages[i])
			continue;
		SetPageDirty(pages[i]);
		put_page(pages[i]);
	}
	xv->rs_dirty = !ok;
	return ok;
}

/*
 * Account up to now and enter @state; rs_lock held, any context.
 *
 * Intervals are measured on the host's CLOCK_MONOTONIC, which never goes
 * backwards and needs no guest state; the first interval is anchored at
 * the VM's kvmclock (Xen system time) so that state_entry_time starts out
 * as Xen time. Deriving each "now" from the guest TSC instead is not
 * safe here: the load hook runs before KVM re-synchronises an unstable
 * TSC, and one sample from the future would stall the accounting.
 */
static void xk_rs_account_locked(struct xk_vcpu *xv, int state)
{
	struct kvm *kvm = xv->xvm->kvm;
	u64 host = ktime_get_ns();
	s64 anchor;

	if (!xv->rs_host_ns) {
		/* Xen time now: the kvmclock base KVM uses, plus its offset. */
		anchor = ktime_get_boottime_ns() +
			 READ_ONCE(kvm->arch.kvmclock_offset);
		if (anchor > 0 && (u64)anchor > xv->rs_entry_time) {
			xv->rs_time[xv->rs_state] += anchor - xv->rs_entry_time;
			xv->rs_entry_time = anchor;
		}
	} else if (host > xv->rs_host_ns) {
		xv->rs_time[xv->rs_state] += host - xv->rs_host_ns;
		xv->rs_entry_time += host - xv->rs_host_ns;
	}
	xv->rs_host_ns = host;
	xv->rs_state = state;
}

static bool xk_rs_enabled(struct xk_vcpu *xv)
{
	return (READ_ONCE(xv->xvm->fast_paths) & XENKVM_FAST_RUNSTATE) &&
	       READ_ONCE(xv->rs_gpa) != INVALID_GPA;
}

/* Hooks: atomic. */
static void xk_rs_switch(struct xk_vcpu *xv, int state)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&xv->rs_lock, flags);
	if (xv->rs_gpa != INVALID_GPA) {
		xk_rs_account_locked(xv, state);
		xk_rs_write_locked(xv);
	}
	raw_spin_unlock_irqrestore(&xv->rs_lock, flags);
}

/* Fault the area's pages in; may sleep. */
static int xk_rs_fault_in(struct xk_vcpu *xv)
{
	unsigned int i, npages;
	unsigned long hva[2];
	struct page *page;
	unsigned long flags;

	raw_spin_lock_irqsave(&xv->rs_lock, flags);
	npages = xv->rs_len0 < xk_rs_size(xv->xvm) ? 2 : 1;
	hva[0] = xv->rs_hva[0];
	hva[1] = xv->rs_hva[1];
	raw_spin_unlock_irqrestore(&xv->rs_lock, flags);

	if (current->mm != xv->xvm->kvm->mm)
		return -EPERM;
	for (i = 0; i < npages; i++) {
		if (kvm_is_error_hva(hva[i]))
			return -EFAULT;
		if (get_user_pages_fast(hva[i] & PAGE_MASK, 1, FOLL_WRITE,
					&page) != 1)
			return -EFAULT;
		put_page(page);
	}
	return 0;
}

/* Process context, kvm->srcu held: (re)resolve the page addresses. */
static int xk_rs_resolve(struct kvm *kvm, gpa_t gpa, gpa_t gpa2,
			 unsigned int size, unsigned long hva[2],
			 unsigned int *len0)
{
	*len0 = min_t(unsigned int, size, PAGE_SIZE - offset_in_page(gpa));
	hva[0] = gfn_to_hva(kvm, gpa_to_gfn(gpa));
	if (kvm_is_error_hva(hva[0]))
		return -EFAULT;
	hva[0] += offset_in_page(gpa);
	hva[1] = KVM_HVA_ERR_BAD;
	if (*len0 < size) {
		hva[1] = gfn_to_hva(kvm, gpa_to_gfn(gpa2));
		if (kvm_is_error_hva(hva[1]))
			return -EFAULT;
	}
	return 0;
}

static u64 xk_memslot_gen(struct kvm *kvm)
{
	return kvm_memslots(kvm)->generation;
}

/* vCPU thread or ioctl, kvm->srcu held, may sleep: catch up the copy. */
static void xk_rs_sync_srcu(struct xk_vcpu *xv)
{
	struct kvm *kvm = xv->xvm->kvm;
	unsigned long hva[2], flags;
	unsigned int len0;
	gpa_t gpa, gpa2;
	u64 gen;
	int r;

	raw_spin_lock_irqsave(&xv->rs_lock, flags);
	gpa = xv->rs_gpa;
	gpa2 = xv->rs_gpa2;
	gen = xv->rs_generation;
	raw_spin_unlock_irqrestore(&xv->rs_lock, flags);
	if (gpa == INVALID_GPA)
		return;

	if (gen != xk_memslot_gen(kvm)) {
		gen = xk_memslot_gen(kvm);
		r = xk_rs_resolve(kvm, gpa, gpa2, xk_rs_size(xv->xvm), hva,
				  &len0);
		raw_spin_lock_irqsave(&xv->rs_lock, flags);
		if (xv->rs_gpa == gpa && xv->rs_gpa2 == gpa2) {
			xv->rs_hva[0] = r ? KVM_HVA_ERR_BAD : hva[0];
			xv->rs_hva[1] = r ? KVM_HVA_ERR_BAD : hva[1];
			xv->rs_len0 = len0;
			xv->rs_generation = gen;
		}
		raw_spin_unlock_irqrestore(&xv->rs_lock, flags);
	}
	if (!READ_ONCE(xv->rs_dirty))
		return;
	if (xk_rs_fault_in(xv))
		return;
	raw_spin_lock_irqsave(&xv->rs_lock, flags);
	xk_rs_write_locked(xv);
	raw_spin_unlock_irqrestore(&xv->rs_lock, flags);
}

/* ---- vcpu_info.time ---- */

#define XK_VI_SIZE	64
#define XK_VI_TIME	32	/* offset of vcpu_info.time, both layouts */

/* Xen's struct vcpu_time_info, the same bytes as KVM's pvclock. */
struct xk_vcpu_time {
	u32 version;
	u32 pad0;
	u64 tsc_timestamp;
	u64 system_time;
	u32 tsc_to_system_mul;
	s8 tsc_shift;
	u8 flags;
	u8 pad1[2];
} __packed;

/*
 * Copy KVM's hv_clock into the vCPU's vcpu_info.time (Xen's protocol:
 * version odd, fields, version even), if it changed or moved since the
 * last copy. Any context: uses the caches only under their read locks
 * (shared_info's before vcpu_info's, as evtchn.c). Returns -EAGAIN if a
 * cache needs a refresh, 0 otherwise.
 */
static int xk_time_write(struct xk_vcpu *xv, bool force)
{
	struct pvclock_vcpu_time_info *hv = &xv->vcpu->arch.hv_clock;
	struct xk_gpc *sh = &xv->xvm->shared_info, *gpc = &xv->vcpu_info;
	u32 id = READ_ONCE(xv->xen_vcpu_id), ver, mul;
	struct xk_vcpu_time *ti = NULL;
	unsigned long sflags, flags;
	u64 tsc, sys;
	gpa_t gpa = INVALID_GPA;
	int r = 0;

	mul = READ_ONCE(hv->tsc_to_system_mul);
	if (!mul)
		return 0;	/* KVM has not computed it yet */
	tsc = READ_ONCE(hv->tsc_timestamp);
	sys = READ_ONCE(hv->system_time);

	read_lock_irqsave(&sh->lock, sflags);
	read_lock_irqsave(&gpc->lock, flags);
	if (gpc->active) {
		if (xk_gpc_check(gpc)) {
			ti = gpc->khva + XK_VI_TIME;
			gpa = gpc->gpa;
		} else {
			r = -EAGAIN;
		}
	} else if (id < XK_LEGACY_VCPUS && sh->active) {
		if (xk_gpc_check(sh)) {
			ti = sh->khva + id * XK_VI_SIZE + XK_VI_TIME;
			gpa = sh->gpa + id * XK_VI_SIZE;
		} else {
			r = -EAGAIN;
		}
	}
	if (ti && (force || gpa != xv->time_gpa || tsc != xv->time_tsc ||
		   sys != xv->time_sys || mul != xv->time_mul)) {
		ver = (READ_ONCE(ti->version) + 1) | 1;
		WRITE_ONCE(ti->version, ver);
		smp_wmb();	/* odd version before the fields */
		WRITE_ONCE(ti->tsc_timestamp, tsc);
		WRITE_ONCE(ti->system_time, sys);
		WRITE_ONCE(ti->tsc_to_system_mul, mul);
		WRITE_ONCE(ti->tsc_shift, READ_ONCE(hv->tsc_shift));
		/* Only "TSC stable" has the same meaning in Xen's flags. */
		WRITE_ONCE(ti->flags, READ_ONCE(hv->flags) & PVCLOCK_TSC_STABLE_BIT);
		smp_wmb();	/* the fields before the even version */
		WRITE_ONCE(ti->version, ver + 1);
		xv->time_gpa = gpa;
		xv->time_tsc = tsc;
		xv->time_sys = sys;
		xv->time_mul = mul;
	}
	read_unlock_irqrestore(&gpc->lock, flags);
	read_unlock_irqrestore(&sh->lock, sflags);
	return r;
}

/* vCPU thread, may sleep: write, refreshing a stale cache once. */
static void xk_time_sync(struct xk_vcpu *xv)
{
	if (xk_time_write(xv, false) != -EAGAIN)
		return;
	if (xk_gpc_refresh(xv->vcpu_info.active ? &xv->vcpu_info :
			   &xv->xvm->shared_info))
		return;
	xk_time_write(xv, false);
}

/*
 * The vCPU thread's sleepable point (each intercepted hypercall, kvm->srcu
 * held): catch the runstate area and vcpu_info.time up.
 */
void xk_runstate_sync(struct xk_vcpu *xv)
{
	if (!xv->hcall_ready)
		return;
	if (READ_ONCE(xv->rs_gpa) != INVALID_GPA)
		xk_rs_sync_srcu(xv);
	xk_time_sync(xv);
}

/* ---- the ftrace hooks on kvm_arch_vcpu_load/put ---- */

static DEFINE_MUTEX(xk_rs_hook_lock);
static bool xk_rs_hooked;

static void notrace xk_rs_hook(struct kvm_vcpu *vcpu, bool load)
{
	struct xk_vcpu *xv;
	struct xk_vm *xvm;
	int state;

	rcu_read_lock();
	xvm = xk_vm_lookup(vcpu->kvm);
	if (!xvm || READ_ONCE(xvm->dead))
		goto out;
	xv = xk_vcpu_by_kvm_vcpu(xvm, vcpu);
	/* Acquire pairs with the release in xk_hcall_vcpu_init(). */
	if (!xv || !smp_load_acquire(&xv->hcall_ready))
		goto out;
	/* A vcpu_info the VMM moved while the vCPU was out gets the time. */
	if (load && (READ_ONCE(xvm->hcall_flags) & XENKVM_HCALL_INTERCEPT))
		xk_time_write(xv, false);
	if (!xk_rs_enabled(xv))
		goto out;
	if (load)
		state = RUNSTATE_running;
	else
		state = READ_ONCE(vcpu->preempted) ? RUNSTATE_runnable :
						     RUNSTATE_blocked;
	xk_rs_switch(xv, state);
out:
	rcu_read_unlock();
}

static void notrace xk_rs_hook_load(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *ops,
				    struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	int bit;

	if (!regs)
		return;
	bit = ftrace_test_recursion_trylock(ip, parent_ip);
	if (bit < 0)
		return;
	xk_rs_hook((struct kvm_vcpu *)regs->di, true);
	ftrace_test_recursion_unlock(bit);
}

static void notrace xk_rs_hook_put(unsigned long ip, unsigned long parent_ip,
				   struct ftrace_ops *ops,
				   struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	int bit;

	if (!regs)
		return;
	bit = ftrace_test_recursion_trylock(ip, parent_ip);
	if (bit < 0)
		return;
	xk_rs_hook((struct kvm_vcpu *)regs->di, false);
	ftrace_test_recursion_unlock(bit);
}

static struct ftrace_ops xk_rs_load_ops = {
	.func = xk_rs_hook_load,
	.flags = FTRACE_OPS_FL_SAVE_REGS,
};

static struct ftrace_ops xk_rs_put_ops = {
	.func = xk_rs_hook_put,
	.flags = FTRACE_OPS_FL_SAVE_REGS,
};

/*
 * kvm_hv_setup_tsc_page(kvm, hv_clock) is the last thing
 * kvm_guest_time_update() does, on the vCPU thread, once hv_clock holds
 * the new parameters: the moment to copy them into vcpu_info.time. Its
 * second argument is only trusted if it is the hv_clock of one of the
 * VM's own vCPUs (a kernel may pass a copy).
 */
static void notrace xk_time_hook(unsigned long ip, unsigned long parent_ip,
				 struct ftrace_ops *ops,
				 struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	struct kvm_vcpu *vcpu, *v;
	struct xk_vcpu *xv;
	struct xk_vm *xvm;
	unsigned long i;
	struct kvm *kvm;
	int bit;

	if (!regs)
		return;
	bit = ftrace_test_recursion_trylock(ip, parent_ip);
	if (bit < 0)
		return;
	kvm = (struct kvm *)regs->di;
	rcu_read_lock();
	xvm = xk_vm_lookup(kvm);
	if (!xvm || READ_ONCE(xvm->dead) ||
	    !(READ_ONCE(xvm->hcall_flags) & XENKVM_HCALL_INTERCEPT))
		goto out;
	vcpu = NULL;
	kvm_for_each_vcpu(i, v, kvm) {
		if ((unsigned long)&v->arch.hv_clock == regs->si) {
			vcpu = v;
			break;
		}
	}
	if (!vcpu)
		goto out;
	xv = xk_vcpu_by_kvm_vcpu(xvm, vcpu);
	/* Acquire pairs with the release in xk_hcall_vcpu_init(). */
	if (xv && smp_load_acquire(&xv->hcall_ready))
		xk_time_write(xv, false);
out:
	rcu_read_unlock();
	ftrace_test_recursion_unlock(bit);
}

static struct ftrace_ops xk_time_ops = {
	.func = xk_time_hook,
	.flags = FTRACE_OPS_FL_SAVE_REGS,
};

static bool xk_time_hooked;

static int xk_rs_hook_one(struct ftrace_ops *ops, const char *fn,
			  bool optional)
{
	int r;

	r = ftrace_set_filter(ops, (unsigned char *)fn, strlen(fn), 1);
	if (!r) {
		r = register_ftrace_function(ops);
		if (r)
			ftrace_free_filter(ops);
	}
	if (r && optional)
		pr_info("no hook on %s (%d): vcpu_info.time follows vCPU load and hypercalls only\n",
			fn, r);
	else if (r)
		pr_err("cannot hook %s: %d\n", fn, r);
	return r;
}

/*
 * Process context. Registers the hooks on first use (a runstate area, or
 * hypercall interception, which keeps vcpu_info.time). The one on
 * kvm_hv_setup_tsc_page is optional: without it the time is copied at
 * vCPU load and at each hypercall.
 */
int xk_runstate_hooks_get(void)
{
	int r = 0;

	mutex_lock(&xk_rs_hook_lock);
	if (xk_rs_hooked)
		goto out;
	if (!xk_time_hooked &&
	    !xk_rs_hook_one(&xk_time_ops, "kvm_hv_setup_tsc_page", true))
		xk_time_hooked = true;
	r = xk_rs_hook_one(&xk_rs_load_ops, "kvm_arch_vcpu_load", false);
	if (r)
		goto out;
	r = xk_rs_hook_one(&xk_rs_put_ops, "kvm_arch_vcpu_put", false);
	if (r) {
		unregister_ftrace_function(&xk_rs_load_ops);
		ftrace_free_filter(&xk_rs_load_ops);
		goto out;
	}
	xk_rs_hooked = true;
out:
	mutex_unlock(&xk_rs_hook_lock);
	return r;
}

int xk_runstate_init(void)
{
	return 0;
}

void xk_runstate_exit(void)
{
	mutex_lock(&xk_rs_hook_lock);
	if (xk_time_hooked) {
		unregister_ftrace_function(&xk_time_ops);
		ftrace_free_filter(&xk_time_ops);
		xk_time_hooked = false;
	}
	if (xk_rs_hooked) {
		unregister_ftrace_function(&xk_rs_put_ops);
		unregister_ftrace_function(&xk_rs_load_ops);
		ftrace_free_filter(&xk_rs_put_ops);
		ftrace_free_filter(&xk_rs_load_ops);
		xk_rs_hooked = false;
	}
	mutex_unlock(&xk_rs_hook_lock);
}

/* ---- per vCPU ---- */

void xk_runstate_vcpu_init(struct xk_vcpu *xv)
{
	raw_spin_lock_init(&xv->rs_lock);
	xv->rs_gpa = INVALID_GPA;
	xv->rs_gpa2 = INVALID_GPA;
	xv->rs_hva[0] = KVM_HVA_ERR_BAD;
	xv->rs_hva[1] = KVM_HVA_ERR_BAD;
	/* Not started yet: offline since Xen time 0, so the sums hold. */
	xv->rs_state = RUNSTATE_offline;
}

void xk_runstate_vcpu_teardown(struct xk_vcpu *xv)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&xv->rs_lock, flags);
	xv->rs_gpa = INVALID_GPA;
	raw_spin_unlock_irqrestore(&xv->rs_lock, flags);
}

/*
 * Point the area at @gpa (second page @gpa2 if it crosses; INVALID_GPA
 * clears). Process context, kvm->srcu held by the caller. The current
 * state is written at once, as Xen does on registration.
 */
static int xk_rs_set_area(struct xk_vcpu *xv, gpa_t gpa, gpa_t gpa2)
{
	struct kvm *kvm = xv->xvm->kvm;
	unsigned long hva[2] = { KVM_HVA_ERR_BAD, KVM_HVA_ERR_BAD };
	unsigned int len0 = 0, size = xk_rs_size(xv->xvm);
	unsigned long flags;
	u64 gen = 0;
	int r;

	if (gpa != INVALID_GPA) {
		gen = xk_memslot_gen(kvm);
		r = xk_rs_resolve(kvm, gpa, gpa2, size, hva, &len0);
		if (r)
			return r;
		r = xk_runstate_hooks_get();
		if (r)
			return r;
	}
	raw_spin_lock_irqsave(&xv->rs_lock, flags);
	xv->rs_gpa = gpa;
	xv->rs_gpa2 = len0 < size ? gpa2 : INVALID_GPA;
	xv->rs_hva[0] = hva[0];
	xv->rs_hva[1] = hva[1];
	xv->rs_len0 = len0;
	xv->rs_generation = gen;
	xv->rs_dirty = gpa != INVALID_GPA;
	raw_spin_unlock_irqrestore(&xv->rs_lock, flags);
	if (gpa != INVALID_GPA)
		xk_rs_sync_srcu(xv);
	return 0;
}

int xk_runstate_set_attr(struct xk_vcpu *xv, const struct xenkvm_vcpu_attr *a)
{
	struct kvm *kvm = xv->xvm->kvm;
	unsigned int size = xk_rs_size(xv->xvm);
	unsigned long flags;
	gpa_t gpa, gpa2;
	u64 sum;
	int r, idx, i;

	if (a->pad0)
		return -EINVAL;
	if (a->type == XENKVM_VCPU_ATTR_RUNSTATE_ADDR) {
		if (memchr_inv((const u8 *)&a->u + sizeof(a->u.gpa), 0,
			       sizeof(a->u) - sizeof(a->u.gpa)))
			return -EINVAL;
		gpa = a->u.gpa;
		gpa2 = INVALID_GPA;
		if (gpa != INVALID_GPA) {
			if (gpa & 3 || gpa + size < gpa)
				return -EINVAL;
			gpa2 = (gpa & PAGE_MASK) + PAGE_SIZE;
		}
		idx = srcu_read_lock(&kvm->srcu);
		r = xk_rs_set_area(xv, gpa, gpa2);
		srcu_read_unlock(&kvm->srcu, idx);
		return r == -EFAULT ? -EINVAL : r;
	}

	/* RUNSTATE_DATA */
	if (memchr_inv((const u8 *)&a->u + sizeof(a->u.runstate), 0,
		       sizeof(a->u) - sizeof(a->u.runstate)))
		return -EINVAL;
	if (a->u.runstate.state > RUNSTATE_offline)
		return -EINVAL;
	sum = 0;
	for (i = 0; i < 4; i++) {
		if (check_add_overflow(sum, a->u.runstate.time[i], &sum))
			return -EINVAL;
	}
	if (sum != a->u.runstate.state_entry_time ||
	    sum & XEN_RUNSTATE_UPDATE)
		return -EINVAL;
	raw_spin_lock_irqsave(&xv->rs_lock, flags);
	xv->rs_state = a->u.runstate.state;
	xv->rs_entry_time = a->u.runstate.state_entry_time;
	xv->rs_host_ns = ktime_get_ns();	/* intervals count from here */
	for (i = 0; i < 4; i++)
		xv->rs_time[i] = a->u.runstate.time[i];
	xv->rs_dirty = true;
	raw_spin_unlock_irqrestore(&xv->rs_lock, flags);
	idx = srcu_read_lock(&kvm->srcu);
	xk_runstate_sync(xv);
	srcu_read_unlock(&kvm->srcu, idx);
	return 0;
}

int xk_runstate_get_attr(struct xk_vcpu *xv, struct xenkvm_vcpu_attr *a)
{
	unsigned long flags;
	int i;

	memset(&a->u, 0, sizeof(a->u));
	raw_spin_lock_irqsave(&xv->rs_lock, flags);
	if (a->type == XENKVM_VCPU_ATTR_RUNSTATE_ADDR) {
		a->u.gpa = xv->rs_gpa == INVALID_GPA ? XENKVM_INVALID_GPA :
						       xv->rs_gpa;
	} else {
		a->u.runstate.state = xv->rs_state;
		a->u.runstate.state_entry_time = xv->rs_entry_time;
		for (i = 0; i < 4; i++)
			a->u.runstate.time[i] = xv->rs_time[i];
	}
	raw_spin_unlock_irqrestore(&xv->rs_lock, flags);
	return 0;
}

/*
 * VCPUOP_register_runstate_memory_area(vcpuid, &{ guest virtual address })
 * on the vCPU thread. The address is translated with the caller's paging
 * (the guest kernel's), page by page, at registration, as Xen uses it.
 */
enum xk_hc_action xk_runstate_vcpu_op(struct xk_vm *xvm, struct xk_vcpu *xv,
				      struct xk_hcall *hc)
{
	unsigned int size = xk_rs_size(xvm);
	struct xk_vcpu *target;
	gpa_t gpa, gpa2 = INVALID_GPA;
	u64 gva;
	int r;

	if (!(READ_ONCE(xvm->fast_paths) & XENKVM_FAST_RUNSTATE))
		return XK_HC_USER;
	if (hc->args[1] >= XK_MAX_VCPUS)
		return XK_HC_USER;
	/* The index is the guest's: no speculative load past the bound. */
	target = READ_ONCE(xvm->vcpus[array_index_nospec(hc->args[1], XK_MAX_VCPUS)]);
	/* Acquire pairs with the release in xk_hcall_vcpu_init(). */
	if (!target || !smp_load_acquire(&target->hcall_ready))
		return XK_HC_USER;

	gva = 0;
	if (xk_read_guest_virt(xv->vcpu, hc->args[2], &gva,
			       hc->longmode ? 8 : 4)) {
		hc->ret = -EFAULT;
		return XK_HC_DONE;
	}
	if (!gva) {
		gpa = INVALID_GPA;	/* a null handle unregisters */
	} else {
		gpa = xk_gva_to_gpa(xv->vcpu, gva);
		if (gpa == INVALID_GPA)
			goto efault;
		if (offset_in_page(gva) + size > PAGE_SIZE) {
			gpa2 = xk_gva_to_gpa(xv->vcpu,
					     (gva & PAGE_MASK) + PAGE_SIZE);
			if (gpa2 == INVALID_GPA)
				goto efault;
		}
	}
	r = xk_rs_set_area(target, gpa, gpa2);
	if (r == -EFAULT)
		goto efault;
	hc->ret = r;
	return XK_HC_DONE;
efault:
	hc->ret = -EFAULT;
	return XK_HC_DONE;
}
