// SPDX-License-Identifier: GPL-2.0
/*
 * xkbench: micro-benchmarks run inside a Xen HVM guest, through the guest
 * kernel's own Xen devices, so every backend (xenkvm.ko, KVM_XEN, the VMM)
 * is measured by the same code on the same path a real guest uses.
 *
 *   xkbench hcall N                  N x xen_version(XENVER_version), then
 *                                    N x sched_op(SCHEDOP_yield), through
 *                                    /dev/xen/privcmd (needs xen-privcmd
 *                                    loaded with unrestricted=1)
 *   xkbench evtchn-pingpong N [--same-cpu] [--timeout-ms T]
 *                                    N round trips over a loopback pair of
 *                                    event channels (/dev/xen/evtchn), two
 *                                    processes on vCPUs 0 and 1 (or both 0)
 *   xkbench timer N [--period-us P]  N clock_nanosleep(P) wakeup errors
 *   xkbench cpuid N                  N x CPUID: an exit the host KVM answers
 *                                    itself (the floor of any trap)
 *
 * Output: one line per figure,
 *
 *   BENCH <figure> <value> <unit> runs=<n> spread=<x>%
 *
 * For batch figures (hcall, cpuid) runs is the number of batches and value
 * the median batch's time per call; for latency distributions (pingpong,
 * timer) runs is the number of samples and value their median or p99. The
 * spread is the width of that value's 95% confidence interval relative to
 * it (see quantile_spread()). A ping-pong round whose notification was
 * lost is counted in <figure>_lost and left out of the latencies.
 * Anything that cannot be measured is said on stderr with "xkbench: " and
 * a non-zero exit: 2 setup impossible (no device, no second vCPU), 3
 * notifications lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* privcmd.h uses Xen's own types (xen/include/public/xen.h, x86_64). */
typedef uint16_t domid_t;
typedef uint64_t xen_pfn_t;
#include <xen/sys/evtchn.h>
#include <xen/sys/privcmd.h>

#include "xkstat.h"

#define PRIVCMD_DEV "/dev/xen/privcmd"
#define EVTCHN_DEV "/dev/xen/evtchn"

#define HYPERVISOR_xen_version 17	/* xen/include/public/xen.h */
#define XENVER_version 0		/* xen/include/public/version.h */
#define HYPERVISOR_sched_op 29		/* xen/include/public/xen.h */
#define SCHEDOP_yield 0			/* xen/include/public/sched.h */
#define DOMID_SELF 0x7FF0U

#define EXIT_SETUP 2
#define EXIT_LOST 3

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void bench_line(const char *fig, double value, const char *unit,
		       size_t runs, double spread)
{
	printf("BENCH %s %.3f %s runs=%zu spread=%.1f%%\n", fig, value, unit, runs, spread);
	fflush(stdout);
}

/* Median and p99 of a latency sample set, in microseconds. */
static void report_latency(const char *fig, double *us, size_t n)
{
	char name[96];

	qsort(us, n, sizeof(*us), cmp_double);
	snprintf(name, sizeof(name), "%s_median", fig);
	bench_line(name, pct(us, n, 50), "us", n, quantile_spread(us, n, 0.5));
	snprintf(name, sizeof(name), "%s_p99", fig);
	bench_line(name, pct(us, n, 99), "us", n, quantile_spread(us, n, 0.99));
}

/* Batch figure: the median of @runs batches' ns per operation. */
static void report_batches(const char *fig, double *ns, size_t runs)
{
	qsort(ns, runs, sizeof(*ns), cmp_double);
	bench_line(fig, pct(ns, runs, 50), "ns/op", runs, quantile_spread(ns, runs, 0.5));
}

static long parse_count(const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || *end || n <= 0 || n > 100000000L) {
		fprintf(stderr, "xkbench: '%s' is not a count (1..100000000)\n", s);
		exit(1);
	}
	return n;
}

static int open_dev(const char *path, const char *hint)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "xkbench: cannot open %s: %s (%s)\n", path, strerror(errno), hint);
		exit(EXIT_SETUP);
	}
	return fd;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "xkbench: cannot pin to vCPU %d: %s\n", cpu, strerror(errno));
		return -1;
	}
	return 0;
}

