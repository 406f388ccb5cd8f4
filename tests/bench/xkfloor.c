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
 *   userspace_evtchn_rtt  the same event channel delivery done the way a
 *                       VMM without kernel help must: a host thread (the
 *                       VMM's event loop) reads the eventfd, sets the
 *                       2-level bits through its mapping of guest memory
 *                       and injects the upcall vector with KVM_SIGNAL_MSI
 *   kvmxen_evtchn_rtt   the same through the L1 kernel's own KVM_XEN
 *                       (KVM_IRQ_ROUTING_XEN_EVTCHN + KVM_IRQFD), when it
 *                       has KVM_XEN_HVM_CONFIG_EVTCHN_SEND
 *
 * Every round trip figure uses a fresh VM, the same guest and handler and
 * the same number of samples; the event channel ones raise port EVT_PORT
 * on vCPU 0 (vcpu_info in shared_info) and check that the handler found
 * exactly that port pending on every interrupt.
 *
 *   xkfloor [N]         N exits per exit figure, N / 10 round trips
 *
 * Output as xkbench's: BENCH <figure> <value> <unit> runs=<n> spread=<x>%.
 * Batch figures: runs = batches; latency figures: runs = samples; spread =
 * the 95% confidence interval of the value (quantile_spread() in
 * guest/tools/xkstat.h, shared with xkbench). A round trip whose
 * interrupt does not arrive within 1 s is counted in <figure>_lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
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

#include "xkstat.h"

#define BATCHES		20
#define VEC		0xe1
#define SHINFO_GPA	0xc0000000ULL
#define SHINFO_SLOT	10
#define KVM_HC_SCHED_YIELD_NR 11
#define LOST_MS		1000
#define EVT_PORT	5

/* The host's side of the round trip figures. */
enum rtt_path {
	RTT_MSI,		/* KVM irqfd, MSI routing */
	RTT_USERSPACE,		/* host thread sets the bits, KVM_SIGNAL_MSI */
	RTT_XENKVM,		/* xenkvm.ko's routing and irqfd */
	RTT_KVMXEN,		/* KVM_XEN's routing and KVM's irqfd */
};

/* 64-bit shared_info, vCPU 0's vcpu_info at offset 0. */
#define SH_UPCALL_PENDING	0
#define SH_PENDING_SEL		8
#define SH_PENDING		2048
#define SH_MASK			2560

/* Guest globals (the host reaches them with addr_gva2hva). */
static uint64_t g_per;
static uint64_t g_amd;
static uint64_t g_xen;			/* the handler reads shared_info */
static volatile uint64_t g_count;	/* interrupts handled */
static volatile uint64_t g_ready;
static volatile uint64_t g_stop;
static volatile uint64_t g_seen;	/* pending bits of word 0 found */
static volatile uint64_t g_seen_other;	/* pending bits in other words */
static volatile uint64_t g_port_hits;	/* interrupts that found EVT_PORT */

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
		/* Xen's 2-level scan: upcall_pending, then selector, then words. */
		volatile uint8_t *sh = (volatile uint8_t *)SHINFO_GPA;
		uint64_t sel, found = 0;

		while (sh[SH_UPCALL_PENDING]) {
			sh[SH_UPCALL_PENDING] = 0;
			sel = __atomic_exchange_n((volatile uint64_t *)(sh + SH_PENDING_SEL), 0,
						  __ATOMIC_SEQ_CST);
			while (sel) {
				unsigned int w = __builtin_ctzll(sel);
				uint64_t bits;

				sel &= sel - 1;
				bits = __atomic_exchange_n((volatile uint64_t *)(sh + SH_PENDING) + w,
							   0, __ATOMIC_SEQ_CST);
				if (w)
					g_seen_other |= bits;
				else
					found |= bits;
			}
		}
		g_seen |= found;
		if (found & (1ULL << EVT_PORT))
			g_port_hits++;
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

static void line(const char *fig, double v, const char *unit, size_t runs,
		 double spread)
{
	printf("BENCH %s %.3f %s runs=%zu spread=%.1f%%\n", fig, v, unit, runs,
	       spread);
	fflush(stdout);
}

static void report_batches(const char *fig, double *ns, size_t n)
{
	qsort(ns, n, sizeof(*ns), cmp_double);
	line(fig, pct(ns, n, 50), "ns/op", n, quantile_spread(ns, n, 0.5));
}

static void report_latency(const char *fig, double *us, size_t n, long lost)
{
	char name[80];

	if (n) {
		qsort(us, n, sizeof(*us), cmp_double);
		snprintf(name, sizeof(name), "%s_median", fig);
		line(name, pct(us, n, 50), "us", n, quantile_spread(us, n, 0.5));
		snprintf(name, sizeof(name), "%s_p99", fig);
		line(name, pct(us, n, 99), "us", n, quantile_spread(us, n, 0.99));
	}
	snprintf(name, sizeof(name), "%s_lost", fig);
	line(name, (double)lost, "rounds", n + (size_t)lost, 0);
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

/* Route KVM GSI 24 to @e and attach @efd to it with KVM_IRQFD. */
static int wire_kvm_gsi(struct kvm_vm *vm, int efd, const struct kvm_irq_routing_entry *e,
			char *why, size_t len)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[1];
	} rt = { .r = { .nr = 1 } };
	struct kvm_irqfd ifd = { .fd = (uint32_t)efd, .gsi = 24 };

	rt.e[0] = *e;
	rt.e[0].gsi = 24;
	if (ioctl(vm->fd, KVM_SET_GSI_ROUTING, &rt.r)) {
		snprintf(why, len, "KVM_SET_GSI_ROUTING: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->fd, KVM_IRQFD, &ifd)) {
		snprintf(why, len, "KVM_IRQFD: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int wire_msi(struct kvm_vm *vm, int efd, char *why, size_t len)
{
	struct kvm_irq_routing_entry e = { .type = KVM_IRQ_ROUTING_MSI };

	e.u.msi.address_lo = 0xfee00000;	/* APIC ID 0, physical */
	e.u.msi.data = VEC;			/* fixed, edge */
	return wire_kvm_gsi(vm, efd, &e, why, len);
}

static int xk(int fd, unsigned long req, void *arg, const char *what, char *why, size_t len)
{
	if (ioctl(fd, req, arg)) {
		snprintf(why, len, "%s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

/* Returns the /dev/xenkvm fd the VM stays attached through, or -1. */
static int wire_xenkvm(struct kvm_vm *vm, int efd, char *why, size_t len)
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

	if (fd < 0) {
		snprintf(why, len, "no /dev/xenkvm: %s", strerror(errno));
		return -1;
	}
	si.u.shared_info.gfn = SHINFO_GPA >> 12;
	id.u.vcpu_id = 0;
	vi.u.gpa = XENKVM_INVALID_GPA;	/* vcpu_info in shared_info */
	uv.u.vector = VEC;
	rt.e[0].gsi = 0;
	rt.e[0].type = XENKVM_IRQ_ROUTING_XEN_EVTCHN;
	rt.e[0].u.xen_evtchn.port = EVT_PORT;
	rt.e[0].u.xen_evtchn.vcpu = 0;
	rt.e[0].u.xen_evtchn.priority = XENKVM_EVTCHN_PRIORITY_2LEVEL;
	if (xk(fd, XENKVM_ATTACH, &at, "XENKVM_ATTACH", why, len) ||
	    xk(fd, XENKVM_SET_ATTR, &lm, "long mode", why, len) ||
	    xk(fd, XENKVM_SET_ATTR, &si, "shared_info", why, len) ||
	    xk(fd, XENKVM_VCPU_SET_ATTR, &id, "vcpu id", why, len) ||
	    xk(fd, XENKVM_VCPU_SET_ATTR, &vi, "vcpu_info", why, len) ||
	    xk(fd, XENKVM_VCPU_SET_ATTR, &uv, "upcall vector", why, len) ||
	    xk(fd, XENKVM_SET_GSI_ROUTING, &rt.r, "routing", why, len) ||
	    xk(fd, XENKVM_IRQFD, &ifd, "irqfd", why, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The L1 kernel's own Xen support, set up as a VMM on KVM_XEN would: the
 * same shared_info, vCPU 0's vcpu_info at its shared_info slot, a
 * per-vCPU upcall vector (a LAPIC interrupt the handler EOIs, as ours).
 */
static int wire_kvmxen(struct kvm_vm *vm, struct kvm_vcpu *vcpu, int efd, char *why,
		       size_t len)
{
	int caps = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM);
	struct kvm_xen_hvm_config cfg = {
		.flags = KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL | KVM_XEN_HVM_CONFIG_EVTCHN_SEND,
		.msr = 0x40000000,	/* Xen's hypercall page MSR; never written */
	};
	struct kvm_xen_hvm_attr lm = { .type = KVM_XEN_ATTR_TYPE_LONG_MODE };
	struct kvm_xen_hvm_attr si = { .type = KVM_XEN_ATTR_TYPE_SHARED_INFO };
	struct kvm_xen_vcpu_attr id = { .type = KVM_XEN_VCPU_ATTR_TYPE_VCPU_ID };
	struct kvm_xen_vcpu_attr vi = { .type = KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO };
	struct kvm_xen_vcpu_attr uv = { .type = KVM_XEN_VCPU_ATTR_TYPE_UPCALL_VECTOR };
	struct kvm_irq_routing_entry e = { .type = KVM_IRQ_ROUTING_XEN_EVTCHN };

	if (caps <= 0 || !(caps & KVM_XEN_HVM_CONFIG_EVTCHN_SEND)) {
		snprintf(why, len, "this L1 kernel has no KVM_XEN event channel delivery "
			 "(KVM_CAP_XEN_HVM = %#x)", caps < 0 ? 0 : caps);
		return -1;
	}
	lm.u.long_mode = 1;
	si.u.shared_info.gfn = SHINFO_GPA >> 12;
	id.u.vcpu_id = 0;
	vi.u.gpa = SHINFO_GPA;		/* vCPU 0's slot in shared_info */
	uv.u.vector = VEC;
	e.u.xen_evtchn.port = EVT_PORT;
	e.u.xen_evtchn.vcpu = 0;
	e.u.xen_evtchn.priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL;
	if (xk(vm->fd, KVM_XEN_HVM_CONFIG, &cfg, "KVM_XEN_HVM_CONFIG", why, len) ||
	    xk(vm->fd, KVM_XEN_HVM_SET_ATTR, &lm, "KVM_XEN long mode", why, len) ||
	    xk(vm->fd, KVM_XEN_HVM_SET_ATTR, &si, "KVM_XEN shared_info", why, len) ||
	    xk(vcpu->fd, KVM_XEN_VCPU_SET_ATTR, &id, "KVM_XEN vcpu id", why, len) ||
	    xk(vcpu->fd, KVM_XEN_VCPU_SET_ATTR, &vi, "KVM_XEN vcpu_info", why, len) ||
	    xk(vcpu->fd, KVM_XEN_VCPU_SET_ATTR, &uv, "KVM_XEN upcall vector", why, len))
		return -1;
	return wire_kvm_gsi(vm, efd, &e, why, len);
}

/*
 * Where the round trips' threads run. The host thread that times a round
 * spins; a thread the kernel wakes for the round (the vCPU's, the
 * userspace delivery thread) must not queue behind it on its CPU, or the
 * figure becomes the scheduler tick. So: the spinner on CPU 0, the others
 * on the last CPU, for every path alike. -1: one CPU, no pinning.
 */
static int worker_cpu = -1;

static void pin_workers_away_from_spinner(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (ncpu < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "xkfloor: sched_setaffinity: %s; threads not pinned\n",
			strerror(errno));
		return;
	}
	worker_cpu = (int)ncpu - 1;
	fprintf(stderr, "xkfloor: round trips: spinner on CPU 0, vCPU and delivery threads on CPU %d\n",
		worker_cpu);
}

static void start_worker(pthread_t *th, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	cpu_set_t set;

	pthread_attr_init(&attr);
	if (worker_cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(worker_cpu, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	TEST_ASSERT(!pthread_create(th, &attr, fn, arg), "pthread_create");
	pthread_attr_destroy(&attr);
}

/*
 * The userspace path: the host thread a VMM's event loop would be. It
 * waits on the eventfd, then raises EVT_PORT on vCPU 0 by Xen's 2-level
 * rules on the host's mapping of shared_info, and injects the upcall
 * vector only when upcall_pending was clear (as Xen, and as the kernels).
 */
struct uspace_evtchn {
	struct kvm_vm *vm;
	int efd;
	uint8_t *sh;		/* the host's view of shared_info */
	volatile int stop;
	long failures;		/* KVM_SIGNAL_MSI errors */
	pthread_t th;
};

static void uspace_raise(struct uspace_evtchn *u, unsigned int port)
{
	uint64_t *pending = (uint64_t *)(u->sh + SH_PENDING) + port / 64;
	uint64_t *mask = (uint64_t *)(u->sh + SH_MASK) + port / 64;
	uint64_t *sel = (uint64_t *)(u->sh + SH_PENDING_SEL);
	uint64_t bit = 1ULL << (port % 64), word = 1ULL << (port / 64);
	struct kvm_msi msi = {
		.address_lo = 0xfee00000 | (0 << 12),	/* vCPU 0's APIC id, physical */
		.data = VEC,				/* fixed, edge */
	};

	if (__atomic_fetch_or(pending, bit, __ATOMIC_SEQ_CST) & bit)
		return;
	if (__atomic_load_n(mask, __ATOMIC_SEQ_CST) & bit)
		return;
	if (__atomic_fetch_or(sel, word, __ATOMIC_SEQ_CST) & word)
		return;
	if (__atomic_exchange_n(u->sh + SH_UPCALL_PENDING, 1, __ATOMIC_SEQ_CST))
		return;
	if (ioctl(u->vm->fd, KVM_SIGNAL_MSI, &msi) < 0)
		u->failures++;
}

static void *uspace_evtchn_loop(void *arg)
{
	struct uspace_evtchn *u = arg;
	uint64_t v;

	for (;;) {
		if (read(u->efd, &v, sizeof(v)) != sizeof(v)) {
			if (errno == EINTR)
				continue;
			u->failures++;
			return NULL;
		}
		if (u->stop)
			return NULL;
		uspace_raise(u, EVT_PORT);
	}
}

static void uspace_evtchn_start(struct uspace_evtchn *u, struct kvm_vm *vm, int efd)
{
	u->vm = vm;
	u->efd = efd;
	u->sh = addr_gpa2hva(vm, SHINFO_GPA);
	u->stop = 0;
	u->failures = 0;
	start_worker(&u->th, uspace_evtchn_loop, u);
}

static void uspace_evtchn_stop(struct uspace_evtchn *u)
{
	uint64_t one = 1;

	u->stop = 1;
	TEST_ASSERT(write(u->efd, &one, sizeof(one)) == sizeof(one), "eventfd write");
	pthread_join(u->th, NULL);
}

/* Wire @efd to the guest along @path; 0, or -1 with @why filled. */
static int wire(enum rtt_path path, struct kvm_vm *vm, struct kvm_vcpu *vcpu, int efd,
		int *xfd, struct uspace_evtchn *u, char *why, size_t len)
{
	switch (path) {
	case RTT_MSI:
		return wire_msi(vm, efd, why, len);
	case RTT_USERSPACE:
		uspace_evtchn_start(u, vm, efd);
		return 0;
	case RTT_XENKVM:
		*xfd = wire_xenkvm(vm, efd, why, len);
		return *xfd < 0 ? -1 : 0;
	case RTT_KVMXEN:
		return wire_kvmxen(vm, vcpu, efd, why, len);
	}
	return -1;
}

/*
 * What the guest saw in the timed rounds: an MSI never touches
 * shared_info; an event channel path raised EVT_PORT, and only it, on
 * every interrupt. Returns false (and says why) if not.
 */
static bool guest_saw_expected(const char *fig, struct kvm_vm *vm, enum rtt_path path,
			       uint64_t interrupts, long lost)
{
	uint64_t seen = *(uint64_t *)addr_gva2hva(vm, (vm_vaddr_t)&g_seen);
	uint64_t other = *(uint64_t *)addr_gva2hva(vm, (vm_vaddr_t)&g_seen_other);
	uint64_t hits = *(uint64_t *)addr_gva2hva(vm, (vm_vaddr_t)&g_port_hits);
	uint64_t want = path == RTT_MSI ? 0 : 1ULL << EVT_PORT;
	/* A lost round's interrupt may come late, without its port. */
	bool hits_ok = path == RTT_MSI ? hits == 0 : lost ? hits <= interrupts : hits == interrupts;

	if (seen == want && !other && hits_ok)
		return true;
	fprintf(stderr, "xkfloor: FAIL: %s: the guest found pending bits %#llx (want %#llx), "
		"%#llx in other words, port %d in %llu of %llu interrupts\n", fig,
		(unsigned long long)seen, (unsigned long long)want, (unsigned long long)other,
		EVT_PORT, (unsigned long long)hits, (unsigned long long)interrupts);
	return false;
}

/* Ask the halted guest to stop, and wait for its vCPU thread. */
static void stop_guest(volatile uint64_t *stop, int efd, pthread_t th)
{
	uint64_t one = 1;

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
}

/*
 * Round trips eventfd -> guest handler -> host spinner along @path.
 * 0 when measured (and sane), 1 when the guest saw the wrong thing, -1
 * when this L1 cannot offer @path (said on stderr).
 */
static int floor_irqfd(const char *fig, long n, enum rtt_path path)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_irq);
	volatile uint64_t *count, *ready, *stop;
	struct uspace_evtchn u = { 0 };
	int efd = eventfd(0, EFD_CLOEXEC), xfd = -1, ret = 0;
	double *us = calloc((size_t)n, sizeof(*us));
	uint64_t one = 1, t0, handled;
	size_t timed = 0;
	long lost = 0;
	char why[256] = "";
	pthread_t th;

	TEST_ASSERT(efd >= 0 && us, "eventfd/calloc");
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(vm, VEC, guest_irq_handler);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, SHINFO_GPA, SHINFO_SLOT, 1, 0);
	virt_map(vm, SHINFO_GPA, SHINFO_GPA, 1);
	memset(addr_gpa2hva(vm, SHINFO_GPA), 0, 4096);
	g_xen = path != RTT_MSI;
	sync_global_to_guest(vm, g_xen);
	if (wire(path, vm, vcpu, efd, &xfd, &u, why, sizeof(why))) {
		fprintf(stderr, "xkfloor: %s not measured: %s\n", fig, why);
		kvm_vm_free(vm);
		free(us);
		close(efd);
		return -1;
	}
	count = addr_gva2hva(vm, (vm_vaddr_t)&g_count);
	ready = addr_gva2hva(vm, (vm_vaddr_t)&g_ready);
	stop = addr_gva2hva(vm, (vm_vaddr_t)&g_stop);
	*count = 0;
	*ready = 0;
	*stop = 0;
	start_worker(&th, vcpu_thread, vcpu);
	t0 = now_ns();
	while (!*ready) {
		TEST_ASSERT(now_ns() - t0 < 30000000000ULL, "guest never ready");
		usleep(1000);
	}
	usleep(10000);		/* let the vCPU reach hlt */
	for (long i = 0; i < n; i++) {
		uint64_t want = *count + 1, start = now_ns();

		TEST_ASSERT(write(efd, &one, sizeof(one)) == sizeof(one), "eventfd write");
		while (*count < want && now_ns() - start < LOST_MS * 1000000ULL)
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
	handled = *count;
	if (!guest_saw_expected(fig, vm, path, handled, lost))
		ret = 1;
	stop_guest(stop, efd, th);
	if (path == RTT_USERSPACE) {
		uspace_evtchn_stop(&u);
		if (u.failures) {
			fprintf(stderr, "xkfloor: FAIL: %s: %ld KVM_SIGNAL_MSI/read errors\n",
				fig, u.failures);
			ret = 1;
		}
	}
	report_latency(fig, us, timed, lost);
	if (xfd >= 0)
		close(xfd);
	kvm_vm_free(vm);
	close(efd);
	free(us);
	return ret;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	int bad = 0;

	if (n < BATCHES) {
		fprintf(stderr, "usage: xkfloor [N >= %d]\n", BATCHES);
		return 1;
	}
	fprintf(stderr, "xkfloor: %ld exits per figure in %d batches, %ld round trips\n",
		n, BATCHES, n / 10);
	floor_exits(n);
	pin_workers_away_from_spinner();
	bad |= floor_irqfd("msi_irqfd_rtt", n / 10, RTT_MSI) > 0;
	bad |= floor_irqfd("userspace_evtchn_rtt", n / 10, RTT_USERSPACE) > 0;
	bad |= floor_irqfd("xenkvm_irqfd_rtt", n / 10, RTT_XENKVM) > 0;
	bad |= floor_irqfd("kvmxen_evtchn_rtt", n / 10, RTT_KVMXEN) > 0;
	return bad;
}
