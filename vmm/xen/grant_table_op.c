// SPDX-License-Identifier: GPL-2.0
/*
 * HYPERVISOR_grant_table_op for an HVM guest: setup_table, query_size,
 * set_version, get_version, get_status_frames; and placing grant frames
 * for XENMEM_add_to_physmap(XENMAPSPACE_grant_table).
 *
 * The state is grant.c's; this file decodes the guest's arguments (both
 * ABIs, nothing trusted) and maps frames into the guest as overlays.
 * Map/unmap/copy/transfer are operations of a backend domain or a PV
 * guest; an HVM frontend never issues them, so they stay unimplemented.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xen/grant_table.h>
#include <xen/memory.h>

#include "grant.h"

/* ---- the VM's table ---- */

static void *vm_gfn_to_hva(void *opaque, uint64_t gfn)
{
	struct vm *vm = opaque;

	if (gfn >= (1ULL << (64 - XEN_PAGE_SHIFT)))
		return NULL;
	return gpa_to_hva(vm, gfn << XEN_PAGE_SHIFT, XEN_PAGE_SIZE);
}

struct grant_table *vm_grant_table(struct vm *vm)
{
	struct grant_table *gt = __atomic_load_n(&vm->gnttab, __ATOMIC_ACQUIRE);
	struct grant_table *expected = NULL;

	if (gt)
		return gt;
	gt = grant_table_new(vm->xen ? xen_domid(vm) : XEN_DEFAULT_DOMID,
			     GRANT_DEFAULT_MAX_FRAMES, vm_gfn_to_hva, vm);
	if (!gt)
		return NULL;
	/* Two vCPUs may race to create it: the loser frees its copy. */
	if (!__atomic_compare_exchange_n(&vm->gnttab, &expected, gt, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		grant_table_free(gt);
		gt = expected;
	}
	return gt;
}

void vm_grant_table_free(struct vm *vm)
{
	grant_table_free(vm->gnttab);
	vm->gnttab = NULL;
}

/* ---- argument layouts (offsets are the same public ABI in both modes
 * except for guest handles, which are 8 or 4 bytes) ---- */

#define SETUP_DOM	0
#define SETUP_NR	4
#define SETUP_STATUS	8
#define SETUP_LIST_64	16
#define SETUP_LIST_32	12

#define QUERY_SIZE	16
#define GETVER_SIZE	8

#define STATUS_NR	0
#define STATUS_DOM	4
#define STATUS_STATUS	6
#define STATUS_LIST	8

static uint16_t get16(const uint8_t *b, size_t off)
{
	uint16_t v;

	memcpy(&v, b + off, 2);
	return v;
}

static uint32_t get32(const uint8_t *b, size_t off)
{
	uint32_t v;

	memcpy(&v, b + off, 4);
	return v;
}

static uint64_t get_handle(const uint8_t *b, size_t off, bool longmode)
{
	uint64_t v = 0;

	memcpy(&v, b + off, longmode ? 8 : 4);
	return v;
}

/* A domid check turned into the per-op status Xen reports. */
static int16_t domid_status(struct vcpu *vcpu, uint16_t dom)
{
	int r = xen_check_domid(vcpu->vm->xen, dom);

	if (!r)
		return GNTST_okay;
	return r == -EPERM ? GNTST_permission_denied : GNTST_bad_domain;
}

static int put_status(struct vcpu *vcpu, uint64_t uop, size_t off,
		      int16_t status)
{
	return xen_copy_to_guest(vcpu, uop + off, &status, sizeof(status));
}

/* ---- the sub-ops ---- */

static int64_t setup_table(struct vcpu *vcpu, const struct xen_hcall *hc,
			   struct grant_table *gt, uint64_t uop)
{
	uint8_t a[24];
	size_t size = hc->longmode ? 24 : 16;
	uint64_t list;
	uint32_t nr, i;
	int16_t st;

