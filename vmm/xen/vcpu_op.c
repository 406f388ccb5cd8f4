// SPDX-License-Identifier: GPL-2.0
/*
 * VCPUOP_* and set_timer_op: where a vCPU's vcpu_info and runstate live,
 * whether it is up, and its Xen timers.
 *
 * Timers reach us only when the kernel side does not run them. Each vCPU
 * then has a CLOCK_BOOTTIME timerfd, all of them in one epoll set that the
 * event loop polls (xen_timer_fd); on expiry xen_timers_run() raises the
 * vCPU's VIRQ_TIMER port, as Xen's timer softirq does.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <xen/vcpu.h>


#define MIN_PERIOD_NS	1000000ULL		/* Xen: MILLISECS(1) */
#define MAX_PERIOD_NS	(1ULL << 62)		/* Xen: STIME_DELTA_MAX */

/* ---- timers ----------------------------------------------------------- */

int xen_timer_vcpu_init(struct xen *x, struct vcpu_xen *vx, unsigned int idx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = idx };

	vx->timer_fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (vx->timer_fd < 0)
		return -1;
	if (epoll_ctl(x->timer_epfd, EPOLL_CTL_ADD, vx->timer_fd, &ev)) {
		close(vx->timer_fd);
		vx->timer_fd = -1;
		return -1;
	}
	return 0;
}

void xen_timer_vcpu_destroy(struct xen *x, struct vcpu_xen *vx)
{
	if (vx->timer_fd < 0)
		return;
	epoll_ctl(x->timer_epfd, EPOLL_CTL_DEL, vx->timer_fd, NULL);
	close(vx->timer_fd);
	vx->timer_fd = -1;
}

int xen_timer_fd(struct vm *vm)
{
	return vm->xen ? vm->xen->timer_epfd : -1;
}

