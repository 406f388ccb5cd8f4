// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: 2-level event channel delivery.
 *
 * Raising port P for Xen vCPU V follows Xen's order exactly:
 *
 *   1. test-and-set P in shared_info.evtchn_pending; if it was set, stop
 *      (already pending: no upcall);
 *   2. if P is set in shared_info.evtchn_mask, stop (masked);
 *   3. set bit P / BITS_PER_WORD in V's vcpu_info.evtchn_pending_sel;
 *   4. xchg V's vcpu_info.evtchn_upcall_pending to 1; if it was 0, inject
 *      V's upcall vector as a fixed self-IPI of V's own LAPIC.
 *
 * Layouts. 64-bit: words are 64 bits, 4096 ports, the pending and mask
 * bitmaps are at offsets 2048 and 2560 of shared_info, the selector at
 * offset 8 of vcpu_info. 32-bit compat: words are 32 bits, 1024 ports,
 * the bitmaps at 2048 and 2176, the selector a u32 at offset 4. A port's
 * bit is in the same byte in both layouts (little endian), so the bitmap
 * operations below are the same; only the selector differs. vcpu_info is
 * either the guest-registered one (xk_vcpu.vcpu_info) or, when none is
 * registered, the slot V of shared_info's array (V < 32).
 *
 * Contexts. xk_evtchn_set_pending() runs anywhere: with XK_DELIVER_ATOMIC
 * (eventfd wakeups with IRQs off, hrtimer callbacks) it only takes the
 * caches' read locks and defer_lock, never sleeps and never refreshes.
 * When shared_info cannot be written it queues the event on the VM's FIFO
 * for fallback_work, which refreshes the cache and delivers in order.
 * When only vcpu_info cannot, steps 1-2 are done, and the selector bit
 * goes to the vCPU's shadow (xk_vcpu.pending_sel_shadow) that the worker
 * folds into vcpu_info before doing step 4. The guest can observe the
 * pending bit before the selector then, which it already must tolerate.
 *
 * Order. While the FIFO is not empty, every new event is queued behind it,
 * so a later event never overtakes an earlier one. Each event is delivered
 * exactly once: by the caller, or by the worker.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>

#include "xenkvm.h"

/* Exported by kvm.ko, declared in its private arch/x86/kvm/lapic.h. */
void kvm_apic_send_ipi(struct kvm_lapic *apic, u32 icr_low, u32 icr_high);

#define XK_SHINFO_PENDING	2048
#define XK_SHINFO_MASK_64	2560
#define XK_SHINFO_MASK_32	2176
#define XK_VI_SIZE		64
#define XK_VI_SEL_64		8
#define XK_VI_SEL_32		4

#define XK_DEFER_RING		8192	/* > XK_MAX_PORTS_64 + 1, power of 2 */
/* In a ring entry: the worker took it once and cleared its queued bit. */
#define XK_DEFER_TAKEN		BIT(31)
#define XK_RETRY_MAX_MS		1000

/* Internal result of one delivery attempt. */
enum {
	XK_DONE = 0,
	XK_NEED_SHINFO,		/* nothing written: shared_info not mapped */
};

u32 xk_max_ports(struct xk_vm *xvm)
{
	return READ_ONCE(xvm->long_mode) ? XK_MAX_PORTS_64 : XK_MAX_PORTS_32;
}

static void xk_retry_work(struct work_struct *work);

