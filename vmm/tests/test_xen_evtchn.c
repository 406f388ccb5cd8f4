// SPDX-License-Identifier: GPL-2.0
/*
 * EVTCHNOP_* on the fake machine: the port table, Xen's error codes, the
 * guest-visible bits, the kernel-side registrations and the API for the
 * VMM's device backends.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <string.h>
#include <xen/event_channel.h>

#include "fake_vm.h"
#include "ktap.h"

#define SHINFO_GFN	0x10ULL
#define SHINFO		(SHINFO_GFN << 12)
#define PENDING		(SHINFO + 2048)
#define MASK64		(SHINFO + 2560)
#define MASK32		(SHINFO + 2176)

static struct fake_vm *setup(unsigned int vcpus)
{
	struct fake_vm *f = fake_vm_new(vcpus, 16 << 20);

	if (fake_map_shared_info(f, SHINFO_GFN))
		abort();
	return f;
}

static int64_t evtchn(struct fake_vm *f, unsigned int vcpu, uint64_t cmd,
		      void *arg, size_t size)
{
	return fake_op(f, vcpu, __HYPERVISOR_event_channel_op, cmd, arg, size);
}

static int alloc_unbound(struct fake_vm *f, uint16_t remote)
{
	struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = remote };
	int64_t r = evtchn(f, 0, EVTCHNOP_alloc_unbound, &a, sizeof(a));

	return r ? (int)r : (int)a.port;
}

static int bind_ipi(struct fake_vm *f, uint32_t vcpu)
{
	struct evtchn_bind_ipi b = { .vcpu = vcpu };
	int64_t r = evtchn(f, 0, EVTCHNOP_bind_ipi, &b, sizeof(b));

	return r ? (int)r : (int)b.port;
}

static int bind_virq(struct fake_vm *f, uint32_t virq, uint32_t vcpu)
{
	struct evtchn_bind_virq b = { .virq = virq, .vcpu = vcpu };
	int64_t r = evtchn(f, 0, EVTCHNOP_bind_virq, &b, sizeof(b));

	return r ? (int)r : (int)b.port;
}

static int64_t send(struct fake_vm *f, uint32_t port)
{
	struct evtchn_send s = { .port = port };

	return evtchn(f, 0, EVTCHNOP_send, &s, sizeof(s));
}

static int64_t close_port(struct fake_vm *f, uint32_t port)
{
	struct evtchn_close c = { .port = port };

	return evtchn(f, 0, EVTCHNOP_close, &c, sizeof(c));
}

static struct evtchn_status status(struct fake_vm *f, uint32_t port,
				   int64_t *r)
{
	struct evtchn_status s = { .dom = DOMID_SELF, .port = port };

	*r = evtchn(f, 0, EVTCHNOP_status, &s, sizeof(s));
	return s;
}

static void test_loopback(struct ktap *t)
{
	struct fake_vm *f = setup(2);
	struct evtchn_bind_interdomain b = { .remote_dom = DOMID_SELF };
	const struct fake_call *c;
	int a = alloc_unbound(f, DOMID_SELF);

	KTAP_EXPECT(t, a == 1);	/* port 0 is reserved */
	b.remote_port = (uint32_t)a;
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_bind_interdomain, &b, sizeof(b)) == 0);
	KTAP_EXPECT(t, b.local_port == 2);
	/* Xen raises the binder's port: a send on the unbound end was lost. */
	c = fake_last(f, FAKE_DELIVER_PORT);
	KTAP_EXPECT(t, c && c->a == 2);
	KTAP_EXPECT(t, fake_test_bit(f, PENDING, 2));

	fake_clear_calls(f);
	KTAP_EXPECT(t, send(f, 2) == 0);
	c = fake_last(f, FAKE_DELIVER_PORT);
	KTAP_EXPECT(t, c && c->a == 1 && c->b == 0);
	KTAP_EXPECT(t, fake_test_bit(f, PENDING, 1));

	/* A second bind of the now-bound port fails. */
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_bind_interdomain, &b, sizeof(b)) ==
		       -EINVAL);
	/* Closing one end makes the other unbound again, for us. */
	KTAP_EXPECT(t, close_port(f, 2) == 0);
	KTAP_EXPECT(t, !fake_test_bit(f, PENDING, 2));	/* Xen clears it */
	{
		int64_t r;
		struct evtchn_status s = status(f, 1, &r);

		KTAP_EXPECT(t, r == 0 && s.status == EVTCHNSTAT_unbound);
		KTAP_EXPECT(t, s.u.unbound.dom == XEN_DEFAULT_DOMID);
	}
	/* Sending on an unbound port is silently dropped. */
	fake_clear_calls(f);
	KTAP_EXPECT(t, send(f, 1) == 0);
	KTAP_EXPECT(t, fake_count(f, FAKE_DELIVER_PORT) == 0);
	/* Foreign domains: dom0 is ours, others do not exist. */
	b.remote_dom = 7;
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_bind_interdomain, &b, sizeof(b)) ==
		       -ESRCH);
	b.remote_dom = 0;
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_bind_interdomain, &b, sizeof(b)) ==
		       -EINVAL);
	fake_vm_free(f);
	ktap_case_end(t, "loopback interdomain: bind, send, close");
}

