/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal state of the Xen ABI emulation (vmm/xen/). Nothing outside
 * vmm/xen/ and its unit tests includes this file; the rest of the VMM
 * talks to xen/ through include/xen.h.
 *
 * Locking: xen->lock guards the event channel table, the per-vCPU
 * registrations and the shared_info placement. It is never held while a
 * device backend's notify callback runs, so callbacks may call back in.
 */
#ifndef XENKVM_VMM_XEN_STATE_H
#define XENKVM_VMM_XEN_STATE_H

/* Xen's public headers change numbers below this interface version. */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/hvm/params.h>

#include "vm.h"
#include "xen.h"

/* Numbers Xen's public headers keep for Xen and its tools only. */
#ifndef HVM_PARAM_PAE_ENABLED
#define HVM_PARAM_PAE_ENABLED		4
#define HVM_PARAM_DM_DOMAIN		13
#define HVM_PARAM_BUFIOREQ_EVTCHN	26
#endif
#ifndef MEMOP_EXTENT_SHIFT
#define MEMOP_EXTENT_SHIFT		6	/* start extent above the cmd */
#define MEMOP_CMD_MASK			((1 << MEMOP_EXTENT_SHIFT) - 1)
#endif

#define XEN_PAGE_SHIFT		12
#define XEN_PAGE_SIZE		(1ULL << XEN_PAGE_SHIFT)
#define XEN_INVALID_GFN		(~0ULL)
#define XEN_INVALID_GPA		(~0ULL)

/* 2-level event channels: words of 64 (or, compat, 32) bits, squared. */
#define XEN_EVTCHN_2L_MAX	4096
#define XEN_EVTCHN_2L_MAX_COMPAT 1024

/* shared_info and vcpu_info offsets in the two layouts. */
#define SHINFO_PENDING_OFF	2048
#define SHINFO_MASK_OFF_64	2560
#define SHINFO_MASK_OFF_32	2176
#define SHINFO_WC_OFF_64	3072	/* wc_version, wc_sec, wc_nsec, ... */
#define SHINFO_WC_OFF_32	2304
#define SHINFO_WC_SEC_HI_64	3084	/* right after wc_nsec */
#define SHINFO_WC_SEC_HI_32	2340	/* i386: arch.wc_sec_hi, 7th word of arch */
#define VCPU_INFO_SIZE		64
#define VCPU_INFO_SEL_OFF_64	8
#define VCPU_INFO_SEL_OFF_32	4
#define XEN_LEGACY_VCPUS	32	/* vcpu_info slots in shared_info */

/* The (unprivileged) domain id our guest has. */
#define XEN_DEFAULT_DOMID	1
/* Where a port bound to a VMM device backend says its peer lives. */
#define XEN_BACKEND_DOMID	0

enum xen_port_state {
	PORT_FREE = 0,
	PORT_RESERVED,		/* port 0 */
	PORT_UNBOUND,
	PORT_INTERDOMAIN,	/* loopback within the guest */
	PORT_BACKEND,		/* interdomain with a VMM device backend */
	PORT_VIRQ,
	PORT_IPI,
};

struct xen_port {
	uint8_t state;		/* enum xen_port_state */
	bool kernel_bound;	/* registered with backend bind_port */
	uint16_t remote_domid;	/* UNBOUND: who may bind to us */
	uint32_t vcpu;		/* notify vCPU */
	uint32_t remote_port;	/* INTERDOMAIN: peer; VIRQ: the virq; */
				/* BACKEND: the backend's own port id */
	xen_evtchn_notify_fn notify;	/* BACKEND */
	void *opaque;
	int eventfd;			/* BACKEND, -1 when none */
};

struct vcpu_xen {
	struct vcpu *vcpu;
	bool up;			/* has run guest code */
	uint64_t vcpu_info_gpa;		/* XEN_INVALID_GPA: the shared_info slot */
	uint64_t runstate_gpa;
	uint8_t upcall_vector;		/* HVMOP_set_evtchn_upcall_vector; 0 none */
	uint32_t virq_port[NR_VIRQS];
	/* Userspace timers (when the kernel side does not run them). */
	int timer_fd;			/* CLOCK_BOOTTIME timerfd */
	bool singleshot_on;
	uint64_t singleshot_ns;		/* Xen system time */
	uint64_t periodic_ns;		/* period; 0 = off */
	uint64_t periodic_next_ns;
};

/* GVA -> GPA for hypercall arguments; KVM_TRANSLATE unless a test swaps it. */
typedef int (*xen_translate_fn)(struct vcpu *vcpu, uint64_t gva, uint64_t *gpa);

struct xen {
	struct vm *vm;
	pthread_mutex_t lock;
	pthread_cond_t event_cond;	/* signalled on every VMM-side delivery */
	unsigned int major, minor;
	uint16_t domid;
	bool long_mode;			/* shared_info layout (latched) */
	uint8_t callback_vector;	/* HVM_PARAM_CALLBACK_IRQ vector form */
	uint64_t shared_info_gfn;	/* XEN_INVALID_GFN until placed */
	uint64_t params[HVM_NR_PARAMS];
	uint8_t handle[16];		/* XENVER_guest_handle (domain UUID) */
	unsigned int shutdown_code;	/* SCHEDOP_shutdown_code, ~0u unset */
	uint64_t vm_assist;		/* enabled VMASST_TYPE_* bits */
	int64_t time_offset_ns;		/* Xen system time - CLOCK_BOOTTIME */
	int console_fd;			/* CONSOLEIO_write goes here */
	int timer_epfd;			/* all vCPU timerfds */
	xen_translate_fn translate;
	/* Per-vCPU state lives here so it outlives the machine's vCPUs;
	 * vcpu->xen points at its slot once attached (xen_vcpu_by_id). */
	pthread_mutex_t vcpu_lock;
	struct vcpu_xen vcpu_state[VM_MAX_VCPUS];
	struct xen_port ports[XEN_EVTCHN_2L_MAX];
	uint32_t next_backend_port;
	uint64_t *ballooned;		/* bitmap of GFNs given back */
	uint64_t nr_ballooned;
	uint64_t max_gfn;		/* bitmap size */
	/* Unknown (hypercall, sub-op) pairs already logged, to log once. */
	uint64_t logged[64];
	uint64_t logged_hcall;
};