int xk_evtchn_vm_init(struct xk_vm *xvm)
{
	spin_lock_init(&xvm->defer_lock);
	INIT_WORK(&xvm->fallback_work, xk_fallback_work);
	INIT_DELAYED_WORK(&xvm->retry_work, xk_retry_work);
	xvm->defer_ring = kvcalloc(XK_DEFER_RING, sizeof(u32), GFP_KERNEL_ACCOUNT);
	xvm->defer_queued = bitmap_zalloc(XK_MAX_PORTS_64, GFP_KERNEL_ACCOUNT);
	if (!xvm->defer_ring || !xvm->defer_queued) {
		xk_evtchn_vm_free(xvm);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Detach, after xvm->dead is set and every producer (irqfds, timers,
 * hypercalls) is gone: no new work can be queued; wait for what is.
 */
void xk_evtchn_vm_stop(struct xk_vm *xvm)
{
	cancel_delayed_work_sync(&xvm->retry_work);
	cancel_work_sync(&xvm->fallback_work);
	/* The worker may have re-armed the retry before seeing dead. */
	cancel_delayed_work_sync(&xvm->retry_work);
}

void xk_evtchn_vm_free(struct xk_vm *xvm)
{
	kvfree(xvm->defer_ring);
	xvm->defer_ring = NULL;
	bitmap_free(xvm->defer_queued);
	xvm->defer_queued = NULL;
}

static void xk_inject(struct xk_vm *xvm, struct xk_vcpu *xv)
{
	u8 vector = READ_ONCE(xv->upcall_vector);
	struct kvm_lapic *apic = xv->vcpu->arch.apic;

	if (!vector || !apic)
		return;
	kvm_apic_send_ipi(apic, APIC_DEST_SELF | APIC_DM_FIXED |
			  APIC_INT_ASSERT | vector, 0);
	xk_stat_inc(xvm, upcalls);
}

/*
 * Set selector bits @sel in the vcpu_info at @vi, plus whatever the shadow
 * holds, then raise evtchn_upcall_pending and inject if it was clear.
 * The caller holds the read lock of the cache that maps @vi.
 */
static void xk_vi_raise(struct xk_vm *xvm, struct xk_vcpu *xv, void *vi,
			unsigned long sel, bool lm)
{
	sel |= xchg(&xv->pending_sel_shadow, 0);
	if (!sel)
		return;
	if (lm)
		atomic64_or(sel, (atomic64_t *)(vi + XK_VI_SEL_64));
	else
		atomic_or((u32)sel, (atomic_t *)(vi + XK_VI_SEL_32));
	if (!xchg((u8 *)vi, 1))
		xk_inject(xvm, xv);
}

/*
 * Step 3 and 4 for @xv, selector bits @sel. @shinfo is the shared_info
 * page the caller has just made the port pending in, with its cache's
 * read lock held: a vCPU without a vcpu_info of its own is signalled in
 * its slot of that same page. It is not checked again here: the memslot
 * generation can move at any time (dirty logging on or off), and a second
 * check failing after step 1 would leave the port pending with no upcall
 * at all. The page itself cannot go while the lock is held.
 * If the vCPU's own vcpu_info cannot be written, park the bits in the
 * shadow and let the worker fold them in. Returns true if the worker is
 * needed.
 */
static bool xk_vcpu_raise(struct xk_vm *xvm, struct xk_vcpu *xv,
			  void *shinfo, unsigned long sel, bool lm)
{
	struct xk_gpc *gpc = &xv->vcpu_info;
	unsigned long flags;
	u32 id = READ_ONCE(xv->xen_vcpu_id);
	bool need_work = false;

	read_lock_irqsave(&gpc->lock, flags);
	if (gpc->active) {
		if (xk_gpc_check(gpc)) {
			xk_vi_raise(xvm, xv, gpc->khva, sel, lm);
		} else {
			atomic_long_or(sel, (atomic_long_t *)&xv->pending_sel_shadow);
			need_work = true;
		}
	} else if (id < XK_LEGACY_VCPUS) {
		xk_vi_raise(xvm, xv, shinfo + id * XK_VI_SIZE, sel, lm);
	}
	/* else: nowhere to signal; the port stays pending, as in Xen. */
	read_unlock_irqrestore(&gpc->lock, flags);
	return need_work;
}

/*
 * One attempt at steps 1-4, taking only read locks: safe in any context.
 * @xv may be NULL (no such Xen vCPU): the port is still made pending.
 * Returns XK_DONE or XK_NEED_SHINFO; sets *need_work if a shadow was used.
 */
static int xk_try_deliver(struct xk_vm *xvm, u32 port, struct xk_vcpu *xv,
			  bool *need_work)
{
	struct xk_gpc *sh = &xvm->shared_info;
	unsigned long flags, *pending, *mask;
	bool lm = READ_ONCE(xvm->long_mode);
	bool raised = false;

	read_lock_irqsave(&sh->lock, flags);
	if (!xk_gpc_check(sh)) {
		read_unlock_irqrestore(&sh->lock, flags);
		return XK_NEED_SHINFO;
	}
	/* The cache maps a whole page: both bitmaps are inside it. */
	pending = sh->khva + XK_SHINFO_PENDING;
	mask = sh->khva + (lm ? XK_SHINFO_MASK_64 : XK_SHINFO_MASK_32);
	if (test_and_set_bit(port, pending)) {
		xk_stat_inc(xvm, already_pending);
	} else {
		xk_stat_inc(xvm, deliveries);
		raised = true;
		if (test_bit(port, mask)) {
			xk_stat_inc(xvm, masked);
		} else if (xv) {
			unsigned long sel = BIT(lm ? port / 64 : port / 32);

			*need_work |= xk_vcpu_raise(xvm, xv, sh->khva, sel, lm);
		}
	}
	read_unlock_irqrestore(&sh->lock, flags);
	if (raised)
		xk_sched_poll_notify(xvm, port);
	return XK_DONE;
}

static struct xk_vcpu *xk_xen_vcpu(struct xk_vm *xvm, u32 id)
{
	if (id >= XK_MAX_VCPUS)
		return NULL;
	return READ_ONCE(xvm->vcpus[array_index_nospec(id, XK_MAX_VCPUS)]);
}

static void xk_kick_worker(struct xk_vm *xvm)
{
	if (!READ_ONCE(xvm->dead))
		queue_work(system_unbound_wq, &xvm->fallback_work);
}

/*
 * Queue (port, vcpu) behind everything already queued; merge with an
 * entry of the same port that the worker has not taken yet. Caller holds
 * defer_lock.
 */
static void xk_defer_locked(struct xk_vm *xvm, u32 port, u32 id)
{
	if (__test_and_set_bit(port, xvm->defer_queued))
		return;
	/* Cannot happen (see xk_vm); never overwrite a queued event. */
	if (WARN_ON_ONCE(xvm->defer_tail - xvm->defer_head >= XK_DEFER_RING))
		return;
	xvm->defer_ring[xvm->defer_tail % XK_DEFER_RING] = port | id << 16;
	xvm->defer_tail++;
}

/*
 * Raise @port for Xen vCPU @xen_vcpu_id. Any context with
 * XK_DELIVER_ATOMIC; otherwise process context that may sleep (it then
 * refreshes the caches itself). Returns 0 when the event was delivered
 * (or found already pending, or masked) or queued for the fallback
 * worker; -EINVAL for a port out of range; -ESHUTDOWN while detaching.
 * Never loses an accepted event.
 */
int xk_evtchn_set_pending(struct xk_vm *xvm, u32 port, u32 xen_vcpu_id,
			  unsigned int flags)
{
	struct xk_vcpu *xv;
	bool need_work = false;
	unsigned long lflags;
	int r, tries;

	if (!port || port >= xk_max_ports(xvm) || xen_vcpu_id >= XK_MAX_VCPUS)
		return -EINVAL;
	if (READ_ONCE(xvm->dead))
		return -ESHUTDOWN;
	xv = xk_xen_vcpu(xvm, xen_vcpu_id);

	for (tries = 0; ; tries++) {
		/* Behind anything queued: never overtake an earlier event. */
		spin_lock_irqsave(&xvm->defer_lock, lflags);
		if (xvm->defer_head != xvm->defer_tail) {
			xk_defer_locked(xvm, port, xen_vcpu_id);
			spin_unlock_irqrestore(&xvm->defer_lock, lflags);
			xk_kick_worker(xvm);
			return 0;
		}
		spin_unlock_irqrestore(&xvm->defer_lock, lflags);

		r = xk_try_deliver(xvm, port, xv, &need_work);
		if (r == XK_DONE) {
			if (flags & XK_DELIVER_ATOMIC)
				xk_stat_inc(xvm, delivered_atomic);
			if (need_work)
				xk_kick_worker(xvm);
			return 0;
		}
		if ((flags & XK_DELIVER_ATOMIC) || tries >= 2 ||
		    xk_gpc_refresh(&xvm->shared_info)) {
			/* The worker retries, with backoff if it must. */
			spin_lock_irqsave(&xvm->defer_lock, lflags);
			xk_defer_locked(xvm, port, xen_vcpu_id);
			spin_unlock_irqrestore(&xvm->defer_lock, lflags);
			xk_kick_worker(xvm);
			return 0;
		}
	}
}

/*
 * Fold parked selector bits into @xv's vcpu_info. Worker context.
 * Returns 0, or an error if the vcpu_info still cannot be written.
 */
static int xk_fold_shadow(struct xk_vm *xvm, struct xk_vcpu *xv)
{
	struct xk_gpc *gpc = &xv->vcpu_info;
	struct xk_gpc *sh = &xvm->shared_info;
	unsigned long flags, sflags;
	u32 id;
	int tries, r;

	for (tries = 0; tries < 3; tries++) {
		if (!READ_ONCE(xv->pending_sel_shadow))
			return 0;
		id = READ_ONCE(xv->xen_vcpu_id);
		read_lock_irqsave(&sh->lock, sflags);
		read_lock_irqsave(&gpc->lock, flags);
		r = -EAGAIN;
		if (gpc->active && xk_gpc_check(gpc)) {
			xk_vi_raise(xvm, xv, gpc->khva, 0, READ_ONCE(xvm->long_mode));
			r = 0;
		} else if (!gpc->active && id < XK_LEGACY_VCPUS &&
			   xk_gpc_check(sh)) {
			xk_vi_raise(xvm, xv, sh->khva + id * XK_VI_SIZE, 0,
				    READ_ONCE(xvm->long_mode));
			r = 0;
		} else if (!gpc->active && id >= XK_LEGACY_VCPUS) {
			/* No vcpu_info any more: nothing to signal. */
			xchg(&xv->pending_sel_shadow, 0);
			r = 0;
		}
		read_unlock_irqrestore(&gpc->lock, flags);
		read_unlock_irqrestore(&sh->lock, sflags);
		if (!r)
			return 0;
		r = xk_gpc_refresh(gpc->active ? gpc : sh);
		if (r && r != -EINVAL)
			return r;
	}
	return -EAGAIN;
}

/*
 * Backoff while a page cannot be resolved: short at first (a page made
 * read-only or unmapped for a moment), growing to XK_RETRY_MAX_MS for a
 * mapping that stays broken. Any successful delivery resets it.
 */
static void xk_retry_later(struct xk_vm *xvm)
{
	xvm->retry_ms = min(xvm->retry_ms + xvm->retry_ms / 4 + 1,
			    (unsigned int)XK_RETRY_MAX_MS);
	if (!READ_ONCE(xvm->dead))
		queue_delayed_work(system_unbound_wq, &xvm->retry_work,
				   msecs_to_jiffies(xvm->retry_ms));
}

static void xk_retry_work(struct work_struct *work)
{
	struct xk_vm *xvm = container_of(to_delayed_work(work), struct xk_vm,
					 retry_work);

	xk_kick_worker(xvm);
}

/*
 * The fallback worker: delivers queued events in order, refreshing the
 * caches as needed, then folds the vCPUs' shadow selector bits. If a
 * cache cannot be resolved (the host mapping is gone or read-only for a
 * while), the head stays queued and the worker retries with backoff up
 * to XK_RETRY_MAX_MS; nothing is dropped.
 */
void xk_fallback_work(struct work_struct *work)
{
	struct xk_vm *xvm = container_of(work, struct xk_vm, fallback_work);
	struct xk_vcpu *xv;
	unsigned long flags;
	bool need_work;
	u32 ent, port, id;
	int r, i;

	while (!READ_ONCE(xvm->dead)) {
		spin_lock_irqsave(&xvm->defer_lock, flags);
		if (xvm->defer_head == xvm->defer_tail) {
			spin_unlock_irqrestore(&xvm->defer_lock, flags);
			break;
		}
		ent = xvm->defer_ring[xvm->defer_head % XK_DEFER_RING];
		port = ent & 0xffff;
		id = (ent >> 16) & 0x7fff;
		/*
		 * From here a new event for this port queues a new entry
		 * rather than merging into one whose bit we may have set
		 * (and the guest cleared) already. Only the first time the
		 * head is taken: after a failed attempt, the bit belongs to
		 * the port's newer entry if there is one, and clearing it
		 * again would let every retry add one more entry until the
		 * ring overflows (a page that stays unwritable under a
		 * stream of events for one port).
		 */
		if (!(ent & XK_DEFER_TAKEN)) {
			__clear_bit(port, xvm->defer_queued);
			xvm->defer_ring[xvm->defer_head % XK_DEFER_RING] =
				ent | XK_DEFER_TAKEN;
		}
		spin_unlock_irqrestore(&xvm->defer_lock, flags);

		r = -EINVAL;
		if (port < xk_max_ports(xvm)) {
			need_work = false;
			xv = xk_xen_vcpu(xvm, id);
			r = xk_try_deliver(xvm, port, xv, &need_work);
			if (r == XK_NEED_SHINFO) {
				r = xk_gpc_refresh(&xvm->shared_info);
				if (!r)
					r = xk_try_deliver(xvm, port, xv, &need_work);
				if (r == XK_NEED_SHINFO)
					r = -EAGAIN;
			}
		}
		if (r && r != -EINVAL) {
			/*
			 * Keep the head and retry it later. Its queued bit
			 * stays clear: a new event for the port gets its own
			 * entry, so a port never has more than this head and
			 * one queued entry, and the ring cannot overflow.
			 */
			xk_retry_later(xvm);
			return;
		}
		spin_lock_irqsave(&xvm->defer_lock, flags);
		xvm->defer_head++;
		spin_unlock_irqrestore(&xvm->defer_lock, flags);
		if (!r) {
			xk_stat_inc(xvm, delivered_deferred);
			xvm->retry_ms = 0;
		}
		/*
		 * -EINVAL: the port is out of range after a layout change, or
		 * shared_info was cleared: the event is dropped, as Xen could
		 * not deliver it either.
		 */
		cond_resched();
	}

	for (i = 0; i < XK_MAX_VCPUS && !READ_ONCE(xvm->dead); i++) {
		xv = READ_ONCE(xvm->vcpus[i]);
		if (xv && READ_ONCE(xv->pending_sel_shadow) &&
		    xk_fold_shadow(xvm, xv)) {
			xk_retry_later(xvm);
			return;
		}
	}
	xvm->retry_ms = 0;
}

/*
 * For SCHEDOP_poll: is @port pending in shared_info? Any context. Returns
 * 1 or 0, or -EAGAIN when the cache is not valid now and the answer is
 * unknown: the caller must refresh and ask again, not take it for "no".
 */
int xk_evtchn_port_pending(struct xk_vm *xvm, u32 port)
{
	struct xk_gpc *sh = &xvm->shared_info;
	unsigned long flags;
	int r = -EAGAIN;

	if (port >= xk_max_ports(xvm))
		return 0;
	/* The port comes from the guest (SCHEDOP_poll): no speculation past. */
	port = array_index_nospec(port, XK_MAX_PORTS_64);
	read_lock_irqsave(&sh->lock, flags);
	if (xk_gpc_check(sh))
		r = test_bit(port, sh->khva + XK_SHINFO_PENDING);
	read_unlock_irqrestore(&sh->lock, flags);
	return r;
}

/* XENKVM_EVTCHN_SEND. Process context, the VM's own process. */
int xk_evtchn_send_ioctl(struct xk_vm *xvm, void __user *uarg)
{
	struct xenkvm_evtchn_send s;

	if (copy_from_user(&s, uarg, sizeof(s)))
		return -EFAULT;
	if (s.flags || s.priority != XENKVM_EVTCHN_PRIORITY_2LEVEL ||
	    memchr_inv(s.pad, 0, sizeof(s.pad)))
		return -EINVAL;
	if (!READ_ONCE(xvm->shared_info.active))
		return -ENOENT;
	if (!s.port || s.port >= xk_max_ports(xvm))
		return -EINVAL;
	if (!xk_xen_vcpu(xvm, s.vcpu))
		return -EINVAL;
	return xk_evtchn_set_pending(xvm, s.port, s.vcpu, 0);
}

/* XENKVM_GET_STATS: a snapshot of the counters. */
int xk_get_stats(struct xk_vm *xvm, void __user *uarg)
{
	struct xenkvm_stats st;
	u64 *src = (u64 *)&xvm->stats, *dst = (u64 *)&st;
	unsigned int i;

	BUILD_BUG_ON(sizeof(st) % sizeof(u64));
	for (i = 0; i < sizeof(st) / sizeof(u64); i++)
		dst[i] = atomic64_read((atomic64_t *)&src[i]);
	return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
}