static int bind_loopback(struct fake_vm *f, uint32_t remote_port)
{
	struct evtchn_bind_interdomain b = { .remote_dom = DOMID_SELF,
					     .remote_port = remote_port };
	int64_t r = evtchn(f, 0, EVTCHNOP_bind_interdomain, &b, sizeof(b));

	return r ? (int)r : (int)b.local_port;
}

static int64_t bind_vcpu(struct fake_vm *f, uint32_t port, uint32_t vcpu)
{
	struct evtchn_bind_vcpu b = { .port = port, .vcpu = vcpu };

	return evtchn(f, 0, EVTCHNOP_bind_vcpu, &b, sizeof(b));
}

/* Is @port's send registered with the kernel side to raise @to on @vcpu? */
static bool kernel_sends(struct fake_vm *f, uint32_t port, uint32_t to,
			 uint32_t vcpu)
{
	const struct fake_send *k = &f->sends[port];

	return k->bound && k->to.eventfd == -1 && k->to.port == to &&
	       k->to.vcpu_id == vcpu;
}

/*
 * The kernel side's table against the VMM's port table, port by port: an
 * IPI raises itself, a loopback end raises its peer on the peer's vCPU, an
 * eventfd backend port signals its eventfd, anything else is unregistered
 * (its sends exit to the VMM). And nothing was unbound twice.
 */
static bool kernel_table_matches(struct fake_vm *f)
{
	const struct xen *x = f->vm.xen;

	for (uint32_t p = 0; p < XEN_EVTCHN_2L_MAX; p++) {
		const struct xen_port *xp = &x->ports[p];
		const struct fake_send *k = &f->sends[p];
		bool ok;

		switch (xp->state) {
		case PORT_IPI:
			ok = kernel_sends(f, p, p, xp->vcpu);
			break;
		case PORT_INTERDOMAIN:
			ok = kernel_sends(f, p, xp->remote_port,
					  x->ports[xp->remote_port].vcpu);
			break;
		case PORT_BACKEND:
			ok = xp->eventfd >= 0 ? k->bound && k->to.eventfd == xp->eventfd
					      : !k->bound;
			break;
		default:
			ok = !k->bound;
			break;
		}
		if (!ok || k->bound != xp->kernel_bound) {
			printf("# port %u: state %u, kernel %s (%d -> %u on %u)\n",
			       p, xp->state, k->bound ? "bound" : "unbound",
			       k->to.eventfd, k->to.port, k->to.vcpu_id);
			return false;
		}
	}
	return f->bad_unbinds == 0;
}

