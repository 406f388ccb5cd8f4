/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the xenkvm selftests: /dev/xenkvm access, the Xen
 * shared_info/vcpu_info layouts (facts of the Xen ABI, both widths), and
 * small host-side utilities. Tests print KTAP through kselftest.h and exit
 * 0 (pass), 4 (skip: no /dev/xenkvm or no KVM) or 1 (fail).
 */
#ifndef XENKVM_SELFTEST_H
#define XENKVM_SELFTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <time.h>

#include <linux/xenkvm.h>

#include "kselftest.h"

#define XENKVM_DEV	"/dev/xenkvm"

/* Xen ABI facts. 64-bit layout: xen_ulong_t words, 4096 2-level ports. */
#define XEN_VCPU_INFO_SIZE		64
#define XEN_LEGACY_VCPUS		32
#define XEN_SHINFO_PENDING_OFF		2048	/* both layouts */
#define XEN_SHINFO_MASK_OFF_64		2560
#define XEN_SHINFO_MASK_OFF_32		2176
#define XEN_VI_UPCALL_PENDING_OFF	0
#define XEN_VI_UPCALL_MASK_OFF		1
#define XEN_VI_PENDING_SEL_OFF_64	8
#define XEN_VI_PENDING_SEL_OFF_32	4
#define XEN_PORTS_64			4096
#define XEN_PORTS_32			1024

/* Open /dev/xenkvm, or skip the whole test when it is absent. */
static inline int xk_open(void)
{
	int fd = open(XENKVM_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		ksft_print_header();
		ksft_exit_skip("cannot open " XENKVM_DEV ": %s (xenkvm.ko not loaded?)\n",
			       strerror(errno));
	}
	return fd;
}

/* ioctl returning -errno on failure, the ioctl's value otherwise. */
static inline long xk_ioctl(int fd, unsigned long cmd, void *arg)
{
	long r = ioctl(fd, cmd, arg);

	return r < 0 ? -errno : r;
}

static inline long xk_attach_fd(int xfd, int vm_fd)
{
	struct xenkvm_attach a = { .vm_fd = vm_fd };

	return xk_ioctl(xfd, XENKVM_ATTACH, &a);
}

static inline long xk_set_long_mode(int xfd, int lm)
{
	struct xenkvm_attr a = { .type = XENKVM_ATTR_LONG_MODE };

	a.u.long_mode = lm;
	return xk_ioctl(xfd, XENKVM_SET_ATTR, &a);
}

static inline long xk_set_shinfo(int xfd, uint64_t gfn)
{
	struct xenkvm_attr a = { .type = XENKVM_ATTR_SHARED_INFO };

	a.u.shared_info.gfn = gfn;
	return xk_ioctl(xfd, XENKVM_SET_ATTR, &a);
}

static inline long xk_vcpu_set(int xfd, uint32_t vcpu, uint16_t type,
			       uint64_t val)
{
	struct xenkvm_vcpu_attr a = { .vcpu = vcpu, .type = type };

	switch (type) {
	case XENKVM_VCPU_ATTR_VCPU_ID:
		a.u.vcpu_id = (uint32_t)val;
		break;
	case XENKVM_VCPU_ATTR_UPCALL_VECTOR:
		a.u.vector = (uint8_t)val;
		break;
	default:
		a.u.gpa = val;
		break;
	}
	return xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &a);
}

static inline long xk_send(int xfd, uint32_t port, uint32_t xen_vcpu)
{
	struct xenkvm_evtchn_send s = { .port = port, .vcpu = xen_vcpu };

	return xk_ioctl(xfd, XENKVM_EVTCHN_SEND, &s);
}

static inline long xk_get_stats(int xfd, struct xenkvm_stats *st)
{
	memset(st, 0, sizeof(*st));
	return xk_ioctl(xfd, XENKVM_GET_STATS, st);
}

/* Route module GSI @gsi to @port on Xen vCPU @vcpu and bind eventfd @efd. */
static inline long xk_route_one(int xfd, struct xenkvm_irq_routing *r,
				uint32_t gsi, uint32_t port, uint32_t vcpu)
{
	struct xenkvm_irq_routing_entry *e = &r->entries[r->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = XENKVM_IRQ_ROUTING_XEN_EVTCHN;
	e->u.xen_evtchn.port = port;
	e->u.xen_evtchn.vcpu = vcpu;
	e->u.xen_evtchn.priority = XENKVM_EVTCHN_PRIORITY_2LEVEL;
	(void)xfd;
	return 0;
}

static inline long xk_irqfd_assign(int xfd, int efd, uint32_t gsi, uint32_t flags)
{
	struct xenkvm_irqfd f = { .fd = efd, .gsi = gsi, .flags = flags };

	return xk_ioctl(xfd, XENKVM_IRQFD, &f);
}

static inline uint64_t xk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Host view of a 2-level bitmap bit (same bytes in both layouts). */
static inline int xk_test_bit(const volatile void *base, unsigned int bit)
{
	return (((const volatile uint8_t *)base)[bit / 8] >> (bit % 8)) & 1;
}

/* Expect @expr (a -errno or value) to equal @want; report one KTAP line. */
#define XK_EXPECT(expr, want, what) do {				\
	long __r = (expr);						\
	ksft_test_result(__r == (long)(want), "%s: got %ld (%s), want %ld\n", \
			 what, __r, __r < 0 ? strerror((int)-__r) : "ok", \
			 (long)(want));					\
} while (0)

#endif /* XENKVM_SELFTEST_H */
