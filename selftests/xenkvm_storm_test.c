// SPDX-License-Identifier: GPL-2.0
/*
 * Invalidation storm. Host threads deliver thousands of events through
 * eventfds (one writer per port, a handshake per event) while another
 * thread keeps invalidating the host mapping of the shared_info and
 * vcpu_info pages: mprotect() read-only and back, MADV_DONTNEED (the
 * memory is shared, so the contents survive) and MADV_PAGEOUT where the
 * kernel has it. Every invalidation makes the module's caches invalid
 * under their write lock, so the eventfd wakeups often cannot write and
 * must defer to the fallback worker, which refreshes and delivers in
 * order.
 *
 * The guest counts each event exactly once: no event lost (every writer
 * finishes), none duplicated (each port's count equals the events sent,
 * also after the storm stops), and the stats show the fallback ran and
 * the caches were invalidated.
 */
#include "xenkvm_guest.h"

#include <sys/eventfd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define NPORTS		8
#define ROUNDS		400	/* events per port: 3200 in all */
#define WAIT_MS		60000

struct writer {
	struct xkh *h;
	int efd;
	unsigned int port;
	unsigned int done;
};

static volatile int storm_stop;
static unsigned long storm_flips, pageout_ok;

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	uint64_t one = 1;

	for (w->done = 0; w->done < ROUNDS; w->done++) {
		if (write(w->efd, &one, sizeof(one)) != sizeof(one))
			break;
		if (!xkh_wait_count(w->h, w->port, w->done + 1, WAIT_MS))
			break;
	}
	return NULL;
}

static void *storm_thread(void *arg)
{
	struct xkh *h = arg;
	void *pages = h->shinfo;	/* shared_info, then vcpu_info */
	size_t len = 2 * getpagesize();

	while (!storm_stop) {
		TEST_ASSERT(!mprotect(pages, len, PROT_READ), "mprotect ro");
		usleep(50);
		TEST_ASSERT(!mprotect(pages, len, PROT_READ | PROT_WRITE), "mprotect rw");
		TEST_ASSERT(!madvise(pages, len, MADV_DONTNEED), "MADV_DONTNEED");
		if (!madvise(pages, len, MADV_PAGEOUT))
			pageout_ok++;
		storm_flips++;
		usleep(20);
	}
	return NULL;
}

int main(void)
{
	struct xenkvm_irq_routing *rt;
	struct xenkvm_stats before, after;
	struct writer w[NPORTS];
	pthread_t t[NPORTS], storm;
	unsigned int i, finished = 0, exact = 0, settled = 0;
	struct xkh h;

	close(xk_open());
	ksft_print_header();
	ksft_set_plan(4);

	/* vCPU 0 uses a registered vcpu_info: both pages are stormed. */
	xkh_create(&h, 1, 1, 0x1);
	rt = calloc(1, sizeof(*rt) + NPORTS * sizeof(rt->entries[0]));
	TEST_ASSERT(rt, "calloc");
	for (i = 0; i < NPORTS; i++) {
		w[i].h = &h;
		w[i].port = 3 + i * 67;
		w[i].efd = eventfd(0, EFD_CLOEXEC);
		TEST_ASSERT(w[i].efd >= 0, "eventfd");
		xkh_bind(&h, w[i].port, 0);
		xk_route_one(h.xfd, rt, i, w[i].port, 0);
	}
	TEST_ASSERT(xk_ioctl(h.xfd, XENKVM_SET_GSI_ROUTING, rt) == 0, "routing");
	for (i = 0; i < NPORTS; i++)
		TEST_ASSERT(xk_irqfd_assign(h.xfd, w[i].efd, i, 0) == 0, "irqfd");
	xkh_start(&h);
	xk_get_stats(h.xfd, &before);

	pthread_create(&storm, NULL, storm_thread, &h);
	for (i = 0; i < NPORTS; i++)
		pthread_create(&t[i], NULL, writer_thread, &w[i]);
	for (i = 0; i < NPORTS; i++) {
		pthread_join(t[i], NULL);
		finished += w[i].done == ROUNDS;
	}
	storm_stop = 1;
	pthread_join(storm, NULL);
	for (i = 0; i < NPORTS; i++)
		exact += h.count[w[i].port] == ROUNDS;

	ksft_test_result(finished == NPORTS,
			 "no event lost: %u/%u writers saw all %u events counted (%lu storm flips, %lu pageouts)\n",
			 finished, NPORTS, ROUNDS, storm_flips, pageout_ok);
	ksft_test_result(exact == NPORTS,
			 "no event duplicated: %u/%u ports counted exactly %u\n",
			 exact, NPORTS, ROUNDS);

	/* Let anything still queued drain, then look again. */
	usleep(200 * 1000);
	for (i = 0; i < NPORTS; i++)
		settled += h.count[w[i].port] == ROUNDS;
	xk_get_stats(h.xfd, &after);
	ksft_test_result(settled == NPORTS && after.deliveries - before.deliveries ==
			 (uint64_t)NPORTS * ROUNDS,
			 "after the storm: counts unchanged, %llu deliveries for %u events\n",
			 (unsigned long long)(after.deliveries - before.deliveries),
			 NPORTS * ROUNDS);
	ksft_test_result(after.delivered_deferred > before.delivered_deferred &&
			 after.cache_invalidations > before.cache_invalidations &&
			 after.cache_refreshes > before.cache_refreshes,
			 "fallback ran: atomic %llu deferred %llu, invalidations %llu, refreshes %llu\n",
			 (unsigned long long)(after.delivered_atomic - before.delivered_atomic),
			 (unsigned long long)(after.delivered_deferred - before.delivered_deferred),
			 (unsigned long long)(after.cache_invalidations - before.cache_invalidations),
			 (unsigned long long)(after.cache_refreshes - before.cache_refreshes));

	for (i = 0; i < NPORTS; i++)
		close(w[i].efd);
	free(rt);
	xkh_destroy(&h);
	ksft_finished();
}
