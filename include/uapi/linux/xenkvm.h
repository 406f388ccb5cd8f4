/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * xenkvm: Xen HVM guest support for stock KVM hosts.
 *
 * The ioctl ABI of /dev/xenkvm. See Documentation/xenkvm-abi.rst.
 *
 * One open file of /dev/xenkvm attaches to at most one KVM VM of the
 * caller's own process (XENKVM_ATTACH). All other ioctls act on that VM.
 * Structures are versioned by XENKVM_API_VERSION, padded for growth, and
 * carry flags that must be zero unless defined: unknown flags and nonzero
 * padding get -EINVAL.
 */
#ifndef _UAPI_LINUX_XENKVM_H
#define _UAPI_LINUX_XENKVM_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define XENKVM_API_VERSION	1

/* Capabilities reported by XENKVM_GET_CAPS (bit numbers of caps). */
#define XENKVM_CAP_EVTCHN_2L		(1ULL << 0)  /* 2-level delivery */
#define XENKVM_CAP_COMPAT_LAYOUT	(1ULL << 1)  /* 32-bit shared_info */
#define XENKVM_CAP_IRQ_ROUTING		(1ULL << 2)  /* XENKVM_SET_GSI_ROUTING */
#define XENKVM_CAP_IRQFD		(1ULL << 3)  /* XENKVM_IRQFD */
#define XENKVM_CAP_HCALL_INTERCEPT	(1ULL << 4)  /* vmcall/vmmcall caught */
#define XENKVM_CAP_FAST_SEND		(1ULL << 5)  /* in-kernel EVTCHNOP_send */
#define XENKVM_CAP_FAST_TIMER		(1ULL << 6)  /* in-kernel timers */
#define XENKVM_CAP_FAST_POLL		(1ULL << 7)  /* in-kernel SCHEDOP_poll */
#define XENKVM_CAP_RUNSTATE		(1ULL << 8)  /* in-kernel runstate */
#define XENKVM_CAP_TIME_INFO		(1ULL << 9)  /* vcpu_info.time kept */

struct xenkvm_caps {
	__u32 api_version;	/* XENKVM_API_VERSION */
	__u32 flags;		/* none defined; 0 */
	__u64 caps;		/* XENKVM_CAP_* */
	__u32 max_ports_2l;	/* 4096 */
	__u32 max_vcpus;	/* Xen vCPU ids accepted: 0 .. max_vcpus - 1 */
	__u64 pad[6];
};

struct xenkvm_attach {
	__s32 vm_fd;		/* a KVM VM fd of the calling process */
	__u32 flags;		/* none defined; 0 */
	__u64 pad[3];
};

/* Sentinels: "not set" / "clear this area". */
#define XENKVM_INVALID_GFN	(~0ULL)
#define XENKVM_INVALID_GPA	(~0ULL)

/* In-kernel fast paths, XENKVM_ATTR_FAST_PATHS. All on by default. */
#define XENKVM_FAST_EVTCHN_SEND	(1U << 0)
#define XENKVM_FAST_TIMER	(1U << 1)
#define XENKVM_FAST_POLL	(1U << 2)
#define XENKVM_FAST_RUNSTATE	(1U << 3)
#define XENKVM_FAST_ALL		0xfU

/*
 * Hypercalls caught for this VM. While 0 (the default after attach), the
 * VM's vmcall/vmmcall keep stock KVM behaviour.
 */
#define XENKVM_HCALL_INTERCEPT	(1U << 0)

/* VM attribute types (struct xenkvm_attr.type). */
#define XENKVM_ATTR_LONG_MODE		0  /* u.long_mode: 1 = 64-bit layout */
#define XENKVM_ATTR_SHARED_INFO		1  /* u.shared_info.gfn */
#define XENKVM_ATTR_FAST_PATHS		2  /* u.fast_paths: XENKVM_FAST_* */
#define XENKVM_ATTR_HCALL		3  /* u.hcall.flags: XENKVM_HCALL_* */
#define XENKVM_ATTR_EVTCHN		4  /* u.evtchn: in-kernel send ports */
#define XENKVM_ATTR_EVTCHN_RESET	5  /* forget all u.evtchn ports */
#define XENKVM_ATTR_XEN_VERSION		6  /* u.xen_version: major << 16 | minor */

