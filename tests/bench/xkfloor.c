// SPDX-License-Identifier: GPL-2.0
/*
 * xkfloor: the floors the bench table is read against, measured on this
 * L1's KVM in the same run as the Xen guests.
 *
 *   kvm_cpuid_exit      one CPUID exit that KVM answers itself
 *   kvm_hcall_exit      one vmmcall (vmcall on Intel) of KVM_HC_SCHED_YIELD
 *                       to a vCPU that does not exist: KVM's own hypercall
 *                       path, no userspace
 *   msi_irqfd_rtt       eventfd write -> KVM irqfd -> MSI -> the halted
 *                       guest's handler bumps a counter -> a host thread
 *                       spinning on that counter sees it
 *   xenkvm_irqfd_rtt    the same through xenkvm.ko's irqfd and event channel
 *                       routing (port pending in shared_info, upcall
 *                       vector), when /dev/xenkvm exists
 *
 *   xkfloor [N]         N exits per exit figure, N / 10 round trips
 *
 * Output as xkbench's: BENCH <figure> <value> <unit> runs=<n> spread=<x>%.
 * Batch figures: runs = batches, spread = (max - min) / median; latency
 * figures: runs = samples, spread = (p90 - p10) / median. A round trip
 * whose interrupt does not arrive within 1 s is counted in <figure>_lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "apic.h"

#include <linux/xenkvm.h>

#define BATCHES		10
#define VEC		0xe1
#define SHINFO_GPA	0xc0000000ULL
#define SHINFO_SLOT	10
#define KVM_HC_SCHED_YIELD_NR 11
#define LOST_MS		1000

/* Guest globals (the host reaches them with addr_gva2hva). */
static uint64_t g_per;
static uint64_t g_amd;
static uint64_t g_xen;			/* the handler reads shared_info */
static volatile uint64_t g_count;	/* interrupts handled */
static volatile uint64_t g_ready;
static volatile uint64_t g_stop;

static void guest_exits(void)
{
	uint32_t a, b, c, d;

	for (int k = 0; k < BATCHES; k++) {
		GUEST_SYNC(0);
		for (uint64_t i = 0; i < g_per; i++)
			cpuid(0, &a, &b, &c, &d);
	}
	for (int k = 0; k < BATCHES; k++) {
		GUEST_SYNC(1);
		for (uint64_t i = 0; i < g_per; i++) {
			uint64_t r;

			if (g_amd)
				asm volatile("vmmcall" : "=a"(r)
					     : "a"(KVM_HC_SCHED_YIELD_NR), "b"(0xfffffULL)
					     : "memory");
			else
				asm volatile("vmcall" : "=a"(r)
					     : "a"(KVM_HC_SCHED_YIELD_NR), "b"(0xfffffULL)
					     : "memory");
			(void)r;
		}
	}
	GUEST_DONE();
}

static void guest_irq_handler(struct ex_regs *regs)
{
	(void)regs;
	if (g_xen) {
		/*
		 * 64-bit shared_info, vCPU 0's vcpu_info at offset 0:
		 * upcall_pending (byte 0), pending_sel (8), pending[] at 2048.
		 */
		volatile uint8_t *sh = (volatile uint8_t *)SHINFO_GPA;
		uint64_t sel;

		while (sh[0]) {
			sh[0] = 0;
			sel = __atomic_exchange_n((volatile uint64_t *)(sh + 8), 0,
						  __ATOMIC_SEQ_CST);
			while (sel) {
				unsigned int w = __builtin_ctzll(sel);

				sel &= sel - 1;
				__atomic_exchange_n((volatile uint64_t *)(sh + 2048) + w, 0,
						    __ATOMIC_SEQ_CST);
			}
		}
	}
	g_count++;
	x2apic_write_reg(APIC_EOI, 0);
}

static void guest_irq(void)
{
	x2apic_enable();
	g_ready = 1;
	for (;;) {
		asm volatile("cli" ::: "memory");
		if (g_stop)
			break;
		asm volatile("sti; hlt; cli" ::: "memory");
	}
	asm volatile("sti" ::: "memory");
	GUEST_DONE();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)(p / 100.0 * (double)n);

	return v[i < n ? i : n - 1];
}

static void line(const char *fig, double v, const char *unit, size_t runs,
		 double lo, double hi, double mid)
{
	printf("BENCH %s %.3f %s runs=%zu spread=%.1f%%\n", fig, v, unit, runs,
	       mid > 0 ? (hi - lo) / mid * 100.0 : 0.0);
	fflush(stdout);
}

static void report_batches(const char *fig, double *ns, size_t n)
{
	qsort(ns, n, sizeof(*ns), cmp_double);
	line(fig, ns[n / 2], "ns/op", n, ns[0], ns[n - 1], ns[n / 2]);
}

