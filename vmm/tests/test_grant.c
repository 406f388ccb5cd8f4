// SPDX-License-Identifier: GPL-2.0
/*
 * Grant table access for backends: valid, revoked, wrong-domid,
 * read-only-written and out-of-range refs, both table versions, pins as
 * Xen sets them, and a race against a guest revoking concurrently.
 */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

#include "grant.h"
#include "ktap.h"

#define RAM_PAGES	16
#define RAM_BASE_GFN	0x100
#define GUEST_DOMID	1
#define BACKEND		0

struct ram {
	uint8_t *mem;
};

static void *ram_gfn_to_hva(void *opaque, uint64_t gfn)
{
	struct ram *r = opaque;

	if (gfn < RAM_BASE_GFN || gfn >= RAM_BASE_GFN + RAM_PAGES)
		return NULL;
	return r->mem + (gfn - RAM_BASE_GFN) * GRANT_PAGE_SIZE;
}

static struct grant_table *new_table(struct ram *r)
{
	r->mem = calloc(RAM_PAGES, GRANT_PAGE_SIZE);
	return grant_table_new(GUEST_DOMID, 4, ram_gfn_to_hva, r);
}

static void free_table(struct grant_table *gt, struct ram *r)
{
	grant_table_free(gt);
	free(r->mem);
}

static struct grant_entry_v1 *v1(struct grant_table *gt, uint32_t ref)
{
	return (struct grant_entry_v1 *)grant_frames_base(gt, false) + ref;
}

static union grant_entry_v2 *v2(struct grant_table *gt, uint32_t ref)
{
	return (union grant_entry_v2 *)grant_frames_base(gt, false) + ref;
}

/* What the guest does to grant: frame and domid first, then the flags. */
static void grant_v1(struct grant_table *gt, uint32_t ref, uint16_t domid,
		     uint32_t gfn, bool ro)
{
	struct grant_entry_v1 *e = v1(gt, ref);

	e->domid = domid;
	e->frame = gfn;
	__atomic_store_n(&e->flags,
			 (uint16_t)(GTF_permit_access | (ro ? GTF_readonly : 0)),
			 __ATOMIC_RELEASE);
}

static void test_valid(struct ktap *t)
{
	struct ram r;
	struct grant_table *gt = new_table(&r);
	void *p = NULL, *q = NULL;

	grant_v1(gt, 10, BACKEND, RAM_BASE_GFN + 3, false);
	memcpy(r.mem + 3 * GRANT_PAGE_SIZE, "granted", 8);
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 10, false, &p) == 0);
	KTAP_EXPECT(t, p == r.mem + 3 * GRANT_PAGE_SIZE &&
			       !strcmp(p, "granted"));
	/* Xen's pin bits, visible to the guest. */
	KTAP_EXPECT(t, (v1(gt, 10)->flags & (GTF_reading | GTF_writing)) ==
			       GTF_reading);
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 10, true, &q) == 0 && q == p);
	KTAP_EXPECT(t, v1(gt, 10)->flags & GTF_writing);
	memcpy(q, "written", 8);
	grant_release(gt, 10, true);
	KTAP_EXPECT(t, (v1(gt, 10)->flags & (GTF_reading | GTF_writing)) ==
			       GTF_reading);
	grant_release(gt, 10, false);
	KTAP_EXPECT(t, v1(gt, 10)->flags == GTF_permit_access);
	KTAP_EXPECT(t, !strcmp((char *)r.mem + 3 * GRANT_PAGE_SIZE, "written"));
	/* An unbalanced release does nothing. */
	grant_release(gt, 10, true);
	grant_release(gt, 99999, false);
	KTAP_EXPECT(t, v1(gt, 10)->flags == GTF_permit_access);
	/* Copy helpers, bounds checked. */
	{
		char buf[8];

		KTAP_EXPECT(t, grant_copy_from(gt, BACKEND, 10, 0, buf, 8) == 0 &&
				       !strcmp(buf, "written"));
		KTAP_EXPECT(t, grant_copy_to(gt, BACKEND, 10, 4090, "12345", 6) ==
				       0);
		KTAP_EXPECT(t, grant_copy_to(gt, BACKEND, 10, 4092, "12345", 6) ==
				       -EINVAL);
		KTAP_EXPECT(t, grant_copy_from(gt, BACKEND, 10, 5000, buf, 1) ==
				       -EINVAL);
		KTAP_EXPECT(t, v1(gt, 10)->flags == GTF_permit_access);
	}
	free_table(gt, &r);
	ktap_case_end(t, "valid grant: pointer, pin bits, release");
}

