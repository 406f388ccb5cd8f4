// SPDX-License-Identifier: GPL-2.0
/*
 * Lifecycle races: many short-lived VMs, each in its own process, created
 * and torn down while eventfds fire, timers are armed and vCPUs sit in
 * SCHEDOP_poll, with the files released in every order:
 *
 *   xenkvm-first   /dev/xenkvm closed while the guest runs, then the rest
 *   vm-first       VM fd, then vCPU fds, then /dev/xenkvm
 *   vcpu-first     vCPU fds, then /dev/xenkvm, then the VM fd
 *   eventfd-first  the bound eventfds (EPOLLHUP), then /dev/xenkvm
 *   exit-open      _exit() with everything open and the guest running
 *   sigkill        SIGKILL from the parent while the guest runs
 *   orphan-fd      the owner exits while a child still holds the attached
 *                  file: detach runs from another process after the VM's
 *                  mm is gone
 *
 * Meanwhile the parent keeps one attached "witness" VM and tries to unload
 * the module (delete_module) between children: each try must fail while
 * anything is attached. Pass: every child ends in time (no hang) the way
 * its mode says; afterwards the module's reference count and the number of
 * KVM VMs (debugfs) are back to where they were, so no attachment, VM or
 * file leaked. Leaks of memory are kmemleak's (debug kernel, dmesg check).
 *
 * XK_LIFECYCLE_ITERS (or argv[1]) sets the number of children. With
 * XK_LIFECYCLE_SYNC=DIR the test creates DIR/attached once the witness is
 * attached and DIR/children-done after the last child, then keeps the
 * witness until DIR/release exists (tests/suites/robust uses this to try
 * rmmod from outside at known times).
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "xenkvm_hcall.h"

#define BASE		0xc0000000ULL
#define SLOT		10
#define PAGES		2
#define SH		BASE
#define DATA		(BASE + 0x1000)
#define STOP		((volatile uint32_t *)DATA)
#define CLK(c)		(DATA + 0x100 + (c) * 64)
#define POLLS(c)	(DATA + 0x400 + (c) * 64)	/* struct sched_poll */
#define PORTS(c)	(DATA + 0x800 + (c) * 64)	/* uint32_t ports[] */

#define IRQFD_PORT	10
#define DELIVER_PORT	11
#define SEND_PORT	20
#define RUN_MS		150
#define CHILD_TIMEOUT_MS 60000

enum mode {
	M_XENKVM_FIRST, M_VM_FIRST, M_VCPU_FIRST, M_EVENTFD_FIRST,
	M_EXIT_OPEN, M_SIGKILL, M_ORPHAN_FD, M_NR,
};

static const char *const mode_name[M_NR] = {
	"xenkvm-first", "vm-first", "vcpu-first", "eventfd-first",
	"exit-open", "sigkill", "orphan-fd",
};

static void clear_port(unsigned int port)
{
	asm volatile("lock btrl %1, %0"
		     : "+m"(*(volatile uint32_t *)(SH + 2048 + (port / 32) * 4))
		     : "Ir"(port % 32) : "memory", "cc");
}

static void poll_ports(unsigned int cpu, const uint32_t *ports,
		       unsigned int nr, uint64_t timeout)
{
	volatile struct xen_sched_poll *p = (void *)POLLS(cpu);
	volatile uint32_t *pa = (void *)PORTS(cpu);
	unsigned int i;

	for (i = 0; i < nr; i++)
		pa[i] = ports[i];
	p->ports = PORTS(cpu);
	p->nr_ports = nr;
	p->timeout = timeout;
	xen_hcall2(XEN_HC_sched_op, XEN_SCHEDOP_poll, POLLS(cpu));
}

