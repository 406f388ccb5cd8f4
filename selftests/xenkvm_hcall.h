/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the hypercall selftests (xenkvm_hcall_*_test.c): issuing a
 * Xen hypercall from a selftest guest with Xen's 64-bit register
 * convention (rax nr; rdi rsi rdx r10 r8 r9), with vmmcall on AMD and
 * vmcall on Intel, and host-side setup of an intercepted VM.
 *
 * Xen ABI numbers used here are facts of the Xen interface.
 */
#ifndef XENKVM_HCALL_SELFTEST_H
#define XENKVM_HCALL_SELFTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm_util.h"
#include "processor.h"
#include "xenkvm_test.h"

#define XEN_HC_set_timer_op	15
#define XEN_HC_xen_version	17
#define XEN_HC_vcpu_op		24
#define XEN_HC_sched_op		29
#define XEN_HC_event_channel_op	32
#define XEN_HC_hvm_op		34

#define XEN_SCHEDOP_yield	0
#define XEN_SCHEDOP_block	1
#define XEN_SCHEDOP_poll	3

#define XEN_VCPUOP_register_runstate_memory_area	5
#define XEN_VCPUOP_set_singleshot_timer			8
#define XEN_VCPUOP_stop_singleshot_timer		9
#define XEN_VCPU_SSHOTTMR_future			1

#define XEN_EVTCHNOP_send	4

#define XEN_RUNSTATE_running	0
#define XEN_RUNSTATE_runnable	1
#define XEN_RUNSTATE_blocked	2
#define XEN_RUNSTATE_offline	3
#define XEN_RUNSTATE_UPDATE	(1ULL << 63)

#define XEN_EPERM	1
#define XEN_EFAULT	14
#define XEN_EINVAL	22
#define XEN_ENOSYS	38
#define XEN_ETIME	62

#define KVM_ENOSYS_RET	((uint64_t)-1000)	/* KVM's -KVM_ENOSYS */

struct xen_sched_poll {
	uint64_t ports;		/* guest pointer to uint32_t[] */
	uint32_t nr_ports;
	uint32_t pad;
	uint64_t timeout;	/* absolute Xen system time; 0 = none */
};

struct xen_singleshot {
	uint64_t timeout_abs_ns;
	uint32_t flags;
	uint32_t pad;
};

struct xen_runstate_info {
	int32_t state;
	uint32_t pad;
	uint64_t state_entry_time;
	uint64_t time[4];
};

/*
 * The guest's own clock: KVM's pvclock (the source of Xen system time),
 * enabled with MSR_KVM_SYSTEM_TIME_NEW at a guest-physical address that
 * the guest also reaches at the same virtual address.
 */
struct xk_pvclock {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};

#define XK_MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01

static inline void guest_pvclock_enable(uint64_t gpa)
{
	wrmsr(XK_MSR_KVM_SYSTEM_TIME_NEW, gpa | 1);
}

