// SPDX-License-Identifier: GPL-2.0
/*
 * XENMEM_*: the guest's physical memory as Xen describes it.
 *
 * shared_info is placed *in place*: the guest names a RAM page and that
 * page becomes shared_info, with no memslot split (seed 000). Ballooning
 * gives pages back to the host with madvise() and tracks them, so that
 * populate_physmap can only bring back what was given; pages that back
 * shared_info, a vcpu_info or a runstate area cannot be ballooned out,
 * since the kernel side keeps writing them (seed 003).
 */
#include "xen/xen_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <xen/memory.h>


/* Provided by the grant table owner; weak until that file is linked. */
#pragma weak xen_grant_map_frame

#define MAX_EXTENT_ORDER 9	/* Xen's default for a domU: 2 MiB */
/*
 * Xen preempts long balloon calls with a continuation; we cannot rewind
 * the guest's RIP, so one call does at most this many extents (Linux asks
 * for 512 at most) and reports the rest as not done.
 */
#define MAX_EXTENTS_PER_CALL 65536

/* ---- ballooned-page tracking ----------------------------------------- */

int xen_balloon_init(struct xen *x)
{
	struct vm *vm = x->vm;
	uint64_t max = 0;
	unsigned int i;

	for (i = 0; i < vm->nr_mem; i++)
		if (vm->mem[i].ram &&
		    (vm->mem[i].gpa + vm->mem[i].size) >> XEN_PAGE_SHIFT > max)
			max = (vm->mem[i].gpa + vm->mem[i].size) >> XEN_PAGE_SHIFT;
	x->max_gfn = max;
	x->ballooned = calloc(max / 64 + 1, sizeof(uint64_t));
	return x->ballooned ? 0 : -1;
}

bool xen_gfn_is_ballooned(struct xen *x, uint64_t gfn)
{
	return gfn < x->max_gfn && (x->ballooned[gfn / 64] >> (gfn % 64)) & 1;
}

static void set_ballooned(struct xen *x, uint64_t gfn, bool on)
{
	uint64_t bit = 1ULL << (gfn % 64);

	if (gfn >= x->max_gfn || xen_gfn_is_ballooned(x, gfn) == on)
		return;
	if (on) {
		x->ballooned[gfn / 64] |= bit;
		x->nr_ballooned++;
	} else {
		x->ballooned[gfn / 64] &= ~bit;
		x->nr_ballooned--;
	}
}

static uint64_t ram_pages(const struct vm *vm)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < vm->nr_mem; i++)
		if (vm->mem[i].ram)
			n += vm->mem[i].size >> XEN_PAGE_SHIFT;
	return n;
}

/* ---- compat layouts -------------------------------------------------- */

struct compat_memory_reservation {
	uint32_t extent_start;
	uint32_t nr_extents;
	uint32_t extent_order;
	uint32_t mem_flags;
	uint16_t domid;
};

struct compat_add_to_physmap {
	uint16_t domid;
	uint16_t size;
	uint32_t space;
	uint32_t idx;
	uint32_t gpfn;
};

struct compat_memory_map {
	uint32_t nr_entries;
	uint32_t buffer;
};

/* Both ABIs, widened. */
struct reservation {
	uint64_t extent_start;
	uint64_t nr_extents;
	unsigned int extent_order;
	uint16_t domid;
};

static int read_reservation(struct vcpu *vcpu, const struct xen_hcall *hc,
			    struct reservation *r)
{
	if (hc->longmode) {
		struct xen_memory_reservation n;

		if (xen_copy_from_guest(vcpu, hc->args[1], &n, sizeof(n)))
			return -EFAULT;
		r->extent_start = (uint64_t)(uintptr_t)n.extent_start.p;
		r->nr_extents = n.nr_extents;
		r->extent_order = n.extent_order;
		r->domid = n.domid;
	} else {
		struct compat_memory_reservation c;

		if (xen_copy_from_guest(vcpu, hc->args[1], &c, sizeof(c)))
			return -EFAULT;
		r->extent_start = c.extent_start;
		r->nr_extents = c.nr_extents;
		r->extent_order = c.extent_order;
		r->domid = c.domid;
	}
	return 0;
}

