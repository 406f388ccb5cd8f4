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

static const struct hcall_entry hcall_table[] = {
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

	if (!vcpu->vm->xen || !vcpu->xen)
		return -ENOSYS;
	/* Xen refuses hypercalls from guest user mode with -EPERM. */
	if (h.cpl != 0)
		return -EPERM;
	/* In the compat ABI every argument is a 32-bit register. */
	if (!h.longmode)
		for (i = 0; i < 6; i++)
			h.args[i] &= 0xffffffffULL;
	vcpu->xen->up = true;
	if (h.nr >= NR_HCALL_ENTRIES || !hcall_table[h.nr].fn)
		return xen_unhandled(vcpu, h.nr, UINT64_MAX);
	return hcall_table[h.nr].fn(vcpu, &h);
}

/* ---- state ----------------------------------------------------------- */

struct vcpu *xen_vcpu_by_id(struct vm *vm, uint32_t vcpu_id)
{
	if (vcpu_id >= vm->nr_vcpus || vcpu_id >= VM_MAX_VCPUS)
		return NULL;
	return vm->vcpus[vcpu_id];
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
	struct vcpu_xen *vx;

	if (!x)
		return -EINVAL;
	if (vcpu->xen)
		return 0;
	vx = calloc(1, sizeof(*vx));
	if (!vx)
		return -ENOMEM;
	vx->vcpu = vcpu;
	vx->up = vcpu->index == 0;
	vx->vcpu_info_gpa = XEN_INVALID_GPA;
	vx->runstate_gpa = XEN_INVALID_GPA;
	vx->timer_fd = -1;
	if (xen_timer_vcpu_init(x, vx, vcpu->index)) {
		free(vx);
		return -errno;
	}
	vcpu->xen = vx;
	return 0;
}

void xen_vcpu_destroy(struct vcpu *vcpu)
{
	if (!vcpu->xen)
		return;
	if (vcpu->vm->xen)
		xen_timer_vcpu_destroy(vcpu->vm->xen, vcpu->xen);
	free(vcpu->xen);
	vcpu->xen = NULL;
}

static void xen_free(struct xen *x)
{
	if (x->timer_epfd >= 0)
		close(x->timer_epfd);
	pthread_cond_destroy(&x->event_cond);
	pthread_mutex_destroy(&x->lock);
	free(x->ballooned);
	free(x);
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
	x->console_fd = STDOUT_FILENO;
	x->translate = xen_translate_kvm;
	x->ports[0].state = PORT_RESERVED;
	x->next_backend_port = 1;
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->event_cond, NULL);
	x->timer_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (x->timer_epfd < 0 || xen_balloon_init(x)) {
		r = -errno;
		xen_free(x);
		return r;
	}
	vm->xen = x;
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