static void report_latency(const char *fig, double *us, size_t n, long lost)
{
	char name[80];

	if (n) {
		qsort(us, n, sizeof(*us), cmp_double);
		snprintf(name, sizeof(name), "%s_median", fig);
		line(name, pct(us, n, 50), "us", n, pct(us, n, 10), pct(us, n, 90), pct(us, n, 50));
		snprintf(name, sizeof(name), "%s_p99", fig);
		line(name, pct(us, n, 99), "us", n, pct(us, n, 10), pct(us, n, 90), pct(us, n, 50));
	}
	snprintf(name, sizeof(name), "%s_lost", fig);
	line(name, (double)lost, "rounds", n + (size_t)lost, 0, 0, 0);
}

static void floor_exits(long n)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_exits);
	double cpuid_ns[BATCHES], hcall_ns[BATCHES];
	uint64_t per = n / BATCHES > 0 ? (uint64_t)(n / BATCHES) : 1, t = 0;
	int syncs = 0;
	struct ucall uc;

	g_per = per;
	g_amd = is_amd_cpu();
	sync_global_to_guest(vm, g_per);
	sync_global_to_guest(vm, g_amd);
	for (;;) {
		uint64_t now;

		vcpu_run(vcpu);
		now = now_ns();
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
		case UCALL_DONE:
			/* Sync k ends batch k - 1. */
			if (syncs >= 1 && syncs <= BATCHES)
				cpuid_ns[syncs - 1] = (double)(now - t) / (double)per;
			else if (syncs > BATCHES)
				hcall_ns[syncs - 1 - BATCHES] = (double)(now - t) / (double)per;
			syncs++;
			t = now_ns();
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		default:
			TEST_FAIL("unexpected exit %u", vcpu->run->exit_reason);
		}
		if (uc.cmd == UCALL_DONE)
			break;
	}
	TEST_ASSERT(syncs == 2 * BATCHES + 1, "guest ran %d batches", syncs - 1);
	report_batches("kvm_cpuid_exit", cpuid_ns, BATCHES);
	report_batches(g_amd ? "kvm_vmmcall_exit" : "kvm_vmcall_exit", hcall_ns, BATCHES);
	kvm_vm_free(vm);
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	for (;;) {
		int r = __vcpu_run(vcpu);

		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		TEST_ASSERT(!r, "KVM_RUN: %s", strerror(errno));
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			return NULL;
		default:
			TEST_FAIL("unexpected exit %u", vcpu->run->exit_reason);
		}
	}
}

/* Wire @efd to the guest: KVM's MSI routing, or xenkvm.ko's port routing. */
static void wire_msi(struct kvm_vm *vm, int efd)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[1];
	} rt = { .r = { .nr = 1 } };
	struct kvm_irqfd ifd = { .fd = (uint32_t)efd, .gsi = 24 };

	rt.e[0].gsi = 24;
	rt.e[0].type = KVM_IRQ_ROUTING_MSI;
	rt.e[0].u.msi.address_lo = 0xfee00000;	/* APIC ID 0, physical */
	rt.e[0].u.msi.data = VEC;		/* fixed, edge */
	vm_ioctl(vm, KVM_SET_GSI_ROUTING, &rt.r);
	vm_ioctl(vm, KVM_IRQFD, &ifd);
}

static int xk(int fd, unsigned long req, void *arg, const char *what)
{
	if (ioctl(fd, req, arg)) {
		fprintf(stderr, "xkfloor: %s: %s\n", what, strerror(errno));
		return -1;
	}
	return 0;
}