/* ---- shared_info ------------------------------------------------------ */

/* Xen's wallclock: the UTC time at which Xen system time was 0. */
static void write_wallclock(struct xen *x, uint8_t *shinfo)
{
	uint32_t *ver = (uint32_t *)(shinfo + (x->long_mode ? SHINFO_WC_OFF_64
							    : SHINFO_WC_OFF_32));
	uint32_t *sec_hi = (uint32_t *)(shinfo + (x->long_mode
							? SHINFO_WC_SEC_HI_64
							: SHINFO_WC_SEC_HI_32));
	struct timespec now;
	uint64_t boot_ns;

	clock_gettime(CLOCK_REALTIME, &now);
	boot_ns = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec -
		  xen_now_ns(x);
	__atomic_store_n(&ver[0], ver[0] + 1, __ATOMIC_RELEASE);
	ver[1] = (uint32_t)(boot_ns / 1000000000ULL);
	ver[2] = (uint32_t)(boot_ns % 1000000000ULL);
	*sec_hi = (uint32_t)((boot_ns / 1000000000ULL) >> 32);
	__atomic_store_n(&ver[0], ver[0] + 1, __ATOMIC_RELEASE);
}

static int place_shared_info(struct vcpu *vcpu, uint64_t idx, uint64_t gfn)
{
	struct xen *x = vcpu->vm->xen;
	const struct backend_ops *ops = xen_ops(vcpu->vm);
	uint8_t *page, *old = NULL;

	if (idx != 0)
		return -EINVAL;
	if (gfn > (UINT64_MAX >> XEN_PAGE_SHIFT))
		return -EINVAL;
	page = gpa_to_hva(vcpu->vm, gfn << XEN_PAGE_SHIFT, XEN_PAGE_SIZE);
	if (!page)
		return -EINVAL;	/* not RAM: we place it in place only */

	pthread_mutex_lock(&x->lock);
	if (x->shared_info_gfn != XEN_INVALID_GFN)
		old = gpa_to_hva(vcpu->vm, x->shared_info_gfn << XEN_PAGE_SHIFT,
				 XEN_PAGE_SIZE);
	/* Xen's page moves with its contents; a first one starts clean. */
	if (old && old != page)
		memcpy(page, old, XEN_PAGE_SIZE);
	else if (!old)
		memset(page, 0, XEN_PAGE_SIZE);
	set_ballooned(x, gfn, false);
	x->shared_info_gfn = gfn;
	write_wallclock(x, page);
	pthread_mutex_unlock(&x->lock);

	if (ops && ops->set_shared_info)
		return ops->set_shared_info(vcpu->vm, gfn);
	return 0;
}

static int read_add_to_physmap(struct vcpu *vcpu, const struct xen_hcall *hc,
			       struct xen_add_to_physmap *a)
{
	struct compat_add_to_physmap c;

	if (hc->longmode)
		return xen_copy_from_guest(vcpu, hc->args[1], a, sizeof(*a));
	if (xen_copy_from_guest(vcpu, hc->args[1], &c, sizeof(c)))
		return -EFAULT;
	a->domid = c.domid;
	a->size = c.size;
	a->space = c.space;
	a->idx = c.idx;
	a->gpfn = c.gpfn;
	return 0;
}

static int64_t add_to_physmap(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	struct xen_add_to_physmap a;
	int r;

	if (read_add_to_physmap(vcpu, hc, &a))
		return -EFAULT;
	r = xen_check_domid(vcpu->vm->xen, a.domid);
	if (r)
		return r;
	switch (a.space) {
	case XENMAPSPACE_shared_info:
		return place_shared_info(vcpu, a.idx, a.gpfn);
	case XENMAPSPACE_grant_table:
		if (!xen_grant_map_frame)
			return -ENOSYS;
		return xen_grant_map_frame(vcpu->vm, a.idx, a.gpfn);
	case XENMAPSPACE_gmfn:
	case XENMAPSPACE_gmfn_range:
		/* Moving RAM between GFNs needs memslot surgery we refuse. */
		return xen_unhandled(vcpu, hc->nr, 0x100 | a.space);
	default:
		return -EINVAL;	/* gmfn_foreign needs the batch op; dev_mmio is Arm */
	}
}

