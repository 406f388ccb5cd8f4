// SPDX-License-Identifier: GPL-2.0
/*
 * Memory churn under the module's gfn->pfn caches (seed 003).
 *
 * xenkvm_isolation_test shows that no event lands in a page after its
 * mapping was replaced or its memslot moved away, and xenkvm_storm_test
 * that no event is lost under mprotect/MADV_DONTNEED of shared memory.
 * This test adds the cases where the old physical page really goes back
 * to the host and is reused, and the invalidation sources a host has
 * besides those:
 *
 * 1. Balloon-out and reuse. shared_info and vcpu_info are in private
 *    anonymous memory. After an event has resolved the caches, the page
 *    is ballooned out (MADV_DONTNEED frees it), and the test at once
 *    allocates fresh pages until /proc/self/pagemap shows that one of
 *    them *is* the old physical page (needs CAP_SYS_ADMIN for PFNs),
 *    fills it with a pattern, and raises events through every producer:
 *    an irqfd (atomic path), XENKVM_EVTCHN_SEND (process context) and a
 *    timer (hrtimer). The events must land in the guest's new page and
 *    the reused page must keep its pattern: nothing is ever written
 *    through the old mapping.
 * 2. Memslot replaced with other memory (the generation check, with no
 *    MMU-notifier event at all): the slot is deleted and created again at
 *    the same GPA with a new userspace address while the old mapping
 *    stays valid and mapped. Events must land in the new memory and the
 *    old pages must not change.
 * 3. Churn with a running, event-heavy guest: eventfd writers and an
 *    ioctl sender (one handshake per event) while another thread cycles
 *    through swap-out (MADV_PAGEOUT: with a swap device such as the
 *    robust suite's zram the pages really leave memory), page migration
 *    (move_pages to another node when there is one, else MADV_SOFT_OFFLINE
 *    where the kernel has memory-failure support), dirty-logging toggles
 *    (memslot generation changes), MADV_DONTNEED of the whole slot and
 *    mprotect. No event may be lost or duplicated.
 * 4. A shared_info page that stays unwritable (read-only here; a memslot
 *    deleted under it does the same) while events keep coming for one
 *    port: they must merge in the fallback FIFO rather than fill it, and
 *    an event for another port after the flood must still be delivered
 *    once the page is writable again.
 */
#include "xenkvm_guest.h"

#include <numaif.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101
#endif

/* ------------------------------------------------------------------ */
/* 1 and 2: no vCPU runs; the test looks at memory.                      */

#define R_GPA		0xc0000000ULL
#define R_SLOT		10
#define R_PAGES		4
#define R_PORT_IRQFD	5
#define R_PORT_SEND	6
#define R_PORT_TIMER	7
#define NCAND		1024
#define NPREFAULT	64
#define MIN_ROUNDS	12
#define MAX_ROUNDS	60
#define WANT_CAUGHT	3
#define PATTERN		0xa5

static int pagemap_fd = -1;

/* PFN backing @addr in this process, 0 if absent or hidden. */
static uint64_t pfn_of(const void *addr)
{
	uint64_t e;
	off_t off = ((uintptr_t)addr / getpagesize()) * 8;

	if (pread(pagemap_fd, &e, 8, off) != 8 || !(e >> 63 & 1))
		return 0;
	return e & ((1ULL << 55) - 1);
}

