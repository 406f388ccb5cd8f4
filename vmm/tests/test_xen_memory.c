// SPDX-License-Identifier: GPL-2.0
/*
 * XENMEM_* on the fake machine: shared_info placed in place, the e820,
 * the balloon (memory really given back, only ballooned pages come back,
 * pinned pages stay) and the reservation queries, in both ABIs.
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <xen/memory.h>

#include "fake_vm.h"
#include "ktap.h"

#define RAM_SIZE	(16ULL << 20)
#define RAM_PAGES	(RAM_SIZE >> 12)

static int64_t memop(struct fake_vm *f, uint64_t cmd, void *arg, size_t size)
{
	return fake_op(f, 0, __HYPERVISOR_memory_op, cmd, arg, size);
}

static int64_t query(struct fake_vm *f, uint64_t cmd, uint16_t domid)
{
	return memop(f, cmd, &domid, sizeof(domid));
}

static void test_shared_info(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(2, RAM_SIZE);
	struct xen_add_to_physmap a = { .domid = DOMID_SELF,
					.space = XENMAPSPACE_shared_info };
	const struct fake_call *c;
	struct timespec now;
	uint32_t wc_ver, wc_sec;

	memset(f->ram + 0x20000, 0xa5, 4096);	/* guest garbage */
	KTAP_EXPECT(t, fake_map_shared_info(f, 0x20) == 0);
	c = fake_last(f, FAKE_SET_SHARED_INFO);
	KTAP_EXPECT(t, c && c->a == 0x20);
	KTAP_EXPECT(t, f->vm.xen->shared_info_gfn == 0x20);
	/* Xen's page starts clean: no stale bit may look like an event. */
	KTAP_EXPECT(t, f->ram[0x20000] == 0 && f->ram[0x20000 + 2048] == 0 &&
			       f->ram[0x20000 + 2560] == 0);
	memcpy(&wc_ver, f->ram + 0x20000 + 3072, 4);
	memcpy(&wc_sec, f->ram + 0x20000 + 3076, 4);
	clock_gettime(CLOCK_REALTIME, &now);
	KTAP_EXPECT(t, wc_ver != 0 && (wc_ver & 1) == 0);
	/* Boot time of Xen's clock: before now, and not decades ago. */
	KTAP_EXPECT(t, wc_sec <= (uint32_t)now.tv_sec &&
			       wc_sec > (uint32_t)now.tv_sec - 10u * 365 * 86400);

	/* Moving it carries the contents (pending bits) along. */
	f->ram[0x20000 + 2048] = 0x4;
	KTAP_EXPECT(t, fake_map_shared_info(f, 0x30) == 0);
	KTAP_EXPECT(t, f->ram[0x30000 + 2048] == 0x4);
	c = fake_last(f, FAKE_SET_SHARED_INFO);
	KTAP_EXPECT(t, c && c->a == 0x30);

	a.idx = 1;
	a.gpfn = 0x40;
	KTAP_EXPECT(t, memop(f, XENMEM_add_to_physmap, &a, sizeof(a)) == -EINVAL);
	a.idx = 0;
	a.gpfn = RAM_PAGES;	/* just past RAM: not placed in place */
	KTAP_EXPECT(t, memop(f, XENMEM_add_to_physmap, &a, sizeof(a)) == -EINVAL);
	a.gpfn = UINT64_MAX;
	KTAP_EXPECT(t, memop(f, XENMEM_add_to_physmap, &a, sizeof(a)) == -EINVAL);
	a.gpfn = 0x40;
	a.domid = 0;
	KTAP_EXPECT(t, memop(f, XENMEM_add_to_physmap, &a, sizeof(a)) == -EPERM);
	a.domid = DOMID_SELF;
	a.space = 99;
	KTAP_EXPECT(t, memop(f, XENMEM_add_to_physmap, &a, sizeof(a)) == -EINVAL);
	a.space = XENMAPSPACE_gmfn;
	KTAP_EXPECT(t, memop(f, XENMEM_add_to_physmap, &a, sizeof(a)) == -ENOSYS);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_memory_op,
				  XENMEM_add_to_physmap, RAM_SIZE - 8, 0) ==
		       -EFAULT);
	KTAP_EXPECT(t, f->vm.xen->shared_info_gfn == 0x30);
	fake_vm_free(f);

	/* Compat: 16-byte argument, wallclock at the compat offset. */
	f = fake_vm_new(1, RAM_SIZE);
	f->longmode = false;
	xen_set_long_mode(&f->vm, false);
	KTAP_EXPECT(t, fake_map_shared_info(f, 0x21) == 0);
	KTAP_EXPECT(t, f->vm.xen->shared_info_gfn == 0x21);
	memcpy(&wc_ver, f->ram + 0x21000 + 2304, 4);
	memcpy(&wc_sec, f->ram + 0x21000 + 2308, 4);
	KTAP_EXPECT(t, wc_ver != 0 && (wc_ver & 1) == 0 && wc_sec != 0);
	fake_vm_free(f);
	ktap_case_end(t, "add_to_physmap(shared_info): in place, moved, refused");
}

