// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile guest: two vCPUs issue random hypercalls (numbers, sub-ops,
 * arguments) aimed at every in-kernel path with the worst pointers a
 * guest can make: GVAs with no page-table entry, GVAs mapped to guest
 * frames in no memslot, to the LAPIC and IOAPIC MMIO pages, to the
 * shared_info page itself, structures that cross from a good page into
 * an unmapped / slot-less / MMIO one, non-canonical and kernel-half
 * addresses, huge counts (nr_ports), random ports, past and near-future
 * timeouts, runstate areas registered over shared_info, across pages and
 * over MMIO. The test plays the VMM and answers every exit with -ENOSYS
 * (it leaves rax as the module set it).
 *
 * Unlike xenkvm_hcall_fuzz_test (100000 calls on one vCPU, checks only
 * that the guest survives and the calls are counted), this one checks
 * every single result: each call must return an errno Xen itself would
 * return for that hypercall and sub-op (the allowed sets are in
 * allowed() below; -ENOSYS is always allowed, as a call may reach the
 * VMM when its fast path is off). Each exit must carry the number and
 * arguments the guest really passed. Meanwhile the host keeps changing
 * the VM's configuration under the running guest (fast paths, shared_info
 * layout, shared_info set/cleared, vcpu_info moved) and, with
 * XK_HOSTILE_CHURN=1, invalidating the guest pages (mprotect,
 * MADV_DONTNEED). That churn is opt-in for now: on both testbed kernels
 * runs with it have corrupted L1 itself (see churn_wanted()).
 *
 * Count: XK_HOSTILE_CALLS in the environment (or argv[1]), for both vCPUs
 * together; the default is bounded for make check, the robust suite runs
 * a million on the debug kernel. XK_HOSTILE_SEED varies the sequence.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "xenkvm_hcall.h"

#define NVCPUS		2
#define BASE		0xc0000000ULL
#define SLOT		10
#define PAGES		8
#define SH		(BASE + 0x0000)	/* shared_info */
#define VI		(BASE + 0x1000)	/* explicit vcpu_info areas */
#define RP		(BASE + 0x2000)	/* random bytes: garbage structures */
#define SP		(BASE + 0x3000)	/* scratch: sanitized structures */
#define TP		(BASE + 0x4000)	/* runstate areas, then UP */
#define LOG		(BASE + 0x5000)	/* per-vCPU mailbox and violations */
#define CLK		(BASE + 0x6000)	/* pvclock, one per vCPU */
#define UP		(BASE + 0x7000)	/* runstate areas (crossing from TP) */

/* Windows of GVAs with hostile mappings (set up in main()). */
#define W_UNMAPPED	0xd0000000ULL	/* no PTE at all */
#define W_NOSLOT	0xd0001000ULL	/* -> a GPA in no memslot */
#define W_LAPIC		0xd0002000ULL	/* -> 0xfee00000 */
#define W_IOAPIC	0xd0003000ULL	/* -> 0xfec00000 */
#define W_X_UNMAPPED	0xd0004000ULL	/* RP, then an unmapped page */
#define W_X_NOSLOT	0xd0006000ULL	/* RP, then a slot-less page */
#define W_X_MMIO	0xd0008000ULL	/* RP, then the LAPIC page */
#define NOSLOT_GPA	0x140000000ULL

#define XEN_HC_memory_op	12
#define XEN_HC_grant_table_op	20
#define XEN_HC_physdev_op	33
#define XEN_ETIME_		62

#define NREC		8
#define SYNC_EVERY	5000
#define DEFAULT_CALLS	60000	/* per vCPU: 7-9 s in the testbed, 35 s with KASAN */

struct rec {
	uint64_t nr, a0, a1, a2;
	int64_t ret;
};

struct mailbox {
	uint64_t nr, a[6];		/* the call being made */
	uint64_t calls;			/* completed */
	uint64_t violations;
	uint64_t by_kernel_hint;	/* results other than -ENOSYS */
	struct rec rec[NREC];
	uint64_t pad[8];
};

#define MB(i)	((volatile struct mailbox *)(LOG + (i) * 1024))