/* u.evtchn.type: what EVTCHNOP_send on send_port does in-kernel. */
#define XENKVM_EVTCHN_DELIVER	0  /* set deliver_port pending on vcpu */
#define XENKVM_EVTCHN_EVENTFD	1  /* signal eventfd */
/* u.evtchn.flags */
#define XENKVM_EVTCHN_DEASSIGN	(1U << 0)

struct xenkvm_attr {
	__u16 type;
	__u16 pad0;
	__u32 flags;		/* none defined; 0 */
	union {
		__u8 long_mode;
		struct {
			__u64 gfn;
		} shared_info;
		__u32 fast_paths;
		struct {
			__u32 flags;
		} hcall;
		struct {
			__u32 send_port;	/* the guest's port */
			__u32 type;		/* XENKVM_EVTCHN_* */
			__u32 flags;		/* XENKVM_EVTCHN_DEASSIGN */
			__u32 deliver_port;	/* DELIVER: port to raise */
			__u32 vcpu;		/* DELIVER: Xen vCPU id */
			__s32 eventfd;		/* EVENTFD */
			__u32 pad[2];
		} evtchn;
		__u32 xen_version;
		__u64 pad[8];
	} u;
};

/* vCPU attribute types (struct xenkvm_vcpu_attr.type). */
#define XENKVM_VCPU_ATTR_VCPU_ID	0  /* u.vcpu_id: the Xen vCPU id */
#define XENKVM_VCPU_ATTR_VCPU_INFO	1  /* u.gpa of vcpu_info */
#define XENKVM_VCPU_ATTR_UPCALL_VECTOR	2  /* u.vector; 0 = none */
#define XENKVM_VCPU_ATTR_RUNSTATE_ADDR	3  /* u.gpa of vcpu_runstate_info */
#define XENKVM_VCPU_ATTR_RUNSTATE_DATA	4  /* u.runstate */
#define XENKVM_VCPU_ATTR_TIMER		5  /* u.timer */

struct xenkvm_vcpu_attr {
	__u32 vcpu;		/* KVM vCPU index (order of KVM_CREATE_VCPU) */
	__u16 type;
	__u16 pad0;
	union {
		__u32 vcpu_id;
		__u64 gpa;
		__u8 vector;
		struct {
			__u64 state;		/* RUNSTATE_* of Xen */
			__u64 state_entry_time;
			__u64 time[4];
		} runstate;
		struct {
			__u32 port;		/* VIRQ_TIMER port; 0 = none */
			__u32 pad;
			__u64 expires_ns;	/* Xen system time; 0 = off */
		} timer;
		__u64 pad[8];
	} u;
};

/*
 * IRQ routing: a table of module GSIs (a namespace of this attachment's
 * own, independent of KVM's GSIs), each raising one event channel port.
 */
#define XENKVM_IRQ_ROUTING_XEN_EVTCHN	1
#define XENKVM_EVTCHN_PRIORITY_2LEVEL	0
#define XENKVM_MAX_GSIS			4096

struct xenkvm_irq_routing_entry {
	__u32 gsi;
	__u32 type;		/* XENKVM_IRQ_ROUTING_XEN_EVTCHN */
	__u32 flags;		/* none defined; 0 */
	__u32 pad0;
	union {
		struct {
			__u32 port;
			__u32 vcpu;	/* Xen vCPU id */
			__u32 priority;	/* XENKVM_EVTCHN_PRIORITY_2LEVEL */
		} xen_evtchn;
		__u32 pad[8];
	} u;
};

struct xenkvm_irq_routing {
	__u32 nr;		/* entries that follow; replaces the table */
	__u32 flags;		/* none defined; 0 */
	struct xenkvm_irq_routing_entry entries[];
};