	if (xen_copy_from_guest(vcpu, uop, a, size))
		return -EFAULT;
	nr = get32(a, SETUP_NR);
	list = get_handle(a, hc->longmode ? SETUP_LIST_64 : SETUP_LIST_32,
			  hc->longmode);
	st = domid_status(vcpu, get16(a, SETUP_DOM));
	if (st == GNTST_okay && (nr > grant_max_frames(gt) || grant_grow(gt, nr)))
		st = GNTST_general_error;
	/* An HVM guest gets where each frame is mapped, if anywhere. */
	for (i = 0; st == GNTST_okay && i < nr; i++)
		if (xen_write_ulong(vcpu, hc, list, i,
				    grant_frame_gfn(gt, i, false)))
			st = GNTST_bad_virt_addr;
	return put_status(vcpu, uop, SETUP_STATUS, st) ? -EFAULT : 0;
}

static int64_t query_size(struct vcpu *vcpu, struct grant_table *gt,
			  uint64_t uop)
{
	uint8_t a[QUERY_SIZE];
	uint32_t nr, max;
	int16_t st;

	if (xen_copy_from_guest(vcpu, uop, a, sizeof(a)))
		return -EFAULT;
	st = domid_status(vcpu, get16(a, 0));
	nr = grant_nr_frames(gt);
	max = grant_max_frames(gt);
	if (st == GNTST_okay) {
		memcpy(a + 4, &nr, 4);
		memcpy(a + 8, &max, 4);
	}
	memcpy(a + 12, &st, 2);
	return xen_copy_to_guest(vcpu, uop, a, sizeof(a)) ? -EFAULT : 0;
}

static int64_t set_version(struct vcpu *vcpu, struct grant_table *gt,
			   uint64_t uop)
{
	uint32_t v;
	int r;

	if (xen_copy_from_guest(vcpu, uop, &v, sizeof(v)))
		return -EFAULT;
	r = grant_set_version(gt, v);
	/* IN/OUT: the guest learns the version in force either way. */
	v = grant_version(gt);
	if (xen_copy_to_guest(vcpu, uop, &v, sizeof(v)))
		return -EFAULT;
	return r;
}

static int64_t get_version(struct vcpu *vcpu, struct grant_table *gt,
			   uint64_t uop)
{
	uint8_t a[GETVER_SIZE];
	uint32_t v;
	int r;

	if (xen_copy_from_guest(vcpu, uop, a, sizeof(a)))
		return -EFAULT;
	r = xen_check_domid(vcpu->vm->xen, get16(a, 0));
	if (r)
		return r;
	v = grant_version(gt);
	memcpy(a + 4, &v, 4);
	return xen_copy_to_guest(vcpu, uop, a, sizeof(a)) ? -EFAULT : 0;
}

static int64_t get_status_frames(struct vcpu *vcpu, const struct xen_hcall *hc,
				 struct grant_table *gt, uint64_t uop)
{
	uint8_t a[16];
	size_t size = hc->longmode ? 16 : 12;
	uint32_t nr, i;
	uint64_t list;
	int16_t st;