static uint64_t ncalls = DEFAULT_CALLS;
static uint64_t seeds[NVCPUS] = { 0x2545f4914f6cdd1dULL, 0x9e3779b97f4a7c15ULL };

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A hostile guest pointer. */
static uint64_t pick_ptr(uint64_t *s)
{
	uint64_t r = xs(s), off = (r >> 8) & 0xfff;

	switch ((r >> 4) % 14) {
	case 0:
		return 0;
	case 1:
		return xs(s);				/* wild */
	case 2:
		return 0x8000000000000000ULL | (r >> 12);	/* non-canonical */
	case 3:
		return 0xffff880000000000ULL + (r >> 20);	/* kernel half */
	case 4:
		return W_UNMAPPED + off;
	case 5:
		return W_NOSLOT + off;
	case 6:
		return ((r >> 40) & 1 ? W_LAPIC : W_IOAPIC) + off;
	case 7:
		return SH + off;			/* shared_info itself */
	case 8:
	case 9:
		return RP + off;			/* garbage */
	case 10:
		return W_X_UNMAPPED + 0x1000 - 1 - (r >> 20) % 40;
	case 11:
		return W_X_NOSLOT + 0x1000 - 1 - (r >> 20) % 40;
	case 12:
		return W_X_MMIO + 0x1000 - 1 - (r >> 20) % 40;
	default:
		return SP + off;
	}
}

static uint64_t pick_arg(uint64_t *s)
{
	uint64_t r = xs(s);

	switch (r & 7) {
	case 0:
		return 0;
	case 1:
		return (r >> 8) & 0xff;		/* ports, vCPU ids */
	case 2:
		return (r >> 8) & 0xfff;
	case 3:
		return xs(s);
	default:
		return pick_ptr(s);
	}
}

static const uint64_t hot[] = {
	XEN_HC_set_timer_op, XEN_HC_xen_version, XEN_HC_vcpu_op,
	XEN_HC_sched_op, XEN_HC_event_channel_op, XEN_HC_hvm_op,
	XEN_HC_memory_op, XEN_HC_grant_table_op, XEN_HC_physdev_op,
};

/*
 * True if [p, p + len) lies in one page the guest may write without
 * disturbing the module or itself: the garbage page (and its alias
 * windows' first pages), the scratch page, and the parts of shared_info
 * the module never writes (not vcpu_info[0..1], not the pending bitmap).
 */
static bool guest_writable(uint64_t p, uint64_t len)
{
	uint64_t pg = p & ~0xfffULL, off = p & 0xfff;

	if (off + len > 0x1000)
		return false;
	if (pg == RP || pg == SP || pg == W_X_UNMAPPED ||
	    pg == W_X_NOSLOT || pg == W_X_MMIO)
		return true;
	if (pg == SH)
		return (off >= 128 && off + len <= 2048) || off >= 2560;
	return false;
}

/* In the guest's own slot (also through the alias windows). */
static bool in_slot(uint64_t p)
{
	uint64_t pg = p & ~0xfffULL;

	return (p >= BASE && p < BASE + PAGES * 0x1000ULL) ||
	       pg == W_X_UNMAPPED || pg == W_X_NOSLOT || pg == W_X_MMIO;
}

static void wr64(uint64_t p, uint64_t v)
{
	*(volatile uint64_t *)p = v;
}

static uint64_t now_ns(unsigned int cpu)
{
	return guest_pvclock_ns(CLK + cpu * 64);
}

/*
 * Make the call safe for a guest that runs with interrupts off and must
 * reach its end: no SCHEDOP_block (it would halt until an interrupt), no
 * poll that could wait forever, no runstate area over its own code, stack
 * or mailbox. Everything else stays hostile.
 */
static void sanitize(unsigned int cpu, uint64_t *s, uint64_t nr, uint64_t *a)
{
	uint64_t r = xs(s);

	if (nr == XEN_HC_sched_op && a[0] == XEN_SCHEDOP_block)
		a[0] = XEN_SCHEDOP_yield;
	if (nr == XEN_HC_sched_op && a[0] == XEN_SCHEDOP_poll) {
		/* Hostile pointer; if the module can read it, bound it. */
		if (guest_writable(a[1], 24)) {
			if (r & 1) {	/* a well-formed poll */
				wr64(a[1], (r & 2) ? SP + ((r >> 8) & 0xff0) :
						     pick_ptr(s));
				*(volatile uint32_t *)(a[1] + 8) = (r >> 16) % 5;
			}
			wr64(a[1] + 16, (r & 4) ? 1 :
			     now_ns(cpu) + ((r >> 24) % 50000));
		} else if (in_slot(a[1])) {
			/* Readable, but where we or the module write. */
			a[1] = RP + ((r >> 8) & 0x7f8);
			wr64(a[1] + 16, 1);
		}
		/* Else unreadable (or crossing into unreadable): -EFAULT. */
	}
	if (nr == XEN_HC_vcpu_op &&
	    a[0] == XEN_VCPUOP_register_runstate_memory_area) {
		static const uint64_t targets[] = {
			0, TP + 0x100, UP - 20, SH + 0x20, UP + 0x7f0,
			W_UNMAPPED, W_NOSLOT + 8, W_LAPIC, W_X_UNMAPPED + 0xfe0,
			W_X_NOSLOT + 0xfe8, 0xdead000000000000ULL,
		};
		uint64_t t = targets[(r >> 8) % ARRAY_SIZE(targets)];

		/* The handle the module reads: a chosen hostile area. */
		if (guest_writable(a[2], 8)) {
			wr64(a[2], t);
		} else if (in_slot(a[2])) {
			a[2] = SP + 0x800;
			wr64(a[2], t);
		}
		/* Any other pointer: the module gets -EFAULT reading it. */
	}
}

