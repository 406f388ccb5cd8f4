// SPDX-License-Identifier: GPL-2.0
/*
 * 2-level event channel delivery into a running guest:
 *
 *  - XENKVM_EVTCHN_SEND on ports in several words, 64-bit layout, the
 *    vCPU's vcpu_info in the shared_info slot: each event counted once,
 *    one upcall each, stats agree;
 *  - eventfds signalled from another host thread through GSI routes and
 *    irqfds, with a handshake per event: none lost, none duplicated;
 *  - two vCPUs (one with a shared_info slot, one with a registered
 *    vcpu_info): each port reaches the vCPU it is bound to;
 *  - a masked port: pending set, no upcall; unmask and resend is
 *    "already pending" (as in Xen: only EVTCHNOP_unmask re-raises), and
 *    clearing the pending bit lets a resend through;
 *  - the 32-bit compat layout (1024 ports, 32-bit words).
 */
#include "xenkvm_guest.h"

#include <sys/eventfd.h>

#define WAIT_MS	20000

static bool send_and_wait(struct xkh *h, unsigned int port, unsigned int cpu)
{
	uint32_t c = h->count[port];

	xkh_bind(h, port, cpu);
	if (xk_send(h->xfd, port, cpu))
		return false;
	return xkh_wait_count(h, port, c + 1, WAIT_MS) && h->count[port] == c + 1;
}

static void test_send(int long_mode)
{
	static const unsigned int ports64[] = { 2, 63, 64, 130, 1000, 2047, 4095 };
	static const unsigned int ports32[] = { 2, 31, 32, 63, 500, 1023 };
	const unsigned int *ports = long_mode ? ports64 : ports32;
	unsigned int n = long_mode ? ARRAY_SIZE(ports64) : ARRAY_SIZE(ports32);
	struct xenkvm_stats before, after;
	unsigned int i, ok = 0;
	struct xkh h;

	xkh_create(&h, 1, long_mode, 0);
	xkh_start(&h);
	xk_get_stats(h.xfd, &before);
	for (i = 0; i < n; i++)
		ok += send_and_wait(&h, ports[i], 0);
	xk_get_stats(h.xfd, &after);
	ksft_test_result(ok == n, "%s: send ioctl, %u ports each counted once (%u ok)\n",
			 long_mode ? "64-bit" : "compat", n, ok);
	ksft_test_result(after.deliveries - before.deliveries == n &&
			 after.upcalls - before.upcalls == n &&
			 h.hdr->events[0] == n,
			 "%s: stats: %llu deliveries, %llu upcalls, guest saw %llu\n",
			 long_mode ? "64-bit" : "compat",
			 (unsigned long long)(after.deliveries - before.deliveries),
			 (unsigned long long)(after.upcalls - before.upcalls),
			 (unsigned long long)h.hdr->events[0]);
	XK_EXPECT(xk_send(h.xfd, long_mode ? 4096 : 1024, 0), -EINVAL,
		  long_mode ? "64-bit: port 4096 refused" : "compat: port 1024 refused");
	xkh_destroy(&h);
}

struct writer {
	struct xkh *h;
	int efd;
	unsigned int port;
	unsigned int n;
	unsigned int done;
};

/* Another host thread: one eventfd write per event, waiting for each. */
static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	uint64_t one = 1;
	uint32_t base = w->h->count[w->port];

	for (w->done = 0; w->done < w->n; w->done++) {
		if (write(w->efd, &one, sizeof(one)) != sizeof(one))
			break;
		if (!xkh_wait_count(w->h, w->port, base + w->done + 1, WAIT_MS))
			break;
	}
	return NULL;
}

static struct xenkvm_irq_routing *routing_alloc(unsigned int n)
{
	struct xenkvm_irq_routing *r;

	r = calloc(1, sizeof(*r) + n * sizeof(r->entries[0]));
	TEST_ASSERT(r, "calloc");
	return r;
}