#define XENKVM_IRQFD_FLAG_DEASSIGN	(1U << 0)

struct xenkvm_irqfd {
	__s32 fd;		/* an eventfd */
	__u32 gsi;		/* a module GSI */
	__u32 flags;		/* XENKVM_IRQFD_FLAG_* */
	__u32 pad[5];
};

struct xenkvm_evtchn_send {
	__u32 port;
	__u32 vcpu;		/* Xen vCPU id to notify */
	__u32 priority;		/* XENKVM_EVTCHN_PRIORITY_2LEVEL */
	__u32 flags;		/* none defined; 0 */
	__u64 pad[2];
};

/* Counters since attach, XENKVM_GET_STATS. */
struct xenkvm_stats {
	__u64 deliveries;	/* events raised (port newly pending) */
	__u64 delivered_atomic;	/* ... in the irqfd wakeup path */
	__u64 delivered_deferred; /* ... by the fallback worker */
	__u64 already_pending;	/* port was already pending: no upcall */
	__u64 masked;		/* port masked: pending set, no upcall */
	__u64 upcalls;		/* upcall vectors injected */
	__u64 cache_refreshes;	/* gfn->pfn cache re-resolutions */
	__u64 cache_invalidations; /* by the MMU notifier or memslots */
	__u64 hcalls_in_kernel;	/* hypercalls answered in-kernel */
	__u64 hcalls_to_user;	/* hypercalls exited to the VMM */
	__u64 timer_fires;
	__u64 polls;
	__u64 pad[20];
};

#define XENKVMIO	0xAF

#define XENKVM_GET_API_VERSION	_IO(XENKVMIO,   0x40)
#define XENKVM_GET_CAPS		_IOR(XENKVMIO,  0x41, struct xenkvm_caps)
#define XENKVM_ATTACH		_IOW(XENKVMIO,  0x42, struct xenkvm_attach)
#define XENKVM_SET_ATTR		_IOW(XENKVMIO,  0x43, struct xenkvm_attr)
#define XENKVM_GET_ATTR		_IOWR(XENKVMIO, 0x44, struct xenkvm_attr)
#define XENKVM_VCPU_SET_ATTR	_IOW(XENKVMIO,  0x45, struct xenkvm_vcpu_attr)
#define XENKVM_VCPU_GET_ATTR	_IOWR(XENKVMIO, 0x46, struct xenkvm_vcpu_attr)
#define XENKVM_SET_GSI_ROUTING	_IOW(XENKVMIO,  0x47, struct xenkvm_irq_routing)
#define XENKVM_IRQFD		_IOW(XENKVMIO,  0x48, struct xenkvm_irqfd)
#define XENKVM_EVTCHN_SEND	_IOW(XENKVMIO,  0x49, struct xenkvm_evtchn_send)
#define XENKVM_GET_STATS	_IOR(XENKVMIO,  0x4a, struct xenkvm_stats)

/*
 * Hypercall exits. With XENKVM_HCALL_INTERCEPT set, a hypercall the module
 * does not answer in-kernel leaves KVM_RUN with exit_reason KVM_EXIT_XEN
 * and run->xen.type KVM_EXIT_XEN_HCALL, laid out as KVM's own Xen support
 * lays it out (longmode, cpl, input, params[6]), so that one VMM handler
 * serves both. Unlike KVM's, the guest's RIP is already past the
 * instruction when the exit is seen, and the result is returned through
 * KVM's sync-regs ABI, so that no pointer into this module is ever left in
 * KVM's vCPU state: the VMM keeps KVM_SYNC_X86_REGS set in
 * run->kvm_valid_regs, and completes the call by storing the result in
 * run->s.regs.regs.rax (truncated to 32 bits when !longmode) and setting
 * KVM_SYNC_X86_REGS in run->kvm_dirty_regs before the next KVM_RUN.
 * See Documentation/xenkvm-abi.rst, "Hypercall exits".
 */

#endif /* _UAPI_LINUX_XENKVM_H */
