// SPDX-License-Identifier: GPL-2.0
/*
 * EVTCHNOP_*: Xen's 2-level event channel model, kept in the VMM.
 *
 * The port table lives here; the bits live in the guest's shared_info and
 * vcpu_info, which the backend's deliver_port() sets in Xen's order. Our
 * guest is the only real domain: "interdomain" is either loopback within
 * the guest or a binding to one of the VMM's device backends, which play
 * domain 0. Error codes are the ones Xen 4.17's event_channel.c returns.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"


unsigned int xen_evtchn_max_ports(const struct xen *x)
{
	return x->long_mode ? XEN_EVTCHN_2L_MAX : XEN_EVTCHN_2L_MAX_COMPAT;
}

static bool port_valid(const struct xen *x, uint32_t port)
{
	return port < xen_evtchn_max_ports(x);
}

static uint64_t pending_gpa(const struct xen *x)
{
	return (x->shared_info_gfn << XEN_PAGE_SHIFT) + SHINFO_PENDING_OFF;
}

static uint64_t mask_gpa(const struct xen *x)
{
	return (x->shared_info_gfn << XEN_PAGE_SHIFT) +
	       (x->long_mode ? SHINFO_MASK_OFF_64 : SHINFO_MASK_OFF_32);
}

uint64_t xen_vcpu_info_gpa_locked(struct xen *x, uint32_t vcpu_id)
{
	struct vcpu *v = xen_vcpu_by_id(x->vm, vcpu_id);

	if (v && v->xen && v->xen->vcpu_info_gpa != XEN_INVALID_GPA)
		return v->xen->vcpu_info_gpa;
	if (vcpu_id < XEN_LEGACY_VCPUS && x->shared_info_gfn != XEN_INVALID_GFN)
		return (x->shared_info_gfn << XEN_PAGE_SHIFT) +
		       vcpu_id * VCPU_INFO_SIZE;
	return XEN_INVALID_GPA;
}

bool xen_evtchn_is_pending(struct xen *x, uint32_t port)
{
	if (x->shared_info_gfn == XEN_INVALID_GFN || !port_valid(x, port))
		return false;
	return xen_guest_test_bit(x->vm, pending_gpa(x), port);
}

static void clear_pending(struct xen *x, uint32_t port)
{
	if (x->shared_info_gfn != XEN_INVALID_GFN)
		xen_guest_test_and_clear_bit(x->vm, pending_gpa(x), port);
}

int xen_evtchn_raise_locked(struct xen *x, uint32_t port)
{
	const struct backend_ops *ops = xen_ops(x->vm);
	int r = -ENOSYS;

	if (ops && ops->deliver_port)
		r = ops->deliver_port(x->vm, port, x->ports[port].vcpu);
	/* Wake SCHEDOP_block/poll waiting in the VMM. */
	pthread_cond_broadcast(&x->event_cond);
	return r;
}

static int get_free_port(struct xen *x)
{
	unsigned int p;

	for (p = 1; p < xen_evtchn_max_ports(x); p++)
		if (x->ports[p].state == PORT_FREE)
			return (int)p;
	return -ENOSPC;
}

static void port_init(struct xen_port *p, enum xen_port_state state,
		      uint32_t vcpu)
{
	memset(p, 0, sizeof(*p));
	p->state = state;
	p->vcpu = vcpu;
	p->eventfd = -1;
}

/*
 * What EVTCHNOP_send on @port does, for a kernel side that answers it
 * without an exit: an IPI raises itself on its vCPU, one end of a loopback
 * pair raises the other end on the other end's vCPU (Xen's notify_vcpu of
 * the remote channel), a device backend's port signals its eventfd. False
 * for the ports whose sends only the VMM can answer.
 */
static bool send_target(const struct xen *x, uint32_t port,
			struct evtchn_send_target *to)
{
	const struct xen_port *p = &x->ports[port];

