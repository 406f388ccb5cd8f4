// SPDX-License-Identifier: GPL-2.0
/*
 * Grant table state and the backend access API (include/grant.h).
 *
 * The shared frames are guest-writable memory: every entry is read with
 * atomic loads, the ref is range-checked against the table's current
 * size, and pins are taken by compare-and-swap exactly as Xen takes them,
 * so a guest racing us can make an access fail but never make us use a
 * revoked grant. Pin counts live in VMM memory, out of the guest's reach.
 */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

#include "grant.h"

#define V1_PER_FRAME	(GRANT_PAGE_SIZE / sizeof(struct grant_entry_v1))
#define V2_PER_FRAME	(GRANT_PAGE_SIZE / sizeof(union grant_entry_v2))
#define STATUS_PER_FRAME (GRANT_PAGE_SIZE / sizeof(grant_status_t))
/* Give up on an entry the guest keeps rewriting under our cmpxchg. */
#define PIN_RETRIES	64

struct pin {
	uint16_t readers;	/* all pins, read or write */
	uint16_t writers;
};

struct grant_table {
	pthread_mutex_t lock;	/* size, version, frame GFNs, pins */
	pthread_mutex_t map_lock;	/* placement by xen/, see grant.h */
	uint64_t window_gfn;
	uint16_t domid;		/* the guest's own id */
	unsigned int version;
	unsigned int nr_frames;
	unsigned int max_frames;
	unsigned int max_status_frames;
	uint8_t *shared;	/* max_frames pages */
	uint8_t *status;	/* max_status_frames pages */
	uint64_t *shared_gfn;
	uint64_t *status_gfn;
	struct pin *pins;	/* one per v1 entry (the larger count) */
	grant_gfn_to_hva_fn gfn_to_hva;
	void *opaque;
};

static unsigned int per_frame(unsigned int version)
{
	return version == 2 ? V2_PER_FRAME : V1_PER_FRAME;
}

static unsigned int status_frames_for(unsigned int frames)
{
	unsigned int entries = frames * V2_PER_FRAME;

	return (entries + STATUS_PER_FRAME - 1) / STATUS_PER_FRAME;
}

