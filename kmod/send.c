// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: in-kernel EVTCHNOP_send.
 *
 * The VMM registers the guest ports whose EVTCHNOP_send the module may
 * answer itself (XENKVM_ATTR_EVTCHN):
 *
 *   XENKVM_EVTCHN_DELIVER  raise @deliver_port on Xen vCPU @vcpu of the
 *                          same guest (IPIs, VIRQs bound by the VMM,
 *                          interdomain loopback);
 *   XENKVM_EVTCHN_EVENTFD  signal an eventfd (a backend in the VMM or
 *                          another process).
 *
 * A send on any other port exits to the VMM, which knows what the port is.
 *
 * Locking. The table is an xarray indexed by the guest's port, reached
 * through xk_vm.send_ports (RCU). Writers (the ioctl, xvm->lock held, and
 * teardown) replace or erase entries and free them after an RCU grace
 * period (call_rcu, which also drops the eventfd reference). Readers (the
 * hypercall handler on the vCPU thread) look up under rcu_read_lock(),
 * copy what they need, and signal an eventfd only inside the read
 * section, so the eventfd outlives the use.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "xenkvm.h"

struct xk_send_port {
	u32 type;
	u32 deliver_port;
	u32 vcpu;
	struct eventfd_ctx *eventfd;
	struct rcu_head rcu;
};

static void xk_send_port_free_rcu(struct rcu_head *head)
{
	struct xk_send_port *p = container_of(head, struct xk_send_port, rcu);

	if (p->eventfd)
		eventfd_ctx_put(p->eventfd);
	kfree(p);
}

static void xk_send_port_free(struct xk_send_port *p)
{
	if (p)
		call_rcu(&p->rcu, xk_send_port_free_rcu);
}

static struct xarray *xk_send_table(struct xk_vm *xvm)
{
	return rcu_dereference(*(struct xarray __rcu **)&xvm->send_ports);
}

/* xvm->lock held (or the VM being torn down). */
static struct xarray *xk_send_table_locked(struct xk_vm *xvm)
{
	return rcu_dereference_protected(*(struct xarray __rcu **)&xvm->send_ports,
					 true);
}

void xk_send_vm_init(struct xk_vm *xvm)
{
	/* The table is created on first use; nothing to do yet. */
}

void xk_send_reset(struct xk_vm *xvm)
{
	struct xarray *xa = xk_send_table_locked(xvm);
	struct xk_send_port *p;
	unsigned long idx;

	if (!xa)
		return;
	xa_for_each(xa, idx, p) {
		xa_erase(xa, idx);
		xk_send_port_free(p);
	}
}

/* After the handlers are gone (xk_hcall_vm_teardown). */
void xk_send_vm_teardown(struct xk_vm *xvm)
{
	struct xarray *xa = xk_send_table_locked(xvm);

	if (!xa)
		return;
	xk_send_reset(xvm);
	rcu_assign_pointer(*(struct xarray __rcu **)&xvm->send_ports, NULL);
	synchronize_rcu();
	xa_destroy(xa);
	kfree(xa);
}