static void test_refused(struct ktap *t)
{
	struct ram r;
	struct grant_table *gt = new_table(&r);
	void *p = NULL;
	uint32_t per_frame = GRANT_PAGE_SIZE / sizeof(struct grant_entry_v1);

	/* Never granted. */
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 5, false, &p) == -ENOENT);
	/* Revoked. */
	grant_v1(gt, 5, BACKEND, RAM_BASE_GFN, false);
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 5, false, &p) == 0);
	grant_release(gt, 5, false);
	v1(gt, 5)->flags = 0;
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 5, false, &p) == -ENOENT);
	/* Accept-transfer entries are not access grants. */
	v1(gt, 5)->flags = GTF_accept_transfer;
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 5, false, &p) == -ENOENT);
	/* Wrong domain. */
	grant_v1(gt, 6, 3, RAM_BASE_GFN, false);
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 6, false, &p) == -EPERM);
	KTAP_EXPECT(t, grant_access(gt, 3, 6, false, &p) == 0);
	grant_release(gt, 6, false);
	/* Read-only, written. */
	grant_v1(gt, 7, BACKEND, RAM_BASE_GFN, true);
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 7, true, &p) == -EROFS);
	KTAP_EXPECT(t, !(v1(gt, 7)->flags & (GTF_reading | GTF_writing)));
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 7, false, &p) == 0);
	grant_release(gt, 7, false);
	/* Out of range: the table has one frame until it grows. */
	grant_v1(gt, per_frame, BACKEND, RAM_BASE_GFN, false);
	KTAP_EXPECT(t, grant_access(gt, BACKEND, per_frame, false, &p) ==
			       -EINVAL);
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 0xffffffffu, false, &p) ==
			       -EINVAL);
	KTAP_EXPECT(t, grant_grow(gt, 2) == 0);
	KTAP_EXPECT(t, grant_access(gt, BACKEND, per_frame, false, &p) == 0);
	grant_release(gt, per_frame, false);
	KTAP_EXPECT(t, grant_grow(gt, 5) == -EINVAL);
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 4 * per_frame, false, &p) ==
			       -EINVAL);
	/* Granted frame that is not RAM: refused, and no pin left behind. */
	grant_v1(gt, 8, BACKEND, 0xdeadbeef, false);
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 8, true, &p) == -EFAULT);
	KTAP_EXPECT(t, v1(gt, 8)->flags == GTF_permit_access);
	free_table(gt, &r);
	ktap_case_end(t, "revoked, wrong-domid, read-only-written, out-of-range");
}

static void test_v2(struct ktap *t)
{
	struct ram r;
	struct grant_table *gt = new_table(&r);
	uint16_t *status;
	void *p = NULL;
	union grant_entry_v2 *e;

	/* A reserved v1 entry survives the switch. */
	grant_v1(gt, 1, BACKEND, RAM_BASE_GFN + 1, false);
	grant_v1(gt, 9, BACKEND, RAM_BASE_GFN + 2, false);
	KTAP_EXPECT(t, grant_nr_status_frames(gt) == 0);
	KTAP_EXPECT(t, grant_set_version(gt, 3) == -EINVAL);
	KTAP_EXPECT(t, grant_set_version(gt, 2) == 0 && grant_version(gt) == 2);
	KTAP_EXPECT(t, v2(gt, 1)->hdr.flags == GTF_permit_access &&
			       v2(gt, 1)->full_page.frame == RAM_BASE_GFN + 1);
	KTAP_EXPECT(t, v2(gt, 9)->hdr.flags == 0);
	KTAP_EXPECT(t, grant_nr_status_frames(gt) == 1);
	status = grant_frames_base(gt, true);

	e = v2(gt, 20);
	e->hdr.domid = BACKEND;
	e->full_page.frame = RAM_BASE_GFN + 4;
	e->hdr.flags = GTF_permit_access;
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 20, true, &p) == 0 &&
			       p == r.mem + 4 * GRANT_PAGE_SIZE);
	/* Pins go to the status frame; the entry is untouched. */
	KTAP_EXPECT(t, status[20] == (GTF_reading | GTF_writing));
	KTAP_EXPECT(t, e->hdr.flags == GTF_permit_access);
	/* No version switch while a backend holds a grant. */
	KTAP_EXPECT(t, grant_set_version(gt, 1) == -EBUSY);
	grant_release(gt, 20, true);
	KTAP_EXPECT(t, status[20] == 0);
	/* Read-only, wrong domid, sub-page, transitive, range (256/frame). */
	e->hdr.flags = GTF_permit_access | GTF_readonly;
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 20, true, &p) == -EROFS);
	KTAP_EXPECT(t, status[20] == 0);
	e->hdr.flags = GTF_permit_access;
	e->hdr.domid = 4;
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 20, false, &p) == -EPERM);
	e->hdr.domid = BACKEND;
	e->hdr.flags = GTF_permit_access | GTF_sub_page;
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 20, false, &p) == -EOPNOTSUPP);
	e->hdr.flags = GTF_transitive;
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 20, false, &p) == -EOPNOTSUPP);
	KTAP_EXPECT(t, grant_access(gt, BACKEND, 256, false, &p) == -EINVAL);
	KTAP_EXPECT(t, status[20] == 0);
	KTAP_EXPECT(t, grant_set_version(gt, 1) == 0 && grant_version(gt) == 1);
	KTAP_EXPECT(t, v1(gt, 1)->frame == RAM_BASE_GFN + 1);
	free_table(gt, &r);
	ktap_case_end(t, "v2 entries and status frames");
}

