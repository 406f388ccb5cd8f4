// SPDX-License-Identifier: GPL-2.0
/*
 * The hypercall dispatch table and the lifetime of the Xen ABI state.
 *
 * Only the hypercalls Xen offers an HVM guest are in the table; anything
 * else is -ENOSYS, as Xen's HVM hypercall table answers. Each unknown
 * (hypercall, sub-op) pair is logged once so a guest cannot flood the log.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "event_loop.h"

/* The grant table family lives in its owner's file, which may be absent. */
#pragma weak xen_grant_table_op

typedef int64_t (*hcall_fn)(struct vcpu *vcpu, const struct xen_hcall *hc);

struct hcall_entry {
	const char *name;
	hcall_fn fn;
};

static int64_t grant_table_op(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	if (!xen_grant_table_op)
		return xen_unhandled(vcpu, hc->nr, hc->args[0]);
	return xen_grant_table_op(vcpu, hc);
}

/*
 * In Xen's HVM table, but for the control domain: XSM refuses a domU
 * before looking at the arguments.
 */
static int64_t privileged_only(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	(void)vcpu;
	(void)hc;
	return -EPERM;
}

static const struct hcall_entry hcall_table[] = {
	[__HYPERVISOR_platform_op] = { "platform_op", privileged_only },
	[__HYPERVISOR_vm_assist] = { "vm_assist", xen_vm_assist },
	[__HYPERVISOR_sysctl] = { "sysctl", privileged_only },
	[__HYPERVISOR_domctl] = { "domctl", privileged_only },
	[__HYPERVISOR_memory_op] = { "memory_op", xen_memory_op },
	[__HYPERVISOR_set_timer_op] = { "set_timer_op", xen_set_timer_op },
	[__HYPERVISOR_xen_version] = { "xen_version", xen_version_op },
	[__HYPERVISOR_console_io] = { "console_io", xen_console_io },
	[__HYPERVISOR_grant_table_op] = { "grant_table_op", grant_table_op },
	[__HYPERVISOR_vcpu_op] = { "vcpu_op", xen_vcpu_op },
	[__HYPERVISOR_sched_op] = { "sched_op", xen_sched_op },
	[__HYPERVISOR_event_channel_op] = { "event_channel_op",
					    xen_event_channel_op },
	[__HYPERVISOR_physdev_op] = { "physdev_op", xen_physdev_op },
	[__HYPERVISOR_hvm_op] = { "hvm_op", xen_hvm_op },
};

#define NR_HCALL_ENTRIES (sizeof(hcall_table) / sizeof(hcall_table[0]))

static bool log_first_time(struct xen *x, uint64_t nr, uint64_t subop)
{
	uint64_t *word;
	uint64_t bit;
	bool first;

	if (nr >= 64) {
		word = &x->logged_hcall;
		bit = 1;
	} else if (subop == UINT64_MAX) {
		word = &x->logged_hcall;
		bit = 1ULL << nr;
	} else {
		word = &x->logged[nr];
		bit = 1ULL << (subop < 63 ? subop : 63);
	}
	pthread_mutex_lock(&x->lock);
	first = !(*word & bit);
	*word |= bit;
	pthread_mutex_unlock(&x->lock);
	return first;
}

int64_t xen_unhandled(struct vcpu *vcpu, uint64_t nr, uint64_t subop)
{
	struct xen *x = vcpu->vm->xen;

	if (log_first_time(x, nr, subop)) {
		if (subop == UINT64_MAX)
			fprintf(stderr, "xen: unhandled hypercall %llu: -ENOSYS\n",
				(unsigned long long)nr);
		else
			fprintf(stderr,
				"xen: unhandled hypercall %llu sub-op %llu: -ENOSYS\n",
				(unsigned long long)nr,
				(unsigned long long)subop);
	}
	return -ENOSYS;
}