static void test_loopback_in_kernel(struct ktap *t)
{
	struct fake_vm *f = setup(2);
	struct evtchn_reset rs = { .dom = DOMID_SELF };
	struct evtchn_unmask u;
	int64_t r;
	int a = alloc_unbound(f, DOMID_SELF), b, c;

	/* An unbound port has nothing to send to: its sends exit. */
	KTAP_EXPECT(t, a > 0 && !f->sends[a].bound);
	b = bind_loopback(f, (uint32_t)a);
	KTAP_EXPECT(t, b > 0);
	/* Both ends registered, each raising the other. */
	KTAP_EXPECT(t, kernel_sends(f, (uint32_t)a, (uint32_t)b, 0));
	KTAP_EXPECT(t, kernel_sends(f, (uint32_t)b, (uint32_t)a, 0));
	KTAP_EXPECT(t, kernel_table_matches(f));

	/* bind_vcpu moves a port: its peer's sends now go to the new vCPU. */
	KTAP_EXPECT(t, bind_vcpu(f, (uint32_t)b, 1) == 0);
	KTAP_EXPECT(t, kernel_sends(f, (uint32_t)a, (uint32_t)b, 1));
	KTAP_EXPECT(t, kernel_sends(f, (uint32_t)b, (uint32_t)a, 0));
	KTAP_EXPECT(t, status(f, (uint32_t)b, &r).vcpu == 1 && r == 0);
	KTAP_EXPECT(t, kernel_table_matches(f));
	KTAP_EXPECT(t, bind_vcpu(f, (uint32_t)a, 1) == 0);
	KTAP_EXPECT(t, kernel_sends(f, (uint32_t)b, (uint32_t)a, 1));
	KTAP_EXPECT(t, kernel_table_matches(f));
	/* A failed bind_vcpu changes nothing. */
	KTAP_EXPECT(t, bind_vcpu(f, (uint32_t)a, 7) == -ENOENT);
	KTAP_EXPECT(t, kernel_sends(f, (uint32_t)b, (uint32_t)a, 1));

	/* A send (when it exits) to a masked target: pending, no upcall. */
	fake_set_bit(f, MASK64, (unsigned int)b);
	KTAP_EXPECT(t, send(f, (uint32_t)a) == 0);
	KTAP_EXPECT(t, fake_test_bit(f, PENDING, (unsigned int)b));
	KTAP_EXPECT(t, f->ram[SHINFO + 64] == 0);
	/* Unmask raises it on its vCPU, and leaves the registrations alone. */
	u.port = (uint32_t)b;
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_unmask, &u, sizeof(u)) == 0);
	KTAP_EXPECT(t, f->ram[SHINFO + 64] == 1);
	KTAP_EXPECT(t, kernel_table_matches(f));

	/* Closing one end unregisters both; the other end is unbound again. */
	KTAP_EXPECT(t, close_port(f, (uint32_t)a) == 0);
	KTAP_EXPECT(t, !f->sends[a].bound && !f->sends[b].bound);
	KTAP_EXPECT(t, status(f, (uint32_t)b, &r).status == EVTCHNSTAT_unbound);
	KTAP_EXPECT(t, kernel_table_matches(f));

	/* The survivor can be bound again; then closing *it* does the same. */
	c = bind_loopback(f, (uint32_t)b);
	KTAP_EXPECT(t, c > 0);
	KTAP_EXPECT(t, kernel_sends(f, (uint32_t)b, (uint32_t)c, 0));
	KTAP_EXPECT(t, kernel_sends(f, (uint32_t)c, (uint32_t)b, 1));
	KTAP_EXPECT(t, close_port(f, (uint32_t)b) == 0);
	KTAP_EXPECT(t, !f->sends[b].bound && !f->sends[c].bound);
	KTAP_EXPECT(t, status(f, (uint32_t)c, &r).status == EVTCHNSTAT_unbound);
	KTAP_EXPECT(t, kernel_table_matches(f));

	/* Reset with a pair and an IPI bound leaves no registration behind. */
	a = alloc_unbound(f, DOMID_SELF);
	KTAP_EXPECT(t, bind_loopback(f, (uint32_t)a) > 0);
	KTAP_EXPECT(t, bind_ipi(f, 1) > 0);
	KTAP_EXPECT(t, kernel_table_matches(f));
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_reset, &rs, sizeof(rs)) == 0);
	/* Every port is closed now: the table must be empty. */
	KTAP_EXPECT(t, kernel_table_matches(f));
	fake_vm_free(f);
	ktap_case_end(t, "loopback pairs: sends registered in-kernel, kept in step");
}