	to->eventfd = -1;
	to->port = 0;
	to->vcpu_id = 0;
	switch (p->state) {
	case PORT_IPI:
		to->port = port;
		to->vcpu_id = p->vcpu;
		return true;
	case PORT_INTERDOMAIN:
		to->port = p->remote_port;
		to->vcpu_id = x->ports[p->remote_port].vcpu;
		return true;
	case PORT_BACKEND:
		to->eventfd = p->eventfd;
		return p->eventfd >= 0;
	default:
		return false;
	}
}

static void kernel_unbind(struct xen *x, uint32_t port)
{
	const struct backend_ops *ops = xen_ops(x->vm);
	struct xen_port *p = &x->ports[port];

	if (p->kernel_bound && ops && ops->unbind_port)
		ops->unbind_port(x->vm, port);
	p->kernel_bound = false;
}

/*
 * (Re)register @port's send with the kernel side, from its current state.
 * Called whenever the target changes; a port the kernel cannot serve is
 * left unbound and its sends exit to op_send(), which is always correct.
 */
static void kernel_bind(struct xen *x, uint32_t port)
{
	const struct backend_ops *ops = xen_ops(x->vm);
	struct evtchn_send_target to;

	kernel_unbind(x, port);
	if (ops && ops->bind_port && send_target(x, port, &to) &&
	    ops->bind_port(x->vm, port, &to) == 0)
		x->ports[port].kernel_bound = true;
}

static bool virq_is_global(uint32_t virq)
{
	switch (virq) {
	case VIRQ_TIMER:
	case VIRQ_DEBUG:
	case VIRQ_XENOPROF:
	case VIRQ_XENPMU:
		return false;
	default:
		return true;	/* x86's arch VIRQs (VIRQ_MCA) are global too */
	}
}

/* Where the VIRQ -> port mapping of a (virq, vcpu) lives. */
static uint32_t *virq_slot(struct xen *x, uint32_t virq, uint32_t vcpu_id)
{
	struct vcpu *v = xen_vcpu_by_id(x->vm, virq_is_global(virq) ? 0 : vcpu_id);

	return v && v->xen && virq < NR_VIRQS ? &v->xen->virq_port[virq] : NULL;
}

static void set_timer_port(struct xen *x, uint32_t vcpu_id, uint32_t port)
{
	const struct backend_ops *ops = xen_ops(x->vm);
	struct vcpu *v = xen_vcpu_by_id(x->vm, vcpu_id);

	if (v && ops && ops->set_timer_port)
		ops->set_timer_port(v, port);
}

static void close_port_locked(struct xen *x, uint32_t port)
{
	struct xen_port *p = &x->ports[port];
	uint32_t *slot;

	switch (p->state) {
	case PORT_VIRQ:
		slot = virq_slot(x, p->remote_port, p->vcpu);
		if (slot && *slot == port)
			*slot = 0;
		if (p->remote_port == VIRQ_TIMER)
			set_timer_port(x, p->vcpu, 0);
		break;
	case PORT_INTERDOMAIN:
		/* The peer goes back to waiting for us, as in Xen. */
		if (p->remote_port != port &&
		    x->ports[p->remote_port].state == PORT_INTERDOMAIN) {
			struct xen_port *peer = &x->ports[p->remote_port];

			/* Its sends targeted us; now Xen drops them. */
			kernel_unbind(x, p->remote_port);
			peer->state = PORT_UNBOUND;
			peer->remote_domid = x->domid;
			peer->remote_port = 0;
		}
		break;
	default:
		break;
	}
	kernel_unbind(x, port);
	/* Xen clears the pending bit so a re-bound port starts clean. */
	clear_pending(x, port);
	port_init(p, PORT_FREE, 0);
}

/* ---- the sub-ops ------------------------------------------------------ */

