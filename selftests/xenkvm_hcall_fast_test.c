// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel fast paths, with two vCPUs of the delivery test guest
 * (xenkvm_guest.h): vCPU 1 idles with interrupts on and counts the events
 * bound to it; vCPU 0 makes hypercalls, stage by stage, run by the main
 * thread so that every exit it makes is seen here.
 *
 *  - EVTCHNOP_send on a DELIVER port raises the other port on vCPU 1,
 *    which takes the upcall; no exit to the VMM (stats);
 *  - EVTCHNOP_send on an EVENTFD port signals the eventfd;
 *  - an unregistered port, and a registered one with the send fast path
 *    off, exit to the VMM;
 *  - SCHEDOP_poll returns at once on a pending (masked) port - also when
 *    the port went pending before the module's shared_info cache was
 *    invalidated (a PV spinlock's kick comes only once) - returns 0 at its
 *    timeout and not before, and rejects bad counts, ports and pointers
 *    as Xen does;
 *  - VCPUOP_set_singleshot_timer fires and delivers the VIRQ_TIMER port
 *    (XENKVM_VCPU_ATTR_TIMER) to vCPU 0 while it polls on it; a past
 *    timeout with VCPU_SSHOTTMR_future is -ETIME; the timer attribute
 *    reads back what was written.
 */
#include "xenkvm_guest.h"
#include "xenkvm_hcall.h"

#include <sys/eventfd.h>

#define PORT_IPI_SEND	5
#define PORT_IPI_RAISE	6
#define PORT_EFD	7
#define PORT_TIMER	8
#define PORT_UNREG	9
#define PORT_PENDING	12
#define PORT_IDLE	13

#define ST_IPI		10
#define ST_EFD		11
#define ST_UNREG	12
#define ST_POLL_PEND	13
#define ST_POLL_TMO	14
#define ST_POLL_BAD	15
#define ST_TIMER	16
#define ST_TIMER_MISC	17
#define ST_SEND_OFF	18
#define ST_TIMER_FAR	19
#define ST_BLOCK	20
#define PORT_BLOCK	14
#define PORT_STALE	15
#define ST_POLL_STALE	21

#define PVCLOCK		(XKG_HDR + 0x800)	/* vCPU 0's kvmclock */

static uint64_t deadline;	/* Xen time, computed by the guest */
static uint32_t g_ports[2];
static struct xen_sched_poll g_poll;
static struct xen_singleshot g_sst;
static uint32_t g_send_port;
static uint64_t g_ret[8];

static uint64_t evtchn_send(uint32_t port)
{
	g_send_port = port;
	return xen_hcall2(XEN_HC_event_channel_op, XEN_EVTCHNOP_send,
			  (uint64_t)&g_send_port);
}

static uint64_t poll1(uint32_t port, uint64_t timeout)
{
	g_ports[0] = port;
	g_poll.ports = (uint64_t)g_ports;
	g_poll.nr_ports = 1;
	g_poll.timeout = timeout;
	return xen_hcall2(XEN_HC_sched_op, XEN_SCHEDOP_poll, (uint64_t)&g_poll);
}

static void vcpu0_code(void)
{
	x2apic_enable();
	guest_pvclock_enable(PVCLOCK);
	XKG_H->ready[0] = 1;

	g_ret[0] = evtchn_send(PORT_IPI_SEND);
	GUEST_SYNC(ST_IPI);

	g_ret[0] = evtchn_send(PORT_EFD);
	GUEST_SYNC(ST_EFD);

	g_ret[0] = evtchn_send(PORT_UNREG);
	GUEST_SYNC(ST_UNREG);

	g_ret[0] = poll1(PORT_PENDING, 0);
	GUEST_SYNC(ST_POLL_PEND);

	deadline = guest_pvclock_ns(PVCLOCK) + 50 * 1000 * 1000;
	g_ret[0] = poll1(PORT_IDLE, deadline);
	g_ret[1] = guest_pvclock_ns(PVCLOCK) - deadline;	/* >= 0 */
	GUEST_SYNC(ST_POLL_TMO);

	/* Pending before the host made shared_info's cache stale. */
	deadline = guest_pvclock_ns(PVCLOCK) + 3000ULL * 1000 * 1000;
	g_ret[0] = poll1(PORT_STALE, deadline);
	g_ret[1] = deadline - guest_pvclock_ns(PVCLOCK);	/* > 0: woke early */
	GUEST_SYNC(ST_POLL_STALE);

	g_poll.nr_ports = 129;
	g_ret[0] = xen_hcall2(XEN_HC_sched_op, XEN_SCHEDOP_poll,
			      (uint64_t)&g_poll);
	g_ports[0] = 5000;
	g_poll.nr_ports = 1;
	g_ret[1] = xen_hcall2(XEN_HC_sched_op, XEN_SCHEDOP_poll,
			      (uint64_t)&g_poll);
	g_ret[2] = xen_hcall2(XEN_HC_sched_op, XEN_SCHEDOP_poll, 1);
	g_poll.ports = 0x10;	/* unmapped */
	g_ret[3] = xen_hcall2(XEN_HC_sched_op, XEN_SCHEDOP_poll,
			      (uint64_t)&g_poll);
	g_ret[4] = xen_hcall2(XEN_HC_sched_op, XEN_SCHEDOP_yield, 0);
	GUEST_SYNC(ST_POLL_BAD);

	/* The timer port is bound to vCPU 0; interrupts are off here. */
	deadline = guest_pvclock_ns(PVCLOCK) + 30 * 1000 * 1000;
	g_sst.timeout_abs_ns = deadline;
	g_sst.flags = XEN_VCPU_SSHOTTMR_future;
	g_ret[0] = xen_hcall3(XEN_HC_vcpu_op, XEN_VCPUOP_set_singleshot_timer,
			      0, (uint64_t)&g_sst);
	g_ret[1] = poll1(PORT_TIMER, 0);
	g_ret[2] = guest_pvclock_ns(PVCLOCK) - deadline;	/* >= 0 */
	asm volatile("sti; nop; nop; cli" ::: "memory");	/* take the upcall */
	GUEST_SYNC(ST_TIMER);

	g_sst.timeout_abs_ns = 1;	/* long past */
	g_sst.flags = XEN_VCPU_SSHOTTMR_future;
	g_ret[0] = xen_hcall3(XEN_HC_vcpu_op, XEN_VCPUOP_set_singleshot_timer,
			      0, (uint64_t)&g_sst);
	g_sst.flags = 0x80;
	g_ret[1] = xen_hcall3(XEN_HC_vcpu_op, XEN_VCPUOP_set_singleshot_timer,
			      0, (uint64_t)&g_sst);
	g_ret[2] = xen_hcall3(XEN_HC_vcpu_op, XEN_VCPUOP_set_singleshot_timer,
			      0, 0x10);
	g_ret[3] = xen_hcall3(XEN_HC_vcpu_op, XEN_VCPUOP_stop_singleshot_timer,
			      0, 0);
	g_ret[4] = xen_hcall2(XEN_HC_set_timer_op, 0, 0);
	GUEST_SYNC(ST_TIMER_MISC);

	/* Centuries away: must neither fire nor wrap around. */
	g_ret[0] = xen_hcall2(XEN_HC_set_timer_op, 1ULL << 62, 0);
	GUEST_SYNC(ST_TIMER_FAR);

	g_ret[0] = evtchn_send(PORT_IPI_SEND);
	GUEST_SYNC(ST_SEND_OFF);

	/* Block with interrupts on; the host raises PORT_BLOCK later. */
	asm volatile("sti" ::: "memory");
	g_ret[0] = xen_hcall2(XEN_HC_sched_op, XEN_SCHEDOP_block, 0);
	asm volatile("cli" ::: "memory");
	GUEST_SYNC(ST_BLOCK);
	GUEST_DONE();
}

static void guest_code(void)
{
	x2apic_enable();
	if (x2apic_read_reg(APIC_ID) == 0)
		vcpu0_code();
	else
		xkg_main();
}

struct h0 {
	struct xkh h;
	struct kvm_run *run;
	int exits_to_user;
	uint64_t last_hcall;
};

/* Run vCPU 0 to the next GUEST_SYNC; answer hypercall exits with 0. */
static uint64_t run0(struct h0 *t)
{
	struct kvm_vcpu *vcpu = t->h.vcpu[0];
	struct ucall uc;

	for (;;) {
		TEST_ASSERT(xk_run(vcpu) == 0, "KVM_RUN: %s", strerror(errno));
		if (t->run->exit_reason == KVM_EXIT_XEN) {
			t->exits_to_user++;
			t->last_hcall = t->run->xen.u.hcall.input;
			t->run->s.regs.regs.rax = 0;
			t->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			return uc.args[1];
		case UCALL_DONE:
			return 0;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			return 0;
		default:
			TEST_FAIL("vCPU 0: exit %s",
				  exit_reason_str(t->run->exit_reason));
		}
	}
}

static int g_xfd;

/* Raise PORT_BLOCK on vCPU 0 once it has had time to block. */
static void *block_waker(void *arg)
{
	usleep(200 * 1000);
	xk_send(g_xfd, PORT_BLOCK, 0);
	return NULL;
}

static void *vcpu1_thread(void *arg)
{
	return xkh_vcpu_thread(arg);
}

static uint64_t g(struct xkh *h, int i)
{
	sync_global_from_guest(h->vm, g_ret);
	return g_ret[i];
}

int main(void)
{
	struct xenkvm_stats s0, s1;
	struct xenkvm_vcpu_attr ta;
	struct h0 t = { 0 };
	struct xkh *h = &t.h;
	uint64_t st, v, before;
	unsigned int i;
	int efd, fd, ok;
	void *shpage;

	fd = xk_open();
	close(fd);
	ksft_print_header();
	ksft_set_plan(26);

	/* The delivery harness, with our guest instead of xkg_main. */
	h->nr_vcpus = 2;
	h->long_mode = 1;
	h->vm = vm_create_with_vcpus(2, guest_code, h->vcpu);
	vm_userspace_mem_region_add(h->vm, VM_MEM_SRC_SHMEM, XKG_BASE, XKG_SLOT,
				    XKG_PAGES, 0);
	virt_map(h->vm, XKG_BASE, XKG_BASE, XKG_PAGES);
	vm_init_descriptor_tables(h->vm);
	for (i = 0; i < 2; i++)
		vcpu_init_descriptor_tables(h->vcpu[i]);
	vm_install_exception_handler(h->vm, XKG_VECTOR, xkg_upcall);
	xk_hcall_guest_setup(h->vm);
	h->shinfo = addr_gpa2hva(h->vm, XKG_SHINFO);
	h->hdr = addr_gpa2hva(h->vm, XKG_HDR);
	h->count = addr_gpa2hva(h->vm, XKG_COUNT);
	h->target = addr_gpa2hva(h->vm, XKG_TARGET);
	memset((void *)h->target, 0xff, 4096);
	h->hdr->long_mode = 1;

	h->xfd = xk_attach_intercept(h->vm);
	TEST_ASSERT(xk_set_long_mode(h->xfd, 1) == 0, "long mode");
	TEST_ASSERT(xk_set_shinfo(h->xfd, XKG_SHINFO >> 12) == 0, "shared_info");
	for (i = 0; i < 2; i++) {
		TEST_ASSERT(xk_vcpu_set(h->xfd, i, XENKVM_VCPU_ATTR_VCPU_ID, i) == 0, "id");
		TEST_ASSERT(xk_vcpu_set(h->xfd, i, XENKVM_VCPU_ATTR_VCPU_INFO,
					XENKVM_INVALID_GPA) == 0, "vcpu_info");
		TEST_ASSERT(xk_vcpu_set(h->xfd, i, XENKVM_VCPU_ATTR_UPCALL_VECTOR,
					XKG_VECTOR) == 0, "vector");
	}
	xkh_bind(h, PORT_IPI_RAISE, 1);
	xkh_bind(h, PORT_TIMER, 0);
	xkh_bind(h, PORT_BLOCK, 0);
	xkh_bind(h, XKG_STOP_PORT, 1);
	XK_EXPECT(xk_evtchn_deliver(h->xfd, PORT_IPI_SEND, PORT_IPI_RAISE, 1), 0,
		  "EVTCHN: DELIVER port registered");
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	TEST_ASSERT(efd >= 0, "eventfd");
	XK_EXPECT(xk_evtchn_eventfd(h->xfd, PORT_EFD, efd), 0,
		  "EVTCHN: EVENTFD port registered");
	XK_EXPECT(xk_evtchn_deliver(h->xfd, 0, 1, 0), -EINVAL,
		  "EVTCHN: port 0 refused");
	XK_EXPECT(xk_vcpu_timer(h->xfd, 0, PORT_TIMER, 0), 0,
		  "VCPU_ATTR_TIMER: VIRQ_TIMER port set");

	t.run = h->vcpu[0]->run;
	t.run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	pthread_create(&h->thread[1], NULL, vcpu1_thread, h->vcpu[1]);
	while (!h->hdr->ready[1])
		usleep(1000);

	/* IPI: vCPU 0 sends, vCPU 1 takes the upcall, nobody exits. */
	xk_get_stats(h->xfd, &s0);
	st = run0(&t);
	TEST_ASSERT(st == ST_IPI, "stage %lu", st);
	ok = xkh_wait_count(h, PORT_IPI_RAISE, 1, 20000);
	xk_get_stats(h->xfd, &s1);
	ksft_test_result(ok && g(h, 0) == 0 && h->count[PORT_IPI_RAISE] == 1,
			 "send on DELIVER port: vCPU 1 counted port %d once (ret %ld)\n",
			 PORT_IPI_RAISE, (long)g(h, 0));
	ksft_test_result(t.exits_to_user == 0 &&
			 s1.hcalls_in_kernel - s0.hcalls_in_kernel == 1 &&
			 s1.hcalls_to_user == s0.hcalls_to_user,
			 "send answered in-kernel: in_kernel +%llu, to_user +%llu, exits %d\n",
			 (unsigned long long)(s1.hcalls_in_kernel - s0.hcalls_in_kernel),
			 (unsigned long long)(s1.hcalls_to_user - s0.hcalls_to_user),
			 t.exits_to_user);

	st = run0(&t);
	TEST_ASSERT(st == ST_EFD, "stage %lu", st);
	v = 0;
	ok = read(efd, &v, sizeof(v)) == sizeof(v);
	ksft_test_result(ok && v == 1 && g(h, 0) == 0 && t.exits_to_user == 0,
			 "send on EVENTFD port: eventfd read %lu, no exit\n", v);

	st = run0(&t);
	TEST_ASSERT(st == ST_UNREG, "stage %lu", st);
	ksft_test_result(t.exits_to_user == 1 &&
			 t.last_hcall == XEN_HC_event_channel_op,
			 "send on an unregistered port exits to the VMM\n");

	/* A masked pending port: poll returns at once. */
	xkh_shinfo_bit(h, XEN_SHINFO_MASK_OFF_64, PORT_PENDING, 1);
	TEST_ASSERT(xk_send(h->xfd, PORT_PENDING, 0) == 0, "send ioctl");
	xk_get_stats(h->xfd, &s0);
	st = run0(&t);
	TEST_ASSERT(st == ST_POLL_PEND, "stage %lu", st);
	xk_get_stats(h->xfd, &s1);
	ksft_test_result(g(h, 0) == 0 && s1.polls - s0.polls == 1 &&
			 t.exits_to_user == 1,
			 "poll on a pending port returns 0 in-kernel\n");

	/* An idle port with a timeout 50 ms of guest time away. */
	st = run0(&t);
	TEST_ASSERT(st == ST_POLL_TMO, "stage %lu", st);
	ksft_test_result(g(h, 0) == 0 && (int64_t)g(h, 1) >= 0 &&
			 t.exits_to_user == 1,
			 "poll with a timeout returns 0, not before it in guest time (%+ld ns)\n",
			 (long)g(h, 1));

	/*
	 * A masked port made pending, then an mprotect round trip of the
	 * shared_info page: the MMU notifier invalidates the module's cache.
	 * The poll must still see the port (refreshing the cache), not sleep
	 * to its 3 s timeout as if nothing were pending. vCPU 0's vcpu_info
	 * moves out of shared_info for this stage, as Linux guests place it:
	 * otherwise the time update at the hypercall's entry refreshes the
	 * shared_info cache first and hides what the poll itself does.
	 */
	TEST_ASSERT(xk_vcpu_set(h->xfd, 0, XENKVM_VCPU_ATTR_VCPU_INFO, XKG_VINFO) == 0,
		    "vcpu_info of vCPU 0 at XKG_VINFO");
	xkh_shinfo_bit(h, XEN_SHINFO_MASK_OFF_64, PORT_STALE, 1);
	TEST_ASSERT(xk_send(h->xfd, PORT_STALE, 0) == 0, "send ioctl");
	shpage = (void *)((uintptr_t)h->shinfo & ~((uintptr_t)getpagesize() - 1));
	TEST_ASSERT(!mprotect(shpage, getpagesize(), PROT_READ) &&
		    !mprotect(shpage, getpagesize(), PROT_READ | PROT_WRITE),
		    "mprotect shared_info: %s", strerror(errno));
	xk_get_stats(h->xfd, &s0);
	st = run0(&t);
	TEST_ASSERT(st == ST_POLL_STALE, "stage %lu", st);
	xk_get_stats(h->xfd, &s1);
	ksft_test_result(g(h, 0) == 0 && (int64_t)g(h, 1) > 0 &&
			 s1.polls - s0.polls == 1 &&
			 s1.cache_refreshes > s0.cache_refreshes &&
			 t.exits_to_user == 1,
			 "poll on a port pending before shared_info's cache went stale returns at once (%+ld ns before its timeout, %llu refreshes)\n",
			 (long)g(h, 1),
			 (unsigned long long)(s1.cache_refreshes - s0.cache_refreshes));
	TEST_ASSERT(xk_vcpu_set(h->xfd, 0, XENKVM_VCPU_ATTR_VCPU_INFO,
				XENKVM_INVALID_GPA) == 0, "vcpu_info of vCPU 0 back in shared_info");

	st = run0(&t);
	TEST_ASSERT(st == ST_POLL_BAD, "stage %lu", st);
	ksft_test_result(g(h, 0) == (uint64_t)-XEN_EINVAL,
			 "poll nr_ports 129: %ld (want -EINVAL)\n", (long)g(h, 0));
	ksft_test_result(g(h, 1) == (uint64_t)-XEN_EINVAL,
			 "poll port 5000: %ld (want -EINVAL)\n", (long)g(h, 1));
	ksft_test_result(g(h, 2) == (uint64_t)-XEN_EFAULT &&
			 g(h, 3) == (uint64_t)-XEN_EFAULT,
			 "poll bad pointers: %ld %ld (want -EFAULT)\n",
			 (long)g(h, 2), (long)g(h, 3));
	ksft_test_result(g(h, 4) == 0 && t.exits_to_user == 1,
			 "SCHEDOP_yield: 0 in-kernel\n");

	/* Timer: 30 ms ahead; vCPU 0 polls on its timer port. */
	before = h->count[PORT_TIMER];
	xk_get_stats(h->xfd, &s0);
	st = run0(&t);
	TEST_ASSERT(st == ST_TIMER, "stage %lu", st);
	xk_get_stats(h->xfd, &s1);
	ksft_test_result(g(h, 0) == 0 && g(h, 1) == 0 &&
			 s1.timer_fires - s0.timer_fires == 1 &&
			 h->count[PORT_TIMER] == before + 1 && (int64_t)g(h, 2) >= 0,
			 "singleshot timer fired once, not early (%+ld ns), VIRQ_TIMER port taken (fires +%llu, count %u)\n",
			 (long)g(h, 2),
			 (unsigned long long)(s1.timer_fires - s0.timer_fires),
			 h->count[PORT_TIMER]);
	ksft_test_result(t.exits_to_user == 1,
			 "timer and poll without a VMM exit\n");

	st = run0(&t);
	TEST_ASSERT(st == ST_TIMER_MISC, "stage %lu", st);
	ksft_test_result(g(h, 0) == (uint64_t)-XEN_ETIME,
			 "VCPU_SSHOTTMR_future in the past: %ld (want -ETIME)\n",
			 (long)g(h, 0));
	ksft_test_result(g(h, 1) == (uint64_t)-XEN_EINVAL &&
			 g(h, 2) == (uint64_t)-XEN_EFAULT,
			 "singleshot: unknown flag %ld, bad pointer %ld\n",
			 (long)g(h, 1), (long)g(h, 2));
	ksft_test_result(g(h, 3) == 0 && g(h, 4) == 0 && t.exits_to_user == 1,
			 "stop_singleshot_timer and set_timer_op(0): 0\n");

	xk_get_stats(h->xfd, &s0);
	st = run0(&t);
	TEST_ASSERT(st == ST_TIMER_FAR, "stage %lu", st);
	usleep(100 * 1000);
	xk_get_stats(h->xfd, &s1);
	memset(&ta, 0, sizeof(ta));
	ta.type = XENKVM_VCPU_ATTR_TIMER;
	TEST_ASSERT(xk_ioctl(h->xfd, XENKVM_VCPU_GET_ATTR, &ta) == 0, "get timer");
	ksft_test_result(g(h, 0) == 0 && s1.timer_fires == s0.timer_fires &&
			 ta.u.timer.expires_ns == 1ULL << 62,
			 "set_timer_op(2^62) stays armed, does not fire (fires +%llu)\n",
			 (unsigned long long)(s1.timer_fires - s0.timer_fires));

	/* The timer attribute round-trips (far future: never fires here). */
	v = xk_vm_clock_ns(h->vm) + 3600ULL * 1000 * 1000 * 1000;
	TEST_ASSERT(xk_vcpu_timer(h->xfd, 0, PORT_TIMER, v) == 0, "set timer");
	memset(&ta, 0, sizeof(ta));
	ta.vcpu = 0;
	ta.type = XENKVM_VCPU_ATTR_TIMER;
	TEST_ASSERT(xk_ioctl(h->xfd, XENKVM_VCPU_GET_ATTR, &ta) == 0, "get timer");
	ksft_test_result(ta.u.timer.port == PORT_TIMER && ta.u.timer.expires_ns == v,
			 "VCPU_ATTR_TIMER reads back port %u expires %llu\n",
			 ta.u.timer.port, (unsigned long long)ta.u.timer.expires_ns);
	TEST_ASSERT(xk_vcpu_timer(h->xfd, 0, PORT_TIMER, 0) == 0, "stop timer");

	/* The send fast path off: the same DELIVER port exits. */
	XK_EXPECT(xk_set_fast(h->xfd, XENKVM_FAST_ALL & ~XENKVM_FAST_EVTCHN_SEND),
		  0, "FAST_PATHS without EVTCHN_SEND");
	st = run0(&t);
	TEST_ASSERT(st == ST_SEND_OFF, "stage %lu", st);
	ksft_test_result(t.exits_to_user == 2 &&
			 t.last_hcall == XEN_HC_event_channel_op,
			 "send fast path off: exit to the VMM\n");
	XK_EXPECT(xk_set_fast(h->xfd, XENKVM_FAST_ALL), 0, "FAST_PATHS all");
	{
		pthread_t w;
		uint32_t c = h->count[PORT_BLOCK];

		g_xfd = h->xfd;
		xk_get_stats(h->xfd, &s0);
		pthread_create(&w, NULL, block_waker, NULL);
		st = run0(&t);
		pthread_join(w, NULL);
		TEST_ASSERT(st == ST_BLOCK, "stage %lu", st);
		xk_get_stats(h->xfd, &s1);
		ksft_test_result(g(h, 0) == 0 && h->count[PORT_BLOCK] == c + 1 &&
				 s1.hcalls_to_user == s0.hcalls_to_user,
				 "SCHEDOP_block: 0, woken by the upcall (count %u)\n",
				 h->count[PORT_BLOCK]);
	}
	TEST_ASSERT(run0(&t) == 0, "done");

	/* Stop vCPU 1 (the stop port is bound to it). */
	h->hdr->stop = 1;
	for (i = 0; i < 600; i++) {
		struct timespec ts;

		__atomic_fetch_and(&h->shinfo[2048], ~(1u << XKG_STOP_PORT),
				   __ATOMIC_SEQ_CST);
		xk_send(h->xfd, XKG_STOP_PORT, 1);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (!pthread_timedjoin_np(h->thread[1], NULL, &ts))
			break;
	}
	TEST_ASSERT(i < 600, "vCPU 1 does not stop");
	close(h->xfd);
	close(efd);
	kvm_vm_free(h->vm);
	ksft_finished();
}