static void test_virq(struct ktap *t)
{
	struct fake_vm *f = setup(2);
	const struct fake_call *c;
	int p;

	KTAP_EXPECT(t, bind_virq(f, NR_VIRQS, 0) == -EINVAL);
	KTAP_EXPECT(t, bind_virq(f, VIRQ_CONSOLE, 1) == -EINVAL); /* global */
	KTAP_EXPECT(t, bind_virq(f, VIRQ_TIMER, 5) == -ENOENT);
	p = bind_virq(f, VIRQ_TIMER, 1);
	KTAP_EXPECT(t, p > 0);
	c = fake_last(f, FAKE_SET_TIMER_PORT);
	KTAP_EXPECT(t, c && c->a == 1 && c->b == (uint64_t)p);
	KTAP_EXPECT(t, bind_virq(f, VIRQ_TIMER, 1) == -EEXIST);
	KTAP_EXPECT(t, bind_virq(f, VIRQ_TIMER, 0) > 0);	/* per vCPU */
	/* The guest cannot send on a VIRQ port. */
	KTAP_EXPECT(t, send(f, (uint32_t)p) == -EINVAL);
	/* The VMM can. */
	fake_clear_calls(f);
	KTAP_EXPECT(t, xen_evtchn_send_virq(&f->vm, 1, VIRQ_TIMER) == 0);
	c = fake_last(f, FAKE_DELIVER_PORT);
	KTAP_EXPECT(t, c && c->a == (uint64_t)p && c->b == 1);
	/* An unbound VIRQ is nothing to deliver. */
	fake_clear_calls(f);
	KTAP_EXPECT(t, xen_evtchn_send_virq(&f->vm, 0, VIRQ_DEBUG) == 0);
	KTAP_EXPECT(t, fake_count(f, FAKE_DELIVER_PORT) == 0);
	/* Close forgets the binding and tells the kernel side. */
	KTAP_EXPECT(t, close_port(f, (uint32_t)p) == 0);
	c = fake_last(f, FAKE_SET_TIMER_PORT);
	KTAP_EXPECT(t, c && c->a == 1 && c->b == 0);
	KTAP_EXPECT(t, bind_virq(f, VIRQ_TIMER, 1) > 0);
	fake_vm_free(f);
	ktap_case_end(t, "bind_virq: rules, delivery, rebinding");
}

static void test_ipi(struct ktap *t)
{
	struct fake_vm *f = setup(4);
	const struct fake_call *c;
	int p;

	KTAP_EXPECT(t, bind_ipi(f, 4) == -ENOENT);
	p = bind_ipi(f, 3);
	KTAP_EXPECT(t, p > 0);
	c = fake_last(f, FAKE_BIND_PORT);
	KTAP_EXPECT(t, c && c->a == (uint64_t)p && c->b == 3 &&
			       (int64_t)c->c == -1 && c->d == (uint64_t)p);
	KTAP_EXPECT(t, send(f, (uint32_t)p) == 0);
	c = fake_last(f, FAKE_DELIVER_PORT);
	KTAP_EXPECT(t, c && c->a == (uint64_t)p && c->b == 3);
	KTAP_EXPECT(t, fake_test_bit(f, PENDING, (unsigned int)p));
	/* The selector and upcall bits of vCPU 3's slot, as the backend sets. */
	KTAP_EXPECT(t, f->ram[SHINFO + 3 * 64] == 1);
	KTAP_EXPECT(t, close_port(f, (uint32_t)p) == 0);
	c = fake_last(f, FAKE_UNBIND_PORT);
	KTAP_EXPECT(t, c && c->a == (uint64_t)p);
	KTAP_EXPECT(t, !fake_test_bit(f, PENDING, (unsigned int)p));
	KTAP_EXPECT(t, close_port(f, (uint32_t)p) == -EINVAL);
	KTAP_EXPECT(t, close_port(f, 0) == -EINVAL);	/* reserved */
	KTAP_EXPECT(t, send(f, (uint32_t)p) == -EINVAL);	/* closed */
	fake_vm_free(f);
	ktap_case_end(t, "bind_ipi: kernel fast path, send, close");
}