static void test_frames(struct ktap *t)
{
	struct ram r;
	struct grant_table *gt = new_table(&r);
	uint64_t old = 0;

	KTAP_EXPECT(t, grant_nr_frames(gt) == 1 && grant_max_frames(gt) == 4);
	KTAP_EXPECT(t, grant_frame_gfn(gt, 0, false) == GRANT_INVALID_GFN);
	KTAP_EXPECT(t, grant_set_frame_gfn(gt, 0, false, 0xf0000, &old) == 0 &&
			       old == GRANT_INVALID_GFN);
	KTAP_EXPECT(t, grant_set_frame_gfn(gt, 0, false, 0xf0010, &old) == 0 &&
			       old == 0xf0000);
	/* Mapping frame 2 grows the table to 3 frames. */
	KTAP_EXPECT(t, grant_set_frame_gfn(gt, 2, false, 0xf0002, &old) == 0);
	KTAP_EXPECT(t, grant_nr_frames(gt) == 3);
	KTAP_EXPECT(t, grant_frame_gfn(gt, 2, false) == 0xf0002);
	KTAP_EXPECT(t, grant_set_frame_gfn(gt, 4, false, 1, &old) == -EINVAL);
	/* Status frames exist only under v2. */
	KTAP_EXPECT(t, grant_set_frame_gfn(gt, 0, true, 5, &old) == -EINVAL);
	grant_set_version(gt, 2);
	KTAP_EXPECT(t, grant_set_frame_gfn(gt, 0, true, 5, &old) == 0);
	KTAP_EXPECT(t, grant_frame_gfn(gt, 0, true) == 5);
	KTAP_EXPECT(t, grant_set_frame_gfn(gt, 1, true, 5, &old) == -EINVAL);
	KTAP_EXPECT(t, grant_frame_hva(gt, 3, false) ==
			       (uint8_t *)grant_frames_base(gt, false) +
				       3 * GRANT_PAGE_SIZE);
	KTAP_EXPECT(t, grant_frame_hva(gt, 4, false) == NULL);
	free_table(gt, &r);
	ktap_case_end(t, "frame placement and growth");
}

/* ---- a guest revoking while the backend pins ---- */

struct race {
	struct grant_table *gt;
	bool stop;
	unsigned long revoked, violations, pinned;
};

/* Linux's gnttab_end_foreign_access_ref: only if not in use. */
static void *guest_revoker(void *arg)
{
	struct race *rc = arg;
	struct grant_entry_v1 *e = v1(rc->gt, 33);

	while (!__atomic_load_n(&rc->stop, __ATOMIC_RELAXED)) {
		uint16_t f = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);

		if (!(f & GTF_permit_access)) {
			grant_v1(rc->gt, 33, BACKEND, RAM_BASE_GFN, false);
			continue;
		}
		if (f & (GTF_reading | GTF_writing))
			continue;
		if (__atomic_compare_exchange_n(&e->flags, &f, 0, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			__atomic_fetch_add(&rc->revoked, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_revoke_race(struct ktap *t)
{
	struct ram r;
	struct race rc = { 0 };
	pthread_t th;
	unsigned long i;

	rc.gt = new_table(&r);
	grant_v1(rc.gt, 33, BACKEND, RAM_BASE_GFN, false);
	pthread_create(&th, NULL, guest_revoker, &rc);
	/* Until both sides made progress (two cores are shared: ~2 s max). */
	for (i = 0; i < 50000000; i++) {
		void *p;

		if (rc.pinned >= 20000 &&
		    __atomic_load_n(&rc.revoked, __ATOMIC_RELAXED) >= 20000)
			break;

		if (grant_access(rc.gt, BACKEND, 33, true, &p))
			continue;
		rc.pinned++;
		/* While we hold it the guest must not have revoked it. */
		if (!(__atomic_load_n(&v1(rc.gt, 33)->flags, __ATOMIC_ACQUIRE) &
		      GTF_permit_access))
			rc.violations++;
		grant_release(rc.gt, 33, true);
	}
	__atomic_store_n(&rc.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	printf("# %lu pins, %lu revocations, %lu violations\n", rc.pinned,
	       rc.revoked, rc.violations);
	KTAP_EXPECT(t, rc.violations == 0);
	KTAP_EXPECT(t, rc.pinned > 0 && rc.revoked > 0);
	free_table(rc.gt, &r);
	ktap_case_end(t, "a concurrent revoke never pulls a pinned grant");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 5);
	test_valid(&t);
	test_refused(&t);
	test_v2(&t);
	test_frames(&t);
	test_revoke_race(&t);
	return ktap_finish(&t);
}