/* Pin to @cpu, or (-1) allow every CPU again. */
static void pin_cpu(int cpu)
{
	cpu_set_t s;
	int i;

	CPU_ZERO(&s);
	for (i = 0; i < CPU_SETSIZE; i++)
		if (cpu < 0 || i == cpu)
			CPU_SET(i, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

struct reuse_vm {
	struct kvm_vm *vm;
	int xfd, efd;
	uint8_t *hva;
};

static void reuse_setup(struct reuse_vm *r, enum vm_mem_backing_src_type src)
{
	struct xenkvm_irq_routing *rt;
	struct kvm_vcpu *vcpu;

	r->vm = vm_create_with_one_vcpu(&vcpu, xkg_main);
	vm_userspace_mem_region_add(r->vm, src, R_GPA, R_SLOT, R_PAGES, 0);
	r->hva = addr_gpa2hva(r->vm, R_GPA);
	r->xfd = xk_open();
	TEST_ASSERT(xk_attach_fd(r->xfd, r->vm->fd) == 0, "attach");
	TEST_ASSERT(xk_set_shinfo(r->xfd, R_GPA >> 12) == 0, "shared_info");
	TEST_ASSERT(xk_vcpu_set(r->xfd, 0, XENKVM_VCPU_ATTR_VCPU_ID, 0) == 0, "id");
	TEST_ASSERT(xk_vcpu_set(r->xfd, 0, XENKVM_VCPU_ATTR_VCPU_INFO,
				R_GPA + 0x1000) == 0, "vcpu_info");
	rt = calloc(1, sizeof(*rt) + sizeof(rt->entries[0]));
	TEST_ASSERT(rt, "calloc");
	xk_route_one(r->xfd, rt, 0, R_PORT_IRQFD, 0);
	TEST_ASSERT(xk_ioctl(r->xfd, XENKVM_SET_GSI_ROUTING, rt) == 0, "routing");
	free(rt);
	r->efd = eventfd(0, EFD_CLOEXEC);
	TEST_ASSERT(xk_irqfd_assign(r->xfd, r->efd, 0, 0) == 0, "irqfd");
}

static void reuse_teardown(struct reuse_vm *r)
{
	close(r->efd);
	close(r->xfd);
	kvm_vm_free(r->vm);
}

/* Arm Xen vCPU 0's timer @delta_ns from now (Xen time = kvmclock). */
static long arm_timer(struct reuse_vm *r, uint64_t delta_ns)
{
	struct xenkvm_vcpu_attr a = { .vcpu = 0, .type = XENKVM_VCPU_ATTR_TIMER };
	struct kvm_clock_data d = { 0 };

	vm_ioctl(r->vm, KVM_GET_CLOCK, &d);
	a.u.timer.port = R_PORT_TIMER;
	a.u.timer.expires_ns = d.clock + delta_ns;
	return xk_ioctl(r->xfd, XENKVM_VCPU_SET_ATTR, &a);
}

/* Raise the three ports through the irqfd, the ioctl and the timer. */
static void fire_all(struct reuse_vm *r)
{
	uint64_t one = 1;

	TEST_ASSERT(write(r->efd, &one, 8) == 8, "eventfd write");
	TEST_ASSERT(xk_send(r->xfd, R_PORT_SEND, 0) == 0, "send");
	TEST_ASSERT(arm_timer(r, 2000000) == 0, "timer");
}

/* Wait for the three ports in the guest's (current) shared_info page. */
static bool all_pending(struct reuse_vm *r, unsigned int ms)
{
	const volatile uint8_t *pend = r->hva + XEN_SHINFO_PENDING_OFF;
	uint64_t t0 = xk_now_ms();

	while (xk_now_ms() - t0 < ms) {
		if (xk_test_bit(pend, R_PORT_IRQFD) && xk_test_bit(pend, R_PORT_SEND) &&
		    xk_test_bit(pend, R_PORT_TIMER) &&
		    r->hva[0x1000 + XEN_VI_UPCALL_PENDING_OFF])
			return true;
		usleep(500);
	}
	return false;
}

static void clear_guest_pages(struct reuse_vm *r)
{
	memset(r->hva, 0, 2 * getpagesize());
}

/*
 * Resolve both caches onto the current pages with one event, then clear
 * them. The send ioctl may queue the event behind a worker that is still
 * finishing the previous round, or leave the vcpu_info write to it: wait
 * for the event rather than expect it on return.
 */
static void warm_up(struct reuse_vm *r)
{
	const volatile uint8_t *p = r->hva;
	uint64_t t0;

	clear_guest_pages(r);
	TEST_ASSERT(xk_send(r->xfd, 9, 0) == 0, "warm-up send");
	for (t0 = xk_now_ms(); xk_now_ms() - t0 < 10000; usleep(200))
		if (xk_test_bit(p + XEN_SHINFO_PENDING_OFF, 9) &&
		    p[0x1000 + XEN_VI_UPCALL_PENDING_OFF])
			break;
	TEST_ASSERT(xk_test_bit(p + XEN_SHINFO_PENDING_OFF, 9) &&
		    p[0x1000 + XEN_VI_UPCALL_PENDING_OFF],
		    "warm-up event not in the guest pages after 10 s");
	clear_guest_pages(r);
}

static bool page_is(const uint8_t *p, uint8_t v)
{
	size_t i;

	for (i = 0; i < (size_t)getpagesize(); i++)
		if (p[i] != v)
			return false;
	return true;
}

/*
 * Balloon out page @which (0: shared_info, 1: vcpu_info) and catch its
 * physical page in a fresh mapping. Returns the caught page or NULL.
 */
static uint8_t *balloon_and_catch(struct reuse_vm *r, unsigned int which,
				  uint8_t **cand)
{
	size_t pg = getpagesize();
	uint8_t *target = r->hva + which * pg;
	uint64_t old = pfn_of(target);
	unsigned int i;

	*cand = mmap(NULL, NCAND * pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(*cand != MAP_FAILED, "mmap");
	madvise(*cand, NCAND * pg, MADV_NOHUGEPAGE);
	/*
	 * Page tables first, so that they do not take the freed page; and
	 * enough fresh pages to push the target out of this CPU's LRU batch,
	 * whose reference would otherwise keep it from being freed at once.
	 */
	for (i = 0; i < NCAND; i += 512)
		(*cand)[i * pg] = 1;
	for (i = 0; i < NPREFAULT; i++)
		(*cand)[i * pg] = 1;
	if (!old)
		return NULL;
	TEST_ASSERT(!madvise(target, pg, MADV_DONTNEED), "MADV_DONTNEED");
	for (i = NPREFAULT; i < NCAND; i++)
		(*cand)[i * pg] = 1;	/* fault in: takes the hottest free page */
	for (i = NPREFAULT; i < NCAND; i++) {
		if (pfn_of(*cand + i * pg) == old) {
			memset(*cand + i * pg, PATTERN, pg);
			return *cand + i * pg;
		}
	}
	return NULL;
}

static void test_balloon_reuse(void)
{
	unsigned int which, round, caught[2] = {}, clean[2] = {},
		     delivered[2] = {}, rounds[2] = {};
	const char *names[2] = { "shared_info", "vcpu_info" };
	struct xenkvm_stats s0, s1;
	struct reuse_vm r;

	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	reuse_setup(&r, VM_MEM_SRC_ANONYMOUS);
	pin_cpu(0);
	xk_get_stats(r.xfd, &s0);
	for (which = 0; which < 2; which++) {
		/*
		 * The freed page is not always the next one handed out here
		 * (another CPU list or migratetype may take it): keep going
		 * until it was caught a few times, within a bound.
		 */
		for (round = 0; round < MAX_ROUNDS &&
		     (round < MIN_ROUNDS || caught[which] < WANT_CAUGHT); round++) {
			rounds[which]++;
			uint8_t *cand, *old;

			warm_up(&r);

			old = balloon_and_catch(&r, which, &cand);
			fire_all(&r);
			if (all_pending(&r, 10000))
				delivered[which]++;
			if (old) {
				caught[which]++;
				/* Let the worker and the timer finish first. */
				usleep(20000);
				clean[which] += page_is(old, PATTERN);
			}
			if (cand)
				munmap(cand, NCAND * getpagesize());
		}
	}
	xk_get_stats(r.xfd, &s1);
	pin_cpu(-1);
	for (which = 0; which < 2; which++) {
		ksft_test_result(delivered[which] == rounds[which],
				 "balloon %s: events from irqfd, ioctl and timer reach the new page (%u/%u rounds)\n",
				 names[which], delivered[which], rounds[which]);
		if (pfn_of(r.hva) == 0)
			ksft_test_result_skip("balloon %s: no PFNs in pagemap (needs CAP_SYS_ADMIN)\n",
					      names[which]);
		else
			ksft_test_result(caught[which] > 0 && clean[which] == caught[which],
					 "balloon %s: old physical page caught in a new mapping %u/%u rounds, untouched in %u\n",
					 names[which], caught[which], rounds[which], clean[which]);
	}
	ksft_test_result(s1.cache_invalidations > s0.cache_invalidations &&
			 s1.delivered_deferred > s0.delivered_deferred,
			 "balloon: caches invalidated %llu times, %llu events deferred to the worker\n",
			 (unsigned long long)(s1.cache_invalidations - s0.cache_invalidations),
			 (unsigned long long)(s1.delivered_deferred - s0.delivered_deferred));
	reuse_teardown(&r);
}

static int set_region(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
		      uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region m = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &m);
}

static void test_slot_replaced(void)
{
	size_t len = R_PAGES * getpagesize();
	uint8_t *fresh, *before;
	struct reuse_vm r;
	bool landed, untouched;

	reuse_setup(&r, VM_MEM_SRC_ANONYMOUS);
	warm_up(&r);
	before = malloc(len);
	memcpy(before, r.hva, len);

	fresh = mmap(NULL, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(fresh != MAP_FAILED, "mmap");
	TEST_ASSERT(!set_region(r.vm, R_SLOT, R_GPA, 0, NULL), "delete slot");
	TEST_ASSERT(!set_region(r.vm, R_SLOT, R_GPA, len, fresh), "new slot");
	/* No MMU-notifier event happened: only the memslot generation moved. */
	fire_all(&r);
	landed = false;
	{
		uint64_t t0 = xk_now_ms();

		while (!landed && xk_now_ms() - t0 < 10000) {
			landed = xk_test_bit(fresh + XEN_SHINFO_PENDING_OFF, R_PORT_IRQFD) &&
				 xk_test_bit(fresh + XEN_SHINFO_PENDING_OFF, R_PORT_SEND) &&
				 xk_test_bit(fresh + XEN_SHINFO_PENDING_OFF, R_PORT_TIMER) &&
				 fresh[0x1000];
			usleep(1000);
		}
	}
	usleep(20000);
	untouched = !memcmp(before, r.hva, len);
	ksft_test_result(landed,
			 "slot replaced: irqfd, ioctl and timer events land in the new memory\n");
	ksft_test_result(untouched,
			 "slot replaced: the old memory (still mapped) is never written\n");
	/* Give the framework its own region back for kvm_vm_free(). */
	TEST_ASSERT(!set_region(r.vm, R_SLOT, R_GPA, 0, NULL), "delete slot");
	TEST_ASSERT(!set_region(r.vm, R_SLOT, R_GPA, len, r.hva), "old slot");
	munmap(fresh, len);
	free(before);
	reuse_teardown(&r);
}

#define FLOOD_PORT	40
#define FLOOD_OTHER	41
#define FLOOD_EVENTS	10000	/* more than the FIFO's 8192 entries */

static void test_stuck_flood(void)
{
	struct reuse_vm r;
	const char *env = getenv("XK_FLOOD_US");
	unsigned int i, sent = 0, flood_us = env ? atoi(env) : 200;
	bool both = false;
	uint64_t t0;

	reuse_setup(&r, VM_MEM_SRC_ANONYMOUS);
	warm_up(&r);
	TEST_ASSERT(!mprotect(r.hva, getpagesize(), PROT_READ), "mprotect ro");
	for (i = 0; i < FLOOD_EVENTS; i++) {
		/*
		 * Queued for the worker, which fails and retries each time:
		 * give it time to run between two events.
		 */
		sent += xk_send(r.xfd, FLOOD_PORT, 0) == 0;
		usleep(flood_us);
	}
	sent += xk_send(r.xfd, FLOOD_OTHER, 0) == 0;
	TEST_ASSERT(!mprotect(r.hva, getpagesize(), PROT_READ | PROT_WRITE),
		    "mprotect rw");
	t0 = xk_now_ms();
	while (!both && xk_now_ms() - t0 < 15000) {
		both = xk_test_bit(r.hva + XEN_SHINFO_PENDING_OFF, FLOOD_PORT) &&
		       xk_test_bit(r.hva + XEN_SHINFO_PENDING_OFF, FLOOD_OTHER);
		usleep(1000);
	}
	ksft_test_result(sent == FLOOD_EVENTS + 1 && both,
			 "stuck shared_info: %u events on one port merge; the next port is still delivered\n",
			 FLOOD_EVENTS);
	reuse_teardown(&r);
}

/* ------------------------------------------------------------------ */
/* 3: churn under a running guest                                       */

#define NPORTS		6
#define DEFAULT_ROUNDS	250	/* per sender; XK_CHURN_ROUNDS (the debug kernel's robust/30) */
#define MAX_ROUNDS_ENV	100000
#define WAIT_MS		60000
#define SEND_PORT	700

struct writer {
	struct xkh *h;
	int efd;		/* -1: XENKVM_EVTCHN_SEND */
	unsigned int port, vcpu, done;
};

static unsigned int churn_rounds = DEFAULT_ROUNDS;
static volatile int churn_stop;
static unsigned long n_pageout, n_swapped, n_migrated, n_dirtylog,
		     n_dontneed, n_mprotect, n_rounds;

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	uint64_t one = 1;

	for (w->done = 0; w->done < churn_rounds; w->done++) {
		if (w->efd >= 0) {
			if (write(w->efd, &one, 8) != 8)
				break;
		} else if (xk_send(w->h->xfd, w->port, w->vcpu)) {
			break;
		}
		if (!xkh_wait_count(w->h, w->port, w->done + 1, WAIT_MS))
			break;
	}
	return NULL;
}

static int nr_nodes(void)
{
	unsigned long mask[16] = {};
	int n = 0, i;

	if (get_mempolicy(NULL, mask, sizeof(mask) * 8, NULL, MPOL_F_MEMS_ALLOWED))
		return 1;
	for (i = 0; i < (int)sizeof(mask) * 8; i++)
		n += !!(mask[i / 64] >> (i % 64) & 1);
	return n ? n : 1;
}

static void *churn_thread(void *arg)
{
	struct xkh *h = arg;
	size_t pg = getpagesize(), len = 2 * pg;
	uint8_t *pages = h->shinfo;	/* shared_info, then vcpu_info */
	int nodes = nr_nodes(), soft_ok = 1;
	unsigned char vec[2];
	unsigned int i = 0;

	while (!churn_stop) {
		switch (i++ % 5) {
		case 0:
			if (!madvise(pages, len, MADV_PAGEOUT)) {
				n_pageout++;
				if (!mincore(pages, len, vec) && !(vec[0] & 1))
					n_swapped++;
			}
			break;
		case 1:
			if (nodes > 1) {
				void *pv[2] = { pages, pages + pg };
				int to[2], st[2];

				to[0] = to[1] = n_migrated % nodes;
				if (!syscall(__NR_move_pages, 0, 2, pv, to, st, 0) &&
				    st[0] >= 0)
					n_migrated++;
			} else if (soft_ok && n_migrated < 60) {
				/*
				 * Migrates the page and retires the old one
				 * (a few hundred pages at most).
				 */
				if (!madvise(pages + (n_migrated & 1) * pg, pg,
					     MADV_SOFT_OFFLINE))
					n_migrated++;
				else if (errno == EINVAL || errno == EPERM)
					soft_ok = 0;	/* no memory-failure */
			}
			break;
		case 2:
			vm_mem_region_set_flags(h->vm, XKG_SLOT,
						(n_dirtylog & 1) ? 0 : KVM_MEM_LOG_DIRTY_PAGES);
			n_dirtylog++;
			break;
		case 3:
			TEST_ASSERT(!madvise(pages, XKG_PAGES * pg, MADV_DONTNEED),
				    "MADV_DONTNEED");
			n_dontneed++;
			break;
		default:
			TEST_ASSERT(!mprotect(pages, len, PROT_READ), "mprotect ro");
			usleep(50);
			TEST_ASSERT(!mprotect(pages, len, PROT_READ | PROT_WRITE),
				    "mprotect rw");
			n_mprotect++;
			n_rounds++;
			break;
		}
		usleep(200);
	}
	vm_mem_region_set_flags(h->vm, XKG_SLOT, 0);
	return NULL;
}

static bool swap_active(void)
{
	char line[256];
	FILE *f = fopen("/proc/swaps", "r");
	int n = 0;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n > 1;
}

/*
 * For a port the guest counted short: is the event still pending in the
 * guest's page (a notification went missing: selector, upcall_pending or
 * the vector) or not there at all (written elsewhere, or consumed
 * without being counted)?
 */
static void report_short_port(struct xkh *h, const struct writer *w)
{
	const volatile uint8_t *vi = h->hdr->use_vinfo[w->vcpu] ?
		h->vinfo + 64 * w->vcpu : h->shinfo + 64 * w->vcpu;
	unsigned int word = w->port / 64;

	ksft_print_msg("port %u (vCPU %u, %s): guest counted %u of %u; pending %d, masked %d; vCPU's selector bit %d, upcall_pending %u, upcalls %lu, events %lu\n",
		       w->port, w->vcpu, w->efd >= 0 ? "irqfd" : "ioctl",
		       h->count[w->port], churn_rounds,
		       xk_test_bit(h->shinfo + XEN_SHINFO_PENDING_OFF, w->port),
		       xk_test_bit(h->shinfo + XEN_SHINFO_MASK_OFF_64, w->port),
		       (int)(*(const volatile uint64_t *)(vi + XEN_VI_PENDING_SEL_OFF_64) >> word & 1),
		       vi[XEN_VI_UPCALL_PENDING_OFF], (unsigned long)h->hdr->upcalls[w->vcpu],
		       (unsigned long)h->hdr->events[w->vcpu]);
}

static void report_stats(const struct xenkvm_stats *a, const struct xenkvm_stats *b)
{
	ksft_print_msg("module: %llu deliveries (%llu atomic, %llu deferred), %llu already pending, %llu masked, %llu upcalls injected\n",
		       (unsigned long long)(b->deliveries - a->deliveries),
		       (unsigned long long)(b->delivered_atomic - a->delivered_atomic),
		       (unsigned long long)(b->delivered_deferred - a->delivered_deferred),
		       (unsigned long long)(b->already_pending - a->already_pending),
		       (unsigned long long)(b->masked - a->masked),
		       (unsigned long long)(b->upcalls - a->upcalls));
}

static void test_running_churn(void)
{
	struct xenkvm_irq_routing *rt;
	struct xenkvm_stats before, after;
	struct writer w[NPORTS + 1];
	pthread_t t[NPORTS + 1], churn;
	unsigned int i, finished = 0, exact = 0, settled = 0;
	uint64_t total = 0;
	struct xkh h;

	xkh_create(&h, 2, 1, 0x2);
	rt = calloc(1, sizeof(*rt) + NPORTS * sizeof(rt->entries[0]));
	TEST_ASSERT(rt, "calloc");
	for (i = 0; i <= NPORTS; i++) {
		w[i].h = &h;
		w[i].vcpu = i % 2;
		w[i].port = i < NPORTS ? 10 + i * 131 : SEND_PORT;
		w[i].efd = i < NPORTS ? eventfd(0, EFD_CLOEXEC) : -1;
		xkh_bind(&h, w[i].port, w[i].vcpu);
		if (i < NPORTS)
			xk_route_one(h.xfd, rt, i, w[i].port, w[i].vcpu);
	}
	TEST_ASSERT(xk_ioctl(h.xfd, XENKVM_SET_GSI_ROUTING, rt) == 0, "routing");
	for (i = 0; i < NPORTS; i++)
		TEST_ASSERT(xk_irqfd_assign(h.xfd, w[i].efd, i, 0) == 0, "irqfd");
	xkh_start(&h);
	xk_get_stats(h.xfd, &before);

	pthread_create(&churn, NULL, churn_thread, &h);
	for (i = 0; i <= NPORTS; i++)
		pthread_create(&t[i], NULL, writer_thread, &w[i]);
	for (i = 0; i <= NPORTS; i++) {
		pthread_join(t[i], NULL);
		finished += w[i].done == churn_rounds;
	}
	churn_stop = 1;
	pthread_join(churn, NULL);
	for (i = 0; i <= NPORTS; i++)
		exact += h.count[w[i].port] == churn_rounds;
	usleep(200 * 1000);
	for (i = 0; i <= NPORTS; i++) {
		settled += h.count[w[i].port] == churn_rounds;
		total += h.count[w[i].port];
	}
	xk_get_stats(h.xfd, &after);
	if (settled != NPORTS + 1) {
		for (i = 0; i <= NPORTS; i++)
			if (h.count[w[i].port] != churn_rounds)
				report_short_port(&h, &w[i]);
		report_stats(&before, &after);
	}

	ksft_print_msg("churn: %lu pageouts (%lu left memory; swap %s), %lu migrations (%d node(s)), %lu dirty-log flips, %lu DONTNEED, %lu mprotect\n",
		       n_pageout, n_swapped, swap_active() ? "on" : "off",
		       n_migrated, nr_nodes(), n_dirtylog, n_dontneed, n_mprotect);
	ksft_test_result(finished == NPORTS + 1,
			 "churn: no event lost (%u/%u senders saw all %u events)\n",
			 finished, NPORTS + 1, churn_rounds);
	ksft_test_result(exact == NPORTS + 1 && settled == NPORTS + 1 &&
			 after.deliveries - before.deliveries == total,
			 "churn: no event duplicated (%u/%u ports exact, %llu deliveries for %llu events)\n",
			 settled, NPORTS + 1,
			 (unsigned long long)(after.deliveries - before.deliveries),
			 (unsigned long long)total);
	ksft_test_result(n_pageout > 0 && n_dirtylog > 0 && n_dontneed > 0 &&
			 (!swap_active() || n_swapped > 0),
			 "churn: the invalidation sources ran (swap-out %s)\n",
			 swap_active() ? "checked with mincore" : "without swap");
	ksft_test_result(after.cache_invalidations > before.cache_invalidations &&
			 after.delivered_deferred > before.delivered_deferred,
			 "churn: %llu invalidations, %llu refreshes, %llu deferred\n",
			 (unsigned long long)(after.cache_invalidations - before.cache_invalidations),
			 (unsigned long long)(after.cache_refreshes - before.cache_refreshes),
			 (unsigned long long)(after.delivered_deferred - before.delivered_deferred));
	for (i = 0; i < NPORTS; i++)
		close(w[i].efd);
	free(rt);
	xkh_destroy(&h);
}

int main(void)
{
	const char *env = getenv("XK_CHURN_ROUNDS");

	if (env) {
		unsigned long n = strtoul(env, NULL, 0);

		TEST_ASSERT(n >= 1 && n <= MAX_ROUNDS_ENV,
			    "XK_CHURN_ROUNDS=%s: want 1..%u", env, MAX_ROUNDS_ENV);
		churn_rounds = n;
	}
	close(xk_open());
	ksft_print_header();
	ksft_set_plan(5 + 2 + 1 + 4);
	test_balloon_reuse();
	test_slot_replaced();
	test_stuck_flood();
	test_running_churn();
	ksft_finished();
}
