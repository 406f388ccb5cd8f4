/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny Xen HVM guest for the delivery tests, and the host harness that
 * runs it attached to /dev/xenkvm.
 *
 * Guest memory: an extra memslot (shared memory, so the host can drop
 * its mapping with MADV_DONTNEED without losing the contents) at
 * XKG_BASE, identity-mapped:
 *
 *   page 0      shared_info
 *   page 1      explicit vcpu_info areas, 64 bytes per vCPU
 *   page 2      struct xkg_hdr: layout, stop flag, per-vCPU counters
 *   pages 3-6   u32 count[4096]: events seen per port
 *   pages 7-10  u8 target[4096]: the vCPU each port is bound to
 *
 * Each vCPU enables its x2APIC, then halts with interrupts on until
 * hdr->stop. The upcall handler does what a Xen guest does: clear
 * evtchn_upcall_pending, take evtchn_pending_sel, and for each selected
 * word take the pending, unmasked ports bound to this vCPU (as Linux's
 * per-CPU binding mask does), clearing each pending bit with an atomic
 * test-and-clear and counting it once.
 */
#ifndef XENKVM_SELFTEST_GUEST_H
#define XENKVM_SELFTEST_GUEST_H

#include <pthread.h>
#include <sys/mman.h>

#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "xenkvm_test.h"

#define XKG_BASE		0xc0000000ULL
#define XKG_SLOT		10
#define XKG_PAGES		11
#define XKG_SHINFO		(XKG_BASE)
#define XKG_VINFO		(XKG_BASE + 0x1000)
#define XKG_HDR			(XKG_BASE + 0x2000)
#define XKG_COUNT		(XKG_BASE + 0x3000)
#define XKG_TARGET		(XKG_BASE + 0x7000)
#define XKG_VECTOR		0xf3
#define XKG_MAX_VCPUS		4
#define XKG_STOP_PORT		1

struct xkg_hdr {
	uint32_t long_mode;
	uint32_t stop;
	uint32_t use_vinfo[XKG_MAX_VCPUS];
	uint64_t upcalls[XKG_MAX_VCPUS];
	uint64_t events[XKG_MAX_VCPUS];
	uint64_t ready[XKG_MAX_VCPUS];
};

#define XKG_H		((volatile struct xkg_hdr *)XKG_HDR)
#define XKG_CNT		((volatile uint32_t *)XKG_COUNT)
#define XKG_TGT		((volatile uint8_t *)XKG_TARGET)

static inline void xkg_upcall(struct ex_regs *regs)
{
	uint32_t cpu = (uint32_t)x2apic_read_reg(APIC_ID);
	volatile uint8_t *vi;
	int lm = XKG_H->long_mode;
	unsigned int bits = lm ? 64 : 32;
	uint64_t sel, pend, mask;
	uint8_t *sh = (uint8_t *)XKG_SHINFO;
	unsigned int w, b, port;
	uint8_t was;

	if (cpu >= XKG_MAX_VCPUS)
		return;
	vi = XKG_H->use_vinfo[cpu] ? (uint8_t *)(XKG_VINFO + cpu * 64) :
				       sh + cpu * 64;
	XKG_H->upcalls[cpu]++;
	while (vi[0]) {
		vi[0] = 0;
		if (lm)
			sel = __atomic_exchange_n((uint64_t *)(vi + 8), 0,
						  __ATOMIC_SEQ_CST);
		else
			sel = __atomic_exchange_n((uint32_t *)(vi + 4), 0,
						  __ATOMIC_SEQ_CST);
		while (sel) {
			w = __builtin_ctzll(sel);
			sel &= sel - 1;
			if (lm) {
				pend = ((volatile uint64_t *)(sh + 2048))[w];
				mask = ((volatile uint64_t *)(sh + 2560))[w];
			} else {
				pend = ((volatile uint32_t *)(sh + 2048))[w];
				mask = ((volatile uint32_t *)(sh + 2176))[w];
			}
			pend &= ~mask;
			while (pend) {
				b = __builtin_ctzll(pend);
				pend &= pend - 1;
				port = w * bits + b;
				if (XKG_TGT[port] != cpu)
					continue;
				asm volatile("lock btrl %2, %0\n\tsetc %1"
					     : "+m"(*(volatile uint32_t *)(sh + 2048 + (port / 32) * 4)),
					       "=q"(was)
					     : "Ir"(port % 32)
					     : "memory", "cc");
				if (was) {
					__atomic_fetch_add(&XKG_CNT[port], 1,
							   __ATOMIC_SEQ_CST);
					XKG_H->events[cpu]++;
				}
			}
		}
	}
	x2apic_write_reg(APIC_EOI, 0);
}