/* Split N operations into this many batches (at least 1 op each). */
#define BATCHES 20

/*
 * The hypercalls timed: xen_version(XENVER_version) answers a constant
 * (KVM_XEN answers it in-kernel once told the version; xenkvm.ko passes
 * it to the VMM), sched_op(SCHEDOP_yield) is answered in-kernel by both
 * and by the VMM otherwise. Neither changes guest state.
 */
static const struct hcall_op {
	const char *fig;
	uint64_t op, arg0;
} hcall_ops[] = {
	{ "hcall_xen_version", HYPERVISOR_xen_version, XENVER_version },
	{ "hcall_sched_yield", HYPERVISOR_sched_op, SCHEDOP_yield },
};

static int time_hcall(int fd, const struct hcall_op *o, long n)
{
	long per = n / BATCHES > 0 ? n / BATCHES : 1;
	privcmd_hypercall_t hc = { .op = o->op, .arg = { o->arg0 } };
	double ns[BATCHES];
	long ret;

	ret = ioctl(fd, IOCTL_PRIVCMD_HYPERCALL, &hc);
	if (ret < 0) {
		fprintf(stderr, "xkbench: %s through privcmd: %s%s\n", o->fig, strerror(errno),
			errno == EPERM || errno == ENOENT || errno == EINVAL ?
			" (is xen-privcmd loaded with unrestricted=1?)" : "");
		return EXIT_SETUP;
	}
	if (o->op == HYPERVISOR_xen_version)
		fprintf(stderr, "xkbench: hcall: Xen %ld.%ld, %d x %ld calls each\n",
			ret >> 16, ret & 0xffff, BATCHES, per);
	for (int b = 0; b < BATCHES; b++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < per; i++) {
			hc = (privcmd_hypercall_t){ .op = o->op, .arg = { o->arg0 } };
			if (ioctl(fd, IOCTL_PRIVCMD_HYPERCALL, &hc) < 0) {
				fprintf(stderr, "xkbench: %s: call %ld failed: %s\n", o->fig, i,
					strerror(errno));
				return 1;
			}
		}
		ns[b] = (double)(now_ns() - t0) / (double)per;
	}
	report_batches(o->fig, ns, BATCHES);
	return 0;
}

static int cmd_hcall(long n)
{
	int fd = open_dev(PRIVCMD_DEV, "not a Xen guest, or xen-privcmd not loaded");
	int rc = 0;

	pin(0);
	for (size_t i = 0; i < sizeof(hcall_ops) / sizeof(hcall_ops[0]); i++) {
		int r = time_hcall(fd, &hcall_ops[i], n);

		if (r && !rc)
			rc = r;
	}
	close(fd);
	return rc;
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static int cmd_cpuid(long n)
{
	long per = n / BATCHES > 0 ? n / BATCHES : 1;
	double ns[BATCHES];
	uint32_t a, b, c, d;

	pin(0);
	for (int k = 0; k < BATCHES; k++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < per; i++)
			cpuid(0, &a, &b, &c, &d);
		ns[k] = (double)(now_ns() - t0) / (double)per;
	}
	report_batches("cpuid_exit", ns, BATCHES);
	return 0;
}

/*
 * Event channel ping-pong. The pinger owns port a (unbound, for our own
 * domain), the ponger binds port b to it; a notify on either raises the
 * other. A shared page carries sequence numbers so a late event is told
 * apart from the current one, and every wait is bounded by poll: a lost
 * notification is counted and the pinger sends again.
 */
struct pp_shared {
	volatile uint32_t ping;		/* round the pinger is in */
	volatile uint32_t pong;		/* last round the ponger answered */
	volatile uint32_t stop;
	volatile uint32_t port_b;
	volatile int32_t pong_err;
	volatile uint32_t pong_timeouts;
};

/* Wait for an event on @fd; 1 = got it (port unmasked again), 0 = timeout. */
static int evtchn_wait(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned int ports[64];
	ssize_t r;
	int ret = poll(&p, 1, timeout_ms);

	if (ret < 0)
		return errno == EINTR ? 0 : -1;
	if (ret == 0)
		return 0;
	r = read(fd, ports, sizeof(ports));
	if (r < 0)
		return errno == EAGAIN ? 0 : -1;
	/* Writing the ports back unmasks them. */
	if (r > 0 && write(fd, ports, (size_t)r) != r)
		return -1;
	return 1;
}

