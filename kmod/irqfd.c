// SPDX-License-Identifier: GPL-2.0
/*
 * xenkvm: module GSIs and eventfd bindings.
 *
 * Routing. XENKVM_SET_GSI_ROUTING replaces the whole table: one entry per
 * module GSI (a namespace of this attachment, unrelated to KVM's GSIs),
 * each naming a port and the Xen vCPU to notify. The table is an array
 * indexed by GSI, published with rcu_assign_pointer() under xk_vm.lock and
 * read under rcu_read_lock() at every eventfd signal, so a new table takes
 * effect for the next signal; the old one is freed after a grace period.
 *
 * Irqfds. XENKVM_IRQFD binds an eventfd to a GSI. Its wait-queue callback
 * runs in the signalling task with the eventfd's wait-queue lock held and
 * IRQs off (atomic): it consumes the count and calls
 * xk_evtchn_set_pending(XK_DELIVER_ATOMIC), which delivers at once or
 * queues the event for the VM's fallback worker; each wakeup is delivered
 * exactly once. EPOLLHUP (the eventfd's last reference went away) unbinds
 * it. Teardown (deassign, EPOLLHUP, detach) takes the irqfd off
 * xk_vm.irqfds under irqfds_lock and queues its shutdown on xk_irqfd_wq,
 * which removes it from the wait queue (after which the callback can no
 * longer run), drops the eventfd and frees it. flush_workqueue(xk_irqfd_wq)
 * waits for all of that.
 *
 * Lock order: eventfd wait-queue lock -> xk_vm.irqfds_lock (IRQ-safe).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/nospec.h>

#include "xenkvm.h"

struct xk_route {
	u32 port;		/* 0: no route for this GSI */
	u32 vcpu;		/* Xen vCPU id */
};

struct xk_routing {
	struct rcu_head rcu;
	u32 nr;			/* GSIs covered: 0 .. nr - 1 */
	struct xk_route r[];
};

struct xk_irqfd {
	struct xk_vm *xvm;
	struct eventfd_ctx *eventfd;
	u32 gsi;
	wait_queue_entry_t wait;
	wait_queue_head_t *wqh;
	poll_table pt;
	struct list_head list;		/* on xk_vm.irqfds; empty once dead */
	struct work_struct shutdown;
};

static struct workqueue_struct *xk_irqfd_wq;

int xk_irqfd_module_init(void)
{
	xk_irqfd_wq = alloc_workqueue("xenkvm-irqfd", 0, 0);
	return xk_irqfd_wq ? 0 : -ENOMEM;
}

void xk_irqfd_module_exit(void)
{
	destroy_workqueue(xk_irqfd_wq);
}

/* Deliver for GSI @gsi. Any context. */
static void xk_irqfd_fire(struct xk_vm *xvm, u32 gsi, unsigned int flags)
{
	struct xk_routing *rt;
	struct xk_route route = {};

	rcu_read_lock();
	rt = rcu_dereference(xvm->irq_routing);
	if (rt && gsi < rt->nr)
		route = rt->r[array_index_nospec(gsi, rt->nr)];
	rcu_read_unlock();
	if (route.port)
		xk_evtchn_set_pending(xvm, route.port, route.vcpu, flags);
}

static void xk_irqfd_shutdown(struct work_struct *work)
{
	struct xk_irqfd *irqfd = container_of(work, struct xk_irqfd, shutdown);
	u64 cnt;

	eventfd_ctx_remove_wait_queue(irqfd->eventfd, &irqfd->wait, &cnt);
	eventfd_ctx_put(irqfd->eventfd);
	kfree(irqfd);
}

/* Under irqfds_lock. */
static void xk_irqfd_deactivate(struct xk_irqfd *irqfd)
{
	list_del_init(&irqfd->list);
	queue_work(xk_irqfd_wq, &irqfd->shutdown);
}