static void test_memory_map(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, RAM_SIZE);
	uint64_t buf = fake_alloc(f, 20 * 8, 8);
	struct xen_memory_map m;
	uint8_t e[20];
	uint64_t addr;
	uint32_t type;

	memset(&m, 0, sizeof(m));
	m.nr_entries = 8;
	set_xen_guest_handle(m.buffer, (void *)(uintptr_t)buf);
	KTAP_EXPECT(t, memop(f, XENMEM_memory_map, &m, sizeof(m)) == -ENOSYS);

	f->vm.e820[0] = (struct vm_e820_entry){ 0, 0x9fc00, 1 };
	f->vm.e820[1] = (struct vm_e820_entry){ 0x9fc00, 0x60400, 2 };
	f->vm.e820[2] = (struct vm_e820_entry){ 0x100000, RAM_SIZE - 0x100000, 1 };
	f->vm.nr_e820 = 3;
	m.nr_entries = 2;
	KTAP_EXPECT(t, memop(f, XENMEM_memory_map, &m, sizeof(m)) == 0);
	KTAP_EXPECT(t, m.nr_entries == 2);
	memcpy(e, f->ram + buf + 20, 20);	/* packed: entry 1 at +20 */
	memcpy(&addr, e, 8);
	memcpy(&type, e + 16, 4);
	KTAP_EXPECT(t, addr == 0x9fc00 && type == 2);
	KTAP_EXPECT(t, f->ram[buf + 40] == 0);	/* nothing past the limit */
	m.nr_entries = 100;
	KTAP_EXPECT(t, memop(f, XENMEM_memory_map, &m, sizeof(m)) == 0);
	KTAP_EXPECT(t, m.nr_entries == 3);
	set_xen_guest_handle(m.buffer, (void *)(uintptr_t)(RAM_SIZE - 30));
	KTAP_EXPECT(t, memop(f, XENMEM_memory_map, &m, sizeof(m)) == -EFAULT);

	/* Compat: { u32 nr_entries; u32 buffer; }. */
	{
		uint32_t c[2] = { 3, (uint32_t)buf };

		memset(f->ram + buf, 0, 60);
		f->longmode = false;
		KTAP_EXPECT(t, memop(f, XENMEM_memory_map, c, sizeof(c)) == 0);
		KTAP_EXPECT(t, c[0] == 3);
		memcpy(&addr, f->ram + buf + 40, 8);
		KTAP_EXPECT(t, addr == 0x100000);
	}
	fake_vm_free(f);
	ktap_case_end(t, "memory_map: the machine's e820, bounded, both ABIs");
}

/* decrease/populate with the GFN list @gfns (64-bit or compat entries). */
static int64_t balloon(struct fake_vm *f, uint64_t cmd, const uint64_t *gfns,
		       unsigned int n, unsigned int order, uint16_t domid)
{
	uint64_t list = fake_alloc(f, 8 * n + 8, 8);
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (f->longmode) {
			memcpy(f->ram + list + 8 * i, &gfns[i], 8);
		} else {
			uint32_t g = (uint32_t)gfns[i];

			memcpy(f->ram + list + 4 * i, &g, 4);
		}
	}
	if (f->longmode) {
		struct xen_memory_reservation r = {
			.nr_extents = n, .extent_order = order, .domid = domid,
		};

		set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)list);
		return memop(f, cmd, &r, sizeof(r));
	} else {
		struct {
			uint32_t start, nr, order, flags;
			uint16_t domid;
		} r = { (uint32_t)list, n, order, 0, domid };

		return memop(f, cmd, &r, sizeof(r));
	}
}

