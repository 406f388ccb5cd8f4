/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's grant table, and the access API for the VMM's device
 * backends (which play domain 0).
 *
 * Where the frames live: in VMM memory, mmap'd once at the table's
 * maximum size, and shown to the guest as an overlay memslot at the GFNs
 * it picks with XENMEM_add_to_physmap(XENMAPSPACE_grant_table). Not "in
 * place" in guest RAM like shared_info: Linux's HVM platform driver puts
 * the frames in the platform PCI device's MMIO BAR, where there is no RAM
 * to reuse, and keeping them in VMM memory gives backends one stable
 * pointer to every entry, wherever and however often the guest moves
 * the frames.
 *
 * Access: a backend validates a grant reference and gets a host pointer
 * into the VMM's own mapping of guest RAM, with no per-request map or
 * unmap (seed 001). The entry is pinned the way Xen pins it: GTF_reading
 * (and GTF_writing for write access) set by cmpxchg on the flags word
 * while checking GTF_permit_access, the domid and GTF_readonly, so a
 * guest that revokes concurrently either sees the pin and waits or wins
 * and the access fails. grant_release() unpins when the last user goes.
 *
 * Thread safety: all functions may be called from any thread.
 */
#ifndef XENKVM_VMM_GRANT_H
#define XENKVM_VMM_GRANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct grant_table;

/* Xen's default max_grant_frames. */
#define GRANT_DEFAULT_MAX_FRAMES	64
#define GRANT_PAGE_SIZE			4096
#define GRANT_INVALID_GFN		(~0ULL)

/* Host pointer to guest frame @gfn (a whole page of RAM), else NULL. */
typedef void *(*grant_gfn_to_hva_fn)(void *opaque, uint64_t gfn);

struct grant_table *grant_table_new(uint16_t domid, unsigned int max_frames,
				    grant_gfn_to_hva_fn gfn_to_hva,
				    void *opaque);
void grant_table_free(struct grant_table *gt);

/* ---- guest side (GNTTABOP_*, XENMEM_add_to_physmap) ---- */

unsigned int grant_version(struct grant_table *gt);
unsigned int grant_nr_frames(struct grant_table *gt);
unsigned int grant_max_frames(const struct grant_table *gt);
/* Status frames the current size needs (v2); 0 under v1. */
unsigned int grant_nr_status_frames(struct grant_table *gt);
unsigned int grant_max_status_frames(const struct grant_table *gt);
/* Grow to at least @nr frames; -EINVAL beyond the maximum. */
int grant_grow(struct grant_table *gt, unsigned int nr);
/* 1 or 2; -EINVAL otherwise, -EBUSY while a backend holds a grant. */
int grant_set_version(struct grant_table *gt, unsigned int version);

/*
 * Frame memory: @status selects the v2 status frames. The frames of one
 * kind are contiguous, so a run of them can be one memslot.
 */
void *grant_frames_base(const struct grant_table *gt, bool status);
void *grant_frame_hva(const struct grant_table *gt, unsigned int idx,
		      bool status);
/* Where the guest placed frame @idx, or GRANT_INVALID_GFN. */
uint64_t grant_frame_gfn(struct grant_table *gt, unsigned int idx,
			 bool status);
/*
 * Record that frame @idx now appears at @gfn (growing the table to cover
 * @idx, as Xen does); *@old gets its previous GFN. Status frames only
 * exist under v2 (-EINVAL otherwise).
 */
int grant_set_frame_gfn(struct grant_table *gt, unsigned int idx,
			bool status, uint64_t gfn, uint64_t *old);

/*
 * Bookkeeping for whoever maps the frames into the guest (xen/): one
 * overlay of all shared frames at @gfn - idx when the guest lays them out
 * contiguously (as Linux does), so growing the table needs no memslots.
 * map_lock serialises placement; never held by grant.c itself.
 */
void grant_map_lock(struct grant_table *gt);
void grant_map_unlock(struct grant_table *gt);
uint64_t grant_window_gfn(struct grant_table *gt);
void grant_set_window_gfn(struct grant_table *gt, uint64_t gfn);

/* ---- backend side ---- */

/*
 * Pin grant @ref of the guest for domain @domid (the backend's domain,
 * 0 for the VMM) and return a host pointer to the granted page.
 *   -EINVAL   ref beyond the table
 *   -ENOENT   not GTF_permit_access (never granted or revoked)
 *   -EPERM    granted to another domain
 *   -EROFS    write access to a GTF_readonly grant
 *   -EOPNOTSUPP  v2 sub-page or transitive grants
 *   -EFAULT   the granted frame is not guest RAM
 *   -EBUSY    the guest kept changing the entry under us
 */
int grant_access(struct grant_table *gt, uint16_t domid, uint32_t ref,
		 bool write, void **hva);
/* Drop one pin taken by grant_access() with the same @write. */
void grant_release(struct grant_table *gt, uint32_t ref, bool write);

/* Copy through a grant without keeping the pin. */
int grant_copy_from(struct grant_table *gt, uint16_t domid, uint32_t ref,
		    size_t offset, void *buf, size_t len);
int grant_copy_to(struct grant_table *gt, uint16_t domid, uint32_t ref,
		  size_t offset, const void *buf, size_t len);

/*
 * The VM's grant table, created on first use (vm->gnttab). Backends call
 * this; xen/grant_table_op.c creates it for the guest's hypercalls.
 */
struct vm;
struct grant_table *vm_grant_table(struct vm *vm);
/* For vm_destroy(): after the vCPUs and backends are gone. */
void vm_grant_table_free(struct vm *vm);

#endif