static int64_t op_alloc_unbound(struct xen *x, struct evtchn_alloc_unbound *a)
{
	int r = xen_check_domid(x, a->dom);

	if (r)
		return r;
	r = get_free_port(x);
	if (r < 0)
		return r;
	port_init(&x->ports[r], PORT_UNBOUND, 0);
	x->ports[r].remote_domid =
		a->remote_dom == DOMID_SELF ? x->domid : a->remote_dom;
	a->port = (uint32_t)r;
	return 0;
}

static int64_t op_bind_interdomain(struct xen *x,
				   struct evtchn_bind_interdomain *b)
{
	uint16_t rdom = b->remote_dom == DOMID_SELF ? x->domid : b->remote_dom;
	struct xen_port *rp;
	int lport;

	if (rdom != x->domid && rdom != XEN_BACKEND_DOMID)
		return -ESRCH;
	/* Domain 0's ports belong to the VMM: none is waiting for us. */
	if (rdom != x->domid || !port_valid(x, b->remote_port))
		return -EINVAL;
	rp = &x->ports[b->remote_port];
	if (rp->state != PORT_UNBOUND || rp->remote_domid != x->domid)
		return -EINVAL;
	lport = get_free_port(x);
	if (lport < 0)
		return lport;
	port_init(&x->ports[lport], PORT_INTERDOMAIN, 0);
	x->ports[lport].remote_port = b->remote_port;
	rp->state = PORT_INTERDOMAIN;
	rp->remote_port = (uint32_t)lport;
	b->local_port = (uint32_t)lport;
	/* Both ends' sends can now stay in-kernel. */
	kernel_bind(x, (uint32_t)lport);
	kernel_bind(x, b->remote_port);
	/* Xen raises the new local port: a send on the unbound peer was lost. */
	xen_evtchn_raise_locked(x, (uint32_t)lport);
	return 0;
}

static int64_t op_bind_virq(struct xen *x, struct evtchn_bind_virq *b)
{
	uint32_t *slot;
	int port;

	if (b->virq >= NR_VIRQS)
		return -EINVAL;
	if (virq_is_global(b->virq) && b->vcpu != 0)
		return -EINVAL;
	if (!xen_vcpu_by_id(x->vm, b->vcpu))
		return -ENOENT;
	slot = virq_slot(x, b->virq, b->vcpu);
	if (!slot)
		return -ENOENT;
	if (*slot)
		return -EEXIST;
	port = get_free_port(x);
	if (port < 0)
		return port;
	port_init(&x->ports[port], PORT_VIRQ, b->vcpu);
	x->ports[port].remote_port = b->virq;
	*slot = (uint32_t)port;
	if (b->virq == VIRQ_TIMER)
		set_timer_port(x, b->vcpu, (uint32_t)port);
	b->port = (uint32_t)port;
	return 0;
}

static int64_t op_bind_ipi(struct xen *x, struct evtchn_bind_ipi *b)
{
	int port;

	if (!xen_vcpu_by_id(x->vm, b->vcpu))
		return -ENOENT;
	port = get_free_port(x);
	if (port < 0)
		return port;
	port_init(&x->ports[port], PORT_IPI, b->vcpu);
	kernel_bind(x, (uint32_t)port);
	b->port = (uint32_t)port;
	return 0;
}

static int64_t op_close(struct xen *x, const struct evtchn_close *c)
{
	if (!port_valid(x, c->port))
		return -EINVAL;
	if (x->ports[c->port].state == PORT_FREE ||
	    x->ports[c->port].state == PORT_RESERVED)
		return -EINVAL;
	close_port_locked(x, c->port);
	return 0;
}