/* Wait-queue callback: atomic, the eventfd's wqh lock held. */
static int xk_irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			   int sync, void *key)
{
	struct xk_irqfd *irqfd = container_of(wait, struct xk_irqfd, wait);
	__poll_t events = key_to_poll(key);
	struct xk_vm *xvm = irqfd->xvm;
	unsigned long flags;
	u64 cnt;

	if (events & EPOLLIN) {
		/* One wakeup, one event: the count only coalesces. */
		eventfd_ctx_do_read(irqfd->eventfd, &cnt);
		xk_irqfd_fire(xvm, irqfd->gsi, XK_DELIVER_ATOMIC);
	}
	if (events & EPOLLHUP) {
		spin_lock_irqsave(&xvm->irqfds_lock, flags);
		if (!list_empty(&irqfd->list))
			xk_irqfd_deactivate(irqfd);
		spin_unlock_irqrestore(&xvm->irqfds_lock, flags);
	}
	return 0;
}

static void xk_irqfd_ptable_queue_proc(struct file *file,
				       wait_queue_head_t *wqh, poll_table *pt)
{
	struct xk_irqfd *irqfd = container_of(pt, struct xk_irqfd, pt);

	irqfd->wqh = wqh;
	add_wait_queue(wqh, &irqfd->wait);
}

static int xk_irqfd_assign(struct xk_vm *xvm, const struct xenkvm_irqfd *args)
{
	struct xk_irqfd *irqfd, *tmp;
	struct eventfd_ctx *eventfd;
	struct file *file;
	__poll_t events;
	int r;

	file = fget(args->fd);
	if (!file)
		return -EBADF;
	eventfd = eventfd_ctx_fileget(file);
	if (IS_ERR(eventfd)) {
		r = PTR_ERR(eventfd);	/* -EINVAL: not an eventfd */
		goto out_file;
	}
	irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);
	if (!irqfd) {
		r = -ENOMEM;
		goto out_ctx;
	}
	irqfd->xvm = xvm;
	irqfd->eventfd = eventfd;
	irqfd->gsi = args->gsi;
	INIT_LIST_HEAD(&irqfd->list);
	INIT_WORK(&irqfd->shutdown, xk_irqfd_shutdown);
	init_waitqueue_func_entry(&irqfd->wait, xk_irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, xk_irqfd_ptable_queue_proc);

	spin_lock_irq(&xvm->irqfds_lock);
	list_for_each_entry(tmp, &xvm->irqfds, list) {
		if (tmp->eventfd == eventfd) {
			spin_unlock_irq(&xvm->irqfds_lock);
			r = -EBUSY;
			goto out_free;
		}
	}
	list_add_tail(&irqfd->list, &xvm->irqfds);
	spin_unlock_irq(&xvm->irqfds_lock);

	/* Hooks the wait queue; a count already there is delivered now. */
	events = vfs_poll(file, &irqfd->pt);
	if (events & EPOLLIN)
		xk_irqfd_fire(xvm, irqfd->gsi, 0);
	fput(file);
	return 0;

out_free:
	kfree(irqfd);
out_ctx:
	eventfd_ctx_put(eventfd);
out_file:
	fput(file);
	return r;
}

static int xk_irqfd_deassign(struct xk_vm *xvm, const struct xenkvm_irqfd *args)
{
	struct xk_irqfd *irqfd, *tmp;
	struct eventfd_ctx *eventfd;
	int r = -ENOENT;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	spin_lock_irq(&xvm->irqfds_lock);
	list_for_each_entry_safe(irqfd, tmp, &xvm->irqfds, list) {
		if (irqfd->eventfd == eventfd && irqfd->gsi == args->gsi) {
			xk_irqfd_deactivate(irqfd);
			r = 0;
		}
	}
	spin_unlock_irq(&xvm->irqfds_lock);
	eventfd_ctx_put(eventfd);
	/* After this, no wakeup for it runs or will run. */
	flush_workqueue(xk_irqfd_wq);
	return r;
}