int64_t xen_hypercall(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	struct xen_hcall h = *hc;
	unsigned int i;

	if (!vcpu->vm->xen || !xen_vcpu_by_id(vcpu->vm, vcpu->index))
		return -ENOSYS;
	/* Xen refuses hypercalls from guest user mode with -EPERM. */
	if (h.cpl != 0)
		return -EPERM;
	/* In the compat ABI every argument is a 32-bit register. */
	if (!h.longmode)
		for (i = 0; i < 6; i++)
			h.args[i] &= 0xffffffffULL;
	/* Running guest code: INIT/SIPI has brought it up. */
	__atomic_store_n(&vcpu->xen->up, true, __ATOMIC_RELAXED);
	if (h.nr >= NR_HCALL_ENTRIES || !hcall_table[h.nr].fn)
		return xen_unhandled(vcpu, h.nr, UINT64_MAX);
	return hcall_table[h.nr].fn(vcpu, &h);
}

/* ---- state ----------------------------------------------------------- */

/*
 * The machine may create its vCPUs after xen_init() and never tell us:
 * attach a vCPU to its state slot the first time anyone asks for it.
 */
static struct vcpu_xen *vcpu_attach(struct xen *x, struct vcpu *vcpu)
{
	struct vcpu_xen *vx = &x->vcpu_state[vcpu->index];

	pthread_mutex_lock(&x->vcpu_lock);
	if (!vcpu->xen) {
		vx->vcpu = vcpu;
		if (vx->timer_fd < 0 && xen_timer_vcpu_init(x, vx, vcpu->index))
			vx = NULL;
		if (vx)
			__atomic_store_n(&vcpu->xen, vx, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&x->vcpu_lock);
	return __atomic_load_n(&vcpu->xen, __ATOMIC_ACQUIRE);
}

struct vcpu *xen_vcpu_by_id(struct vm *vm, uint32_t vcpu_id)
{
	struct vcpu *v;

	if (!vm->xen || vcpu_id >= vm->nr_vcpus || vcpu_id >= VM_MAX_VCPUS)
		return NULL;
	v = vm->vcpus[vcpu_id];
	if (!v || v->index != vcpu_id)
		return NULL;
	if (!__atomic_load_n(&v->xen, __ATOMIC_ACQUIRE) && !vcpu_attach(vm->xen, v))
		return NULL;
	return v;
}

int xen_check_domid(struct xen *x, uint16_t domid)
{
	if (domid == DOMID_SELF || domid == x->domid)
		return 0;
	/* Domain 0 exists (our backends) but an unprivileged guest may not
	 * act on it; no other domain exists. */
	return domid == XEN_BACKEND_DOMID ? -EPERM : -ESRCH;
}

uint64_t xen_now_ns(struct xen *x)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec +
	       (uint64_t)x->time_offset_ns;
}

int xen_vcpu_init(struct vcpu *vcpu)
{
	struct xen *x = vcpu->vm->xen;

	if (!x || vcpu->index >= VM_MAX_VCPUS)
		return -EINVAL;
	return vcpu_attach(x, vcpu) ? 0 : -errno;
}

/* The state stays in struct xen: a vCPU re-created later finds it again. */
void xen_vcpu_destroy(struct vcpu *vcpu)
{
	__atomic_store_n(&vcpu->xen, NULL, __ATOMIC_RELEASE);
}

static void xen_free(struct xen *x)
{
	unsigned int i;

	for (i = 0; i < VM_MAX_VCPUS; i++)
		xen_timer_vcpu_destroy(x, &x->vcpu_state[i]);
	if (x->timer_epfd >= 0)
		close(x->timer_epfd);
	pthread_cond_destroy(&x->event_cond);
	pthread_mutex_destroy(&x->vcpu_lock);
	pthread_mutex_destroy(&x->lock);
	free(x->ballooned);
	free(x);
}

static void vcpu_state_init(struct vcpu_xen *vx, unsigned int index)
{
	vx->up = index == 0;	/* the BSP runs from the start */
	vx->vcpu_info_gpa = XEN_INVALID_GPA;
	vx->runstate_gpa = XEN_INVALID_GPA;
	vx->timer_fd = -1;
}

/*
 * Xen system time is the guest's kvmclock (what the kernel side puts in
 * vcpu_info.time): KVM counts it as CLOCK_BOOTTIME plus a per-VM offset,
 * which one KVM_GET_CLOCK reveals. Without a VM (tests) the offset is 0.
 */