static int64_t op_status(struct xen *x, struct evtchn_status *s)
{
	const struct xen_port *p;
	int r = xen_check_domid(x, s->dom);

	if (r)
		return r;
	if (!port_valid(x, s->port))
		return -EINVAL;
	p = &x->ports[s->port];
	memset(&s->u, 0, sizeof(s->u));
	s->vcpu = p->vcpu;
	switch (p->state) {
	case PORT_UNBOUND:
		s->status = EVTCHNSTAT_unbound;
		s->u.unbound.dom = p->remote_domid;
		break;
	case PORT_INTERDOMAIN:
		s->status = EVTCHNSTAT_interdomain;
		s->u.interdomain.dom = x->domid;
		s->u.interdomain.port = p->remote_port;
		break;
	case PORT_BACKEND:
		s->status = EVTCHNSTAT_interdomain;
		s->u.interdomain.dom = XEN_BACKEND_DOMID;
		s->u.interdomain.port = p->remote_port;
		break;
	case PORT_VIRQ:
		s->status = EVTCHNSTAT_virq;
		s->u.virq = p->remote_port;
		break;
	case PORT_IPI:
		s->status = EVTCHNSTAT_ipi;
		break;
	default:
		s->status = EVTCHNSTAT_closed;
		break;
	}
	return 0;
}

static int64_t op_bind_vcpu(struct xen *x, const struct evtchn_bind_vcpu *b)
{
	struct xen_port *p;

	if (!xen_vcpu_by_id(x->vm, b->vcpu))
		return -ENOENT;
	if (!port_valid(x, b->port))
		return -EINVAL;
	p = &x->ports[b->port];
	switch (p->state) {
	case PORT_VIRQ:
		if (!virq_is_global(p->remote_port))
			return -EINVAL;
		break;
	case PORT_UNBOUND:
	case PORT_INTERDOMAIN:
	case PORT_BACKEND:
		break;
	default:
		return -EINVAL;
	}
	p->vcpu = b->vcpu;
	/* The peer's sends raise this port: they go to the new vCPU now. */
	if (p->state == PORT_INTERDOMAIN && p->remote_port != b->port)
		kernel_bind(x, p->remote_port);
	return 0;
}

/*
 * Xen's 2-level unmask: clear the mask bit and, if the port is pending,
 * make the upcall happen. The backend only raises a port that was not
 * pending, so we take the pending bit back and raise it again; at worst
 * the guest sees one spurious scan, which the 2-level protocol allows.
 */
static int64_t op_unmask(struct xen *x, const struct evtchn_unmask *u)
{
	if (!port_valid(x, u->port))
		return -EINVAL;
	if (x->shared_info_gfn == XEN_INVALID_GFN)
		return 0;
	if (xen_guest_test_and_clear_bit(x->vm, mask_gpa(x), u->port) &&
	    xen_guest_test_bit(x->vm, pending_gpa(x), u->port)) {
		clear_pending(x, u->port);
		xen_evtchn_raise_locked(x, u->port);
	}
	return 0;
}

void xen_evtchn_reset_all(struct xen *x)
{
	unsigned int p;

	for (p = 1; p < XEN_EVTCHN_2L_MAX; p++)
		if (x->ports[p].state != PORT_FREE)
			close_port_locked(x, p);
}

static int64_t op_reset(struct xen *x, const struct evtchn_reset *r)
{
	int e = xen_check_domid(x, r->dom);

	if (e)
		return e;
	xen_evtchn_reset_all(x);
	return 0;
}

/* What a send on a backend port must do once the lock is dropped. */
struct backend_kick {
	xen_evtchn_notify_fn notify;
	void *opaque;
	int eventfd;
	uint32_t port;
};

/*
 * XENKVM_TRACE=1: every send the VMM answers, with the port's kind, so a
 * test can tell which sends left the kernel side (a registered port's
 * sends never get here while the kernel's send fast path is on).
 */
static void trace_send(const struct xen *x, uint32_t port)
{
	static const char *const kind[] = {
		[PORT_FREE] = "closed", [PORT_RESERVED] = "reserved",
		[PORT_UNBOUND] = "unbound", [PORT_INTERDOMAIN] = "loopback",
		[PORT_BACKEND] = "backend", [PORT_VIRQ] = "virq",
		[PORT_IPI] = "ipi",
	};
	const struct xen_port *p = &x->ports[port];

	if (x->vm->cfg && x->vm->cfg->trace_hcalls)
		fprintf(stderr, "xenkvm: evtchn: send on port %u (%s%s) answered by the VMM\n",
			port, p->state <= PORT_IPI ? kind[p->state] : "?",
			p->kernel_bound ? ", kernel-bound" : "");
}