/* The errnos Xen returns for each call this test makes. */
static bool allowed(uint64_t nr, uint64_t a0, int64_t ret)
{
	if (ret == -XEN_ENOSYS)
		return true;	/* exited; the "VMM" answered -ENOSYS */
	switch (nr) {
	case XEN_HC_event_channel_op:
		if (a0 == XEN_EVTCHNOP_send)
			return !ret || ret == -XEN_EFAULT || ret == -XEN_EINVAL;
		return false;
	case XEN_HC_sched_op:
		if (a0 == XEN_SCHEDOP_yield)
			return !ret;
		if (a0 == XEN_SCHEDOP_poll)
			return !ret || ret == -XEN_EFAULT || ret == -XEN_EINVAL;
		return false;
	case XEN_HC_vcpu_op:
		if (a0 == XEN_VCPUOP_set_singleshot_timer)
			return !ret || ret == -XEN_EFAULT || ret == -XEN_EINVAL ||
			       ret == -XEN_ETIME_;
		if (a0 == XEN_VCPUOP_stop_singleshot_timer)
			return !ret;
		if (a0 == XEN_VCPUOP_register_runstate_memory_area)
			return !ret || ret == -XEN_EFAULT || ret == -XEN_EINVAL;
		return false;
	case XEN_HC_set_timer_op:
		return !ret;
	case XEN_HC_xen_version:
		/* XENVER_version: major << 16 | minor; others 0 / -EFAULT. */
		if (a0 == 0)
			return ret >= 0 && ret <= 0xffffffffLL;
		return !ret || ret == -XEN_EFAULT || ret == -XEN_EINVAL;
	default:
		return false;
	}
}

/*
 * The guest never enables interrupts and makes no access that may fault:
 * any vector that arrives is a bug (the module's or KVM's, or a guest page
 * changed under it). Report where it hit instead of a bare triple fault.
 */
static void guest_unexpected_vector(struct ex_regs *regs)
{
	uint64_t cr2;

	__asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));
	GUEST_ASSERT_4(false, regs->vector, regs->rip, regs->error_code, cr2);
}

static void guest_code(void)
{
	volatile struct mailbox *mb;
	uint64_t s, nr, a[6], r, ret, i;
	unsigned int cpu, j;

	x2apic_enable();
	cpu = (unsigned int)x2apic_read_reg(APIC_ID);
	GUEST_ASSERT(cpu < NVCPUS);
	guest_pvclock_enable(CLK + cpu * 64);
	mb = MB(cpu);
	s = seeds[cpu];

	for (i = 0; i < ncalls; i++) {
		r = xs(&s);
		if (r & 1)
			nr = hot[(r >> 1) % ARRAY_SIZE(hot)];
		else if (r & 2)
			nr = (r >> 8) & 0x3f;
		else
			nr = xs(&s);
		for (j = 0; j < 6; j++)
			a[j] = pick_arg(&s);
		if ((r >> 20) % 4 && nr < 64)
			a[0] = (r >> 24) % 16;	/* a real sub-op mostly */
		if (nr == XEN_HC_vcpu_op && (r >> 30) % 2)
			a[1] = (r >> 31) % NVCPUS;	/* a real vCPU */
		sanitize(cpu, &s, nr, a);

		mb->nr = nr;
		for (j = 0; j < 6; j++)
			mb->a[j] = a[j];
		ret = xen_hcall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if ((int64_t)ret != -XEN_ENOSYS)
			mb->by_kernel_hint++;
		if (!allowed(nr, a[0], (int64_t)ret)) {
			j = mb->violations++;
			if (j < NREC) {
				mb->rec[j].nr = nr;
				mb->rec[j].a0 = a[0];
				mb->rec[j].a1 = a[1];
				mb->rec[j].a2 = a[2];
				mb->rec[j].ret = (int64_t)ret;
			}
		}
		mb->calls = i + 1;
		if ((i + 1) % SYNC_EVERY == 0)
			GUEST_SYNC(i + 1);
	}
	GUEST_DONE();
}

