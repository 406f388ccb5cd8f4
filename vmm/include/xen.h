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

#include <stdint.h>
#include "backend.h"

struct vm;
struct vcpu;

/* Entry point: returns the value for the guest's RAX (-errno on error). */
int64_t xen_hypercall(struct vcpu *vcpu, const struct xen_hcall *hc);

int xen_init(struct vm *vm, unsigned int xen_major, unsigned int xen_minor);
void xen_destroy(struct vm *vm);

#endif