static int64_t op_send(struct xen *x, const struct evtchn_send *s,
		       struct backend_kick *kick)
{
	struct xen_port *p;

	if (!port_valid(x, s->port))
		return -EINVAL;
	trace_send(x, s->port);
	p = &x->ports[s->port];
	switch (p->state) {
	case PORT_INTERDOMAIN:
		xen_evtchn_raise_locked(x, p->remote_port);
		return 0;
	case PORT_BACKEND:
		kick->notify = p->notify;
		kick->opaque = p->opaque;
		kick->eventfd = p->eventfd;
		kick->port = s->port;
		return 0;
	case PORT_IPI:
		xen_evtchn_raise_locked(x, s->port);
		return 0;
	case PORT_UNBOUND:
		return 0;	/* Xen drops it silently */
	default:
		return -EINVAL;
	}
}

static void run_kick(const struct backend_kick *k)
{
	uint64_t one = 1;

	if (k->notify)
		k->notify(k->opaque, k->port);
	else if (k->eventfd >= 0 && write(k->eventfd, &one, sizeof(one)) < 0)
		return;	/* a full eventfd counter already says "notified" */
}

/* ---- dispatch ------------------------------------------------------- */

union evtchn_args {
	struct evtchn_alloc_unbound alloc_unbound;
	struct evtchn_bind_interdomain bind_interdomain;
	struct evtchn_bind_virq bind_virq;
	struct evtchn_bind_ipi bind_ipi;
	struct evtchn_close close;
	struct evtchn_send send;
	struct evtchn_status status;
	struct evtchn_bind_vcpu bind_vcpu;
	struct evtchn_unmask unmask;
	struct evtchn_reset reset;
};

/* Size of each sub-op's argument (identical in the compat ABI); 0: none. */
static size_t evtchn_arg_size(uint64_t cmd)
{
	switch (cmd) {
	case EVTCHNOP_alloc_unbound: return sizeof(struct evtchn_alloc_unbound);
	case EVTCHNOP_bind_interdomain:
		return sizeof(struct evtchn_bind_interdomain);
	case EVTCHNOP_bind_virq: return sizeof(struct evtchn_bind_virq);
	case EVTCHNOP_bind_ipi: return sizeof(struct evtchn_bind_ipi);
	case EVTCHNOP_close: return sizeof(struct evtchn_close);
	case EVTCHNOP_send: return sizeof(struct evtchn_send);
	case EVTCHNOP_status: return sizeof(struct evtchn_status);
	case EVTCHNOP_bind_vcpu: return sizeof(struct evtchn_bind_vcpu);
	case EVTCHNOP_unmask: return sizeof(struct evtchn_unmask);
	case EVTCHNOP_reset: return sizeof(struct evtchn_reset);
	default: return 0;
	}
}

static int64_t evtchn_locked(struct xen *x, uint64_t cmd, union evtchn_args *a,
			     struct backend_kick *kick)
{
	switch (cmd) {
	case EVTCHNOP_alloc_unbound: return op_alloc_unbound(x, &a->alloc_unbound);
	case EVTCHNOP_bind_interdomain:
		return op_bind_interdomain(x, &a->bind_interdomain);
	case EVTCHNOP_bind_virq: return op_bind_virq(x, &a->bind_virq);
	case EVTCHNOP_bind_ipi: return op_bind_ipi(x, &a->bind_ipi);
	case EVTCHNOP_close: return op_close(x, &a->close);
	case EVTCHNOP_send: return op_send(x, &a->send, kick);
	case EVTCHNOP_status: return op_status(x, &a->status);
	case EVTCHNOP_bind_vcpu: return op_bind_vcpu(x, &a->bind_vcpu);
	case EVTCHNOP_unmask: return op_unmask(x, &a->unmask);
	case EVTCHNOP_reset: return op_reset(x, &a->reset);
	default: return -ENOSYS;
	}
}