/* ------------------------------------------------------------------ */
/* Host: the "VMM"                                                      */

struct host {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu[NVCPUS];
	int xfd;
	uint8_t *hva;
	volatile int stop;
	uint64_t exits[NVCPUS], bad_exits[NVCPUS], syncs, reconfigs;
	uint64_t flips;
	/*
	 * What each vCPU thread last got from KVM_RUN, for the watchdog: a
	 * stuck call that keeps leaving KVM_RUN (the same exit, or an errno
	 * the loop retries) is not one that never leaves it.
	 */
	uint64_t runs[NVCPUS];
	int last_errno[NVCPUS];
	uint32_t last_exit[NVCPUS];
	/* For a stuck vCPU: its thread, and its registers on request. */
	pid_t tid[NVCPUS];
	pthread_t thread[NVCPUS];
	volatile int want_regs[NVCPUS];
	pthread_mutex_t lock;
	uint64_t rng;
};

static struct host H;

static uint64_t host_rnd(void)
{
	uint64_t r;

	pthread_mutex_lock(&H.lock);
	r = xs(&H.rng);
	pthread_mutex_unlock(&H.lock);
	return r;
}

/*
 * Change the configuration under the running guest as a VMM may: every
 * value here is valid, so each must succeed.
 */
static void reconfigure(void)
{
	uint64_t r = host_rnd();
	long e = 0;

	switch (r % 6) {
	case 0:
		e = xk_set_fast(H.xfd, (r >> 8) & XENKVM_FAST_ALL);
		break;
	case 1:
		e = xk_set_long_mode(H.xfd, (r >> 8) & 1);
		break;
	case 2:
		e = xk_set_shinfo(H.xfd, (r >> 8) & 3 ? SH >> 12 :
				  XENKVM_INVALID_GFN);
		break;
	case 3:
		e = xk_vcpu_set(H.xfd, 1, XENKVM_VCPU_ATTR_VCPU_INFO,
				(r >> 8) & 1 ? VI + 64 : XENKVM_INVALID_GPA);
		break;
	case 4:
		e = xk_vcpu_timer(H.xfd, (r >> 8) & 1, 3 + ((r >> 9) & 1),
				  (r >> 10) & 1 ? 1 : 0);
		break;
	default:
		e = xk_set_fast(H.xfd, XENKVM_FAST_ALL);
		break;
	}
	/* A page the churn made read-only a moment: -EFAULT (ABI). */
	TEST_ASSERT(e == 0 || (e == -EFAULT && (r % 6 == 2 || r % 6 == 3)),
		    "reconfigure case %lu: %ld", r % 6, e);
	__atomic_add_fetch(&H.reconfigs, 1, __ATOMIC_RELAXED);
}

/* SIGUSR1 only interrupts KVM_RUN (no SA_RESTART). */
static void kick_handler(int sig)
{
	(void)sig;
}

/*
 * Each host CPU's VM_HSAVE_PA (through /dev/cpu/N/msr, when there is
 * one). In the testbed a stuck vCPU has been seen with the host's own
 * RIP (just after its VMRUN), RSP and CR3 as guest state, and RAX the
 * address VMRUN was given. RAX equal to a CPU's host save area means the
 * host ran VMRUN on that area (its own memory corrupted); any other value
 * means the host's state was written into the real VMCB, by the CPU (in
 * the testbed: QEMU's SVM world switch).
 */
static void report_hsave_pa(unsigned long long rax)
{
	long cpu, ncpus = sysconf(_SC_NPROCESSORS_CONF);
	char path[48];
	uint64_t pa;
	int fd;

	for (cpu = 0; cpu < ncpus; cpu++) {
		snprintf(path, sizeof(path), "/dev/cpu/%ld/msr", cpu);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			ksft_print_msg("  %s: %s\n", path, strerror(errno));
			return;
		}
		if (pread(fd, &pa, sizeof(pa), 0xc0010117) == sizeof(pa))
			ksft_print_msg("  host CPU %ld: VM_HSAVE_PA %#lx%s\n", cpu,
				       (unsigned long)pa,
				       pa == (rax & ~0xfffULL) ? " = this vCPU's rax" : "");
		else
			ksft_print_msg("  host CPU %ld: VM_HSAVE_PA unreadable: %s\n",
				       cpu, strerror(errno));
		close(fd);
	}
}