static int64_t kvmclock_offset(struct vm *vm)
{
	struct kvm_clock_data data = { 0 };
	struct timespec ts;

	if (vm->vm_fd < 0 || ioctl(vm->vm_fd, KVM_GET_CLOCK, &data))
		return 0;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)data.clock -
	       ((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

static void timers_ready(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	xen_timers_run(opaque);
}

int xen_init(struct vm *vm, unsigned int xen_major, unsigned int xen_minor)
{
	struct xen *x = calloc(1, sizeof(*x));
	unsigned int i;
	int r;

	if (!x)
		return -ENOMEM;
	x->vm = vm;
	x->major = xen_major;
	x->minor = xen_minor;
	x->domid = XEN_DEFAULT_DOMID;
	x->long_mode = true;	/* Xen's default until the guest says */
	x->shared_info_gfn = XEN_INVALID_GFN;
	x->shutdown_code = ~0u;
	x->time_offset_ns = kvmclock_offset(vm);
	x->console_fd = STDOUT_FILENO;
	x->translate = xen_translate_kvm;
	x->ports[0].state = PORT_RESERVED;
	x->next_backend_port = 1;
	for (i = 0; i < VM_MAX_VCPUS; i++)
		vcpu_state_init(&x->vcpu_state[i], i);
	pthread_mutex_init(&x->lock, NULL);
	pthread_mutex_init(&x->vcpu_lock, NULL);
	pthread_cond_init(&x->event_cond, NULL);
	x->timer_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (x->timer_epfd < 0 || xen_balloon_init(x)) {
		r = -errno;
		xen_free(x);
		return r;
	}
	vm->xen = x;
	/* Userspace Xen timers fire on the event loop thread. */
	if (vm->loop)
		event_loop_add(vm->loop, x->timer_epfd, EPOLLIN, timers_ready, vm);
	for (i = 0; i < vm->nr_vcpus && i < VM_MAX_VCPUS; i++) {
		if (!vm->vcpus[i])
			continue;
		r = xen_vcpu_init(vm->vcpus[i]);
		if (r) {
			xen_destroy(vm);
			return r;
		}
	}
	return 0;
}

void xen_destroy(struct vm *vm)
{
	unsigned int i;

	if (!vm->xen)
		return;
	if (vm->loop)
		event_loop_del(vm->loop, vm->xen->timer_epfd);
	for (i = 0; i < vm->nr_vcpus && i < VM_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			xen_vcpu_destroy(vm->vcpus[i]);
	xen_free(vm->xen);
	vm->xen = NULL;
}

uint16_t xen_domid(struct vm *vm)
{
	return vm->xen ? vm->xen->domid : XEN_DEFAULT_DOMID;
}

void xen_set_domid(struct vm *vm, uint16_t domid)
{
	if (vm->xen && domid != XEN_BACKEND_DOMID && domid < DOMID_FIRST_RESERVED)
		vm->xen->domid = domid;
}

int xen_set_hvm_param(struct vm *vm, uint32_t index, uint64_t value)
{
	if (!vm->xen || index >= HVM_NR_PARAMS)
		return -EINVAL;
	pthread_mutex_lock(&vm->xen->lock);
	vm->xen->params[index] = value;
	pthread_mutex_unlock(&vm->xen->lock);
	return 0;
}

uint64_t xen_get_hvm_param(struct vm *vm, uint32_t index)
{
	uint64_t v;

	if (!vm->xen || index >= HVM_NR_PARAMS)
		return 0;
	pthread_mutex_lock(&vm->xen->lock);
	v = vm->xen->params[index];
	pthread_mutex_unlock(&vm->xen->lock);
	return v;
}

void xen_set_long_mode(struct vm *vm, bool long_mode)
{
	struct xen *x = vm->xen;
	const struct backend_ops *ops = xen_ops(vm);

	if (!x)
		return;
	pthread_mutex_lock(&x->lock);
	x->long_mode = long_mode;
	pthread_mutex_unlock(&x->lock);
	/* Always tell the kernel side: its default need not be Xen's. */
	if (ops && ops->set_long_mode)
		ops->set_long_mode(vm, long_mode);
}

void xen_set_system_time_offset(struct vm *vm, int64_t offset_ns)
{
	if (vm->xen)
		vm->xen->time_offset_ns = offset_ns;
}