/* XENKVM_IRQFD. Process context, xvm->lock held. */
int xk_irqfd(struct xk_vm *xvm, void __user *uarg)
{
	struct xenkvm_irqfd args;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if ((args.flags & ~XENKVM_IRQFD_FLAG_DEASSIGN) ||
	    memchr_inv(args.pad, 0, sizeof(args.pad)))
		return -EINVAL;
	if (args.gsi >= XENKVM_MAX_GSIS)
		return -EINVAL;
	if (args.flags & XENKVM_IRQFD_FLAG_DEASSIGN)
		return xk_irqfd_deassign(xvm, &args);
	return xk_irqfd_assign(xvm, &args);
}

/* Detach: unbind every eventfd and wait until no callback can run. */
void xk_irqfd_release_all(struct xk_vm *xvm)
{
	struct xk_irqfd *irqfd, *tmp;

	spin_lock_irq(&xvm->irqfds_lock);
	list_for_each_entry_safe(irqfd, tmp, &xvm->irqfds, list)
		xk_irqfd_deactivate(irqfd);
	spin_unlock_irq(&xvm->irqfds_lock);
	flush_workqueue(xk_irqfd_wq);
}

void xk_irqfd_free_routing(struct xk_vm *xvm)
{
	kvfree(rcu_dereference_protected(xvm->irq_routing, true));
	xvm->irq_routing = NULL;
}

static int xk_check_entry(struct xk_vm *xvm,
			  const struct xenkvm_irq_routing_entry *e)
{
	const size_t used = sizeof(e->u.xen_evtchn);

	if (e->type != XENKVM_IRQ_ROUTING_XEN_EVTCHN || e->flags || e->pad0 ||
	    memchr_inv((const u8 *)&e->u + used, 0, sizeof(e->u) - used))
		return -EINVAL;
	if (e->gsi >= XENKVM_MAX_GSIS)
		return -EINVAL;
	if (!e->u.xen_evtchn.port || e->u.xen_evtchn.port >= xk_max_ports(xvm))
		return -EINVAL;
	if (e->u.xen_evtchn.vcpu >= XK_MAX_VCPUS)
		return -EINVAL;
	if (e->u.xen_evtchn.priority != XENKVM_EVTCHN_PRIORITY_2LEVEL)
		return -EINVAL;
	return 0;
}

/* XENKVM_SET_GSI_ROUTING. Process context, xvm->lock held. */
int xk_set_gsi_routing(struct xk_vm *xvm, void __user *uarg)
{
	struct xenkvm_irq_routing hdr;
	struct xenkvm_irq_routing_entry *ents = NULL;
	struct xk_routing *rt = NULL, *old;
	u32 i, nr_gsis = 0;
	int r;

	if (copy_from_user(&hdr, uarg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.flags || hdr.nr > XENKVM_MAX_GSIS)
		return -EINVAL;
	if (hdr.nr) {
		ents = vmemdup_user(uarg + sizeof(hdr), array_size(hdr.nr, sizeof(*ents)));
		if (IS_ERR(ents))
			return PTR_ERR(ents);
	}
	for (i = 0; i < hdr.nr; i++) {
		r = xk_check_entry(xvm, &ents[i]);
		if (r)
			goto out;
		nr_gsis = max(nr_gsis, ents[i].gsi + 1);
	}
	if (nr_gsis) {
		rt = kvzalloc(struct_size(rt, r, nr_gsis), GFP_KERNEL_ACCOUNT);
		r = -ENOMEM;
		if (!rt)
			goto out;
		rt->nr = nr_gsis;
		for (i = 0; i < hdr.nr; i++) {
			struct xk_route *d = &rt->r[ents[i].gsi];

			r = -EINVAL;	/* one route per GSI */
			if (d->port) {
				kvfree(rt);
				goto out;
			}
			d->port = ents[i].u.xen_evtchn.port;
			d->vcpu = ents[i].u.xen_evtchn.vcpu;
		}
	}
	old = rcu_dereference_protected(xvm->irq_routing,
					lockdep_is_held(&xvm->lock));
	rcu_assign_pointer(xvm->irq_routing, rt);
	synchronize_rcu();
	kvfree(old);
	r = 0;
out:
	kvfree(ents);
	return r;
}
