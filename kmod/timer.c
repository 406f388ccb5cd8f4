// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: Xen singleshot timers on hrtimers.
 *
 * VCPUOP_set_singleshot_timer, VCPUOP_stop_singleshot_timer and
 * __HYPERVISOR_set_timer_op arm or stop one hrtimer per vCPU. On expiry
 * the VIRQ_TIMER port the VMM bound (XENKVM_VCPU_ATTR_TIMER) is raised on
 * the vCPU through xk_evtchn_set_pending(XK_DELIVER_ATOMIC), which queues
 * to the fallback worker if the guest pages cannot be written atomically.
 * Without a port, or with XENKVM_FAST_TIMER off, the calls exit to the VMM.
 *
 * Xen system time. Timeouts are absolute Xen system time, which is what
 * the guest reads from its pvclock: KVM's per-vCPU copy in
 * vcpu->arch.hv_clock (system_time at guest TSC tsc_timestamp, scaled by
 * tsc_to_system_mul/tsc_shift). xk_xen_time_now() samples the host TSC and
 * ktime_get() together, converts the TSC to the guest's with
 * kvm_read_l1_tsc() and applies the pvclock formula; the difference
 * between a timeout and that "now" is added to the host ktime and the
 * hrtimer is armed at that absolute CLOCK_MONOTONIC time. hv_clock is
 * written by KVM on the vCPU thread before entry; the hypercall path runs
 * on that thread. The ioctl path (XENKVM_VCPU_ATTR_TIMER) reads it from
 * another thread, which is meant for a stopped vCPU (save/restore); a
 * race with an update only skews that one expiry. Before KVM has filled
 * hv_clock (mul == 0) the boot-time clock plus kvm->arch.kvmclock_offset
 * stands in, which is how KVM derives the kvmclock base.
 *
 * Locking. xk_vcpu.timer_lock (mutex; vCPU thread and ioctl) serialises
 * arming and cancelling and the writes of timer_port/timer_expires_ns.
 * The callback (hardirq) only reads timer_port and clears
 * timer_expires_ns; every writer cancels the hrtimer first, which waits
 * for a running callback.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/timekeeping.h>
#include <asm/pvclock.h>
#include <xen/interface/xen.h>
#include <xen/interface/vcpu.h>

#include "xenkvm.h"

#define XK_TIMER_MAX_REARMS	8
#define XK_TIMER_MAX_REST_NS	(100 * NSEC_PER_MSEC)

bool xk_xen_time_now(struct xk_vcpu *xv, u64 *xen_ns, ktime_t *host)
{
	struct kvm_vcpu *vcpu = xv->vcpu;
	struct pvclock_vcpu_time_info *hv = &vcpu->arch.hv_clock;
	u32 mul;
	u64 tsc;

	preempt_disable();
	*host = ktime_get();
	tsc = rdtsc();
	mul = READ_ONCE(hv->tsc_to_system_mul);
	if (mul) {
		s64 delta = kvm_read_l1_tsc(vcpu, tsc) -
			    READ_ONCE(hv->tsc_timestamp);

		/*
		 * Sampled before KVM re-synchronises an unstable TSC (at
		 * vCPU load), the guest TSC can be behind the timestamp: a
		 * negative delta would scale to a time far in the future.
		 */
		*xen_ns = READ_ONCE(hv->system_time) +
			  pvclock_scale_delta(delta > 0 ? delta : 0, mul,
					      READ_ONCE(hv->tsc_shift));
	} else {
		*xen_ns = ktime_get_boottime_ns() +
			  READ_ONCE(vcpu->kvm->arch.kvmclock_offset);
	}
	preempt_enable();
	return mul != 0;
}

/* Raise the timer's port; hardirq or process context. */
static void xk_timer_deliver(struct xk_vcpu *xv, unsigned int flags)
{
	struct xk_vm *xvm = xv->xvm;
	u32 port = READ_ONCE(xv->timer_port);

	WRITE_ONCE(xv->timer_expires_ns, 0);
	if (!port)
		return;
	xk_stat_inc(xvm, timer_fires);
	xk_evtchn_set_pending(xvm, port, xv->xen_vcpu_id, flags);
	xk_sched_poll_notify(xvm, port);
}

/*
 * Hardirq. The guest's clock (TSC-based pvclock) and the host's
 * CLOCK_MONOTONIC need not tick at quite the same rate, so check the
 * expiry in Xen time and sleep the rest if the host clock ran ahead: a
 * Xen timer never fires early. A few rounds at most, for a short rest.
 */
static enum hrtimer_restart xk_timer_fn(struct hrtimer *t)
{
	struct xk_vcpu *xv = container_of(t, struct xk_vcpu, timer);
	u64 expires = READ_ONCE(xv->timer_expires_ns), now;
	ktime_t host;
	s64 rest;

	if (READ_ONCE(xv->xvm->dead))
		return HRTIMER_NORESTART;
	if (expires && xv->timer_rearms < XK_TIMER_MAX_REARMS) {
		xk_xen_time_now(xv, &now, &host);
		rest = (s64)(expires - now);
		if (rest > 0 && rest <= XK_TIMER_MAX_REST_NS) {
			xv->timer_rearms++;
			hrtimer_set_expires(t, ktime_add_ns(host, rest));
			return HRTIMER_RESTART;
		}
	}
	xk_timer_deliver(xv, XK_DELIVER_ATOMIC);
	return HRTIMER_NORESTART;
}