static void guest_code(void)
{
	static const uint32_t p0[] = { 3, IRQFD_PORT, DELIVER_PORT };
	static const uint32_t p1[] = { 4 };
	volatile struct xen_singleshot *ss;
	unsigned int cpu;
	uint64_t now;

	x2apic_enable();
	cpu = (unsigned int)x2apic_read_reg(APIC_ID);
	guest_pvclock_enable(CLK(cpu));
	ss = (void *)(POLLS(cpu) + 32);
	while (!*STOP) {
		now = guest_pvclock_ns(CLK(cpu));
		if (cpu == 0) {
			clear_port(3);
			clear_port(IRQFD_PORT);
			clear_port(DELIVER_PORT);
			xen_hcall2(XEN_HC_set_timer_op, now + 300000, 0);
			poll_ports(0, p0, 3, now + 1000000);
		} else {
			/* struct evtchn_send { port } at PORTS(1) + 32 */
			xen_hcall2(XEN_HC_event_channel_op, XEN_EVTCHNOP_send,
				   PORTS(1) + 32);
			ss->timeout_abs_ns = now + 200000;
			ss->flags = 0;
			xen_hcall3(XEN_HC_vcpu_op, XEN_VCPUOP_set_singleshot_timer,
				   1, (uint64_t)ss);
			clear_port(4);
			poll_ports(1, p1, 1, now + 500000);
			xen_hcall2(XEN_HC_sched_op, XEN_SCHEDOP_yield, 0);
		}
	}
	GUEST_DONE();
}

/* ------------------------------------------------------------------ */
/* One child: one VM, then one teardown order                           */

struct child {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu[2];
	pthread_t th[2], hammer;
	int xfd, efd;
	volatile int hammer_stop;
};

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;
	int r;

	for (;;) {
		r = __vcpu_run(vcpu);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		TEST_ASSERT(!r, "KVM_RUN: %s", strerror(errno));
		if (vcpu->run->exit_reason == KVM_EXIT_XEN)
			continue;	/* -ENOSYS for what we do not handle */
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			return NULL;
		default:
			TEST_FAIL("unexpected exit %s",
				  exit_reason_str(vcpu->run->exit_reason));
		}
	}
}

static void *hammer_thread(void *arg)
{
	struct child *c = arg;
	uint64_t one = 1;

	while (!c->hammer_stop) {
		if (write(c->efd, &one, 8) != 8)
			break;
		usleep(100);
	}
	return NULL;
}

static void child_setup(struct child *c)
{
	struct xenkvm_irq_routing *rt;
	uint32_t *send_port;
	int i;

	c->vm = vm_create_with_vcpus(2, guest_code, c->vcpu);
	vm_userspace_mem_region_add(c->vm, VM_MEM_SRC_SHMEM, BASE, SLOT, PAGES, 0);
	virt_map(c->vm, BASE, BASE, PAGES);
	xk_hcall_guest_setup(c->vm);
	/* The port vCPU 1 sends on, where its code expects it. */
	send_port = addr_gva2hva(c->vm, PORTS(1) + 32);
	*send_port = SEND_PORT;

	c->xfd = xk_attach_intercept(c->vm);
	TEST_ASSERT(xk_set_shinfo(c->xfd, SH >> 12) == 0, "shared_info");
	for (i = 0; i < 2; i++) {
		TEST_ASSERT(xk_vcpu_set(c->xfd, i, XENKVM_VCPU_ATTR_VCPU_ID, i) == 0,
			    "id");
		TEST_ASSERT(xk_vcpu_timer(c->xfd, i, 3 + i, 0) == 0, "timer");
	}
	TEST_ASSERT(xk_evtchn_deliver(c->xfd, SEND_PORT, DELIVER_PORT, 0) == 0,
		    "send port");
	rt = calloc(1, sizeof(*rt) + sizeof(rt->entries[0]));
	TEST_ASSERT(rt, "calloc");
	xk_route_one(c->xfd, rt, 0, IRQFD_PORT, 0);
	TEST_ASSERT(xk_ioctl(c->xfd, XENKVM_SET_GSI_ROUTING, rt) == 0, "routing");
	free(rt);
	c->efd = eventfd(0, 0);
	TEST_ASSERT(xk_irqfd_assign(c->xfd, c->efd, 0, 0) == 0, "irqfd");

	for (i = 0; i < 2; i++)
		pthread_create(&c->th[i], NULL, vcpu_thread, c->vcpu[i]);
	pthread_create(&c->hammer, NULL, hammer_thread, c);
}