/* Sub-ops whose result goes back into the argument. */
static bool evtchn_has_output(uint64_t cmd)
{
	return cmd == EVTCHNOP_alloc_unbound || cmd == EVTCHNOP_bind_interdomain ||
	       cmd == EVTCHNOP_bind_virq || cmd == EVTCHNOP_bind_ipi ||
	       cmd == EVTCHNOP_status;
}

int64_t xen_event_channel_op(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	struct xen *x = vcpu->vm->xen;
	struct backend_kick kick = { .eventfd = -1 };
	uint64_t cmd = hc->args[0], arg = hc->args[1];
	union evtchn_args a;
	size_t size;
	int64_t r;

	switch (cmd) {
	case EVTCHNOP_bind_pirq:	/* no PIRQs: XENFEAT_hvm_pirqs is off */
	case EVTCHNOP_init_control:	/* FIFO ABI: Linux stays on 2-level */
	case EVTCHNOP_expand_array:
	case EVTCHNOP_set_priority:	/* 2-level has no priorities */
		return -ENOSYS;
	}
	size = evtchn_arg_size(cmd);
	if (!size)
		return xen_unhandled(vcpu, hc->nr, cmd);
	memset(&a, 0, sizeof(a));
	if (xen_copy_from_guest(vcpu, arg, &a, size))
		return -EFAULT;

	pthread_mutex_lock(&x->lock);
	r = evtchn_locked(x, cmd, &a, &kick);
	pthread_mutex_unlock(&x->lock);

	if (kick.port)
		run_kick(&kick);
	if (r == 0 && evtchn_has_output(cmd) &&
	    xen_copy_to_guest(vcpu, arg, &a, size))
		return -EFAULT;
	return r;
}

/* ---- the API for the VMM's device backends ---------------------------- */

int xen_evtchn_alloc_backend(struct vm *vm, xen_evtchn_notify_fn notify,
			     void *opaque, int eventfd)
{
	struct xen *x = vm->xen;
	int port;

	if (!x)
		return -EINVAL;
	pthread_mutex_lock(&x->lock);
	port = get_free_port(x);
	if (port > 0) {
		struct xen_port *p = &x->ports[port];

		port_init(p, PORT_BACKEND, 0);
		p->remote_port = x->next_backend_port++;
		p->notify = notify;
		p->opaque = opaque;
		p->eventfd = eventfd;
		if (eventfd >= 0)
			kernel_bind(x, (uint32_t)port);
	}
	pthread_mutex_unlock(&x->lock);
	return port;
}

int xen_evtchn_bind_backend(struct vm *vm, uint32_t port,
			    xen_evtchn_notify_fn notify, void *opaque,
			    int eventfd)
{
	struct xen *x = vm->xen;
	struct xen_port *p;
	int r = -EINVAL;

	if (!x)
		return -EINVAL;
	pthread_mutex_lock(&x->lock);
	p = port_valid(x, port) ? &x->ports[port] : NULL;
	if (p && p->state == PORT_UNBOUND &&
	    p->remote_domid == XEN_BACKEND_DOMID) {
		p->state = PORT_BACKEND;
		p->remote_port = x->next_backend_port++;
		p->notify = notify;
		p->opaque = opaque;
		p->eventfd = eventfd;
		if (eventfd >= 0)
			kernel_bind(x, port);
		r = 0;
	}
	pthread_mutex_unlock(&x->lock);
	return r;
}