static void test_status_and_bind_vcpu(struct ktap *t)
{
	struct fake_vm *f = setup(2);
	struct evtchn_bind_vcpu bv;
	struct evtchn_status s;
	int64_t r;
	int ipi = bind_ipi(f, 1), virq = bind_virq(f, VIRQ_TIMER, 1);
	int gvirq = bind_virq(f, VIRQ_CONSOLE, 0), unb = alloc_unbound(f, 0);

	s = status(f, (uint32_t)ipi, &r);
	KTAP_EXPECT(t, r == 0 && s.status == EVTCHNSTAT_ipi && s.vcpu == 1);
	s = status(f, (uint32_t)virq, &r);
	KTAP_EXPECT(t, r == 0 && s.status == EVTCHNSTAT_virq &&
			       s.u.virq == VIRQ_TIMER);
	s = status(f, (uint32_t)unb, &r);
	KTAP_EXPECT(t, r == 0 && s.status == EVTCHNSTAT_unbound &&
			       s.u.unbound.dom == 0);
	s = status(f, 100, &r);
	KTAP_EXPECT(t, r == 0 && s.status == EVTCHNSTAT_closed);
	s = status(f, 4096, &r);
	KTAP_EXPECT(t, r == -EINVAL);
	{
		struct evtchn_status o = { .dom = 0, .port = 1 };

		KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_status, &o, sizeof(o)) ==
			       -EPERM);
		o.dom = 9;
		KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_status, &o, sizeof(o)) ==
			       -ESRCH);
	}

	bv = (struct evtchn_bind_vcpu){ .port = (uint32_t)ipi, .vcpu = 0 };
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_bind_vcpu, &bv, sizeof(bv)) == -EINVAL);
	bv.port = (uint32_t)virq;	/* per-vCPU VIRQ */
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_bind_vcpu, &bv, sizeof(bv)) == -EINVAL);
	bv = (struct evtchn_bind_vcpu){ .port = (uint32_t)gvirq, .vcpu = 1 };
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_bind_vcpu, &bv, sizeof(bv)) == 0);
	bv.vcpu = 2;
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_bind_vcpu, &bv, sizeof(bv)) == -ENOENT);
	/* The global VIRQ is now raised on vCPU 1. */
	fake_clear_calls(f);
	xen_evtchn_send_virq(&f->vm, 0, VIRQ_CONSOLE);
	{
		const struct fake_call *c = fake_last(f, FAKE_DELIVER_PORT);

		KTAP_EXPECT(t, c && c->a == (uint64_t)gvirq && c->b == 1);
	}
	s = status(f, (uint32_t)gvirq, &r);
	KTAP_EXPECT(t, r == 0 && s.vcpu == 1);
	fake_vm_free(f);
	ktap_case_end(t, "status and bind_vcpu follow Xen's rules");
}

static void test_unmask(struct ktap *t)
{
	struct fake_vm *f = setup(1);
	struct evtchn_unmask u;
	const struct fake_call *c;
	int p = bind_ipi(f, 0);

	/* Masked: the send only sets pending, no upcall. */
	fake_set_bit(f, MASK64, (unsigned int)p);
	KTAP_EXPECT(t, send(f, (uint32_t)p) == 0);
	KTAP_EXPECT(t, fake_test_bit(f, PENDING, (unsigned int)p));
	KTAP_EXPECT(t, f->ram[SHINFO] == 0);
	/* Unmask re-raises it: upcall pending, selector bit set. */
	fake_clear_calls(f);
	u.port = (uint32_t)p;
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_unmask, &u, sizeof(u)) == 0);
	KTAP_EXPECT(t, !fake_test_bit(f, MASK64, (unsigned int)p));
	KTAP_EXPECT(t, fake_test_bit(f, PENDING, (unsigned int)p));
	KTAP_EXPECT(t, f->ram[SHINFO] == 1);
	KTAP_EXPECT(t, fake_test_bit(f, SHINFO + 8, (unsigned int)p / 64));
	c = fake_last(f, FAKE_DELIVER_PORT);
	KTAP_EXPECT(t, c && c->a == (uint64_t)p);
	/* Unmasking a port that is not pending raises nothing. */
	fake_clear_calls(f);
	f->ram[PENDING + p / 8] = 0;
	fake_set_bit(f, MASK64, (unsigned int)p);
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_unmask, &u, sizeof(u)) == 0);
	KTAP_EXPECT(t, fake_count(f, FAKE_DELIVER_PORT) == 0);
	KTAP_EXPECT(t, !fake_test_bit(f, MASK64, (unsigned int)p));
	u.port = 5000;
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_unmask, &u, sizeof(u)) == -EINVAL);
	fake_vm_free(f);
	ktap_case_end(t, "unmask re-raises a pending port");
}