static inline uint64_t guest_pvclock_ns(uint64_t gva)
{
	volatile struct xk_pvclock *p = (volatile struct xk_pvclock *)gva;
	uint64_t delta, ns;
	uint32_t v;

	do {
		v = p->version;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		delta = rdtsc() - p->tsc_timestamp;
		if (p->tsc_shift < 0)
			delta >>= -p->tsc_shift;
		else
			delta <<= p->tsc_shift;
		ns = p->system_time +
		     (uint64_t)(((unsigned __int128)delta *
				 p->tsc_to_system_mul) >> 32);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((v & 1) || v != p->version);
	return ns;
}

/* Set by the host (sync_global_to_guest) before the guest runs. */
static bool xk_guest_vmmcall;

static inline uint64_t xen_hcall6(uint64_t nr, uint64_t a0, uint64_t a1,
				  uint64_t a2, uint64_t a3, uint64_t a4,
				  uint64_t a5)
{
	register uint64_t r10 __asm__("r10") = a3;
	register uint64_t r8 __asm__("r8") = a4;
	register uint64_t r9 __asm__("r9") = a5;
	uint64_t ret;

	if (xk_guest_vmmcall)
		__asm__ __volatile__("vmmcall"
				     : "=a"(ret)
				     : "a"(nr), "D"(a0), "S"(a1), "d"(a2),
				       "r"(r10), "r"(r8), "r"(r9)
				     : "memory");
	else
		__asm__ __volatile__("vmcall"
				     : "=a"(ret)
				     : "a"(nr), "D"(a0), "S"(a1), "d"(a2),
				       "r"(r10), "r"(r8), "r"(r9)
				     : "memory");
	return ret;
}

static inline uint64_t xen_hcall2(uint64_t nr, uint64_t a0, uint64_t a1)
{
	return xen_hcall6(nr, a0, a1, 0, 0, 0, 0);
}

static inline uint64_t xen_hcall3(uint64_t nr, uint64_t a0, uint64_t a1,
				  uint64_t a2)
{
	return xen_hcall6(nr, a0, a1, a2, 0, 0, 0);
}

/* Host: choose the guest's hypercall instruction for this CPU. */
static inline void xk_hcall_guest_setup(struct kvm_vm *vm)
{
	xk_guest_vmmcall = is_amd_cpu();
	sync_global_to_guest(vm, xk_guest_vmmcall);
}

static inline long xk_set_hcall(int xfd, uint32_t flags)
{
	struct xenkvm_attr a = { .type = XENKVM_ATTR_HCALL };

	a.u.hcall.flags = flags;
	return xk_ioctl(xfd, XENKVM_SET_ATTR, &a);
}

static inline long xk_set_fast(int xfd, uint32_t fast)
{
	struct xenkvm_attr a = { .type = XENKVM_ATTR_FAST_PATHS };

	a.u.fast_paths = fast;
	return xk_ioctl(xfd, XENKVM_SET_ATTR, &a);
}

static inline long xk_evtchn_deliver(int xfd, uint32_t send_port,
				     uint32_t deliver_port, uint32_t vcpu)
{
	struct xenkvm_attr a = { .type = XENKVM_ATTR_EVTCHN };

	a.u.evtchn.send_port = send_port;
	a.u.evtchn.type = XENKVM_EVTCHN_DELIVER;
	a.u.evtchn.deliver_port = deliver_port;
	a.u.evtchn.vcpu = vcpu;
	a.u.evtchn.eventfd = -1;	/* unused; as the VMM passes it */
	return xk_ioctl(xfd, XENKVM_SET_ATTR, &a);
}

static inline long xk_evtchn_eventfd(int xfd, uint32_t send_port, int efd)
{
	struct xenkvm_attr a = { .type = XENKVM_ATTR_EVTCHN };

	a.u.evtchn.send_port = send_port;
	a.u.evtchn.type = XENKVM_EVTCHN_EVENTFD;
	a.u.evtchn.eventfd = efd;
	return xk_ioctl(xfd, XENKVM_SET_ATTR, &a);
}

static inline long xk_vcpu_timer(int xfd, uint32_t vcpu, uint32_t port,
				 uint64_t expires)
{
	struct xenkvm_vcpu_attr a = {
		.vcpu = vcpu, .type = XENKVM_VCPU_ATTR_TIMER,
	};

	a.u.timer.port = port;
	a.u.timer.expires_ns = expires;
	return xk_ioctl(xfd, XENKVM_VCPU_SET_ATTR, &a);
}

/* Attach a fresh /dev/xenkvm file to @vm and catch its hypercalls. */
static inline int xk_attach_intercept(struct kvm_vm *vm)
{
	int xfd = xk_open();

	TEST_ASSERT(xk_attach_fd(xfd, vm->fd) == 0, "XENKVM_ATTACH");
	TEST_ASSERT(xk_set_hcall(xfd, XENKVM_HCALL_INTERCEPT) == 0,
		    "XENKVM_ATTR_HCALL");
	return xfd;
}

/* The guest's kvmclock now: KVM_GET_CLOCK (the Xen system time base). */
static inline uint64_t xk_vm_clock_ns(struct kvm_vm *vm)
{
	struct kvm_clock_data d = { 0 };

	vm_ioctl(vm, KVM_GET_CLOCK, &d);
	return d.clock;
}

/*
 * Run until the next exit that is not a signal; returns KVM_RUN's
 * -errno or 0.
 */
static inline int xk_run(struct kvm_vcpu *vcpu)
{
	int r;

	do {
		r = _vcpu_run(vcpu);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

#endif /* XENKVM_HCALL_SELFTEST_H */
