// SPDX-License-Identifier: GPL-2.0
/*
 * Cross-vCPU ping-pong entirely in-kernel, as Linux's PV spinlock kicks
 * do it: two vCPUs, each with a masked port it polls on (SCHEDOP_poll)
 * and a send port registered to raise the other's. vCPU 0 sends, then
 * polls; vCPU 1 polls, then answers. A masked port injects nothing, so
 * each wake-up must come from the send path's poll notification. Both
 * vCPUs also have runstate areas, so the load/put hooks run throughout.
 *
 * Checked: every round trip completes; no poll ran into its (1 s, guest
 * time) timeout with the port still clear, i.e. no wake-up was lost; no
 * hypercall left the kernel, and every one was counted in-kernel.
 */
#include "xenkvm_guest.h"
#include "xenkvm_hcall.h"

#define ROUNDS		2000
#define P0		40	/* polled by vCPU 0 */
#define P1		41	/* polled by vCPU 1 */
#define S0		50	/* vCPU 0 sends: raises P1 on vCPU 1 */
#define S1		51	/* vCPU 1 sends: raises P0 on vCPU 0 */
#define CLK(cpu)	(XKG_HDR + 0x800 + (cpu) * 64)
#define RS(cpu)		(XKG_HDR + 0xa00 + (cpu) * 64)

struct pp {
	uint64_t timeouts[2];
	uint64_t polls[2];
	uint64_t done[2];
	uint32_t port[2];
	uint32_t send[2];
	struct xen_sched_poll poll[2];
};

static struct pp *G = (struct pp *)(XKG_HDR + 0x100);

/* Atomically take @port's pending bit; true if it was set. */
static bool take(unsigned int port)
{
	uint8_t was;

	asm volatile("lock btrl %2, %0\n\tsetc %1"
		     : "+m"(*(volatile uint32_t *)(XKG_SHINFO + 2048 + (port / 32) * 4)),
		       "=q"(was)
		     : "Ir"(port % 32)
		     : "memory", "cc");
	return was;
}

static void wait_port(uint32_t cpu, uint32_t port)
{
	uint64_t deadline;

	while (!take(port)) {
		deadline = guest_pvclock_ns(CLK(cpu)) + 1000000000ULL;
		G->port[cpu] = port;
		G->poll[cpu].ports = (uint64_t)&G->port[cpu];
		G->poll[cpu].nr_ports = 1;
		G->poll[cpu].timeout = deadline;
		xen_hcall2(XEN_HC_sched_op, XEN_SCHEDOP_poll,
			   (uint64_t)&G->poll[cpu]);
		G->polls[cpu]++;
		if (guest_pvclock_ns(CLK(cpu)) >= deadline &&
		    !((*(volatile uint8_t *)(XKG_SHINFO + 2048 + port / 8) >>
		       (port % 8)) & 1))
			G->timeouts[cpu]++;
	}
}

static void send(uint32_t cpu, uint32_t port)
{
	G->send[cpu] = port;
	xen_hcall2(XEN_HC_event_channel_op, XEN_EVTCHNOP_send,
		   (uint64_t)&G->send[cpu]);
}

static void guest_code(void)
{
	uint32_t cpu;
	int k;

	x2apic_enable();
	cpu = (uint32_t)x2apic_read_reg(APIC_ID);
	GUEST_ASSERT(cpu < 2);
	guest_pvclock_enable(CLK(cpu));
	XKG_H->ready[cpu] = 1;
	for (k = 0; k < ROUNDS; k++) {
		if (cpu == 0) {
			send(0, S0);
			wait_port(0, P0);
		} else {
			wait_port(1, P1);
			send(1, S1);
		}
		G->done[cpu]++;
	}
	GUEST_DONE();
}

int main(void)
{
	struct xenkvm_stats st;
	struct xkh h;
	struct pp *g;
	unsigned int i;
	uint64_t t0;
	int fd;

	fd = xk_open();
	close(fd);
	ksft_print_header();
	ksft_set_plan(4);

	memset(&h, 0, sizeof(h));
	h.nr_vcpus = 2;
	h.long_mode = 1;
	h.vm = vm_create_with_vcpus(2, guest_code, h.vcpu);
	vm_userspace_mem_region_add(h.vm, VM_MEM_SRC_SHMEM, XKG_BASE, XKG_SLOT,
				    XKG_PAGES, 0);
	virt_map(h.vm, XKG_BASE, XKG_BASE, XKG_PAGES);
	xk_hcall_guest_setup(h.vm);
	h.shinfo = addr_gpa2hva(h.vm, XKG_SHINFO);
	h.hdr = addr_gpa2hva(h.vm, XKG_HDR);
	g = addr_gpa2hva(h.vm, XKG_HDR + 0x100);
	xkh_shinfo_bit(&h, XEN_SHINFO_MASK_OFF_64, P0, 1);
	xkh_shinfo_bit(&h, XEN_SHINFO_MASK_OFF_64, P1, 1);

	h.xfd = xk_attach_intercept(h.vm);
	TEST_ASSERT(xk_set_long_mode(h.xfd, 1) == 0, "long mode");
	TEST_ASSERT(xk_set_shinfo(h.xfd, XKG_SHINFO >> 12) == 0, "shared_info");
	for (i = 0; i < 2; i++) {
		TEST_ASSERT(xk_vcpu_set(h.xfd, i, XENKVM_VCPU_ATTR_VCPU_ID, i) == 0, "id");
		TEST_ASSERT(xk_vcpu_set(h.xfd, i, XENKVM_VCPU_ATTR_RUNSTATE_ADDR,
					RS(i)) == 0, "runstate");
	}
	TEST_ASSERT(xk_evtchn_deliver(h.xfd, S0, P1, 1) == 0, "S0");
	TEST_ASSERT(xk_evtchn_deliver(h.xfd, S1, P0, 0) == 0, "S1");

	/* xkh_vcpu_thread fails the test on any exit but a ucall. */
	for (i = 0; i < 2; i++)
		pthread_create(&h.thread[i], NULL, xkh_vcpu_thread, h.vcpu[i]);
	t0 = xk_now_ms();
	for (i = 0; i < 2; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 300;
		TEST_ASSERT(!pthread_timedjoin_np(h.thread[i], NULL, &ts),
			    "vCPU %u stuck after %lu ms: done %lu/%lu", i,
			    xk_now_ms() - t0, g->done[0], g->done[1]);
	}
	ksft_test_result(g->done[0] == ROUNDS && g->done[1] == ROUNDS,
			 "%d round trips between two vCPUs\n", ROUNDS);
	ksft_test_result(!g->timeouts[0] && !g->timeouts[1],
			 "no lost wake-up: polls %lu/%lu, timed out with the port clear %lu/%lu\n",
			 g->polls[0], g->polls[1], g->timeouts[0], g->timeouts[1]);
	TEST_ASSERT(xk_get_stats(h.xfd, &st) == 0, "stats");
	ksft_test_result(st.hcalls_to_user == 0,
			 "no exit to the VMM (to_user %llu)\n",
			 (unsigned long long)st.hcalls_to_user);
	ksft_test_result(st.hcalls_in_kernel == 2 * ROUNDS + g->polls[0] + g->polls[1],
			 "in-kernel count %llu = sends %d + polls %lu\n",
			 (unsigned long long)st.hcalls_in_kernel, 2 * ROUNDS,
			 g->polls[0] + g->polls[1]);
	close(h.xfd);
	kvm_vm_free(h.vm);
	ksft_finished();
}