static void test_limits(struct ktap *t)
{
	struct fake_vm *f = setup(1);
	int i, p = 0;

	/* 64-bit guests have 4095 usable ports, then -ENOSPC. */
	for (i = 1; i < 4096; i++) {
		p = alloc_unbound(f, DOMID_SELF);
		if (p != i)
			break;
	}
	KTAP_EXPECT(t, p == 4095);
	KTAP_EXPECT(t, alloc_unbound(f, DOMID_SELF) == -ENOSPC);
	KTAP_EXPECT(t, send(f, 4096) == -EINVAL);
	KTAP_EXPECT(t, send(f, UINT32_MAX) == -EINVAL);
	fake_vm_free(f);

	/* Compat guests get 1024, and their own mask offset. */
	f = fake_vm_new(1, 16 << 20);
	f->longmode = false;
	xen_set_long_mode(&f->vm, false);
	KTAP_EXPECT(t, fake_map_shared_info(f, SHINFO_GFN) == 0);
	for (i = 1; i < 1024; i++)
		p = alloc_unbound(f, DOMID_SELF);
	KTAP_EXPECT(t, p == 1023);
	KTAP_EXPECT(t, alloc_unbound(f, DOMID_SELF) == -ENOSPC);
	KTAP_EXPECT(t, send(f, 1024) == -EINVAL);
	KTAP_EXPECT(t, close_port(f, 1000) == 0);
	p = bind_ipi(f, 0);
	KTAP_EXPECT(t, p == 1000);
	fake_set_bit(f, MASK32, 1000);
	KTAP_EXPECT(t, send(f, 1000) == 0);
	{
		struct evtchn_unmask u = { .port = 1000 };

		KTAP_EXPECT(t, f->ram[SHINFO] == 0);
		KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_unmask, &u, sizeof(u)) == 0);
		KTAP_EXPECT(t, !fake_test_bit(f, MASK32, 1000));
		KTAP_EXPECT(t, f->ram[SHINFO] == 1);
		/* Compat selector: 32-bit word 31 at vcpu_info offset 4. */
		KTAP_EXPECT(t, fake_test_bit(f, SHINFO + 4, 1000 / 32));
	}
	fake_vm_free(f);
	ktap_case_end(t, "port limits: 4096 (64-bit), 1024 (compat)");
}

struct notified {
	int calls;
	uint32_t port;
};

static void on_notify(void *opaque, uint32_t port)
{
	struct notified *n = opaque;

	n->calls++;
	n->port = port;
}