/* ---- the balloon ----------------------------------------------------- */

/* Pages the kernel side writes on its own: never give them away. */
static bool gfn_is_pinned(struct xen *x, uint64_t gfn)
{
	unsigned int i;

	if (gfn == x->shared_info_gfn)
		return true;
	for (i = 0; i < x->vm->nr_vcpus && i < VM_MAX_VCPUS; i++) {
		const struct vcpu *v = x->vm->vcpus[i];

		if (!v || !v->xen)
			continue;
		if (v->xen->vcpu_info_gpa != XEN_INVALID_GPA &&
		    (v->xen->vcpu_info_gpa >> XEN_PAGE_SHIFT) == gfn)
			return true;
		if (v->xen->runstate_gpa != XEN_INVALID_GPA &&
		    ((v->xen->runstate_gpa >> XEN_PAGE_SHIFT) == gfn ||
		     ((v->xen->runstate_gpa + 63) >> XEN_PAGE_SHIFT) == gfn))
			return true;
	}
	return false;
}

/* Return the pages' memory to the host; the next touch reads zeros. */
static void discard_pages(void *hva, size_t len)
{
	/* MADV_REMOVE frees shared (memfd/shmem) RAM; private RAM needs DONTNEED. */
	if (madvise(hva, len, MADV_REMOVE))
		madvise(hva, len, MADV_DONTNEED);
}

/* Check an extent of 2^order pages at @gfn: RAM, and ballooned or not. */
static void *extent_hva(struct xen *x, uint64_t gfn, unsigned int order,
			bool want_ballooned)
{
	uint64_t n = 1ULL << order, i;

	if (gfn & (n - 1) || gfn >= x->max_gfn || n > x->max_gfn - gfn)
		return NULL;
	for (i = 0; i < n; i++)
		if (xen_gfn_is_ballooned(x, gfn + i) != want_ballooned ||
		    (!want_ballooned && gfn_is_pinned(x, gfn + i)))
			return NULL;
	return gpa_to_hva(x->vm, gfn << XEN_PAGE_SHIFT, n << XEN_PAGE_SHIFT);
}

/*
 * decrease_reservation / populate_physmap: work extent by extent from the
 * start extent encoded in @cmd and return how many are done, as Xen does;
 * the first extent that cannot be done ends the call.
 */
static int64_t balloon(struct vcpu *vcpu, const struct xen_hcall *hc,
		       bool give_back)
{
	struct xen *x = vcpu->vm->xen;
	uint64_t start = hc->args[0] >> MEMOP_EXTENT_SHIFT, i;
	struct reservation r;
	int e;

	if (read_reservation(vcpu, hc, &r))
		return -EFAULT;
	e = xen_check_domid(x, r.domid);
	if (e)
		return e;
	if (r.extent_order > MAX_EXTENT_ORDER || start >= r.nr_extents)
		return (int64_t)start;
	for (i = start; i < r.nr_extents && i - start < MAX_EXTENTS_PER_CALL; i++) {
		uint64_t gfn;
		void *hva;

		if (vcpu->vm->stopping)
			break;

		if (xen_read_ulong(vcpu, hc, r.extent_start, i, &gfn))
			break;
		pthread_mutex_lock(&x->lock);
		hva = extent_hva(x, gfn, r.extent_order, !give_back);
		if (hva) {
			uint64_t j, n = 1ULL << r.extent_order;

			/* populate also scrubs: Xen hands out clean pages. */
			discard_pages(hva, n << XEN_PAGE_SHIFT);
			for (j = 0; j < n; j++)
				set_ballooned(x, gfn + j, give_back);
		}
		pthread_mutex_unlock(&x->lock);
		if (!hva)
			break;
	}
	return (int64_t)i;
}