/* Program the timerfd for the earlier of the two timers (x->lock held). */
static void timer_arm(struct xen *x, struct vcpu_xen *vx)
{
	struct itimerspec its;
	uint64_t next = UINT64_MAX;
	int64_t host;

	memset(&its, 0, sizeof(its));
	if (vx->singleshot_on)
		next = vx->singleshot_ns;
	if (vx->periodic_ns && vx->periodic_next_ns < next)
		next = vx->periodic_next_ns;
	if (next != UINT64_MAX) {
		host = (int64_t)next - x->time_offset_ns;
		if (host <= 0)
			host = 1;	/* already due: fire at once */
		its.it_value.tv_sec = host / 1000000000LL;
		its.it_value.tv_nsec = host % 1000000000LL;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(vx->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Which timers of @vx are due at @now; advances them (x->lock held). */
static bool timer_expire(struct xen *x, struct vcpu_xen *vx, uint64_t now)
{
	bool fire = false;

	if (vx->singleshot_on && now >= vx->singleshot_ns) {
		vx->singleshot_on = false;
		fire = true;
	}
	if (vx->periodic_ns && now >= vx->periodic_next_ns) {
		vx->periodic_next_ns += vx->periodic_ns;
		/* Missed periods collapse into one event, as in Xen. */
		if (vx->periodic_next_ns <= now)
			vx->periodic_next_ns = now + vx->periodic_ns;
		fire = true;
	}
	timer_arm(x, vx);
	return fire;
}

void xen_timers_run(struct vm *vm)
{
	struct xen *x = vm->xen;
	struct epoll_event ev[16];
	int n, i;

	if (!x)
		return;
	n = epoll_wait(x->timer_epfd, ev, 16, 0);
	for (i = 0; i < n; i++) {
		struct vcpu *v = xen_vcpu_by_id(vm, ev[i].data.u32);
		uint64_t ticks;
		bool fire;

		if (!v || !v->xen)
			continue;
		/* A spurious wakeup reads nothing: the expiry check decides. */
		if (read(v->xen->timer_fd, &ticks, sizeof(ticks)) < 0)
			ticks = 0;
		pthread_mutex_lock(&x->lock);
		fire = timer_expire(x, v->xen, xen_now_ns(x));
		pthread_mutex_unlock(&x->lock);
		if (fire)
			xen_evtchn_send_virq(vm, v->index, VIRQ_TIMER);
	}
}

int xen_timer_set_singleshot(struct vcpu *vcpu, uint64_t abs_ns)
{
	struct xen *x = vcpu->vm->xen;

	pthread_mutex_lock(&x->lock);
	vcpu->xen->singleshot_on = true;
	vcpu->xen->singleshot_ns = abs_ns;
	timer_arm(x, vcpu->xen);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

static int stop_singleshot(struct vcpu *vcpu)
{
	struct xen *x = vcpu->vm->xen;

	pthread_mutex_lock(&x->lock);
	vcpu->xen->singleshot_on = false;
	timer_arm(x, vcpu->xen);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

static int64_t set_singleshot(struct vcpu *vcpu, struct vcpu *target,
			      uint64_t arg)
{
	struct vcpu_set_singleshot_timer t;

	/* Only a vCPU's own timer; 12 bytes in both ABIs (then padding). */
	if (target != vcpu)
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	if (xen_copy_from_guest(vcpu, arg, &t, 12))
		return -EFAULT;
	if ((t.flags & VCPU_SSHOTTMR_future) &&
	    t.timeout_abs_ns < xen_now_ns(vcpu->vm->xen))
		return -ETIME;
	return xen_timer_set_singleshot(vcpu, t.timeout_abs_ns);
}

static int64_t set_periodic(struct vcpu *vcpu, struct vcpu *target,
			    uint64_t arg)
{
	struct xen *x = vcpu->vm->xen;
	struct vcpu_set_periodic_timer t;

	if (xen_copy_from_guest(vcpu, arg, &t, sizeof(t)))
		return -EFAULT;
	if (t.period_ns < MIN_PERIOD_NS || t.period_ns > MAX_PERIOD_NS)
		return -EINVAL;
	pthread_mutex_lock(&x->lock);
	target->xen->periodic_ns = t.period_ns;
	target->xen->periodic_next_ns = xen_now_ns(x) + t.period_ns;
	timer_arm(x, target->xen);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

static int64_t stop_periodic(struct vcpu *target)
{
	struct xen *x = target->vm->xen;

	pthread_mutex_lock(&x->lock);
	target->xen->periodic_ns = 0;
	timer_arm(x, target->xen);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

int64_t xen_set_timer_op(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	/* 64-bit: one argument; compat: the low and high halves. */
	uint64_t t = hc->longmode ? hc->args[0]
				  : (hc->args[0] | (hc->args[1] << 32));

	return t ? xen_timer_set_singleshot(vcpu, t) : stop_singleshot(vcpu);
}

/* ---- vcpu_info and runstate placement -------------------------------- */

static int64_t register_vcpu_info(struct vcpu *vcpu, struct vcpu *target,
				  uint64_t arg)
{
	struct xen *x = vcpu->vm->xen;
	const struct backend_ops *ops = xen_ops(vcpu->vm);
	struct vcpu_register_vcpu_info info;
	uint64_t gpa, old;
	uint8_t *dst, *src;
	int r = 0;

	if (xen_copy_from_guest(vcpu, arg, &info, sizeof(info)))
		return -EFAULT;
	/* Inside one page, aligned as the layout's vcpu_info must be. */
	if (info.offset > XEN_PAGE_SIZE - VCPU_INFO_SIZE ||
	    info.offset & (x->long_mode ? 7 : 3))
		return -EINVAL;
	if (info.mfn > (UINT64_MAX >> XEN_PAGE_SHIFT))
		return -EINVAL;
	gpa = (info.mfn << XEN_PAGE_SHIFT) + info.offset;
	dst = gpa_to_hva(vcpu->vm, gpa, VCPU_INFO_SIZE);
	if (!dst)
		return -EINVAL;

	pthread_mutex_lock(&x->lock);
	/* Once per vCPU, and only on itself or on a vCPU not yet running. */
	if (target->xen->vcpu_info_gpa != XEN_INVALID_GPA ||
	    (target != vcpu && __atomic_load_n(&target->xen->up, __ATOMIC_RELAXED))) {
		pthread_mutex_unlock(&x->lock);
		return -EINVAL;
	}
	old = xen_vcpu_info_gpa_locked(x, target->index);
	src = old == XEN_INVALID_GPA ? NULL
				     : gpa_to_hva(vcpu->vm, old, VCPU_INFO_SIZE);
	if (src) {
		memmove(dst, src, VCPU_INFO_SIZE);
	} else {
		memset(dst, 0, VCPU_INFO_SIZE);
		dst[1] = 1;	/* evtchn_upcall_mask, as Xen's dummy vcpu_info */
	}
	/*
	 * Xen also sets every selector bit here, but together with
	 * evtchn_upcall_pending and an injected upcall, which we have no
	 * backend-neutral way to do. Selector bits alone are poison: Xen's
	 * 2-level rule (and KVM's, which follows it) raises an upcall only
	 * when a port's selector bit goes from 0 to 1, so the guest would
	 * never hear of an event again. The copy keeps whatever was
	 * pending; Linux registers before it binds any port anyway.
	 */
	target->xen->vcpu_info_gpa = gpa;
	pthread_mutex_unlock(&x->lock);

	if (ops && ops->set_vcpu_info)
		r = ops->set_vcpu_info(target, gpa);
	return r;
}

static int64_t register_runstate(struct vcpu *vcpu, struct vcpu *target,
				 const struct xen_hcall *hc, uint64_t arg)
{
	const struct backend_ops *ops = xen_ops(vcpu->vm);
	/* vcpu_runstate_info: 48 bytes, or 44 with i386's 4-byte u64 alignment. */
	uint64_t size = hc->longmode ? 48 : 44;
	uint64_t addr, gpa = XEN_INVALID_GPA;
	int r;

	if (!ops || !ops->set_runstate_area)
		return -ENOSYS;	/* nobody would keep it up to date */
	if (xen_copy_from_guest(vcpu, arg, &addr, sizeof(addr)))
		return -EFAULT;
	if (!hc->longmode)
		addr &= 0xffffffffULL;
	if (addr) {
		r = xen_gva_range_to_gpa(vcpu, addr, size, &gpa);
		if (r)
			return r;
	}
	r = ops->set_runstate_area(target, gpa);
	if (!r) {
		/* The balloon reads it to keep the area's pages pinned. */
		pthread_mutex_lock(&vcpu->vm->xen->lock);
		target->xen->runstate_gpa = gpa;
		pthread_mutex_unlock(&vcpu->vm->xen->lock);
	}
	return r;
}

/* ---- dispatch ------------------------------------------------------- */

int64_t xen_vcpu_op(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	uint64_t cmd = hc->args[0], arg = hc->args[2];
	struct vcpu *target = hc->args[1] <= UINT32_MAX
				      ? xen_vcpu_by_id(vcpu->vm, (uint32_t)hc->args[1])
				      : NULL;

	if (!target || !target->xen)
		return -ENOENT;
	switch (cmd) {
	case VCPUOP_register_vcpu_info:
		return register_vcpu_info(vcpu, target, arg);
	case VCPUOP_register_runstate_memory_area:
		return register_runstate(vcpu, target, hc, arg);
	case VCPUOP_set_singleshot_timer:
		return set_singleshot(vcpu, target, arg);
	case VCPUOP_stop_singleshot_timer:
		return target == vcpu ? stop_singleshot(vcpu) : -EINVAL;
	case VCPUOP_set_periodic_timer:
		return set_periodic(vcpu, target, arg);
	case VCPUOP_stop_periodic_timer:
		return stop_periodic(target);
	case VCPUOP_is_up:
		return __atomic_load_n(&target->xen->up, __ATOMIC_RELAXED) ? 1 : 0;
	case VCPUOP_up:
		/*
		 * HVM vCPUs start with INIT/SIPI; Xen refuses to "up" one that
		 * was never initialised and does nothing for a running one.
		 */
		return __atomic_load_n(&target->xen->up, __ATOMIC_RELAXED) ? 0 : -EINVAL;
	default:
		/* initialise, down, get_runstate_info, time area, send_nmi... */
		return xen_unhandled(vcpu, hc->nr, cmd);
	}
}