/* On the vCPU thread, kicked out of KVM_RUN by the watchdog. */
static void report_stuck_regs(struct kvm_vcpu *vcpu, unsigned int idx)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	vcpu_regs_get(vcpu, &regs);
	vcpu_sregs_get(vcpu, &sregs);
	ksft_print_msg("  vCPU %u: rip %#llx rsp %#llx rax %#llx rflags %#llx cr2 %#llx cr3 %#llx\n",
		       idx, regs.rip, regs.rsp, regs.rax, regs.rflags,
		       sregs.cr2, sregs.cr3);
	report_hsave_pa(regs.rax);
	vcpu->run->immediate_exit = 0;
	H.want_regs[idx] = 0;
}

static void *vcpu_thread(void *arg)
{
	unsigned int idx = (unsigned int)(uintptr_t)arg;
	struct kvm_vcpu *vcpu = H.vcpu[idx];
	volatile struct mailbox *mb = addr_gva2hva(H.vm, LOG + idx * 1024);
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	int r, j;

	H.tid[idx] = syscall(SYS_gettid);
	H.thread[idx] = pthread_self();
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	for (;;) {
		r = __vcpu_run(vcpu);
		if (r < 0 && errno == EINTR && H.want_regs[idx])
			report_stuck_regs(vcpu, idx);
		__atomic_store_n(&H.last_errno[idx], r < 0 ? errno : 0, __ATOMIC_RELAXED);
		__atomic_store_n(&H.last_exit[idx], run->exit_reason, __ATOMIC_RELAXED);
		__atomic_add_fetch(&H.runs[idx], 1, __ATOMIC_RELAXED);
		if (r < 0 && (errno == EINTR || errno == EFAULT || errno == EAGAIN))
			continue;	/* EFAULT: a page read-only a moment */
		TEST_ASSERT(!r, "KVM_RUN: %s", strerror(errno));
		if (run->exit_reason == KVM_EXIT_XEN) {
			bool bad = run->xen.type != KVM_EXIT_XEN_HCALL ||
				   !run->xen.u.hcall.longmode ||
				   run->xen.u.hcall.cpl != 0 ||
				   run->xen.u.hcall.input != mb->nr;

			for (j = 0; j < 6; j++)
				bad |= run->xen.u.hcall.params[j] != mb->a[j];
			H.exits[idx]++;
			H.bad_exits[idx] += bad;
			/* Answer -ENOSYS: leave rax as the module set it. */
			run->kvm_dirty_regs = 0;
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			__atomic_add_fetch(&H.syncs, 1, __ATOMIC_RELAXED);
			reconfigure();
			break;
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			__REPORT_GUEST_ASSERT(uc, "vector %lu rip %#lx error code %#lx cr2 %#lx (vCPU %u after %lu calls)",
					      GUEST_ASSERT_ARG(uc, 0), GUEST_ASSERT_ARG(uc, 1),
					      GUEST_ASSERT_ARG(uc, 2), GUEST_ASSERT_ARG(uc, 3),
					      idx, (unsigned long)mb->calls);
			return NULL;
		default:
			/*
			 * KVM has already reset a vCPU that shut down: the
			 * call the guest was making is all that is left.
			 */
			ksft_print_msg("vCPU %u: last call nr %#lx args %#lx %#lx %#lx %#lx %#lx %#lx\n",
				       idx, (unsigned long)mb->nr,
				       (unsigned long)mb->a[0], (unsigned long)mb->a[1],
				       (unsigned long)mb->a[2], (unsigned long)mb->a[3],
				       (unsigned long)mb->a[4], (unsigned long)mb->a[5]);
			TEST_FAIL("vCPU %u: unexpected exit %s after %lu calls",
				  idx, exit_reason_str(run->exit_reason),
				  (unsigned long)mb->calls);
		}
	}
}

/* Host-side churn on the guest pages the module caches and reads. */
static void *churn_thread(void *arg)
{
	size_t pg = getpagesize();

	while (!H.stop) {
		TEST_ASSERT(!mprotect(H.hva, 2 * pg, PROT_READ), "mprotect ro");
		usleep(100);
		TEST_ASSERT(!mprotect(H.hva, 2 * pg, PROT_READ | PROT_WRITE),
			    "mprotect rw");
		/*
		 * The runstate pages only: the structures the guest builds
		 * for the module to read must not be zeroed under it (a poll
		 * with no ports and no timeout would then wait for an event
		 * that may never come, as on Xen).
		 */
		TEST_ASSERT(!madvise(H.hva + (TP - BASE), pg, MADV_DONTNEED) &&
			    !madvise(H.hva + (UP - BASE), pg, MADV_DONTNEED),
			    "MADV_DONTNEED");
		H.flips++;
		usleep(2000);
	}
	return NULL;
}