/* The backend's operations, or NULL in a VM without one (tests). */
static inline const struct backend_ops *xen_ops(struct vm *vm)
{
	return vm->backend ? vm->backend->ops : NULL;
}

/* ---- guest_access.c ------------------------------------------------- */

/*
 * Hypercall arguments are guest linear addresses (HVM): translate page by
 * page with the calling vCPU's paging, then access guest RAM. -EFAULT when
 * any byte is unmapped or not RAM, as Xen's copy_{from,to}_guest.
 */
int xen_copy_from_guest(struct vcpu *vcpu, uint64_t gva, void *buf, size_t len);
int xen_copy_to_guest(struct vcpu *vcpu, uint64_t gva, const void *buf,
		      size_t len);
/* GPA of @gva's byte and checks that [gva, gva+len) is GPA-contiguous RAM. */
int xen_gva_range_to_gpa(struct vcpu *vcpu, uint64_t gva, uint64_t len,
			 uint64_t *gpa);
int xen_translate_kvm(struct vcpu *vcpu, uint64_t gva, uint64_t *gpa);

/* xen_ulong_t / pointer / xen_pfn_t: 8 bytes, or 4 in the compat ABI. */
static inline size_t xen_ulong_size(const struct xen_hcall *hc)
{
	return hc->longmode ? 8 : 4;
}
/* Read element @idx of a guest array of xen_ulong_t (either ABI). */
int xen_read_ulong(struct vcpu *vcpu, const struct xen_hcall *hc,
		   uint64_t base, uint64_t idx, uint64_t *val);
int xen_write_ulong(struct vcpu *vcpu, const struct xen_hcall *hc,
		    uint64_t base, uint64_t idx, uint64_t val);

/* Atomic bit operations on guest RAM at byte granularity: both layouts
 * put port n's bit at byte n/8, bit n%8 (little-endian words). */
bool xen_guest_test_bit(struct vm *vm, uint64_t gpa, unsigned int bit);
bool xen_guest_test_and_set_bit(struct vm *vm, uint64_t gpa, unsigned int bit);
bool xen_guest_test_and_clear_bit(struct vm *vm, uint64_t gpa, unsigned int bit);

/* ---- hypercall.c ---------------------------------------------------- */

static inline struct xen *vcpu_xen_state(struct vcpu *vcpu)
{
	return vcpu->vm->xen;
}
/* A (hypercall, sub-op) we do not implement: log it once, give -ENOSYS. */
int64_t xen_unhandled(struct vcpu *vcpu, uint64_t nr, uint64_t subop);
/* DOMID_SELF or our own id: 0; another existing domain: -EPERM; else -ESRCH. */
int xen_check_domid(struct xen *x, uint16_t domid);
/* The vCPU with Xen id @vcpu_id, its Xen state attached; NULL if none. */
struct vcpu *xen_vcpu_by_id(struct vm *vm, uint32_t vcpu_id);
uint64_t xen_now_ns(struct xen *x);

/* ---- the families --------------------------------------------------- */

int64_t xen_version_op(struct vcpu *vcpu, const struct xen_hcall *hc);
int64_t xen_memory_op(struct vcpu *vcpu, const struct xen_hcall *hc);
int64_t xen_hvm_op(struct vcpu *vcpu, const struct xen_hcall *hc);
int64_t xen_vcpu_op(struct vcpu *vcpu, const struct xen_hcall *hc);
int64_t xen_set_timer_op(struct vcpu *vcpu, const struct xen_hcall *hc);
int64_t xen_event_channel_op(struct vcpu *vcpu, const struct xen_hcall *hc);
int64_t xen_sched_op(struct vcpu *vcpu, const struct xen_hcall *hc);
int64_t xen_physdev_op(struct vcpu *vcpu, const struct xen_hcall *hc);
int64_t xen_console_io(struct vcpu *vcpu, const struct xen_hcall *hc);
int64_t xen_vm_assist(struct vcpu *vcpu, const struct xen_hcall *hc);

/* ---- event_channel_op.c: helpers for the other families -------------- */

unsigned int xen_evtchn_max_ports(const struct xen *x);
/* Raise @port on its notify vCPU (caller holds x->lock). */
int xen_evtchn_raise_locked(struct xen *x, uint32_t port);
bool xen_evtchn_is_pending(struct xen *x, uint32_t port);
void xen_evtchn_reset_all(struct xen *x);
/* GPA of vCPU @vcpu_id's vcpu_info, or XEN_INVALID_GPA (caller locks). */
uint64_t xen_vcpu_info_gpa_locked(struct xen *x, uint32_t vcpu_id);

/* ---- vcpu_op.c ------------------------------------------------------ */

int xen_timer_vcpu_init(struct xen *x, struct vcpu_xen *vx, unsigned int idx);
void xen_timer_vcpu_destroy(struct xen *x, struct vcpu_xen *vx);
int xen_timer_set_singleshot(struct vcpu *vcpu, uint64_t abs_ns);

/* ---- memory_op.c ---------------------------------------------------- */

bool xen_gfn_is_ballooned(struct xen *x, uint64_t gfn);
int xen_balloon_init(struct xen *x);

#endif