static void test_balloon(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, RAM_SIZE);
	uint64_t g[4] = { 0x400, 0x401, 0x402, 0x403 };
	uint64_t total = (uint64_t)query(f, XENMEM_current_reservation, DOMID_SELF);

	KTAP_EXPECT(t, total == RAM_PAGES);
	KTAP_EXPECT(t, query(f, XENMEM_maximum_reservation, DOMID_SELF) ==
		       (int64_t)RAM_PAGES);
	memset(f->ram + 0x400000, 0x5a, 3 * 4096);
	KTAP_EXPECT(t, balloon(f, XENMEM_decrease_reservation, g, 3, 0,
			       DOMID_SELF) == 3);
	KTAP_EXPECT(t, query(f, XENMEM_current_reservation, DOMID_SELF) ==
		       (int64_t)(RAM_PAGES - 3));
	/* The host got the memory back: the pages read as zeros now. */
	KTAP_EXPECT(t, f->ram[0x400000] == 0 && f->ram[0x402fff] == 0);
	KTAP_EXPECT(t, xen_gfn_is_ballooned(f->vm.xen, 0x401));
	/* Already gone: the first extent fails, nothing done. */
	KTAP_EXPECT(t, balloon(f, XENMEM_decrease_reservation, g, 1, 0,
			       DOMID_SELF) == 0);
	/* Populating only brings back what was ballooned. */
	KTAP_EXPECT(t, balloon(f, XENMEM_populate_physmap, &g[3], 1, 0,
			       DOMID_SELF) == 0);
	KTAP_EXPECT(t, balloon(f, XENMEM_populate_physmap, g, 4, 0,
			       DOMID_SELF) == 3);
	KTAP_EXPECT(t, query(f, XENMEM_current_reservation, DOMID_SELF) ==
		       (int64_t)RAM_PAGES);
	KTAP_EXPECT(t, !xen_gfn_is_ballooned(f->vm.xen, 0x401));
	/* Outside RAM, and foreign domains. */
	g[0] = RAM_PAGES + 5;
	KTAP_EXPECT(t, balloon(f, XENMEM_decrease_reservation, g, 1, 0,
			       DOMID_SELF) == 0);
	KTAP_EXPECT(t, balloon(f, XENMEM_decrease_reservation, g, 1, 0, 0) ==
		       -EPERM);
	KTAP_EXPECT(t, balloon(f, XENMEM_decrease_reservation, g, 1, 0, 77) ==
		       -ESRCH);
	/* Pages the kernel side writes are never given away. */
	KTAP_EXPECT(t, fake_map_shared_info(f, 0x500) == 0);
	g[0] = 0x500;
	KTAP_EXPECT(t, balloon(f, XENMEM_decrease_reservation, g, 1, 0,
			       DOMID_SELF) == 0);
	/* Order 1: aligned pairs only; order 10 is beyond a domU's limit. */
	g[0] = 0x600;
	g[1] = 0x603;
	KTAP_EXPECT(t, balloon(f, XENMEM_decrease_reservation, g, 2, 1,
			       DOMID_SELF) == 1);
	KTAP_EXPECT(t, xen_gfn_is_ballooned(f->vm.xen, 0x601));
	KTAP_EXPECT(t, balloon(f, XENMEM_decrease_reservation, g, 1, 10,
			       DOMID_SELF) == 0);
	/* The start extent rides in the command's high bits. */
	g[0] = 0x700;
	g[1] = 0x701;
	KTAP_EXPECT(t, balloon(f, XENMEM_decrease_reservation | (1 << 6), g, 2, 0,
			       DOMID_SELF) == 2);
	KTAP_EXPECT(t, !xen_gfn_is_ballooned(f->vm.xen, 0x700) &&
			       xen_gfn_is_ballooned(f->vm.xen, 0x701));
	/* A list that runs off guest memory stops there. */
	{
		struct xen_memory_reservation r = { .nr_extents = 4, .domid = DOMID_SELF };

		set_xen_guest_handle(r.extent_start,
				     (xen_pfn_t *)(uintptr_t)(RAM_SIZE - 8));
		f->ram[RAM_SIZE - 8] = 0x10;	/* gfn 0x10 */
		memset(f->ram + RAM_SIZE - 7, 0, 7);
		KTAP_EXPECT(t, memop(f, XENMEM_decrease_reservation, &r, sizeof(r)) == 1);
	}
	/* Compat: 4-byte GFNs. */
	f->longmode = false;
	g[0] = 0x800;
	g[1] = 0x801;
	KTAP_EXPECT(t, balloon(f, XENMEM_decrease_reservation, g, 2, 0,
			       DOMID_SELF) == 2);
	KTAP_EXPECT(t, xen_gfn_is_ballooned(f->vm.xen, 0x801));
	fake_vm_free(f);
	ktap_case_end(t, "balloon: decrease really frees, populate only refills");
}