/*
 * Where a stuck vCPU's thread is: its scheduler state and kernel stack,
 * then, if a signal gets it out of KVM_RUN, the guest's registers.
 */
static void report_stuck_thread(unsigned int i)
{
	char path[64], line[256], *comm_end;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", H.tid[i]);
	f = fopen(path, "r");
	if (f && fgets(line, sizeof(line), f) && (comm_end = strrchr(line, ')')))
		ksft_print_msg("  thread %d state %.1s\n", H.tid[i], comm_end + 2);
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", H.tid[i]);
	f = fopen(path, "r");
	for (n = 0; f && n < 16 && fgets(line, sizeof(line), f); n++)
		ksft_print_msg("    %s", line);
	if (f)
		fclose(f);
	/*
	 * immediate_exit too: a signal that lands between two KVM_RUNs is
	 * taken in userspace and would not interrupt the next one.
	 */
	H.want_regs[i] = 1;
	H.vcpu[i]->run->immediate_exit = 1;
	pthread_kill(H.thread[i], SIGUSR1);
	for (n = 0; n < 20 && H.want_regs[i]; n++)
		usleep(100 * 1000);
	if (H.want_regs[i])
		ksft_print_msg("  vCPU %u did not leave KVM_RUN on a signal in 2 s\n", i);
}

/*
 * A call that never returns fails the test with what it was, instead of
 * running into the suite's timeout with nothing to show.
 */
static void watchdog(void)
{
	uint64_t last[NVCPUS] = {}, runs_then[NVCPUS] = {}, since[NVCPUS], done, exits;
	struct xenkvm_stats st;
	unsigned int i, j, running;

	for (i = 0; i < NVCPUS; i++)
		since[i] = xk_now_ms();
	do {
		usleep(200 * 1000);
		running = 0;
		for (i = 0; i < NVCPUS; i++) {
			volatile struct mailbox *mb = addr_gva2hva(H.vm, LOG + i * 1024);

			done = mb->calls;
			running += done < ncalls;
			if (done != last[i] || done >= ncalls) {
				last[i] = done;
				since[i] = xk_now_ms();
				runs_then[i] = __atomic_load_n(&H.runs[i], __ATOMIC_RELAXED);
				continue;
			}
			if (xk_now_ms() - since[i] < 60000)
				continue;
			ksft_print_msg("vCPU %u stuck for 60 s in call %lu: nr %#lx args",
				       i, (unsigned long)done, (unsigned long)mb->nr);
			for (j = 0; j < 6; j++)
				printf(" %#lx", (unsigned long)mb->a[j]);
			printf("\n");
			ksft_print_msg("  KVM_RUN returned %lu times since; last: %s, errno %d (%s)\n",
				       (unsigned long)(__atomic_load_n(&H.runs[i], __ATOMIC_RELAXED) -
						       runs_then[i]),
				       exit_reason_str(__atomic_load_n(&H.last_exit[i], __ATOMIC_RELAXED)),
				       __atomic_load_n(&H.last_errno[i], __ATOMIC_RELAXED),
				       strerror(__atomic_load_n(&H.last_errno[i], __ATOMIC_RELAXED)));
			for (exits = 0, j = 0; j < NVCPUS; j++)
				exits += H.exits[j];
			if (!xk_get_stats(H.xfd, &st))
				ksft_print_msg("  module: %llu calls in the kernel, %llu to userspace; the test saw %lu exits\n",
					       (unsigned long long)st.hcalls_in_kernel,
					       (unsigned long long)st.hcalls_to_user,
					       (unsigned long)exits);
			report_stuck_thread(i);
			if (mb->a[1] >= BASE && mb->a[1] + 24 <= BASE + PAGES * 0x1000ULL) {
				uint64_t *p = addr_gpa2hva(H.vm, mb->a[1]);

				ksft_print_msg("  at a1: %#lx %#lx %#lx\n",
					       (unsigned long)p[0], (unsigned long)p[1],
					       (unsigned long)p[2]);
			}
			TEST_FAIL("hypercall never completed");
		}
	} while (running);
}

/*
 * Host-side page churn under the running guest, only when asked
 * (XK_HOSTILE_CHURN=1), until the cause of what it triggers is known.
 * On the 6.1 testbed L1, with other testbed VMs loading the host, this
 * test with the churn panicked L1 three times in one evening ("corrupted
 * stack end detected inside scheduler", once with the guest's runstate
 * registrations turned off), and so did xenkvm_l1_churn_probe_test once:
 * a plain KVM guest under the same churn that xenkvm is not attached to,
 * but with the module loaded (its hypercall hook hands that VM's calls to
 * KVM). 20 probe runs without the module loaded did not panic. Neither
 * the module nor the nested layers is cleared (issues 4 and 10;
 * Documentation/testbed.rst). The caches' invalidation under churn is
 * gated by xenkvm_churn_test and xenkvm_storm_test.
 */