static inline void xkg_main(void)
{
	uint32_t cpu;

	x2apic_enable();
	cpu = (uint32_t)x2apic_read_reg(APIC_ID);
	GUEST_ASSERT(cpu < XKG_MAX_VCPUS);
	XKG_H->ready[cpu] = 1;
	GUEST_SYNC(1);
	for (;;) {
		asm volatile("cli" ::: "memory");
		if (XKG_H->stop)
			break;
		asm volatile("sti; hlt; cli" ::: "memory");
	}
	asm volatile("sti" ::: "memory");
	GUEST_DONE();
}

/* ------------------------------------------------------------------ */
/* Host side                                                            */

struct xkh {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu[XKG_MAX_VCPUS];
	pthread_t thread[XKG_MAX_VCPUS];
	unsigned int nr_vcpus;
	int xfd;
	int long_mode;
	uint8_t *shinfo;		/* host view, through the memslot mapping */
	uint8_t *vinfo;
	volatile struct xkg_hdr *hdr;
	volatile uint32_t *count;
	volatile uint8_t *target;
	volatile int failed;
	char why[256];
};

static inline void *xkh_vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;
	int r;

	for (;;) {
		r = __vcpu_run(vcpu);
		if (r < 0 && (errno == EINTR || errno == EFAULT || errno == EAGAIN))
			continue;	/* EFAULT: host mapping read-only a moment */
		TEST_ASSERT(!r, "KVM_RUN: %s", strerror(errno));
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			break;
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			return NULL;
		default:
			TEST_FAIL("vCPU %u: unexpected exit %u", vcpu->id,
				  vcpu->run->exit_reason);
		}
	}
}

/* Bind @port to Xen vCPU @cpu in the guest's view. */
static inline void xkh_bind(struct xkh *h, unsigned int port, unsigned int cpu)
{
	h->target[port] = cpu;
}

/* Open /dev/xenkvm, attach h->vm and configure shared_info and vCPUs. */
static inline void xkh_attach(struct xkh *h)
{
	unsigned int i;

	h->xfd = xk_open();
	TEST_ASSERT(xk_attach_fd(h->xfd, h->vm->fd) == 0, "attach");
	TEST_ASSERT(xk_set_long_mode(h->xfd, h->long_mode) == 0, "long mode");
	TEST_ASSERT(xk_set_shinfo(h->xfd, XKG_SHINFO >> 12) == 0, "shared_info");
	for (i = 0; i < h->nr_vcpus; i++) {
		long r;

		r = xk_vcpu_set(h->xfd, i, XENKVM_VCPU_ATTR_VCPU_ID, i);
		TEST_ASSERT(r == 0, "VCPU_ID %u: %ld", i, r);
		r = xk_vcpu_set(h->xfd, i, XENKVM_VCPU_ATTR_VCPU_INFO,
				h->hdr->use_vinfo[i] ? XKG_VINFO + 64 * i :
				XENKVM_INVALID_GPA);
		TEST_ASSERT(r == 0, "VCPU_INFO %u: %ld", i, r);
		r = xk_vcpu_set(h->xfd, i, XENKVM_VCPU_ATTR_UPCALL_VECTOR,
				XKG_VECTOR);
		TEST_ASSERT(r == 0, "UPCALL_VECTOR %u: %ld", i, r);
	}
}

/*
 * Create a VM with @nr vCPUs running the test guest, attach it, set the
 * layout and areas. Bit i of @vinfo_mask: vCPU i uses an explicit
 * vcpu_info (else its shared_info slot).
 */