static int wire_xenkvm(struct kvm_vm *vm, int efd)
{
	struct xenkvm_attach at = { .vm_fd = vm->fd };
	struct xenkvm_attr lm = { .type = XENKVM_ATTR_LONG_MODE, .u.long_mode = 1 };
	struct xenkvm_attr si = { .type = XENKVM_ATTR_SHARED_INFO };
	struct xenkvm_vcpu_attr id = { .vcpu = 0, .type = XENKVM_VCPU_ATTR_VCPU_ID };
	struct xenkvm_vcpu_attr vi = { .vcpu = 0, .type = XENKVM_VCPU_ATTR_VCPU_INFO };
	struct xenkvm_vcpu_attr uv = { .vcpu = 0, .type = XENKVM_VCPU_ATTR_UPCALL_VECTOR };
	struct {
		struct xenkvm_irq_routing r;
		struct xenkvm_irq_routing_entry e[1];
	} rt = { .r = { .nr = 1 } };
	struct xenkvm_irqfd ifd = { .fd = efd, .gsi = 0 };
	int fd = open("/dev/xenkvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	si.u.shared_info.gfn = SHINFO_GPA >> 12;
	id.u.vcpu_id = 0;
	vi.u.gpa = XENKVM_INVALID_GPA;	/* vcpu_info in shared_info */
	uv.u.vector = VEC;
	rt.e[0].gsi = 0;
	rt.e[0].type = XENKVM_IRQ_ROUTING_XEN_EVTCHN;
	rt.e[0].u.xen_evtchn.port = 5;
	rt.e[0].u.xen_evtchn.vcpu = 0;
	rt.e[0].u.xen_evtchn.priority = XENKVM_EVTCHN_PRIORITY_2LEVEL;
	if (xk(fd, XENKVM_ATTACH, &at, "XENKVM_ATTACH") ||
	    xk(fd, XENKVM_SET_ATTR, &lm, "long mode") ||
	    xk(fd, XENKVM_SET_ATTR, &si, "shared_info") ||
	    xk(fd, XENKVM_VCPU_SET_ATTR, &id, "vcpu id") ||
	    xk(fd, XENKVM_VCPU_SET_ATTR, &vi, "vcpu_info") ||
	    xk(fd, XENKVM_VCPU_SET_ATTR, &uv, "upcall vector") ||
	    xk(fd, XENKVM_SET_GSI_ROUTING, &rt.r, "routing") ||
	    xk(fd, XENKVM_IRQFD, &ifd, "irqfd")) {
		close(fd);
		return -2;
	}
	return fd;
}

/* Round trips eventfd -> guest handler -> host spinner; 0, or -1 if unwired. */
static int floor_irqfd(const char *fig, long n, int xen)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_irq);
	volatile uint64_t *count, *ready, *stop;
	int efd = eventfd(0, EFD_CLOEXEC), xfd = -1;
	double *us = calloc((size_t)n, sizeof(*us));
	uint64_t one = 1, t0;
	size_t timed = 0;
	long lost = 0;
	pthread_t th;

	TEST_ASSERT(efd >= 0 && us, "eventfd/calloc");
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(vm, VEC, guest_irq_handler);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, SHINFO_GPA, SHINFO_SLOT, 1, 0);
	virt_map(vm, SHINFO_GPA, SHINFO_GPA, 1);
	memset(addr_gpa2hva(vm, SHINFO_GPA), 0, 4096);
	g_xen = xen;
	sync_global_to_guest(vm, g_xen);
	if (xen) {
		xfd = wire_xenkvm(vm, efd);
		if (xfd < 0) {
			if (xfd == -1)
				fprintf(stderr, "xkfloor: no /dev/xenkvm: %s not measured\n", fig);
			kvm_vm_free(vm);
			free(us);
			close(efd);
			return -1;
		}
	} else {
		wire_msi(vm, efd);
	}
	count = addr_gva2hva(vm, (vm_vaddr_t)&g_count);
	ready = addr_gva2hva(vm, (vm_vaddr_t)&g_ready);
	stop = addr_gva2hva(vm, (vm_vaddr_t)&g_stop);
	*count = 0;
	*ready = 0;
	*stop = 0;
	pthread_create(&th, NULL, vcpu_thread, vcpu);
	t0 = now_ns();
	while (!*ready) {
		TEST_ASSERT(now_ns() - t0 < 30000000000ULL, "guest never ready");
		usleep(1000);
	}
	usleep(10000);		/* let the vCPU reach hlt */
	for (long i = 0; i < n; i++) {
		uint64_t want = *count + 1, start = now_ns(), waited;

		TEST_ASSERT(write(efd, &one, sizeof(one)) == sizeof(one), "eventfd write");
		while (*count < want && (waited = now_ns() - start) < LOST_MS * 1000000ULL)
			__builtin_ia32_pause();
		if (*count < want) {
			lost++;
			fprintf(stderr, "xkfloor: %s: round %ld: no interrupt in %d ms\n",
				fig, i, LOST_MS);
			if (lost > 10)
				break;
			continue;
		}
		us[timed++] = (double)(now_ns() - start) / 1000.0;
	}
	*stop = 1;
	for (int tries = 0; tries < 100; tries++) {
		struct timespec ts;

		if (write(efd, &one, sizeof(one)) != sizeof(one))
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50000000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (!pthread_timedjoin_np(th, NULL, &ts))
			break;
	}
	report_latency(fig, us, timed, lost);
	if (xfd >= 0)
		close(xfd);
	kvm_vm_free(vm);
	close(efd);
	free(us);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;

	if (n < BATCHES) {
		fprintf(stderr, "usage: xkfloor [N >= %d]\n", BATCHES);
		return 1;
	}
	fprintf(stderr, "xkfloor: %ld exits per figure in %d batches, %ld round trips\n",
		n, BATCHES, n / 10);
	floor_exits(n);
	floor_irqfd("msi_irqfd_rtt", n / 10, 0);
	floor_irqfd("xenkvm_irqfd_rtt", n / 10, 1);
	return 0;
}