static int evtchn_notify(int fd, unsigned int port)
{
	struct ioctl_evtchn_notify n = { .port = port };

	return ioctl(fd, IOCTL_EVTCHN_NOTIFY, &n);
}

static void ponger(struct pp_shared *sh, unsigned int port_a, int cpu, int timeout_ms)
{
	struct ioctl_evtchn_bind_interdomain bind = {
		.remote_domain = DOMID_SELF, .remote_port = port_a,
	};
	int fd = open(EVTCHN_DEV, O_RDWR | O_CLOEXEC);
	int port_b;

	if (fd < 0 || pin(cpu)) {
		sh->pong_err = fd < 0 ? errno : EINVAL;
		sh->port_b = ~0U;
		_exit(1);
	}
	port_b = ioctl(fd, IOCTL_EVTCHN_BIND_INTERDOMAIN, &bind);
	if (port_b < 0) {
		sh->pong_err = errno;
		sh->port_b = ~0U;
		_exit(1);
	}
	sh->port_b = (uint32_t)port_b;
	while (!sh->stop) {
		int r = evtchn_wait(fd, timeout_ms);

		if (r < 0) {
			sh->pong_err = errno;
			_exit(1);
		}
		if (r == 0) {
			if (!sh->stop)
				sh->pong_timeouts++;
			continue;
		}
		if (sh->ping != sh->pong) {
			sh->pong = sh->ping;
			__sync_synchronize();
			if (evtchn_notify(fd, (unsigned int)port_b)) {
				sh->pong_err = errno;
				_exit(1);
			}
		}
	}
	_exit(0);
}

static int cmd_pingpong(long n, int same_cpu, int timeout_ms)
{
	struct ioctl_evtchn_bind_unbound_port ub = { .remote_domain = DOMID_SELF };
	const char *fig = same_cpu ? "evtchn_rtt_same_cpu" : "evtchn_rtt_cross_cpu";
	int fd = open_dev(EVTCHN_DEV, "not a Xen guest, or xen-evtchn not loaded");
	int cpu_b = same_cpu ? 0 : 1;
	long lost = 0, lost_before = 0, max_lost = n / 10 + 10;
	size_t timed = 0;
	struct pp_shared *sh;
	int port_a, status;
	double *us;
	pid_t child;

	if (!same_cpu && sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "xkbench: evtchn-pingpong across vCPUs needs 2 vCPUs online\n");
		return EXIT_SETUP;
	}
	port_a = ioctl(fd, IOCTL_EVTCHN_BIND_UNBOUND_PORT, &ub);
	if (port_a < 0) {
		fprintf(stderr, "xkbench: IOCTL_EVTCHN_BIND_UNBOUND_PORT: %s\n", strerror(errno));
		return EXIT_SETUP;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	us = calloc((size_t)n, sizeof(*us));
	if (sh == MAP_FAILED || !us) {
		fprintf(stderr, "xkbench: out of memory\n");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("xkbench: fork");
		return 1;
	}
	if (child == 0) {
		close(fd);
		ponger(sh, (unsigned int)port_a, cpu_b, timeout_ms);
	}
	pin(0);
	for (int i = 0; i < 5000 && !sh->port_b; i++)
		usleep(1000);
	if (!sh->port_b || sh->port_b == ~0U) {
		fprintf(stderr, "xkbench: ponger could not bind to port %d: %s\n", port_a,
			sh->pong_err ? strerror(sh->pong_err) : "no answer in 5 s");
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		return EXIT_SETUP;
	}
	fprintf(stderr, "xkbench: evtchn-pingpong: ports %d <-> %u, vCPUs 0 and %d, %ld rounds, wait bound %d ms\n",
		port_a, sh->port_b, cpu_b, n, timeout_ms);
	for (long i = 0; i < n; i++) {
		uint32_t round = (uint32_t)i + 1;
		uint64_t t0 = now_ns();

		sh->ping = round;
		__sync_synchronize();
		if (evtchn_notify(fd, (unsigned int)port_a)) {
			fprintf(stderr, "xkbench: IOCTL_EVTCHN_NOTIFY: %s\n", strerror(errno));
			goto fail;
		}
		/*
		 * Always wait for the answer's event, even if the shared page
		 * already shows the answer: the figure is the event path's.
		 */
		for (;;) {
			int r = evtchn_wait(fd, timeout_ms);

			if (r < 0) {
				fprintf(stderr, "xkbench: waiting on port %d: %s\n", port_a, strerror(errno));
				goto fail;
			}
			if (r == 1 && sh->pong == round)
				break;
			if (r == 1)
				continue;	/* a late event of an earlier round */
			/*
			 * Nothing within the bound: a notification was lost.
			 * The shared page tells which; send again if the ping
			 * was the one lost. Lost rounds are counted, not timed.
			 */
			lost++;
			fprintf(stderr, "xkbench: round %u: no event in %d ms (%s)\n", round,
				timeout_ms, sh->pong == round ? "answered, the answer's event lost" :
				"the ping's event lost, or the ponger stalled");
			if (lost > max_lost) {
				fprintf(stderr, "xkbench: giving up after %ld lost rounds\n", lost);
				goto fail;
			}
			if (sh->pong == round)
				break;
			if (evtchn_notify(fd, (unsigned int)port_a))
				goto fail;
		}
		if (lost_before != lost) {
			lost_before = lost;
			continue;
		}
		us[timed++] = (double)(now_ns() - t0) / 1000.0;
	}
	sh->stop = 1;
	evtchn_notify(fd, (unsigned int)port_a);
	waitpid(child, &status, 0);
	if (timed)
		report_latency(fig, us, timed);
	{
		char name[96];

		snprintf(name, sizeof(name), "%s_lost", fig);
		bench_line(name, (double)lost, "rounds", (size_t)n, 0);
	}
	return lost ? EXIT_LOST : 0;
fail:
	sh->stop = 1;
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	fprintf(stderr, "xkbench: %s: %ld lost rounds before failing\n", fig, lost);
	return EXIT_LOST;
}

