// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: SCHEDOP_poll, SCHEDOP_yield and SCHEDOP_block in-kernel
 * (XENKVM_FAST_POLL; when it is off these exit to the VMM).
 *
 * SCHEDOP_poll blocks the vCPU thread until one of the listed ports is
 * pending, the absolute timeout (Xen system time, 0 = none) passes, or
 * the LAPIC holds an interrupt it could deliver (the upcall, say: Xen
 * unblocks a poller for any event). Those complete the call with 0. A
 * signal, or a KVM request for the vCPU, ends the sleep without completing
 * the call: the handler returns to KVM with RIP still at the vmcall, KVM
 * serves the request or leaves KVM_RUN with -EINTR and KVM_EXIT_INTR, and
 * the guest makes the call again when it next runs (the timeout is
 * absolute, so the restart is exact). Any other wake-up sleeps again.
 *
 * The vCPU thread waits on KVM's own vcpu->wait, so every kvm_vcpu_kick()
 * (interrupt injection, including the upcall vector) wakes it, and drops
 * kvm->srcu while it sleeps, as kvm_vcpu_block() does. A port raised while
 * it is masked injects nothing, so whoever raises a port calls
 * xk_sched_poll_notify(): send.c and timer.c here, and evtchn.c for ports
 * raised by the VMM or by irqfds.
 *
 * Locking. xk_vcpu.polling/poll_port/poll_wake are written by the polling
 * vCPU thread and read by xk_sched_poll_notify() in any context (atomic
 * included) without a lock. The poller clears poll_wake, issues a full
 * barrier, checks the ports, then sleeps with prepare_to_rcuwait() and
 * re-reads poll_wake; the notifier's caller made the port pending, then a
 * full barrier, then reads polling, sets poll_wake and wakes the rcuwait.
 * Either the poller sees the port or the notifier's wake-up finds it
 * waiting. The poller's check refreshes a stale shared_info cache rather
 * than read it as "not pending" (xk_poll_any_pending()). xk_vm.pollers
 * counts polling vCPUs so that notify costs one atomic read when nobody
 * polls.
 *
 * SCHEDOP_yield offers the CPU to another vCPU of the VM
 * (kvm_vcpu_on_spin). SCHEDOP_block completes with 0 and then halts the
 * vCPU as hlt does (kvm_emulate_halt_noskip): it runs again when an
 * interrupt, such as the event-channel upcall, can be delivered.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/rcuwait.h>
#include <linux/sched/signal.h>
#include <xen/interface/xen.h>
#include <xen/interface/sched.h>

#include "xenkvm.h"

#define XK_POLL_MAX_PORTS	128	/* Xen's limit */
#define XK_POLL_ANY		U32_MAX

static bool xk_sched_fast(struct xk_vm *xvm)
{
	return READ_ONCE(xvm->fast_paths) & XENKVM_FAST_POLL;
}

enum xk_hc_action xk_sched_yield(struct xk_vm *xvm, struct xk_vcpu *xv,
				 struct xk_hcall *hc)
{
	if (!xk_sched_fast(xvm))
		return XK_HC_USER;
	kvm_vcpu_on_spin(xv->vcpu, true);
	hc->ret = 0;
	return XK_HC_DONE;
}

enum xk_hc_action xk_sched_block(struct xk_vm *xvm, struct xk_vcpu *xv,
				 struct xk_hcall *hc)
{
	if (!xk_sched_fast(xvm))
		return XK_HC_USER;
	hc->ret = 0;
	return XK_HC_HALT;
}

void xk_sched_poll_notify(struct xk_vm *xvm, u32 port)
{
	int i;

	if (!READ_ONCE(xvm->hcall_ready))
		return;
	smp_mb();	/* the port's pending bit before polling/pollers */
	if (!atomic_read(&xvm->pollers))
		return;
	for (i = 0; i < XK_MAX_VCPUS; i++) {
		struct xk_vcpu *xv = READ_ONCE(xvm->vcpus[i]);
		u32 pp;

		if (!xv || !READ_ONCE(xv->polling))
			continue;
		pp = READ_ONCE(xv->poll_port);
		if (pp != XK_POLL_ANY && pp != port)
			continue;
		WRITE_ONCE(xv->poll_wake, true);
		kvm_vcpu_wake_up(xv->vcpu);
	}
}