static void test_backend_api(struct ktap *t)
{
	struct fake_vm *f = setup(2);
	struct notified n = { 0, 0 };
	struct evtchn_status s;
	const struct fake_call *c;
	int64_t r;
	int p = xen_evtchn_alloc_backend(&f->vm, on_notify, &n, -1);
	int g;

	KTAP_EXPECT(t, p == 1);
	KTAP_EXPECT(t, send(f, (uint32_t)p) == 0);
	KTAP_EXPECT(t, n.calls == 1 && n.port == (uint32_t)p);
	s = status(f, (uint32_t)p, &r);
	KTAP_EXPECT(t, r == 0 && s.status == EVTCHNSTAT_interdomain &&
			       s.u.interdomain.dom == 0);
	fake_clear_calls(f);
	KTAP_EXPECT(t, xen_evtchn_notify_guest(&f->vm, (uint32_t)p) == 0);
	c = fake_last(f, FAKE_DELIVER_PORT);
	KTAP_EXPECT(t, c && c->a == (uint64_t)p);
	/* Only backend ports may be notified by a backend. */
	g = bind_ipi(f, 0);
	KTAP_EXPECT(t, xen_evtchn_notify_guest(&f->vm, (uint32_t)g) == -EINVAL);

	/* A frontend's port: alloc_unbound for dom0, then the backend binds. */
	g = alloc_unbound(f, 0);
	KTAP_EXPECT(t, g > 0);
	KTAP_EXPECT(t, xen_evtchn_bind_backend(&f->vm, (uint32_t)g, on_notify, &n,
					       -1) == 0);
	KTAP_EXPECT(t, xen_evtchn_bind_backend(&f->vm, (uint32_t)g, on_notify, &n,
					       -1) == -EINVAL);
	KTAP_EXPECT(t, send(f, (uint32_t)g) == 0);
	KTAP_EXPECT(t, n.calls == 2 && n.port == (uint32_t)g);
	/* A port meant for ourselves is not the backend's to take. */
	KTAP_EXPECT(t, xen_evtchn_bind_backend(&f->vm, (uint32_t)alloc_unbound(f,
					       DOMID_SELF), on_notify, &n, -1) ==
		       -EINVAL);
	/* With an eventfd, the kernel side is told. */
	fake_clear_calls(f);
	p = xen_evtchn_alloc_backend(&f->vm, NULL, NULL, 42);
	c = fake_last(f, FAKE_BIND_PORT);
	KTAP_EXPECT(t, p > 0 && c && c->a == (uint64_t)p && (int64_t)c->c == 42);
	/* The backend leaves: the guest's end is unbound (for dom0) again. */
	KTAP_EXPECT(t, xen_evtchn_close_backend(&f->vm, (uint32_t)p) == 0);
	KTAP_EXPECT(t, fake_last(f, FAKE_UNBIND_PORT) != NULL);
	s = status(f, (uint32_t)p, &r);
	KTAP_EXPECT(t, r == 0 && s.status == EVTCHNSTAT_unbound &&
			       s.u.unbound.dom == 0);
	KTAP_EXPECT(t, xen_evtchn_notify_guest(&f->vm, (uint32_t)p) == -EINVAL);
	/* The guest closing its end ends the backend's notifications. */
	KTAP_EXPECT(t, close_port(f, (uint32_t)g) == 0);
	KTAP_EXPECT(t, xen_evtchn_notify_guest(&f->vm, (uint32_t)g) == -EINVAL);
	fake_vm_free(f);
	ktap_case_end(t, "device backend ports: alloc, bind, notify, close");
}

static void test_hostile_and_unsupported(struct ktap *t)
{
	struct fake_vm *f = setup(1);
	struct evtchn_alloc_unbound a = { .dom = 0, .remote_dom = DOMID_SELF };
	struct evtchn_reset rs = { .dom = DOMID_SELF };
	uint8_t junk[64] = { 0 };

	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_event_channel_op,
				  EVTCHNOP_send, 0xdeadbeef000ULL, 0) == -EFAULT);
	f->bad_gva = 0x700000;
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_event_channel_op,
				  EVTCHNOP_alloc_unbound, 0x700ff8, 0) == -EFAULT);
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_alloc_unbound, &a, sizeof(a)) == -EPERM);
	a.dom = 3;
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_alloc_unbound, &a, sizeof(a)) == -ESRCH);
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_init_control, junk, 64) == -ENOSYS);
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_expand_array, junk, 64) == -ENOSYS);
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_set_priority, junk, 64) == -ENOSYS);
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_bind_pirq, junk, 64) == -ENOSYS);
	KTAP_EXPECT(t, evtchn(f, 0, 99, junk, 64) == -ENOSYS);
	/* Reset closes everything. */
	KTAP_EXPECT(t, bind_ipi(f, 0) == 1 && alloc_unbound(f, 0) == 2);
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_reset, &rs, sizeof(rs)) == 0);
	KTAP_EXPECT(t, bind_ipi(f, 0) == 1);
	rs.dom = 0;
	KTAP_EXPECT(t, evtchn(f, 0, EVTCHNOP_reset, &rs, sizeof(rs)) == -EPERM);
	/* Guest user mode gets -EPERM before anything is read. */
	{
		struct xen_hcall hc = { .nr = __HYPERVISOR_event_channel_op,
					.args = { EVTCHNOP_send, 0 },
					.longmode = true, .cpl = 3 };

		KTAP_EXPECT(t, xen_hypercall(&f->vcpus[0], &hc) == -EPERM);
	}
	fake_vm_free(f);
	ktap_case_end(t, "bad pointers, foreign domains, FIFO and PIRQ ops");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 9);
	test_loopback(&t);
	test_loopback_in_kernel(&t);
	test_virq(&t);
	test_ipi(&t);
	test_status_and_bind_vcpu(&t);
	test_unmask(&t);
	test_limits(&t);
	test_backend_api(&t);
	test_hostile_and_unsupported(&t);
	return ktap_finish(&t);
}