int xen_evtchn_notify_guest(struct vm *vm, uint32_t port)
{
	struct xen *x = vm->xen;
	int r = -EINVAL;

	if (!x)
		return -EINVAL;
	pthread_mutex_lock(&x->lock);
	if (port_valid(x, port) && x->ports[port].state == PORT_BACKEND)
		r = xen_evtchn_raise_locked(x, port);
	pthread_mutex_unlock(&x->lock);
	return r;
}

int xen_evtchn_close_backend(struct vm *vm, uint32_t port)
{
	struct xen *x = vm->xen;
	int r = -EINVAL;

	if (!x)
		return -EINVAL;
	pthread_mutex_lock(&x->lock);
	if (port_valid(x, port) && x->ports[port].state == PORT_BACKEND) {
		struct xen_port *p = &x->ports[port];
		uint32_t vcpu = p->vcpu;

		kernel_unbind(x, port);
		port_init(p, PORT_UNBOUND, vcpu);
		p->remote_domid = XEN_BACKEND_DOMID;
		r = 0;
	}
	pthread_mutex_unlock(&x->lock);
	return r;
}

static const char *const port_state_name[] = {
	[PORT_FREE] = "free", [PORT_RESERVED] = "reserved",
	[PORT_UNBOUND] = "unbound", [PORT_INTERDOMAIN] = "loopback",
	[PORT_BACKEND] = "backend", [PORT_VIRQ] = "virq", [PORT_IPI] = "ipi",
};

/* @port's selector bit and the upcall flags in @vcpu_id's vcpu_info. */
static void dump_vcpu_info(struct xen *x, uint32_t vcpu_id, uint32_t port,
			   FILE *f)
{
	uint64_t gpa = xen_vcpu_info_gpa_locked(x, vcpu_id);
	const uint8_t *vi = gpa == XEN_INVALID_GPA ? NULL :
			    gpa_to_hva(x->vm, gpa, VCPU_INFO_SIZE);
	unsigned int bits = x->long_mode ? 64 : 32;
	uint64_t sel = 0;

	if (!vi) {
		fprintf(f, " (vcpu_info unmapped)");
		return;
	}
	memcpy(&sel, vi + (x->long_mode ? VCPU_INFO_SEL_OFF_64 : VCPU_INFO_SEL_OFF_32),
	       bits / 8);
	fprintf(f, " sel %u upcall_pending %u upcall_mask %u",
		(unsigned int)(sel >> (port / bits)) & 1, vi[0], vi[1]);
}

void xen_evtchn_dump(struct vm *vm, FILE *f)
{
	struct xen *x = vm->xen;

	if (!x)
		return;
	pthread_mutex_lock(&x->lock);
	if (x->shared_info_gfn == XEN_INVALID_GFN) {
		fprintf(f, "xenkvm: evtchn: no shared_info yet\n");
		goto out;
	}
	for (uint32_t port = 1; port < xen_evtchn_max_ports(x); port++) {
		const struct xen_port *p = &x->ports[port];

		if (p->state == PORT_FREE)
			continue;
		fprintf(f, "xenkvm: evtchn: port %u %s vcpu %u: pending %u mask %u",
			port, port_state_name[p->state], p->vcpu,
			xen_guest_test_bit(vm, pending_gpa(x), port),
			xen_guest_test_bit(vm, mask_gpa(x), port));
		dump_vcpu_info(x, p->vcpu, port, f);
		fprintf(f, "\n");
	}
out:
	pthread_mutex_unlock(&x->lock);
}

int xen_evtchn_send_virq(struct vm *vm, uint32_t vcpu_id, uint32_t virq)
{
	struct xen *x = vm->xen;
	uint32_t *slot;
	int r = 0;

	if (!x || virq >= NR_VIRQS)
		return -EINVAL;
	pthread_mutex_lock(&x->lock);
	slot = virq_slot(x, virq, vcpu_id);
	if (slot && *slot)
		r = xen_evtchn_raise_locked(x, *slot);
	pthread_mutex_unlock(&x->lock);
	return r;
}