static void test_eventfd(int long_mode, unsigned int nr_vcpus)
{
	enum { NW = 4, EVENTS = 200 };
	struct xenkvm_irq_routing *rt = routing_alloc(NW);
	struct xenkvm_stats before, after;
	struct writer w[NW];
	pthread_t t[NW];
	unsigned int i, ok = 0, exact = 0;
	struct xkh h;

	xkh_create(&h, nr_vcpus, long_mode, nr_vcpus > 1 ? 0x2 : 0);
	for (i = 0; i < NW; i++) {
		w[i].h = &h;
		w[i].port = 10 + i * 70;	/* different words */
		w[i].n = EVENTS;
		w[i].efd = eventfd(0, EFD_CLOEXEC);
		TEST_ASSERT(w[i].efd >= 0, "eventfd");
		xkh_bind(&h, w[i].port, i % nr_vcpus);
		xk_route_one(h.xfd, rt, 100 + i, w[i].port, i % nr_vcpus);
	}
	TEST_ASSERT(xk_ioctl(h.xfd, XENKVM_SET_GSI_ROUTING, rt) == 0, "routing");
	for (i = 0; i < NW; i++)
		TEST_ASSERT(xk_irqfd_assign(h.xfd, w[i].efd, 100 + i, 0) == 0, "irqfd");
	xkh_start(&h);
	xk_get_stats(h.xfd, &before);
	for (i = 0; i < NW; i++)
		pthread_create(&t[i], NULL, writer_thread, &w[i]);
	for (i = 0; i < NW; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].done == EVENTS;
		exact += h.count[w[i].port] == EVENTS;
	}
	xk_get_stats(h.xfd, &after);
	ksft_test_result(ok == NW && exact == NW,
			 "%s, %u vCPU(s): %u eventfd writers x %u events from host threads, each counted exactly once (%u/%u)\n",
			 long_mode ? "64-bit" : "compat", nr_vcpus, NW, EVENTS, ok, exact);
	ksft_test_result(after.delivered_atomic + after.delivered_deferred -
			 before.delivered_atomic - before.delivered_deferred ==
			 NW * EVENTS,
			 "%s, %u vCPU(s): every eventfd event went through the irqfd path (atomic %llu, deferred %llu)\n",
			 long_mode ? "64-bit" : "compat", nr_vcpus,
			 (unsigned long long)(after.delivered_atomic - before.delivered_atomic),
			 (unsigned long long)(after.delivered_deferred - before.delivered_deferred));
	if (nr_vcpus > 1) {
		unsigned int per_cpu_ok = 1;

		for (i = 0; i < nr_vcpus; i++)
			per_cpu_ok &= h.hdr->events[i] >= EVENTS;
		ksft_test_result(per_cpu_ok,
				 "%u vCPUs: each vCPU handled the ports bound to it (%llu, %llu)\n",
				 nr_vcpus, (unsigned long long)h.hdr->events[0],
				 (unsigned long long)h.hdr->events[1]);
	}
	for (i = 0; i < NW; i++) {
		XK_EXPECT(xk_irqfd_assign(h.xfd, w[i].efd, 100 + i,
					  XENKVM_IRQFD_FLAG_DEASSIGN), 0, "irqfd deassign");
		close(w[i].efd);
	}
	free(rt);
	xkh_destroy(&h);
}

static void test_two_vcpus_send(void)
{
	unsigned int i, ok = 0;
	struct xkh h;

	/* vCPU 0: shared_info slot; vCPU 1: registered vcpu_info. */
	xkh_create(&h, 2, 1, 0x2);
	xkh_start(&h);
	for (i = 0; i < 40; i++)
		ok += send_and_wait(&h, 5 + (i % 4) * 64, i % 2);
	ksft_test_result(ok == 40 && h.hdr->events[0] == 20 && h.hdr->events[1] == 20,
			 "2 vCPUs: 40 sends alternating, each on its target (%llu/%llu)\n",
			 (unsigned long long)h.hdr->events[0],
			 (unsigned long long)h.hdr->events[1]);
	xkh_destroy(&h);
}

static void test_masked(int long_mode)
{
	const unsigned int port = 77, other = 78;
	unsigned int moff;
	struct xenkvm_stats s0, s1, s2, s3;
	struct xkh h;
	bool ok;

	xkh_create(&h, 1, long_mode, 0x1);
	moff = XKH_MASK_OFF(&h);
	xkh_bind(&h, port, 0);
	xkh_start(&h);

	xkh_shinfo_bit(&h, moff, port, 1);
	xk_get_stats(h.xfd, &s0);
	ok = xk_send(h.xfd, port, 0) == 0;
	xk_get_stats(h.xfd, &s1);
	ksft_test_result(ok && xk_test_bit(h.shinfo + XEN_SHINFO_PENDING_OFF, port) &&
			 s1.masked - s0.masked == 1 && s1.upcalls == s0.upcalls,
			 "masked: pending set, no upcall (masked +%llu, upcalls +%llu)\n",
			 (unsigned long long)(s1.masked - s0.masked),
			 (unsigned long long)(s1.upcalls - s0.upcalls));
	/* The guest runs a handler for another port and leaves ours alone. */
	ok = send_and_wait(&h, other, 0);
	ksft_test_result(ok && h.count[port] == 0 &&
			 xk_test_bit(h.shinfo + XEN_SHINFO_PENDING_OFF, port),
			 "masked: still pending and unseen after another upcall\n");

	/* Unmask by hand, resend: already pending, no upcall (as Xen). */
	xkh_shinfo_bit(&h, moff, port, 0);
	xk_get_stats(h.xfd, &s1);
	ok = xk_send(h.xfd, port, 0) == 0;
	xk_get_stats(h.xfd, &s2);
	ksft_test_result(ok && s2.already_pending - s1.already_pending == 1 &&
			 s2.upcalls == s1.upcalls && h.count[port] == 0,
			 "unmask + resend: already pending, no upcall\n");

	/* Clear the pending bit: the next send is a fresh event. */
	xkh_shinfo_bit(&h, XEN_SHINFO_PENDING_OFF, port, 0);
	ok = xk_send(h.xfd, port, 0) == 0 && xkh_wait_count(&h, port, 1, WAIT_MS);
	xk_get_stats(h.xfd, &s3);
	ksft_test_result(ok && h.count[port] == 1 && s3.upcalls - s2.upcalls == 1,
			 "clear pending + resend: delivered once\n");
	xkh_destroy(&h);
}

int main(void)
{
	close(xk_open());
	ksft_print_header();
	/* send 2x3, eventfd 2+4, 3+4, 2+4, two vCPUs 1, masked 2x4 */
	ksft_set_plan(6 + 6 + 7 + 6 + 1 + 8);

	test_send(1);
	test_send(0);
	test_eventfd(1, 1);
	test_eventfd(1, 2);
	test_two_vcpus_send();
	test_masked(1);
	test_masked(0);
	test_eventfd(0, 1);
	ksft_finished();
}