static void stop_guest(struct child *c)
{
	volatile uint32_t *stop = addr_gva2hva(c->vm, DATA);
	int i;

	*stop = 1;
	for (i = 0; i < 2; i++)
		pthread_join(c->th[i], NULL);
}

static void stop_hammer(struct child *c)
{
	c->hammer_stop = 1;
	pthread_join(c->hammer, NULL);
}

static int run_child(enum mode m, int ready_fd)
{
	struct child c = {};
	char one = 1;

	child_setup(&c);
	usleep(RUN_MS * 1000);
	switch (m) {
	case M_XENKVM_FIRST:
		close(c.xfd);		/* detach under fire */
		usleep(20000);
		stop_hammer(&c);
		stop_guest(&c);
		close(c.vcpu[0]->fd);
		close(c.vcpu[1]->fd);
		close(c.vm->fd);
		close(c.efd);
		break;
	case M_VM_FIRST:
		stop_guest(&c);
		close(c.vm->fd);
		close(c.vcpu[0]->fd);
		close(c.vcpu[1]->fd);
		usleep(20000);		/* events still flow into the VM */
		close(c.xfd);
		stop_hammer(&c);
		close(c.efd);
		break;
	case M_VCPU_FIRST:
		stop_guest(&c);
		close(c.vcpu[0]->fd);
		close(c.vcpu[1]->fd);
		close(c.xfd);
		stop_hammer(&c);
		close(c.vm->fd);
		close(c.efd);
		break;
	case M_EVENTFD_FIRST:
		stop_hammer(&c);
		close(c.efd);		/* EPOLLHUP unbinds the irqfd */
		close(c.xfd);
		stop_guest(&c);
		close(c.vcpu[0]->fd);
		close(c.vcpu[1]->fd);
		close(c.vm->fd);
		break;
	case M_EXIT_OPEN:
		_exit(0);
	case M_SIGKILL:
		/* Tell the parent we are running; it kills us. */
		if (write(ready_fd, &one, 1) != 1)
			_exit(3);
		for (;;)
			pause();
	case M_ORPHAN_FD:
		if (!fork()) {
			/* Inherited, not ours: no ioctl; release comes last. */
			struct xenkvm_stats st;

			usleep(300 * 1000);
			_exit(xk_get_stats(c.xfd, &st) == -EPERM ? 0 : 5);
		}
		_exit(0);
	default:
		break;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parent                                                               */

static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/xenkvm/refcnt", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* KVM VMs alive: debugfs has one "PID-FD" directory per VM. */
static int kvm_vms(void)
{
	DIR *d = opendir("/sys/kernel/debug/kvm");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += !!strchr(e->d_name, '-');
	closedir(d);
	return n;
}

static bool wait_counts(long refcnt, int vms, unsigned int ms)
{
	uint64_t t0 = xk_now_ms();

	while (xk_now_ms() - t0 < ms) {
		if (module_refcnt() == refcnt && kvm_vms() == vms)
			return true;
		usleep(10000);
	}
	return false;
}

static void sync_mark(const char *dir, const char *name)
{
	char path[512];
	int fd;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd >= 0)
		close(fd);
}

static void sync_wait(const char *dir, const char *name)
{
	char path[512];
	uint64_t t0 = xk_now_ms();

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	while (access(path, F_OK) && xk_now_ms() - t0 < 120000)
		usleep(10000);
}

static void guest_idle(void)
{
	GUEST_DONE();
}

int main(int argc, char **argv)
{
	const char *env = getenv("XK_LIFECYCLE_ITERS");
	const char *sync_dir = getenv("XK_LIFECYCLE_SYNC");
	unsigned int iters = 21, i, ok = 0, hangs = 0, unload_refused = 0,
		     unload_tries = 0, bad_errno = 0;
	unsigned int per_mode_ok[M_NR] = {}, per_mode[M_NR] = {};
	struct kvm_vcpu *wvcpu;
	struct kvm_vm *witness;
	long ref0, ref1;
	int vms0, vms1, wfd;

	if (argc > 1)
		env = argv[1];
	if (env && atoi(env) > 0)
		iters = atoi(env);

	close(xk_open());
	ksft_print_header();
	ksft_set_plan(5);

	ref0 = module_refcnt();
	vms0 = kvm_vms();
	witness = vm_create_with_one_vcpu(&wvcpu, guest_idle);
	wfd = xk_open();
	TEST_ASSERT(xk_attach_fd(wfd, witness->fd) == 0, "attach witness");
	ref1 = module_refcnt();
	vms1 = kvm_vms();
	sync_mark(sync_dir, "attached");

	for (i = 0; i < iters; i++) {
		enum mode m = i % M_NR;
		int pfd[2], status = 0;
		uint64_t t0;
		pid_t pid;
		char c;

		TEST_ASSERT(!pipe(pfd), "pipe");
		pid = fork();
		TEST_ASSERT(pid >= 0, "fork");
		if (!pid) {
			close(pfd[0]);
			close(wfd);
			_exit(run_child(m, pfd[1]));
		}
		close(pfd[1]);
		per_mode[m]++;
		if (m == M_SIGKILL) {
			if (read(pfd[0], &c, 1) == 1) {
				usleep(RUN_MS * 1000);
				kill(pid, SIGKILL);
			}
		}
		/* Unloading must be refused while anything is attached. */
		if (syscall(__NR_delete_module, "xenkvm", O_NONBLOCK) == 0) {
			ksft_print_msg("delete_module succeeded under load!\n");
		} else {
			unload_refused++;
			bad_errno += errno != EWOULDBLOCK && errno != EBUSY;
		}
		unload_tries++;
		t0 = xk_now_ms();
		while (waitpid(pid, &status, WNOHANG) == 0) {
			if (xk_now_ms() - t0 > CHILD_TIMEOUT_MS) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				hangs++;
				ksft_print_msg("child %u (%s) hung\n", i, mode_name[m]);
				break;
			}
			usleep(5000);
		}
		close(pfd[0]);
		if ((m == M_SIGKILL && WIFSIGNALED(status) &&
		     WTERMSIG(status) == SIGKILL) ||
		    (m != M_SIGKILL && WIFEXITED(status) && !WEXITSTATUS(status))) {
			ok++;
			per_mode_ok[m]++;
		} else {
			ksft_print_msg("child %u (%s): status %#x\n", i,
				       mode_name[m], status);
		}
	}
	for (i = 0; i < M_NR; i++)
		ksft_print_msg("%-14s %u/%u\n", mode_name[i], per_mode_ok[i],
			       per_mode[i]);

	ksft_test_result(ok == iters && !hangs,
			 "%u short-lived VMs torn down in %u orders: %u as expected, %u hung\n",
			 iters, M_NR, ok, hangs);
	ksft_test_result(unload_refused == unload_tries && !bad_errno,
			 "module unload refused while attached: %u/%u (EWOULDBLOCK/EBUSY)\n",
			 unload_refused, unload_tries);
	sync_mark(sync_dir, "children-done");
	sync_wait(sync_dir, "release");
	/* Orphaned fds are released by grandchildren a little later. */
	ksft_test_result(wait_counts(ref1, vms1, 20000),
			 "after the children: module refs %ld (want %ld), KVM VMs %d (want %d)\n",
			 module_refcnt(), ref1, kvm_vms(), vms1);
	close(wfd);
	kvm_vm_free(witness);
	ksft_test_result(wait_counts(ref0, vms0, 20000),
			 "after the witness: module refs %ld (want %ld), KVM VMs %d (want %d)\n",
			 module_refcnt(), ref0, kvm_vms(), vms0);
	ksft_test_result(ref1 == ref0 + 1 && (vms0 < 0 || vms1 == vms0 + 1),
			 "the counters see an attachment (refs %ld -> %ld, VMs %d -> %d)\n",
			 ref0, ref1, vms0, vms1);
	ksft_finished();
}