static int cmd_timer(long n, long period_us)
{
	double *us = calloc((size_t)n, sizeof(*us));

	if (!us)
		return 1;
	pin(0);
	for (long i = 0; i < n; i++) {
		struct timespec ts;
		uint64_t target;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		target = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec +
			 (uint64_t)period_us * 1000;
		ts.tv_sec = (time_t)(target / 1000000000ULL);
		ts.tv_nsec = (long)(target % 1000000000ULL);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		us[i] = (double)(now_ns() - target) / 1000.0;
	}
	report_latency("timer_1ms_late", us, (size_t)n);
	free(us);
	return 0;
}

static void usage(void)
{
	fputs("usage: xkbench hcall N\n"
	      "       xkbench evtchn-pingpong N [--same-cpu] [--timeout-ms T]\n"
	      "       xkbench timer N [--period-us P]\n"
	      "       xkbench cpuid N\n", stderr);
	exit(1);
}

int main(int argc, char **argv)
{
	const char *cmd;
	long n;

	if (argc < 3)
		usage();
	cmd = argv[1];
	n = parse_count(argv[2]);
	if (!strcmp(cmd, "hcall") && argc == 3)
		return cmd_hcall(n);
	if (!strcmp(cmd, "cpuid") && argc == 3)
		return cmd_cpuid(n);
	if (!strcmp(cmd, "evtchn-pingpong")) {
		int same = 0, timeout_ms = 1000;

		for (int i = 3; i < argc; i++) {
			if (!strcmp(argv[i], "--same-cpu"))
				same = 1;
			else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
				timeout_ms = (int)parse_count(argv[++i]);
			else
				usage();
		}
		return cmd_pingpong(n, same, timeout_ms);
	}
	if (!strcmp(cmd, "timer")) {
		long period = 1000;

		if (argc == 5 && !strcmp(argv[3], "--period-us"))
			period = parse_count(argv[4]);
		else if (argc != 3)
			usage();
		return cmd_timer(n, period);
	}
	usage();
	return 1;
}