/* ---- reservations and the memory map --------------------------------- */

static int64_t reservation_query(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	struct xen *x = vcpu->vm->xen;
	uint16_t domid;
	int64_t v;
	int r;

	if (xen_copy_from_guest(vcpu, hc->args[1], &domid, sizeof(domid)))
		return -EFAULT;
	r = xen_check_domid(x, domid);
	if (r)
		return r;
	pthread_mutex_lock(&x->lock);
	switch (hc->args[0] & MEMOP_CMD_MASK) {
	case XENMEM_current_reservation:
		v = (int64_t)(ram_pages(vcpu->vm) - x->nr_ballooned);
		break;
	case XENMEM_maximum_reservation:
		v = (int64_t)ram_pages(vcpu->vm);
		break;
	default: {	/* XENMEM_maximum_gpfn: the highest GFN mapped */
		uint64_t max = 0;
		unsigned int i;

		for (i = 0; i < vcpu->vm->nr_mem; i++) {
			const struct mem_region *m = &vcpu->vm->mem[i];

			if (m->size && (m->gpa + m->size) >> XEN_PAGE_SHIFT > max)
				max = (m->gpa + m->size) >> XEN_PAGE_SHIFT;
		}
		v = max ? (int64_t)max - 1 : 0;
		break;
	}
	}
	pthread_mutex_unlock(&x->lock);
	return v;
}

/* The guest's e820 as Xen lays it out: packed 20-byte entries. */
struct xen_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

static int64_t memory_map(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	struct vm *vm = vcpu->vm;
	uint64_t buffer, i;
	uint32_t nr;

	if (hc->longmode) {
		struct xen_memory_map m;

		if (xen_copy_from_guest(vcpu, hc->args[1], &m, sizeof(m)))
			return -EFAULT;
		nr = m.nr_entries;
		buffer = (uint64_t)(uintptr_t)m.buffer.p;
	} else {
		struct compat_memory_map c;

		if (xen_copy_from_guest(vcpu, hc->args[1], &c, sizeof(c)))
			return -EFAULT;
		nr = c.nr_entries;
		buffer = c.buffer;
	}
	if (vm->nr_e820 == 0)
		return -ENOSYS;		/* Xen: no map set for the domain */
	if (nr > vm->nr_e820)
		nr = vm->nr_e820;
	for (i = 0; i < nr; i++) {
		struct xen_e820 e = { vm->e820[i].addr, vm->e820[i].size,
				      vm->e820[i].type };

		if (xen_copy_to_guest(vcpu, buffer + i * sizeof(e), &e,
				      sizeof(e)))
			return -EFAULT;
	}
	/* nr_entries is the first field in both layouts. */
	if (xen_copy_to_guest(vcpu, hc->args[1], &nr, sizeof(nr)))
		return -EFAULT;
	return 0;
}

int64_t xen_memory_op(struct vcpu *vcpu, const struct xen_hcall *hc)
{
	uint64_t op = hc->args[0] & MEMOP_CMD_MASK;

	switch (op) {
	case XENMEM_add_to_physmap:
		return add_to_physmap(vcpu, hc);
	case XENMEM_memory_map:
		return memory_map(vcpu, hc);
	case XENMEM_decrease_reservation:
		return balloon(vcpu, hc, true);
	case XENMEM_populate_physmap:
		return balloon(vcpu, hc, false);
	case XENMEM_current_reservation:
	case XENMEM_maximum_reservation:
	case XENMEM_maximum_gpfn:
		return reservation_query(vcpu, hc);
	case XENMEM_machine_memory_map:
	case XENMEM_set_memory_map:
		return -EPERM;	/* privileged domains only */
	default:
		return xen_unhandled(vcpu, hc->nr, op);
	}
}
