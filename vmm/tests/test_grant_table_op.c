// SPDX-License-Identifier: GPL-2.0
/*
 * HYPERVISOR_grant_table_op from the guest's side, on the fake machine:
 * setup_table, query_size, set/get_version, get_status_frames in both
 * ABIs, bad domains and counts, and frame placement arguments.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <xen/grant_table.h>
#include <xen/memory.h>

#include "fake_vm.h"
#include "grant.h"
#include "ktap.h"

#define GNTTAB_HCALL 20	/* __HYPERVISOR_grant_table_op */

static int64_t gnttab(struct fake_vm *f, uint64_t cmd, uint64_t uop,
		      uint64_t count)
{
	return fake_hcall(f, 0, GNTTAB_HCALL, cmd, uop, count);
}

static void test_query_and_setup(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, 4 << 20);
	uint64_t q = fake_alloc(f, 16, 8), s = fake_alloc(f, 24, 8);
	uint64_t list = fake_alloc(f, 8 * 4, 8);
	uint8_t *qp = fake_ptr(f, q), *sp = fake_ptr(f, s);
	uint64_t *lp = fake_ptr(f, list);
	uint32_t v32;
	int16_t st;

	f->longmode = true;
	/* query_size about domain 0: refused in the status. */
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_query_size, q, 1) == 0);
	memcpy(&st, qp + 12, 2);
	KTAP_EXPECT(t, st == GNTST_permission_denied);
	/* About ourselves: one frame to start with, Xen's default maximum. */
	{
		uint16_t self = DOMID_SELF;

		memcpy(qp, &self, 2);
	}
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_query_size, q, 1) == 0);
	memcpy(&v32, qp + 4, 4);
	KTAP_EXPECT(t, v32 == 1);
	memcpy(&v32, qp + 8, 4);
	KTAP_EXPECT(t, v32 == GRANT_DEFAULT_MAX_FRAMES);
	memcpy(&st, qp + 12, 2);
	KTAP_EXPECT(t, st == GNTST_okay);

	/* setup_table grows the table and lists (unplaced) frames. */
	{
		uint16_t dom = DOMID_SELF;
		uint32_t nr = 3;

		memcpy(sp, &dom, 2);
		memcpy(sp + 4, &nr, 4);
		memcpy(sp + 16, &list, 8);
		lp[0] = lp[1] = lp[2] = 0x1234;
		lp[3] = 0x5678;
		KTAP_EXPECT(t, gnttab(f, GNTTABOP_setup_table, s, 1) == 0);
		memcpy(&st, sp + 8, 2);
		KTAP_EXPECT(t, st == GNTST_okay);
		KTAP_EXPECT(t, lp[0] == GRANT_INVALID_GFN &&
				       lp[2] == GRANT_INVALID_GFN &&
				       lp[3] == 0x5678);
		KTAP_EXPECT(t, grant_nr_frames(vm_grant_table(&f->vm)) == 3);

		nr = GRANT_DEFAULT_MAX_FRAMES + 1;
		memcpy(sp + 4, &nr, 4);
		KTAP_EXPECT(t, gnttab(f, GNTTABOP_setup_table, s, 1) == 0);
		memcpy(&st, sp + 8, 2);
		KTAP_EXPECT(t, st == GNTST_general_error);

		/* Domain 0 exists but is not ours; 7 does not exist. */
		nr = 1;
		memcpy(sp + 4, &nr, 4);
		dom = 0;
		memcpy(sp, &dom, 2);
		gnttab(f, GNTTABOP_setup_table, s, 1);
		memcpy(&st, sp + 8, 2);
		KTAP_EXPECT(t, st == GNTST_permission_denied);
		dom = 7;
		memcpy(sp, &dom, 2);
		gnttab(f, GNTTABOP_setup_table, s, 1);
		memcpy(&st, sp + 8, 2);
		KTAP_EXPECT(t, st == GNTST_bad_domain);

		/* A frame list outside guest memory. */
		dom = DOMID_SELF;
		memcpy(sp, &dom, 2);
		list = 0xfff000000ULL;
		memcpy(sp + 16, &list, 8);
		gnttab(f, GNTTABOP_setup_table, s, 1);
		memcpy(&st, sp + 8, 2);
		KTAP_EXPECT(t, st == GNTST_bad_virt_addr);
	}
	/* Argument structure outside memory, wrong counts, other ops. */
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_query_size, 0xfff000000ULL, 1) ==
			       -EFAULT);
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_query_size, q, 2) == -EINVAL);
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_query_size, q, 0) == -EINVAL);
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_map_grant_ref, q, 1) == -ENOSYS);
	KTAP_EXPECT(t, gnttab(f, 999, q, 1) == -ENOSYS);
	vm_grant_table_free(&f->vm);
	fake_vm_free(f);
	ktap_case_end(t, "query_size and setup_table");
}