int xk_send_set_port(struct xk_vm *xvm, const struct xenkvm_attr *attr)
{
	const typeof(attr->u.evtchn) *e = &attr->u.evtchn;
	struct xk_send_port *p, *old;
	struct xarray *xa;
	int r;

	if (attr->flags || e->pad[0] || e->pad[1])
		return -EINVAL;
	if (memchr_inv((const u8 *)&attr->u + sizeof(*e), 0,
		       sizeof(attr->u) - sizeof(*e)))
		return -EINVAL;
	if (e->flags & ~XENKVM_EVTCHN_DEASSIGN)
		return -EINVAL;
	if (!e->send_port || e->send_port >= XK_MAX_PORTS_64)
		return -EINVAL;

	xa = xk_send_table_locked(xvm);
	if (e->flags & XENKVM_EVTCHN_DEASSIGN) {
		old = xa ? xa_erase(xa, e->send_port) : NULL;
		if (!old)
			return -ENOENT;
		xk_send_port_free(old);
		return 0;
	}

	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return -ENOMEM;
	p->type = e->type;
	switch (e->type) {
	case XENKVM_EVTCHN_DELIVER:
		r = -EINVAL;
		/* @eventfd is unused here: 0 or -1. */
		if (!e->deliver_port || e->deliver_port >= XK_MAX_PORTS_64 ||
		    e->vcpu >= XK_MAX_VCPUS || (e->eventfd && e->eventfd != -1))
			goto fail;
		p->deliver_port = e->deliver_port;
		p->vcpu = e->vcpu;
		break;
	case XENKVM_EVTCHN_EVENTFD:
		r = -EINVAL;
		if (e->deliver_port || e->vcpu)
			goto fail;
		p->eventfd = eventfd_ctx_fdget(e->eventfd);
		if (IS_ERR(p->eventfd)) {
			r = PTR_ERR(p->eventfd);
			p->eventfd = NULL;
			goto fail;
		}
		break;
	default:
		r = -EINVAL;
		goto fail;
	}

	if (!xa) {
		r = -ENOMEM;
		xa = kzalloc(sizeof(*xa), GFP_KERNEL_ACCOUNT);
		if (!xa)
			goto fail;
		xa_init(xa);
		rcu_assign_pointer(*(struct xarray __rcu **)&xvm->send_ports,
				   xa);
	}
	old = xa_store(xa, e->send_port, p, GFP_KERNEL_ACCOUNT);
	if (xa_is_err(old)) {
		r = xa_err(old);
		goto fail;
	}
	xk_send_port_free(old);
	return 0;

fail:
	xk_send_port_free_rcu(&p->rcu);
	return r;
}

int xk_send_get_port(struct xk_vm *xvm, struct xenkvm_attr *attr)
{
	u32 port = attr->u.evtchn.send_port;
	struct xk_send_port *p;
	struct xarray *xa;
	int r = -ENOENT;

	memset(&attr->u, 0, sizeof(attr->u));
	attr->u.evtchn.send_port = port;
	rcu_read_lock();
	xa = xk_send_table(xvm);
	p = xa ? xa_load(xa, port) : NULL;
	if (p) {
		attr->u.evtchn.type = p->type;
		attr->u.evtchn.deliver_port = p->deliver_port;
		attr->u.evtchn.vcpu = p->vcpu;
		attr->u.evtchn.eventfd = -1;	/* not recoverable as an fd */
		r = 0;
	}
	rcu_read_unlock();
	return r;
}

/*
 * eventfd_signal() lost its count argument in the same release that made
 * <linux/eventfd.h> include the new uapi header; its guard tells which.
 */
static void xk_eventfd_signal(struct eventfd_ctx *ctx)
{
#ifdef _UAPI_LINUX_EVENTFD_H
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/*
 * EVTCHNOP_send of @port from the vCPU thread. XK_HC_USER when the port
 * is not registered; otherwise the result (0, or a delivery error) is in
 * hc->ret.
 */
enum xk_hc_action xk_send_fast(struct xk_vm *xvm, struct xk_vcpu *xv,
			       u32 port, struct xk_hcall *hc)
{
	struct xk_send_port *p;
	u32 deliver_port, vcpu;
	struct xarray *xa;
	int r;

	rcu_read_lock();
	xa = xk_send_table(xvm);
	p = xa ? xa_load(xa, port) : NULL;
	if (!p) {
		rcu_read_unlock();
		return XK_HC_USER;
	}
	if (p->type == XENKVM_EVTCHN_EVENTFD) {
		xk_eventfd_signal(p->eventfd);
		rcu_read_unlock();
		hc->ret = 0;
		return XK_HC_DONE;
	}
	deliver_port = p->deliver_port;
	vcpu = p->vcpu;
	rcu_read_unlock();

	/* Process context: the delivery may refresh a cache and sleep. */
	r = xk_evtchn_set_pending(xvm, deliver_port, vcpu, 0);
	hc->ret = r < 0 ? r : 0;
	if (r >= 0)
		xk_sched_poll_notify(xvm, deliver_port);
	return XK_HC_DONE;
}