static void test_queries(struct ktap *t)
{
	struct fake_vm *f = fake_vm_new(1, RAM_SIZE);
	uint8_t junk[32] = { 0 };

	KTAP_EXPECT(t, query(f, XENMEM_maximum_gpfn, DOMID_SELF) ==
		       (int64_t)RAM_PAGES - 1);
	KTAP_EXPECT(t, query(f, XENMEM_current_reservation, 0) == -EPERM);
	KTAP_EXPECT(t, query(f, XENMEM_maximum_reservation, 12) == -ESRCH);
	KTAP_EXPECT(t, query(f, XENMEM_current_reservation, XEN_DEFAULT_DOMID) ==
		       (int64_t)RAM_PAGES);
	KTAP_EXPECT(t, fake_hcall(f, 0, __HYPERVISOR_memory_op,
				  XENMEM_current_reservation, RAM_SIZE, 0) == -EFAULT);
	KTAP_EXPECT(t, memop(f, XENMEM_machine_memory_map, junk, 16) == -EPERM);
	KTAP_EXPECT(t, memop(f, XENMEM_exchange, junk, 32) == -ENOSYS);
	KTAP_EXPECT(t, memop(f, 63, junk, 32) == -ENOSYS);
	fake_vm_free(f);
	ktap_case_end(t, "reservation queries and unsupported sub-ops");
}

static void test_balloon_cap(struct ktap *t)
{
	/* 512 MiB: more pages than one call may give back. */
	struct fake_vm *f = fake_vm_new(1, 512ULL << 20);
	uint64_t n = 70000, list = fake_alloc(f, 8 * n, 8), j;
	struct xen_memory_reservation r = { .nr_extents = UINT64_MAX,
					    .domid = DOMID_SELF };

	for (j = 0; j < n; j++) {
		uint64_t gfn = 0x10000 + j;	/* from 256 MiB up */

		memcpy(f->ram + list + 8 * j, &gfn, 8);
	}
	set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)list);
	KTAP_EXPECT(t, memop(f, XENMEM_decrease_reservation, &r, sizeof(r)) == 65536);
	KTAP_EXPECT(t, xen_gfn_is_ballooned(f->vm.xen, 0x10000 + 65535));
	KTAP_EXPECT(t, !xen_gfn_is_ballooned(f->vm.xen, 0x10000 + 65536));
	/* A stopping VM ends the call at once. */
	f->vm.stopping = 1;
	r.nr_extents = n;
	KTAP_EXPECT(t, memop(f, XENMEM_decrease_reservation | (65536 << 6), &r,
			     sizeof(r)) == 65536);
	fake_vm_free(f);
	ktap_case_end(t, "balloon: a hostile extent count is bounded per call");
}

int main(void)
{
	struct ktap t = { 0 };

	ktap_plan(&t, 5);
	test_shared_info(&t);
	test_memory_map(&t);
	test_balloon(&t);
	test_balloon_cap(&t);
	test_queries(&t);
	return ktap_finish(&t);
}