static void test_versions(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, 4 << 20);
	uint64_t v = fake_alloc(f, 8, 8), sf = fake_alloc(f, 16, 8);
	uint64_t list = fake_alloc(f, 16, 8);
	uint8_t *vp = fake_ptr(f, v), *sfp = fake_ptr(f, sf);
	uint64_t *lp = fake_ptr(f, list);
	uint32_t ver, nr;
	uint16_t dom = DOMID_SELF;
	int16_t st;

	f->longmode = false;	/* the 32-bit layouts */
	memcpy(vp, &dom, 2);
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_get_version, v, 1) == 0);
	memcpy(&ver, vp + 4, 4);
	KTAP_EXPECT(t, ver == 1);

	/* get_status_frames under v1: an error status. */
	nr = 1;
	memcpy(sfp, &nr, 4);
	memcpy(sfp + 4, &dom, 2);
	memcpy(sfp + 8, &list, 4);	/* a 4-byte handle in this ABI */
	lp[0] = 0x77;
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_get_status_frames, sf, 1) == 0);
	memcpy(&st, sfp + 6, 2);
	KTAP_EXPECT(t, st == GNTST_general_error && lp[0] == 0x77);

	ver = 2;
	memcpy(vp, &ver, 4);
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_set_version, v, 1) == 0);
	memcpy(&ver, vp, 4);
	KTAP_EXPECT(t, ver == 2);
	ver = 3;
	memcpy(vp, &ver, 4);
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_set_version, v, 1) == -EINVAL);
	memcpy(&ver, vp, 4);
	KTAP_EXPECT(t, ver == 2);	/* written back: what is in force */

	memcpy(vp, &dom, 2);
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_get_version, v, 1) == 0);
	memcpy(&ver, vp + 4, 4);
	KTAP_EXPECT(t, ver == 2);
	dom = 0;
	memcpy(vp, &dom, 2);
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_get_version, v, 1) == -EPERM);

	/* Now one status frame exists (one shared frame); two do not. */
	KTAP_EXPECT(t, gnttab(f, GNTTABOP_get_status_frames, sf, 1) == 0);
	memcpy(&st, sfp + 6, 2);
	KTAP_EXPECT(t, st == GNTST_okay && lp[0] == GRANT_INVALID_GFN);
	nr = 2;
	memcpy(sfp, &nr, 4);
	gnttab(f, GNTTABOP_get_status_frames, sf, 1);
	memcpy(&st, sfp + 6, 2);
	KTAP_EXPECT(t, st == GNTST_general_error);
	vm_grant_table_free(&f->vm);
	fake_vm_free(f);
	ktap_case_end(t, "set/get_version and get_status_frames (compat ABI)");
}

static void test_map_frame_arguments(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, 4 << 20);
	struct grant_table *gt;

	KTAP_EXPECT(t, xen_grant_map_frame(&f->vm, GRANT_DEFAULT_MAX_FRAMES,
					   0xf0000) == -EINVAL);
	/* Status frames need v2. */
	KTAP_EXPECT(t, xen_grant_map_frame(&f->vm,
					   XENMAPIDX_grant_table_status | 0,
					   0xf0000) == -EINVAL);
	KTAP_EXPECT(t, xen_grant_map_frame(&f->vm, 0, 1ULL << 50) == -EINVAL);
	/* A placement the machine cannot map leaves nothing recorded. */
	KTAP_EXPECT(t, xen_grant_map_frame(&f->vm, 0, 0xf0000) < 0);
	gt = vm_grant_table(&f->vm);
	KTAP_EXPECT(t, grant_frame_gfn(gt, 0, false) == GRANT_INVALID_GFN);
	KTAP_EXPECT(t, grant_window_gfn(gt) == GRANT_INVALID_GFN);
	vm_grant_table_free(&f->vm);
	fake_vm_free(f);
	ktap_case_end(t, "add_to_physmap(grant_table) argument checks");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 3);
	test_query_and_setup(&t);
	test_versions(&t);
	test_map_frame_arguments(&t);
	return ktap_finish(&t);
}