	if (xen_copy_from_guest(vcpu, uop, a, size))
		return -EFAULT;
	nr = get32(a, STATUS_NR);
	list = get_handle(a, STATUS_LIST, hc->longmode);
	st = domid_status(vcpu, get16(a, STATUS_DOM));
	if (st == GNTST_okay &&
	    (grant_version(gt) != 2 || nr > grant_nr_status_frames(gt)))
		st = GNTST_general_error;
	for (i = 0; st == GNTST_okay && i < nr; i++) {
		uint64_t gfn = grant_frame_gfn(gt, i, true);

		if (list + (uint64_t)i * 8 < list ||
		    xen_copy_to_guest(vcpu, list + (uint64_t)i * 8, &gfn, 8))
			st = GNTST_bad_virt_addr;
	}
	return put_status(vcpu, uop, STATUS_STATUS, st) ? -EFAULT : 0;
}

int64_t xen_grant_table_op(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	uint64_t cmd = hc->args[0], uop = hc->args[1], count = hc->args[2];
	struct grant_table *gt;

	switch (cmd) {
	case GNTTABOP_setup_table:
	case GNTTABOP_query_size:
	case GNTTABOP_set_version:
	case GNTTABOP_get_status_frames:
	case GNTTABOP_get_version:
		break;
	default:
		return xen_unhandled(vcpu, hc->nr, cmd);
	}
	/* Xen takes exactly one argument structure for these. */
	if (count != 1)
		return -EINVAL;
	gt = vm_grant_table(vcpu->vm);
	if (!gt)
		return -ENOMEM;
	switch (cmd) {
	case GNTTABOP_setup_table:
		return setup_table(vcpu, hc, gt, uop);
	case GNTTABOP_query_size:
		return query_size(vcpu, gt, uop);
	case GNTTABOP_set_version:
		return set_version(vcpu, gt, uop);
	case GNTTABOP_get_status_frames:
		return get_status_frames(vcpu, hc, gt, uop);
	default:
		return get_version(vcpu, gt, uop);
	}
}

/* ---- XENMEM_add_to_physmap(XENMAPSPACE_grant_table) ---- */

/*
 * Shared frame @idx at @gfn. The first placement tries one overlay of
 * every shared frame at gfn - idx: Linux reserves exactly that range
 * (max_nr_frames pages of the platform BAR) and places frame i at base+i,
 * so later frames need no memslot. Anything else gets a one-page overlay.
 */
static int place_shared(struct vm *vm, struct grant_table *gt,
			unsigned int idx, uint64_t gfn)
{
	uint64_t window = grant_window_gfn(gt), old;
	int r;

	if (window == GRANT_INVALID_GFN && gfn >= idx) {
		r = vm_map_overlay(vm, (gfn - idx) << XEN_PAGE_SHIFT,
				   (uint64_t)grant_max_frames(gt) * XEN_PAGE_SIZE,
				   grant_frames_base(gt, false));
		if (r >= 0) {
			window = gfn - idx;
			grant_set_window_gfn(gt, window);
		}
	}
	if (window != GRANT_INVALID_GFN && gfn == window + idx)
		return grant_set_frame_gfn(gt, idx, false, gfn, &old);

	old = grant_frame_gfn(gt, idx, false);
	if (old == gfn)
		return 0;
	r = vm_map_overlay(vm, gfn << XEN_PAGE_SHIFT, XEN_PAGE_SIZE,
			   grant_frame_hva(gt, idx, false));
	if (r < 0)
		return r;
	/* Moved from its own page: give that memslot back. */
	if (old != GRANT_INVALID_GFN &&
	    !(window != GRANT_INVALID_GFN && old == window + idx))
		vm_unmap_overlay(vm, old << XEN_PAGE_SHIFT);
	return grant_set_frame_gfn(gt, idx, false, gfn, &old);
}

/* v2 status frames are few and rarely moved: one page each. */
static int place_status(struct vm *vm, struct grant_table *gt,
			unsigned int idx, uint64_t gfn)
{
	uint64_t old;
	int r;

	if (grant_version(gt) != 2 || idx >= grant_max_status_frames(gt))
		return -EINVAL;
	old = grant_frame_gfn(gt, idx, true);
	if (old == gfn)
		return 0;
	r = vm_map_overlay(vm, gfn << XEN_PAGE_SHIFT, XEN_PAGE_SIZE,
			   grant_frame_hva(gt, idx, true));
	if (r < 0)
		return r;
	if (old != GRANT_INVALID_GFN)
		vm_unmap_overlay(vm, old << XEN_PAGE_SHIFT);
	return grant_set_frame_gfn(gt, idx, true, gfn, &old);
}

int xen_grant_map_frame(struct vm *vm, uint64_t idx, uint64_t gfn)
{
	bool status = idx & XENMAPIDX_grant_table_status;
	struct grant_table *gt = vm_grant_table(vm);
	int r;

	if (!gt)
		return -ENOMEM;
	idx &= ~(uint64_t)XENMAPIDX_grant_table_status;
	if (gfn >= (1ULL << (52 - XEN_PAGE_SHIFT)))
		return -EINVAL;
	if (idx >= (status ? grant_max_status_frames(gt) :
			     grant_max_frames(gt)))
		return -EINVAL;
	grant_map_lock(gt);
	r = status ? place_status(vm, gt, (unsigned int)idx, gfn) :
		     place_shared(vm, gt, (unsigned int)idx, gfn);
	grant_map_unlock(gt);
	return r;
}
