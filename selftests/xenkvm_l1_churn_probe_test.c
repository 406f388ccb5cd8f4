// SPDX-License-Identifier: GPL-2.0
/*
 * A control for xenkvm_hostile_test, without xenkvm.ko: does the L1 host
 * kernel's own KVM keep a guest alive under the same host-side churn?
 *
 * Two vCPUs run with interrupts off, make hypercalls KVM answers itself
 * (numbers it does not know: -KVM_ENOSYS, no exit), exit to userspace
 * through port I/O on every other round, and write the pages the hostile
 * test's guest writes, while a host thread flips the first two pages of
 * the slot read-only and back and drops two others with MADV_DONTNEED,
 * exactly as the hostile test's churn thread does. The guest has an IDT
 * that reports any vector it takes; a KVM_EXIT_SHUTDOWN (triple fault)
 * or a reported vector fails the probe.
 *
 * Nothing here touches /dev/xenkvm, so a failure is the host's (its KVM,
 * or the testbed's nested virtualization), not the module's. On the 6.12
 * testbed L1 (KVM nested on QEMU TCG) it has failed this way, which is
 * why xenkvm_hostile_test and robust/30-churn-zram-swap skip there
 * (issue 10). It is opt-in (XK_L1_PROBE=1) so that it never gates
 * make check; XK_L1_PROBE_ROUNDS sets the rounds per vCPU.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"

#define NVCPUS		2
#define BASE		0xc0000000ULL
#define SLOT		10
#define PAGES		8
#define SH		(BASE + 0x0000)	/* read-only windows, as shared_info */
#define RP		(BASE + 0x2000)	/* plain guest writes */
#define TP		(BASE + 0x4000)	/* MADV_DONTNEED, as the runstate pages */
#define LOG		(BASE + 0x5000)	/* per-vCPU progress */
#define UP		(BASE + 0x7000)	/* MADV_DONTNEED */
#define PROBE_PORT	0x99
#define UNKNOWN_HCALL	0x10000		/* no KVM hypercall has this number */

static uint64_t rounds = 60000;
static volatile int stop;
static uint8_t *hva;

static void guest_unexpected_vector(struct ex_regs *regs)
{
	uint64_t cr2;

	__asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));
	GUEST_ASSERT_4(false, regs->vector, regs->rip, regs->error_code, cr2);
}

static void guest_code(void)
{
	volatile uint64_t *done;
	uint64_t i, s, ret;
	unsigned int cpu;

	x2apic_enable();
	cpu = (unsigned int)x2apic_read_reg(APIC_ID);
	done = (volatile uint64_t *)(LOG + cpu * 1024);
	s = 0x2545f4914f6cdd1dULL ^ cpu;
	for (i = 0; i < rounds; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		*(volatile uint64_t *)(RP + (s & 0xff8)) = s;
		if ((s >> 12) & 1)
			*(volatile uint64_t *)(SH + 128 + ((s >> 16) & 0x3f8)) = s;
		__asm__ __volatile__("vmmcall"
				     : "=a"(ret)
				     : "a"(UNKNOWN_HCALL + (s & 0xff)), "b"(s),
				       "c"(0), "d"(0), "S"(s)
				     : "memory");
		if (s & 1)
			__asm__ __volatile__("outb %%al, %%dx"
					     : : "a"(0), "d"(PROBE_PORT) : "memory");
		*done = i + 1;
	}
	GUEST_DONE();
}

static struct kvm_vcpu *vcpus[NVCPUS];

static uint64_t progress(unsigned int idx)
{
	return *(volatile uint64_t *)(hva + (LOG - BASE) + idx * 1024);
}

static void *vcpu_thread(void *arg)
{
	unsigned int idx = (unsigned int)(uintptr_t)arg;
	struct kvm_vcpu *vcpu = vcpus[idx];
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	int r;

	for (;;) {
		r = __vcpu_run(vcpu);
		/* EFAULT: a write while the page was read-only a moment. */
		if (r < 0 && (errno == EINTR || errno == EFAULT || errno == EAGAIN))
			continue;
		TEST_ASSERT(!r, "KVM_RUN: %s", strerror(errno));
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PROBE_PORT)
			continue;
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			__REPORT_GUEST_ASSERT(uc, "vector %lu rip %#lx error code %#lx cr2 %#lx (vCPU %u after %lu rounds)",
					      GUEST_ASSERT_ARG(uc, 0), GUEST_ASSERT_ARG(uc, 1),
					      GUEST_ASSERT_ARG(uc, 2), GUEST_ASSERT_ARG(uc, 3),
					      idx, (unsigned long)progress(idx));
			return NULL;
		default:
			TEST_FAIL("vCPU %u: unexpected exit %s after %lu rounds, without xenkvm.ko",
				  idx, exit_reason_str(run->exit_reason),
				  (unsigned long)progress(idx));
		}
	}
}

/* The hostile test's churn thread, verbatim in what it does. */
static void *churn_thread(void *arg)
{
	size_t pg = getpagesize();

	while (!stop) {
		TEST_ASSERT(!mprotect(hva, 2 * pg, PROT_READ), "mprotect ro");
		usleep(100);
		TEST_ASSERT(!mprotect(hva, 2 * pg, PROT_READ | PROT_WRITE),
			    "mprotect rw");
		TEST_ASSERT(!madvise(hva + (TP - BASE), pg, MADV_DONTNEED) &&
			    !madvise(hva + (UP - BASE), pg, MADV_DONTNEED),
			    "MADV_DONTNEED");
		usleep(2000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *env = getenv("XK_L1_PROBE_ROUNDS");
	pthread_t th[NVCPUS], churn;
	struct kvm_vm *vm;
	unsigned int i;

	ksft_print_header();
	if (!getenv("XK_L1_PROBE"))
		ksft_exit_skip("opt-in control for the L1 host (XK_L1_PROBE=1)\n");
	if (env && strtoull(env, NULL, 0))
		rounds = strtoull(env, NULL, 0);
	ksft_set_plan(1);

	vm = vm_create_with_vcpus(NVCPUS, guest_code, vcpus);
	vm_init_descriptor_tables(vm);
	for (i = 0; i < NVCPUS; i++)
		vcpu_init_descriptor_tables(vcpus[i]);
	for (i = 0; i < 256; i++)
		vm_install_exception_handler(vm, i, guest_unexpected_vector);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, BASE, SLOT,
				    PAGES, 0);
	virt_map(vm, BASE, BASE, PAGES);
	sync_global_to_guest(vm, rounds);
	hva = addr_gpa2hva(vm, BASE);

	pthread_create(&churn, NULL, churn_thread, NULL);
	for (i = 0; i < NVCPUS; i++)
		pthread_create(&th[i], NULL, vcpu_thread, (void *)(uintptr_t)i);
	for (i = 0; i < NVCPUS; i++)
		pthread_join(th[i], NULL);
	stop = 1;
	pthread_join(churn, NULL);

	ksft_test_result(progress(0) == rounds && progress(1) == rounds,
			 "KVM kept the guest alive under churn: %lu + %lu rounds of %lu\n",
			 (unsigned long)progress(0), (unsigned long)progress(1),
			 (unsigned long)rounds);
	kvm_vm_free(vm);
	ksft_finished();
}