/* 1 if one of @ports is pending, 0 if none, -EAGAIN if the cache is stale. */
static int xk_poll_scan(struct xk_vm *xvm, const u32 *ports, unsigned int nr)
{
	unsigned int i;
	int r;

	for (i = 0; i < nr; i++) {
		r = xk_evtchn_port_pending(xvm, ports[i]);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Whether one of @ports is pending. "Cannot tell" must not count as "no":
 * the shared_info cache may have been invalidated (its page migrated, a
 * memslot changed) after the port was raised, and that port's sender will
 * not notify again - a PV spinlock's kick comes once - so a poller that
 * slept on it would sleep for good. The vCPU thread may sleep: refresh the
 * cache and look again. If shared_info cannot be mapped at all, nothing
 * can be pending. If invalidations keep winning (or memory is short), say
 * "pending": a poll that returns early is allowed (Xen's callers re-check and poll again),
 * one that never returns is not.
 */
static bool xk_poll_any_pending(struct xk_vm *xvm, const u32 *ports,
				unsigned int nr)
{
	int tries, r;

	for (tries = 0; tries < 4; tries++) {
		r = xk_poll_scan(xvm, ports, nr);
		if (r != -EAGAIN)
			return r;
		r = xk_gpc_refresh(&xvm->shared_info);
		if (r == -EFAULT || r == -EINVAL || r == -ESRCH || r == -EPERM)
			return false;
		if (r && r != -EAGAIN)
			break;
	}
	return true;
}

/* Why the sleep ended. */
enum xk_poll_wake {
	XK_POLL_WOKEN,		/* a wake-up: find out why */
	XK_POLL_NOTIFIED,	/* xk_sched_poll_notify() */
	XK_POLL_TIMEOUT,
	XK_POLL_SIGNAL,
	XK_POLL_REQUEST,	/* KVM has work for this vCPU */
	XK_POLL_DEAD,
};

static enum xk_poll_wake xk_poll_reason(struct xk_vm *xvm, struct xk_vcpu *xv)
{
	if (READ_ONCE(xvm->dead))
		return XK_POLL_DEAD;
	if (READ_ONCE(xv->poll_wake))
		return XK_POLL_NOTIFIED;
	if (kvm_request_pending(xv->vcpu))
		return XK_POLL_REQUEST;
	if (signal_pending(current))
		return XK_POLL_SIGNAL;
	return XK_POLL_WOKEN;
}

/* Sleep on vcpu->wait once; kvm->srcu dropped meanwhile. */
static enum xk_poll_wake xk_poll_sleep(struct xk_vm *xvm, struct xk_vcpu *xv,
				       bool has_timeout, ktime_t deadline)
{
	struct kvm_vcpu *vcpu = xv->vcpu;
	enum xk_poll_wake why;

	kvm_vcpu_srcu_read_unlock(vcpu);
	prepare_to_rcuwait(&vcpu->wait);
	set_current_state(TASK_INTERRUPTIBLE);
	why = xk_poll_reason(xvm, xv);
	if (why == XK_POLL_WOKEN) {
		if (!has_timeout)
			schedule();
		else if (!schedule_hrtimeout(&deadline, HRTIMER_MODE_ABS))
			why = XK_POLL_TIMEOUT;
	}
	__set_current_state(TASK_RUNNING);
	finish_rcuwait(&vcpu->wait);
	kvm_vcpu_srcu_read_lock(vcpu);
	if (why == XK_POLL_WOKEN)
		why = xk_poll_reason(xvm, xv);
	return why;
}

enum xk_hc_action xk_sched_poll(struct xk_vm *xvm, struct xk_vcpu *xv,
				struct xk_hcall *hc)
{
	u32 ports[XK_POLL_MAX_PORTS];
	struct kvm_vcpu *vcpu = xv->vcpu;
	u64 guest_ports, timeout, now;
	unsigned int nr, i, max;
	enum xk_poll_wake why;
	ktime_t host, deadline = 0;
	unsigned int rearms = 0;
	bool pending;

	if (!xk_sched_fast(xvm))
		return XK_HC_USER;

	/* struct sched_poll: ports, nr_ports, timeout; two layouts. */
	if (hc->longmode) {
		struct {
			u64 ports;
			u32 nr_ports;
			u32 pad;
			u64 timeout;
		} p64;

		if (xk_read_guest_virt(vcpu, hc->args[1], &p64, sizeof(p64)))
			goto efault;
		guest_ports = p64.ports;
		nr = p64.nr_ports;
		timeout = p64.timeout;
	} else {
		struct {
			u32 ports;
			u32 nr_ports;
			u64 timeout;
		} __packed p32;

		if (xk_read_guest_virt(vcpu, hc->args[1], &p32, sizeof(p32)))
			goto efault;
		guest_ports = p32.ports;
		nr = p32.nr_ports;
		timeout = p32.timeout;
	}
	if (nr > XK_POLL_MAX_PORTS) {
		hc->ret = -EINVAL;
		return XK_HC_DONE;
	}
	if (nr && xk_read_guest_virt(vcpu, guest_ports, ports,
				     nr * sizeof(u32)))
		goto efault;
	max = xk_max_ports(xvm);
	for (i = 0; i < nr; i++) {
		if (ports[i] >= max) {
			hc->ret = -EINVAL;
			return XK_HC_DONE;
		}
	}
	if (timeout) {
		xk_xen_time_now(xv, &now, &host);
		if ((s64)(timeout - now) <= 0)
			goto done;
		deadline = ktime_add_safe(host, timeout - now);
	}

	WRITE_ONCE(xv->poll_port, nr == 1 ? ports[0] : XK_POLL_ANY);
	WRITE_ONCE(xv->polling, true);
	atomic_inc(&xvm->pollers);

	/*
	 * Sleep until a reason. A wake-up with none (a stray wake-up, or a
	 * port raised elsewhere while several are polled) sleeps again; an
	 * interrupt the LAPIC could deliver ends the poll as an event would
	 * in Xen; KVM requests and signals restart the call (RIP unchanged)
	 * after KVM has served them.
	 */
	for (;;) {
		WRITE_ONCE(xv->poll_wake, false);
		smp_mb();	/* clear the flag, then check; see notify */
		pending = xk_poll_any_pending(xvm, ports, nr);
		if (pending || kvm_cpu_has_interrupt(vcpu)) {
			why = XK_POLL_NOTIFIED;
			break;
		}
		why = xk_poll_sleep(xvm, xv, timeout != 0, deadline);
		if (why == XK_POLL_TIMEOUT && rearms++ < 8) {
			/* Host clock ahead of the guest's: sleep the rest. */
			xk_xen_time_now(xv, &now, &host);
			if ((s64)(timeout - now) > 0) {
				deadline = ktime_add_safe(host, timeout - now);
				continue;
			}
		}
		if (why != XK_POLL_WOKEN && why != XK_POLL_NOTIFIED)
			break;
	}

	WRITE_ONCE(xv->polling, false);
	atomic_dec(&xvm->pollers);

	if (why == XK_POLL_SIGNAL || why == XK_POLL_REQUEST)
		return XK_HC_INTR;
done:
	/* Counted when it completes: a restarted poll counts once. */
	xk_stat_inc(xvm, polls);
	hc->ret = 0;
	return XK_HC_DONE;

efault:
	hc->ret = -EFAULT;
	return XK_HC_DONE;
}
