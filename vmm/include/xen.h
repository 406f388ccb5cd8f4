/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Xen ABI emulated by the VMM. One file per hypercall family under
 * vmm/xen/, named after the hypercall: xen/xen_version.c, xen/memory_op.c,
 * xen/hvm_op.c, xen/vcpu_op.c, xen/event_channel_op.c, xen/sched_op.c,
 * xen/physdev_op.c, xen/console_io.c, xen/grant_table_op.c. The dispatch
 * table is xen/hypercall.c.
 */
#ifndef XENKVM_VMM_XEN_H
#define XENKVM_VMM_XEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "backend.h"

struct vm;
struct vcpu;

/* Entry point: returns the value for the guest's RAX (-errno on error). */
int64_t xen_hypercall(struct vcpu *vcpu, const struct xen_hcall *hc);

int xen_init(struct vm *vm, unsigned int xen_major, unsigned int xen_minor);
void xen_destroy(struct vm *vm);
/*
 * Per-vCPU Xen state. xen_init() sets up the vCPUs that exist by then;
 * call xen_vcpu_init() for each one created later (idempotent).
 */
int xen_vcpu_init(struct vcpu *vcpu);
void xen_vcpu_destroy(struct vcpu *vcpu);

/* The guest's domain id (1 unless changed before the guest runs). */
uint16_t xen_domid(struct vm *vm);
void xen_set_domid(struct vm *vm, uint16_t domid);

/*
 * HVM params the machine fills in before the guest runs (STORE_PFN,
 * STORE_EVTCHN, CONSOLE_PFN, CONSOLE_EVTCHN, ...): no guest permission
 * checks here. -EINVAL for an index >= HVM_NR_PARAMS.
 */
int xen_set_hvm_param(struct vm *vm, uint32_t index, uint64_t value);
uint64_t xen_get_hvm_param(struct vm *vm, uint32_t index);

/*
 * Latch the shared_info layout (64-bit or compat), as Xen does when the
 * guest writes the hypercall page MSR; also done on HVM_PARAM_CALLBACK_IRQ.
 */
void xen_set_long_mode(struct vm *vm, bool long_mode);

/*
 * Xen system time (what vcpu_info.time and the timer hypercalls count)
 * is CLOCK_BOOTTIME + @offset_ns. xen_init() takes the offset from
 * KVM_GET_CLOCK (the guest's kvmclock); call this only to override it.
 */
void xen_set_system_time_offset(struct vm *vm, int64_t offset_ns);

/*
 * Userspace Xen timers (VCPUOP_set_singleshot_timer & co. when the
 * kernel side does not run them): the event loop polls xen_timer_fd()
 * for EPOLLIN and then calls xen_timers_run(), which delivers VIRQ_TIMER.
 */
int xen_timer_fd(struct vm *vm);
void xen_timers_run(struct vm *vm);

/*
 * Event channels for the VMM's device backends (xenstore, console, block,
 * net), which play domain 0. @notify runs (on the sending vCPU's thread,
 * without locks held) when the guest sends on the port; with @eventfd >= 0
 * the kernel side may signal the eventfd instead, in-kernel.
 *
 * xen_evtchn_alloc_backend(): a new guest port already bound to the
 *   backend (like a store/console port set up by the toolstack); returns
 *   the guest port or -errno.
 * xen_evtchn_bind_backend(): bind to a port the guest allocated with
 *   EVTCHNOP_alloc_unbound for remote domain 0; 0 or -errno.
 * xen_evtchn_notify_guest(): raise a backend-bound guest port.
 * xen_evtchn_close_backend(): the backend goes away; the guest's port
 *   becomes unbound, as when domain 0 closes its end.
 * xen_evtchn_send_virq(): raise a VIRQ bound by the guest (0 if unbound).
 */
typedef void (*xen_evtchn_notify_fn)(void *opaque, uint32_t port);
int xen_evtchn_alloc_backend(struct vm *vm, xen_evtchn_notify_fn notify,
			     void *opaque, int eventfd);
int xen_evtchn_bind_backend(struct vm *vm, uint32_t port,
			    xen_evtchn_notify_fn notify, void *opaque,
			    int eventfd);
int xen_evtchn_notify_guest(struct vm *vm, uint32_t port);
int xen_evtchn_close_backend(struct vm *vm, uint32_t port);
int xen_evtchn_send_virq(struct vm *vm, uint32_t vcpu_id, uint32_t virq);
/*
 * For a guest stopped because it looked stuck: each bound port's pending
 * and mask bits, and its vCPU's selector bit and upcall flags, so that a
 * lost notification shows which step it was lost at.
 */
void xen_evtchn_dump(struct vm *vm, FILE *f);

/* Provided by xen/grant_table_op.c (the grant table owner). */
int64_t xen_grant_table_op(struct vcpu *vcpu, const struct xen_hcall *hc);
/*
 * XENMEM_add_to_physmap(XENMAPSPACE_grant_table): map grant frame @idx
 * (XENMAPIDX_grant_table_status set: a status frame) at @gfn. 0 or -errno.
 * Provided by the grant table owner.
 */
int xen_grant_map_frame(struct vm *vm, uint64_t idx, uint64_t gfn);

#endif