static inline void xkh_create(struct xkh *h, unsigned int nr, int long_mode,
			      unsigned int vinfo_mask)
{
	unsigned int i;

	memset(h, 0, sizeof(*h));
	h->nr_vcpus = nr;
	h->long_mode = long_mode;
	h->vm = vm_create_with_vcpus(nr, xkg_main, h->vcpu);
	vm_userspace_mem_region_add(h->vm, VM_MEM_SRC_SHMEM, XKG_BASE, XKG_SLOT,
				    XKG_PAGES, 0);
	virt_map(h->vm, XKG_BASE, XKG_BASE, XKG_PAGES);
	vm_init_descriptor_tables(h->vm);
	for (i = 0; i < nr; i++)
		vcpu_init_descriptor_tables(h->vcpu[i]);
	vm_install_exception_handler(h->vm, XKG_VECTOR, xkg_upcall);

	h->shinfo = addr_gpa2hva(h->vm, XKG_SHINFO);
	h->vinfo = addr_gpa2hva(h->vm, XKG_VINFO);
	h->hdr = addr_gpa2hva(h->vm, XKG_HDR);
	h->count = addr_gpa2hva(h->vm, XKG_COUNT);
	h->target = addr_gpa2hva(h->vm, XKG_TARGET);
	memset((void *)h->target, 0xff, 4096);
	h->hdr->long_mode = long_mode;
	xkh_bind(h, XKG_STOP_PORT, 0);

	for (i = 0; i < nr; i++)
		h->hdr->use_vinfo[i] = !!(vinfo_mask & (1u << i));
	xkh_attach(h);
}

static inline void xkh_start(struct xkh *h)
{
	uint64_t t0 = xk_now_ms();
	unsigned int i;

	for (i = 0; i < h->nr_vcpus; i++)
		pthread_create(&h->thread[i], NULL, xkh_vcpu_thread, h->vcpu[i]);
	for (i = 0; i < h->nr_vcpus; i++)
		while (!h->hdr->ready[i]) {
			TEST_ASSERT(xk_now_ms() - t0 < 60000, "vCPU %u never started", i);
			usleep(1000);
		}
}

/*
 * Wait until count[port] reaches @want; false if it does not within
 * @ms (a liveness bound, not a performance criterion).
 */
static inline bool xkh_wait_count(struct xkh *h, unsigned int port,
				  uint32_t want, unsigned int ms)
{
	uint64_t t0 = xk_now_ms();

	while (h->count[port] < want) {
		if (xk_now_ms() - t0 > ms)
			return false;
		usleep(100);
	}
	return true;
}

/* Stop every vCPU (an event on the stop port wakes each), join, close. */
static inline void xkh_destroy(struct xkh *h)
{
	struct timespec ts;
	unsigned int i, tries;

	h->hdr->stop = 1;
	for (i = 0; i < h->nr_vcpus; i++) {
		xkh_bind(h, XKG_STOP_PORT, i);
		for (tries = 0; tries < 600; tries++) {
			/* Clear a leftover pending bit: the send raises it anew. */
			__atomic_fetch_and(&h->shinfo[2048], ~(1u << XKG_STOP_PORT),
					   __ATOMIC_SEQ_CST);
			xk_send(h->xfd, XKG_STOP_PORT, i);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			if (!pthread_timedjoin_np(h->thread[i], NULL, &ts))
				break;
		}
		TEST_ASSERT(tries < 600, "vCPU %u does not stop", i);
	}
	close(h->xfd);
	kvm_vm_free(h->vm);
}

/* Host-side bitmap edits of shared_info (the guest is not racing them). */
static inline void xkh_shinfo_bit(struct xkh *h, unsigned int off,
				  unsigned int port, int val)
{
	volatile uint8_t *p = h->shinfo + off + port / 8;

	if (val)
		__atomic_fetch_or(p, 1u << (port % 8), __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(p, ~(1u << (port % 8)), __ATOMIC_SEQ_CST);
}

#define XKH_MASK_OFF(h)	((h)->long_mode ? XEN_SHINFO_MASK_OFF_64 : XEN_SHINFO_MASK_OFF_32)

#endif /* XENKVM_SELFTEST_GUEST_H */
