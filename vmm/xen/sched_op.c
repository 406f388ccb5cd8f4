// SPDX-License-Identifier: GPL-2.0
/*
 * SCHEDOP_*: yielding, blocking and polling the vCPU, and shutting the
 * domain down. Block and poll here are the fallback when the kernel side
 * does not answer them: the vCPU thread sleeps on xen->event_cond, which
 * every VMM-side delivery signals, and rechecks the guest's bits every
 * POLL_SLICE_NS because an in-kernel delivery signals nothing here.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <sched.h>
#include <time.h>
#include <xen/sched.h>


#define POLL_SLICE_NS	1000000ULL	/* 1 ms */
#define BLOCK_MAX_NS	10000000ULL	/* a block returns within 10 ms */
#define POLL_MAX_PORTS	128		/* Xen's limit */

/* struct sched_poll as a 32-bit guest lays it out. */
struct compat_sched_poll {
	uint32_t ports;
	uint32_t nr_ports;
	uint64_t timeout;
} __attribute__((packed));

static bool upcall_pending(struct xen *x, uint32_t vcpu_id)
{
	uint64_t gpa = xen_vcpu_info_gpa_locked(x, vcpu_id);
	const uint8_t *p = gpa == XEN_INVALID_GPA ? NULL
						  : gpa_to_hva(x->vm, gpa, 1);

	return p && __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Sleep on the event condition for at most @ns (caller holds x->lock). */
static void wait_slice(struct xen *x, uint64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ns;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(&x->event_cond, &x->lock, &ts);
}

static int64_t sched_block(struct vcpu *vcpu)
{
	struct xen *x = vcpu->vm->xen;
	uint64_t gpa, deadline = xen_now_ns(x) + BLOCK_MAX_NS;
	uint8_t *mask;

	pthread_mutex_lock(&x->lock);
	/* SCHEDOP_block first re-enables event delivery, as in Xen. */
	gpa = xen_vcpu_info_gpa_locked(x, vcpu->index);
	mask = gpa == XEN_INVALID_GPA ? NULL : gpa_to_hva(vcpu->vm, gpa + 1, 1);
	if (mask)
		__atomic_store_n(mask, 0, __ATOMIC_RELEASE);
	while (!upcall_pending(x, vcpu->index) && !vcpu->vm->stopping &&
	       xen_now_ns(x) < deadline)
		wait_slice(x, POLL_SLICE_NS);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

static int read_poll_args(struct vcpu *vcpu, const struct xen_hcall *hc,
			  struct sched_poll *p)
{
	struct compat_sched_poll c;

	if (hc->longmode)
		return xen_copy_from_guest(vcpu, hc->args[1], p, sizeof(*p));
	if (xen_copy_from_guest(vcpu, hc->args[1], &c, sizeof(c)))
		return -EFAULT;
	set_xen_guest_handle(p->ports, (evtchn_port_t *)(uintptr_t)c.ports);
	p->nr_ports = c.nr_ports;
	p->timeout = c.timeout;
	return 0;
}

/* 1: a port is pending; 0: none; -errno: a bad port list. */
static int any_port_pending(struct vcpu *vcpu, uint64_t ports,
			    unsigned int nr)
{
	struct xen *x = vcpu->vm->xen;
	evtchn_port_t port[POLL_MAX_PORTS];
	unsigned int i;

	if (xen_copy_from_guest(vcpu, ports, port, nr * sizeof(port[0])))
		return -EFAULT;
	for (i = 0; i < nr; i++) {
		if (port[i] >= xen_evtchn_max_ports(x))
			return -EINVAL;
		if (xen_evtchn_is_pending(x, port[i]))
			return 1;
	}
	return 0;
}

static int64_t sched_poll(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	struct xen *x = vcpu->vm->xen;
	struct sched_poll p;
	uint64_t ports;
	int r;

	if (read_poll_args(vcpu, hc, &p))
		return -EFAULT;
	if (p.nr_ports > POLL_MAX_PORTS)
		return -EINVAL;
	ports = (uint64_t)(uintptr_t)p.ports.p;
	/* Check the whole list once up front: errors come before sleeping. */
	r = any_port_pending(vcpu, ports, p.nr_ports);
	if (r)
		return r < 0 ? r : 0;
	pthread_mutex_lock(&x->lock);
	for (;;) {
		if (vcpu->vm->stopping || upcall_pending(x, vcpu->index))
			break;
		if (p.timeout && xen_now_ns(x) >= p.timeout)
			break;
		wait_slice(x, POLL_SLICE_NS);
		pthread_mutex_unlock(&x->lock);
		r = any_port_pending(vcpu, ports, p.nr_ports);
		pthread_mutex_lock(&x->lock);
		if (r)
			break;
	}
	pthread_mutex_unlock(&x->lock);
	return r < 0 ? r : 0;
}

static int shutdown_exit_reason(unsigned int reason, enum vm_exit_reason *why)
{
	switch (reason) {
	case SHUTDOWN_poweroff: *why = VM_EXIT_POWEROFF; return 0;
	case SHUTDOWN_reboot: *why = VM_EXIT_REBOOT; return 0;
	case SHUTDOWN_suspend: *why = VM_EXIT_SUSPEND; return 0;
	case SHUTDOWN_crash: *why = VM_EXIT_CRASH; return 0;
	case SHUTDOWN_watchdog: *why = VM_EXIT_WATCHDOG; return 0;
	default: return -EINVAL;	/* incl. soft_reset: we cannot */
	}
}

static int64_t sched_shutdown(struct vcpu *vcpu, uint64_t arg)
{
	struct xen *x = vcpu->vm->xen;
	struct sched_shutdown s;
	enum vm_exit_reason why;
	unsigned int reason;

	if (xen_copy_from_guest(vcpu, arg, &s, sizeof(s)))
		return -EFAULT;
	if (shutdown_exit_reason(s.reason, &why))
		return -EINVAL;
	/* A code recorded by SCHEDOP_shutdown_code wins, as in Xen. */
	pthread_mutex_lock(&x->lock);
	if (x->shutdown_code == ~0u)
		x->shutdown_code = s.reason;
	reason = x->shutdown_code;
	pthread_mutex_unlock(&x->lock);
	if (shutdown_exit_reason(reason, &why))
		why = VM_EXIT_CRASH;
	vm_request_stop(vcpu->vm, why);
	return 0;
}

static int64_t sched_shutdown_code(struct vcpu *vcpu, uint64_t arg)
{
	struct xen *x = vcpu->vm->xen;
	struct sched_shutdown s;
	enum vm_exit_reason why;

	if (xen_copy_from_guest(vcpu, arg, &s, sizeof(s)))
		return -EFAULT;
	if (shutdown_exit_reason(s.reason, &why))
		return -EINVAL;
	pthread_mutex_lock(&x->lock);
	x->shutdown_code = s.reason;
	pthread_mutex_unlock(&x->lock);
	return 0;
}

static int64_t sched_remote_shutdown(struct vcpu *vcpu, uint64_t arg)
{
	struct sched_remote_shutdown s;
	int r;

	if (xen_copy_from_guest(vcpu, arg, &s, sizeof(s)))
		return -EFAULT;
	r = xen_check_domid(vcpu->vm->xen, s.domain_id);
	/* Only a device model or the control domain may: not us. */
	return r == -ESRCH ? -ESRCH : -EPERM;
}

int64_t xen_sched_op(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	switch (hc->args[0]) {
	case SCHEDOP_yield:
		sched_yield();
		return 0;
	case SCHEDOP_block:
		return sched_block(vcpu);
	case SCHEDOP_poll:
		return sched_poll(vcpu, hc);
	case SCHEDOP_shutdown:
		return sched_shutdown(vcpu, hc->args[1]);
	case SCHEDOP_shutdown_code:
		return sched_shutdown_code(vcpu, hc->args[1]);
	case SCHEDOP_remote_shutdown:
		return sched_remote_shutdown(vcpu, hc->args[1]);
	case SCHEDOP_pin_override:
		return -EPERM;	/* hardware domain only */
	default:
		return xen_unhandled(vcpu, hc->nr, hc->args[0]);
	}
}