void xk_timer_vcpu_init(struct xk_vcpu *xv)
{
	mutex_init(&xv->timer_lock);
	hrtimer_init(&xv->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	xv->timer.function = xk_timer_fn;
}

void xk_timer_vcpu_teardown(struct xk_vcpu *xv)
{
	hrtimer_cancel(&xv->timer);
	xv->timer_expires_ns = 0;
}

/*
 * Arm at Xen time @expires (0: stop). A time already past fires at once
 * from here (process context). timer_lock held.
 */
static void xk_timer_arm_locked(struct xk_vcpu *xv, u64 expires)
{
	ktime_t host;
	u64 now;
	s64 delta;

	hrtimer_cancel(&xv->timer);
	WRITE_ONCE(xv->timer_expires_ns, expires);
	xv->timer_rearms = 0;
	if (!expires)
		return;
	xk_xen_time_now(xv, &now, &host);
	delta = (s64)(expires - now);
	if (delta <= 0) {
		xk_timer_deliver(xv, 0);
		return;
	}
	/* A deadline centuries away saturates instead of wrapping. */
	hrtimer_start(&xv->timer, ktime_add_safe(host, delta),
		      HRTIMER_MODE_ABS_HARD);
}

static bool xk_timer_fast(struct xk_vm *xvm, struct xk_vcpu *xv)
{
	return (READ_ONCE(xvm->fast_paths) & XENKVM_FAST_TIMER) &&
	       READ_ONCE(xv->timer_port) && xv->hcall_ready;
}

enum xk_hc_action xk_timer_vcpu_op(struct xk_vm *xvm, struct xk_vcpu *xv,
				   struct xk_hcall *hc)
{
	struct {
		u64 timeout_abs_ns;
		u32 flags;
	} __packed set;
	ktime_t host;
	u64 now;

	/* Timers of other vCPUs are the VMM's business (Xen: -EINVAL). */
	if (hc->args[1] != xv->xen_vcpu_id || !xk_timer_fast(xvm, xv))
		return XK_HC_USER;

	if (hc->args[0] == VCPUOP_stop_singleshot_timer) {
		mutex_lock(&xv->timer_lock);
		xk_timer_arm_locked(xv, 0);
		mutex_unlock(&xv->timer_lock);
		hc->ret = 0;
		return XK_HC_DONE;
	}

	/* The first 12 bytes are the same in both layouts. */
	if (xk_read_guest_virt(xv->vcpu, hc->args[2], &set, sizeof(set))) {
		hc->ret = -EFAULT;
		return XK_HC_DONE;
	}
	if (set.flags & ~VCPU_SSHOTTMR_future) {
		hc->ret = -EINVAL;
		return XK_HC_DONE;
	}
	mutex_lock(&xv->timer_lock);
	if (set.flags & VCPU_SSHOTTMR_future) {
		xk_xen_time_now(xv, &now, &host);
		if (set.timeout_abs_ns < now) {
			mutex_unlock(&xv->timer_lock);
			hc->ret = -ETIME;
			return XK_HC_DONE;
		}
	}
	/* Xen system time 0 is boot: treat as "already past", not "stop". */
	xk_timer_arm_locked(xv, set.timeout_abs_ns ? set.timeout_abs_ns : 1);
	mutex_unlock(&xv->timer_lock);
	hc->ret = 0;
	return XK_HC_DONE;
}

enum xk_hc_action xk_timer_set_timer_op(struct xk_vm *xvm, struct xk_vcpu *xv,
					struct xk_hcall *hc)
{
	u64 timeout = hc->args[0];

	if (!xk_timer_fast(xvm, xv))
		return XK_HC_USER;
	/* A 32-bit guest passes the 64-bit timeout in two registers. */
	if (!hc->longmode)
		timeout |= hc->args[1] << 32;
	mutex_lock(&xv->timer_lock);
	xk_timer_arm_locked(xv, timeout);	/* 0 stops */
	mutex_unlock(&xv->timer_lock);
	hc->ret = 0;
	return XK_HC_DONE;
}

int xk_timer_set_attr(struct xk_vcpu *xv, const struct xenkvm_vcpu_attr *a)
{
	if (a->pad0 || a->u.timer.pad ||
	    memchr_inv((const u8 *)&a->u + sizeof(a->u.timer), 0,
		       sizeof(a->u) - sizeof(a->u.timer)))
		return -EINVAL;
	if (a->u.timer.port >= XK_MAX_PORTS_64)
		return -EINVAL;
	mutex_lock(&xv->timer_lock);
	hrtimer_cancel(&xv->timer);
	WRITE_ONCE(xv->timer_port, a->u.timer.port);
	xk_timer_arm_locked(xv, a->u.timer.expires_ns);
	mutex_unlock(&xv->timer_lock);
	return 0;
}

int xk_timer_get_attr(struct xk_vcpu *xv, struct xenkvm_vcpu_attr *a)
{
	memset(&a->u, 0, sizeof(a->u));
	if (!xv->hcall_ready)
		return 0;
	mutex_lock(&xv->timer_lock);
	a->u.timer.port = xv->timer_port;
	a->u.timer.expires_ns = READ_ONCE(xv->timer_expires_ns);
	mutex_unlock(&xv->timer_lock);
	return 0;
}