static bool churn_wanted(void)
{
	const char *e = getenv("XK_HOSTILE_CHURN");

	return e && strcmp(e, "0");
}

/*
 * In the nested testbed (KVM in a QEMU TCG L1) this test fails now and
 * then on both host kernels: 28 of 30 loops ran clean on the 6.1 L1. The
 * guest triple-faults right after a hypercall (a #PF on an instruction
 * fetch at its own code, error code 0x10), or a vCPU never comes back
 * from one, with L1's own RIP, RSP, CR3 and VMCB address in the guest
 * state: the state QEMU's VMRUN saves and its #VMEXIT restores. A plain
 * KVM guest with xenkvm.ko not loaded (xenkvm_l1_churn_probe_test)
 * triple-faults with the same signature, and QEMU 10.0.2's SVM world
 * switch has two known bugs on that path (Documentation/testbed.rst,
 * "TCG threads, and QEMU's world switch"); which of them, if either, does
 * this is not proven. So the test runs on every kernel, and run-suites'
 * one rerun in plain sight applies: a pass on the rerun is reported FLAKY
 * with the first run's output, two failures fail.
 */
int main(int argc, char **argv)
{
	pthread_t th[NVCPUS], churn_th;
	bool churn = churn_wanted();
	struct xenkvm_stats st;
	uint64_t total_calls = 0, total_exits = 0, viol = 0, bad = 0, hint = 0;
	uint64_t t0, host_seed = 0x853c49e6748fea9bULL;
	const char *env = getenv("XK_HOSTILE_CALLS");
	const char *seed = getenv("XK_HOSTILE_SEED");
	unsigned int i, j;
	uint8_t *p;
	int efd;

	if (argc > 1)
		env = argv[1];
	if (env && strtoull(env, NULL, 0))
		ncalls = (strtoull(env, NULL, 0) + NVCPUS - 1) / NVCPUS;
	if (seed && strtoull(seed, NULL, 0)) {
		for (i = 0; i < NVCPUS; i++)
			seeds[i] ^= strtoull(seed, NULL, 0) * (2 * i + 0x9e37);
		host_seed ^= strtoull(seed, NULL, 0);
	}

	close(xk_open());
	ksft_print_header();
	ksft_set_plan(5);

	memset(&H, 0, sizeof(H));
	pthread_mutex_init(&H.lock, NULL);
	H.rng = 0x1234567887654321ULL;
	TEST_ASSERT(!sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = kick_handler },
			       NULL), "sigaction");
	H.vm = vm_create_with_vcpus(NVCPUS, guest_code, H.vcpu);
	vm_init_descriptor_tables(H.vm);
	for (i = 0; i < NVCPUS; i++)
		vcpu_init_descriptor_tables(H.vcpu[i]);
	for (i = 0; i < 256; i++)
		vm_install_exception_handler(H.vm, i, guest_unexpected_vector);
	vm_userspace_mem_region_add(H.vm, VM_MEM_SRC_ANONYMOUS, BASE, SLOT,
				    PAGES, 0);
	virt_map(H.vm, BASE, BASE, PAGES);
	virt_pg_map(H.vm, W_NOSLOT, NOSLOT_GPA);
	virt_pg_map(H.vm, W_LAPIC, 0xfee00000ULL);
	virt_pg_map(H.vm, W_IOAPIC, 0xfec00000ULL);
	virt_pg_map(H.vm, W_X_UNMAPPED, RP);
	virt_pg_map(H.vm, W_X_NOSLOT, RP);
	virt_pg_map(H.vm, W_X_NOSLOT + 0x1000, NOSLOT_GPA + 0x1000);
	virt_pg_map(H.vm, W_X_MMIO, RP);
	virt_pg_map(H.vm, W_X_MMIO + 0x1000, 0xfee00000ULL);
	xk_hcall_guest_setup(H.vm);
	sync_global_to_guest(H.vm, ncalls);
	sync_global_to_guest(H.vm, seeds);

	H.hva = addr_gpa2hva(H.vm, BASE);
	p = H.hva + (RP - BASE);
	for (i = 0; i < 4096; i++) {
		host_seed = host_seed * 6364136223846793005ULL + 1;
		p[i] = (uint8_t)(host_seed >> 56);
	}

	H.xfd = xk_attach_intercept(H.vm);
	TEST_ASSERT(xk_set_shinfo(H.xfd, SH >> 12) == 0, "shared_info");
	for (i = 0; i < NVCPUS; i++) {
		TEST_ASSERT(xk_vcpu_set(H.xfd, i, XENKVM_VCPU_ATTR_VCPU_ID, i) == 0,
			    "vcpu id");
		TEST_ASSERT(xk_vcpu_set(H.xfd, i, XENKVM_VCPU_ATTR_UPCALL_VECTOR,
					0xf3) == 0, "vector");
		TEST_ASSERT(xk_vcpu_timer(H.xfd, i, 3 + i, 0) == 0, "timer port");
	}
	TEST_ASSERT(xk_vcpu_set(H.xfd, 1, XENKVM_VCPU_ATTR_VCPU_INFO, VI + 64) == 0,
		    "vcpu_info");
	/* In-kernel sends: ports 1..63 odd deliver, port 2 an eventfd. */
	for (i = 1; i < 64; i += 2)
		TEST_ASSERT(xk_evtchn_deliver(H.xfd, i, 1000 + i * 40, i % 2) == 0,
			    "deliver port");
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	TEST_ASSERT(xk_evtchn_eventfd(H.xfd, 2, efd) == 0, "eventfd port");

	t0 = xk_now_ms();
	if (churn)
		pthread_create(&churn_th, NULL, churn_thread, NULL);
	for (i = 0; i < NVCPUS; i++)
		pthread_create(&th[i], NULL, vcpu_thread, (void *)(uintptr_t)i);
	watchdog();
	for (i = 0; i < NVCPUS; i++)
		pthread_join(th[i], NULL);
	H.stop = 1;
	if (churn)
		pthread_join(churn_th, NULL);

	for (i = 0; i < NVCPUS; i++) {
		volatile struct mailbox *mb = addr_gva2hva(H.vm, LOG + i * 1024);

		total_calls += mb->calls;
		total_exits += H.exits[i];
		viol += mb->violations;
		bad += H.bad_exits[i];
		hint += mb->by_kernel_hint;
		for (j = 0; j < mb->violations && j < NREC; j++)
			ksft_print_msg("vCPU %u: hypercall %#lx (%#lx, %#lx, %#lx) returned %ld: not an errno Xen returns for it\n",
				       i, (unsigned long)mb->rec[j].nr,
				       (unsigned long)mb->rec[j].a0,
				       (unsigned long)mb->rec[j].a1,
				       (unsigned long)mb->rec[j].a2,
				       (long)mb->rec[j].ret);
	}
	ksft_print_msg("%lu calls on %u vCPUs (seeds %#lx %#lx) in %lu ms; %lu reconfigurations, %lu page flips%s\n",
		       (unsigned long)total_calls, NVCPUS,
		       (unsigned long)seeds[0], (unsigned long)seeds[1],
		       (unsigned long)(xk_now_ms() - t0),
		       (unsigned long)H.reconfigs, (unsigned long)H.flips,
		       churn ? "" : " (page churn off: XK_HOSTILE_CHURN=1 turns it on)");

	ksft_test_result(total_calls == ncalls * NVCPUS,
			 "guest made all %lu hostile hypercalls\n",
			 (unsigned long)total_calls);
	ksft_test_result(viol == 0,
			 "every result is an errno Xen returns for that call (%lu violations; %lu answered in-kernel)\n",
			 (unsigned long)viol, (unsigned long)hint);
	ksft_test_result(bad == 0,
			 "every exit carries the guest's number and arguments (%lu bad of %lu)\n",
			 (unsigned long)bad, (unsigned long)total_exits);
	TEST_ASSERT(xk_get_stats(H.xfd, &st) == 0, "stats");
	ksft_test_result(st.hcalls_in_kernel + st.hcalls_to_user == total_calls &&
			 st.hcalls_to_user == total_exits,
			 "each call counted once: %llu in-kernel + %llu exits (seen %lu)\n",
			 (unsigned long long)st.hcalls_in_kernel,
			 (unsigned long long)st.hcalls_to_user,
			 (unsigned long)total_exits);
	ksft_test_result(st.hcalls_in_kernel > 0 && hint > 0,
			 "in-kernel paths were reached: %llu calls, %llu polls, %llu timer fires\n",
			 (unsigned long long)st.hcalls_in_kernel,
			 (unsigned long long)st.polls,
			 (unsigned long long)st.timer_fires);

	close(H.xfd);
	close(efd);
	kvm_vm_free(H.vm);
	ksft_finished();
}