static void *map_pages(unsigned int n)
{
	void *p = mmap(NULL, (size_t)n * GRANT_PAGE_SIZE,
		       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

struct grant_table *grant_table_new(uint16_t domid, unsigned int max_frames,
				    grant_gfn_to_hva_fn gfn_to_hva,
				    void *opaque)
{
	struct grant_table *gt;
	unsigned int i;

	if (!max_frames || max_frames > 1024)
		return NULL;
	gt = calloc(1, sizeof(*gt));
	if (!gt)
		return NULL;
	pthread_mutex_init(&gt->lock, NULL);
	pthread_mutex_init(&gt->map_lock, NULL);
	gt->window_gfn = GRANT_INVALID_GFN;
	gt->domid = domid;
	gt->version = 1;
	gt->nr_frames = 1;	/* Xen starts every domain with one frame */
	gt->max_frames = max_frames;
	gt->max_status_frames = status_frames_for(max_frames);
	gt->gfn_to_hva = gfn_to_hva;
	gt->opaque = opaque;
	gt->shared = map_pages(max_frames);
	gt->status = map_pages(gt->max_status_frames);
	gt->shared_gfn = malloc(max_frames * sizeof(uint64_t));
	gt->status_gfn = malloc(gt->max_status_frames * sizeof(uint64_t));
	gt->pins = calloc((size_t)max_frames * V1_PER_FRAME, sizeof(struct pin));
	if (!gt->shared || !gt->status || !gt->shared_gfn || !gt->status_gfn ||
	    !gt->pins) {
		grant_table_free(gt);
		return NULL;
	}
	for (i = 0; i < max_frames; i++)
		gt->shared_gfn[i] = GRANT_INVALID_GFN;
	for (i = 0; i < gt->max_status_frames; i++)
		gt->status_gfn[i] = GRANT_INVALID_GFN;
	return gt;
}

void grant_table_free(struct grant_table *gt)
{
	if (!gt)
		return;
	if (gt->shared)
		munmap(gt->shared, (size_t)gt->max_frames * GRANT_PAGE_SIZE);
	if (gt->status)
		munmap(gt->status,
		       (size_t)gt->max_status_frames * GRANT_PAGE_SIZE);
	free(gt->shared_gfn);
	free(gt->status_gfn);
	free(gt->pins);
	pthread_mutex_destroy(&gt->lock);
	pthread_mutex_destroy(&gt->map_lock);
	free(gt);
}

/* ---- guest side ---- */

unsigned int grant_version(struct grant_table *gt)
{
	unsigned int v;

	pthread_mutex_lock(&gt->lock);
	v = gt->version;
	pthread_mutex_unlock(&gt->lock);
	return v;
}

unsigned int grant_nr_frames(struct grant_table *gt)
{
	unsigned int n;

	pthread_mutex_lock(&gt->lock);
	n = gt->nr_frames;
	pthread_mutex_unlock(&gt->lock);
	return n;
}

unsigned int grant_max_frames(const struct grant_table *gt)
{
	return gt->max_frames;
}

unsigned int grant_nr_status_frames(struct grant_table *gt)
{
	unsigned int n;

	pthread_mutex_lock(&gt->lock);
	n = gt->version == 2 ? status_frames_for(gt->nr_frames) : 0;
	pthread_mutex_unlock(&gt->lock);
	return n;
}

unsigned int grant_max_status_frames(const struct grant_table *gt)
{
	return gt->max_status_frames;
}

int grant_grow(struct grant_table *gt, unsigned int nr)
{
	int ret = 0;

	pthread_mutex_lock(&gt->lock);
	if (nr > gt->max_frames)
		ret = -EINVAL;
	else if (nr > gt->nr_frames)
		gt->nr_frames = nr;
	pthread_mutex_unlock(&gt->lock);
	return ret;
}

static bool any_pinned_locked(const struct grant_table *gt)
{
	size_t i, n = (size_t)gt->max_frames * V1_PER_FRAME;

	for (i = 0; i < n; i++)
		if (gt->pins[i].readers)
			return true;
	return false;
}

/*
 * Carry the reserved entries (the toolstack's console and xenstore
 * grants) across a version switch, as Xen does; the rest start empty.
 */
static void convert_entries_locked(struct grant_table *gt, unsigned int to)
{
	struct grant_entry_v1 v1[GNTTAB_NR_RESERVED_ENTRIES];
	union grant_entry_v2 v2[GNTTAB_NR_RESERVED_ENTRIES];
	unsigned int i;

	memcpy(v1, gt->shared, sizeof(v1));
	memcpy(v2, gt->shared, sizeof(v2));
	memset(gt->shared, 0, (size_t)gt->max_frames * GRANT_PAGE_SIZE);
	memset(gt->status, 0, (size_t)gt->max_status_frames * GRANT_PAGE_SIZE);
	for (i = 0; i < GNTTAB_NR_RESERVED_ENTRIES; i++) {
		if (to == 2) {
			union grant_entry_v2 *e =
				(union grant_entry_v2 *)gt->shared + i;

			e->hdr.flags = v1[i].flags & ~(GTF_reading | GTF_writing);
			e->hdr.domid = v1[i].domid;
			e->full_page.frame = v1[i].frame;
		} else {
			struct grant_entry_v1 *e =
				(struct grant_entry_v1 *)gt->shared + i;

			e->flags = v2[i].hdr.flags;
			e->domid = v2[i].hdr.domid;
			e->frame = (uint32_t)v2[i].full_page.frame;
		}
	}
}

int grant_set_version(struct grant_table *gt, unsigned int version)
{
	int ret = 0;

	if (version != 1 && version != 2)
		return -EINVAL;
	pthread_mutex_lock(&gt->lock);
	if (version != gt->version) {
		if (any_pinned_locked(gt)) {
			ret = -EBUSY;
		} else {
			convert_entries_locked(gt, version);
			gt->version = version;
		}
	}
	pthread_mutex_unlock(&gt->lock);
	return ret;
}

void *grant_frames_base(const struct grant_table *gt, bool status)
{
	return status ? gt->status : gt->shared;
}

void *grant_frame_hva(const struct grant_table *gt, unsigned int idx,
		      bool status)
{
	if (idx >= (status ? gt->max_status_frames : gt->max_frames))
		return NULL;
	return (status ? gt->status : gt->shared) +
	       (size_t)idx * GRANT_PAGE_SIZE;
}

uint64_t grant_frame_gfn(struct grant_table *gt, unsigned int idx,
			 bool status)
{
	uint64_t gfn = GRANT_INVALID_GFN;

	pthread_mutex_lock(&gt->lock);
	if (status && gt->version == 2 &&
	    idx < status_frames_for(gt->nr_frames))
		gfn = gt->status_gfn[idx];
	else if (!status && idx < gt->nr_frames)
		gfn = gt->shared_gfn[idx];
	pthread_mutex_unlock(&gt->lock);
	return gfn;
}

int grant_set_frame_gfn(struct grant_table *gt, unsigned int idx,
			bool status, uint64_t gfn, uint64_t *old)
{
	int ret = 0;

	pthread_mutex_lock(&gt->lock);
	if (status) {
		/* Growing the status frames means growing the table. */
		unsigned int need = (unsigned int)(((uint64_t)idx + 1) *
						   STATUS_PER_FRAME /
						   V2_PER_FRAME);

		if (gt->version != 2 || idx >= gt->max_status_frames) {
			ret = -EINVAL;
		} else {
			if (need > gt->max_frames)
				need = gt->max_frames;
			if (need > gt->nr_frames)
				gt->nr_frames = need;
			*old = gt->status_gfn[idx];
			gt->status_gfn[idx] = gfn;
		}
	} else if (idx >= gt->max_frames) {
		ret = -EINVAL;
	} else {
		if (idx >= gt->nr_frames)
			gt->nr_frames = idx + 1;
		*old = gt->shared_gfn[idx];
		gt->shared_gfn[idx] = gfn;
	}
	pthread_mutex_unlock(&gt->lock);
	return ret;
}

void grant_map_lock(struct grant_table *gt)
{
	pthread_mutex_lock(&gt->map_lock);
}

void grant_map_unlock(struct grant_table *gt)
{
	pthread_mutex_unlock(&gt->map_lock);
}

uint64_t grant_window_gfn(struct grant_table *gt)
{
	return __atomic_load_n(&gt->window_gfn, __ATOMIC_ACQUIRE);
}

void grant_set_window_gfn(struct grant_table *gt, uint64_t gfn)
{
	__atomic_store_n(&gt->window_gfn, gfn, __ATOMIC_RELEASE);
}

/* ---- backend side ---- */

/* The first word of an entry in either version: flags | domid << 16. */
static uint32_t *entry_word(struct grant_table *gt, uint32_t ref)
{
	size_t size = gt->version == 2 ? sizeof(union grant_entry_v2) :
					 sizeof(struct grant_entry_v1);

	return (uint32_t *)(gt->shared + (size_t)ref * size);
}

static uint16_t *status_word(struct grant_table *gt, uint32_t ref)
{
	return (uint16_t *)gt->status + ref;
}

static int check_entry(uint32_t word, uint16_t domid, bool write, bool v2)
{
	uint16_t flags = (uint16_t)word;

	if ((flags & GTF_type_mask) != GTF_permit_access)
		return (flags & GTF_type_mask) == GTF_transitive ? -EOPNOTSUPP :
								   -ENOENT;
	if (v2 && (flags & GTF_sub_page))
		return -EOPNOTSUPP;
	if ((uint16_t)(word >> 16) != domid)
		return -EPERM;
	if (write && (flags & GTF_readonly))
		return -EROFS;
	return 0;
}

/* v1: set the pin bits with cmpxchg on flags+domid, as Xen does. */
static int pin_v1(struct grant_table *gt, uint32_t ref, uint16_t domid,
		  bool write)
{
	uint32_t *w = entry_word(gt, ref);
	uint32_t old = __atomic_load_n(w, __ATOMIC_ACQUIRE);
	int i;

	for (i = 0; i < PIN_RETRIES; i++) {
		uint32_t want = old | GTF_reading | (write ? GTF_writing : 0);
		int err = check_entry(old, domid, write, false);

		if (err)
			return err;
		if (want == old ||
		    __atomic_compare_exchange_n(w, &old, want, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return 0;
	}
	return -EBUSY;
}

/*
 * v2: the pin bits live in the status frame. Set them, then re-read the
 * entry: a guest that revoked in between sees our bits or we see its
 * change, never neither (Xen's order, with a full barrier).
 */
static int pin_v2(struct grant_table *gt, uint32_t ref, uint16_t domid,
		  bool write)
{
	uint32_t *w = entry_word(gt, ref);
	uint16_t *st = status_word(gt, ref);
	uint16_t bits = GTF_reading | (write ? GTF_writing : 0);
	int err = check_entry(__atomic_load_n(w, __ATOMIC_ACQUIRE), domid,
			      write, true);

	if (err)
		return err;
	__atomic_fetch_or(st, bits, __ATOMIC_SEQ_CST);
	err = check_entry(__atomic_load_n(w, __ATOMIC_SEQ_CST), domid, write,
			  true);
	if (err) {
		/* Only drop what no other pin still needs. */
		struct pin *p = &gt->pins[ref];
		uint16_t keep = (p->readers ? GTF_reading : 0) |
				(p->writers ? GTF_writing : 0);

		__atomic_fetch_and(st, (uint16_t)~(bits & ~keep),
				   __ATOMIC_SEQ_CST);
	}
	return err;
}

static uint64_t entry_frame(struct grant_table *gt, uint32_t ref)
{
	if (gt->version == 2) {
		union grant_entry_v2 *e = (union grant_entry_v2 *)gt->shared +
					  ref;

		return __atomic_load_n(&e->full_page.frame, __ATOMIC_ACQUIRE);
	}
	return __atomic_load_n(&((struct grant_entry_v1 *)gt->shared)[ref].frame,
			       __ATOMIC_ACQUIRE);
}

static void unpin_bits_locked(struct grant_table *gt, uint32_t ref)
{
	struct pin *p = &gt->pins[ref];
	uint16_t clear = (p->writers ? 0 : GTF_writing) |
			 (p->readers ? 0 : GTF_reading);

	if (!clear)
		return;
	if (gt->version == 2)
		__atomic_fetch_and(status_word(gt, ref), (uint16_t)~clear,
				   __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(entry_word(gt, ref), ~(uint32_t)clear,
				   __ATOMIC_RELEASE);
}

int grant_access(struct grant_table *gt, uint16_t domid, uint32_t ref,
		 bool write, void **hva)
{
	uint64_t frame;
	void *page;
	int err;

	pthread_mutex_lock(&gt->lock);
	if (ref >= gt->nr_frames * per_frame(gt->version)) {
		pthread_mutex_unlock(&gt->lock);
		return -EINVAL;
	}
	err = gt->version == 2 ? pin_v2(gt, ref, domid, write) :
				 pin_v1(gt, ref, domid, write);
	if (err) {
		pthread_mutex_unlock(&gt->lock);
		return err;
	}
	gt->pins[ref].readers++;
	if (write)
		gt->pins[ref].writers++;
	/* Pinned: a well-behaved guest no longer changes the frame. */
	frame = entry_frame(gt, ref);
	page = gt->gfn_to_hva ? gt->gfn_to_hva(gt->opaque, frame) : NULL;
	if (!page) {
		gt->pins[ref].readers--;
		if (write)
			gt->pins[ref].writers--;
		unpin_bits_locked(gt, ref);
		pthread_mutex_unlock(&gt->lock);
		return -EFAULT;
	}
	pthread_mutex_unlock(&gt->lock);
	*hva = page;
	return 0;
}

void grant_release(struct grant_table *gt, uint32_t ref, bool write)
{
	struct pin *p;

	pthread_mutex_lock(&gt->lock);
	if (ref < (size_t)gt->max_frames * V1_PER_FRAME) {
		p = &gt->pins[ref];
		if (p->readers && (!write || p->writers)) {
			p->readers--;
			if (write)
				p->writers--;
			unpin_bits_locked(gt, ref);
		}
	}
	pthread_mutex_unlock(&gt->lock);
}

static int grant_copy(struct grant_table *gt, uint16_t domid, uint32_t ref,
		      size_t offset, void *buf, size_t len, bool to_guest)
{
	void *page;
	int err;

	if (offset > GRANT_PAGE_SIZE || len > GRANT_PAGE_SIZE - offset)
		return -EINVAL;
	err = grant_access(gt, domid, ref, to_guest, &page);
	if (err)
		return err;
	if (to_guest)
		memcpy((uint8_t *)page + offset, buf, len);
	else
		memcpy(buf, (uint8_t *)page + offset, len);
	grant_release(gt, ref, to_guest);
	return 0;
}

int grant_copy_from(struct grant_table *gt, uint16_t domid, uint32_t ref,
		    size_t offset, void *buf, size_t len)
{
	return grant_copy(gt, domid, ref, offset, buf, len, false);
}

int grant_copy_to(struct grant_table *gt, uint16_t domid, uint32_t ref,
		  size_t offset, const void *buf, size_t len)
{
	return grant_copy(gt, domid, ref, offset, (void *)buf, len, true);
}
